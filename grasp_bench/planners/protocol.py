"""The contract every planner keeps: the protocol, the result type and the shared objective.

A planner turns B planning problems ``(z0, z_goal)`` in a world model's latent space
into B open-loop plans of T model steps::

    planner = make_planner("grasp", {"lr_states": 0.05})
    result = planner.plan(model, z0, z_goal, T, generator=torch.Generator(device).manual_seed(0))
    result.actions  # (B, T, A), every entry inside the model's action box (action_box)
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
  (:class:`~grasp_bench.planners.timing.Stopwatch`) synchronizes CUDA before reading and
  stops while snapshots are copied and handed to ``on_snapshot``, so snapshots do not
  distort the timing.

Building planners by name (``make_planner``) and their configs live in
:mod:`grasp_bench.planners.registry`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch

from grasp_bench.models.base import ACTION_HIGH, ACTION_LOW, WorldModel

__all__ = [
    "PlanResult",
    "action_box",
    "Planner",
    "Snapshot",
    "SnapshotCallback",
    "check_plan_inputs",
    "clamp_actions",
    "clamp_actions_",
    "goal_cost",
    "line_init",
    "rollout_terminal",
    "terminal_cost",
    "warm_actions",
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
            entry inside the model's action box (:func:`action_box`).
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


# ---------------------------------------------------------------------------------------
# Objective and shared helpers
# ---------------------------------------------------------------------------------------
def action_box(model: WorldModel, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The bounds ``low, high (A,)`` of the model's action space, with ``like``'s device and
    dtype: the model's ``action_low``/``action_high`` when it declares them (the z-scored
    space, :class:`~grasp_bench.models.action_space.ZScoredActions`), else the raw box
    ``[ACTION_LOW, ACTION_HIGH]``."""
    A = int(model.action_dim)
    low, high = getattr(model, "action_low", None), getattr(model, "action_high", None)
    if low is None or high is None:
        low, high = torch.full((A,), ACTION_LOW), torch.full((A,), ACTION_HIGH)
    return low.to(like.device, like.dtype), high.to(like.device, like.dtype)


def clamp_actions(actions: torch.Tensor, low: torch.Tensor | float = ACTION_LOW,
                  high: torch.Tensor | float = ACTION_HIGH) -> torch.Tensor:
    """Project ``(..., A)`` onto the action box ``[low, high]`` (out of place)."""
    return torch.clamp(actions, low, high)


@torch.no_grad()
def clamp_actions_(actions: torch.Tensor, low: torch.Tensor | float = ACTION_LOW,
                   high: torch.Tensor | float = ACTION_HIGH) -> torch.Tensor:
    """Project onto the action box in place (works on leaf tensors that require grad)."""
    return actions.clamp_(low, high)


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


def warm_actions(init: torch.Tensor | None, like: torch.Tensor,
                 low: torch.Tensor | float = ACTION_LOW,
                 high: torch.Tensor | float = ACTION_HIGH) -> torch.Tensor | None:
    """A warm-start plan ``init (B, T, A)`` as a copy clamped to ``[low, high]``, with
    ``like``'s device and dtype."""
    if init is None:
        return None
    return torch.clamp(init.detach().to(like.device, like.dtype), low, high)
