"""MPPI: model predictive path integral control (Williams, Drews, Goldfain, Rehg, Theodorou,
"Information Theoretic MPC for Model-Based Reinforcement Learning", ICRA 2017), iterated
open-loop on one plan the way ``UM-ARM-Lab/pytorch_mppi`` updates its nominal sequence.

Algorithm (all B problems batched; shapes in brackets)::

    U <- 0                                                                [B, T, A]
    repeat iterations times:
        eps^(i) ~ N(0, sigma^2)                                           [B, S, T, A]
        V^(i) = clamp(U + eps^(i));  eps^(i) <- V^(i) - U    (the perturbation actually
                                                               applied, as pytorch_mppi)
        S^(i) = ||z_T(V^(i)) - g||_W^2 [+ lambda * sum_t U_t^T Sigma^-1 eps_t^(i)]
                 (T sequential model.step on B*S rows; the bracket is MPPI's
                  perturbation cost, only with control_cost)
        w^(i) = softmax_i(-(S^(i) - min S) / lambda)
        U <- U + sum_i w^(i) eps^(i)
    return clamp(U)

Defaults: ``lambda = 1`` (pytorch_mppi ``lambda_=1.``).  The perturbation cost (on in
pytorch_mppi) is the importance-sampling form of a control cost lambda/2 U^T Sigma^-1 U;
the benchmark's objective is the terminal error alone, and with it on the plan is pulled
toward zero (on the linear test system it stops far from the goal), so it is off by
default (``control_cost=true`` restores it).  pytorch_mppi leaves ``noise_sigma`` to the user
and draws 100 samples for one update per control step; ours: sigma = 0.5 (a quarter of
the [-1, 1] box, mbrl-lib iCEM's initial std), and 300 samples x 30 iterations, the
population and iteration budget of DINO-WM's CEM, so the sampling planners compare at
equal model calls.  Warm start (MPC): U <- init, pytorch_mppi's shift of the nominal
sequence.
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
from grasp_bench.planners.cem import evaluate_candidates
from grasp_bench.planners.space import Float, Int, SearchSpace


@dataclass(frozen=True)
class MPPIConfig:
    iterations: int = knob(30, "updates of the nominal plan (ours: DINO-WM CEM's 30 steps)")
    samples: int = knob(300, "perturbed plans per update (ours: DINO-WM CEM's 300)")
    temperature: float = knob(1.0, "lambda, cost temperature (pytorch_mppi lambda_=1.)")
    noise_sigma: float = knob(0.5, "std of the perturbations (ours: quarter of the box)")
    control_cost: bool = knob(
        False, "add lambda * U^T Sigma^-1 eps (Williams et al. 2017; pytorch_mppi: on); off: "
        "the shared objective has no control cost"
    )

    #: searched by ``grasp-bench tune``; the budget ranges match CEM's.
    search_space: ClassVar[SearchSpace] = {
        "iterations": Int(10, 50, why="default 30, as CEM"),
        "samples": Int(100, 1000, log=True, why="default 300, as CEM"),
        "temperature": Float(0.01, 10.0, log=True, why="default 1 (pytorch_mppi), 2 decades"),
        "noise_sigma": Float(0.1, 5.0, log=True, why="data stds; default 0.5, as CEM's range"),
    }

    def __post_init__(self):
        positive(self, "iterations", "samples", "temperature", "noise_sigma")


class MPPI:
    """Iterated MPPI on an open-loop plan (see the module docstring)."""

    name = "mppi"
    snapshot_period = 1

    def __init__(self, config: MPPIConfig | None = None):
        self.config = config or MPPIConfig()

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
        lam, sigma = cfg.temperature, cfg.noise_sigma
        rec = SnapshotRecorder(dev, snapshot_every, on_snapshot)

        U = warm_actions(init, z0, low, high)
        U = torch.zeros(B, T, A, device=dev, dtype=dt) if U is None else U
        for it in range(1, cfg.iterations + 1):
            eps = torch.randn((B, S, T, A), generator=generator, device=dev, dtype=dt)
            V = torch.add(U[:, None], eps, alpha=sigma).clamp_(low, high)
            eps = V - U[:, None]  # (B, S, T, A)
            costs = evaluate_candidates(model, z0, z_goal, V, goal_weights)  # (B, S)
            if cfg.control_cost:
                costs = costs + (lam / sigma**2) * (U[:, None] * eps).sum((2, 3))
            # exp(-(cost - min) / lambda), normalized; the shift keeps the exponents exact
            w = torch.softmax((costs.amin(1, keepdim=True) - costs) / lam, dim=1)  # (B, S)
            U = (U + torch.einsum("bs,bsta->bta", w, eps)).clamp_(low, high)
            if rec.due(it):
                rec.record(it, U)

        snapshots, elapsed = rec.finish(cfg.iterations, U)
        cost = terminal_cost(model, z0, U, z_goal, goal_weights)
        return PlanResult(U, cost, cfg.iterations, snapshots, elapsed)


register("mppi", MPPIConfig)(MPPI)
