"""Scripted policies: they do their job, stay in bounds, are seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs import BallNavEnv, BallNavFollower, PushTEnv, PushTPusher, RandomPolicy, make_policy


def _run(env, policy, seed: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    state, _ = env.reset(seed=seed)
    policy.reset(state, rng)
    states, actions = [state], []
    for _ in range(steps):
        actions.append(policy.act(state))
        state, *_ = env.step(actions[-1])
        states.append(state)
    return np.array(states), np.array(actions)


def test_pusher_moves_the_block_most_of_the_time() -> None:
    env = PushTEnv()
    moved = total = 0
    directions = []
    for seed in range(6):
        states, actions = _run(env, PushTPusher(), seed, 150)
        assert np.abs(actions).max() <= 1.0
        dpos = np.linalg.norm(np.diff(states[:, 2:4], axis=0), axis=1)
        dang = np.abs((np.diff(states[:, 4]) + np.pi) % (2 * np.pi) - np.pi)
        step_moved = (dpos > 0.5) | (dang > 0.01)
        moved += step_moved.sum()
        total += len(step_moved)
        d = np.diff(states[:, 2:4], axis=0)[dpos > 5.0]
        directions.extend(np.arctan2(d[:, 1], d[:, 0]))
    assert moved / total > 0.6
    # pushes go in varied directions: all four quadrants of the compass
    quadrants = {int((a + math.pi) // (math.pi / 2)) % 4 for a in directions}
    assert quadrants == {0, 1, 2, 3}


def test_follower_reaches_its_targets_around_walls() -> None:
    for layout in ("maze", "u_trap"):
        env = BallNavEnv(layout)
        pol = BallNavFollower(layout, noise_std=0.05, epsilon=0.02)
        states, actions = _run(env, pol, 0, 200)
        assert pol.targets_reached >= 5
        assert np.abs(actions).max() <= 1.0
        for s in states:
            env.validate_state(s)


def test_follower_without_noise_reaches_a_blocked_target() -> None:
    env = BallNavEnv("u_trap")
    pol = BallNavFollower("u_trap", noise_std=0.0, epsilon=0.0)
    state, _ = env.reset(options={"state": [250.0, 256.0, 0.0, 0.0]})
    pol.reset(state, np.random.default_rng(0))
    pol.set_target([460.0, 256.0], state)  # behind the cup: straight line blocked
    for _ in range(80):
        state, *_ = env.step(pol.act(state))
        if pol.targets_reached:
            break
    assert pol.targets_reached == 1


@pytest.mark.parametrize("make", [PushTPusher, lambda: BallNavFollower("maze"), RandomPolicy])
def test_policies_are_seeded(make) -> None:
    env = PushTEnv() if make is PushTPusher else BallNavEnv("maze")
    a = _run(env, make(), 5, 40)[1]
    b = _run(env, make(), 5, 40)[1]
    c = _run(env, make(), 6, 40)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_noise_and_epsilon() -> None:
    env = PushTEnv()
    quiet = _run(env, PushTPusher(noise_std=0.0, epsilon=0.0), 1, 60)[1]
    wild = _run(env, PushTPusher(noise_std=0.0, epsilon=1.0), 1, 60)[1]
    assert np.abs(wild).mean() > 0.4 and np.std(wild) > 0.45  # uniform in [-1, 1]
    assert not np.array_equal(quiet, wild)


def test_policy_argument_errors() -> None:
    with pytest.raises(ValueError, match="epsilon must be a number in"):
        PushTPusher(epsilon=2.0)
    with pytest.raises(ValueError, match="noise_std must be a number >= 0"):
        BallNavFollower(noise_std=-1.0)
    with pytest.raises(ValueError, match="unknown BallNav layout"):
        BallNavFollower("nope")
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        PushTPusher().reset(np.zeros(7), 0)
    with pytest.raises(RuntimeError, match="reset"):
        PushTPusher().act(np.zeros(7))


def test_make_policy() -> None:
    assert isinstance(make_policy(PushTEnv()), PushTPusher)
    follower = make_policy(BallNavEnv("wall_gap"))
    assert isinstance(follower, BallNavFollower) and follower.layout.name == "wall_gap"
    with pytest.raises(ValueError, match="no scripted policy"):
        make_policy("CartPole-v1")
