import numpy as np
import pytest

from grasp_bench.data import Trajectories
from grasp_bench.models.mlp import MLPConfig, StateMLP


def toy_trajectories(episodes: int, steps: int, seed: int) -> Trajectories:
    """A point with an angle driven by its actions: s = [x, y, angle], a in [-1, 1]^2."""
    rng = np.random.default_rng(seed)
    states, actions = [], []
    for _ in range(episodes):
        s = np.array([rng.uniform(0, 100), rng.uniform(0, 100), rng.uniform(0, 2 * np.pi)])
        ep_s, ep_a = [s.copy()], []
        for _ in range(steps):
            a = rng.uniform(-1, 1, 2).astype(np.float32)
            s = s + np.array([3.0 * a[0], 3.0 * a[1], 0.2 * a[0]])
            s[2] %= 2 * np.pi
            ep_s.append(s.copy())
            ep_a.append(a)
        states.append(np.array(ep_s))
        actions.append(np.array(ep_a))
    return Trajectories(
        states=np.concatenate(states),
        actions=np.concatenate(actions).astype(np.float32),
        lengths=np.full(episodes, steps),
        seeds=np.arange(seed, seed + episodes),
        meta={"env_id": "toy", "env_kwargs": {}},
    )


TOY_ARCH = MLPConfig(state_dim=3, env_action_dim=2, angle_indices=(2,), frameskip=2, hidden=32,
                     layers=2)


@pytest.fixture
def toy_data():
    return toy_trajectories(40, 30, seed=0), toy_trajectories(10, 30, seed=1000)


@pytest.fixture
def toy_model():
    import torch

    torch.manual_seed(0)
    m = StateMLP(TOY_ARCH)
    for p in m.net.parameters():  # non-zero output layer so predictions differ from z
        torch.nn.init.normal_(p, std=0.1)
    return m
