import numpy as np

from grasp_bench.bench import judge
from grasp_bench.problems import generate, load_or_generate
from grasp_bench.seeds import EVALUATION
from grasp_bench.tasks import get_task


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
