"""iCEM: convergence, colored noise, population decay, no state leaking between calls."""

from __future__ import annotations

import math

import pytest
import torch

from grasp_bench.planners import make_planner, terminal_cost
from grasp_bench.planners.icem import colored_noise
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


def hand_colored_noise(shape: tuple[int, ...], beta: float, draws: torch.Generator):
    """Colored noise along the last dim, written out: Gaussian spectrum coefficients
    (real part, then imaginary part) scaled by f^(-beta/2) with f = max(j / n, 1 / n), the
    DC (and, for even n, the Nyquist) coefficient real and scaled by sqrt(2), the inverse
    real DFT as an explicit sum of cosines and sines, divided by the exact std
    sqrt(sum_j c_j scale_j^2) / n (c = 2 for the real coefficients, 4 for the others)."""
    n = shape[-1]
    if beta == 0:
        return torch.randn(shape, generator=draws, dtype=torch.float64)
    nf = n // 2 + 1
    scale = torch.tensor([max(j / n, 1 / n) ** (-beta / 2) for j in range(nf)],
                         dtype=torch.float64)
    re = torch.randn((*shape[:-1], nf), generator=draws, dtype=torch.float64) * scale
    im = torch.randn((*shape[:-1], nf), generator=draws, dtype=torch.float64) * scale
    real = [0, nf - 1] if n % 2 == 0 else [0]
    t = torch.arange(n, dtype=torch.float64)
    y = torch.zeros(shape, dtype=torch.float64)
    var = 0.0
    for j in range(nf):
        if j in real:
            y = y + 2**0.5 * re[..., j : j + 1] * torch.cos(2 * torch.pi * j * t / n) / n
            var += 2 * scale[j].item() ** 2
        else:  # X_j and its conjugate X_{n-j}: 2 Re(X_j e^{2 pi i j t / n})
            angle = 2 * torch.pi * j * t / n
            y = y + 2 * (re[..., j : j + 1] * torch.cos(angle)
                         - im[..., j : j + 1] * torch.sin(angle)) / n
            var += 4 * scale[j].item() ** 2
    return y / (var**0.5 / n)


def test_colored_noise_of_one_step_is_one_white_draw():
    """n = 1 has no spectrum to shape: one randn draw, and the generator moves as far."""
    g1, g2 = gen(2), gen(2)
    got = colored_noise((3, 4, 1), 1.5, generator=g1, device="cpu", dtype=torch.float64)
    torch.testing.assert_close(got, torch.randn((3, 4, 1), generator=g2, dtype=torch.float64))
    assert torch.equal(torch.randn(5, generator=g1), torch.randn(5, generator=g2))


