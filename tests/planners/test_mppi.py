"""MPPI: convergence on the linear system."""

from __future__ import annotations

import pytest
import torch

from grasp_bench.planners import terminal_cost
from tests.planners.conftest import (
    WEIGHTS,
    BoxedLinearModel,
    LinearModel,
    T,
    assert_converges,
    box_clamp,
    gen,
    hand_cost,
    make_problems,
    run,
)

# Measured (5 problem sets x 4 problems): defaults (lambda = 1) plateau at a worst cost of
# 0.23, worst ratio to the initial cost 0.11 (the temperature is absolute, and the costs
# here are O(1)); lambda = 0.1: worst 1.1e-2.
TOL_DEFAULT = 0.6
TOL_RATIO_DEFAULT = 0.3
TOL_COLD = 3e-2


def test_mppi_defaults_reduce_the_error():
    model = LinearModel()
    assert_converges("mppi", {}, TOL_DEFAULT)
    z0, g, _ = make_problems(model, B=4)
    result = run("mppi", {}, model, z0, g)
    initial = terminal_cost(model, z0, torch.zeros_like(result.actions), g)
    assert (result.cost / initial).max() < TOL_RATIO_DEFAULT


def test_mppi_low_temperature_converges():
    assert_converges("mppi", {"temperature": 0.1}, TOL_COLD)


def test_mppi_control_cost_option_runs(model):
    z0, g, _ = make_problems(model, B=2)
    result = run("mppi", {"iterations": 5, "control_cost": True}, model, z0, g)
    assert torch.isfinite(result.cost).all()


@pytest.mark.parametrize("control_cost", [False, True])
def test_mppi_weights_and_update_match_a_hand_computation(control_cost):
    """Two MPPI updates from a warm start (so the perturbation cost is not zero) with
    non-default, distinct temperature / noise_sigma / samples, on a model with its own
    action box and a goal metric: V = clamp(U + sigma eps), the applied perturbation
    V - U, costs [+ lambda / sigma^2 sum U (V - U)], weights softmax(-(S - min S) / lambda),
    U <- clamp(U + sum_i w_i (V_i - U))."""
    model = BoxedLinearModel()
    B, S, lam, sigma = 2, 7, 0.3, 0.4
    z0, g, ref = make_problems(model, B=B)
    cfg = {"iterations": 2, "samples": S, "temperature": lam, "noise_sigma": sigma,
           "control_cost": control_cost}
    result = run("mppi", cfg, model, z0, g, seed=5, goal_weights=WEIGHTS, init=1.5 * ref)

    draws = gen(5)
    U = box_clamp(model, 1.5 * ref)
    for _ in range(2):
        noise = torch.randn((B, S, T, model.action_dim), generator=draws, dtype=torch.float64)
        V = box_clamp(model, U[:, None] + sigma * noise)
        eps = V - U[:, None]
        costs = hand_cost(model, z0, V, g)  # (B, S)
        if control_cost:
            costs = costs + lam / sigma**2 * (U[:, None] * eps).sum((2, 3))
        w = torch.exp(-(costs - costs.min(1, keepdim=True).values) / lam)
        w = w / w.sum(1, keepdim=True)
        U = box_clamp(model, U + (w[:, :, None, None] * eps).sum(1))
    torch.testing.assert_close(result.actions, U, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.cost, hand_cost(model, z0, U, g), rtol=0, atol=1e-12)
