"""Push-T: reference physics constants, task maths, control semantics, errors."""

from __future__ import annotations

import math

import numpy as np
import pymunk
import pytest
import shapely

from envs import PushTEnv
from envs import pusht as P

GOAL_STATE = np.array([100.0, 100.0, 256.0, 256.0, math.pi / 4, 0.0, 0.0])


@pytest.fixture
def env() -> PushTEnv:
    e = PushTEnv(render_mode="rgb_array")
    e.reset(seed=0)
    return e


def test_reference_constants(env: PushTEnv) -> None:
    assert P.BLOCK_MOMENT == pytest.approx(3000.0)
    assert env._block.moment == pytest.approx(3000.0)
    assert env._block.mass == 1.0
    assert tuple(env._block.center_of_gravity) == (0.0, 45.0)
    bar, stem = env._block.shapes if len(env._block.shapes) == 2 else (None, None)
    cogs = sorted(tuple(s.center_of_gravity) for s in (bar, stem))
    assert cogs == [(0.0, 15.0), (0.0, 75.0)]
    assert all(s.friction == 0.0 for s in env.space.shapes)
    assert env.space.damping == 0.0 and tuple(env.space.gravity) == (0.0, 0.0)
    assert env._agent.body_type == pymunk.Body.KINEMATIC
    walls = [s for s in env.space.shapes if isinstance(s, pymunk.Segment)]
    assert sorted((tuple(w.a), tuple(w.b), w.radius) for w in walls) == sorted(
        ((x0, y0), (x1, y1), 2.0) for x0, y0, x1, y1 in P.WALLS
    )


def test_block_at_goal_pose_covers_it_and_terminates(env: PushTEnv) -> None:
    obs, info = env.reset(options={"state": GOAL_STATE})
    assert info["coverage"] == pytest.approx(1.0, abs=1e-9)
    assert info["is_success"]
    _, reward, terminated, truncated, info = env.step(np.zeros(2))
    assert reward == 1.0 and terminated and not truncated
    assert env.is_success(obs, GOAL_STATE)
    assert env.goal_distance(obs, GOAL_STATE) == pytest.approx(0.0)


def test_coverage_matches_shapely_reference_formula() -> None:
    """Our single-polygon coverage equals the reference's MultiPolygon intersection."""
    rng = np.random.default_rng(3)
    states = np.zeros((200, 7))
    states[:, 2:4] = rng.uniform(100, 400, (200, 2))
    states[:, 4] = rng.uniform(0, 2 * np.pi, 200)
    states[:50, 2:5] = P.GOAL_POSE + rng.normal(0, [8, 8, 0.1], (50, 3))

    def parts(pose: np.ndarray) -> shapely.MultiPolygon:
        return shapely.MultiPolygon(
            [shapely.Polygon(P.render.pose_points(p, *pose)) for p in P.T_PARTS]
        )

    goal = parts(P.GOAL_POSE)
    expected = [goal.intersection(parts(s[2:5])).area / goal.area for s in states]
    np.testing.assert_allclose(P.coverage(states), expected, atol=1e-9)
    assert np.mean(np.array(expected) > 0) > 0.3  # the test covers overlapping poses


def test_success_and_distance_single_and_batch() -> None:
    goal = GOAL_STATE
    near = goal + np.array([10.0, 0.0, 0.0, 10.0, 0.3, 50.0, 50.0])  # 14.1 px, 0.3 rad
    far = goal + np.array([15.0, 0.0, 0.0, 15.0, 0.0, 0.0, 0.0])  # 21.2 px
    rotated = goal + np.array([0.0, 0.0, 0.0, 0.0, math.pi / 9 + 0.01, 0.0, 0.0])
    assert P.is_success(near, goal) is True
    assert P.is_success(far, goal) is False
    assert P.is_success(rotated, goal) is False
    assert P.goal_distance(far, goal) == pytest.approx(math.hypot(15, 15))
    wrapped = goal.copy()
    wrapped[4], goal2 = 0.05, goal.copy()
    goal2[4] = 2 * math.pi - 0.05
    assert P.is_success(wrapped, goal2)  # wrapped angle error 0.1 rad
    batch = np.stack([near, far, rotated])
    np.testing.assert_array_equal(P.is_success(batch, goal), [True, False, False])
    np.testing.assert_array_equal(P.is_success(batch, batch), [True, True, True])
    assert P.goal_distance(batch, goal).shape == (3,)
    with pytest.raises(ValueError, match=r"shape \(7,\) or \(N, 7\)"):
        P.is_success(np.zeros(5), goal)


