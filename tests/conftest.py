"""Suite-wide settings and the tiny world model the harness and fault tests share."""

import pytest


@pytest.fixture(autouse=True)
def _strict_cli(monkeypatch):
    """The CLI turns a stray ValueError/OSError into one line for users; in the tests it
    re-raises, so input that only the guard catches shows up as the bug it is."""
    monkeypatch.setenv("GRASP_BENCH_STRICT", "1")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A tiny Push-T world model trained in seconds."""
    from grasp_bench.data import collect
    from grasp_bench.models.recipes import arch_for, train_checkpoint
    from grasp_bench.models.train import TrainConfig
    from grasp_bench.tasks import get_task

    task = get_task("pusht")
    train = collect(task, episodes=4, steps=90, workers=1)
    val = collect(task, episodes=2, steps=90, split="validation", workers=1)
    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train_checkpoint(task, train, val, arch_for(task, hidden=16, layers=1),
                     TrainConfig(epochs=1, rollout_steps=1), out)
    return out
