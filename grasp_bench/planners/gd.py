"""Gradient descent on the open-loop actions through the whole rollout (BPTT), as in DINO-WM.

Algorithm (all B problems batched; shapes in brackets)::

    a <- N(0, 1) clamped to the box (init=randn) or 0 (init=zero)        [B, T, A]
    repeat iterations times:
        z_T = F(...F(F(z0, a_1), a_2)..., a_T)       T sequential model.step    [B, D]
        L = sum_b mean_d w_d (z_T - g)^2             (DINO-WM's "mse", goal metric w)
        a <- optimizer step on dL/da                 (backprop through all T steps)
        a <- a + action_noise * N(0, 1)              (DINO-WM: noise after every step)
        a <- clamp(a, low, high)                     (the model's action box, action_box)
    return a

Defaults: DINO-WM (Zhou et al. 2024) ``conf/planner/gd.yaml`` -- ``action_noise: 0.003``,
``sample_type: 'randn'``, ``opt_steps: 1000`` -- except the update: DINO-WM's plain SGD
with ``lr: 1`` (``a - lr * grad``, kept as ``--set gd.optimizer=sgd --set gd.lr=1``) was
made for its patch-feature latent; in our standardized latent it drives the actions to
the box corners (on 20 Push-T tuning problems at H = 40: model success 10 %, against
90 % with Adam).  The default is therefore the update of GRASP's own sync step, Adam
with lr 0.05 (le-wm-grasp ``gd_lr: 0.05``; Adam is blind to the loss's constant scale), so
GD takes the same steps as GRASP's sync, from a random start.  The loss is the mean over
latent dims, summed over problems (DINO-WM's ``loss.mean() * n_evals``) so that
``lr: 1`` means what it means there; it is ``terminal_cost / D`` summed over B, so its
minimizer is the shared objective's.  Problems are independent: each one's gradient only
depends on its own actions, with SGD and Adam alike.  Warm start (MPC): a <- init instead
of the random draw (DINO-WM's GD takes the shifted previous plan as its initial actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from grasp_bench.models.base import WorldModel
from grasp_bench.planners.base import (
    FlatAdam,
    PlanResult,
    SnapshotCallback,
    SnapshotRecorder,
    action_box,
    check_plan_inputs,
    goal_cost,
    knob,
    positive,
    register,
    rollout_terminal,
    terminal_cost,
    warm_actions,
)
from grasp_bench.planners.space import Choice, Float, Int, SearchSpace


@dataclass(frozen=True)
class GDConfig:
    iterations: int = knob(1000, "gradient steps (DINO-WM conf/planner/gd.yaml opt_steps: 1000)")
    lr: float = knob(
        0.05, "step size (GRASP's sync, le-wm-grasp gd_lr: 0.05; DINO-WM: 1 with sgd)"
    )
    optimizer: str = knob(
        "adam", "update rule (GRASP's sync: Adam; DINO-WM planning/gd.py: plain SGD)",
        ("sgd", "adam"),
    )
    action_noise: float = knob(
        0.003, "std of Gaussian noise added to the actions after each step (DINO-WM gd.yaml)"
    )
    init: str = knob(
        "randn", "initial actions: N(0,1) clamped, or zeros (DINO-WM gd.yaml sample_type)",
        ("randn", "zero"),
    )

    #: searched by ``grasp-bench tune`` (Adam kept: the paper's GD and GRASP's sync use it).
    search_space: ClassVar[SearchSpace] = {
        "iterations": Int(250, 2000, log=True, why="default 1000, 4x below, 2x above"),
        "lr": Float(0.005, 0.5, log=True, why="default 0.05, a decade below and above"),
        "action_noise": Float(0.0, 0.01, why="default 0.003 (DINO-WM), up to 3x"),
        "init": Choice(("randn", "zero"), why="DINO-WM's two sample types"),
    }

    def __post_init__(self):
        positive(self, "iterations", "lr")
        positive(self, "action_noise", allow_zero=True)


class GD:
    """Shooting gradient descent (DINO-WM's GD planner), batched over problems."""

    name = "gd"
    snapshot_period = 1

    def __init__(self, config: GDConfig | None = None):
        self.config = config or GDConfig()

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
        T, dev, dt = int(horizon), z0.device, z0.dtype
        z0, z_goal = z0.detach(), z_goal.detach()
        rec = SnapshotRecorder(dev, snapshot_every, on_snapshot)

        if init is not None:
            init = warm_actions(init, z0, low, high)
        elif cfg.init == "randn":
            init = torch.randn((B, T, A), generator=generator, device=dev, dtype=dt)
        else:
            init = torch.zeros(B, T, A, device=dev, dtype=dt)
        actions = init.clamp_(low, high).requires_grad_(True)
        opt = FlatAdam(actions.detach(), cfg.lr) if cfg.optimizer == "adam" else None

        for it in range(1, cfg.iterations + 1):
            with torch.enable_grad():
                z_T = rollout_terminal(model, z0, actions)  # (B, D), T serial steps
                loss = goal_cost(z_T, z_goal, goal_weights).sum() / D
                (grad,) = torch.autograd.grad(loss, [actions])
            if opt is None:
                with torch.no_grad():
                    actions.sub_(grad, alpha=cfg.lr)
            else:
                opt.step(grad)
            with torch.no_grad():
                if cfg.action_noise > 0:
                    noise = torch.randn((B, T, A), generator=generator, device=dev, dtype=dt)
                    actions.add_(noise, alpha=cfg.action_noise)
                actions.clamp_(low, high)
            if rec.due(it):
                rec.record(it, actions)

        plan = actions.detach()
        snapshots, elapsed = rec.finish(cfg.iterations, plan)
        with torch.no_grad():
            cost = terminal_cost(model, z0, plan, z_goal, goal_weights)
        return PlanResult(plan, cost, cfg.iterations, snapshots, elapsed)


register("gd", GDConfig)(GD)