def _pd_reference(
    p: np.ndarray, v: np.ndarray, action: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The relative-target PD law, integrated as the reference does (numpy, no pymunk)."""
    target = p + 100.0 * np.clip(action, -1, 1)
    for _ in range(10):
        v = v + (100.0 * (target - p) + 20.0 * (0.0 - v)) * 0.01
        p = p + v * 0.01
    return p, v


def test_relative_action_moves_agent_towards_target(env: PushTEnv) -> None:
    start = np.array([256.0, 100.0, 256.0, 400.0, 0.0, 0.0, 0.0])  # block far away
    env.set_state(start)
    p, v = start[:2], start[5:]
    for action in ([0.5, -0.25], [0.5, -0.25], [-1.0, 0.3], [7.0, -3.0]):
        obs, *_ = env.step(np.array(action))
        p, v = _pd_reference(p, v, np.array(action))
        np.testing.assert_allclose(obs[:2], p, atol=1e-9)
        np.testing.assert_allclose(obs[5:], v, atol=1e-9)
    # From rest, one step covers ~26 % of the way to the target, along the action.
    env.set_state(start)
    obs, *_ = env.step(np.array([0.6, 0.8]))
    moved = obs[:2] - start[:2]
    assert moved[0] * 0.8 - moved[1] * 0.6 == pytest.approx(0.0, abs=1e-9)  # parallel
    assert 20.0 < np.linalg.norm(moved) < 35.0
    # Actions aimed at a target converge to it.
    target = np.array([300.0, 150.0])
    for _ in range(30):
        obs, *_ = env.step(np.clip((target - obs[:2]) / 100.0, -1, 1))
    assert np.linalg.norm(obs[:2] - target) < 1.0


def test_agent_passes_through_walls_block_does_not(env: PushTEnv) -> None:
    env.set_state([40.0, 256.0, 256.0, 256.0, 0.0, 0.0, 0.0])
    for _ in range(5):
        obs, *_ = env.step(np.array([-1.0, 0.0]))
    assert obs[0] < 0.0  # the kinematic agent ignores the static walls
    # Push the block (bar down, stem up) into the bottom wall at y=506.
    env.set_state([256.0, 250.0, 256.0, 480.0, math.pi, 0.0, 0.0])
    for _ in range(40):
        obs, *_ = env.step(np.array([0.0, 1.0]))
    assert obs[3] <= 506.0 - 2.0 + 0.5  # the bar's edge (body origin) stays inside the wall


def test_set_get_state_round_trip(env: PushTEnv) -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        s = np.concatenate(
            [rng.uniform(0, 512, 4), [rng.uniform(0, 2 * np.pi)], rng.uniform(-300, 300, 2)]
        )
        env.set_state(s)
        np.testing.assert_allclose(env.get_state(), s, rtol=0, atol=1e-9)
    env.set_state([1.0, 2.0, 300.0, 300.0, 7.0, 0.0, 0.0])  # angles are wrapped
    assert env.get_state()[4] == pytest.approx(7.0 - 2 * math.pi)


def test_seeded_reset_steps_and_renders_are_deterministic() -> None:
    runs = []
    for _ in range(2):
        env = PushTEnv(render_mode="rgb_array", render_size=96)
        obs, _ = env.reset(seed=42)
        rng = np.random.default_rng(0)
        out = [obs]
        frames = [env.render()]
        for _ in range(30):
            obs, *_ = env.step(rng.uniform(-1, 1, 2))
            out.append(obs)
        frames.append(env.render())
        runs.append((np.array(out), np.array(frames)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][1].shape == (2, 96, 96, 3) and runs[0][1].dtype == np.uint8
    assert not np.array_equal(PushTEnv().reset(seed=43)[0], runs[0][0][0])


def test_reset_distribution(env: PushTEnv) -> None:
    states = np.array([env.reset(seed=i)[0] for i in range(300)])
    assert states[:, :2].min() >= 50 and states[:, :2].max() < 450
    assert states[:, 2:4].min() >= 100 and states[:, 2:4].max() < 400
    assert states[:, 4].min() >= 0 and states[:, 4].max() < 2 * np.pi
    assert np.all(states[:, 5:] == 0.0)
    assert states[:, 4].std() > 1.5  # spread over the whole circle


def test_render_shows_goal_and_bodies(env: PushTEnv) -> None:
    env.reset(options={"state": [60.0, 60.0, 400.0, 400.0, 0.0, 0.0, 0.0]})
    img = env.render()
    assert img.shape == (224, 224, 3) and img.dtype == np.uint8
    g = (224 / 512 * np.array([256, 256])).astype(int)  # goal T origin region
    light_green = np.array([144, 238, 144])
    assert (np.abs(img.reshape(-1, 3) - light_green).sum(axis=1) == 0).sum() > 500
    assert img[g[1] + 8, g[0]].tolist() != [255, 255, 255]


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros(6), r"state must have shape \(7,\), got shape \(6,\)"),
        ([1, 2, 3, 4, np.nan, 0, 0], "state must be finite"),
        (["a"] * 7, "state must be a real-valued array"),
        ([1e6, 0, 0, 0, 0, 0, 0], "out of bounds"),
    ],
)
def test_set_state_rejects_bad_input(env: PushTEnv, bad: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        env.set_state(bad)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros(3), r"action must be a real-valued array of shape \(2,\)"),
        ("up", "action must be a real-valued array"),
        ([np.inf, 0.0], "action must be finite"),
        (np.array([True, False]), "action must be a real-valued array"),
    ],
)
def test_step_rejects_bad_actions_and_clips_out_of_range(
    env: PushTEnv, bad: object, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        env.step(bad)
    s = env.get_state()
    big, *_ = env.step([5.0, -9.0])
    env.set_state(s)
    clipped, *_ = env.step([1.0, -1.0])
    np.testing.assert_array_equal(big, clipped)


def test_reset_rejects_unknown_options(env: PushTEnv) -> None:
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"goal": GOAL_STATE})
