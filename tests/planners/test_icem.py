"""iCEM: convergence, colored noise, population decay, no state leaking between calls."""

from __future__ import annotations

import math

import torch

from grasp_bench.planners import make_planner
from grasp_bench.planners.icem import colored_noise
from tests.planners.conftest import (
    RecordingModel,
    T,
    assert_converges,
    gen,
    make_problems,
    run,
)

# Measured worst terminal cost (5 problem sets x 4 problems): 1.4e-2.
TOL = 4e-2


def test_icem_converges_on_linear_system():
    assert_converges("icem", {}, TOL)


def test_no_state_leaks_between_plan_calls(model):
    """mbrl-lib issue #186: elites kept by the optimizer object leaked into the next call.
    The same planner object plans P, then another problem Q, then P again: P's plans are
    identical, and equal to a fresh planner's."""
    planner = make_planner("icem", {"iterations": 6, "population": 40})
    p0, pg, _ = make_problems(model, B=2, seed=0)
    q0, qg, _ = make_problems(model, B=2, seed=1)
    first = planner.plan(model, p0, pg, T, generator=gen(5))
    planner.plan(model, q0, qg, T, generator=gen(6))
    again = planner.plan(model, p0, pg, T, generator=gen(5))
    fresh = make_planner("icem", {"iterations": 6, "population": 40}).plan(
        model, p0, pg, T, generator=gen(5))
    assert torch.equal(first.actions, again.actions) and torch.equal(first.actions, fresh.actions)


def test_population_decays_and_keeps_elites():
    model = RecordingModel()
    z0, g, _ = make_problems(model, B=2)
    model.calls.clear()
    cfg = {"iterations": 5, "population": 100, "elite_ratio": 0.1, "decay": 1.25,
           "keep_elite_frac": 0.3}
    run("icem", cfg, model, z0, g)
    rows = [c["z_shape"][0] for c in model.calls[: 5 * T : T]]
    K, kept = 10, math.ceil(0.3 * 10)
    expected = [2 * max(round(100 * 1.25**-i), 2 * K) + (2 * kept if i else 0) for i in range(5)]
    expected[-1] += 2  # the mean joins the last population
    assert rows == expected


def test_colored_noise_is_unit_variance_and_correlated_in_time():
    white = colored_noise((4000, 16), 0.0, generator=gen(0), device="cpu", dtype=torch.float32)
    red = colored_noise((4000, 16), 2.0, generator=gen(0), device="cpu", dtype=torch.float32)
    for x in (white, red):
        assert abs(x.std().item() - 1.0) < 0.1
    def lag1(x):
        return (x[:, 1:] * x[:, :-1]).mean().item() / x.var().item()
    assert abs(lag1(white)) < 0.05 and lag1(red) > 0.5
    odd = colored_noise((10, 7), 2.5, generator=gen(1), device="cpu", dtype=torch.float64)
    assert odd.shape == (10, 7) and odd.dtype == torch.float64
