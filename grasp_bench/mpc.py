"""Closed-loop evaluation (model-predictive control) of a planner in the simulator.

Per batch of problems (all planned together, as in open loop)::

    s <- start (each problem's own simulator, placed once)
    plan T = H / k model steps from encode(s) towards encode(goal)        (full budget)
    repeat until H env steps are spent:
        execute the first `execute` model steps of the plan in the simulator  (k env
            steps each, continuing the same simulation: the solver's warm start carries)
        s <- the simulator's true state;  in_goal_r <- is_success(s, goal)
        re-plan the remaining horizon from encode(s), warm-started from the previous plan
            shifted by the executed steps, with `replan_budget` x the planner's iterations
    success = in_goal after the last segment (the state after exactly H env steps; no early
              stop, like the open-loop metrics)
    time-to-success = cumulative planning time up to the first re-plan from which every
              later executed segment ends in the goal region (empty when the final fails)

Only the harness steps the simulator; planners see latents, as in open loop.  Planning
time is the planner's own clock summed over the re-plans (encoding and simulation are
outside it).  Re-plan budgets are rounded to a multiple of the planner's natural period
(GRASP: its sync interval), so a warm-started GRASP still returns freshly synced actions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

import numpy as np
import pandas as pd
import torch

from grasp_bench.bench import CellContext, CellResult, episode_row, time_to_success, warm_up
from grasp_bench.defaults import DEFAULT_REPLAN_BUDGET
from grasp_bench.judging import reference_success, to_env_actions
from grasp_bench.models.base import start_latents
from grasp_bench.planners import make_planner
from grasp_bench.problems import ProblemSet
from grasp_bench.results import EPISODE_COLUMNS, SNAPSHOT_COLUMNS


def replan_iterations(iterations: int, budget: float, period: int = 1) -> int:
    """Iterations of a warm-started re-plan: ``budget * iterations``, at least one period,
    rounded to a multiple of ``period``."""
    return period * max(1, round(budget * iterations / period))


def run_mpc_cell(
    ctx: CellContext,
    problems: ProblemSet,
    planner_name: str,
    overrides: dict,
    *,
    execute: int = 1,
    replan_budget: float = DEFAULT_REPLAN_BUDGET,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    batches: Collection[int] | None = None,
) -> CellResult:
    """Run every problem closed-loop with one planner (see the module docstring).

    The planner of batch ``b`` is seeded with ``manual_seed(seed + b)``; one generator
    serves all of its re-plans.  With ``batches`` only those batches run.
    """
    first = make_planner(planner_name, overrides)
    its = replan_iterations(first.config.iterations, replan_budget, first.snapshot_period)
    replanner = make_planner(planner_name, {**overrides, "iterations": its})
    task, model, device, space = ctx.task, ctx.model, ctx.device, ctx.planning_model
    n, k = len(problems), model.frameskip
    bs = batch_size or n
    T = problems.horizon // k
    starts = torch.as_tensor(problems.starts, dtype=torch.float32, device=device)
    goals = torch.as_tensor(problems.goals, dtype=torch.float32, device=device)
    warm_up(ctx, planner_name, overrides, starts[:bs], goals[:bs], T)
    rows, snap_rows, executed, replans = [], [], [], []
    judge_env = task.make_env()
    for b, lo in enumerate(range(0, n, bs)):
        if batches is not None and b not in batches:
            continue  # another worker's share (see grasp_bench.distributed)
        sl = slice(lo, min(lo + bs, n))
        m = sl.stop - sl.start
        envs = [task.make_env() for _ in range(m)]
        for env, s in zip(envs, problems.starts[sl], strict=True):
            env.set_state(s)
        state, goal = problems.starts[sl].copy(), problems.goals[sl]
        # every state so far, the start's past first (a history model's observations)
        seen = np.concatenate([problems.past_states()[sl], state[:, None]], axis=1)

        def latents(seen: np.ndarray) -> torch.Tensor:
            s = torch.as_tensor(seen, dtype=torch.float32, device=device)
            return start_latents(model, s[:, -1], s[:, :-1])

        with torch.no_grad():
            zg = model.encode(goals[sl])
            ref_model = reference_success(task, model, latents(seen), problems, sl, goal)
        gen = torch.Generator(device=device).manual_seed(ctx.seed + b)
        done, elapsed, plan = 0, 0.0, None
        times, in_goal, dists, iters = [], [], [], 0
        moves, plans = [], np.full((m, T, T, model.action_dim), np.nan, np.float32)
        finite = np.ones(m, bool)
        while done < T:
            planner = first if plan is None else replanner
            with torch.no_grad():
                z = latents(seen)
            warm = None if plan is None else space.to_z(plan)
            result = planner.plan(space, z, zg, T - done, generator=gen,
                                  goal_weights=ctx.goal_weights, init=warm)
            elapsed += result.elapsed_s
            iters += result.iterations
            actions = space.to_raw(result.actions.detach())  # env actions (B, T - done, A)
            plans[:, len(times), : T - done] = actions.cpu().float().numpy()
            # ---- outside the timed region: execute a prefix in the simulator ----
            steps = min(execute, T - done)
            acts = to_env_actions(actions[:, :steps], k)  # (m, steps*k, 2)
            finite &= np.isfinite(acts).all(axis=(1, 2))
            acts = np.nan_to_num(acts)  # a NaN plan executes as "stay" and fails
            moves.append(acts)
            went = np.stack([env.advance(a) for env, a in zip(envs, acts, strict=True)])
            state = went[:, -1]
            seen = np.concatenate([seen, went], axis=1)[:, -seen.shape[1]:]
            done += steps
            plan = actions[:, steps:] if done < T else None
            times.append(elapsed)
            in_goal.append(np.asarray(judge_env.is_success(state, goal)))
            dists.append(np.asarray(judge_env.goal_distance(state, goal)))
        for env in envs:
            env.close()
        executed.append(np.concatenate(moves, axis=1).astype(np.float32))
        replans.append(plans[:, : len(times)])
        in_goal_a = np.array(in_goal)  # (R, m)
        tts = time_to_success(in_goal_a, np.array(times))
        for j in range(m):
            ep = lo + j
            rows.append(episode_row(
                ctx, problems, "mpc", planner_name, ep,
                success_mpc=bool(in_goal_a[-1, j]) and bool(finite[j]),
                time_to_success_mpc_s=tts[j] if finite[j] else math.nan,
                reference_model=bool(ref_model[j]),
                planning_time_s=elapsed, iterations=iters, replans=len(times),
                model_cost=math.nan, real_error=float(dists[-1][j]), batch_size=m,
                reason="" if finite[j] else "nan plan"))
            for r, t in enumerate(times):
                snap_rows.append({
                    "env": task.name, "mode": "mpc", "planner": planner_name,
                    "horizon": problems.horizon, "episode": ep, "iteration": r, "elapsed_s": t,
                    "success_mpc": bool(in_goal[r][j]), "real_error": float(dists[r][j]),
                })
        if progress:
            progress(sl.stop)
    judge_env.close()
    kept = {"executed": np.concatenate(executed),  # (n, H, 2) env actions executed
            "replans": np.concatenate(replans)}  # (n, R, T, A) each re-plan, NaN-padded
    return CellResult(pd.DataFrame(rows, columns=list(EPISODE_COLUMNS)),
                      pd.DataFrame(snap_rows, columns=list(SNAPSHOT_COLUMNS)), kept)
