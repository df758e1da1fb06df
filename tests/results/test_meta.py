"""Run metadata and the busy-machine warning."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from grasp_bench.results import busy_warning, collect_meta, meta

KEYS = {"command", "command_line", "git_sha", "git_dirty", "python", "python_implementation",
        "platform", "versions", "cuda_available", "device", "seeds", "checkpoints",
        "timestamp_utc", "extra"}


def test_collect_meta_fields() -> None:
    info = collect_meta(["grasp-bench", "run", "--horizon", "60", "a b"], {"problems": 0},
                        "cpu", {"pusht": "deadbeef"}, {"note": "x"})
    assert set(info) == KEYS
    assert info["command_line"] == "grasp-bench run --horizon 60 'a b'"
    assert info["command"][-1] == "a b" and info["device"] == "cpu"
    assert info["seeds"] == {"problems": 0} and info["checkpoints"] == {"pusht": "deadbeef"}
    assert info["extra"] == {"note": "x"}
    assert set(info["versions"]) == {"grasp-bench", "torch", "cuda", "cudnn", "numpy", "pandas",
                                     "gymnasium", "pymunk"}
    assert info["versions"]["pandas"] == pd.__version__
    assert info["git_sha"] == "unknown" or len(info["git_sha"]) == 40
    assert info["git_dirty"] in (True, False, "unknown")
    assert info["timestamp_utc"].endswith("+00:00")
    json.dumps(info)


def test_collect_meta_without_git_or_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meta, "_git", lambda args, cwd: None)
    monkeypatch.setattr(meta, "_torch_info", lambda: {
        "torch": "not installed", "cuda": None, "cudnn": None, "cuda_available": False})
    info = collect_meta([], {}, "cpu", {}, {})
    assert info["git_sha"] == "unknown" and info["git_dirty"] == "unknown"
    assert info["versions"]["torch"] == "not installed" and info["cuda_available"] is False


@pytest.mark.parametrize(("busy", "threads", "warns"), [
    (0.0, 4, False),
    (3.9, 4, False),   # 4.1 idle cores for 4 threads
    (6.0, 4, True),    # 2 idle cores for 4 threads
    (0.0, 64, False),  # more threads than cores on an idle machine is no busy machine
    (1.5, 64, True),
])
def test_busy_warning(monkeypatch: pytest.MonkeyPatch, busy: float, threads: int,
                      warns: bool) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(meta, "busy_cores", lambda *args: pytest.fail("measured anyway"))
    warning = busy_warning(threads, busy)
    if warns:
        assert isinstance(warning, str)
        assert f"{busy:.1f} of 8 cores in use, {threads} torch threads" in warning
    else:
        assert warning is None


def test_busy_warning_measures_when_not_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(meta, "busy_cores", lambda *args: 7.0)
    assert "7.0 of 8 cores" in busy_warning(2)
    monkeypatch.setattr(meta, "busy_cores", lambda *args: None)  # /proc/stat unreadable
    assert busy_warning(2) is None


def test_busy_cores_and_load_average_shapes() -> None:
    busy = meta.busy_cores(0.05)
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1) + 1e-9
    load = meta.load_average()
    assert load is None or (len(load) == 3 and all(x >= 0 for x in load))
