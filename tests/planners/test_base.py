"""Registry, overrides, shared helpers, and the contract every planner keeps
(bounds, seeding, snapshots, independence of the B problems)."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest
import torch

from grasp_bench.errors import UserError
from grasp_bench.planners import (
    REGISTRY,
    Planner,
    PlanResult,
    apply_overrides,
    describe_registry,
    make_planner,
    parse_overrides,
    terminal_cost,
)
from grasp_bench.planners.base import (
    ACTION_HIGH,
    ACTION_LOW,
    FlatAdam,
    SnapshotRecorder,
    Stopwatch,
    line_init,
)
from tests.planners.conftest import FAST, LinearModel, T, gen, make_problems, run

ALL = list(REGISTRY)


# ---------------------------------------------------------------------------------------
# Registry and configs
# ---------------------------------------------------------------------------------------
def test_registry_has_every_planner_in_paper_order():
    assert ALL == ["cem", "gd", "latco", "grasp", "mppi", "icem", "grasp-author",
                   "grasp-nosg", "grasp-nonoise", "grasp-nosync", "grasp-nogoal"]


@pytest.mark.parametrize("name,field,value", [
    ("grasp-nosg", "stop_gradient", False), ("grasp-nonoise", "noise", 0.0),
    ("grasp-nosync", "sync_every", 0), ("grasp-nogoal", "gamma", 0.0)])
def test_each_ablation_is_grasp_with_one_ingredient_removed(name, field, value):
    from dataclasses import asdict

    from grasp_bench.planners import GRASP, GRASPConfig, make_planner

    planner = make_planner(name)
    assert isinstance(planner, GRASP) and planner.name == name
    changed = {k: v for k, v in asdict(planner.config).items()
               if v != getattr(GRASPConfig(), k)}
    assert changed == {field: value}
    assert field not in type(planner.config).search_space


@pytest.mark.parametrize("name", ALL)
def test_config_is_frozen_cited_and_has_iterations(name):
    config_cls, planner_cls = REGISTRY[name]
    config = config_cls()
    assert config.iterations > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.iterations = 1
    for f in dataclasses.fields(config_cls):
        assert f.metadata.get("help"), f"{name}.{f.name} has no help/citation"
    planner = make_planner(name)
    assert isinstance(planner, planner_cls) and isinstance(planner, Planner)
    assert planner.name == name and planner.config == config


def test_describe_registry_lists_every_field():
    rows = describe_registry()
    n_fields = sum(len(dataclasses.fields(c)) for c, _ in REGISTRY.values())
    assert len(rows) == n_fields
    row = next(r for r in rows if r.planner == "grasp" and r.field == "sync_mode")
    assert row.type == "str {gd,cem}" and row.default == "gd" and "grasp" in row.help
    row = next(r for r in rows if r.planner == "grasp" and r.field == "lr_states")
    assert (row.type, row.default) == ("float", 0.02)


def test_grasp_author_is_the_authors_config():
    c = REGISTRY["grasp-author"][0]()
    assert (c.iterations, c.lr_states, c.lr_actions, c.noise) == (750, 0.1, 0.005, 0.005)
    assert (c.sync_every, c.sync_steps, c.sync_lr, c.gamma) == (50, 10, 0.05, 1.0)
    assert c.sync_mode == "gd" and c.stop_gradient


def test_grasp_defaults_lie_within_what_every_tuning_study_chose():
    """Each default GRASP moved from the author's is cited to the tuning studies that chose
    it: it must lie within the range of the six tuned GRASP configs (2 envs x 3 horizons:
    BallNav's shipped file and Push-T's study before the pace change); the Push-T studies at
    the paper's pace, on demo and on replay problems, kept the defaults."""
    import json

    from grasp_bench.tasks import REPO_ROOT

    tuned_dir = REPO_ROOT / "results/reference/tuned"
    tuned = [entry["config"]
             for path in (tuned_dir / "ballnav-statemlp.json",
                          tuned_dir / "history/pusht-statemlp-before-pace.json")
             for entry in json.loads(path.read_text())["entries"]["grasp"].values()]
    assert len(tuned) == 6
    for kept in ("pusht-statemlp.json", "history/pusht-statemlp-demo-problems.json"):
        current = json.loads((tuned_dir / kept).read_text())["entries"]["grasp"]
        assert {e["source"] for e in current.values()} == {"default"}
    default, author = REGISTRY["grasp"][0](), REGISTRY["grasp-author"][0]()
    moved = [f.name for f in dataclasses.fields(default)
             if getattr(default, f.name) != getattr(author, f.name)]
    assert moved == ["iterations", "lr_states", "gamma", "sync_every", "sync_steps", "sync_lr"]
    for name in moved:
        values = [c[name] for c in tuned]
        assert min(values) <= getattr(default, name) <= max(values), name
    assert default.iterations % default.sync_every == 0  # the plan returned is synced


