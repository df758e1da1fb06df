"""CEM: convergence on the linear system and its batched (B*S) evaluation."""

from __future__ import annotations

import pytest
import torch

from grasp_bench.planners.cem import select_elites
from tests.planners.conftest import (
    WEIGHTS,
    BoxedLinearModel,
    RecordingModel,
    T,
    assert_converges,
    box_clamp,
    gen,
    hand_cost,
    lowest,
    make_problems,
    run,
    sample_std,
)

# Measured worst terminal cost over 5 problem sets x 4 problems: 3.9e-5 (initial up to ~5).
TOL = 1e-4


def test_cem_converges_on_linear_system():
    assert_converges("cem", {}, TOL)


def test_cem_evaluates_all_samples_in_one_batch_with_t_serial_steps():
    model = RecordingModel()
    z0, g, _ = make_problems(model, B=3)
    model.calls.clear()
    run("cem", {"iterations": 4, "samples": 20, "topk": 4}, model, z0, g)
    shapes = [c["z_shape"] for c in model.calls]
    assert shapes[: 4 * T] == [(3 * 20, 4)] * (4 * T)  # T sequential steps on B*S rows
    assert shapes[4 * T :] == [(3, 4)] * T  # final terminal_cost of the returned plan
    assert not any(c["a_requires_grad"] for c in model.calls)


def test_select_elites_picks_lowest_costs_per_problem():
    cand = torch.arange(2 * 5, dtype=torch.float32).view(2, 5, 1, 1).expand(2, 5, 3, 2)
    costs = torch.tensor([[5.0, 1.0, 4.0, 0.0, 3.0], [0.0, 1.0, 2.0, 3.0, -1.0]])
    elites = select_elites(cand, costs, 2)
    assert elites.shape == (2, 2, 3, 2)
    assert elites[0, :, 0, 0].tolist() == [3.0, 1.0] and elites[1, :, 0, 0].tolist() == [9.0, 5.0]


@pytest.mark.parametrize("keep_mean_sample", [True, False])
def test_cem_with_one_elite_keeps_its_first_plan(model, keep_mean_sample):
    """One elite has no spread: sigma is 0 after the first refit (not NaN), so every later
    candidate is the mean and the plan stays the first iteration's elite."""
    z0, g, _ = make_problems(model, B=2)
    cfg = {"iterations": 3, "samples": 10, "topk": 1, "keep_mean_sample": keep_mean_sample}
    result = run("cem", cfg, model, z0, g, snapshot_every=1)
    assert torch.isfinite(result.actions).all()
    first = result.snapshots[0][2]
    assert not torch.equal(first, torch.zeros_like(first))
    torch.testing.assert_close(result.actions, first, rtol=0, atol=0)


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("warm", [False, True])
@pytest.mark.parametrize("keep_mean_sample", [True, False])
def test_cem_refit_of_mean_and_std_matches_a_hand_computation(keep_mean_sample, warm, K):
    """Two CEM iterations with non-default, distinct samples / topk / var_scale, on a model
    with its own action box and a goal metric: sample N(mu, sigma^2) (the mean as the first
    candidate when keep_mean_sample), clamp to the box, keep the topk lowest costs, refit
    mu = their mean and sigma = their unbiased std; the second iteration samples with the
    refit sigma, so both refits are pinned."""
    model = BoxedLinearModel()
    B, S, var_scale = 2, 9, 0.7
    z0, g, ref = make_problems(model, B=B)
    init = 1.5 * ref if warm else None  # partly outside the box: clamped
    cfg = {"iterations": 2, "samples": S, "topk": K, "var_scale": var_scale,
           "keep_mean_sample": keep_mean_sample}
    result = run("cem", cfg, model, z0, g, seed=4, goal_weights=WEIGHTS, init=init)

    draws = gen(4)
    A = model.action_dim
    mu = torch.zeros(B, T, A, dtype=torch.float64) if init is None else box_clamp(model, init)
    sigma = torch.full((B, T, A), var_scale, dtype=torch.float64)
    for _ in range(2):
        noise = torch.randn((B, S, T, A), generator=draws, dtype=torch.float64)
        cand = mu[:, None] + sigma[:, None] * noise
        if keep_mean_sample:
            cand[:, 0] = mu
        cand = box_clamp(model, cand)
        elites = lowest(cand, hand_cost(model, z0, cand, g), K)
        mu, sigma = elites.mean(1), sample_std(elites, 1)
    torch.testing.assert_close(result.actions, mu, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.cost, hand_cost(model, z0, mu, g), rtol=0, atol=1e-12)
