"""GRASP: convergence, one model call per iteration, the stop-gradient, what the noise
and the sync touch, agreement with the autograd loss and torch.optim.Adam."""

from __future__ import annotations

import pytest
import torch

from grasp_bench.planners.base import line_init
from grasp_bench.planners.grasp import GRASPConfig, relaxed_loss
from tests.planners.conftest import (
    WEIGHTS,
    BoxedLinearModel,
    LinearModel,
    RecordingModel,
    T,
    assert_converges,
    box_clamp,
    gen,
    hand_adam,
    hand_cost,
    hand_terminal_grad,
    lowest,
    make_problems,
    run,
)

# Measured worst terminal cost (5 problem sets x 4 problems, 300 iterations, the default
# syncs every 12 iterations of 25 steps): sync_mode=gd 3.1e-4, sync_mode=cem 5.1e-3
# (initial costs 0.2..5; with the author's syncs every 50 x 10: 7.4e-3 and 4.8e-3).  On a
# linear system the goal term (gamma) and the state noise keep the relaxed optimum off the
# exact solution; the syncs bring the serial error down.
TOL_GD = 3e-3
TOL_CEM = 1.5e-2


def test_grasp_converges_on_linear_system():
    assert_converges("grasp", {"iterations": 300}, TOL_GD)


def test_grasp_cem_sync_converges_on_linear_system():
    assert_converges("grasp", {"iterations": 300, "sync_mode": "cem"}, TOL_CEM)


def test_one_model_step_per_main_iteration_for_all_transitions():
    model = RecordingModel()
    z0, g, _ = make_problems(model, B=3)
    model.calls.clear()
    run("grasp", {"iterations": 25, "sync_every": 0}, model, z0, g)
    main = [c for c in model.calls if len(c["z_shape"]) == 3]
    assert len(main) == 25 and all(c["z_shape"] == (3, T, 4) for c in main)
    assert len(model.calls) == 25 + T  # + the serial terminal_cost of the returned plan


@pytest.mark.parametrize("sync_mode", ["gd", "cem"])
def test_no_gradient_reaches_the_state_input_outside_sync(sync_mode):
    model = RecordingModel()
    z0, g, _ = make_problems(model, B=2)
    model.calls.clear()
    run("grasp", {"iterations": 20, "sync_every": 10, "sync_steps": 2, "sync_mode": sync_mode},
        model, z0, g)
    main = [c for c in model.calls if len(c["z_shape"]) == 3 and c["z_shape"][1] == T]
    assert len(main) == 20
    assert not any(c["z_requires_grad"] for c in main)  # sg(s_t): detached state input
    assert all(c["a_requires_grad"] for c in main)  # actions get their gradient through F
    serial = [c for c in model.calls if len(c["z_shape"]) == 2]
    assert serial  # the sync rollouts (recorded too, so the check above is not vacuous)
    if sync_mode == "gd":  # BPTT: the rollout's states depend on the actions
        assert any(c["z_requires_grad"] for c in serial)


def test_states_receive_gradient_as_targets(model):
    z0, g, _ = make_problems(model, B=2)
    result = run("grasp", {"iterations": 10, "sync_every": 0, "noise": 0.0}, model, z0, g)
    assert not torch.allclose(result.info["states"], line_init(z0, g, T))


def test_noise_touches_the_states_only(model):
    z0, g, _ = make_problems(model, B=2)
    frozen = {"iterations": 10, "sync_every": 0, "lr_states": 0.0, "lr_actions": 0.0}
    noisy = run("grasp", {**frozen, "noise": 0.1}, model, z0, g)
    quiet = run("grasp", {**frozen, "noise": 0.0}, model, z0, g)
    assert torch.equal(noisy.actions, torch.zeros_like(noisy.actions))  # never on actions
    assert torch.equal(quiet.info["states"], line_init(z0, g, T))
    moved = (noisy.info["states"] - line_init(z0, g, T)).std().item()
    assert 0.2 < moved < 0.45  # ten N(0, 0.1^2) draws: std 0.1 * sqrt(10) = 0.32


@pytest.mark.parametrize("sync_mode", ["gd", "cem"])
def test_sync_changes_the_actions_only(model, sync_mode):
    """Same run with and without a sync after the last iteration: the states are equal,
    the actions are not."""
    z0, g, _ = make_problems(model, B=2)
    base = {"iterations": 20, "sync_mode": sync_mode, "sync_steps": 3}
    synced = run("grasp", {**base, "sync_every": 20}, model, z0, g)
    unsynced = run("grasp", {**base, "sync_every": 0}, model, z0, g)
    assert torch.equal(synced.info["states"], unsynced.info["states"])
    assert not torch.allclose(synced.actions, unsynced.actions)
    assert (synced.cost < unsynced.cost).all()


