"""Run metadata and the busy-machine warning."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

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


def test_collect_meta_python_version() -> None:
    info = collect_meta([], {}, "cpu", {}, {})
    major, minor = sys.version_info[:2]
    assert info["python"].startswith(f"{major}.{minor}.") and " " not in info["python"]


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
    (4.25, 4, False),  # 3.75 idle cores for 4 threads: within the 0.25 slack
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


def _fake_proc_stat(monkeypatch: pytest.MonkeyPatch, *cpu_lines: str) -> None:
    """/proc/stat reads giving ``cpu_lines`` in turn; no sleeping, 4 cores."""
    texts = iter(f"{line}\ncpu0 1 2 3 4 5 6 7 8\nintr 99\n" for line in cpu_lines)

    class ProcStat:
        def __init__(self, path: str) -> None:
            assert path == "/proc/stat"

        def read_text(self) -> str:
            return next(texts)

    monkeypatch.setattr(meta, "Path", ProcStat)
    monkeypatch.setattr(meta.time, "sleep", lambda s: None)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)


def test_busy_cores_counts_iowait_as_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """cpu line: user nice system idle iowait irq softirq steal guest guest_nice; idle and
    iowait are idle time, guest time is already in user."""
    _fake_proc_stat(monkeypatch, "cpu  100 0 50 800 40 0 10 20 5 0",
                    "cpu  300 0 100 1300 140 0 60 70 25 0")
    # 950 ticks (steal included), of them 500 idle + 100 iowait
    assert meta.busy_cores(0.3) == pytest.approx(4 * (1 - 600 / 950))


@pytest.mark.parametrize(("first", "second"), [
    ("cpu  100 0 50 800 40 0 10 20 5 0", "cpu  100 0 50 800 40 0 10 20 5 0"),  # no move
    ("cpu  300 0 100 1300 140 0 60 70 25 0", "cpu  100 0 50 800 40 0 10 20 5 0"),  # back
])
def test_busy_cores_none_when_the_counters_did_not_move_forward(
        monkeypatch: pytest.MonkeyPatch, first: str, second: str) -> None:
    _fake_proc_stat(monkeypatch, first, second)
    assert meta.busy_cores(0.3) is None


def test_busy_cores_without_iowait_field(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_proc_stat(monkeypatch, "cpu 100 0 50 800", "cpu 300 0 100 1300")
    assert meta.busy_cores(0.3) == pytest.approx(4 * (1 - 500 / 750))


def test_cudnn_version_only_where_cudnn_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(meta, "_git", lambda args, cwd: None)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90101)
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: True)
    assert collect_meta([], {}, "cuda", {}, {})["versions"]["cudnn"] == 90101
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: False)
    assert collect_meta([], {}, "cpu", {}, {})["versions"]["cudnn"] is None


def test_cpu_model_from_proc_cpuinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    class CpuInfo:
        def __init__(self, path: str) -> None:
            assert path == "/proc/cpuinfo"

        def read_text(self) -> str:
            return "processor\t: 0\nvendor_id\t: Acme\nModel Name\t: Acme Z9: 3.1 GHz \n"

    monkeypatch.setattr(meta, "Path", CpuInfo)
    assert meta.cpu_model() == "Acme Z9: 3.1 GHz"


def test_load_average_none_where_the_os_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> tuple[float, float, float]:
        raise OSError("no load average")

    monkeypatch.setattr(os, "getloadavg", unavailable)
    assert meta.load_average() is None
    monkeypatch.delattr(os, "getloadavg")
    assert meta.load_average() is None


def test_collect_meta_grasp_bench_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from grasp_bench.version import __version__

    monkeypatch.setattr(meta, "_git", lambda args, cwd: None)
    monkeypatch.setattr(meta, "_package_version",
                        lambda name: "7.7.7" if name == "grasp-bench" else "1.0")
    assert collect_meta([], {}, "cpu", {}, {})["versions"]["grasp-bench"] == "7.7.7"
    monkeypatch.setattr(meta, "_package_version", lambda name: "not installed")
    assert collect_meta([], {}, "cpu", {}, {})["versions"]["grasp-bench"] == __version__


@pytest.mark.parametrize("cpu_line", ["cpu  100 0 50 eight 40", "cpu  100 0 50"])
def test_busy_cores_none_when_proc_stat_is_unexpected(monkeypatch: pytest.MonkeyPatch,
                                                      cpu_line: str) -> None:
    _fake_proc_stat(monkeypatch, cpu_line, cpu_line)
    assert meta.busy_cores(0.3) is None


def test_cpu_model_falls_back_to_the_machine_without_a_processor_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without /proc/cpuinfo the model is platform.processor(), else platform.machine()."""
    class NoCpuInfo:
        def __init__(self, path: str) -> None:
            pass

        def read_text(self) -> str:
            raise OSError("no /proc/cpuinfo")

    monkeypatch.setattr(meta, "Path", NoCpuInfo)
    monkeypatch.setattr(meta.platform, "machine", lambda: "riscv64")
    monkeypatch.setattr(meta.platform, "processor", lambda: "")
    assert meta.cpu_model() == "riscv64"
    monkeypatch.setattr(meta.platform, "processor", lambda: "Acme Z9")
    assert meta.cpu_model() == "Acme Z9"


def test_busy_cores_idle_of_a_line_without_iowait_is_its_idle_field(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 4-field cpu line adds no iowait to idle (here the first read has iowait, the
    second none: idle goes from 800 + 40 to 1300)."""
    _fake_proc_stat(monkeypatch, "cpu  100 0 50 800 40", "cpu  300 0 100 1300")
    assert meta.busy_cores(0.3) == pytest.approx(4 * (1 - 460 / 710))


def test_busy_cores_idle_time_is_a_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle 1000 -> 2700 over 3000 ticks: 1700 idle ticks (not 2700 mod 1000)."""
    _fake_proc_stat(monkeypatch, "cpu  500 0 0 1000", "cpu  1800 0 0 2700")
    assert meta.busy_cores(0.3) == pytest.approx(4 * (1 - 1700 / 3000))


def test_busy_cores_of_an_unknown_core_count_is_one_core(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_proc_stat(monkeypatch, "cpu  500 0 0 1000", "cpu  1800 0 0 2700")
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert meta.busy_cores(0.3) == pytest.approx(1 - 1700 / 3000)


def test_git_returns_the_command_output(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert meta._git(["--version"], tmp_path).startswith("git version ")
