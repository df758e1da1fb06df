"""End-to-end `run`, `sweep`, `report` and `check` on a tiny model and few problems."""

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from grasp_bench import sweep as sweep_module
from grasp_bench.cli import app
from grasp_bench.results import EPISODE_COLUMNS, SNAPSHOT_COLUMNS

from .conftest import FAST

runner = CliRunner()
TIME_COLUMNS = ["time_to_success_model_s", "time_to_success_executed_s",
                "time_to_success_mpc_s", "planning_time_s"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def run_args(ckpt, out, *extra):
    return ("run", "--horizon", 10, "--episodes", 3, "--planners", "cem,grasp", "--device",
            "cpu", "--checkpoint", ckpt, "--out", out, *FAST, *extra)


def test_run_writes_every_file_and_column(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    res = invoke(*run_args(tiny_checkpoint, out))
    assert res.exit_code == 0, res.output
    for name in ("episodes.csv", "snapshots.csv", "summary.csv", "summary.md", "meta.json",
                 "success_vs_horizon.png", "anytime.png"):
        assert (out / name).is_file(), name
    episodes = pd.read_csv(out / "episodes.csv")
    assert list(episodes.columns) == list(EPISODE_COLUMNS)
    assert len(episodes) == 6 and set(episodes.planner) == {"cem", "grasp"}
    assert list(pd.read_csv(out / "snapshots.csv").columns) == list(SNAPSHOT_COLUMNS)
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.planner) == {"cem", "grasp"} and (summary.n == 3).all()
    for m in ("model", "executed"):
        assert (summary[f"{m}_ci_low"] <= summary[f"{m}_rate"]).all()
    assert (summary.mpc_n == 0).all()
    assert "%" in res.output and "model" in res.output and "executed" in res.output
    meta = json.loads((out / "meta.json").read_text())
    machine = meta["extra"]["machine"]
    assert machine["torch_threads"] == 1 and machine["cpu"] and "load_after" in machine
    problems = json.loads((out / "problems.json").read_text())
    assert "open_loop_sensitivity" in problems["10"] and "displacement" in problems["10"]


def test_mpc_run(tiny_checkpoint, tmp_path):
    out = tmp_path / "mpc"
    res = invoke(*run_args(tiny_checkpoint, out, "--mode", "mpc", "--execute", 1))
    assert res.exit_code == 0, res.output
    episodes = pd.read_csv(out / "episodes.csv")
    assert (episodes["mode"] == "mpc").all() and (episodes["replans"] == 2).all()
    summary = pd.read_csv(out / "summary.csv")
    assert (summary.mpc_n == 3).all() and (summary.model_n == 0).all()


def test_same_seed_gives_identical_episodes(tiny_checkpoint, tmp_path):
    frames = []
    for name in ("a", "b"):
        assert invoke(*run_args(tiny_checkpoint, tmp_path / name)).exit_code == 0
        frames.append(pd.read_csv(tmp_path / name / "episodes.csv").drop(columns=TIME_COLUMNS))
    pd.testing.assert_frame_equal(*frames)


def test_killed_sweep_resumes_to_complete_result(tiny_checkpoint, tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    args = ("sweep", "--horizons", "5,10", "--episodes", 2, "--planners", "cem,grasp",
            "--device", "cpu", "--checkpoint", tiny_checkpoint, *FAST)
    real, calls = sweep_module.plan_cell, []

    def dies_after_first(*a, **k):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(sweep_module, "plan_cell", dies_after_first)
    res = invoke(*args, "--out", out)
    assert res.exit_code == 130
    assert f"grasp-bench sweep --resume {out}" in res.output  # whole, not cut at 80 columns
    assert len(list((out / "cells").glob("*.episodes.csv"))) == 1
    # the finished cell's files (episodes, snapshots, plans): bytes and modification time
    done = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "cells").iterdir()}
    finished = {name.split(".")[0] for name in done}
    assert len(finished) == 1 and len(done) == 3, sorted(done)
    ran = []

    def recording(ctx, opts, problems, planner, *a, **k):
        ran.append(f"{planner}-H{problems.horizon}")
        return real(ctx, opts, problems, planner, *a, **k)

    monkeypatch.setattr(sweep_module, "plan_cell", recording)
    res = invoke("sweep", "--resume", out)  # the options come from meta.json
    assert res.exit_code == 0, res.output
    # only the unfinished cells ran, each once; the finished one was left alone
    assert sorted(ran) == sorted({"cem-H5", "grasp-H5", "cem-H10", "grasp-H10"} - finished)
    for name, (data, mtime) in done.items():
        path = out / "cells" / name
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime, name
    episodes = pd.read_csv(out / "episodes.csv")
    assert len(episodes) == 2 * 2 * 2
    assert not episodes.duplicated(["planner", "horizon", "episode"]).any()
    problems = json.loads((out / "problems.json").read_text())
    assert set(problems) == {"5", "10"}  # statistics of both sessions survive the resume