@pytest.mark.parametrize("stop_gradient", [True, False])
@pytest.mark.parametrize("weights", [None, torch.tensor([2.0, 0.0, 1.5, 0.5])])
def test_iterations_match_autograd_loss_and_torch_adam(model, weights, stop_gradient):
    """The closed-form gradient + FlatAdam equal autograd on relaxed_loss +
    torch.optim.Adam with two parameter groups (noise off, no sync), with plain latent MSE
    and with a goal metric W (on the goal terms, including the last transition's), with
    the stop-gradient and without it (the ablation)."""
    B, N = 3, 40
    z0, g, _ = make_problems(model, B=B)
    result = run("grasp", {"iterations": N, "sync_every": 0, "noise": 0.0, "gamma": 0.7,
                           "stop_gradient": stop_gradient},
                 model, z0, g, goal_weights=weights)
    states = line_init(z0, g, T).requires_grad_(True)
    actions = torch.zeros(B, T, 4, requires_grad=True)
    c = GRASPConfig()
    opt = torch.optim.Adam([{"params": [states], "lr": c.lr_states},
                            {"params": [actions], "lr": c.lr_actions}])
    for _ in range(N):
        traj = torch.cat([z0[:, None], states, g[:, None]], dim=1)
        loss = relaxed_loss(model, traj, actions, g, 0.7, weights, stop_gradient)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            actions.clamp_(-1, 1)
    torch.testing.assert_close(result.actions, actions.detach(), rtol=0, atol=1e-6)
    torch.testing.assert_close(result.info["states"], states.detach(), rtol=0, atol=1e-5)


def test_relaxed_loss_stops_the_gradient_at_the_state_input_by_default(model):
    """The paper's sg is relaxed_loss's default: the states' gradient is the one with
    stop_gradient=True, not the ablation's."""
    z0, g, _ = make_problems(model, B=2)
    actions = 0.3 * torch.ones(2, T, 4)

    def state_grad(**kw):
        states = line_init(z0, g, T).requires_grad_(True)
        traj = torch.cat([z0[:, None], states, g[:, None]], dim=1)
        (grad,) = torch.autograd.grad(relaxed_loss(model, traj, actions, g, 0.7, **kw), [states])
        return grad

    torch.testing.assert_close(state_grad(), state_grad(stop_gradient=True), rtol=0, atol=0)
    assert not torch.allclose(state_grad(), state_grad(stop_gradient=False))


def test_the_states_at_each_snapshot_are_those_of_that_iteration(model):
    """states_at_snapshots[:, k] is a copy taken at the k-th snapshot: a run stopped at
    that iteration (same seed, noise on) ends with the same states."""
    z0, g, _ = make_problems(model, B=2)
    cfg = {"sync_every": 0, "noise": 0.05}
    full = run("grasp", {**cfg, "iterations": 6}, model, z0, g, snapshot_every=2)
    trail = full.info["states_at_snapshots"]  # (B, 3, T-1, D): after iterations 2, 4, 6
    assert trail.shape == (2, 3, T - 1, 4)
    for k, it in enumerate((2, 4, 6)):
        short = run("grasp", {**cfg, "iterations": it}, model, z0, g)
        torch.testing.assert_close(trail[:, k], short.info["states"], rtol=0, atol=0)


def test_grasp_batched_equals_one_by_one_without_noise(model):
    """noise = 0, init_noise = 0, sync_mode = gd: deterministic, so batching changes no
    problem's plan.  (With noise, the draws are one tensor for the batch: a problem's
    noise depends on B and its position in the batch.)"""
    overrides = {"iterations": 60, "sync_every": 20, "sync_steps": 3, "noise": 0.0}
    z0, g, _ = make_problems(model, B=3)
    together = run("grasp", overrides, model, z0, g)
    for b in range(3):
        alone = run("grasp", overrides, model, z0[b : b + 1], g[b : b + 1])
        torch.testing.assert_close(alone.actions[0], together.actions[b], rtol=0, atol=1e-5)


def test_grasp_runs_in_float64_and_keeps_dtype():
    model = LinearModel(dtype=torch.float64)
    z0, g, _ = make_problems(model, B=2)
    result = run("grasp", {"iterations": 20, "sync_every": 10, "init_noise": 0.1}, model, z0, g)
    assert result.actions.dtype == torch.float64 and result.info["states"].dtype == torch.float64


