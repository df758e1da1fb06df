"""BallNav: walls hold, layouts, crossing test, shortest paths, task, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs import LAYOUTS, BallNavEnv, get_layout, shortest_path, straight_line_blocked
from envs import ballnav as B
from envs.geometry import segment_segment_distance
from envs.layouts import CONTACT_DISTANCE
from envs.paths import PATH_CLEARANCE, path_length


def _drive(
    env: BallNavEnv, start: tuple[float, float], action: tuple[float, float], steps: int
) -> np.ndarray:
    env.set_state([start[0], start[1], 0.0, 0.0])
    out = []
    for _ in range(steps):
        obs, *_ = env.step(np.array(action))
        out.append(obs)
    return np.array(out)


@pytest.mark.parametrize(
    ("layout", "start", "action", "axis", "limit"),
    [
        # (ball x/y must stay below/above a wall coordinate minus contact distance)
        ("open", (400.0, 256.0), (1.0, 0.0), 0, 506.0),  # east boundary
        ("open", (256.0, 100.0), (0.0, -1.0), 1, 5.0),  # north boundary
        ("wall_gap", (150.0, 200.0), (1.0, 0.0), 0, 256.0),
        ("wall_gap", (350.0, 200.0), (-1.0, 0.0), 0, 256.0),
        ("u_trap", (300.0, 256.0), (1.0, 0.0), 0, 400.0),  # into the cup's back wall
        ("u_trap", (300.0, 256.0), (1.0, 1.0), 1, 402.0),  # diagonally into a corner
        ("maze", (200.0, 60.0), (0.0, 1.0), 1, 130.0),
    ],
)
def test_ball_cannot_pass_through_walls(
    layout: str, start: tuple[float, float], action: tuple[float, float], axis: int, limit: float
) -> None:
    env = BallNavEnv(layout)
    traj = _drive(env, start, action, 150)
    side = np.sign(start[axis] - limit)
    gap = side * (traj[:, axis] - limit)  # distance of the centre from the wall line
    assert gap.min() > CONTACT_DISTANCE - B.PENETRATION_TOLERANCE
    assert gap[-1] == pytest.approx(CONTACT_DISTANCE, abs=0.5)  # resting against it
    assert np.abs(traj[-50:, 2:]).max() < 1e-6 or action[0] * action[1] != 0
    for s in traj:
        env.validate_state(s)  # every visited state is a valid state


def test_free_motion_uses_the_push_t_pd_law() -> None:
    env = BallNavEnv("open")
    traj = _drive(env, (100.0, 256.0), (1.0, 0.0), 6)
    # Same law as the Push-T agent (shifted by one sub-step): ~360 px/s steady speed.
    assert 20.0 < traj[0, 0] - 100.0 < 35.0
    assert traj[-1, 2] == pytest.approx(358.4, abs=1.0)
    assert np.abs(traj[:, 1] - 256.0).max() < 1e-9


def test_speed_is_capped() -> None:
    env = BallNavEnv("open")
    env.set_state([256.0, 256.0, 590.0, 0.0])
    for _ in range(5):
        obs, *_ = env.step(np.array([1.0, 1.0]))
        assert math.hypot(obs[2], obs[3]) <= B.MAX_SPEED + 1e-9


def test_layouts_and_default() -> None:
    assert {"open", "wall_gap", "u_trap", "maze"} <= set(LAYOUTS)
    assert BallNavEnv().layout.name == B.DEFAULT_LAYOUT == "maze"
    with pytest.raises(ValueError, match="unknown BallNav layout 'nope'; expected one of"):
        BallNavEnv("nope")
    assert get_layout(LAYOUTS["maze"]) is LAYOUTS["maze"]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_reset_samples_free_starts_and_goals(layout: str) -> None:
    env = BallNavEnv(layout)
    for seed in range(30):
        obs, info = env.reset(seed=seed)
        assert env.layout.is_free(obs[:2], CONTACT_DISTANCE + 1.0)
        assert env.layout.is_free(info["goal"], CONTACT_DISTANCE + 1.0)
        assert np.linalg.norm(info["goal"] - obs[:2]) >= 80.0
        assert np.all(obs[2:] == 0.0) and not info["is_success"]


def test_straight_line_blocked() -> None:
    # u_trap: from inside the cup to behind it is blocked, along the cup is free.
    assert straight_line_blocked("u_trap", [250.0, 256.0], [460.0, 256.0]) is True
    assert straight_line_blocked("u_trap", [250.0, 256.0], [60.0, 256.0]) is False
    assert straight_line_blocked("wall_gap", [150.0, 420.0], [350.0, 420.0]) is False  # gap
    assert straight_line_blocked("wall_gap", [150.0, 200.0], [350.0, 200.0]) is True
    # A line passing a wall end closer than the ball radius is blocked too.
    assert straight_line_blocked("wall_gap", [150.0, 380.0], [350.0, 380.0]) is True
    starts = np.array([[250.0, 256.0, 0.0, 0.0], [250.0, 256.0, 5.0, 5.0]])
    goals = np.array([[460.0, 256.0, 0.0, 0.0], [60.0, 256.0, 0.0, 0.0]])
    np.testing.assert_array_equal(straight_line_blocked("u_trap", starts, goals), [True, False])
    rng = np.random.default_rng(0)
    pts = LAYOUTS["open"].sample_free(rng, 100)
    assert not straight_line_blocked("open", pts[:50], pts[50:]).any()
    pts = LAYOUTS["maze"].sample_free(rng, 400)
    assert 0.4 < straight_line_blocked("maze", pts[:200], pts[200:]).mean() < 0.95


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_shortest_paths_avoid_walls(layout: str) -> None:
    lay = LAYOUTS[layout]
    rng = np.random.default_rng(1)
    pts = lay.sample_free(rng, 60)
    for s, g in zip(pts[:30], pts[30:], strict=True):
        path = shortest_path(lay, s, g)
        np.testing.assert_array_equal(path[0], s)
        np.testing.assert_array_equal(path[-1], g)
        legs = np.concatenate([path[:-1], path[1:]], axis=1)
        clearance = segment_segment_distance(legs, lay.segments).min(axis=1)
        assert clearance.min() >= CONTACT_DISTANCE - 1e-6
        assert clearance[1:-1].min(initial=np.inf) >= PATH_CLEARANCE - 1e-6
        euclid = float(np.linalg.norm(g - s))
        assert path_length(path) >= euclid - 1e-9
        if not lay.straight_line_blocked(s, g):
            assert len(path) == 2
    # Around the U: the path must leave the cup through its western opening.
    path = shortest_path("u_trap", [250.0, 256.0], [460.0, 256.0])
    assert path[:, 0].min() < 110.0 or path[:, 1].min() < 110.0 or path[:, 1].max() > 402.0


def test_shortest_path_rejects_points_in_walls() -> None:
    with pytest.raises(ValueError, match="not a free ball position"):
        shortest_path("wall_gap", [256.0, 200.0], [100.0, 100.0])


def test_success_distance_and_goal_options() -> None:
    env = BallNavEnv("open", success_radius=20.0)
    obs, info = env.reset(options={"state": [100.0, 100.0, 0.0, 0.0], "goal": [130.0, 100.0]})
    np.testing.assert_array_equal(info["goal"], [130.0, 100.0])
    assert info["distance"] == pytest.approx(30.0) and not info["is_success"]
    reached = False
    for _ in range(10):
        obs, reward, terminated, _, info = env.step(np.array([0.3, 0.0]))
        if terminated:
            reached = True
            assert reward == 1.0 and info["is_success"]
            break
    assert reached
    goal4 = np.array([130.0, 100.0, 99.0, 99.0])
    assert env.is_success(np.array([115.0, 100.0, 0.0, 0.0]), goal4) is True
    assert env.is_success(np.array([109.0, 100.0, 0.0, 0.0]), goal4[:2]) is False
    batch = np.array([[115.0, 100.0, 0.0, 0.0], [100.0, 100.0, 0.0, 0.0]])
    np.testing.assert_array_equal(env.is_success(batch, goal4), [True, False])
    np.testing.assert_allclose(env.goal_distance(batch, np.stack([goal4, goal4])), [15.0, 30.0])


def test_seeded_episodes_and_renders_are_deterministic() -> None:
    runs = []
    for _ in range(2):
        env = BallNavEnv("maze", render_mode="rgb_array", render_size=64)
        obs, info = env.reset(seed=7)
        rng = np.random.default_rng(0)
        states = [obs]
        for _ in range(40):
            obs, *_ = env.step(rng.uniform(-1, 1, 2))
            states.append(obs)
        runs.append((np.array(states), info["goal"], env.render()))
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert runs[0][2].shape == (64, 64, 3) and runs[0][2].dtype == np.uint8


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([256.0, 256.0, 0.0], r"state must have shape \(4,\)"),
        ([256.0, np.nan, 0.0, 0.0], "state must be finite"),
        ([256.0, 200.0, 0.0, 0.0], "overlaps a wall"),  # on the wall_gap wall
        ([-50.0, 200.0, 0.0, 0.0], "outside the arena"),
        ([100.0, 200.0, 900.0, 0.0], "speed must be at most"),
    ],
)
def test_set_state_rejects_bad_states(bad: list[float], match: str) -> None:
    env = BallNavEnv("wall_gap")
    with pytest.raises(ValueError, match=match):
        env.set_state(bad)


def test_bad_goal_option() -> None:
    env = BallNavEnv("wall_gap")
    with pytest.raises(ValueError, match="goal .* is not a free position"):
        env.reset(options={"goal": [256.0, 100.0]})
    with pytest.raises(ValueError, match=r"goal must have shape \(2,\) or \(4,\)"):
        env.reset(options={"goal": [1.0, 2.0, 3.0]})


def test_ctrl_c_inside_the_pymunk_callback_is_not_swallowed(monkeypatch):
    """cffi ignores exceptions raised in callbacks; a KeyboardInterrupt delivered while
    the ball's velocity_func runs must still stop the step (regression: a Ctrl-C during
    the simulator replay was swallowed and the run went on, exiting 0)."""
    import pytest

    from envs import make_env

    env = make_env("grasp_bench/BallNav-v0")
    env.reset(seed=0)

    def interrupted(body, dt):
        raise KeyboardInterrupt

    monkeypatch.setattr(env, "_pd_law", interrupted)
    with pytest.raises(KeyboardInterrupt):
        env.step([0.5, 0.5])
