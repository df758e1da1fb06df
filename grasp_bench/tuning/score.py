"""One planner configuration scored on one problem set, under a planning-time cap.

The score is the headline, success of the plans executed in the simulator, with success
under the world model and planning time as tie-breaks (the model's verdict breaks the ties
that near-zero executed rates leave).  The cap
bounds what a configuration may spend: planning stops at the first snapshot past it and
the plan judged is the last one within it, so no configuration wins by spending more
than the others may.  The simulator judges plans only after planning, never inside it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from grasp_bench.bench import CellContext, snapshot_every, warm_up
from grasp_bench.judging import judge, model_success, to_env_actions
from grasp_bench.models.base import start_latents
from grasp_bench.planners import make_planner
from grasp_bench.problems import ProblemSet

__all__ = ["Score", "score_config"]


@dataclass(frozen=True)
class Score:
    """A configuration's outcome on ``n`` problems.

    ``executed``/``model``: successes of the plans executed in the simulator / under the
    world model;
    ``time_s``: planner seconds of the judged plan (at most the cap); ``spent_s``: planner
    seconds spent (the snapshot that crossed the cap included); ``capped``: planning was
    stopped by the cap; ``iterations``: the judged plan's iteration (0: none within the
    cap), which a tuned config keeps, so it never runs past what was judged.
    """

    n: int
    model: int
    executed: int
    time_s: float
    spent_s: float
    capped: bool
    iterations: int | None = None

    def value(self, cap_s: float) -> float:
        """Lexicographic score as one number to maximize: executed successes, then model
        successes, then a shorter planning time (relative to ``cap_s``).

        ``executed + model / (n+1) + (1 - time/cap) / (n+1)^2``: one more executed success
        outweighs every model success, one more model success outweighs any time.
        """
        k = self.n + 1
        speed = 1.0 - min(self.time_s, cap_s) / cap_s if math.isfinite(cap_s) else 0.0
        return self.executed + self.model / k + speed / k**2

    def to_dict(self) -> dict:
        return asdict(self)


class _OverCap(Exception):
    """Raised from the snapshot callback to stop a planner past its time cap."""


def score_config(
    ctx: CellContext,
    problems: ProblemSet,
    planner_name: str,
    overrides: dict,
    *,
    seed: int,
    time_cap_s: float = math.inf,
    snapshots: int = 8,
) -> Score:
    """Plan every problem of ``problems`` in one batch and judge the last plan within
    ``time_cap_s`` planner seconds (``torch.Generator(device).manual_seed(seed)``)."""
    planner = make_planner(planner_name, overrides)
    model, device = ctx.model, ctx.device
    T = problems.horizon // model.frameskip
    every = snapshot_every(planner.config.iterations, snapshots, planner.snapshot_period)
    starts = torch.as_tensor(problems.starts, dtype=torch.float32, device=device)
    goals = torch.as_tensor(problems.goals, dtype=torch.float32, device=device)
    warm_up(ctx, planner_name, overrides, starts, goals, T)
    kept: list[tuple[int, float, torch.Tensor]] = []
    spent = [0.0]

    def on_snapshot(it: int, elapsed: float, actions: torch.Tensor) -> None:
        spent[0] = elapsed
        if elapsed > time_cap_s:
            raise _OverCap
        kept.append((it, elapsed, actions))

    with torch.no_grad():
        past = torch.as_tensor(problems.past_states(), dtype=torch.float32, device=device)
        z0, zg = start_latents(model, starts, past), model.encode(goals)
    capped = False
    try:
        planner.plan(ctx.planning_model, z0, zg, T,
                     generator=torch.Generator(device=device).manual_seed(seed),
                     goal_weights=ctx.goal_weights, snapshot_every=every,
                     on_snapshot=on_snapshot)
    except _OverCap:
        capped = True
    n = len(problems)
    if not kept:  # even the first snapshot came after the cap: nothing to judge
        return Score(n, 0, 0, time_cap_s, spent[0], True, 0)
    iteration, elapsed, plan = kept[-1]
    plan = ctx.planning_model.to_raw(plan)  # env actions
    in_model = model_success(ctx.task, model, z0, plan[None].to(device), problems.goals)[0]
    in_sim, _ = judge(ctx.task, problems.starts, problems.goals,
                      to_env_actions(plan, model.frameskip))
    return Score(n, int(np.sum(in_model)), int(np.sum(in_sim)), float(elapsed),
                 float(spent[0]), capped, int(iteration))
