"""The simulator behind the WorldModel protocol (the ceiling row)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import torch

from envs import replay
from grasp_bench.models.simulator import SimulatorModel
from grasp_bench.planners import make_planner
from grasp_bench.problems import generate
from grasp_bench.tasks import PUSHT, get_task


def test_encode_decode_roundtrip_and_exact_rollout():
    ps = generate(PUSHT, 20, 3, split="tuning")
    model = SimulatorModel(PUSHT, workers=1)
    s = torch.as_tensor(ps.starts)
    z = model.encode(s)
    torch.testing.assert_close(model.decode(z), s)
    actions = torch.as_tensor(ps.actions).reshape(3, 4, 10)
    zs = model.rollout(z, actions)
    assert zs.shape == (3, 5, model.latent_dim)
    # one continuous simulation: the model's final state is the replay's, bit for bit
    np.testing.assert_array_equal(model.decode(zs[:, -1]).numpy(), ps.goals)
    assert model.step(z, actions[:, 0]).shape == (3, model.latent_dim)


def test_any_leading_dims_and_the_worker_pool_agree():
    task = get_task("ballnav")
    ps = generate(task, 10, 4, split="tuning")
    z = SimulatorModel(task, workers=1).encode(torch.as_tensor(ps.starts))
    actions = torch.rand(2, 4, 2, 10, dtype=torch.float64) * 2 - 1  # (S, B, T, A)
    serial = SimulatorModel(task, workers=1).rollout(z, actions)
    pooled_model = SimulatorModel(task, workers=2)
    try:
        pooled = pooled_model.rollout(z, actions)
    finally:
        pooled_model.close()
    assert serial.shape == (2, 4, 3, 4)
    torch.testing.assert_close(serial, pooled)
    ref = replay(task.env_id, ps.starts, actions[0].reshape(4, 10, 2).numpy(),
                 **task.env_kwargs)
    np.testing.assert_allclose(serial[0, :, -1].numpy(), ref[:, -1])


KILLED_PARENT = """
import torch
from grasp_bench.models.simulator import SimulatorModel
from grasp_bench.tasks import get_task
task = get_task("ballnav")
model = SimulatorModel(task, workers=2)
z = model.encode(torch.tensor([[100.0, 100.0, 0.0, 0.0]]).repeat(8, 1))
model.rollout(z, torch.zeros(8, 2, 10, dtype=torch.float64))
print(*[p.pid for p in model._pool._processes.values()], flush=True)
import time; time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_a_killed_parent_leaves_no_simulator_workers():
    """SIGKILL runs no cleanup: the pool's workers must notice their parent is gone."""
    if not os.path.isdir("/proc"):
        import pytest
        pytest.skip("needs /proc")
    parent = subprocess.Popen([sys.executable, "-c", KILLED_PARENT], stdout=subprocess.PIPE,
                              text=True)
    try:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)


def test_cem_plans_with_the_simulator():
    task = get_task("ballnav")
    ps = generate(task, 10, 2, split="tuning")
    model = SimulatorModel(task, workers=1)
    z0, zg = model.encode(torch.as_tensor(ps.starts)), model.encode(torch.as_tensor(ps.goals))
    planner = make_planner("cem", {"iterations": 3, "samples": 16, "topk": 4})
    result = planner.plan(model, z0, zg, 2, generator=torch.Generator().manual_seed(0))
    assert result.actions.shape == (2, 2, 10) and torch.isfinite(result.cost).all()
