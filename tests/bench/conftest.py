"""A tiny Push-T world model trained in seconds, shared by the harness tests."""

import pytest

from grasp_bench.data import collect
from grasp_bench.models.recipes import arch_for, train_checkpoint
from grasp_bench.models.train import TrainConfig
from grasp_bench.tasks import get_task

#: Planner settings that keep each cell to a fraction of a second.
FAST = [
    "--set", "cem.iterations=3", "--set", "cem.samples=16", "--set", "cem.topk=4",
    "--set", "grasp.iterations=20", "--set", "grasp.sync_every=10", "--set", "grasp.sync_steps=2",
]


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    task = get_task("pusht")
    train = collect(task, episodes=4, steps=90, workers=1)
    val = collect(task, episodes=2, steps=90, split="validation", workers=1)
    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train_checkpoint(task, train, val, arch_for(task, hidden=16, layers=1),
                     TrainConfig(epochs=1, rollout_steps=1), out)
    return out


@pytest.fixture(autouse=True)
def _problem_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))
