"""Uniform random shooting: the simplest sampling planner, as a grasp-bench plugin.

Algorithm (all B problems batched; shapes in brackets)::

    U <- init or 0;  c <- ||z_T(U) - g||_W^2                             [B, T, A], [B]
    repeat iterations times:
        a^(i) ~ U[low, high]  (the model's action box)      i = 1..S     [B, S, T, A]
        c^(i) = ||z_T(a^(i)) - g||_W^2    (T sequential model.step on B*S rows)  [B, S]
        U <- the best a^(i) where it beats c;  c <- min(c, min_i c^(i))
    return U

It keeps the Planner contract of ``grasp_bench.planners.protocol``: batched over problems,
randomness only from ``generator``, actions inside the model's action box (``action_box``:
the z-scored space the harness plans in), the shared goal metric
(``goal_weights``), a warm start (``init``: the first incumbent) and timed snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from grasp_bench.planners.base import (
    PlanResult,
    SnapshotCallback,
    SnapshotRecorder,
    action_box,
    check_plan_inputs,
    knob,
    positive,
    register,
    terminal_cost,
    warm_actions,
)
from grasp_bench.planners.space import Int, SearchSpace


@dataclass(frozen=True)
class RandomShootingConfig:
    iterations: int = knob(10, "rounds of sampling (ours: a tenth of CEM's budget per round)")
    samples: int = knob(100, "uniform action sequences per round")

    #: searched by ``grasp-bench tune``
    search_space: ClassVar[SearchSpace] = {
        "iterations": Int(2, 30, why="default 10"),
        "samples": Int(16, 1000, log=True, why="default 100"),
    }

    def __post_init__(self):
        positive(self, "iterations", "samples")


@register("random-shooting", RandomShootingConfig)
class RandomShooting:
    """Uniform random shooting: keep the best of uniformly drawn action sequences."""

    snapshot_period = 1

    def __init__(self, config: RandomShootingConfig | None = None):
        self.config = config or RandomShootingConfig()

    @torch.no_grad()
    def plan(
        self,
        model,
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
        """``z0, z_goal (B, D)`` -> plans ``(B, T, A)`` with ``T = horizon`` model steps."""
        cfg = self.config
        B, D, A = check_plan_inputs(model, z0, z_goal, horizon, generator, goal_weights, init)
        T, S, dev, dt = int(horizon), cfg.samples, z0.device, z0.dtype
        rec = SnapshotRecorder(dev, snapshot_every, on_snapshot)
        low, high = action_box(model, z0)  # (A,) each

        best = warm_actions(init, z0, low, high)
        best = torch.zeros(B, T, A, device=dev, dtype=dt) if best is None else best
        best_cost = terminal_cost(model, z0, best, z_goal, goal_weights)  # (B,)
        rows = torch.arange(B, device=dev)
        for it in range(1, cfg.iterations + 1):
            u = torch.rand((B, S, T, A), generator=generator, device=dev, dtype=dt)
            cand = low + (high - low) * u
            costs = terminal_cost(  # (B * S,) rollouts as one batch
                model, z0.repeat_interleave(S, 0), cand.reshape(B * S, T, A),
                z_goal.repeat_interleave(S, 0), goal_weights).view(B, S)
            cost, idx = costs.min(1)
            better = cost < best_cost
            best = torch.where(better[:, None, None], cand[rows, idx], best)
            best_cost = torch.where(better, cost, best_cost)
            if rec.due(it):
                rec.record(it, best)

        snapshots, elapsed = rec.finish(cfg.iterations, best)
        cost = terminal_cost(model, z0, best, z_goal, goal_weights)
        return PlanResult(best, cost, cfg.iterations, snapshots, elapsed)
