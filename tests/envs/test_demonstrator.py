"""Push-T demonstrator: pushes the T onto the target pose, seeded, stops when done."""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs import PushTDemonstrator, PushTEnv
from envs.bench import wilson_interval
from envs.policies import demonstrate
from envs.pusht import GOAL_POSE, SUCCESS_COVERAGE, coverage


def _error(policy: PushTDemonstrator, state: np.ndarray) -> float:
    return float(np.linalg.norm(policy.pose_error(state)))


def test_demonstrator_makes_progress_on_seeded_episodes() -> None:
    env = PushTEnv()
    ref = PushTDemonstrator()
    falls = rises = successes = 0
    for seed in range(5):
        states, actions, ok = demonstrate(env, seed)
        assert states.shape == (len(actions) + 1, 7) and actions.shape[1:] == (2,)
        assert np.abs(actions).max() <= 1.0
        falls += _error(ref, states[-1]) < 0.2 * _error(ref, states[0])
        rises += coverage(states[-1]) > coverage(states[0]) + 0.3
        successes += ok
        if ok:
            assert coverage(states[-1]) > SUCCESS_COVERAGE and len(actions) < 300
            assert coverage(states[-2]) <= SUCCESS_COVERAGE  # stopped at the first success
    assert falls >= 4 and rises >= 4 and successes >= 4


def test_error_falls_steadily_along_an_episode() -> None:
    ref = PushTDemonstrator()
    for seed in (7, 8, 9):
        states, _, _ = demonstrate(PushTEnv(), seed)
        err = np.array([_error(ref, s) for s in states])
        means = [q.mean() for q in np.array_split(err, 4)]
        # never rises (1 px) from one quarter to the next (the first may be all walking)
        assert all(b <= a + 1.0 for a, b in zip(means, means[1:], strict=False)), (seed, means)
        assert means[-1] < 0.5 * means[0]


def test_reaches_a_non_default_target_pose() -> None:
    target = (150.0, 340.0, 0.3)
    states, actions, ok = demonstrate(PushTEnv(), 2, target_pose=target)
    assert ok and coverage(states[-1], target) > SUCCESS_COVERAGE
    assert coverage(states[-1], GOAL_POSE) < 0.5  # not the env's goal


def test_demonstrator_is_seeded() -> None:
    env = PushTEnv()
    s1, a1, _ = demonstrate(env, 3, max_steps=60)
    s2, a2, _ = demonstrate(env, 3, max_steps=60)
    _, a3, _ = demonstrate(env, 4, max_steps=60)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(s1, s2)
    assert not np.array_equal(a1[: len(a3)], a3[: len(a1)])


def test_done_holds_still_without_noise() -> None:
    env = PushTEnv()
    pol = PushTDemonstrator(noise_std=0.0, epsilon=0.0)
    state, _ = env.reset(seed=1)
    pol.reset(state, np.random.default_rng(1))
    for _ in range(300):
        action = pol.act(state)
        if pol.done:
            break
        assert pol.phase in ("approach", "push") and np.abs(action).max() <= 1.0
        state, *_ = env.step(action)
    assert pol.done and pol.phase == "done"
    np.testing.assert_array_equal(action, np.zeros(2))
    for _ in range(3):  # holding position keeps it done
        state, *_ = env.step(action)
        action = pol.act(state)
        assert pol.done
        np.testing.assert_array_equal(action, np.zeros(2))
    # a block already on the target: done at once
    on_goal = np.array([100.0, 100.0, *GOAL_POSE, 0.0, 0.0])
    pol.reset(on_goal, np.random.default_rng(0))
    np.testing.assert_array_equal(pol.act(on_goal), np.zeros(2))
    assert pol.done
    states, actions, ok = demonstrate(env, 0, max_steps=1)
    assert states.shape == (2, 7) and actions.shape == (1, 2) and not ok


def test_demonstrator_argument_errors() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        PushTDemonstrator().act(np.zeros(7))
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        PushTDemonstrator().reset(np.zeros(7), 0)
    bad = [
        ({"target_pose": (1.0, 2.0)}, "target_pose"),
        ({"target_pose": (1.0, 2.0, math.nan)}, "target_pose"),
        ({"angle_weight": 0.0}, "angle_weight"),
        ({"distance_cost": -1.0}, "distance_cost"),
        ({"switch_margin": -0.1}, "switch_margin"),
        ({"patience": 0}, "patience"),
        ({"speed_range": (0.8, 0.2)}, "speed_range"),
        ({"epsilon": 2.0}, "epsilon"),
        ({"noise_std": -1.0}, "noise_std"),
    ]
    for kwargs, match in bad:
        with pytest.raises(ValueError, match=match):
            PushTDemonstrator(**kwargs)
    with pytest.raises(ValueError, match="max_steps"):
        demonstrate(PushTEnv(), 0, max_steps=0)


def test_wilson_interval() -> None:
    lo, hi = wilson_interval(50, 50)
    assert hi == 1.0 and 0.92 < lo < 0.94
    lo, hi = wilson_interval(5, 10)
    assert lo < 0.5 < hi and math.isclose(0.5 - lo, hi - 0.5)
