"""Run metadata for ``meta.json``: command, git, versions, device, and the machine's
state (torch threads, load average before and after, CPU model) that timings depend on."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages, or None where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_info() -> dict[str, Any]:
    """What timings depend on: CPU model, logical cores, torch threads, load now."""
    import torch

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "load_before": load_average(), "busy_cores_before": busy_cores(0.2)}


def busy_cores(interval_s: float = 0.5) -> float | None:
    """Cores' worth of CPU time used by all processes over ``interval_s`` (``/proc/stat``),
    or None where it cannot be read.  Unlike the load average it does not lag."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle

    try:
        t0, i0 = sample()
        time.sleep(interval_s)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if t1 <= t0:
        return None
    return (1.0 - (i1 - i0) / (t1 - t0)) * (os.cpu_count() or 1)


def busy_warning(threads: int, busy: float | None = None) -> str | None:
    """A warning when other work leaves fewer idle cores than torch threads (``busy``: the
    cores in use now, measured by :func:`busy_cores` when not given)."""
    cores = os.cpu_count() or 1
    busy = busy_cores() if busy is None else busy
    if busy is None or cores - busy >= min(threads, cores) - 0.25:
        return None
    return (f"the machine is busy ({busy:.1f} of {cores} cores in use, {threads} torch "
            "threads): planner timings will be inflated")


def _git(args: Sequence[str], cwd: Path) -> str | None:
    """Output of a git command run in ``cwd``, or None when git or the repo is unavailable."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def git_sha() -> str:
    """HEAD of the repository holding this file, or ``"unknown"``."""
    sha = _git(["rev-parse", "HEAD"], Path(__file__).resolve().parent)
    return sha.strip() if sha else "unknown"


def _package_version(name: str) -> str:
    """Installed version of a distribution, or 'not installed'."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _grasp_bench_version() -> str:
    """Installed grasp-bench version, falling back to the package's ``__version__``."""
    version = _package_version("grasp-bench")
    if version == "not installed":
        from grasp_bench.version import __version__

        version = __version__
    return version


def _torch_info() -> dict[str, Any]:
    """torch, CUDA and cuDNN versions (torch imported lazily); 'not installed' without torch."""
    try:
        import torch
    except ImportError:
        return {"torch": "not installed", "cuda": None, "cudnn": None, "cuda_available": False}
    cudnn = None
    try:
        if torch.backends.cudnn.is_available():
            cudnn = torch.backends.cudnn.version()
    except Exception:  # a broken CUDA install must not break metadata
        cudnn = None
    return {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": cudnn,
            "cuda_available": bool(torch.cuda.is_available())}


def collect_meta(command: list[str], seeds: dict, device_name: str,
                 checkpoints: dict[str, str], extra: dict) -> dict:
    """Run metadata for meta.json.

    Keys: ``command`` (list) and ``command_line`` (joined), ``git_sha`` and
    ``git_dirty`` (of the repository holding this file; ``"unknown"`` when git or the
    repository is unavailable or has no commit), ``python``, ``platform``,
    ``versions`` (grasp-bench, torch, cuda, cudnn, numpy, pandas, gymnasium, pymunk),
    ``cuda_available``, ``device``, ``seeds``, ``checkpoints``, ``timestamp_utc``
    (ISO 8601) and ``extra`` (the caller's dict, unchanged).
    """
    repo = Path(__file__).resolve().parent
    sha = _git(["rev-parse", "HEAD"], repo)
    status = _git(["status", "--porcelain"], repo)
    torch_info = _torch_info()
    versions = {
        "grasp-bench": _grasp_bench_version(),
        "torch": torch_info["torch"], "cuda": torch_info["cuda"], "cudnn": torch_info["cudnn"],
        **{name: _package_version(name) for name in ("numpy", "pandas", "gymnasium", "pymunk")},
    }
    return {
        "command": list(command),
        "command_line": shlex.join(command),
        "git_sha": sha.strip() if sha else "unknown",
        "git_dirty": bool(status.strip()) if status is not None else "unknown",
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions,
        "cuda_available": torch_info["cuda_available"],
        "device": device_name,
        "seeds": dict(seeds),
        "checkpoints": dict(checkpoints),
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "extra": dict(extra),
    }