def test_grasp_author_plans_as_grasp_with_the_authors_fields(model):
    """The preset is a config, nothing else: same seed, same plan (the tables measured
    with the author's config as ``grasp`` are reproduced by ``grasp-author``)."""
    from grasp_bench.planners import REGISTRY

    author = REGISTRY["grasp-author"][0]()
    fields = {"iterations": 40, "noise": author.noise, "lr_states": author.lr_states,
              "gamma": author.gamma, "sync_every": 20, "sync_steps": author.sync_steps,
              "sync_lr": author.sync_lr}
    z0, g, _ = make_problems(model, B=3)
    as_preset = run("grasp-author", {"iterations": 40, "sync_every": 20}, model, z0, g, seed=3)
    as_grasp = run("grasp", fields, model, z0, g, seed=3)
    torch.testing.assert_close(as_preset.actions, as_grasp.actions, rtol=0, atol=0)


#: non-default GRASP knobs, every value distinct from the others (and from the defaults)
HAND = {"lr_states": 0.03, "lr_actions": 0.011, "noise": 0.013, "gamma": 0.4,
        "sync_every": 2, "sync_steps": 3, "sync_lr": 0.06, "init_noise": 0.017,
        "cem_sync_samples": 9, "cem_sync_topk": 4, "cem_sync_var_scale": 0.6,
        "cem_sync_var_min": 0.02}


def hand_grasp(model, z0, g, cfg: dict, iterations: int, draws: torch.Generator,
               T: int = T):
    """GRASP written out for the linear model ``F(s, a) = s + a M^T`` (goal metric
    WEIGHTS): returns the actions and the virtual states s_1..s_{T-1}."""
    B, D, A, M = z0.shape[0], model.latent_dim, model.action_dim, model.M
    f64 = torch.float64
    s = line_init(z0, g, T)
    if cfg["init_noise"] > 0:  # a zero std draws nothing (the generator feeds the syncs)
        s = s + cfg["init_noise"] * torch.randn((B, T - 1, D), generator=draws, dtype=f64)
    a = torch.zeros(B, T, A, dtype=f64)
    ms = vs = torch.zeros_like(s)
    ma = va = torch.zeros_like(a)
    k = 0  # Adam's step count, reset by every sync
    for it in range(1, iterations + 1):
        traj = torch.cat([z0[:, None], s, g[:, None]], dim=1)  # s_0 .. s_T = g
        p = traj[:, :T] + a @ M.T  # F(s_t, a_t), t = 0..T-1
        r = p - traj[:, 1:]  # against the next state; the last one is the goal residual
        r_w = torch.cat([r[:, :-1], WEIGHTS * r[:, -1:]], dim=1)
        dp = 2 * r_w + 2 * cfg["gamma"] * WEIGHTS * (p - g[:, None])  # dL/dp
        ga = dp @ M  # dp/da = M
        gs = -2 * r[:, :-1]  # s_1..s_{T-1} as targets
        if not cfg["stop_gradient"]:  # ... and as the model's inputs (dF/ds = I)
            gs = gs + dp[:, 1:]
        k += 1
        s, ms, vs = hand_adam(s, gs, ms, vs, k, cfg["lr_states"])
        a, ma, va = hand_adam(a, ga, ma, va, k, cfg["lr_actions"])
        if cfg["noise"] > 0:
            s = s + cfg["noise"] * torch.randn((B, T - 1, D), generator=draws, dtype=f64)
        a = box_clamp(model, a)
        if it % cfg["sync_every"] == 0:
            if cfg["sync_mode"] == "gd":
                m2 = v2 = torch.zeros_like(a)
                for j in range(1, cfg["sync_steps"] + 1):
                    grad = hand_terminal_grad(model, z0, a, g)
                    a, m2, v2 = hand_adam(a, grad, m2, v2, j, cfg["sync_lr"])
                    a = box_clamp(model, a)
            else:
                S, K = cfg["cem_sync_samples"], cfg["cem_sync_topk"]
                vmin = cfg["cem_sync_var_min"]
                zs = z0[:, None] + torch.cumsum(a @ M.T, dim=1)  # z_1..z_T of a's rollout
                if T > 1:
                    gap = ((zs[:, :-1] - s) ** 2).mean(-1)  # (B, T-1)
                    gap = torch.cat([gap.mean(1, keepdim=True), gap], dim=1)  # (B, T)
                else:  # no virtual state: the rollout's distance to the goal (unweighted)
                    gap = ((zs[:, -1] - g) ** 2).mean(-1, keepdim=True)  # (B, 1)
                var = (cfg["cem_sync_var_scale"] * gap + vmin)[:, :, None]
                mean = a
                for _ in range(cfg["sync_steps"]):
                    noise = torch.randn((B, S, T, A), generator=draws, dtype=f64)
                    cand = box_clamp(model, mean[:, None] + noise * torch.sqrt(var[:, None]))
                    elites = lowest(cand, hand_cost(model, z0, cand, g), K)
                    mean = elites.mean(1)
                    dev = elites - mean[:, None]
                    var = ((dev * dev).sum(1) / (K - 1)).mean(-1, keepdim=True) + vmin
                a = mean
            k, ms, vs, ma, va = 0, ms * 0, vs * 0, ma * 0, va * 0  # a fresh Adam
    return a, s


