"""A small Python API for notebooks and scripts, with the CLI's judging, timing and seeds.

::

    from grasp_bench import api

    model, manifest = api.load_model("pusht")                 # the shipped state model
    probs = api.problems("pusht", horizon=40, n=10)           # starts, goals, own actions
    cell = api.run_cell("pusht", "cem", horizon=40, episodes=10, overrides={"samples": 100})
    cell.summary[["planner", "executed_rate", "executed_ci_low", "executed_ci_high"]]

Everything goes through the code ``grasp-bench run`` runs (:func:`grasp_bench.options.prepare`
validates and loads, :func:`grasp_bench.cells.plan_cell` plans and judges,
:func:`grasp_bench.results.summarize` summarizes), so a cell here has the rows of the same
cell of ``grasp-bench run`` with the same options, timings aside.  Planner and model
plugins (:mod:`grasp_bench.plugins`) are loaded first.  Bad input raises
:class:`~grasp_bench.errors.UserError` (a ``ValueError``) with a one-line message.

Units: horizons in env steps (a multiple of the model's frameskip k; a plan has
``T = H / k`` model steps), positions in px, angles in rad, times in planner seconds.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grasp_bench.defaults import DEFAULT_REPLAN_BUDGET
from grasp_bench.errors import UserError
from grasp_bench.problems import ProblemSet

__all__ = ["Cell", "Windows", "load_model", "problems", "register_architecture", "run_cell",
           "save_checkpoint", "training_windows"]


@dataclass(frozen=True)
class Cell:
    """One (planner, H) cell, planned and judged.

    Attributes:
        episodes: one row per problem (:data:`~grasp_bench.results.EPISODE_COLUMNS`):
            success executed in the simulator / under the model / closed loop, time to
            success (s), planning time (s), model cost, final distance to the goal...
        summary: one row (:data:`~grasp_bench.results.SUMMARY_COLUMNS`): per metric the
            rate, its 95 % Wilson interval (``<metric>_ci_low``/``_ci_high``) and median
            time to success; reference fidelity; the exploitation gap.
        snapshots: one row per (problem, snapshot) of the anytime curve (open loop).
        plans: numpy arrays: ``actions`` ``(n, T, A)`` the returned plans in [-1, 1]
            (A = k * 2 env action dims: k stacked env actions); GRASP adds
            ``virtual_states`` ``(n, R, T-1, D)``; MPC its executed trajectories.
        problems: the :class:`~grasp_bench.problems.ProblemSet` planned.
    """

    episodes: pd.DataFrame
    summary: pd.DataFrame
    snapshots: pd.DataFrame
    plans: dict
    problems: ProblemSet


def _int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise UserError(f"{name} must be an int >= {low} (got {value!r})")
    return int(value)


def _prepare(env: str, planners: tuple[str, ...], horizons: tuple[int, ...], **options):
    from grasp_bench.options import SweepOptions, prepare
    from grasp_bench.plugins import load_plugins

    load_plugins()
    if options.get("checkpoint") is not None:
        options["checkpoint"] = str(options["checkpoint"])
    return prepare(SweepOptions(env=env, planners=planners, horizons=horizons, **options))


def load_model(env: str = "pusht", model: str = "learned", checkpoint: str | Path | None = None,
               device: str = "cpu", layout: str | None = None):
    """The world model ``sweep`` would load: ``(model, manifest)``.

    ``model``: ``learned`` (the shipped state model), ``latent``, ``pixel`` or ``simulator``;
    ``checkpoint`` another ``.pt`` (a plugin architecture's too).  The model maps env
    states ``(..., S)`` to latents ``(..., D)`` (``encode``; ``decode`` back) and steps
    ``z (..., D), a (..., A) -> (..., D)``; ``rollout(z0 (B, D), actions (B, T, A))``
    gives ``(B, T+1, D)``.  Leaves torch's thread count as it was.
    """
    import torch

    threads = torch.get_num_threads()
    try:  # a sampling planner that every model kind serves; no horizon to check
        prep = _prepare(env, ("cem",), (), layout=layout, model=model, checkpoint=checkpoint,
                        device=device)
    finally:
        torch.set_num_threads(threads)
    return prep.model, prep.manifest


def problems(env: str, horizon: int, n: int, split: str = "evaluation", offset: int = 0,
             source: str | None = None, layout: str | None = None) -> ProblemSet:
    """``n`` problems at ``horizon`` env steps, as ``run`` draws them (cached on disk).

    ``split``: ``evaluation`` or ``tuning``; ``offset``: first seed into the split;
    ``source``: ``replay``, ``demo`` or ``behaviour`` (None: the env's default).  Returns starts and
    goals ``(n, S)`` (env states: px, rad, px/s) and reference actions ``(n, H, 2)``.
    """
    from grasp_bench.problems import load_or_generate
    from grasp_bench.seeds import SPLITS
    from grasp_bench.tasks import get_task

    if split not in ("evaluation", "tuning"):
        raise UserError(f"split must be evaluation or tuning (got {split!r})")
    horizon, n, offset = _int("horizon", horizon), _int("n", n), _int("offset", offset, 0)
    if offset + n > SPLITS[split].stop - SPLITS[split].start:
        raise UserError(f"offset {offset} with {n} problems leaves the {split} seed range")
    return load_or_generate(get_task(env, layout), horizon, n, split=split, offset=offset,
                            source=source)


def run_cell(env: str, planner: str, horizon: int, episodes: int = 20, mode: str = "open",
             overrides: Mapping | None = None, seed: int = 0, device: str = "cpu",
             threads: int = 1, model: str = "learned", checkpoint: str | Path | None = None,
             problem_source: str | None = None, *, split: str = "evaluation", offset: int = 0,
             objective: str = "task", layout: str | None = None, batch_size: int | None = None,
             snapshots: int = 16, execute: int = 1,
             replan_budget: float = DEFAULT_REPLAN_BUDGET, tuned: str | Path | None = None,
             progress: Callable[[int], None] | None = None) -> Cell:
    """Plan and judge one cell as ``grasp-bench run --planners PLANNER --horizon H`` does.

    ``overrides``: config changes of ``planner`` (``{"samples": 100}``, as ``--set``);
    ``tuned``: a tuned-config file, or ``"shipped"``; ``mode``: ``open`` or ``mpc``.
    The planner is seeded ``seed + b`` for batch ``b``, so a seed gives the same
    episodes (timings aside).  Sets torch's thread count to ``threads``, as the CLI does.
    ``progress(k)``: called with the number of episodes done.  What the CLI warns about
    on stderr (an override far outside its searched range...) is a ``UserWarning``.
    """
    if not isinstance(planner, str):
        raise UserError(f"planner must be a planner's name (got {planner!r})")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise UserError(f"overrides must be a mapping of field -> value (got {overrides!r})")
    from grasp_bench.cells import plan_cell
    from grasp_bench.problems import load_or_generate
    from grasp_bench.results import summarize
    from grasp_bench.sweep import cell_context

    horizon = _int("horizon", horizon)
    sets = tuple(f"{planner}.{k}={v}" for k, v in (overrides or {}).items())
    prep = _prepare(env, (planner,), (horizon,), layout=layout, episodes=_int("episodes",
                    episodes), seed=_int("seed", seed, 0), device=device,
                    batch_size=batch_size, snapshots=_int("snapshots", snapshots),
                    overrides=sets, checkpoint=checkpoint, problem_split=split,
                    problem_offset=_int("offset", offset, 0), mode=mode,
                    execute=_int("execute", execute), replan_budget=replan_budget,
                    objective=objective, model=model, threads=_int("threads", threads),
                    tuned=str(tuned) if tuned is not None else None,
                    problem_source=problem_source)
    opts = prep.options
    for line in getattr(prep, "warnings", ()):  # what the CLI prints on stderr
        warnings.warn(line, stacklevel=2)
    try:
        probs = load_or_generate(prep.task, horizon, opts.episodes, split=split,
                                 offset=opts.problem_offset, source=opts.problem_source)
        cell = plan_cell(cell_context(prep), opts, probs, planner,
                         prep.cell_overrides(planner, horizon), progress=progress)
    finally:
        if hasattr(prep.model, "close"):
            prep.model.close()
    return Cell(cell.episodes, summarize(cell.episodes), cell.snapshots, cell.plans, probs)


# --- the plugin helpers: load training windows, write a checkpoint -----------------------


def register_architecture(config_cls: type):
    """Class decorator for a plugin world model: ``@api.register_architecture(MyConfig)``.

    A checkpoint whose manifest names the class (``architecture.class``) then loads with
    it, the model built as ``ModelCls(config_cls.from_dict(architecture))``; ``config_cls``
    needs ``to_dict()`` and ``from_dict()``, the class ``encode``, ``decode``, ``step``,
    ``rollout``, ``frameskip``, ``action_dim`` and ``latent_dim``.
    """
    from grasp_bench.models.checkpoint import register_architecture as register

    return register(config_cls)


@dataclass(frozen=True)
class Windows:
    """Training windows of ``steps`` model steps (of ``frameskip`` env steps each).

    Attributes:
        starts: ``(M, S)`` float64 env states, each window's first.
        actions: ``(M, steps, frameskip * A_env)`` float32: the window's env actions, the
            ``frameskip`` of a model step stacked in time order (env action ``j`` of a step
            is entries ``j * A_env .. (j + 1) * A_env - 1``).
        targets: ``(M, steps, S)`` float64: the env state every ``frameskip`` env steps
            after ``starts``.
        env_actions: ``(N, A_env)`` float32: every env action of the dataset (for
            :meth:`action_stats`).
        env: the task name (``pusht``, ``ballnav``; a layout is in ``env_kwargs``).
        env_id, env_kwargs: the env the data is of (a manifest's ``env_id``, ``env_kwargs``).
        state_dim: S.
        angle_indices: the state dims that are angles (rad).
        goal_scales: the task's goal tolerance per state dim (None: ignored), what the
            harness passes to a model's ``goal_weights``.
        meta: the dataset's meta (env, split, source, policy, package version).
    """

    starts: np.ndarray
    actions: np.ndarray
    targets: np.ndarray
    env_actions: np.ndarray
    env: str
    env_id: str
    env_kwargs: dict
    state_dim: int
    angle_indices: tuple[int, ...]
    goal_scales: tuple
    meta: dict

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def frameskip(self) -> int:
        return self.actions.shape[-1] // self.env_actions.shape[-1]

    def tensors(self, dtype=None):
        """``(starts, actions, targets)`` as torch tensors (float32 unless ``dtype``)."""
        import torch

        dtype = dtype or torch.float32
        return tuple(torch.as_tensor(x, dtype=dtype)
                     for x in (self.starts, self.actions, self.targets))

    def action_stats(self) -> dict:
        """``{"mean": [...], "std": [...]}`` of the env actions (A_env entries each): a
        manifest's ``action_stats``, which z-score the planners' actions."""
        from grasp_bench.action_stats import ActionStats

        return ActionStats.of(self.env_actions).as_dict()


def training_windows(env: str = "pusht", frameskip: int = 5, steps: int = 1, *,
                     data: str | Path | None = None, episodes: int = 8,
                     episode_steps: int = 90, seed: int = 0, stride: int = 1,
                     layout: str | None = None) -> Windows:
    """Training windows of ``env``'s data: :class:`Windows` of ``steps`` model steps.

    ``data``: a dataset ``grasp-bench collect`` wrote (``.npz``; it must be of ``env``);
    None collects ``episodes`` behaviour episodes of ``episode_steps`` env steps now, from
    the train split's seeds (``seed`` the first), in this process.  ``stride``: env steps
    between window starts.
    """
    from grasp_bench.data import Trajectories, collect, model_windows
    from grasp_bench.tasks import get_task

    frameskip, steps = _int("frameskip", frameskip), _int("steps", steps)
    stride = _int("stride", stride)
    task = get_task(env, layout)
    if data is None:
        trajs = collect(task, episodes=_int("episodes", episodes),
                        steps=_int("episode_steps", episode_steps), seed=_int("seed", seed, 0),
                        workers=1)
    else:
        if not Path(data).is_file():
            raise UserError(f"no dataset at {data} (write one with `grasp-bench collect`)")
        trajs = Trajectories.load(data)
        have = (trajs.meta.get("env_id"), trajs.meta.get("env_kwargs") or {})
        if have != (task.env_id, task.env_kwargs):
            raise UserError(f"{data} is data of {have[0]} {have[1] or ''}".rstrip()
                            + f", not of {task.env_id} {task.env_kwargs or ''}".rstrip())
    starts, actions, targets = model_windows(trajs, frameskip, steps, stride)
    if not len(starts):
        raise UserError(f"no window of {steps} x {frameskip} env steps fits the episodes")
    return Windows(starts, actions.astype(np.float32), targets,
                   trajs.actions.astype(np.float32), task.name, task.env_id, task.env_kwargs,
                   task.state_dim, tuple(task.angle_indices), tuple(task.goal_scales),
                   dict(trajs.meta))


def save_checkpoint(model, path: str | Path, windows: Windows | None = None, *,
                    env: str | None = None, layout: str | None = None,
                    manifest: Mapping | None = None) -> dict:
    """Write a checkpoint ``grasp-bench run --checkpoint`` and :func:`load_model` load.

    Writes ``path`` (``.pt``: the model's ``state_dict``) and its manifest (``.json``)
    beside it, atomically, and returns the manifest.  ``model`` is an instance of a class
    decorated with :func:`register_architecture` (with a ``config``).  The env comes from
    ``windows`` (the data it was trained on: also recorded under ``data.train``) or from
    ``env`` and ``layout``; the manifest gets ``env_id``, ``env_kwargs``, ``task`` and
    ``frameskip``, then the keys of ``manifest`` (``training``, ``validation``,
    ``action_stats``...), then ``format``, ``architecture``, ``weights``, ``sha256`` and
    ``bytes``.
    """
    from grasp_bench.models.checkpoint import ARCHITECTURES
    from grasp_bench.models.checkpoint import save_checkpoint as save
    from grasp_bench.tasks import get_task

    if manifest is not None and not isinstance(manifest, Mapping):
        raise UserError(f"manifest must be a mapping (got {manifest!r})")
    name = type(model).__name__
    if ARCHITECTURES.get(name, (None,))[0] is not type(model):
        raise UserError(f"{name} is not a registered architecture "
                        "(decorate it with @api.register_architecture(ConfigCls))")
    if windows is None and env is None:
        raise UserError("give the training windows or the env the model is for")
    task = get_task(env if env is not None else windows.env,
                    layout if env is not None else windows.env_kwargs.get("layout"))
    if windows is not None and windows.env_id != task.env_id:
        raise UserError(f"the windows are of {windows.env_id}, not of {task.env_id}")
    head = {"env_id": task.env_id, "env_kwargs": task.env_kwargs, "task": task.tag,
            "frameskip": int(model.frameskip)}
    if windows is not None:
        head["data"] = {"train": {**windows.meta, "transitions": len(windows.env_actions),
                                  "windows": len(windows)}}
    return save(model, path, {**head, **dict(manifest or {})})
