"""The goal cost every planner minimises: one task-declared metric on the latent.

Planners minimise ``||z_T - g||_W^2 = sum_d w_d (z_T,d - g_d)^2`` (and use the same W in
every term of theirs that measures the goal).  Two objectives:

* ``task`` (default): W from the task's success test.  Each task declares a tolerance per
  state dim in the test's units (Push-T: 20 px for agent and block positions, pi/9 for
  the block angle, velocities ignored; BallNav: 20 px for the ball, velocity ignored), the
  world model turns them into weights on its latent (a state model: ``std_d^2 / tol^2``
  on its standardized features; an angle's cos and sin each ``std^2 / tol^2``), and the
  weights are scaled to mean 1 so the goal keeps the weight plain latent MSE had against
  the planners' other terms (GRASP's dynamics, LatCo's constraints).  Without it, a
  one-standard-deviation error in the agent's velocity -- which success ignores -- cost
  as much as a ~80 px block error.
* ``latent``: plain latent MSE (W = 1), the paper's choice; also what a model without a
  mapping to states (a latent model) declares.

A visual model's ``task`` metric is its newest frame's patches (DINO-WM compares the last
predicted frame with the goal's): all of its latent for one frame, and not the older
frames of a frame history (which plain MSE would ask to be at the goal too).
"""

from __future__ import annotations

import torch

from grasp_bench.errors import UserError
from grasp_bench.tasks import Task

OBJECTIVES = ("task", "latent")


def goal_weights(task: Task, model, objective: str = "task",
                 device: torch.device | str = "cpu") -> torch.Tensor | None:
    """The goal metric's weights ``(D,)`` on ``device`` (float32), or None for plain MSE."""
    if objective not in OBJECTIVES:
        raise UserError(f"unknown objective {objective!r}; expected one of {', '.join(OBJECTIVES)}")
    if objective == "latent" or not hasattr(model, "goal_weights") or not task.goal_scales:
        return None
    w = model.goal_weights(task.goal_scales).to(torch.float64)
    return (w / w.mean()).to(device=device, dtype=torch.float32)