@pytest.mark.parametrize("stop_gradient", [True, False])
def test_grasp_one_lifted_step_matches_a_hand_computation(stop_gradient):
    """One GRASP iteration without noise or sync, non-default gamma and step sizes: one
    Adam step on the states (lr_states) and one on the actions (lr_actions) of the
    relaxed loss, its gradient written out for the linear model (the states as targets;
    also through the model's input without the stop-gradient), actions clamped."""
    model = BoxedLinearModel()
    z0, g, _ = make_problems(model, B=2)
    cfg = {**HAND, "noise": 0.0, "init_noise": 0.0, "sync_every": 0,
           "stop_gradient": stop_gradient}
    result = run("grasp", {**cfg, "iterations": 1}, model, z0, g, goal_weights=WEIGHTS)
    a, s = hand_grasp(model, z0, g, {**cfg, "sync_every": 10**9}, 1, gen(0))
    torch.testing.assert_close(result.actions, a, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.info["states"], s, rtol=0, atol=1e-12)
    assert not torch.allclose(s, line_init(z0, g, T))  # the states moved


@pytest.mark.parametrize("stop_gradient", [True, False])
@pytest.mark.parametrize("sync_mode", ["gd", "cem"])
def test_grasp_steps_noise_and_sync_match_a_hand_computation(sync_mode, stop_gradient):
    """Five GRASP iterations with every knob non-default and distinct, on a model with its
    own action box and a goal metric: the noisy initial line of states, the lifted Adam
    steps with their own step sizes, the state noise after each, the clamp, a sync after
    iterations 2 and 4 (gd: sync_steps Adam steps of sync_lr on the serial cost; cem:
    sync_steps CEM iterations with the gap-scaled variance), the fresh Adam after each
    sync (iteration 5 takes a first Adam step again)."""
    model = BoxedLinearModel()
    z0, g, _ = make_problems(model, B=2)
    cfg = {**HAND, "sync_mode": sync_mode, "stop_gradient": stop_gradient}
    result = run("grasp", {**cfg, "iterations": 5}, model, z0, g, seed=9, goal_weights=WEIGHTS)
    a, s = hand_grasp(model, z0, g, cfg, 5, gen(9))
    torch.testing.assert_close(result.actions, a, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.info["states"], s, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.cost, hand_cost(model, z0, a, g), rtol=0, atol=1e-12)


@pytest.mark.parametrize("horizon", [1, 2])
def test_short_plans_cem_sync_matches_a_hand_computation(horizon):
    """At T = 1 there is no virtual state, so the CEM sync sizes its variance by the
    rollout's distance to the goal; at T = 2 by the one state's gap, which also stands for
    the first step.  Four iterations, syncs after 2 and 4, every knob non-default."""
    model = BoxedLinearModel()
    z0, g, _ = make_problems(model, B=2, horizon=horizon)
    cfg = {**HAND, "sync_mode": "cem", "stop_gradient": True}
    result = run("grasp", {**cfg, "iterations": 4}, model, z0, g, horizon=horizon, seed=5,
                 goal_weights=WEIGHTS)
    a, s = hand_grasp(model, z0, g, cfg, 4, gen(5), T=horizon)
    torch.testing.assert_close(result.actions, a, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.info["states"], s, rtol=0, atol=1e-12)


