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
    "resolve_tuned",
    "tuned_meta",
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
        held = {entry_source(e) for by_h in data["entries"].values() for e in by_h.values()}
        if held - {entry_source(entry)}:
            raise UserError(f"{path} holds configs tuned on {', '.join(sorted(held))} "
                            f"problems, not {entry_source(entry)}; pick another --out")
    else:
        data = {"format": FORMAT, "env": env, "model": kind, "model_sha256": sha256,
                "entries": {}}
    data["entries"].setdefault(planner, {})[str(horizon)] = entry
    data["entries"][planner] = dict(sorted(data["entries"][planner].items(),
                                           key=lambda kv: int(kv[0])))
    write_json_atomic(data, path)


def entry_source(entry: dict) -> str:
    """The problem source an entry was tuned on (files from before sources: behaviour)."""
    return str((entry.get("protocol") or {}).get("problem_source", "behaviour"))


def resolve_tuned(prep) -> None:
    """Fill ``prep.tuned`` (a :class:`~grasp_bench.options.Prepared`) from the tuned file
    (nearest tuned H when the exact one is missing; GRASP's ablations not tuned themselves
    take tuned GRASP's config without their ablated fields); every config is checked to
    build."""
    from grasp_bench.planners import apply_overrides
    from grasp_bench.planners.grasp_presets import ablated_fields

    opts = prep.options
    path = shipped_path(prep.task, model_kind(prep.manifest)) if opts.tuned == "shipped" \
        else Path(opts.tuned)
    data = load_tuned(path)
    if data.get("env") != prep.task.tag or data.get("model_sha256") != prep.manifest["sha256"]:
        raise UserError(f"{path} was tuned for {data.get('env')} with model sha256 "
                        f"{str(data.get('model_sha256'))[:12]}, not this run's {prep.task.tag} "
                        f"({prep.manifest['sha256'][:12]})")
    for p in opts.planners:
        ablated = ablated_fields(p)
        for h in opts.horizons:
            found = lookup(data, p, h) or (lookup(data, "grasp", h) if ablated else None)
            if found is None:
                raise UserError(f"{path} has no tuned config for {p}; tune it "
                                f"(`grasp-bench tune --planners {p}`) or drop it")
            config, at = found
            tuned_as = p if p in data["entries"] else "grasp"  # an ablation of tuned GRASP
            source = entry_source(data["entries"][tuned_as][str(at)])
            if source != opts.problem_source:
                raise UserError(f"{path}: {tuned_as} H={at} was tuned on {source} problems, "
                                f"not this run's {opts.problem_source}; tune on them or pass "
                                f"--problem-source {source}")
            config = {k: v for k, v in config.items() if k not in ablated or tuned_as == p}
            apply_overrides(p, {**config, **prep.overrides.get(p, {})})
            prep.tuned[(p, h)] = (config, at, data["entries"][tuned_as][str(at)]["source"])
    prep.tuned_file = path


def tuned_meta(prep) -> dict | None:
    """What meta.json records of the tuned configs a run used."""
    if prep.tuned_file is None:
        return None
    path = prep.tuned_file
    shown = path.resolve().relative_to(REPO_ROOT) if path.resolve().is_relative_to(REPO_ROOT) \
        else Path(path.name)
    return {"file": str(shown), "sha256": file_sha256(path),
            "cells": {f"{p}-H{h}": {"tuned_at": at, "source": src, "config": config}
                      for (p, h), (config, at, src) in prep.tuned.items()}}
