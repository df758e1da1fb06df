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


@pytest.fixture(scope="session")
def plugin_dirs(tmp_path_factory):
    """The example and broken plugin packages (tests/plugin_example, tests/plugin_broken)
    pip-installed offline into their own --target directories, so nothing is added to the
    test venv: :func:`tests.plugin_support.plugins_from` puts one on ``sys.path``."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = tmp_path_factory.mktemp("plugins")
    dirs = {}
    for name in ("plugin_example", "plugin_broken"):
        src = shutil.copytree(Path(__file__).parent / name, root / "src" / name,
                              ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--no-build-isolation", "--no-index", "--target", str(root / name),
                        str(src)], check=True)
        dirs[name] = root / name
    return dirs
