"""``grasp-bench tune`` end to end on a tiny model: files, resume after SIGKILL, bad input;
``run --tuned-file``, ``planners --tuned-file`` and ``report --compare`` on its output."""

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from typer.testing import CliRunner

from grasp_bench.cli import app
from tests.test_faults import assert_one_line_error
from tests.tuning.conftest import FAST

runner = CliRunner()
GRASP_BENCH = os.path.join(os.path.dirname(sys.executable), "grasp-bench")


def tune_args(ckpt, tmp_path, trials=3, planners="gd,cem"):
    return ["tune", "--env", "pusht", "--checkpoint", str(ckpt), "--horizons", "5",
            "--planners", planners, "--trials", str(trials), "--problems", "2",
            "--device", "cpu", "--storage", str(tmp_path / "s.db"),
            "--out", str(tmp_path / "tuned.json"),
            *fast_for(planners)]


def fast_for(planners: str) -> list[str]:
    """The FAST settings of the planners given."""
    pairs = [FAST[i:i + 2] for i in range(0, len(FAST), 2)]
    return [x for flag, value in pairs if value.split(".")[0] in planners.split(",")
            for x in (flag, value)]


def complete_trials(db, name):
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{db}")
    return [t for t in study.trials if t.state.name == "COMPLETE"], study


@pytest.fixture(scope="module")
def tuned(tiny_checkpoint, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tune")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRASP_BENCH_CACHE", str(tmp / "cache"))
        res = runner.invoke(app, tune_args(tiny_checkpoint, tmp))
    assert res.exit_code == 0, res.output
    return tmp


def test_tune_writes_the_storage_the_tuned_file_and_every_trial(tuned):
    data = json.loads((tuned / "tuned.json").read_text())
    assert data["env"] == "pusht" and set(data["entries"]) == {"gd", "cem"}
    for planner in ("gd", "cem"):
        e = data["entries"][planner]["5"]
        assert e["trials"] == 3 and e["source"] in ("tuned", "default")
        assert e["protocol"]["split"] == "tuning" and e["planner_seconds"] > 0
        for metric in ("executed", "model"):
            lo, hi = e["fresh"][f"ci_{metric}"]
            assert 0 <= lo <= e["fresh"][f"rate_{metric}"] <= hi <= 1
        assert e["protocol"]["score"].startswith("executed")
        done, _ = complete_trials(tuned / "s.db", f"{planner}-H5-P2-replay")
        assert len(done) == 3
    trials = pd.read_csv(tuned / "tuned-trials.csv")
    assert len(trials) == 6 and trials["default"].sum() == 2


def study_state(db, name):
    """Every trial of a study (number, state, params, value, user attributes) and the
    study's own attributes (the time cap, the fresh scores)."""
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{db}")
    trials = [(t.number, t.state.name, t.params, t.value, t.user_attrs) for t in study.trials]
    return trials, study.user_attrs


def tuned_entries(path):
    """The tuned file's entries, without the time each was written."""
    entries = json.loads(path.read_text())["entries"]
    return {p: {h: {k: v for k, v in e.items() if k != "created_utc"} for h, e in by_h.items()}
            for p, by_h in entries.items()}


def record_scoring(monkeypatch) -> list[str]:
    """The planner of every config scored from now on (search trials and confirmations)."""
    from grasp_bench.tuning import study as study_module

    real, scored = study_module.score_config, []

    def recording(ctx, problems, planner, *a, **k):
        scored.append(planner)
        return real(ctx, problems, planner, *a, **k)

    monkeypatch.setattr(study_module, "score_config", recording)
    return scored


def test_a_second_tune_needs_resume_which_adds_nothing_to_finished_studies(
        tuned, tiny_checkpoint, monkeypatch):
    names = ("gd-H5-P2-replay", "cem-H5-P2-replay")
    before = {n: study_state(tuned / "s.db", n) for n in names}
    entries = tuned_entries(tuned / "tuned.json")
    scored = record_scoring(monkeypatch)
    res = runner.invoke(app, tune_args(tiny_checkpoint, tuned))
    assert_one_line_error(res)
    assert "--resume" in res.stderr
    res = runner.invoke(app, [*tune_args(tiny_checkpoint, tuned), "--resume"])
    assert res.exit_code == 0, res.output
    assert len(complete_trials(tuned / "s.db", "gd-H5-P2-replay")[0]) == 3
    # finished studies are left alone: nothing is scored again, no trial or score changes
    assert scored == []
    assert {n: study_state(tuned / "s.db", n) for n in names} == before
    assert tuned_entries(tuned / "tuned.json") == entries


