"""`collect`, `train`, `models` and `planners` from the command line, errors included."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from grasp_bench import __version__
from grasp_bench.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_version_and_help():
    assert __version__ in invoke("--version").output
    res = invoke("--help")
    assert res.exit_code == 0 and "sweep" in res.output and "check" in res.output


def test_collect_then_train_writes_a_loadable_checkpoint(tmp_path):
    data, val = tmp_path / "d.npz", tmp_path / "v.npz"
    assert invoke("collect", "--env", "ballnav", "--episodes", 2, "--steps", 90, "--workers",
                  1, "--out", data).exit_code == 0
    assert invoke("collect", "--env", "ballnav", "--episodes", 1, "--steps", 90, "--workers",
                  1, "--split", "validation", "--out", val).exit_code == 0
    out = tmp_path / "m.pt"
    res = invoke("train", "--env", "ballnav", "--data", data, "--val-data", val, "--epochs", 1,
                 "--device", "cpu", "--out", out)
    assert res.exit_code == 0, res.output
    assert out.exists() and out.with_suffix(".json").exists()
    res = invoke("models", "--dir", tmp_path)
    assert res.exit_code == 0 and "m.pt" in res.output
    # never replaced implicitly: a second train to the same path is refused, files kept
    before = out.read_bytes()
    res = invoke("train", "--env", "ballnav", "--data", data, "--val-data", val, "--epochs", 1,
                 "--device", "cpu", "--out", out)
    assert res.exit_code == 2 and "--force" in res.output and out.read_bytes() == before
    # a truncated checkpoint is marked, and models exits 1
    out.write_bytes(before[: len(before) // 2])
    res = invoke("models", "--dir", tmp_path)
    assert res.exit_code == 1 and "corrupt or missing" in res.output


def test_train_refuses_to_replace_the_shipped_checkpoint_without_force():
    from grasp_bench.tasks import PUSHT

    before = PUSHT.checkpoint.read_bytes()
    res = invoke("train", "--env", "pusht", "--epochs", 1)
    assert res.exit_code == 2 and "--force" in res.output
    assert PUSHT.checkpoint.read_bytes() == before


def test_train_on_episodes_shorter_than_the_rollout_loss_is_one_line(tmp_path):
    data = tmp_path / "short.npz"
    assert invoke("collect", "--env", "ballnav", "--episodes", 2, "--steps", 8, "--workers",
                  1, "--out", data).exit_code == 0
    res = invoke("train", "--env", "ballnav", "--data", data, "--val-data", data,
                 "--epochs", 1, "--device", "cpu", "--out", tmp_path / "m.pt")
    assert res.exit_code == 2 and "no episode of 20 env steps" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("collect", "--env", "cartpole"), "unknown env"),
        (("collect", "--episodes", 0), "--episodes must be a positive"),
        (("collect", "--split", "evaluation"), "--split must be train or validation"),
        (("collect", "--source", "replay"), "--source must be one of demo, behaviour"),
        (("train", "--env", "pusht", "--data", "missing.npz"), "not found"),
        (("train", "--epochs", -1), "--epochs must be a positive"),
        (("models", "--dir", "nowhere"), "no checkpoints"),
        (("train", "--model", "vit"), "--model must be one of learned, latent, pixel"),
        (("train", "--model", "pixel", "--arch", "width=3"), "FIELD one of"),
        (("train", "--model", "pixel", "--arch", "hidden=wide"), "not a valid int"),
        (("train", "--encoder-from", "random"), "--encoder-from is for --model pixel"),
        (("train", "--model", "pixel", "--encoder-from", "checkpoints/pusht.pt"),
         "not a visual checkpoint"),
        (("bench", "--model", "vit"), "--model must be one of"),
        (("train", "--train", "epochs=many"), "not a valid int"),
        (("train", "--model", "pixel", "--train", "epochs=3"), "FIELD one of encoder_epochs"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    res = invoke(*args)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_unwritable_collect_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = invoke("collect", "--episodes", 1, "--steps", 5, "--out", blocker / "d.npz")
    assert res.exit_code == 2 and "cannot create directory" in res.output


def test_planners_lists_six():
    res = invoke("planners")
    assert res.exit_code == 0
    for name in ("cem", "gd", "latco", "grasp", "mppi", "icem"):
        assert name in res.output


def test_shown_path_is_relative_under_the_working_directory(tmp_path, monkeypatch):
    from grasp_bench.cli.common import shown_path

    (tmp_path / "inner").mkdir()
    monkeypatch.chdir(tmp_path / "inner")
    assert shown_path(tmp_path / "inner" / "ck" / "m.pt") == Path("ck/m.pt")
    outside = tmp_path / "other" / "m.pt"
    assert shown_path(outside) == outside  # not under it: as given


def test_manifests_get_demo_fidelity_where_the_task_has_demonstrations(monkeypatch):
    import grasp_bench.fidelity as fidelity
    from grasp_bench.cli.models import _fidelity_of
    from grasp_bench.tasks import get_task

    calls = []
    monkeypatch.setattr(fidelity, "reference_fidelity",
                        lambda task, model, *, source=None, n=100:
                        calls.append((source, n)) or {"s": source})
    assert _fidelity_of(get_task("pusht"))(None) == {
        "reference_fidelity": {"s": None}, "reference_fidelity_demo": {"s": "demo"}}
    assert _fidelity_of(get_task("ballnav"), 7)(None) == {"reference_fidelity": {"s": None}}
    assert _fidelity_of(get_task("pusht"), 3)(None)["reference_fidelity_demo"] == {"s": "demo"}
    assert calls == [(None, 100), ("demo", 100), (None, 7), (None, 3), ("demo", 3)]
