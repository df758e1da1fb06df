"""replay(): equals stepping by hand, history-free, parallel-safe, validates input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from envs import BALLNAV_ID, PUSHT_ID, BallNavEnv, PushTEnv, make_policy, replay


def _problems(env, n: int, horizon: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Start states and scripted (contact-rich) action sequences."""
    rng = np.random.default_rng(seed)
    starts, actions = [], []
    for i in range(n):
        state, _ = env.reset(seed=seed + i)
        pol = make_policy(env)
        pol.reset(state, rng)
        starts.append(state)
        row = []
        for _ in range(horizon):
            row.append(pol.act(state))
            state, *_ = env.step(row[-1])
        actions.append(row)
    return np.array(starts), np.array(actions)


@pytest.mark.parametrize("env_cls", [PushTEnv, lambda: BallNavEnv("maze")])
def test_replay_equals_stepping_by_hand(env_cls) -> None:
    env = env_cls()
    starts, actions = _problems(env, 4, 25)
    states = replay(env, starts, actions)
    assert states.shape == (4, 26, env.state_dim)
    for i in range(4):
        fresh = env_cls()
        obs, _ = fresh.reset(options={"state": starts[i]})
        expected = [obs]
        for a in actions[i]:
            obs, *_ = fresh.step(a)
            expected.append(obs)
        np.testing.assert_array_equal(states[i], np.array(expected))


def test_replay_rows_are_independent_of_order_and_history() -> None:
    env = PushTEnv()
    starts, actions = _problems(env, 5, 20, seed=3)
    forward = replay(env, starts, actions)
    backward = replay(env, starts[::-1], actions[::-1])[::-1]
    np.testing.assert_array_equal(forward, backward)
    by_id = replay(PUSHT_ID, starts, actions)
    np.testing.assert_array_equal(forward, by_id)


@pytest.mark.parametrize("env", [PushTEnv(markov=True), BallNavEnv("maze")])
def test_markov_replay_from_mid_trajectory_reproduces_the_rest(env) -> None:
    starts, actions = _problems(env, 4, 30, seed=4)
    full = replay(env, starts, actions)
    tail = replay(env, full[:, 12], actions[:, 12:])
    np.testing.assert_array_equal(tail, full[:, 12:])


def test_reference_mode_keeps_contact_warm_start() -> None:
    """Push-T's default: replaying from mid-trajectory differs (hidden solver state)."""
    env = PushTEnv()
    starts, actions = _problems(env, 6, 30, seed=4)
    full = replay(env, starts, actions)
    tail = replay(env, full[:, 12], actions[:, 12:])
    np.testing.assert_array_equal(tail[:, 0], full[:, 12])
    assert np.abs(tail - full[:, 12:]).max() > 1e-6


def test_replay_with_workers_matches_single_process() -> None:
    starts, actions = _problems(BallNavEnv("u_trap"), 4, 10)
    one = replay(BALLNAV_ID, starts, actions, layout="u_trap")
    two = replay(BALLNAV_ID, starts, actions, layout="u_trap", workers=2)
    np.testing.assert_array_equal(one, two)


def test_replay_accepts_wrapped_envs_and_clips_actions() -> None:
    env = gym.make(PUSHT_ID)
    start = np.array([[200.0, 200.0, 300.0, 300.0, 0.5, 0.0, 0.0]])
    big = replay(env, start, np.full((1, 5, 2), 3.0))
    unit = replay(env, start, np.ones((1, 5, 2)))
    np.testing.assert_array_equal(big, unit)
    assert replay(env, start, np.zeros((1, 0, 2))).shape == (1, 1, 7)


@pytest.mark.parametrize(
    ("starts", "actions", "kwargs", "match"),
    [
        (np.zeros((2, 7)), np.zeros((3, 4, 2)), {}, r"actions must have shape \(2, \*, 2\)"),
        (np.zeros((2, 7)), np.zeros((2, 4, 3)), {}, r"actions must have shape \(2, \*, 2\)"),
        (np.zeros((2, 7)), np.full((2, 4, 2), "a"), {}, "actions must be a real-valued array"),
        (np.zeros((2, 7)), np.full((2, 4, 2), np.nan), {}, "actions must be finite"),
        (np.zeros((2, 5)), np.zeros((2, 4, 2)), {}, r"starts must have shape \(\*, 7\)"),
        (np.full((2, 7), 1e9), np.zeros((2, 4, 2)), {}, r"starts\[0\]: Push-T state out of bounds"),
        (np.zeros((2, 7)), np.zeros((2, 4, 2)), {"workers": 0}, "workers must be an integer"),
    ],
)
def test_replay_rejects_bad_input(starts, actions, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        replay(PUSHT_ID, starts, actions, **kwargs)


def test_replay_rejects_bad_env_arguments() -> None:
    with pytest.raises(ValueError, match="unknown env id"):
        replay("grasp_bench/Nope-v0", np.zeros((1, 7)), np.zeros((1, 1, 2)))
    with pytest.raises(ValueError, match="unknown BallNav layout"):
        replay(BALLNAV_ID, np.zeros((1, 4)), np.zeros((1, 1, 2)), layout="spiral")
    with pytest.raises(ValueError, match="only accepted with an env id"):
        replay(PushTEnv(), np.zeros((1, 7)), np.zeros((1, 1, 2)), layout="maze")


def test_advance_continues_the_simulation_exactly_like_one_rollout():
    """Closed loop executes segments with advance(): split anywhere, the states are the
    open-loop rollout's, bit for bit (the solver's warm start carries over)."""
    import numpy as np

    from envs import make_env
    from grasp_bench.problems import generate
    from grasp_bench.tasks import PUSHT

    ps = generate(PUSHT, 30, 3, split="tuning")
    env = make_env(PUSHT.env_id)
    for start, actions in zip(ps.starts, ps.actions, strict=True):
        whole = env.rollout(start, actions)
        env.set_state(start)
        parts = np.concatenate([env.advance(actions[:7]), env.advance(actions[7:])])
        np.testing.assert_array_equal(parts, whole[1:])
