"""LatCo: convergence, dual ascent on the multipliers, gradients through the model."""

from __future__ import annotations

import pytest
import torch

from grasp_bench.planners.base import line_init
from grasp_bench.planners.latco import bound_violation
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
    make_problems,
    run,
)

# Measured worst terminal cost (5 problem sets x 4 problems) with init=line, init_std=0,
# 300 iterations: 3.1e-10.  (Default N(0,1) init: 2000 iterations give 1.5e-2.)
TOL_LINE = 1e-9
FROZEN = {"lr": 1e-30, "multiplier_every": 1}  # variables (practically) fixed


def test_latco_converges_on_linear_system():
    assert_converges("latco", {"iterations": 300, "init": "line", "init_std": 0.0}, TOL_LINE)


def test_multipliers_grow_while_the_violation_persists(model):
    z0, g, _ = make_problems(model, B=2)
    runs = [run("latco", {**FROZEN, "iterations": n}, model, z0, g) for n in (5, 10)]
    lam5, lam10 = runs[0].info["lambdas"], runs[1].info["lambdas"]
    res = runs[1].info["dyn_residual"]
    assert (res > 0).all()
    # dual ascent with a constant residual: lambda = 1 + n * lambda_lr * r
    torch.testing.assert_close(lam5, 1 + 5 * 1.5 * res, rtol=1e-4, atol=0)
    assert (lam10 > lam5).all() and (lam5 > 1).all()
    nu5, nu10 = runs[0].info["nus"], runs[1].info["nus"]
    viol = runs[1].info["bound_violation"]
    assert (viol > 0).any() and (viol == 0).any()  # N(0,1) actions: some outside the box
    assert (nu10[viol > 0] > nu5[viol > 0]).all()
    assert (nu10[viol == 0] == 1).all()  # no violation, no growth


def test_multipliers_update_every_k_steps(model):
    z0, g, _ = make_problems(model, B=1)
    a = run("latco", {**FROZEN, "iterations": 9, "multiplier_every": 5}, model, z0, g)
    res = a.info["dyn_residual"]
    torch.testing.assert_close(a.info["lambdas"], 1 + 1.5 * res, rtol=1e-4, atol=0)


def test_state_gradients_go_through_the_model_in_one_call():
    model = RecordingModel()
    z0, g, _ = make_problems(model, B=3)
    model.calls.clear()
    run("latco", {"iterations": 7}, model, z0, g)
    main = [c for c in model.calls if len(c["z_shape"]) == 3]
    assert len(main) == 7 and all(c["z_shape"] == (3, T, 4) for c in main)
    assert all(c["z_requires_grad"] and c["a_requires_grad"] for c in main)  # no stop-grad


def test_bound_violation_is_latco_residual():
    a = torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 1.5])
    assert bound_violation(a).tolist() == [3.0, 0.0, 0.0, 0.0, 0.0, 1.25]


def test_latco_returns_clamped_actions_and_batches_like_one_by_one(model):
    overrides = {"iterations": 50, "init": "line", "init_std": 0.0, "lr": 0.2}
    z0, g, _ = make_problems(model, B=3)
    far = g + 3.0
    together = run("latco", overrides, model, z0, far)
    assert together.actions.abs().max() <= 1.0
    for b in range(3):
        alone = run("latco", overrides, model, z0[b : b + 1], far[b : b + 1])
        torch.testing.assert_close(alone.actions[0], together.actions[b], rtol=0, atol=1e-5)


@pytest.mark.parametrize("init", ["normal", "line"])
def test_latco_primal_and_dual_steps_match_a_hand_computation(init):
    """Three LatCo iterations with non-default, distinct weights, multipliers and step
    sizes, on a model with its own action box (0 outside it in two dims, so the bound
    multipliers move) and a goal metric.  Primal: one Adam step (lr) on states and actions
    of L = goal_weight ||z_T - g||_W^2 + dyn_loss_scale sum_t lambda_t ||z_t - F(z_{t-1},
    a_t)||^2 + act_loss_scale sum nu relu((a - c)^2 - h^2), its gradient written out.
    Dual, every multiplier_every (2) steps: lambda += lambda_lr * residual,
    nu += nu_lr * violation."""
    model = BoxedLinearModel()
    B, lr, dyn, act, gw = 2, 0.07, 0.6, 2.5, 1.7
    lam0, nu0, lam_lr, nu_lr, init_std = 0.8, 1.9, 0.45, 3.2, 0.35
    z0, g, _ = make_problems(model, B=B)
    cfg = {"iterations": 3, "lr": lr, "dyn_loss_scale": dyn, "act_loss_scale": act,
           "goal_weight": gw, "init_lambda": lam0, "init_nu": nu0, "lambda_lr": lam_lr,
           "nu_lr": nu_lr, "multiplier_every": 2, "init": init, "init_std": init_std}
    result = run("latco", cfg, model, z0, g, seed=8, goal_weights=WEIGHTS)

    draws = gen(8)
    D, A, M = model.latent_dim, model.action_dim, model.M
    n_s, n_a = B * T * D, B * T * A
    if init == "normal":
        x = init_std * torch.randn(n_s + n_a, generator=draws, dtype=torch.float64)
        s, a = x[:n_s].view(B, T, D), x[n_s:].view(B, T, A)
    else:
        s = torch.cat([line_init(z0, g, T), g[:, None]], dim=1)
        s = s + init_std * torch.randn(n_s, generator=draws, dtype=torch.float64).view(B, T, D)
        a = torch.zeros(B, T, A, dtype=torch.float64)
    lam = torch.full((B, T), lam0, dtype=torch.float64)
    nu = torch.full((B, T, A), nu0, dtype=torch.float64)
    c = (model.action_high + model.action_low) / 2
    h = (model.action_high - model.action_low) / 2
    ms = vs = torch.zeros_like(s)
    ma = va = torch.zeros_like(a)
    for k in (1, 2, 3):
        prev = torch.cat([z0[:, None], s[:, :-1]], dim=1)
        r = s - (prev + a @ M.T)  # (B, T, D)
        residual = (r * r).sum(-1)
        outside = (a - c) ** 2 - h * h
        violation = torch.where(outside > 0, outside, torch.zeros_like(outside))
        # dL/dz_t: as the target of transition t, as the input of transition t + 1, the goal
        gs = 2 * dyn * lam[:, :, None] * r
        gs[:, :-1] -= 2 * dyn * lam[:, 1:, None] * r[:, 1:]
        gs[:, -1] += 2 * gw * WEIGHTS * (s[:, -1] - g)
        ga = -2 * dyn * (lam[:, :, None] * r) @ M + act * nu * 2 * (a - c) * (outside > 0)
        s, ms, vs = hand_adam(s, gs, ms, vs, k, lr)
        a, ma, va = hand_adam(a, ga, ma, va, k, lr)
        if k == 2:
            lam = lam + lam_lr * residual
            nu = nu + nu_lr * violation
    assert (violation > 0).any() and (violation == 0).any()
    plan = box_clamp(model, a)
    close = {"rtol": 0, "atol": 1e-12}
    torch.testing.assert_close(result.actions, plan, **close)
    torch.testing.assert_close(result.cost, hand_cost(model, z0, plan, g), **close)
    torch.testing.assert_close(result.info["states"], s, **close)
    torch.testing.assert_close(result.info["lambdas"], lam, **close)
    torch.testing.assert_close(result.info["nus"], nu, **close)
    torch.testing.assert_close(result.info["dyn_residual"], residual, **close)
    torch.testing.assert_close(result.info["bound_violation"], violation, **close)
