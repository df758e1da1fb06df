"""GD (DINO-WM's shooting gradient descent): convergence, BPTT, batching."""

from __future__ import annotations

import pytest
import torch

from grasp_bench.planners import make_planner
from tests.planners.conftest import (
    WEIGHTS,
    BoxedLinearModel,
    RecordingModel,
    T,
    assert_converges,
    box_clamp,
    gen,
    hand_adam,
    hand_cost,
    hand_terminal_grad,
    make_problems,
    run,
)

# Measured worst terminal cost (5 problem sets x 4 problems): SGD lr 1, 200 steps: 7.4e-5
# (the 0.003 action noise sets the floor); Adam lr 0.05, 200 steps: 1.8e-4.
TOL_SGD = 2e-4
TOL_ADAM = 5e-4


def test_gd_sgd_converges_on_linear_system():
    """DINO-WM's update: plain SGD with lr 1 (the default is Adam)."""
    assert make_planner("gd", {}).config.optimizer != "sgd"
    assert_converges("gd", {"iterations": 200, "optimizer": "sgd", "lr": 1.0}, TOL_SGD)


def test_gd_adam_converges_on_linear_system():
    assert_converges("gd", {"iterations": 200, "optimizer": "adam", "lr": 0.05}, TOL_ADAM)


def test_gd_backpropagates_through_t_serial_steps():
    model = RecordingModel()
    z0, g, _ = make_problems(model, B=2)
    model.calls.clear()
    run("gd", {"iterations": 3}, model, z0, g)
    assert len(model.calls) == 3 * T + T
    assert all(c["a_requires_grad"] for c in model.calls[: 3 * T])
    assert all(c["z_shape"] == (2, 4) for c in model.calls)


def test_gd_batched_equals_one_by_one_without_noise(model):
    """Deterministic setting (zero init, no noise): planning B problems together gives
    each one the plan it gets alone.  (With init=randn or noise, the draws are one tensor
    for the batch, so a problem's draws depend on B and its position.)"""
    overrides = {"iterations": 30, "action_noise": 0.0, "init": "zero"}
    z0, g, _ = make_problems(model, B=3)
    together = run("gd", overrides, model, z0, g)
    for b in range(3):
        alone = run("gd", overrides, model, z0[b : b + 1], g[b : b + 1])
        torch.testing.assert_close(alone.actions[0], together.actions[b], rtol=0, atol=1e-6)


@pytest.mark.parametrize("init", ["randn", "zero"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_gd_step_with_each_optimizer_matches_a_hand_computation(optimizer, init):
    """Two GD steps with non-default, distinct lr and action_noise, on a model with its own
    action box and a goal metric: the start (N(0, 1) or 0) clamped to the box, the gradient
    of L = sum_b ||z_T - g||_W^2 / D (2 W (z_T - g) M / D for every step's action), the
    step (SGD: a - lr grad; Adam written out), noise of std action_noise, clamp."""
    model = BoxedLinearModel()
    B, lr, noise_std = 2, 0.3, 0.02
    z0, g, _ = make_problems(model, B=B)
    cfg = {"iterations": 2, "lr": lr, "optimizer": optimizer, "action_noise": noise_std,
           "init": init}
    result = run("gd", cfg, model, z0, g, seed=7, goal_weights=WEIGHTS)

    draws = gen(7)
    D, A = model.latent_dim, model.action_dim
    a = (torch.randn((B, T, A), generator=draws, dtype=torch.float64) if init == "randn"
         else torch.zeros(B, T, A, dtype=torch.float64))
    a = box_clamp(model, a)
    m = v = torch.zeros_like(a)
    for k in (1, 2):
        grad = hand_terminal_grad(model, z0, a, g) / D
        if optimizer == "sgd":
            a = a - lr * grad
        else:
            a, m, v = hand_adam(a, grad, m, v, k, lr)
        a = a + noise_std * torch.randn((B, T, A), generator=draws, dtype=torch.float64)
        a = box_clamp(model, a)
    torch.testing.assert_close(result.actions, a, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.cost, hand_cost(model, z0, a, g), rtol=0, atol=1e-12)
