"""Gymnasium registration, env checker, import hygiene."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.layouts import LAYOUTS

CASES = [("grasp_bench/PushT-v0", {})] + [
    ("grasp_bench/BallNav-v0", {"layout": name}) for name in LAYOUTS
]


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=[str(k or "pusht") for _, k in CASES])
def test_check_env_passes_without_warnings(env_id: str, kwargs: dict) -> None:
    env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


def test_registered_with_time_limit() -> None:
    env = gym.make(envs.PUSHT_ID)
    assert env.spec.max_episode_steps == 300
    assert isinstance(env.unwrapped, envs.PushTEnv)
    env = gym.make(envs.BALLNAV_ID, layout="u_trap")
    assert isinstance(env.unwrapped, envs.BallNavEnv)
    assert env.unwrapped.layout.name == "u_trap"
    env.reset(seed=0)
    for step in range(1, 301):  # zero action: the ball rests, far from its goal
        _, reward, terminated, truncated, _ = env.step(np.zeros(2))
        assert not terminated and reward == 0.0
        assert truncated == (step == 300)


def test_unknown_layout_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown BallNav layout 'spiral'"):
        gym.make(envs.BALLNAV_ID, layout="spiral")


def test_envs_imports_neither_torch_nor_grasp_bench() -> None:
    code = (
        "import sys, envs, envs.bench, envs.render_assets\n"
        "bad = [m for m in sys.modules\n"
        "       if m == 'torch' or m.startswith(('torch.', 'grasp_bench'))]\n"
        "assert not bad, bad\n"
    )
    repo = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo)
