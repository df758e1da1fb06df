"""What every planner shares: the protocol, the result type, helpers and the registry.

A planner turns B planning problems ``(z0, z_goal)`` in a world model's latent space
into B open-loop plans of T model steps::

    planner = make_planner("grasp", {"lr_states": 0.05})
    result = planner.plan(model, z0, z_goal, T, generator=torch.Generator(device).manual_seed(0))
    result.actions  # (B, T, A), every entry in [ACTION_LOW, ACTION_HIGH]
    result.cost     # (B,)  terminal_cost of those actions

Shared contract (DESIGN.md, "Planners"):

* One objective for the returned plan: :func:`terminal_cost`, the goal metric
  :func:`goal_cost` (a task-declared diagonal weighting of the squared latent error,
  ``goal_weights``; plain latent MSE when None) between the goal and the last state of the
  *serial* model rollout of the plan.  Planners may optimize other losses internally
  (GRASP, LatCo), but every term of theirs that measures the goal uses the same metric,
  and they are judged by this.
* Warm start (MPC): ``init`` (B, T, A) replaces the planner's own initial plan; each
  planner's docstring says how (mean of a sampler, starting actions of a gradient
  planner, with lifted states from its model rollout).
* Everything is batched over the B problems, runs on ``z0.device`` and draws randomness
  only from the ``generator`` passed to ``plan`` (never the global RNG), so the same
  seed gives the same plan.
* Batching: the B problems never interact (losses are summed over B, statistics and
  elites are per problem).  Random draws are made as one tensor for the whole batch, so
  a problem planned alone sees other draws than planned in a batch; planners run without
  randomness (e.g. GD with ``init=zero, action_noise=0``, GRASP with ``noise=0``) give
  each problem the same plan either way, up to float rounding.
* Snapshots: every ``snapshot_every`` iterations the current plan is copied to the CPU
  with the planner's elapsed time; the final plan is always the last snapshot.  The clock
  (:class:`Stopwatch`) synchronizes CUDA before reading and stops while snapshots are
  copied and handed to ``on_snapshot``, so snapshots do not distort the timing.

Configs are frozen dataclasses, one per planner, each field with a ``help`` that cites
where its default comes from; :data:`REGISTRY` maps planner names to
``(config class, planner class)``.  Overrides (the CLI's ``--set grasp.lr_states=0.05``)
go through :func:`parse_overrides` / :func:`apply_overrides`, which raise
:class:`~grasp_bench.errors.UserError` (a ``ValueError``) with a one-line message.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch

from grasp_bench.errors import UserError
from grasp_bench.models.base import ACTION_HIGH, ACTION_LOW, WorldModel

__all__ = [
    "ACTION_HIGH",
    "ACTION_LOW",
    "REGISTRY",
    "FieldRow",
    "PlanResult",
    "Planner",
    "SnapshotCallback",
    "SnapshotRecorder",
    "Stopwatch",
    "apply_overrides",
    "check_plan_inputs",
    "clamp_actions",
    "clamp_actions_",
    "describe_registry",
    "goal_cost",
    "warm_actions",
    "knob",
    "line_init",
    "FlatAdam",
    "make_planner",
    "parse_overrides",
    "positive",
    "register",
    "rollout_terminal",
    "terminal_cost",
]

#: ``(iteration, elapsed_s, actions (B, T, A) on the CPU)``
Snapshot = tuple[int, float, torch.Tensor]
SnapshotCallback = Callable[[int, float, torch.Tensor], None]


# ---------------------------------------------------------------------------------------
# Protocol and result
# ---------------------------------------------------------------------------------------
@dataclass
class PlanResult:
    """The outcome of one ``plan`` call on B problems.

    Attributes:
        actions: ``(B, T, A)`` the returned plan, on the model's device, detached, every
            entry inside ``[ACTION_LOW, ACTION_HIGH]``.
        cost: ``(B,)`` :func:`terminal_cost` of ``actions`` (serial model rollout).
        iterations: main iterations performed (the config's ``iterations``).
        snapshots: ``[(iteration, elapsed_s, actions (B, T, A) on the CPU)]`` in order; the
            last one is the returned plan.
        elapsed_s: planner time until the returned plan was ready (the last snapshot's
            time; excludes snapshot copies and the final cost evaluation).
        info: planner-specific diagnostics (e.g. LatCo's multipliers, GRASP's virtual
            states), detached tensors; not part of the shared contract.
    """

    actions: torch.Tensor
    cost: torch.Tensor
    iterations: int
    snapshots: list[Snapshot]
    elapsed_s: float = 0.0
    info: dict[str, torch.Tensor] = field(default_factory=dict)


@runtime_checkable
class Planner(Protocol):
    """A planner built from its frozen config (``planner.config``)."""

    name: str
    #: iterations between the planner's natural boundaries (GRASP: its sync period);
    #: snapshots are taken on multiples of it so none falls mid-cycle.
    snapshot_period: int

    def plan(
        self,
        model: WorldModel,
        z0: torch.Tensor,
        z_goal: torch.Tensor,
        horizon: int,
        *,
        generator: torch.Generator,
        goal_weights: torch.Tensor | None = None,
        init: torch.Tensor | None = None,
        snapshot_every: int = 0,
        on_snapshot: SnapshotCallback | None = None,
    ) -> PlanResult:
        """Plan B problems at once.

        Args:
            model: the world model (only ``step``/``rollout`` are used).
            z0: ``(B, D)`` start latents.  ``z0.device`` is where planning runs.
            z_goal: ``(B, D)`` goal latents.
            horizon: T, the number of model steps of the plan.
            generator: the only source of randomness, on ``z0.device``.
            goal_weights: ``(D,)`` diagonal goal metric of :func:`goal_cost` (None: plain
                latent MSE), used by every term of the planner that measures the goal.
            init: ``(B, T, A)`` a warm-start plan (MPC: the previous plan shifted), or None
                for the planner's own initialization; each planner says how it uses it.
            snapshot_every: copy the current plan every this many iterations (0: only the
                final plan).
            on_snapshot: called as ``on_snapshot(iteration, elapsed_s, actions_cpu)`` at each
                snapshot, outside the timed region.
        """
        ...


# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------
def clamp_actions(actions: torch.Tensor) -> torch.Tensor:
    """Project onto the action box ``[ACTION_LOW, ACTION_HIGH]`` (out of place)."""
    return actions.clamp(ACTION_LOW, ACTION_HIGH)


@torch.no_grad()
def clamp_actions_(actions: torch.Tensor) -> torch.Tensor:
    """Project onto the action box in place (works on leaf tensors that require grad)."""
    return actions.clamp_(ACTION_LOW, ACTION_HIGH)


def rollout_terminal(model: WorldModel, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Last state of the serial rollout: ``z0 (..., D)``, ``actions (..., T, A)`` -> ``(..., D)``.

    The model's own ``rollout`` (T sequential ``model.step`` calls for a learned model, one
    continuous simulation for the simulator ceiling); differentiable (BPTT) when called
    with grad enabled.
    """
    return model.rollout(z0, actions)[..., -1, :]


def goal_cost(z: torch.Tensor, z_goal: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The goal metric: ``sum_d w_d (z_d - g_d)^2`` over the last dim, ``(..., D)`` -> ``(...)``.

    ``weights (D,)`` is the task-declared diagonal metric on the latent (see
    :mod:`grasp_bench.objective`); ``None`` is plain latent MSE (all weights 1).
    """
    sq = (z - z_goal).square()
    return (sq if weights is None else sq * weights).sum(-1)


def terminal_cost(
    model: WorldModel, z0: torch.Tensor, actions: torch.Tensor, z_goal: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The objective shared by all planners: :func:`goal_cost` of the serial rollout's last
    state, ``||z_T(actions) - z_goal||_W^2``.

    ``z0 (..., D)``, ``actions (..., T, A)``, ``z_goal (..., D)``, ``weights (D,)`` -> ``(...)``.
    """
    return goal_cost(rollout_terminal(model, z0, actions), z_goal, weights)


def line_init(z0: torch.Tensor, z_goal: torch.Tensor, horizon: int) -> torch.Tensor:
    """States ``s_t = z0 + (t / T) (z_goal - z0)`` for ``t = 1..T-1``: ``(B, T-1, D)``."""
    frac = torch.arange(1, horizon, device=z0.device, dtype=z0.dtype) / horizon
    return z0[:, None, :] + frac[None, :, None] * (z_goal - z0)[:, None, :]


class FlatAdam:
    """Adam (Kingma & Ba 2015) on one flat buffer whose segments have their own learning
    rates: the same update as ``torch.optim.Adam`` with one parameter group per segment
    (betas 0.9/0.999, eps 1e-8 added outside the square root, bias correction).

    Why not ``torch.optim.Adam``: its ``step`` spends ~150 us of Python bookkeeping per
    call on a CPU, more than a small model's forward+backward.  Here a step is one
    ``aten::_fused_adam_`` kernel per segment (the kernel behind ``torch.optim.Adam(...,
    fused=True)``) where the device supports it, else 6-7 plain tensor ops.

    Args:
        param: the variables, a contiguous tensor updated in place (views of it -- e.g.
            the states and the actions of GRASP -- see every step).
        lrs: ``[(numel, lr), ...]`` consecutive segments of ``param.view(-1)`` and their
            learning rates (sizes adding up to ``param.numel()``), or one float for all.
        fused: use the fused kernel (None: if it works on this device and dtype).
    """

    def __init__(
        self,
        param: torch.Tensor,
        lrs: float | list[tuple[int, float]],
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        fused: bool | None = None,
    ):
        if not param.is_contiguous():
            raise ValueError("FlatAdam needs a contiguous parameter buffer")
        self.param = param.view(-1)
        self.beta1, self.beta2 = betas
        self.eps = eps
        if isinstance(lrs, int | float):
            lrs = [(self.param.numel(), float(lrs))]
        if sum(n for n, _ in lrs) != self.param.numel():
            raise ValueError("FlatAdam segments must cover the parameter exactly")
        bounds, start = [], 0
        for n, lr in lrs:
            bounds.append((start, start + n, float(lr)))
            start += n
        self._bounds = bounds
        if len(bounds) == 1:
            self._lr: float | torch.Tensor = bounds[0][2]
        else:
            self._lr = torch.cat([
                torch.full((b - a,), lr, device=param.device, dtype=param.dtype)
                for a, b, lr in bounds
            ])
        self.fused = _fused_adam_works(param) if fused is None else fused
        self.reset()

    def reset(self) -> None:
        """Forget the moments and the step count (a fresh optimizer)."""
        self.m = torch.zeros_like(self.param)
        self.v = torch.zeros_like(self.param)
        self.k = 0
        self._step = torch.zeros((), device=self.param.device, dtype=torch.float32)
        self._segments = [
            ([self.param[a:b]], [self.m[a:b]], [self.v[a:b]], lr) for a, b, lr in self._bounds
        ]

    @torch.no_grad()
    def step(self, grad: torch.Tensor) -> None:
        """One Adam step with ``grad`` (same numel as the parameter)."""
        g = grad.reshape(-1)
        self.k += 1
        if self.fused:
            self._step.fill_(self.k)
            for (a, b, _), (p, m, v, lr) in zip(self._bounds, self._segments, strict=True):
                torch._fused_adam_(
                    p, [g[a:b]], m, v, [], [self._step], lr=lr, beta1=self.beta1,
                    beta2=self.beta2, weight_decay=0.0, eps=self.eps, amsgrad=False,
                    maximize=False)
            return
        bc1 = 1.0 - self.beta1**self.k
        bc2_sqrt = (1.0 - self.beta2**self.k) ** 0.5
        self.m.lerp_(g, 1.0 - self.beta1)  # m = b1 m + (1 - b1) g
        self.v.lerp_(g.square(), 1.0 - self.beta2)  # v = b2 v + (1 - b2) g^2
        # p -= lr (m / bc1) / (sqrt(v / bc2) + eps), with bc2_sqrt moved out of the sqrt
        denom = self.v.sqrt().add_(self.eps * bc2_sqrt)
        if isinstance(self._lr, float):
            self.param.addcdiv_(self.m, denom, value=-self._lr * bc2_sqrt / bc1)
        else:
            self.param.addcdiv_(self.m * self._lr, denom, value=-bc2_sqrt / bc1)


_FUSED_OK: dict[tuple[str, torch.dtype], bool] = {}


def _fused_adam_works(like: torch.Tensor) -> bool:
    """Whether ``aten::_fused_adam_`` runs on ``like``'s device type and dtype (cached)."""
    key = (like.device.type, like.dtype)
    if key not in _FUSED_OK:
        try:
            p = torch.zeros(2, device=like.device, dtype=like.dtype)
            step = torch.ones((), device=like.device, dtype=torch.float32)
            torch._fused_adam_([p], [torch.ones_like(p)], [torch.zeros_like(p)],
                               [torch.zeros_like(p)], [], [step], lr=0.1, beta1=0.9,
                               beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False,
                               maximize=False)
            _FUSED_OK[key] = bool(torch.allclose(p, torch.full_like(p, -0.1)))
        except (AttributeError, RuntimeError, NotImplementedError, TypeError):
            _FUSED_OK[key] = False
    return _FUSED_OK[key]


def check_plan_inputs(
    model: WorldModel,
    z0: torch.Tensor,
    z_goal: torch.Tensor,
    horizon: int,
    generator: torch.Generator,
    goal_weights: torch.Tensor | None = None,
    init: torch.Tensor | None = None,
) -> tuple[int, int, int]:
    """Validate ``plan`` arguments; returns ``(B, D, A)``."""
    if z0.ndim != 2 or z_goal.shape != z0.shape:
        raise ValueError(
            f"z0 and z_goal must both be (B, D); got {tuple(z0.shape)} and {tuple(z_goal.shape)}"
        )
    if z_goal.device != z0.device:
        raise ValueError(f"z0 is on {z0.device} but z_goal on {z_goal.device}")
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or horizon < 1:
        raise ValueError(f"horizon must be a positive int (model steps); got {horizon!r}")
    if not isinstance(generator, torch.Generator):
        raise ValueError("generator must be a torch.Generator on the model's device")
    if torch.device(generator.device).type != z0.device.type:
        raise ValueError(f"generator is on {generator.device} but z0 on {z0.device}")
    B, D, A = z0.shape[0], z0.shape[1], int(model.action_dim)
    if goal_weights is not None and (
        goal_weights.shape != (D,) or not bool(torch.isfinite(goal_weights).all())
        or bool((goal_weights < 0).any())
    ):
        raise ValueError(f"goal_weights must be finite, >= 0 and of shape ({D},)")
    if init is not None and tuple(init.shape) != (B, int(horizon), A):
        raise ValueError(
            f"init must be (B, T, A) = {(B, int(horizon), A)}; got {tuple(init.shape)}"
        )
    return B, D, A


def warm_actions(init: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    """A warm-start plan ``init (B, T, A)`` as a clamped copy with ``like``'s device and dtype."""
    if init is None:
        return None
    return init.detach().to(like.device, like.dtype).clamp(ACTION_LOW, ACTION_HIGH)


# ---------------------------------------------------------------------------------------
# Timing and snapshots
# ---------------------------------------------------------------------------------------
class Stopwatch:
    """Wall clock of the planner's work on ``device``.

    Reading it synchronizes CUDA first (kernels are asynchronous), and time spent inside
    :meth:`paused` (snapshot copies, callbacks) is not counted.
    """

    def __init__(self, device: torch.device | str):
        self.device = torch.device(device)
        self._cuda = self.device.type == "cuda"
        self._paused = 0.0
        self._t0 = 0.0

    def _sync(self) -> None:
        if self._cuda:
            torch.cuda.synchronize(self.device)

    def start(self) -> Stopwatch:
        self._sync()
        self._paused = 0.0
        self._t0 = time.perf_counter()
        return self

    def elapsed(self) -> float:
        """Seconds of planner work since :meth:`start` (synchronizes CUDA)."""
        self._sync()
        return time.perf_counter() - self._t0 - self._paused

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent in this block is excluded (call after :meth:`elapsed` so that pending
        kernels were already charged to the planner)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self._paused += time.perf_counter() - t


class SnapshotRecorder:
    """Starts the planner's :class:`Stopwatch` and records snapshots.

    Use::

        rec = SnapshotRecorder(z0.device, snapshot_every, on_snapshot)
        for it in range(1, n + 1):
            ...                                   # one iteration
            if rec.due(it):
                rec.record(it, current_plan)
        snapshots, elapsed = rec.finish(n, returned_plan)
    """

    def __init__(
        self,
        device: torch.device | str,
        snapshot_every: int = 0,
        on_snapshot: SnapshotCallback | None = None,
    ):
        if not isinstance(snapshot_every, int) or snapshot_every < 0:
            raise ValueError(f"snapshot_every must be an int >= 0; got {snapshot_every!r}")
        self.every = snapshot_every
        self.on_snapshot = on_snapshot
        self.snapshots: list[Snapshot] = []
        self.stopwatch = Stopwatch(device).start()

    def due(self, iteration: int) -> bool:
        return self.every > 0 and iteration % self.every == 0

    def record(self, iteration: int, actions: torch.Tensor) -> None:
        elapsed = self.stopwatch.elapsed()
        with self.stopwatch.paused():
            cpu = actions.detach().to("cpu", copy=True)
            self.snapshots.append((iteration, elapsed, cpu))
            if self.on_snapshot is not None:
                self.on_snapshot(iteration, elapsed, cpu)

    def finish(self, iterations: int, actions: torch.Tensor) -> tuple[list[Snapshot], float]:
        """Record the returned plan unless the last snapshot already is it; returns
        ``(snapshots, elapsed_s)``."""
        if not self.snapshots or self.snapshots[-1][0] != iterations:
            self.record(iterations, actions)
        return self.snapshots, self.snapshots[-1][1]


# ---------------------------------------------------------------------------------------
# Registry, configs and overrides
# ---------------------------------------------------------------------------------------
#: name -> (config class, planner class), in registration order.
REGISTRY: dict[str, tuple[type, type]] = {}


def knob(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A config field with its citation/help (and allowed values for strings)."""
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = tuple(choices)
    return field(default=default, metadata=meta)


def register(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: ``@register("cem", CEMConfig)`` on the planner class."""

    def deco(planner_cls: type) -> type:
        if not (dataclasses.is_dataclass(config_cls) and config_cls.__dataclass_params__.frozen):
            raise TypeError(f"{config_cls.__name__} must be a frozen dataclass")
        if "iterations" not in {f.name for f in dataclasses.fields(config_cls)}:
            raise TypeError(f"{config_cls.__name__} needs an 'iterations' field")
        if name in REGISTRY and REGISTRY[name][1] is not planner_cls:
            raise ValueError(f"planner name {name!r} registered twice")
        planner_cls.name = name
        REGISTRY[name] = (config_cls, planner_cls)
        return planner_cls

    return deco


def _config_class(planner: str) -> type:
    if planner not in REGISTRY:
        raise UserError(f"unknown planner {planner!r}; planners: {', '.join(REGISTRY)}")
    return REGISTRY[planner][0]


def _field_types(config_cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _convert(planner: str, name: str, value: Any) -> Any:
    """Check/convert one override value to its field's type; one-line UserError if wrong."""
    config_cls = _config_class(planner)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    if name not in fields:
        raise UserError(
            f"unknown field {name!r} for planner {planner}; fields: {', '.join(fields)}"
        )
    typ = _field_types(config_cls)[name]
    choices = fields[name].metadata.get("choices")
    where = f"{planner}.{name}"
    raw = value.strip() if isinstance(value, str) else value
    if typ is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise UserError(f"{where} expects a bool (true/false), got {value!r}")
    if typ is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw)
            except ValueError:
                pass
        raise UserError(f"{where} expects an int, got {value!r}")
    if typ is float:
        out: float | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            out = float(raw)
        elif isinstance(raw, str):
            try:
                out = float(raw)
            except ValueError:
                out = None
        if out is None or not math.isfinite(out):
            raise UserError(f"{where} expects a finite float, got {value!r}")
        return out
    if typ is str:
        if not isinstance(raw, str):
            raise UserError(f"{where} expects a str, got {value!r}")
        if choices is not None and raw not in choices:
            raise UserError(f"{where} expects one of {', '.join(choices)}; got {value!r}")
        return raw
    raise TypeError(f"{where}: unsupported field type {typ!r}")  # a bug in a config class


def parse_overrides(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``["grasp.lr_states=0.05", "cem.samples=100"]`` -> ``{"grasp": {"lr_states": 0.05},
    "cem": {"samples": 100}}``, values converted to the fields' types (later items win).

    Raises :class:`UserError` (a ``ValueError``) with a one-line message for a malformed
    item, an unknown planner or field, or a value of the wrong type.
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        planner, dot, name = key.strip().partition(".")
        if not sep or not dot or not planner or not name:
            raise UserError(f"bad override {item!r}; expected planner.field=value")
        out.setdefault(planner, {})[name] = _convert(planner, name, value)
    return out


def apply_overrides(planner: str, overrides: Mapping[str, Any] | None = None, base: Any = None):
    """The config of ``planner`` (``base`` or the defaults) with ``overrides`` applied.

    Values may be strings (converted) or already typed; the config's own checks run too.
    Raises :class:`UserError` on any mistake.
    """
    config_cls = _config_class(planner)
    changes = {k: _convert(planner, k, v) for k, v in (overrides or {}).items()}
    try:
        return dataclasses.replace(base if base is not None else config_cls(), **changes)
    except ValueError as e:  # __post_init__ checks
        raise UserError(f"{planner}: {e}") from None


def make_planner(name: str, overrides: Mapping[str, Any] | None = None) -> Planner:
    """Build planner ``name`` from its default config with ``overrides`` applied."""
    config = apply_overrides(name, overrides)
    return REGISTRY[name][1](config)


class FieldRow(NamedTuple):
    """One row of :func:`describe_registry`."""

    planner: str
    field: str
    type: str
    default: Any
    help: str


def describe_registry() -> list[FieldRow]:
    """Every planner's fields: ``(planner, field, type, default, help)`` rows for the CLI."""
    rows = []
    for planner, (config_cls, _) in REGISTRY.items():
        types = _field_types(config_cls)
        for f in dataclasses.fields(config_cls):
            typ = types[f.name].__name__
            if "choices" in f.metadata:
                typ += " {" + ",".join(f.metadata["choices"]) + "}"
            rows.append(FieldRow(planner, f.name, typ, f.default, f.metadata.get("help", "")))
    return rows


def positive(config: Any, *names: str, allow_zero: bool = False) -> None:
    """``__post_init__`` helper: each named field must be > 0 (or >= 0)."""
    for n in names:
        v = getattr(config, n)
        if v < 0 or (v == 0 and not allow_zero):
            raise ValueError(f"{n} must be {'>= 0' if allow_zero else '> 0'}, got {v}")
