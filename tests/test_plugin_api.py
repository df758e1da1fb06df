"""The plugin helpers of ``grasp_bench.api`` (training windows, checkpoints), and that the
example plugin imports from grasp_bench only what docs/plugins.md presents as public."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

from grasp_bench import api
from grasp_bench.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "plugin_example" / "grasp_bench_example"
DOCS = ROOT / "docs" / "plugins.md"


def public_names() -> dict[str, set[str]]:
    """The table under "What a plugin imports" in docs/plugins.md: module -> names."""
    text = DOCS.read_text()
    section = text.split("## What a plugin imports", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`grasp_bench"):
            table[cells[0].strip("`")] = set(re.findall(r"`(\w+)`", cells[1]))
    return table


def grasp_bench_imports(path: Path) -> set[tuple[str, str]]:
    """``(module, name)`` of every import of grasp_bench in a file (``import X``: name "")."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("grasp_bench"):
            out |= {(node.module, a.name) for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {(a.name, "") for a in node.names if a.name.startswith("grasp_bench")}
    return out


def test_docs_table_names_exist_in_their_modules():
    import importlib

    table = public_names()
    assert set(table) >= {"grasp_bench.api", "grasp_bench.planners.base",
                          "grasp_bench.planners.space"}
    for module, names in table.items():
        mod = importlib.import_module(module)
        assert names and all(hasattr(mod, n) for n in names), module
    assert {"register_architecture", "training_windows", "save_checkpoint",
            "Windows"} <= table["grasp_bench.api"] <= set(api.__all__)


def test_example_plugin_imports_only_public_names():
    table = public_names()
    table["grasp_bench"] = {"api"}  # ``from grasp_bench import api``
    files = sorted(EXAMPLE.glob("*.py"))
    assert len(files) >= 3
    used = set()
    for f in files:
        for module, name in grasp_bench_imports(f):
            assert name in table.get(module, ()), f"{f.name}: {module}.{name} is not public"
            used.add((module, name))
    assert ("grasp_bench", "api") in used  # the model side goes through the API


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from grasp_bench.data import collect
    from grasp_bench.tasks import get_task

    path = tmp_path_factory.mktemp("data") / "pusht-train.npz"
    collect(get_task("pusht"), episodes=2, steps=23, workers=1).save(path)
    return path


def test_training_windows_stack_env_actions_in_time_order(dataset):
    from grasp_bench.data import Trajectories

    data = Trajectories.load(dataset)
    w = api.training_windows("pusht", frameskip=5, steps=2, data=dataset)
    assert len(w) == 2 * (23 - 10 + 1)
    assert w.starts.shape == (len(w), 7) and w.targets.shape == (len(w), 2, 7)
    assert w.actions.shape == (len(w), 2, 10) and w.actions.dtype == np.float32
    assert w.frameskip == 5 and w.env == "pusht" and w.env_id == "grasp_bench/PushT-v0"
    assert w.angle_indices == (4,) and len(w.goal_scales) == 7
    states, actions = data.episode(0)
    # window 3 of episode 0: starts at env step 3, model action 1 is env steps 8..12
    np.testing.assert_array_equal(w.starts[3], states[3])
    np.testing.assert_array_equal(w.targets[3], states[[8, 13]])
    np.testing.assert_array_equal(w.actions[3, 1].reshape(5, 2), actions[8:13])
    stats = w.action_stats()
    np.testing.assert_allclose(stats["mean"], data.actions.mean(0), atol=1e-4)
    s0, a, t = w.tensors()
    assert s0.dtype == a.dtype == t.dtype and tuple(a.shape) == w.actions.shape


def test_training_windows_refuse_bad_data(dataset, tmp_path):
    with pytest.raises(UserError, match="not of grasp_bench/BallNav-v0"):
        api.training_windows("ballnav", data=dataset)
    with pytest.raises(UserError, match="no dataset at"):
        api.training_windows("pusht", data=tmp_path / "missing.npz")
    with pytest.raises(UserError, match="no window"):
        api.training_windows("pusht", frameskip=5, steps=5, data=dataset)
    with pytest.raises(UserError, match="frameskip"):
        api.training_windows("pusht", frameskip=0, data=dataset)


def test_save_checkpoint_writes_a_loadable_manifest(plugin_dirs, tmp_path):
    from tests.plugin_support import plugins_from

    with plugins_from(plugin_dirs["plugin_example"]):
        from grasp_bench_example.model import write_checkpoint

        out = tmp_path / "lin.pt"
        written = write_checkpoint(out, episodes=2, steps=30)
        manifest = json.loads(out.with_suffix(".json").read_text())
        assert manifest["sha256"] == written["sha256"] and set(manifest) == set(written)
        assert manifest["env_id"] == "grasp_bench/PushT-v0" and manifest["task"] == "pusht"
        assert manifest["frameskip"] == 5 and manifest["architecture"]["class"] == "LinearDynamics"
        assert manifest["data"]["train"]["transitions"] == 60
        assert manifest["data"]["train"]["windows"] == 2 * (30 - 5 + 1)
        model, loaded = api.load_model("pusht", checkpoint=out)
        assert type(model).__name__ == "LinearDynamics" and loaded["sha256"] == manifest["sha256"]


def test_save_checkpoint_refuses_an_unregistered_model_or_no_env(tmp_path):
    import torch

    class Unregistered(torch.nn.Module):
        frameskip = 5

    with pytest.raises(UserError, match="not a registered architecture"):
        api.save_checkpoint(Unregistered(), tmp_path / "x.pt", env="pusht")
    assert not (tmp_path / "x.pt").exists()


def test_models_measures_a_plugin_checkpoint(plugin_dirs, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from grasp_bench.cli import app
    from grasp_bench.data import collect
    from grasp_bench.tasks import get_task
    from tests.plugin_support import plugins_from

    monkeypatch.setenv("COLUMNS", "250")
    val = tmp_path / "val.npz"
    collect(get_task("pusht"), episodes=2, steps=85, split="validation", workers=1).save(val)
    with plugins_from(plugin_dirs["plugin_example"]):
        from grasp_bench_example.model import write_checkpoint

        out = tmp_path / "ck" / "lin.pt"
        write_checkpoint(out, episodes=2, steps=30)
        before = out.with_suffix(".json").read_bytes()

        def invoke(*args):
            return CliRunner().invoke(app, [str(a) for a in args])

        listed = invoke("models", "--dir", out.parent)
        assert listed.exit_code == 0, listed.output
        assert "no accuracy or fidelity in its manifest" in listed.output
        assert "--checkpoint" in listed.output
        res = invoke("models", "--checkpoint", out, "--val-data", val, "--problems", 3,
                     "--wide")
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "lin.pt" in line)
    assert "LinearDynamics" in row and "measured now" in res.output
    assert re.search(r"block_pos_px \d", row)  # open-loop errors (px)
    assert re.search(r"\d+/\d+/\d+ \(replay, n=3\)", row)  # fidelity at H = 40/60/80 (%)
    assert out.with_suffix(".json").read_bytes() == before  # the file is left as it is


def test_models_checkpoint_refuses_bad_input(tmp_path):
    from typer.testing import CliRunner

    from grasp_bench.cli import app

    res = CliRunner().invoke(app, ["models", "--checkpoint", str(tmp_path / "none.pt")])
    assert res.exit_code == 2 and "no checkpoint at" in res.output
    res = CliRunner().invoke(app, ["models", "--val-data", str(tmp_path / "v.npz")])
    assert res.exit_code == 2 and "--val-data is for --checkpoint" in res.output


@pytest.mark.parametrize("model", ["learned", "latent"])
def test_missing_shipped_checkpoint_says_train_it(model, monkeypatch, tmp_path):
    from grasp_bench import tasks
    from grasp_bench.options import missing_checkpoint_hint

    monkeypatch.setattr(tasks, "CHECKPOINT_DIR", tmp_path)
    task = tasks.get_task("ballnav", "u_trap")
    msg = missing_checkpoint_hint(task, model, task.checkpoint_of(model), given=False)
    flag = "" if model == "learned" else " --model latent"
    assert f"`grasp-bench train --env ballnav --layout u_trap{flag}`" in msg
    assert "make checkpoints" in msg


def test_missing_custom_checkpoint_is_not_told_to_train_a_built_in(tmp_path):
    from grasp_bench import api

    with pytest.raises(UserError) as e:
        api.load_model("pusht", checkpoint=tmp_path / "mine.pt")
    msg = str(e.value)
    assert f"checkpoint {tmp_path / 'mine.pt'} not found (check the path)" in msg
    assert "make checkpoints" not in msg and f"--out {tmp_path / 'mine.pt'}" in msg
    assert "api.save_checkpoint" in msg
    with pytest.raises(UserError, match="there is no directory"):
        api.load_model("pusht", checkpoint=tmp_path / "nowhere" / "mine.pt")
