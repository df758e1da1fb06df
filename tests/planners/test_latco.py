"""LatCo: convergence, dual ascent on the multipliers, gradients through the model."""

from __future__ import annotations

import torch

from grasp_bench.planners.latco import bound_violation
from tests.planners.conftest import RecordingModel, T, assert_converges, make_problems, run

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
