import dataclasses

import numpy as np
import pytest

from grasp_bench.errors import UserError
from grasp_bench.judging import judge
from grasp_bench.problems import (
    displacement_quantiles,
    generate,
    load_or_generate,
    open_loop_sensitivity,
    problem_stats,
)
from grasp_bench.seeds import EVALUATION, SPLITS, TUNING
from grasp_bench.tasks import PUSHT, ballnav, get_task


def test_problems_are_feasible_deterministic_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path))
    task = get_task("pusht")
    ps = load_or_generate(task, 10, 4)
    assert ps.starts.shape == (4, 7) and ps.actions.shape == (4, 10, 2)
    assert all(s in EVALUATION for s in ps.seeds)
    # the reference actions reach the goal in the simulator
    success, dist = judge(task, ps.starts, ps.goals, ps.actions.astype(float))
    assert success.all() and np.allclose(dist, 0)
    again = load_or_generate(task, 10, 4)  # from the cache
    np.testing.assert_array_equal(again.goals, ps.goals)
    assert list(tmp_path.rglob("*.npz"))
    fresh = generate(task, 10, 4)
    np.testing.assert_array_equal(fresh.goals, ps.goals)


def test_already_solved_starts_are_rejected_and_counted():
    # at H = 1 many Push-T starts are still within 20 px of their goal
    ps = generate(get_task("pusht"), 1, 5)
    env = get_task("pusht").make_env()
    assert not any(env.is_success(s, g) for s, g in zip(ps.starts, ps.goals, strict=True))
    assert ps.rejected > 0
    assert ps.seeds[-1] - EVALUATION.start + 1 == 5 + ps.rejected


def test_ballnav_reports_blocked_straight_lines():
    ps = generate(get_task("ballnav", "maze"), 40, 6)
    assert ps.crossing_fraction is not None and 0.0 <= ps.crossing_fraction <= 1.0


@pytest.fixture(scope="module", params=["pusht", "ballnav"])
def task_and_problems(request):
    task = PUSHT if request.param == "pusht" else ballnav()
    return task, generate(task, 15, 6, split="tuning")


def test_displacement_quantiles_are_ordered_and_angles_wrapped(task_and_problems):
    task, ps = task_and_problems
    disp = displacement_quantiles(task, ps)
    assert set(disp) == set(task.metrics)
    for name, q in disp.items():
        assert list(q) == ["q10", "q50", "q90"]
        assert 0.0 <= q["q10"] <= q["q50"] <= q["q90"]
        if task.metrics[name][0] in task.angle_indices:
            assert q["q90"] <= np.pi


def test_displacement_wraps_angles_across_pi():
    ps = generate(PUSHT, 5, 3, split="tuning")
    starts, goals = ps.starts.copy(), ps.goals.copy()
    starts[:, 4], goals[:, 4] = np.pi - 0.1, -np.pi + 0.1  # 0.2 rad apart, not 2 pi - 0.2
    wrapped = type(ps)(ps.task, ps.horizon, ps.seeds, starts, goals, ps.actions,
                       ps.rejected, ps.crossing_fraction)
    q = displacement_quantiles(PUSHT, wrapped, qs=(0.5,))["block_angle_rad"]
    assert q == {"q50": pytest.approx(0.2)}


def test_exact_and_zero_shift_replays_succeed(task_and_problems):
    task, ps = task_and_problems
    sens = open_loop_sensitivity(task, ps, shifts=(0.0,))
    assert sens == {"replay_exact": 1.0, "shift_0px": 1.0, "skipped": 0, "seed": 0}


def test_sensitivity_is_deterministic_under_a_seed(task_and_problems):
    task, ps = task_and_problems
    first = open_loop_sensitivity(task, ps, shifts=(0.5, 2.0), seed=3)
    assert set(first) == {"replay_exact", "shift_0.5px", "shift_2px", "skipped", "seed"}
    assert all(0.0 <= first[k] <= 1.0 for k in ("shift_0.5px", "shift_2px"))
    assert open_loop_sensitivity(task, ps, shifts=(0.5, 2.0), seed=3) == first


def test_huge_shift_breaks_ballnav_plans():
    task = ballnav()
    ps = generate(task, 15, 6, split="tuning")
    sens = open_loop_sensitivity(task, ps, shifts=(200.0,))
    assert sens["shift_200px"] < sens["replay_exact"] == 1.0


def test_rejected_perturbations_are_skipped_and_left_unperturbed(task_and_problems):
    task, ps = task_and_problems
    # every direction leaves the arena (BallNav) or the position bound (Push-T)
    sens = open_loop_sensitivity(task, ps, shifts=(1e6,))
    assert sens["skipped"] == len(ps) and sens["shift_1000000px"] == 1.0


def test_problem_stats_extends_the_set_stats(task_and_problems):
    task, ps = task_and_problems
    stats = problem_stats(task, ps, sensitivity=False)
    assert stats.items() >= ps.stats().items()
    assert set(stats) == set(ps.stats()) | {"displacement"}
    assert problem_stats(task, ps)["open_loop_sensitivity"]["replay_exact"] == 1.0


def test_demo_problems_replay_exactly_to_their_goals():
    """A demo problem's goal is the replay of its segment's own actions from its start."""
    from envs import replay

    ps = generate(PUSHT, 40, 5, source="demo")
    assert ps.source == "demo" and ps.actions.shape == (5, 40, 2)
    env = PUSHT.make_env()
    finals = replay(env, ps.starts, ps.actions)[:, -1]
    np.testing.assert_array_equal(finals, ps.goals)  # bit for bit
    assert not env.is_success(ps.starts, ps.goals).any()