def test_resume_refuses_changed_checkpoint(tiny_checkpoint, tmp_path):
    ckpt = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, ckpt)
    shutil.copy(tiny_checkpoint.with_suffix(".json"), ckpt.with_suffix(".json"))
    out = tmp_path / "run"
    assert invoke(*run_args(ckpt, out)).exit_code == 0
    meta = json.loads((out / "meta.json").read_text())
    meta["checkpoints"] = {k: "0" * 64 for k in meta["checkpoints"]}
    (out / "meta.json").write_text(json.dumps(meta))
    res = invoke("sweep", "--resume", out)
    assert res.exit_code == 2 and "model" in res.output


def test_resume_refuses_another_problem_source(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    assert invoke(*run_args(tiny_checkpoint, out)).exit_code == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["extra"]["options"]["problem_source"] == "replay"  # Push-T's default
    assert meta["seeds"]["problem_source"] == "replay"
    assert meta["seeds"]["problem_settings"]["replay_noise"] == [0.05, 0.1]  # its levels
    res = invoke("sweep", "--resume", out, "--problem-source", "behaviour")
    assert res.exit_code == 2 and "behaviour" in res.output and "Traceback" not in res.output
    assert invoke("sweep", "--resume", out, "--problem-source", "demo").exit_code == 2
    assert invoke("sweep", "--resume", out, "--problem-source", "replay").exit_code == 0


def test_resume_refuses_problems_drawn_with_other_settings(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    assert invoke(*run_args(tiny_checkpoint, out)).exit_code == 0
    meta = json.loads((out / "meta.json").read_text())
    meta["seeds"]["problem_settings"]["replay_noise"] = [0.3]  # as if the levels had changed
    (out / "meta.json").write_text(json.dumps(meta))
    res = invoke("sweep", "--resume", out)
    assert res.exit_code == 2 and "other settings" in res.output and "0.3" in res.output
    assert "Traceback" not in res.output
    del meta["seeds"]["problem_settings"]  # a run made before they were recorded resumes
    (out / "meta.json").write_text(json.dumps(meta))
    assert invoke("sweep", "--resume", out).exit_code == 0


def test_runs_made_before_problem_sources_resume_as_behaviour(tiny_checkpoint, tmp_path):
    from grasp_bench.rundir import options_of_run

    out = tmp_path / "run"
    assert invoke(*run_args(tiny_checkpoint, out, "--problem-source", "behaviour")).exit_code == 0
    meta = json.loads((out / "meta.json").read_text())
    del meta["extra"]["options"]["problem_source"]  # as written before the option existed
    (out / "meta.json").write_text(json.dumps(meta))
    assert options_of_run(out).problem_source == "behaviour"


def test_report_and_check(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    assert invoke(*run_args(tiny_checkpoint, out)).exit_code == 0
    res = invoke("report", out, "--paper")
    assert res.exit_code == 0 and "Paper" in res.output or "paper" in res.output
    # `report > file.md` gives Markdown tables whole: no row is hard-wrapped at 80 columns
    rows = [line for line in res.output.splitlines() if line.startswith("|")]
    assert rows and all(line.rstrip().endswith("|") for line in rows)
    assert max(map(len, rows)) > 80
    # identical data passes
    res = invoke("check", out, "--baseline", out / "summary.csv")
    assert res.exit_code == 0, res.output
    # an injected drop fails: a baseline where every cell succeeded 100 times of 100
    base = pd.read_csv(out / "summary.csv")
    base[["n", "model_n", "model_successes"]] = 100
    base[["model_rate", "model_ci_low", "model_ci_high"]] = (1.0, 0.963, 1.0)  # consistent
    base.to_csv(tmp_path / "base.csv", index=False)
    res = invoke("check", out, "--baseline", tmp_path / "base.csv")
    assert res.exit_code == 1, res.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--horizon", 12), "multiple of the model's frameskip"),
        (("--env", "cartpole"), "unknown env"),
        (("--env", "ballnav", "--layout", "spiral"), "unknown BallNav layout"),
        (("--planners", "cem,magic"), "unknown planner"),
        (("--device", "cuda"), "CUDA is not available"),
        (("--set", "grasp.nope=1"), "grasp"),
        (("--set", "grasp.iterations=abc"), "iterations"),
        (("--set", "grasp.iterations=0"), "iterations"),  # cem is listed first
        (("--mode", "closed"), "--mode"),
        (("--objective", "reward"), "--objective"),
        (("--threads", 0), "--threads"),
        (("--replan-budget", 2), "--replan-budget"),
        (("--problem-offset", -1), "--problem-offset"),
        (("--model", "simulator"), "sampling planners"),  # grasp is not one
        (("--model", "oracle"), "--model"),
        (("--seed", 10**23), "--seed"),
        (("--problem-offset", 999_999), "seed range"),
        (("--episodes", 10**11), "seed range"),
        (("--threads", 100_000), "--threads"),
        (("--problem-source", "human"), "--problem-source"),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_run_dir(tiny_checkpoint, tmp_path, extra, message):
    import torch

    if "cuda" in extra and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    out = tmp_path / "run"
    res = invoke(*run_args(tiny_checkpoint, out), *extra)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_missing_and_corrupt_checkpoints(tiny_checkpoint, tmp_path):
    res = invoke("run", "--horizon", 10, "--checkpoint", tmp_path / "none.pt", "--device", "cpu")
    assert res.exit_code == 2 and "grasp-bench train" in res.output
    bad = tmp_path / "bad.pt"
    raw = bytearray(tiny_checkpoint.read_bytes())
    raw[-10] ^= 0xFF
    bad.write_bytes(bytes(raw))
    bad.with_suffix(".json").write_text(tiny_checkpoint.with_suffix(".json").read_text())
    res = invoke(*run_args(bad, tmp_path / "run"))
    assert res.exit_code == 2 and "corrupt" in res.output
    assert not (tmp_path / "run").exists()


def test_unwritable_output_and_bad_resume(tiny_checkpoint, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = invoke(*run_args(tiny_checkpoint, blocker / "run"))
    assert res.exit_code == 2 and "cannot create output directory" in res.output
    res = invoke("sweep", "--resume", tmp_path, "--checkpoint", tiny_checkpoint,
                 "--device", "cpu")
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path, monkeypatch):
    import datetime as dt

    from grasp_bench import rundir
    from grasp_bench.rundir import new_run_dir

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=tz)

    monkeypatch.setattr(rundir, "RUNS_DIR", tmp_path)
    monkeypatch.setattr(rundir, "datetime", Frozen)
    with new_run_dir("run-x", None) as first, new_run_dir("run-x", None) as second:
        assert first.path != second.path and second.path.is_dir() and first.path.exists()
    (first.path / "meta.json").write_text("{}")
    with new_run_dir("run-x", None) as third:
        assert third.path not in (first.path, second.path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        new_run_dir("run-y", blocker)


def test_seed_help_does_not_contradict_the_tuning_split():
    res = invoke("run", "--help")
    assert res.exit_code == 0
    assert "always use evaluation" not in res.output and "--problem-offset" in res.output


# -- issue 19: bad input refused before anything is written, friction --------------------
def _no_problems(monkeypatch):
    """Any problem drawn fails the test: the refusal must come first."""
    import grasp_bench.problems as problems_module

    def drawn(*a, **k):
        raise AssertionError("a problem was drawn")

    monkeypatch.setattr(problems_module, "generate", drawn)
    monkeypatch.setattr(sweep_module, "load_or_generate", drawn)


def _one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and
             not ln.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    return lines[0]


@pytest.mark.parametrize("source", ["demo", "behaviour"])
def test_absurd_horizon_is_refused_before_any_problem_is_drawn(tiny_checkpoint, tmp_path,
                                                              monkeypatch, source):
    _no_problems(monkeypatch)
    out = tmp_path / "run"
    base = [a for a in run_args(tiny_checkpoint, out) if a not in ("--horizon", 10)]
    res = invoke(*base, "--horizon", 100_000, "--problem-source", source)
    line = _one_error_line(res)
    assert "100000" in line and "300" in line
    assert not out.exists()


def test_horizon_past_the_episode_limit_is_refused_by_sweep_and_tune(tiny_checkpoint,
                                                                     tmp_path, monkeypatch):
    _no_problems(monkeypatch)
    out = tmp_path / "sweep"
    res = invoke("sweep", "--horizons", "10,305", "--episodes", 2, "--planners", "cem",
                 "--device", "cpu", "--checkpoint", tiny_checkpoint, "--out", out,
                 "--problem-source", "behaviour", *FAST[:6])
    assert "305" in _one_error_line(res) and not out.exists()
    res = invoke("tune", "--horizons", "400", "--planners", "cem", "--trials", 2,
                 "--problems", 2, "--device", "cpu", "--checkpoint", tiny_checkpoint,
                 "--storage", tmp_path / "t.db", "--out", tmp_path / "t.json")
    assert "400" in _one_error_line(res)
    assert not (tmp_path / "t.db").exists() and not (tmp_path / "t.json").exists()


#: a bad element after a good one in each list option: (option, value, what the error names)
LATER_BAD = [
    ("--horizons", "10,7", "7"),  # not a multiple of the model's frameskip (5)
    ("--horizons", "10,999", "999"),  # past the episodes and the demonstrations
    ("--horizons", "10,0", "0"),
    ("--horizons", "10,-5", "-5"),
    ("--horizons", "10,x", "--horizons"),
    ("--horizons", "10,15,10", "10"),  # a horizon given twice
    ("--planners", "cem,nope", "nope"),
    ("--planners", "cem,cem", "cem"),  # a planner given twice
]


@pytest.mark.parametrize("option,value,named", LATER_BAD)
@pytest.mark.parametrize("command", ["sweep", "tune"])
def test_every_element_of_a_list_option_is_checked(tiny_checkpoint, tmp_path, monkeypatch,
                                                   command, option, value, named):
    """A bad element after a good one is refused in one line naming it, before any problem
    is drawn or any file written, by sweep and by tune."""
    _no_problems(monkeypatch)
    lists = {"--horizons": "10", "--planners": "cem", option: value}
    common = [*(x for kv in lists.items() for x in kv), "--device", "cpu", "--checkpoint",
              tiny_checkpoint, *FAST[:6]]
    if command == "sweep":
        out = tmp_path / "sweep"
        res = invoke("sweep", *common, "--episodes", 2, "--out", out)
        written = [out]
    else:
        res = invoke("tune", *common, "--trials", 2, "--problems", 2,
                     "--storage", tmp_path / "t.db", "--out", tmp_path / "t.json")
        written = [tmp_path / "t.db", tmp_path / "t.json"]
    assert named in _one_error_line(res)
    assert not any(p.exists() for p in written)


def test_horizon_beyond_the_models_validated_horizons_is_warned(tiny_checkpoint, tmp_path):
    from grasp_bench.options import longest_validated_horizon

    assert longest_validated_horizon({"validation": {"open_loop": {"H40": {}, "H80": {}}}}) == 80
    assert longest_validated_horizon({}) is None
    ckpt = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, ckpt)
    manifest = json.loads(tiny_checkpoint.with_suffix(".json").read_text())
    manifest["validation"]["open_loop"] = {"H5": {}}
    ckpt.with_suffix(".json").write_text(json.dumps(manifest))
    res = invoke("run", "--horizon", 10, "--episodes", 1, "--planners", "cem", "--device",
                 "cpu", "--checkpoint", ckpt, "--out", tmp_path / "run", *FAST[:6])
    assert res.exit_code == 0, res.output
    assert any(ln.startswith("warning:") and "H5" in ln for ln in res.stderr.splitlines())


def test_resume_with_contradicting_options_is_refused(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    assert invoke(*run_args(tiny_checkpoint, out)).exit_code == 0
    before = sorted(p.name for p in out.rglob("*"))
    res = invoke("sweep", "--resume", out, "--episodes", 5, "--planners", "cem",
                 "--horizons", "10,20", "--mode", "mpc", "--set", "cem.iterations=4")
    line = _one_error_line(res)
    for what in ("--episodes 3 (given 5)", "--planners cem,grasp (given cem)",
                 "--horizons 10 (given 10,20)", "--mode open (given mpc)", "--overrides"):
        assert what in line, line
    assert "--resume" in line and sorted(p.name for p in out.rglob("*")) == before
    # the run's own options, given again explicitly, are no contradiction
    res = invoke("sweep", "--resume", out, "--episodes", 3, "--planners", "cem,grasp",
                 "--horizons", "10", "--mode", "open", "--device", "cpu")
    assert res.exit_code == 0, res.output


def test_resume_into_another_out_is_refused(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    assert invoke(*run_args(tiny_checkpoint, out)).exit_code == 0
    line = _one_error_line(invoke("sweep", "--resume", out, "--out", tmp_path / "elsewhere"))
    assert "--out" in line and not (tmp_path / "elsewhere").exists()


def test_grasp_iterations_not_a_multiple_of_sync_every_is_refused(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    res = invoke(*run_args(tiny_checkpoint, out), "--set", "grasp.iterations=25")
    assert "multiple of sync_every" in _one_error_line(res) and not out.exists()


def test_set_value_far_outside_its_searched_range_is_warned(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    res = invoke("run", "--horizon", 10, "--episodes", 1, "--planners", "grasp", "--device",
                 "cpu", "--checkpoint", tiny_checkpoint, "--out", out, *FAST[6:],
                 "--set", "grasp.lr_states=5")
    assert res.exit_code == 0, res.output
    warned = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert any("grasp.lr_states=5" in ln and "above" in ln for ln in warned), res.stderr
    assert any("grasp.iterations=20" in ln and "below" in ln for ln in warned), res.stderr
    assert not any("sync_every" in ln for ln in warned)  # 10 is inside [10, 100]


def test_screen_table_shows_planning_time_per_problem_and_no_mpc_tts(tiny_checkpoint,
                                                                     tmp_path):
    out = tmp_path / "run"
    res = invoke(*run_args(tiny_checkpoint, out, "--batch-size", 2))
    assert res.exit_code == 0, res.output
    assert "plan/problem" in res.output and "TTS" in res.output
    summary = pd.read_csv(out / "summary.csv")
    episodes = pd.read_csv(out / "episodes.csv")
    for r in summary.itertuples():
        cell = episodes[episodes.planner == r.planner]
        assert r.mean_planning_time_per_problem_s == pytest.approx(
            (cell.planning_time_s / cell.batch_size).mean())
    out = tmp_path / "mpc"
    res = invoke(*run_args(tiny_checkpoint, out, "--mode", "mpc"))
    assert res.exit_code == 0, res.output
    header = next(ln for ln in res.output.splitlines() if "planner" in ln and "mpc %" in ln)
    assert "TTS" not in header and "plan/problem" in header
    assert "MPC shows no TTS" in res.output
    assert "mpc TTS" not in (out / "summary.md").read_text()