# ---------------------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------------------
def test_parse_overrides_converts_to_field_types():
    out = parse_overrides([
        "grasp.lr_states=0.05", "grasp.iterations=100", "grasp.sync_mode=cem",
        "gd.optimizer=adam", "cem.keep_mean_sample=false", "grasp.iterations=200",
    ])
    assert out == {
        "grasp": {"lr_states": 0.05, "iterations": 200, "sync_mode": "cem"},
        "gd": {"optimizer": "adam"},
        "cem": {"keep_mean_sample": False},
    }
    assert isinstance(out["grasp"]["iterations"], int)
    assert parse_overrides([]) == {}


def test_apply_overrides_accepts_strings_and_typed_values():
    c = apply_overrides("grasp", {"lr_states": "0.05", "iterations": 10, "noise": 0})
    assert (c.lr_states, c.iterations, c.noise) == (0.05, 10, 0.0)
    assert isinstance(c.noise, float)
    assert make_planner("cem", {"samples": "64"}).config.samples == 64


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        (["foo.lr=1"], "unknown planner 'foo'; planners: cem, gd, latco, grasp, mppi, icem"),
        (["grasp.lr=0.1"], "unknown field 'lr' for planner grasp; fields: iterations, lr_states"),
        (["grasp.iterations=1.5"], "grasp.iterations expects an int, got '1.5'"),
        (["grasp.lr_states=fast"], "grasp.lr_states expects a finite float, got 'fast'"),
        (["grasp.lr_states=nan"], "grasp.lr_states expects a finite float"),
        (["cem.keep_mean_sample=maybe"], "cem.keep_mean_sample expects a bool (true/false)"),
        (["grasp.sync_mode=adam"], "grasp.sync_mode expects one of gd, cem; got 'adam'"),
        (["gd.optimizer=rmsprop"], "gd.optimizer expects one of sgd, adam"),
        (["grasp.lr_states"], "bad override 'grasp.lr_states'; expected planner.field=value"),
        (["lr_states=0.1"], "expected planner.field=value"),
        ([".samples=3"], "bad override '.samples=3'"),  # no planner
        (["cem.=3"], "bad override 'cem.=3'"),  # no field
        (["cem.topk=500"], None),  # __post_init__: topk > samples (checked by apply_overrides)
    ],
)
def test_bad_overrides_raise_one_line_value_errors(items, fragment):
    with pytest.raises(ValueError) as info:
        parsed = parse_overrides(items)
        for planner, fields in parsed.items():
            apply_overrides(planner, fields)
    assert isinstance(info.value, UserError)
    msg = str(info.value)
    assert "\n" not in msg
    if fragment:
        assert fragment in msg
    else:
        assert msg.startswith("cem: topk (500) must be <= samples (300)")


