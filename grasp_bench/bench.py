"""Running planners on problem sets open-loop and judging their plans.

One *cell* is (task, world model, mode, planner, H).  In open loop (this module; closed
loop is :mod:`grasp_bench.mpc`) the harness encodes starts and goals, plans all problems
of a batch at once (the timed region: the planner's own clock, see
:mod:`grasp_bench.planners.timing`), then, outside any timing, judges every snapshot's plan
two ways: executed open-loop in the simulator (``executed``, the headline) and under the
world model (its own rollout, decoded to a state, passes the env's success test: a
diagnostic), and judges each problem's own reference actions under the model (the
reference fidelity).
Time-to-success of a metric is the planner time at the first snapshot from which the
plan stays successful to the end (empty when the returned plan fails).  The simulator
never informs a planner.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from grasp_bench.judging import judge, model_success, reference_success, to_env_actions
from grasp_bench.models.action_space import ActionStats, ZScoredActions
from grasp_bench.models.base import start_latents
from grasp_bench.planners import make_planner
from grasp_bench.problems import ProblemSet
from grasp_bench.results import EPISODE_COLUMNS, SNAPSHOT_COLUMNS
from grasp_bench.tasks import Task


@dataclass(frozen=True)
class CellResult:
    """A finished cell: its episode and snapshot rows, and ``plans``, the arrays that
    ``grasp-bench render`` needs (see :mod:`grasp_bench.render`), keyed by name."""

    episodes: pd.DataFrame
    snapshots: pd.DataFrame
    plans: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CellContext:
    """What every cell of a run shares: the task, model, device, seed and goal metric, and
    the statistics that z-score the planners' actions (None: the task's,
    :attr:`Task.action_stats`)."""

    task: Task
    model: torch.nn.Module
    model_info: dict  # {"name": ..., "sha256": ...}
    device: torch.device
    seed: int
    goal_weights: torch.Tensor | None
    objective: str
    threads: int
    action_stats: ActionStats | None = None

    @cached_property
    def planning_model(self) -> ZScoredActions:
        """The model as planners see it: over z-scored actions (DESIGN.md, "Action space");
        its ``to_raw`` turns their plans into env actions."""
        stats = self.action_stats or self.task.action_stats
        return ZScoredActions(self.model, stats).to(self.device)


def time_to_success(success: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``success (R, B)`` of R successive snapshots, ``times (R,)`` -> ``(B,)``: the time of
    the first snapshot from which the episode stays successful; NaN if the last fails."""
    R, B = success.shape
    # index of the first snapshot of the final run of successes
    failed_later = np.flip(np.logical_or.accumulate(np.flip(~success, 0), 0), 0)
    first = (failed_later.sum(0)).astype(int)  # snapshots up to the last failure
    out = np.full(B, math.nan)
    won = success[-1]
    out[won] = np.asarray(times, float)[first[won]]
    return out


def snapshot_every(iterations: int, snapshots: int, period: int = 1) -> int:
    """Iterations between snapshots: about ``iterations / snapshots``, rounded up to a
    multiple of the planner's ``period`` so snapshots fall on its natural boundaries."""
    every = max(1, math.ceil(iterations / max(1, snapshots)))
    return period * max(1, math.ceil(every / max(1, period)))


def warm_up(ctx: CellContext, planner_name: str, overrides: dict, starts, goals, T: int) -> None:
    """Two iterations outside every timing (kernels, allocator, lazy imports), on CPU as on
    CUDA, with the cell's batch size."""
    planner = make_planner(planner_name, {**overrides, "iterations": 2})
    with torch.no_grad():
        z0, zg = ctx.model.encode(starts), ctx.model.encode(goals)
    planner.plan(ctx.planning_model, z0, zg, T, goal_weights=ctx.goal_weights,
                 generator=torch.Generator(device=ctx.device).manual_seed(0))
    if ctx.device.type == "cuda":
        torch.cuda.synchronize(ctx.device)


def episode_row(ctx: CellContext, problems: ProblemSet, mode: str, planner: str, ep: int,
                **values) -> dict:
    """One row of ``episodes.csv`` (missing metrics stay empty)."""
    return {
        "env": ctx.task.name, "layout": ctx.task.layout or "", "model": ctx.model_info["name"],
        "model_sha256": ctx.model_info["sha256"], "mode": mode, "objective": ctx.objective,
        "problem_source": problems.source, "planner": planner, "horizon": problems.horizon,
        "episode": ep,
        "seed": int(problems.seeds[ep]), "device": ctx.device.type, "threads": ctx.threads,
        **values,
    }


