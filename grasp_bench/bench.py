"""Running planners on problem sets and judging their plans in the simulator.

One *cell* is (task, world model, planner, H).  For its problems the harness encodes
starts and goals, plans all of them in batches (the timed region: the planner's own
clock, see :mod:`grasp_bench.planners.base`), then, outside any timing, replays every
snapshot's plan open-loop in the simulator.  Success is the simulator's verdict on the
returned plan; time-to-success is the planner's elapsed time at the first snapshot
whose plan succeeds in the simulator.  The simulator never informs the planner.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from grasp_bench.planners import make_planner
from grasp_bench.problems import ProblemSet
from grasp_bench.tasks import Task

EPISODE_COLUMNS = [
    "env", "layout", "model", "model_sha256", "planner", "horizon", "episode", "seed",
    "success", "success_model", "time_to_success_s", "planning_time_s", "iterations",
    "model_error", "real_error", "batch_size", "device", "reason",
]
SNAPSHOT_COLUMNS = [
    "env", "planner", "horizon", "episode", "iteration", "elapsed_s", "success", "real_error",
]


@dataclass(frozen=True)
class CellResult:
    episodes: pd.DataFrame
    snapshots: pd.DataFrame


def to_env_actions(actions: torch.Tensor, frameskip: int) -> np.ndarray:
    """Model plan ``(B, T, k*A_env)`` -> env actions ``(B, T*k, A_env)``."""
    B, T, A = actions.shape
    return actions.detach().cpu().double().numpy().reshape(B, T * frameskip, A // frameskip)


def judge(task: Task, starts: np.ndarray, goals: np.ndarray, env_actions: np.ndarray):
    """Replay plans ``(N, H, A)`` from ``starts (N, S)``; success and distance ``(N,)``.

    Plans with non-finite entries are not replayed: they fail with distance ``inf``.
    """
    from envs import replay

    ok = np.isfinite(env_actions).all(axis=(1, 2))
    success = np.zeros(len(starts), bool)
    dist = np.full(len(starts), np.inf)
    if ok.any():
        finals = replay(task.env_id, starts[ok], env_actions[ok], **task.env_kwargs)[:, -1]
        env = task.make_env()
        success[ok] = env.is_success(finals, goals[ok])
        dist[ok] = env.goal_distance(finals, goals[ok])
        env.close()
    return success, dist


def snapshot_every(iterations: int, snapshots: int) -> int:
    return max(1, math.ceil(iterations / max(1, snapshots)))


def run_cell(
    task: Task,
    model,
    model_info: dict,
    problems: ProblemSet,
    planner_name: str,
    overrides: dict,
    *,
    device: torch.device,
    seed: int,
    batch_size: int | None = None,
    snapshots: int = 16,
    progress: Callable[[int], None] | None = None,
) -> CellResult:
    """Plan every problem of ``problems`` with one planner and judge it in the simulator.

    The planner of batch ``b`` is seeded with ``torch.Generator(device).manual_seed(seed + b)``.
    ``progress(n)`` reports the number of episodes planned and judged so far.
    """
    planner = make_planner(planner_name, overrides)
    iterations = planner.config.iterations
    n = len(problems)
    bs = batch_size or n
    k = model.frameskip
    T = problems.horizon // k
    starts = torch.as_tensor(problems.starts, dtype=torch.float32, device=device)
    goals = torch.as_tensor(problems.goals, dtype=torch.float32, device=device)
    env = task.make_env()
    rows, snap_rows = [], []
    if device.type == "cuda":  # warm-up: kernels and allocator, outside every timing
        _warm_up(planner_name, model, starts[:bs], goals[:bs], T, device)
    for b, lo in enumerate(range(0, n, bs)):
        sl = slice(lo, min(lo + bs, n))
        with torch.no_grad():
            z0, zg = model.encode(starts[sl]), model.encode(goals[sl])
        gen = torch.Generator(device=device).manual_seed(seed + b)
        result = planner.plan(model, z0, zg, T, generator=gen,
                              snapshot_every=snapshot_every(iterations, snapshots))
        # ---- outside the timed region: model verdict and simulator replay ----
        with torch.no_grad():
            final_z = model.rollout(z0, result.actions.to(device))[:, -1]
            model_states = model.decode(final_z).double().cpu().numpy()
        s_np, g_np = problems.starts[sl], problems.goals[sl]
        success_model = env.is_success(np.nan_to_num(model_states, nan=1e9), g_np)
        snaps = result.snapshots
        all_actions = np.concatenate([to_env_actions(a, k) for _, _, a in snaps])
        reps = len(snaps)
        succ, dist = judge(task, np.tile(s_np, (reps, 1)), np.tile(g_np, (reps, 1)), all_actions)
        succ, dist = succ.reshape(reps, -1), dist.reshape(reps, -1)
        cost = result.cost.detach().cpu().double().numpy()
        for j in range(sl.stop - sl.start):
            ep = lo + j
            first = np.flatnonzero(succ[:, j])
            finite = bool(np.isfinite(all_actions[(reps - 1) * (sl.stop - sl.start) + j]).all())
            rows.append({
                "env": task.name, "layout": task.layout or "", "model": model_info["name"],
                "model_sha256": model_info["sha256"], "planner": planner_name,
                "horizon": problems.horizon, "episode": ep, "seed": int(problems.seeds[ep]),
                "success": bool(succ[-1, j]), "success_model": bool(success_model[j]) and finite,
                "time_to_success_s": snaps[first[0]][1] if len(first) else float("nan"),
                "planning_time_s": snaps[-1][1], "iterations": result.iterations,
                "model_error": float(cost[j]), "real_error": float(dist[-1, j]),
                "batch_size": sl.stop - sl.start, "device": device.type,
                "reason": "" if finite and np.isfinite(cost[j]) else "nan plan",
            })
            for i, (it, elapsed, _) in enumerate(snaps):
                snap_rows.append({
                    "env": task.name, "planner": planner_name, "horizon": problems.horizon,
                    "episode": ep, "iteration": it, "elapsed_s": elapsed,
                    "success": bool(succ[i, j]), "real_error": float(dist[i, j]),
                })
        if progress:
            progress(sl.stop)
    env.close()
    return CellResult(pd.DataFrame(rows, columns=EPISODE_COLUMNS),
                      pd.DataFrame(snap_rows, columns=SNAPSHOT_COLUMNS))


def _warm_up(name: str, model, starts, goals, T: int, device: torch.device) -> None:
    planner = make_planner(name, {"iterations": 2})
    with torch.no_grad():
        z0, zg = model.encode(starts), model.encode(goals)
    planner.plan(model, z0, zg, T, generator=torch.Generator(device=device).manual_seed(0))
    torch.cuda.synchronize(device)
