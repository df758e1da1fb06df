"""One writer per output (``grasp_bench.claim``), with real concurrent processes.

Writers are real ``grasp-bench`` processes.  Where a test needs a writer caught in the
act it stops it with SIGSTOP once its lock file names it (a stopped process keeps its
locks), runs the contender, and lets it go on with SIGCONT: no timing guess decides
the outcome.  A claim left by a process killed with SIGKILL is taken over at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from grasp_bench.claim import LOCK_NAME, Claimed, claim_dir, claim_file, holder_of
from grasp_bench.cli import app
from tests.test_faults import assert_complete_run, assert_one_line_error

runner = CliRunner()
GRASP_BENCH = Path(sys.executable).with_name("grasp-bench")
#: Cells of a fraction of a second: BallNav's shipped model, 2 problems, a tiny CEM.
BASE = ["--env", "ballnav", "--episodes", "2", "--device", "cpu"]
TINY = [*BASE, "--set", "cem.iterations=2", "--set", "cem.samples=8", "--set", "cem.topk=2"]
HORIZONS = (10, 20, 30, 40)
#: Holds a claim on argv[1] in a process of its own until killed.
HOLD = ("import sys, time\nfrom pathlib import Path\nfrom grasp_bench.claim import claim_dir\n"
        "claim_dir(Path(sys.argv[1]), hint='test')\nprint('held', flush=True)\ntime.sleep(600)")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))


def start(args: list, tmp_path: Path, name: str) -> subprocess.Popen:
    """``grasp-bench ARGS`` in a session of its own, its output in ``name.out``/``.err``."""
    with open(tmp_path / f"{name}.out", "wb") as out, open(tmp_path / f"{name}.err", "wb") as err:
        return subprocess.Popen([str(GRASP_BENCH), *map(str, args)], env=dict(os.environ),
                                cwd=tmp_path, start_new_session=True, stdout=out, stderr=err)


def finish(proc: subprocess.Popen, timeout: float = 240) -> int:
    """Wait for ``proc``; kill its session if it ran past ``timeout``."""
    try:
        return proc.wait(timeout=timeout)
    finally:
        stop_for_good(proc)


def stop_for_good(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def errors(tmp_path: Path, name: str) -> list[str]:
    """The stderr lines of process ``name`` other than warnings."""
    text = (tmp_path / f"{name}.err").read_text()
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("warning:")]


def recorded_pid(lock: Path) -> int | None:
    try:
        return json.loads(lock.read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen (writer exit {proc.poll()})")
        time.sleep(0.005)


@contextlib.contextmanager
def stopped(proc: subprocess.Popen):
    """``proc`` (and its session) stopped, its claim still held, then running again."""
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(proc.pid, signal.SIGCONT)


def assert_names(line: str, pid: int) -> None:
    """A refusal: one ``error:`` line naming the holder's pid, host and start time."""
    assert line.startswith("error:") and "is being written by" in line, line
    assert f"pid {pid} on {socket.gethostname()}, started 20" in line, line


def listing(d: Path) -> dict[str, int]:
    return {p.relative_to(d).as_posix(): p.stat().st_mtime_ns for p in d.rglob("*")}


def sweep_args(out: Path) -> list:
    return ["sweep", "--horizons", ",".join(map(str, HORIZONS)), "--planners", "cem", *TINY,
            "--out", out]


# -- the claim itself -----------------------------------------------------------------------
def test_a_claim_names_its_holder_and_one_left_by_sigkill_blocks_nothing(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], text=True,
                              stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert holder_of(run_dir).pid == holder.pid
        with pytest.raises(Claimed) as refused:
            claim_dir(run_dir, hint="pick another")
        assert refused.value.holder.pid == holder.pid
        assert_names(f"error: {refused.value}", holder.pid)
        assert "\n" not in str(refused.value) and str(refused.value).endswith("pick another")
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    finally:
        stop_for_good(holder)
    assert recorded_pid(run_dir / LOCK_NAME) == holder.pid  # the stale file is still there
    assert holder_of(run_dir) is None  # ... and reads as no writer
    with claim_dir(run_dir, hint="x") as claim:  # taken over at once
        assert recorded_pid(run_dir / LOCK_NAME) == os.getpid() == claim.holder.pid
        with pytest.raises(Claimed):  # one process cannot claim twice either
            claim_dir(run_dir, hint="x")
    assert not (run_dir / LOCK_NAME).exists()  # a released claim leaves nothing
    with claim_file(tmp_path / "a" / "s.db", what="storage", hint="x"):
        assert (tmp_path / "a" / ".s.db.lock").is_file()
    assert not (tmp_path / "a" / ".s.db.lock").exists()


# -- run: two writers, one --out --------------------------------------------------------------
def test_two_runs_started_together_with_one_out_exactly_one_writes(tmp_path):
    out = tmp_path / "run"
    runs = {"cem": start(["run", "--horizon", 10, "--planners", "cem", *TINY, "--out", out],
                         tmp_path, "cem"),
            "gd": start(["run", "--horizon", 10, "--planners", "gd", "--set", "gd.iterations=2",
                         *BASE, "--out", out], tmp_path, "gd")}
    codes = {name: finish(proc) for name, proc in runs.items()}
    assert sorted(codes.values()) == [0, 2], codes
    winner = next(n for n, c in codes.items() if c == 0)
    loser = next(n for n, c in codes.items() if c == 2)
    lines = errors(tmp_path, loser)
    assert len(lines) == 1, lines
    if "is being written" in lines[0]:  # refused while the winner ran
        assert_names(lines[0], runs[winner].pid)
    else:  # started after the winner had finished: refused as not empty
        assert "is not empty" in lines[0], lines[0]
    assert set(pd.read_csv(out / "episodes.csv")["planner"]) == {winner}
    assert f"--planners {winner}" in json.loads((out / "meta.json").read_text())["command_line"]
    assert not (out / LOCK_NAME).exists()


