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

import pandas as pd

from grasp_bench.defaults import DEFAULT_REPLAN_BUDGET
from grasp_bench.errors import UserError
from grasp_bench.problems import ProblemSet

__all__ = ["Cell", "load_model", "problems", "run_cell"]


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
    ``source``: ``demo`` or ``behaviour`` (None: the env's default).  Returns starts and
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