@pytest.mark.parametrize("zero", ["noise", "init_noise"])
def test_a_zero_noise_draws_nothing_from_the_generator(zero):
    """A noise of std 0 takes no draws, so the CEM syncs' draws are those of a run without
    that noise at all (the hand computation draws only what a nonzero std needs)."""
    model = BoxedLinearModel()
    z0, g, _ = make_problems(model, B=2)
    cfg = {**HAND, zero: 0.0, "sync_mode": "cem", "stop_gradient": True}
    result = run("grasp", {**cfg, "iterations": 4}, model, z0, g, seed=4, goal_weights=WEIGHTS)
    a, s = hand_grasp(model, z0, g, cfg, 4, gen(4))
    torch.testing.assert_close(result.actions, a, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.info["states"], s, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sync_steps", [1, 2])
@pytest.mark.parametrize("sync_mode", ["gd", "cem"])
def test_short_syncs_after_every_iteration_match_a_hand_computation(sync_mode, sync_steps):
    """The smallest syncs: after every iteration, of one or two steps, with two CEM elites
    (the sample variance of two, divided by 1, sizes the second step)."""
    model = BoxedLinearModel()
    z0, g, _ = make_problems(model, B=2)
    cfg = {**HAND, "sync_mode": sync_mode, "stop_gradient": True, "sync_every": 1,
           "sync_steps": sync_steps, "cem_sync_topk": 2}
    result = run("grasp", {**cfg, "iterations": 3}, model, z0, g, seed=8, goal_weights=WEIGHTS)
    a, s = hand_grasp(model, z0, g, cfg, 3, gen(8))
    torch.testing.assert_close(result.actions, a, rtol=0, atol=1e-12)
    torch.testing.assert_close(result.info["states"], s, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sync_mode", ["gd", "cem"])
def test_syncs_of_zero_steps_are_no_syncs(sync_mode, model):
    """sync_steps = 0 plans as sync_every = 0: no sync, and no fresh Adam either."""
    z0, g, _ = make_problems(model, B=2)
    base = {"iterations": 9, "sync_mode": sync_mode}
    none = run("grasp", {**base, "sync_every": 0}, model, z0, g)
    zero = run("grasp", {**base, "sync_every": 3, "sync_steps": 0}, model, z0, g)
    torch.testing.assert_close(zero.actions, none.actions, rtol=0, atol=0)
    torch.testing.assert_close(zero.info["states"], none.info["states"], rtol=0, atol=0)


def test_cited_defaults_and_presets_are_their_sources():
    """The defaults that cite a source keep its value (grasp_solver.py and the author's
    Push-T config); the configs are frozen; each ablation sets exactly its one field."""
    import dataclasses

    from grasp_bench.planners.grasp_presets import ABLATIONS, PRESETS, ablated_fields

    ours = GRASPConfig()
    assert (ours.noise, ours.sync_every, ours.cem_sync_topk) == (0.005, 12, 8)
    author = PRESETS["grasp-author"]().config
    assert (author.iterations, author.lr_states, author.gamma, author.sync_every,
            author.sync_steps, author.sync_lr) == (750, 0.1, 1.0, 50, 10, 0.05)
    with pytest.raises(dataclasses.FrozenInstanceError):
        author.iterations = 1
    assert {n: ablated_fields(n) for n in ABLATIONS} == {
        "grasp-nosg": ("stop_gradient",), "grasp-nonoise": ("noise",),
        "grasp-nosync": ("sync_every",), "grasp-nogoal": ("gamma",)}
    assert ablated_fields("cem") == ()
    GRASPConfig(cem_sync_samples=5, cem_sync_topk=5)  # as many elites as samples is fine
    with pytest.raises(ValueError, match="cem_sync_topk"):
        GRASPConfig(cem_sync_samples=5, cem_sync_topk=6)


def test_two_step_plans_get_their_noise_and_one_elite_cem_syncs_stay_finite(model):
    """At T = 2 there is one virtual state, so the state noise and the initial noise act
    (a plan differs from the noiseless one); a CEM sync with a single elite has no sample
    variance and must not turn it into NaN; without syncs a snapshot may fall on any
    iteration."""
    from grasp_bench.planners import make_planner

    z0, g, _ = make_problems(model, B=3, horizon=2)
    base = {"iterations": 6, "sync_every": 0, "noise": 0.0, "init_noise": 0.0}
    still = run("grasp", base, model, z0, g, horizon=2).actions
    for field in ("noise", "init_noise"):
        moved = run("grasp", {**base, field: 0.3}, model, z0, g, horizon=2).actions
        assert not torch.allclose(moved, still), field
    one = run("grasp", {"iterations": 4, "sync_every": 2, "sync_steps": 2, "sync_mode": "cem",
                        "cem_sync_samples": 6, "cem_sync_topk": 1}, model, z0, g, horizon=2)
    assert torch.isfinite(one.actions).all()
    assert make_planner("grasp", {"sync_every": 0}).snapshot_period == 1
    assert make_planner("grasp", {"sync_every": 7, "sync_steps": 0}).snapshot_period == 1
    assert make_planner("grasp", {"sync_every": 7, "sync_steps": 3}).snapshot_period == 7