def test_demo_problems_are_segments_of_the_seeds_demonstration():
    from grasp_bench.problems import demonstration

    ps = generate(PUSHT, 20, 3, source="demo", split="tuning")
    env = PUSHT.make_env()
    for seed, start, acts in zip(ps.seeds, ps.starts, ps.actions, strict=True):
        states, actions = demonstration(PUSHT, env, int(seed))
        off = int(np.flatnonzero((states == start).all(axis=1))[0])  # the segment's start
        np.testing.assert_array_equal(actions[off:off + 20], acts)


def test_replay_problems_are_segments_of_the_seeds_noisy_replay():
    """A replay problem is cut from its seed's demonstration replayed with action noise
    of std replay_noise[seed % 2], and its goal is its own actions replayed, bit for bit."""
    from envs import replay
    from grasp_bench.problems import demonstration, noisy_replay

    ps = generate(PUSHT, 20, 4, source="replay", split="tuning")
    assert ps.source == "replay" and ps.actions.shape == (4, 20, 2)
    env = PUSHT.make_env()
    np.testing.assert_array_equal(replay(env, ps.starts, ps.actions)[:, -1], ps.goals)
    for seed, start, acts, past in zip(ps.seeds, ps.starts, ps.actions, ps.past, strict=True):
        states, noisy = noisy_replay(PUSHT, env, int(seed))
        off = int(np.flatnonzero((states == start).all(axis=1))[0])
        np.testing.assert_array_equal(noisy[off:off + 20], acts)
        held = np.maximum(np.arange(off - len(past), off), 0)  # the first state, held
        np.testing.assert_array_equal(past, states[held])
        _, clean = demonstration(PUSHT, env, int(seed))
        level = PUSHT.replay_noise[int(seed) % len(PUSHT.replay_noise)]
        diff = (noisy - clean)[np.abs(noisy).max(1) < 1]  # rows the box did not clip
        assert 0.8 * level < diff.std() < 1.2 * level


def test_replay_noise_levels_are_training_levels_that_keep_dino_wms_action_std():
    """Demonstrations at DINO-WM's action std (0.2019) plus the replay noise stay within
    10 % of it, pooled over the levels; each level is one the models were trained on."""
    from grasp_bench.models.recipes import PUSHT_NOISE

    assert set(PUSHT.replay_noise) <= set(PUSHT_NOISE) and len(set(PUSHT.replay_noise)) > 1
    pooled = np.sqrt(0.2019**2 + np.mean(np.square(PUSHT.replay_noise)))
    assert pooled < 1.1 * 0.2019


def test_replay_and_demo_problems_are_cached_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path))
    demo = load_or_generate(PUSHT, 20, 3, source="demo")
    noisy = load_or_generate(PUSHT, 20, 3, source="replay")
    assert len(list(tmp_path.rglob("*.npz"))) == 2
    assert not np.array_equal(demo.actions, noisy.actions)
    assert load_or_generate(PUSHT, 20, 3, source="replay").source == "replay"
    louder = dataclasses.replace(PUSHT, replay_noise=(0.2,))  # the levels are in the key
    assert not np.array_equal(load_or_generate(louder, 20, 3, source="replay").actions,
                              noisy.actions)
    assert len(list(tmp_path.rglob("*.npz"))) == 3


@pytest.mark.parametrize("source", ["demo", "replay", "behaviour"])
def test_sources_draw_seeds_of_the_right_split_only(source):
    evaluation = generate(PUSHT, 30, 4, source=source)
    tuning = generate(PUSHT, 30, 4, source=source, split="tuning")
    assert all(s in EVALUATION for s in evaluation.seeds)
    assert all(s in TUNING for s in tuning.seeds)
    assert not set(evaluation.seeds) & set(tuning.seeds)
    for name, split in SPLITS.items():
        if name not in ("evaluation", "tuning"):
            assert not any(s in split for s in [*evaluation.seeds, *tuning.seeds])


def test_demo_problems_move_the_block_less_than_random_pushes():
    """The reason demo problems exist: DINO-WM's segments move the T far less."""
    demo = displacement_quantiles(PUSHT, generate(PUSHT, 40, 30, source="demo"))
    push = displacement_quantiles(PUSHT, generate(PUSHT, 40, 30, source="behaviour"))
    assert demo["block_pos_px"]["q50"] < 0.75 * push["block_pos_px"]["q50"]


def test_some_noisy_replays_leave_the_block_where_it_was():
    """Why replay problems are easier than demo ones: a noisy replay can miss the T."""
    replay = displacement_quantiles(PUSHT, generate(PUSHT, 40, 50, source="replay"))
    demo = displacement_quantiles(PUSHT, generate(PUSHT, 40, 50, source="demo"))
    assert replay["block_pos_px"]["q10"] < 1.0 < 5.0 < demo["block_pos_px"]["q10"]


def test_demo_problem_source_checks():
    from grasp_bench.problems import resolve_source

    assert resolve_source(PUSHT, None) == "replay"  # DINO-WM's validation split's kind
    assert resolve_source(ballnav(), None) == "behaviour"
    for source in ("demo", "replay"):
        with pytest.raises(UserError, match="problem source"):
            resolve_source(ballnav(), source)
    with pytest.raises(UserError, match="within 300 env steps"):
        generate(PUSHT, 400, 2, source="replay")
    with pytest.raises(UserError, match="within 300 env steps"):
        generate(PUSHT, 400, 2, source="demo")
    with pytest.raises(UserError, match="shorter than H"):  # few demonstrations last 290 steps
        generate(PUSHT, 290, 2, source="demo")