def run_cell(
    ctx: CellContext,
    problems: ProblemSet,
    planner_name: str,
    overrides: dict,
    *,
    batch_size: int | None = None,
    snapshots: int = 16,
    progress: Callable[[int], None] | None = None,
    batches: Collection[int] | None = None,
) -> CellResult:
    """Plan every problem open-loop with one planner and judge every snapshot.

    The planner of batch ``b`` is seeded with ``torch.Generator(device).manual_seed(seed + b)``.
    ``progress(n)`` reports the number of episodes planned and judged so far.  With
    ``batches`` only those batches run (the rest of the cell is another worker's): their
    rows and plans are exactly those of the whole cell's run.
    """
    planner = make_planner(planner_name, overrides)
    task, model, device = ctx.task, ctx.model, ctx.device
    n, k = len(problems), model.frameskip
    bs = batch_size or n
    T = problems.horizon // k
    every = snapshot_every(planner.config.iterations, snapshots, planner.snapshot_period)
    starts = torch.as_tensor(problems.starts, dtype=torch.float32, device=device)
    goals = torch.as_tensor(problems.goals, dtype=torch.float32, device=device)
    past = torch.as_tensor(problems.past_states(), dtype=torch.float32, device=device)
    warm_up(ctx, planner_name, overrides, starts[:bs], goals[:bs], T)
    rows, snap_rows, finals, trails = [], [], [], []
    for b, lo in enumerate(range(0, n, bs)):
        if batches is not None and b not in batches:
            continue  # another worker's share (see grasp_bench.distributed)
        sl = slice(lo, min(lo + bs, n))
        m = sl.stop - sl.start
        with torch.no_grad():
            z0, zg = start_latents(model, starts[sl], past[sl]), model.encode(goals[sl])
        gen = torch.Generator(device=device).manual_seed(ctx.seed + b)
        result = planner.plan(ctx.planning_model, z0, zg, T, generator=gen,
                              goal_weights=ctx.goal_weights, snapshot_every=every)
        # ---- outside the timed region: the model's verdict and the simulator's ----
        snaps = result.snapshots
        # (R, m, T, A) on the CPU, in env actions (the planner's z-scores denormalized)
        plans = ctx.planning_model.to_raw(torch.stack([a for _, _, a in snaps]))
        times = np.array([t for _, t, _ in snaps])
        s_np, g_np = problems.starts[sl], problems.goals[sl]
        succ_model = model_success(task, model, z0, plans.to(device), g_np)
        ref_model = reference_success(task, model, z0, problems, sl, g_np)
        env_actions = to_env_actions(plans.reshape(-1, *plans.shape[2:]), k)
        succ, dist = judge(task, np.tile(s_np, (len(snaps), 1)), np.tile(g_np, (len(snaps), 1)),
                           env_actions)
        succ, dist = succ.reshape(len(snaps), m), dist.reshape(len(snaps), m)
        finite = np.isfinite(env_actions[-m:]).all(axis=(1, 2))
        tts_model, tts_executed = time_to_success(succ_model, times), time_to_success(succ, times)
        cost = result.cost.detach().cpu().double().numpy()
        finals.append(plans[-1].float().numpy())
        if "states_at_snapshots" in result.info:
            trails.append(result.info["states_at_snapshots"].float().numpy())
        for j in range(m):
            ep = lo + j
            rows.append(episode_row(
                ctx, problems, "open", planner_name, ep,
                success_executed=bool(succ[-1, j]), time_to_success_executed_s=tts_executed[j],
                success_model=bool(succ_model[-1, j]), time_to_success_model_s=tts_model[j],
                reference_model=bool(ref_model[j]),
                planning_time_s=times[-1], iterations=result.iterations, replans=1,
                model_cost=float(cost[j]), real_error=float(dist[-1, j]), batch_size=m,
                reason="" if finite[j] and np.isfinite(cost[j]) else "nan plan"))
            for i, (it, elapsed, _) in enumerate(snaps):
                snap_rows.append({
                    "env": task.name, "mode": "open", "planner": planner_name,
                    "horizon": problems.horizon, "episode": ep, "iteration": it,
                    "elapsed_s": elapsed, "success_model": bool(succ_model[i, j]),
                    "success_executed": bool(succ[i, j]), "real_error": float(dist[i, j]),
                })
        if progress:
            progress(sl.stop)
    kept = {"actions": np.concatenate(finals)}  # (n, T, A) the returned plans
    if trails and all(t.shape[1] == trails[0].shape[1] for t in trails):
        kept["virtual_states"] = np.concatenate(trails)  # (n, R, T-1, D) GRASP
    return CellResult(pd.DataFrame(rows, columns=list(EPISODE_COLUMNS)),
                      pd.DataFrame(snap_rows, columns=list(SNAPSHOT_COLUMNS)), kept)