@pytest.mark.parametrize(
    ("name", "overrides", "fragment"),
    [
        ("grasp", {"iterations": True}, "grasp.iterations expects an int, got True"),
        ("grasp", {"iterations": 0}, "iterations must be > 0"),
        ("gd", {"lr": "1e-2x"}, "gd.lr expects a finite float"),
        ("mppi", {"control_cost": 1}, "mppi.control_cost expects a bool"),
        ("icem", {"nope": 1}, "unknown field 'nope' for planner icem"),
        ("nope", {}, "unknown planner 'nope'"),
    ],
)
def test_make_planner_rejects_bad_values(name, overrides, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_planner(name, overrides)


#: (planner, field, the edge value a config accepts, the nearest value it refuses)
EDGES = [
    ("cem", "iterations", 1, 0), ("cem", "var_scale", 0.0, -1e-9),
    ("cem", "topk", 300, 301),  # as many elites as the 300 samples
    ("gd", "lr", 1e-9, 0.0), ("gd", "action_noise", 0.0, -1e-9),
    ("latco", "multiplier_every", 1, 0), ("latco", "goal_weight", 0.0, -1e-9),
    ("latco", "init_std", 0.0, -1e-9),
    ("grasp", "noise", 0.0, -1e-9), ("grasp", "sync_every", 0, -1),
    ("grasp", "cem_sync_samples", 8, 7),  # as many candidates as the 8 elites
    ("mppi", "temperature", 1e-9, 0.0), ("mppi", "noise_sigma", 1e-9, 0.0),
    ("icem", "elite_ratio", 1.0, 1.0001), ("icem", "keep_elite_frac", 1.0, 1.0001),
    ("icem", "keep_elite_frac", 0.0, -1e-9), ("icem", "alpha", 0.999, 1.0),
    ("icem", "decay", 1.0, 0.999), ("icem", "noise_beta", 0.0, -1e-9),
]


@pytest.mark.parametrize(("name", "field", "edge", "past"), EDGES)
def test_a_config_accepts_its_edge_values_and_refuses_the_next(name, field, edge, past):
    assert getattr(make_planner(name, {field: edge}).config, field) == edge
    with pytest.raises(ValueError, match=field):
        make_planner(name, {field: past})


def test_overrides_far_outside_their_search_range_are_warned_about():
    """grasp.lr_states is searched in [0.01, 0.3]: a warning past 10x either way, none
    inside that margin, none for fields without a range or for bools and strings."""
    from grasp_bench.planners.registry import override_warnings

    assert override_warnings("grasp", {"lr_states": 2.9, "sync_mode": "cem"}) == []
    assert override_warnings("grasp", {"lr_states": "0.0011", "stop_gradient": False}) == []
    above = override_warnings("grasp", {"lr_states": "3.1"})
    assert above == ["--set grasp.lr_states=3.1 is more than 10x above the range searched "
                     "for it [0.01, 0.3]; its results may mean little"]
    (below,) = override_warnings("grasp", {"lr_states": 0.0009})
    assert "10x below the range searched for it [0.01, 0.3]" in below
    assert override_warnings("grasp", {"init_noise": 50.0}) == []  # no range declared
    assert override_warnings("grasp", {"lr_states": 3.0}) == []  # exactly 10x: no warning
    assert override_warnings("grasp", {"lr_states": 0.001}) == []
    assert override_warnings("gd", {"action_noise": -1.0}) == []  # a range from 0: no below


@pytest.mark.parametrize(("iterations", "every", "near"), [(100, 12, 96), (5, 12, 12),
                                                           (130, 40, 120)])
def test_grasp_iterations_off_the_sync_period_are_refused_with_the_nearest(iterations, every,
                                                                           near):
    from grasp_bench.planners.registry import check_rules

    config = make_planner("grasp", {"iterations": iterations, "sync_every": every}).config
    with pytest.raises(UserError, match=rf"iterations \({iterations}\) must be a multiple "
                                        rf"of sync_every \({every}\).*iterations={near}\)"):
        check_rules("grasp", config)
    check_rules("grasp", make_planner("grasp", {"iterations": 2 * every,
                                                "sync_every": every}).config)
    check_rules("grasp", make_planner("grasp", {"iterations": iterations, "sync_every": 0}).config)
    check_rules("grasp", make_planner("grasp", {"iterations": iterations, "sync_every": every,
                                                "sync_steps": 0}).config)  # no syncs at all


def test_a_plan_result_without_timing_took_no_time():
    result = PlanResult(torch.zeros(1, 2, 2), torch.zeros(1), 3, [])
    assert result.elapsed_s == 0.0 and result.info == {}


def test_a_preset_changes_the_fields_it_sets_and_a_planner_all_of_its_own():
    from grasp_bench.planners.registry import changed_fields

    assert changed_fields("grasp-nosg") == ["stop_gradient"]
    assert changed_fields("grasp-nosync") == ["sync_every"]
    assert changed_fields("cem") == [f.name for f in dataclasses.fields(REGISTRY["cem"][0])]


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
def test_terminal_cost_is_serial_rollout_error_summed_over_d(model):
    z0, g, ref = make_problems(model, B=3)
    assert torch.allclose(terminal_cost(model, z0, ref, g), torch.zeros(3), atol=1e-10)
    a = torch.zeros_like(ref)
    expected = ((model.rollout(z0, a)[:, -1] - g) ** 2).sum(-1)
    assert torch.allclose(terminal_cost(model, z0, a, g), expected)
    # any leading dims: (B, S, ...)
    z0s, gs, a2 = z0[:, None].expand(3, 2, 4), g[:, None].expand(3, 2, 4), ref[:, None]
    assert terminal_cost(model, z0s, a2.expand(3, 2, T, 4), gs).shape == (3, 2)


def test_line_init_interpolates_between_start_and_goal():
    z0, g = torch.zeros(2, 3), torch.ones(2, 3) * 4
    s = line_init(z0, g, 4)
    assert s.shape == (2, 3, 3)
    assert torch.allclose(s[0, :, 0], torch.tensor([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("fused", [False, True])
def test_flat_adam_equals_torch_adam_with_two_param_groups(fused):
    g = gen(0)
    p1, p2 = torch.randn(3, 4, generator=g), torch.randn(5, generator=g)
    flat = torch.cat([p1.view(-1), p2])
    if fused and not FlatAdam(flat.clone(), 0.1).fused:
        pytest.skip("no fused Adam kernel on this build")
    opt_flat = FlatAdam(flat, [(12, 0.1), (5, 0.005)], fused=fused)
    q1, q2 = p1.clone().requires_grad_(), p2.clone().requires_grad_()
    opt = torch.optim.Adam([{"params": [q1], "lr": 0.1}, {"params": [q2], "lr": 0.005}])
    for _ in range(20):
        grads = torch.randn(17, generator=g) * 3
        opt_flat.step(grads)
        q1.grad, q2.grad = grads[:12].view(3, 4).clone(), grads[12:].clone()
        opt.step()
    torch.testing.assert_close(flat, torch.cat([q1.detach().view(-1), q2.detach()]))
    opt_flat.reset()
    assert opt_flat.k == 0 and not opt_flat.m.any()
    before = flat.clone()
    opt_flat.step(torch.randn(17, generator=g))  # a first step again: lr * sign(g)
    step = (before - flat).abs()
    torch.testing.assert_close(step, torch.tensor([0.1] * 12 + [0.005] * 5))


@pytest.mark.parametrize("fused", [False, True])
def test_flat_adam_with_one_rate_and_its_own_betas_and_eps_equals_torch_adam(fused):
    """One learning rate for the whole buffer (the float path), betas and eps all off their
    defaults and distinct (betas below 1/2, where 1 - b and 1 % b differ), over enough
    steps for the bias corrections to matter; the buffer may require grad, as
    torch.optim's parameters do."""
    g = gen(1)
    flat = torch.randn(9, generator=g)
    if fused and not FlatAdam(flat.clone(), 0.1).fused:
        pytest.skip("no fused Adam kernel on this build")
    q = flat.clone().requires_grad_()
    flat.requires_grad_(True)
    mine = FlatAdam(flat, 0.03, betas=(0.4, 0.3), eps=0.2, fused=fused)
    ref = torch.optim.Adam([q], lr=0.03, betas=(0.4, 0.3), eps=0.2)
    for _ in range(6):
        grads = torch.randn(9, generator=g)
        mine.step(grads)
        q.grad = grads.clone()
        ref.step()
        torch.testing.assert_close(flat.detach(), q.detach())
    with pytest.raises(ValueError, match="cover"):
        FlatAdam(torch.zeros(5), [(3, 0.1), (3, 0.1)])
    with pytest.raises(ValueError, match="cover"):
        FlatAdam(torch.zeros(5), [(3, 0.1), (1, 0.1)])


def test_flat_adam_uses_the_fused_kernel_on_the_cpu_and_falls_back_when_it_fails(
        monkeypatch):
    """torch >= 2.4 has a fused CPU Adam, and FlatAdam finds it (the speed the timing
    tables rest on); a build whose kernel raises gets the plain path, which still steps."""
    from grasp_bench.planners import adam

    monkeypatch.setattr(adam, "_FUSED_OK", {})
    for dtype in (torch.float32, torch.float64):
        assert FlatAdam(torch.zeros(3, dtype=dtype), 0.1).fused
    assert set(adam._FUSED_OK) == {("cpu", torch.float32), ("cpu", torch.float64)}

    def broken(*args, **kwargs):
        raise RuntimeError("no kernel")

    monkeypatch.setattr(adam, "_FUSED_OK", {})
    monkeypatch.setattr(torch, "_fused_adam_", broken)
    flat = torch.zeros(3)
    opt = FlatAdam(flat, 0.1)
    assert not opt.fused and adam._FUSED_OK == {("cpu", torch.float32): False}
    opt.step(torch.tensor([1.0, -2.0, 0.0]))
    torch.testing.assert_close(flat, torch.tensor([-0.1, 0.1, 0.0]))


def test_stopwatch_excludes_paused_time():
    sw = Stopwatch("cpu").start()
    time.sleep(0.02)
    with sw.paused():
        time.sleep(0.2)
    assert 0.02 <= sw.elapsed() < 0.15


def test_a_snapshot_period_must_be_a_whole_number_of_iterations():
    for bad in (2.5, -1, "3"):
        with pytest.raises(ValueError, match="snapshot_every must be an int >= 0"):
            SnapshotRecorder("cpu", bad)


def test_the_last_snapshot_is_not_taken_twice_past_the_small_ints():
    """The final plan is recorded unless the last snapshot already is it, compared by
    value: iteration 300 from the loop and 300 from the config are different objects."""
    rec = SnapshotRecorder("cpu", 300)
    for it in range(1, int("300") + 1):
        if rec.due(it):
            rec.record(it, torch.zeros(1, 2, 2))
    snaps, _ = rec.finish(int("300"), torch.zeros(1, 2, 2))
    assert [s[0] for s in snaps] == [300]


def test_a_planner_name_of_another_class_is_refused():
    from grasp_bench.planners.cem import CEMConfig
    from grasp_bench.planners.registry import register

    class Impostor:
        pass

    with pytest.raises(ValueError, match=r"planner name 'cem' is taken by "
                                         r"grasp_bench\.planners\.cem\.CEM$"):
        register("cem", CEMConfig)(Impostor)
    assert REGISTRY["cem"][1].__name__ == "CEM"


def test_snapshot_recorder_counts_and_excludes_callback_time():
    seen = []
    rec = SnapshotRecorder("cpu", 2, lambda it, t, a: (seen.append(it), time.sleep(0.1)))
    for it in range(1, 6):
        time.sleep(0.01)
        if rec.due(it):
            rec.record(it, torch.full((1, 2, 2), float(it)))
    snaps, elapsed = rec.finish(5, torch.full((1, 2, 2), 5.0))
    assert [s[0] for s in snaps] == [2, 4, 5] and seen == [2, 4, 5]
    assert 0.05 <= elapsed < 0.05 + 0.1  # three 0.1 s callbacks are not counted
    assert [s[1] for s in snaps] == sorted(s[1] for s in snaps)
    assert snaps[-1][2].device.type == "cpu" and torch.all(snaps[-1][2] == 5.0)


def test_plan_input_errors(model):
    z0, g, _ = make_problems(model, B=2)
    planner = make_planner("cem", FAST["cem"])
    with pytest.raises(ValueError, match="z0 and z_goal must both be"):
        planner.plan(model, z0, g[:1], T, generator=gen())
    with pytest.raises(ValueError, match="horizon must be a positive int"):
        planner.plan(model, z0, g, 0, generator=gen())
    with pytest.raises(ValueError, match="generator must be a torch.Generator"):
        planner.plan(model, z0, g, T, generator=0)
    meta = torch.zeros(2, 4, device="meta")  # a device other than the generator's
    with pytest.raises(ValueError, match="generator is on cpu but z0 on meta"):
        planner.plan(model, meta, meta, T, generator=gen())
    with pytest.raises(ValueError, match="z0 is on cpu but z_goal on meta"):
        planner.plan(model, z0, meta, T, generator=gen())
    with pytest.raises(ValueError, match=r"z0 and z_goal must both be \(B, D\)"):
        planner.plan(model, z0[..., None], g[..., None], T, generator=gen())
    with pytest.raises(ValueError, match="goal_weights must be finite"):
        planner.plan(model, z0, g, T, generator=gen(), goal_weights=torch.ones(3))


# ---------------------------------------------------------------------------------------
# The contract of every planner
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_actions_stay_inside_bounds_even_for_unreachable_goals(name, model):
    z0, _, _ = make_problems(model, B=3)
    far = z0 + 50.0  # needs |a| >> 1: every planner is pushed against the box
    overrides = dict(FAST[name], **({"lr_actions": 0.1} if name.startswith("grasp") else {}))
    result = run(name, overrides, model, z0, far, snapshot_every=3)
    assert isinstance(result, PlanResult)
    assert result.actions.shape == (3, T, model.action_dim)
    for _, _, a in result.snapshots:
        assert a.min() >= ACTION_LOW and a.max() <= ACTION_HIGH
    assert result.actions.min() >= ACTION_LOW and result.actions.max() <= ACTION_HIGH
    assert result.actions.abs().max() > 0.9  # it did push toward the boundary


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_plan_other_seed_other_plan(name, model):
    z0, g, _ = make_problems(model, B=2)
    a = run(name, FAST[name], model, z0, g, seed=1)
    b = run(name, FAST[name], model, z0, g, seed=1)
    c = run(name, FAST[name], model, z0, g, seed=2)
    assert torch.equal(a.actions, b.actions) and torch.equal(a.cost, b.cost)
    if name == "grasp-nonoise":  # GRASP without noise draws nothing: the seed cannot matter
        assert torch.equal(a.actions, c.actions)
    else:
        assert not torch.equal(a.actions, c.actions)


@pytest.mark.parametrize("name", ALL)
def test_global_rng_is_neither_used_nor_touched(name, model):
    z0, g, _ = make_problems(model, B=2)
    torch.manual_seed(123)
    a = run(name, FAST[name], model, z0, g, seed=1)
    after = torch.rand(1)
    torch.manual_seed(999)
    b = run(name, FAST[name], model, z0, g, seed=1)
    torch.manual_seed(123)
    assert torch.equal(a.actions, b.actions) and torch.equal(torch.rand(1), after)


@pytest.mark.parametrize("name", ALL)
def test_problems_do_not_leak_into_each_other(name, model):
    """With B fixed, each problem gets the same random draws whatever the other problems
    are, so changing problem 1 must not change problem 0's plan (a planner that shared
    elites, statistics or normalization across problems would fail)."""
    z0, g, _ = make_problems(model, B=2)
    g_other = g.clone()
    g_other[1] = -g[1]
    a = run(name, FAST[name], model, z0, g)
    b = run(name, FAST[name], model, z0, g_other)
    torch.testing.assert_close(a.actions[0], b.actions[0], rtol=0, atol=1e-6)
    assert not torch.allclose(a.actions[1], b.actions[1])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("every", [0, 1, 4, 7])
def test_snapshots_count_and_final(name, every, model):
    z0, g, _ = make_problems(model, B=2)
    calls = []
    result = run(name, FAST[name], model, z0, g, snapshot_every=every,
                 on_snapshot=lambda it, t, a: calls.append(it))
    n = result.iterations
    assert n == make_planner(name, FAST[name]).config.iterations
    expected = 1 if every == 0 else math.ceil(n / every)
    its = [s[0] for s in result.snapshots]
    assert len(its) == expected and calls == its and its[-1] == n
    assert its == sorted(its) and all(it % every == 0 for it in its[:-1] if every)
    times = [s[1] for s in result.snapshots]
    assert times == sorted(times) and result.elapsed_s == times[-1]
    assert torch.equal(result.snapshots[-1][2], result.actions.cpu())


def test_snapshot_callbacks_are_outside_the_timed_region(model):
    z0, g, _ = make_problems(model, B=2)
    result = run("cem", FAST["cem"], model, z0, g, snapshot_every=1,
                 on_snapshot=lambda *_: time.sleep(0.1))
    assert len(result.snapshots) == 5 and result.elapsed_s < 0.25


@pytest.mark.parametrize("name", ALL)
def test_horizon_one_and_float64(name):
    model = LinearModel(dtype=torch.float64)
    z0, g, _ = make_problems(model, B=2, horizon=1)
    z0, g = z0.double(), g.double()
    result = make_planner(name, FAST[name]).plan(
        model, z0, g, 1, generator=gen(), snapshot_every=2)
    assert result.actions.shape == (2, 1, 4) and result.actions.dtype == torch.float64
    assert torch.isfinite(result.cost).all()
