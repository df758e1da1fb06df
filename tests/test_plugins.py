"""Planners and world models from outside packages (entry points, ``grasp_bench.plugins``):
the example package (tests/plugin_example) runs like a built-in through ``planners``,
``run``, ``sweep``, ``tune``, ``--set``, ``--tuned-file`` and ``--checkpoint``; the broken
one (tests/plugin_broken) is skipped one line per plugin while the built-ins keep working."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from grasp_bench import plugins
from grasp_bench.cli import app
from grasp_bench.planners import REGISTRY
from grasp_bench.planners.cem import CEM
from tests.plugin_support import plugins_from

runner = CliRunner()
RS = "random-shooting"
RS_FAST = ["--set", f"{RS}.iterations=3", "--set", f"{RS}.samples=16"]
CEM_FAST = ["--set", "cem.iterations=2", "--set", "cem.samples=16", "--set", "cem.topk=4"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(autouse=True)
def _problem_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def example(plugin_dirs):
    with plugins_from(plugin_dirs["plugin_example"]) as skipped:
        assert skipped == []
        yield


@pytest.fixture(scope="module")
def linear_checkpoint(example, tmp_path_factory):
    from grasp_bench_example.model import write_checkpoint

    out = tmp_path_factory.mktemp("linear") / "linear.pt"
    write_checkpoint(out, episodes=4, steps=60)
    return out


def test_example_planner_is_listed_with_its_source(example):
    assert plugins.source(plugins.PLANNERS, RS) == "grasp-bench-example"
    assert plugins.source(plugins.PLANNERS, "cem") == "built-in"
    res = invoke("planners", RS)
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"{RS} (grasp-bench-example): Uniform random shooting")
    assert "grasp-author" not in res.output
    res = invoke("planners")
    assert res.exit_code == 0 and f"{len(REGISTRY)} planners" in res.output
    assert f"from plugins: {RS} (grasp-bench-example)" in res.output


def test_planners_name_shows_a_presets_changes_and_refuses_unknown_names():
    res = invoke("planners", "grasp-nosync")
    assert res.exit_code == 0, res.output
    assert "grasp's config except" in res.output and "sync_every" in res.output
    assert "lr_states" not in res.output  # the same as GRASP's: not shown
    res = invoke("planners", "nope")
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "unknown planner" in res.output


def test_example_planner_runs_with_set_and_returns_snapshots(example, tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    res = invoke("run", "--horizon", 10, "--episodes", 2, "--planners", f"{RS},cem", "--device",
                 "cpu", "--checkpoint", tiny_checkpoint, "--out", out, *RS_FAST, *CEM_FAST)
    assert res.exit_code == 0, res.output
    episodes = pd.read_csv(out / "episodes.csv")
    rs = episodes[episodes.planner == RS]
    assert len(rs) == 2 and (rs.iterations == 3).all() and (rs.reason.isna()).all()
    snaps = pd.read_csv(out / "snapshots.csv")
    assert sorted(set(snaps[snaps.planner == RS].iteration)) == [1, 2, 3]


def test_example_planner_sweeps(example, tiny_checkpoint, tmp_path):
    out = tmp_path / "sweep"
    res = invoke("sweep", "--horizons", "5,10", "--episodes", 2, "--planners", RS, "--device",
                 "cpu", "--checkpoint", tiny_checkpoint, "--out", out, *RS_FAST)
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.horizon) == [5, 10] and (summary.planner == RS).all()


def test_example_planner_tunes_and_runs_tuned(example, tiny_checkpoint, tmp_path):
    res = invoke("tune", "--env", "pusht", "--checkpoint", tiny_checkpoint, "--horizons", 5,
                 "--planners", RS, "--trials", 2, "--problems", 2, "--rescore", 1, "--device",
                 "cpu", "--storage", tmp_path / "s.db", "--out", tmp_path / "tuned.json",
                 "--set", f"{RS}.iterations=2")
    assert res.exit_code == 0, res.output
    entry = json.loads((tmp_path / "tuned.json").read_text())["entries"][RS]["5"]
    assert entry["trials"] == 2
    res = invoke("run", "--horizon", 5, "--episodes", 2, "--planners", RS, "--device", "cpu",
                 "--checkpoint", tiny_checkpoint, "--out", tmp_path / "run",
                 "--tuned-file", tmp_path / "tuned.json", "--set", f"{RS}.iterations=2")
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert f"{RS}-H5" in meta["extra"]["tuned"]["cells"]


def test_example_model_loads_with_checkpoint(example, linear_checkpoint, tmp_path):
    manifest = json.loads(linear_checkpoint.with_suffix(".json").read_text())
    assert manifest["architecture"]["class"] == "LinearDynamics"
    out = tmp_path / "run"
    res = invoke("run", "--horizon", 10, "--episodes", 2, "--planners", f"{RS},cem",
                 "--device", "cpu", "--checkpoint", linear_checkpoint, "--out", out,
                 *RS_FAST, *CEM_FAST)
    assert res.exit_code == 0, res.output
    episodes = pd.read_csv(out / "episodes.csv")
    assert len(episodes) == 4 and (episodes.model_sha256 == manifest["sha256"]).all()
    res = invoke("models", "--dir", linear_checkpoint.parent)
    assert res.exit_code == 0, res.output
    assert "LinearDynamics (grasp-bench-example)" in res.output


def test_plugin_checkpoint_without_its_plugin_is_one_line(linear_checkpoint, tmp_path):
    # (the example is still active for this module; hide its architecture for a moment)
    from grasp_bench.models.checkpoint import ARCHITECTURES

    arch = ARCHITECTURES.pop("LinearDynamics")
    try:
        res = invoke("run", "--horizon", 10, "--episodes", 2, "--planners", "cem", "--device",
                     "cpu", "--checkpoint", linear_checkpoint, "--out", tmp_path / "r")
    finally:
        ARCHITECTURES["LinearDynamics"] = arch
    assert res.exit_code == 2 and "unknown architecture 'LinearDynamics'" in res.output
    assert not (tmp_path / "r").exists()


def test_broken_plugins_are_skipped_one_line_each(plugin_dirs, tiny_checkpoint, tmp_path):
    with plugins_from(plugin_dirs["plugin_broken"], load=False):
        res = invoke("planners")  # the CLI loads the plugins
        assert res.exit_code == 0, res.output
        lines = [line for line in res.stderr.splitlines() if "skipped" in line]
        assert len(lines) == 5, res.stderr
        for name, value, why in [
            ("explodes", "grasp_bench_broken.explodes:Planner", "explodes on import"),
            ("unfrozen", "grasp_bench_broken.unfrozen:Unfrozen", "frozen dataclass"),
            ("badsig", "grasp_bench_broken.badsig:BadSignature", "Planner protocol"),
            ("cem", "grasp_bench_broken.clash:NotCEM", "is taken by"),
            ("Incomplete", "grasp_bench_broken.incomplete:Incomplete", "step, rollout"),
        ]:
            line = next(x for x in lines if f" {name} = {value} " in x)
            assert "(grasp-bench-broken)" in line and why in line, line
        assert REGISTRY["cem"][1] is CEM
        assert not {"unfrozen", "badsig", "explodes"} & set(REGISTRY)
        res = invoke("run", "--horizon", 10, "--episodes", 2, "--planners", "cem", "--device",
                     "cpu", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "run",
                     *CEM_FAST)
        assert res.exit_code == 0, res.output
        assert "skipped" not in res.stderr  # loaded once per process


def test_two_entries_of_one_module_load_without_a_false_skip(tmp_path, monkeypatch):
    """Importing the first entry registers both planners of the module; the second entry
    finds its planner registered by its own distribution and is not reported as skipped."""
    from importlib.metadata import EntryPoint

    from grasp_bench import plugins
    from grasp_bench.planners import REGISTRY
    from tests.plugin_support import plugins_from

    (tmp_path / "twin_planners.py").write_text(
        "from dataclasses import dataclass\n"
        "from grasp_bench.planners.cem import CEM, CEMConfig\n"
        "from grasp_bench.planners.registry import register\n\n"
        "@dataclass(frozen=True)\nclass AConfig(CEMConfig):\n    pass\n\n"
        "@register('twin-a', AConfig)\nclass TwinA(CEM):\n    pass\n\n"
        "@dataclass(frozen=True)\nclass BConfig(CEMConfig):\n    pass\n\n"
        "@register('twin-b', BConfig)\nclass TwinB(CEM):\n    pass\n")
    eps = [EntryPoint(n, f"twin_planners:{c}", plugins.PLANNERS)
           for n, c in (("twin-a", "TwinA"), ("twin-b", "TwinB"))]
    monkeypatch.setattr(plugins, "entry_points",
                        lambda group: eps if group == plugins.PLANNERS else [])
    with plugins_from(tmp_path, load=False):
        try:
            assert plugins.load_plugins(rescan=True) == []
            assert {"twin-a", "twin-b"} <= set(REGISTRY)
            assert plugins.source(plugins.PLANNERS, "twin-b") != "built-in"
        finally:
            import sys

            sys.modules.pop("twin_planners", None)
