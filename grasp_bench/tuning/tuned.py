"""Tuned-config files: what ``grasp-bench tune`` writes and ``run --tuned`` reads.

One JSON file per (env, world model), ``results/reference/tuned/<env>-<model>.json`` for
the shipped ones::

    {"format": "grasp-bench-tuned/1", "env": "pusht", "model": "statemlp",
     "model_sha256": "...",
     "entries": {"grasp": {"60": {"source": "tuned" | "default", "config": {...},
                                  "reason": "...", "fresh": {...}, "default_fresh": {...},
                                  "trials": 30, "planner_seconds": ..., "seeds": {...},
                                  "git_sha": "...", ...}}}}

``config`` holds the searched fields only (empty when the default stays).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grasp_bench.errors import UserError
from grasp_bench.results import write_json_atomic
from grasp_bench.tasks import REPO_ROOT, Task

__all__ = [
    "FORMAT",
    "TUNED_DIR",
    "TUNING_DIR",
    "file_sha256",
    "load_tuned",
    "lookup",
    "model_kind",
    "record_entry",
    "shipped_path",
]

FORMAT = "grasp-bench-tuned/1"
TUNED_DIR = REPO_ROOT / "results" / "reference" / "tuned"  # shipped, committed
TUNING_DIR = REPO_ROOT / "results" / "tuning"  # studies and fresh tuned files


def model_kind(manifest: dict) -> str:
    """The world model's kind for file names: its class, lower case (``statemlp``), or
    ``simulator`` for the ceiling."""
    if manifest.get("sha256") == "simulator":
        return "simulator"
    return str(manifest.get("architecture", {}).get("class", "model")).lower()


def shipped_path(task: Task, kind: str) -> Path:
    return TUNED_DIR / f"{task.tag}-{kind}.json"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_tuned(path: Path) -> dict:
    """A tuned file, checked for its format; :class:`UserError` if missing or damaged."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no tuned configs at {path}; make them with `grasp-bench tune`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"cannot read tuned configs {path}: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT \
            or not isinstance(data.get("entries"), dict):
        raise UserError(f"{path} is not a grasp-bench tuned-config file ({FORMAT})")
    for planner, by_h in data["entries"].items():
        if not isinstance(by_h, dict) or not all(
                k.isdigit() and isinstance(v, dict) and isinstance(v.get("config"), dict)
                for k, v in by_h.items()):
            raise UserError(f"{path}: damaged entry for planner {planner!r}")
    return data


def lookup(data: dict, planner: str, horizon: int) -> tuple[dict, int] | None:
    """``(config, tuned_at_H)`` of ``planner`` at ``horizon``, or at the nearest tuned
    horizon (the shorter one on a tie); None when the planner was never tuned."""
    by_h = data["entries"].get(planner)
    if not by_h:
        return None
    h = min((int(k) for k in by_h), key=lambda k: (abs(k - horizon), k))
    return dict(by_h[str(h)]["config"]), h


def record_entry(path: Path, *, env: str, kind: str, sha256: str, planner: str,
                 horizon: int, entry: dict) -> None:
    """Add or replace one (planner, H) entry of the file at ``path`` (atomically); a file
    of another env or model is refused rather than mixed."""
    if path.exists():
        data = load_tuned(path)
        if (data.get("env"), data.get("model"), data.get("model_sha256")) != (env, kind, sha256):
            raise UserError(f"{path} holds configs of another env or model "
                            f"({data.get('env')}, {str(data.get('model_sha256'))[:12]}); "
                            "pick another --out")
    else:
        data = {"format": FORMAT, "env": env, "model": kind, "model_sha256": sha256,
                "entries": {}}
    data["entries"].setdefault(planner, {})[str(horizon)] = entry
    data["entries"][planner] = dict(sorted(data["entries"][planner].items(),
                                           key=lambda kv: int(kv[0])))
    write_json_atomic(data, path)