@pytest.mark.parametrize("n", [2, 5, 6])
@pytest.mark.parametrize("beta", [0.0, 1.5])
def test_colored_noise_matches_the_written_out_inverse_dft(beta, n):
    got = colored_noise((3, 4, n), beta, generator=gen(2), device="cpu", dtype=torch.float64)
    torch.testing.assert_close(got, hand_colored_noise((3, 4, n), beta, gen(2)),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize(("ratio", "K", "n_keep", "T"),
                         [(0.15, 3, 2, T), (0.1, 2, 1, T), (0.15, 3, 2, 2)])
@pytest.mark.parametrize("add_mean_last", [True, False])
def test_icem_noise_elites_and_momentum_match_a_hand_computation(add_mean_last, ratio, K,
                                                                 n_keep, T):
    """Three iCEM iterations with non-default, distinct knobs, on a model with its own
    action box and a goal metric: population decay N_i = max(round(P decay^-i), 2K),
    colored noise (beta) along time, clamping, the kept elites of the previous iteration
    (ceil(keep_elite_frac K) of them) and the mean (last iteration) joining the
    population, top-K elites (K = ceil(elite_ratio P)), momentum alpha on mean and std,
    the best sample seen returned."""
    model = BoxedLinearModel()
    B, P, decay, beta, keep, alpha, init_std = 2, 20, 2.2, 1.5, 0.5, 0.2, 0.6
    iterations = 3  # K = ceil(ratio * 20) elites, n_keep = ceil(0.5 * K) kept
    z0, g, _ = make_problems(model, B=B)
    cfg = {"iterations": iterations, "population": P, "elite_ratio": ratio, "decay": decay,
           "noise_beta": beta, "keep_elite_frac": keep, "alpha": alpha,
           "init_std": init_std, "add_mean_last": add_mean_last}
    result = run("icem", cfg, model, z0, g, horizon=T, seed=7, goal_weights=WEIGHTS)

    draws = gen(7)
    A = model.action_dim
    mu = torch.zeros(B, T, A, dtype=torch.float64)
    std = torch.full((B, T, A), init_std, dtype=torch.float64)
    kept, best = None, mu.clone()
    best_cost = torch.full((B,), float("inf"), dtype=torch.float64)
    sizes, improved = [], []
    for i in range(iterations):
        n_i = max(round(P * decay**-i), 2 * K)
        eps = hand_colored_noise((B, n_i, A, T), beta, draws).transpose(-1, -2)
        X = box_clamp(model, mu[:, None] + std[:, None] * eps)
        if kept is not None:
            X = torch.cat([X, kept], dim=1)
        if add_mean_last and i == iterations - 1:
            X = torch.cat([X, mu[:, None]], dim=1)
        sizes.append(X.shape[1])
        costs = hand_cost(model, z0, X, g)
        elites = lowest(X, costs, K)
        kept = elites[:, :n_keep]
        mu = alpha * mu + (1 - alpha) * elites.mean(1)
        std = alpha * std + (1 - alpha) * sample_std(elites, 1)
        top = costs.min(1).values
        better = top < best_cost
        best[better], best_cost[better] = elites[better, 0], top[better]
        improved.append(better.tolist())
    # 20 / 2.2 = 9.1; 20 / 2.2^2 = 4.1, at or below the floor 2K
    assert sizes == [20, 9 + n_keep, 2 * K + n_keep + (1 if add_mean_last else 0)]
    assert any(improved[-1])  # the returned plan depends on the last iteration's draws
    torch.testing.assert_close(result.actions, best, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.cost, best_cost, rtol=0, atol=1e-12)


def test_the_plan_returned_is_the_best_ever_seen_without_kept_elites(model):
    """With no elites kept and a small, noisy population, an iteration's best candidate
    is often worse than an earlier one: the plan (and every snapshot) is the best so far,
    so the snapshots' costs never rise."""
    z0, g, _ = make_problems(model, B=4)
    cfg = {"iterations": 12, "population": 6, "elite_ratio": 0.34, "decay": 1.0,
           "keep_elite_frac": 0.0, "add_mean_last": False, "init_std": 1.5, "alpha": 0.5}
    result = run("icem", cfg, model, z0, g, snapshot_every=1)
    costs = torch.stack([terminal_cost(model, z0, snap, g)
                         for _, _, snap in result.snapshots])  # (iterations, B)
    assert (costs[1:] <= costs[:-1]).all()
    torch.testing.assert_close(result.cost, costs[-1])


def test_elites_are_the_ratio_of_the_population_rounded_up():
    from grasp_bench.planners.icem import ICEMConfig

    assert ICEMConfig(population=10, elite_ratio=0.1).elites == 1
    assert ICEMConfig(population=20, elite_ratio=0.15).elites == 3
    assert ICEMConfig(population=7, elite_ratio=1.0).elites == 7


def test_one_elite_shrinks_the_spread_without_losing_it(model):
    """One elite has no sample spread (0, not NaN): the std decays by alpha and the
    search goes on improving after the first iteration."""
    z0, g, _ = make_problems(model, B=3)
    cfg = {"iterations": 12, "population": 30, "elite_ratio": 0.01, "decay": 1.0,
           "keep_elite_frac": 0.0, "alpha": 0.9, "init_std": 1.0}
    result = run("icem", cfg, model, z0, g, snapshot_every=1)
    costs = torch.stack([terminal_cost(model, z0, snap, g) for _, _, snap in result.snapshots])
    assert torch.isfinite(costs).all()
    assert (costs[-1] < costs[0]).all()


def test_alpha_of_one_or_more_is_refused():
    from grasp_bench.planners.icem import ICEMConfig

    for alpha in (1.0, 1.5):
        with pytest.raises(ValueError, match="alpha"):
            ICEMConfig(alpha=alpha)


def test_the_mean_joins_the_last_population_of_a_long_search():
    """The last iteration is found by value, also past the ints CPython caches (256)."""
    model = RecordingModel()
    z0, g, _ = make_problems(model, B=1)
    cfg = {"iterations": 300, "population": 6, "elite_ratio": 0.2, "decay": 1.0,
           "keep_elite_frac": 0.0, "add_mean_last": True}
    model.calls.clear()
    run("icem", cfg, model, z0, g, horizon=1)
    rows = [c["z_shape"][0] for c in model.calls if len(c["z_shape"]) == 2]
    assert rows[:300] == [6] * 299 + [7]  # then the returned plan's cost, one row
