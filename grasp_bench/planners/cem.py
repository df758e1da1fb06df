"""Cross-entropy method (CEM) over open-loop action sequences, as in DINO-WM.

Algorithm (per problem b, all B problems batched; shapes in brackets)::

    mu <- 0 [B, T, A];  sigma <- var_scale [B, T, A]
    repeat iterations times:
        a^(i) ~ N(mu, sigma^2), clamped to the action box      i = 1..S   [B, S, T, A]
        a^(1) <- mu                         (keep_mean_sample: the mean is a candidate)
        c^(i) = ||z_T(a^(i)) - g||_W^2      T sequential model.step on B*S rows [B, S]
        E = the top-k a^(i) with the lowest c                                  [B, K, T, A]
        mu <- mean(E);  sigma <- std(E)
    return mu

Defaults: DINO-WM (Zhou et al. 2024) ``conf/planner/cem.yaml`` -- ``num_samples: 300``,
``topk: 30``, ``opt_steps: 30``, ``var_scale: 1``; ``planning/cem.py`` starts from
mu = 0, sigma = var_scale and sets the first sample to the mean.  DINO-WM samples in
z-scored action space without clamping; here too actions are z-scored with the model's
training data (:mod:`grasp_bench.models.action_space`: sigma = 1 is one data std), and
every sample is clamped to the raw box's bounds in that space.

Warm start (MPC): mu <- init, sigma <- var_scale, as DINO-WM's MPC hands the shifted
previous plan to CEM's ``init_mu_sigma`` (the mean only; the spread starts afresh).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from grasp_bench.models.base import WorldModel
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
from grasp_bench.planners.space import Float, Int, SearchSpace


@dataclass(frozen=True)
class CEMConfig:
    iterations: int = knob(30, "CEM iterations (DINO-WM conf/planner/cem.yaml opt_steps: 30)")
    samples: int = knob(300, "candidates per iteration (DINO-WM cem.yaml num_samples: 300)")
    topk: int = knob(30, "elites refit per iteration (DINO-WM cem.yaml topk: 30)")
    var_scale: float = knob(1.0, "initial std of the Gaussian (DINO-WM cem.yaml var_scale: 1)")
    keep_mean_sample: bool = knob(
        True, "first candidate is the current mean (DINO-WM planning/cem.py: action[0] = mu)"
    )

    #: searched by ``grasp-bench tune``: DINO-WM's defaults in the middle; a Push-T search
    #: found 1000 samples x 20 iterations, top-5, best (issue 9), so the ranges reach it.
    search_space: ClassVar[SearchSpace] = {
        "iterations": Int(10, 50, why="default 30; best found 20"),
        "samples": Int(100, 1000, log=True, why="default 300; best found 1000"),
        "topk": Int(5, 50, log=True, why="default 30; best found 5 (always <= samples)"),
        "var_scale": Float(0.2, 5.0, log=True,
                           why="data stds; default 1; Push-T's raw box is +-3.6 stds wide"),
    }

    def __post_init__(self):
        positive(self, "iterations", "samples", "topk")
        positive(self, "var_scale", allow_zero=True)
        if self.topk > self.samples:
            raise ValueError(f"topk ({self.topk}) must be <= samples ({self.samples})")


def evaluate_candidates(
    model: WorldModel, z0: torch.Tensor, z_goal: torch.Tensor, candidates: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Terminal cost of ``candidates (B, S, T, A)`` from ``z0, z_goal (B, D)`` -> ``(B, S)``
    (goal metric ``weights (D,)``, see :func:`~grasp_bench.planners.protocol.goal_cost`).

    The B*S rollouts run as one batch: T sequential ``model.step`` calls on ``(B*S, D)``.
    """
    B, S, T, A = candidates.shape
    D = z0.shape[-1]
    flat = candidates.reshape(B * S, T, A)
    z0s = z0[:, None, :].expand(B, S, D).reshape(B * S, D)
    zg = z_goal[:, None, :].expand(B, S, D).reshape(B * S, D)
    return terminal_cost(model, z0s, flat, zg, weights).view(B, S)


def select_elites(candidates: torch.Tensor, costs: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` lowest-cost candidates per problem: ``(B, S, T, A), (B, S)`` -> ``(B, k, T, A)``
    (sorted, best first)."""
    idx = costs.topk(k, dim=1, largest=False).indices
    B, S, T, A = candidates.shape
    return candidates.gather(1, idx[:, :, None, None].expand(B, k, T, A))


class CEM:
    """DINO-WM's CEM, batched over problems (see the module docstring)."""

    name = "cem"
    snapshot_period = 1

    def __init__(self, config: CEMConfig | None = None):
        self.config = config or CEMConfig()

    @torch.no_grad()
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
        cfg = self.config
        B, D, A = check_plan_inputs(model, z0, z_goal, horizon, generator, goal_weights, init)
        low, high = action_box(model, z0)  # the model's action box, (A,) each
        T, S, dev, dt = int(horizon), cfg.samples, z0.device, z0.dtype
        rec = SnapshotRecorder(dev, snapshot_every, on_snapshot)

        mu = warm_actions(init, z0, low, high)
        mu = torch.zeros(B, T, A, device=dev, dtype=dt) if mu is None else mu
        sigma = torch.full((B, T, A), cfg.var_scale, device=dev, dtype=dt)
        for it in range(1, cfg.iterations + 1):
            noise = torch.randn((B, S, T, A), generator=generator, device=dev, dtype=dt)
            cand = torch.addcmul(mu[:, None], sigma[:, None], noise)
            if cfg.keep_mean_sample:
                cand[:, 0] = mu
            cand.clamp_(low, high)
            costs = evaluate_candidates(model, z0, z_goal, cand, goal_weights)
            elites = select_elites(cand, costs, cfg.topk)
            mu = elites.mean(1)
            sigma = elites.std(1, correction=1 if cfg.topk > 1 else 0)
            if rec.due(it):
                rec.record(it, mu)

        snapshots, elapsed = rec.finish(cfg.iterations, mu)
        cost = terminal_cost(model, z0, mu, z_goal, goal_weights)
        return PlanResult(mu, cost, cfg.iterations, snapshots, elapsed)


register("cem", CEMConfig)(CEM)