def test_resume_runs_only_the_unfinished_study(tiny_checkpoint, tmp_path, monkeypatch):
    """gd tuned first; a resume with gd and cem runs cem's study only and leaves gd's study
    and entry as they were."""
    res = runner.invoke(app, tune_args(tiny_checkpoint, tmp_path, planners="gd"))
    assert res.exit_code == 0, res.output
    gd = study_state(tmp_path / "s.db", "gd-H5-P2-replay")
    gd_entry = tuned_entries(tmp_path / "tuned.json")["gd"]
    scored = record_scoring(monkeypatch)
    res = runner.invoke(app, [*tune_args(tiny_checkpoint, tmp_path), "--resume"])
    assert res.exit_code == 0, res.output
    assert set(scored) == {"cem"}  # its 3 trials, then its confirmations
    assert scored.count("cem") >= 3
    assert study_state(tmp_path / "s.db", "gd-H5-P2-replay") == gd
    entries = tuned_entries(tmp_path / "tuned.json")
    assert entries["gd"] == gd_entry and set(entries) == {"gd", "cem"}
    assert len(complete_trials(tmp_path / "s.db", "cem-H5-P2-replay")[0]) == 3


def test_run_uses_tuned_configs_and_report_compares(tuned, tiny_checkpoint, tmp_path):
    common = ["run", "--horizon", "5", "--planners", "gd", "--episodes", "2", "--device", "cpu",
              "--checkpoint", str(tiny_checkpoint), "--set", "gd.iterations=5"]
    res = runner.invoke(app, [*common, "--tuned-file", str(tuned / "tuned.json"),
                              "--out", str(tmp_path / "tuned")])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "tuned" / "meta.json").read_text())
    cell = meta["extra"]["tuned"]["cells"]["gd-H5"]
    entry = json.loads((tuned / "tuned.json").read_text())["entries"]["gd"]["5"]
    assert cell["config"] == entry["config"] and cell["tuned_at"] == 5
    assert runner.invoke(app, [*common, "--out", str(tmp_path / "default")]).exit_code == 0
    res = runner.invoke(app, ["report", str(tmp_path / "default"), "--compare",
                              str(tmp_path / "tuned")])
    assert res.exit_code == 0 and "model: default" in res.output and "model: tuned" in res.output
    res = runner.invoke(app, ["planners", "--tuned-file", str(tuned / "tuned.json")])
    assert res.exit_code == 0 and "gd" in res.output


def test_run_with_a_planner_never_tuned_is_one_line(tuned, tiny_checkpoint, tmp_path):
    res = runner.invoke(app, ["run", "--horizon", "5", "--planners", "grasp", "--episodes", "2",
                              "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
                              "--tuned-file", str(tuned / "tuned.json"),
                              "--out", str(tmp_path / "r")])
    assert_one_line_error(res)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("bad", [["--trials", "1"], ["--problems", "0"], ["--time-cap", "0.5"],
                                 ["--rescore", "0"], ["--planners", "nope"],
                                 ["--horizons", "7"], ["--set", "gd.lr=-1"]])
def test_bad_input_is_one_line_and_writes_nothing(bad, tiny_checkpoint, tmp_path):
    res = runner.invoke(app, [*tune_args(tiny_checkpoint, tmp_path), *bad])
    assert_one_line_error(res)
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "tuned.json").exists()


def test_sigkill_mid_study_then_resume_loses_and_repeats_no_trial(tiny_checkpoint, tmp_path):
    args = tune_args(tiny_checkpoint, tmp_path, trials=40, planners="gd")
    env = {**os.environ, "GRASP_BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([GRASP_BENCH, *args[0:]], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "err", "w"))
    db, name, before = tmp_path / "s.db", "gd-H5-P2-replay", []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                before, _ = complete_trials(db, name)
            except Exception:  # the storage or study does not exist yet
                continue
            if len(before) >= 5:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if len(before) < 5 or len(before) >= 40:
        pytest.fail(f"the kill did not land mid-study ({len(before)} trials done): "
                    + (tmp_path / "err").read_text()[-500:])
    res = subprocess.run([GRASP_BENCH, *args, "--resume"], env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    done, study = complete_trials(db, name)
    assert len(done) == 40
    assert not [t for t in study.trials if t.state.name == "RUNNING"]
    kept = {t.number: (t.params, t.value, t.user_attrs) for t in done}
    # nothing finished was lost or run again (its params, value and score as they were)
    assert all(kept.get(t.number) == (t.params, t.value, t.user_attrs) for t in before)
    configs = [repr(sorted(t.params.items())) for t in done]
    assert len(configs) == len(set(configs))  # nor repeated
