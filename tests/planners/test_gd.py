"""GD (DINO-WM's shooting gradient descent): convergence, BPTT, batching."""

from __future__ import annotations

import torch

from tests.planners.conftest import RecordingModel, T, assert_converges, make_problems, run

# Measured worst terminal cost (5 problem sets x 4 problems): SGD lr 1, 200 steps: 7.4e-5
# (the 0.003 action noise sets the floor); Adam lr 0.05, 200 steps: 1.8e-4.
TOL_SGD = 2e-4
TOL_ADAM = 5e-4


def test_gd_sgd_converges_on_linear_system():
    assert_converges("gd", {"iterations": 200}, TOL_SGD)


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
