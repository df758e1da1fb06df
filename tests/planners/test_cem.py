"""CEM: convergence on the linear system and its batched (B*S) evaluation."""

from __future__ import annotations

import torch

from grasp_bench.planners.cem import select_elites
from tests.planners.conftest import RecordingModel, T, assert_converges, make_problems, run

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


def test_cem_with_one_elite_keeps_a_finite_plan(model):
    z0, g, _ = make_problems(model, B=2)
    result = run("cem", {"iterations": 3, "samples": 10, "topk": 1}, model, z0, g)
    assert torch.isfinite(result.actions).all()
