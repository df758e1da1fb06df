"""``sweep --ray``: a real local Ray cluster (2 workers) against the serial sweep, cell by
cell; a worker killed mid-cell; a driver killed mid-sweep, then resumed; no Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from grasp_bench.claim import holder_of
from grasp_bench.cli import app
from tests.test_faults import assert_complete_run, assert_one_line_error

runner = CliRunner()
GRASP_BENCH = Path(sys.executable).with_name("grasp-bench")
#: 2 planners x 2 batches of 1 problem: 4 tasks of about a second
#: (GD's 800 iterations keep a task alive long enough to be killed).
ARGS = ["--env", "ballnav", "--horizons", "10", "--planners", "cem,gd", "--episodes", "2",
        "--batch-size", "1", "--device", "cpu", "--set", "cem.iterations=3",
        "--set", "cem.samples=16", "--set", "cem.topk=4", "--set", "gd.iterations=800"]
SAME = ["seed", "success_model", "success_executed", "model_cost", "real_error", "iterations"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRASP_BENCH_CACHE", str(out.parent / "cache"))
        res = runner.invoke(app, ["sweep", *ARGS, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def assert_same_cells(a: Path, b: Path) -> None:
    """The same episodes, cell by cell, with the same outcomes (timings aside)."""
    key = ["planner", "horizon", "episode"]
    ea = pd.read_csv(a / "episodes.csv").sort_values(key).reset_index(drop=True)
    eb = pd.read_csv(b / "episodes.csv").sort_values(key).reset_index(drop=True)
    assert ea[key].equals(eb[key])
    pd.testing.assert_frame_equal(ea[SAME], eb[SAME], check_exact=False, rtol=1e-5)


def start(args: list[str], tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "GRASP_BENCH_CACHE": str(tmp_path / "cache")}
    return subprocess.Popen([str(GRASP_BENCH), *args], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "err", "w"))


def workers_planning() -> list[int]:
    """PIDs of Ray workers running a planning task now (Ray titles them by the task)."""
    pids = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and (d / "cmdline").read_bytes().startswith(b"ray::_plan_batch"):
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


def wait_for(condition, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_ray_sweep_on_two_workers_gives_the_serial_cells(serial, tmp_path):
    pytest.importorskip("ray")
    from grasp_bench.distributed import connect
    from grasp_bench.options import SweepOptions, prepare
    from grasp_bench.sweep import run_sweep

    ray = connect("local", num_cpus=2)
    try:
        assert ray.cluster_resources()["CPU"] == 2
        opts = SweepOptions(env="ballnav", planners=("cem", "gd"), horizons=(10,),
                            episodes=2, batch_size=1,
                            overrides=("cem.iterations=3", "cem.samples=16", "cem.topk=4",
                                       "gd.iterations=800"))
        (tmp_path / "ray" / "cells").mkdir(parents=True)
        run_sweep(prepare(opts), tmp_path / "ray", ray="local")
    finally:
        ray.shutdown()
    assert_complete_run(tmp_path / "ray", planners=("cem", "gd"), horizons=(10,))
    assert_same_cells(serial, tmp_path / "ray")


def test_a_worker_killed_mid_cell_is_replaced_and_the_sweep_completes(serial, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "run"
    proc = start(["sweep", *ARGS, "--out", str(out), "--ray"], tmp_path)
    try:
        if not wait_for(lambda: bool(workers_planning()) or proc.poll() is not None):
            pytest.fail("no Ray worker started planning")
        victims = workers_planning()
        if not victims:
            pytest.fail("the sweep ended before a worker could be killed: "
                        + (tmp_path / "err").read_text()[-400:])
        os.kill(victims[0], signal.SIGKILL)
        assert proc.wait(timeout=300) == 0, (tmp_path / "err").read_text()[-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert_complete_run(out, planners=("cem", "gd"), horizons=(10,))
    assert_same_cells(serial, out)


def test_a_killed_ray_sweep_resumes_without_redoing_finished_cells(serial, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "run"
    proc = start(["sweep", *ARGS, "--out", str(out), "--ray"], tmp_path)
    try:
        if not wait_for(lambda: any((out / "cells").glob("*.episodes.csv"))
                        or proc.poll() is not None):
            pytest.fail("no cell finished")
        if proc.poll() is None:  # the driver holds the run's claim
            assert getattr(holder_of(out), "pid", None) == proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*.episodes.csv")}
    res = subprocess.run([str(GRASP_BENCH), "sweep", "--resume", str(out), "--ray"],
                         env={**os.environ, "GRASP_BENCH_CACHE": str(tmp_path / "cache")},
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())  # never redone
    assert_complete_run(out, planners=("cem", "gd"), horizons=(10,))
    assert_same_cells(serial, out)


def test_without_ray_installed_ray_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    res = runner.invoke(app, ["sweep", *ARGS, "--out", str(tmp_path / "run"), "--ray"])
    assert_one_line_error(res)
    assert "pip install" in res.stderr and not (tmp_path / "run").exists()


def test_ray_address_needs_ray(tmp_path):
    res = runner.invoke(app, ["sweep", *ARGS, "--ray-address", "auto"])
    assert_one_line_error(res)