# -- a sweep being written: run, report, check, a second resume ------------------------------
def test_a_sweep_being_written_refuses_writers_and_readers_see_finished_cells(tmp_path):
    out = tmp_path / "sweep"
    writer = start(sweep_args(out), tmp_path, "writer")
    try:
        wait_for(lambda: (out / "summary.csv").exists(), writer, "a first finished cell")
        with stopped(writer):
            done = sorted(p.name for p in (out / "cells").glob("*.episodes.csv"))
            if len(done) == len(HORIZONS):
                pytest.fail("the sweep finished every cell before it could be stopped")
            assert recorded_pid(out / LOCK_NAME) == writer.pid
            before = listing(out)
            contenders = {
                "run": start(["run", "--horizon", 10, "--planners", "cem", *TINY, "--out", out],
                             tmp_path, "run"),
                "resume": start(["sweep", "--resume", out], tmp_path, "resume"),
                "report": start(["report", out], tmp_path, "report"),
            }
            for name, proc in contenders.items():
                assert finish(proc) == 2, (tmp_path / f"{name}.err").read_text()
                lines = errors(tmp_path, name)
                assert len(lines) == 1, (name, lines)
                assert_names(lines[0], writer.pid)
            # readers: the finished cells only, with a warning naming the writer
            res = runner.invoke(app, ["check", str(out), "--baseline", str(out / "summary.csv")])
            assert res.exit_code == 0, res.output
            warning = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
            assert len(warning) == 1 and f"pid {writer.pid}" in warning[0], res.stderr
            assert "still being written" in warning[0]
            res = runner.invoke(app, ["report", str(out), "--compare", str(out)])
            assert res.exit_code == 0 and f"pid {writer.pid}" in res.stderr, res.output
            assert listing(out) == before  # nothing written by anyone
        assert finish(writer) == 0, (tmp_path / "writer.err").read_text()
    finally:
        stop_for_good(writer)
    assert_complete_run(out, planners=("cem",), horizons=HORIZONS)
    assert not (out / LOCK_NAME).exists()
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0  # free again


# -- a sweep killed with SIGKILL, then two resumes ------------------------------------------
def test_after_sigkill_resume_works_and_a_second_resume_is_refused(tmp_path):
    out = tmp_path / "sweep"
    killed = start(sweep_args(out), tmp_path, "killed")
    try:
        wait_for(lambda: any((out / "cells").glob("*.episodes.csv")), killed, "a finished cell")
    finally:
        stop_for_good(killed)  # SIGKILL to its session
    assert recorded_pid(out / LOCK_NAME) == killed.pid  # its claim file is left behind
    first = start(["sweep", "--resume", out], tmp_path, "first")
    try:
        wait_for(lambda: recorded_pid(out / LOCK_NAME) == first.pid, first, "the resume's claim")
        with stopped(first):
            second = start(["sweep", "--resume", out], tmp_path, "second")
            assert finish(second) == 2, (tmp_path / "second.err").read_text()
            lines = errors(tmp_path, "second")
            assert len(lines) == 1, lines
            assert_names(lines[0], first.pid)
        assert finish(first) == 0, (tmp_path / "first.err").read_text()
    finally:
        stop_for_good(first)
    assert_complete_run(out, planners=("cem",), horizons=HORIZONS)
    assert not (out / LOCK_NAME).exists()


# -- tune: one process per storage, and per tuned file ----------------------------------------
def test_a_second_tune_on_one_storage_or_tuned_file_is_refused(tmp_path):
    storage, tuned = tmp_path / "s.db", tmp_path / "tuned.json"
    args = ["tune", "--env", "ballnav", "--horizons", "10", "--planners", "cem", "--trials", 2,
            "--problems", 1, "--rescore", 1, "--device", "cpu", "--set", "cem.iterations=2"]
    first = start([*args, "--storage", storage, "--out", tuned], tmp_path, "first")
    lock = tmp_path / ".tuned.json.lock"  # the second claim the tune takes
    try:
        wait_for(lambda: recorded_pid(lock) == first.pid, first, "the tune's claims")
        with stopped(first):
            for what, flags in (("tuning storage", ["--storage", storage, "--out",
                                                    tmp_path / "other.json"]),
                                ("tuned-config file", ["--storage", tmp_path / "other.db",
                                                       "--out", tuned])):
                res = runner.invoke(app, [*map(str, args), *map(str, flags)])
                assert_one_line_error(res)
                assert_names(next(ln for ln in res.stderr.splitlines()
                                  if ln.startswith("error:")), first.pid)
                assert what in res.stderr, res.stderr
            assert not list(tmp_path.glob("*other*"))  # the refused tunes wrote nothing
        assert finish(first) == 0, (tmp_path / "first.err").read_text()
    finally:
        stop_for_good(first)
    assert json.loads(tuned.read_text())["entries"]["cem"]["10"]["trials"] == 2
    assert not lock.exists() and not (tmp_path / ".s.db.lock").exists()
