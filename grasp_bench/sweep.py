"""Runs and sweeps: validated options, a run directory, resumable cells.

A run directory holds ``meta.json`` (with the options it was made with), one pair of
files per finished cell under ``cells/`` (written atomically, snapshots before
episodes, so a cell counts as done only once both are complete), and the combined
``episodes.csv``, ``snapshots.csv``, ``summary.csv``, ``summary.md`` and plots, rewritten
after every cell.  ``--resume`` skips finished cells; a killed sweep resumes cleanly.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import torch

from grasp_bench.bench import EPISODE_COLUMNS, SNAPSHOT_COLUMNS, run_cell
from grasp_bench.devices import device_name, resolve_device
from grasp_bench.errors import UserError
from grasp_bench.models.checkpoint import load_checkpoint
from grasp_bench.planners import parse_overrides
from grasp_bench.problems import load_or_generate
from grasp_bench.results import (
    collect_meta,
    load_run,
    load_summary,
    read_csv_cells,
    write_csv_atomic,
    write_json_atomic,
)
from grasp_bench.seeds import SPLITS
from grasp_bench.tasks import REPO_ROOT, Task, get_task

RUNS_DIR = REPO_ROOT / "results" / "runs"


@dataclass(frozen=True)
class SweepOptions:
    """Everything that determines a run's numbers (compared on ``--resume``)."""

    env: str = "pusht"
    layout: str | None = None
    planners: tuple[str, ...] = ("cem", "gd", "latco", "grasp")
    horizons: tuple[int, ...] = (60,)
    episodes: int = 20
    seed: int = 0
    device: str = "cpu"
    batch_size: int | None = None
    snapshots: int = 16
    overrides: tuple[str, ...] = ()
    checkpoint: str | None = None
    problem_split: str = "evaluation"  # "tuning" for hyperparameter search

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


@dataclass
class Prepared:
    """Validated, loaded inputs of a sweep: nothing is written before this exists."""

    options: SweepOptions
    task: Task
    model: torch.nn.Module
    manifest: dict
    checkpoint: Path
    device: torch.device
    overrides: dict = field(default_factory=dict)


def prepare(opts: SweepOptions) -> Prepared:
    """Check every option and load the model; raises :class:`UserError` on bad input."""
    from grasp_bench.planners import REGISTRY

    task = get_task(opts.env, opts.layout)
    for p in opts.planners:
        if p not in REGISTRY:
            raise UserError(f"unknown planner {p!r}; expected some of {', '.join(REGISTRY)}")
    if not opts.planners:
        raise UserError("no planners given; expected some of " + ", ".join(REGISTRY))
    if opts.problem_split not in ("evaluation", "tuning"):
        raise UserError(f"--split must be evaluation or tuning (got {opts.problem_split!r})")
    if opts.episodes <= 0:
        raise UserError(f"--episodes must be positive (got {opts.episodes})")
    if opts.batch_size is not None and opts.batch_size <= 0:
        raise UserError(f"--batch-size must be positive (got {opts.batch_size})")
    overrides = parse_overrides(list(opts.overrides))
    for p in overrides:
        if p not in opts.planners:
            raise UserError(f"--set names planner {p!r}, which is not in --planners")
    device = resolve_device(opts.device)
    ckpt = Path(opts.checkpoint) if opts.checkpoint else task.checkpoint
    if not ckpt.with_suffix(".pt").exists():
        raise UserError(
            f"checkpoint {ckpt} not found; train it with `grasp-bench train --env {task.name}"
            + (f" --layout {task.layout}" if task.tag != task.name else "")
            + "` or `make checkpoints`"
        )
    model, manifest = load_checkpoint(ckpt, env_id=task.env_id, device=device)
    for h in opts.horizons:
        if h <= 0 or h % model.frameskip:
            raise UserError(
                f"horizon {h} is not a positive multiple of the model's frameskip "
                f"{model.frameskip} (try {max(1, round(h / model.frameskip)) * model.frameskip})"
            )
    return Prepared(opts, task, model, manifest, ckpt, device, overrides)


def new_run_dir(name: str, out: Path | None) -> Path:
    """Create the run directory (``out`` or ``results/runs/<timestamp>-<name>``)."""
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        out = RUNS_DIR / f"{stamp}-{name}"
    if out.exists() and any(out.iterdir()):
        raise UserError(f"output directory {out} is not empty; pick another --out or --resume it")
    try:
        (out / "cells").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create output directory {out}: {e.strerror}") from None
    return out


def options_of_run(run_dir: Path) -> SweepOptions:
    """The options a run directory was made with; :class:`UserError` if it is not a run."""
    _, _, meta = load_run(run_dir, require_episodes=False)
    try:
        d = meta["extra"]["options"]
        return SweepOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
    except (KeyError, TypeError):
        raise UserError(f"{run_dir} was not made by grasp-bench run or sweep") from None


def cell_paths(run_dir: Path, planner: str, horizon: int) -> tuple[Path, Path]:
    stem = run_dir / "cells" / f"{planner}-H{horizon}"
    return stem.with_suffix(".episodes.csv"), stem.with_suffix(".snapshots.csv")


def run_sweep(
    prep: Prepared,
    run_dir: Path,
    *,
    on_cell_start: Callable[[str, int, int], Callable[[int], None]] | None = None,
    on_cell_done: Callable[[pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Run every missing cell of the sweep into ``run_dir``; returns the summary frame.

    ``on_cell_start(planner, H, episodes)`` may return a progress callback for the cell.
    """
    opts = prep.options
    meta_path = run_dir / "meta.json"
    if not meta_path.exists():
        meta = collect_meta(
            ["grasp-bench", *sys.argv[1:]],
            seeds={"planner_seed": opts.seed, "problem_split": opts.problem_split,
                   "problem_seeds_start": SPLITS[opts.problem_split].start},
            device_name=device_name(prep.device),
            checkpoints={prep.task.tag: prep.manifest["sha256"]},
            extra={"options": opts.to_dict(), "checkpoint": str(prep.checkpoint.name),
                   "threads": torch.get_num_threads()},
        )
        write_json_atomic(meta, meta_path)
    model_info = {"name": prep.checkpoint.stem, "sha256": prep.manifest["sha256"]}
    problem_stats = {}
    for h in opts.horizons:
        problems = None
        for planner in opts.planners:
            ep_path, snap_path = cell_paths(run_dir, planner, h)
            if ep_path.exists():
                continue
            if problems is None:
                problems = load_or_generate(prep.task, h, opts.episodes,
                                            split=opts.problem_split)
                problem_stats[h] = problems.stats()
            tick = on_cell_start(planner, h, len(problems)) if on_cell_start else None
            cell = run_cell(
                prep.task, prep.model, model_info, problems, planner,
                prep.overrides.get(planner, {}), device=prep.device, seed=opts.seed,
                batch_size=opts.batch_size, snapshots=opts.snapshots, progress=tick,
            )
            write_csv_atomic(cell.snapshots, snap_path)
            write_csv_atomic(cell.episodes, ep_path)
            summary = combine(run_dir)
            if on_cell_done:
                on_cell_done(summary)
    if problem_stats:
        write_json_atomic(problem_stats, run_dir / "problems.json")
    return combine(run_dir)


def combine(run_dir: Path) -> pd.DataFrame:
    """Rebuild the run's combined CSVs, summary and plots from its finished cells."""
    from grasp_bench.report import write_report

    episodes = read_csv_cells(sorted((run_dir / "cells").glob("*.episodes.csv")), EPISODE_COLUMNS)
    snapshots = read_csv_cells(
        sorted((run_dir / "cells").glob("*.snapshots.csv")), SNAPSHOT_COLUMNS
    )
    write_csv_atomic(episodes, run_dir / "episodes.csv")
    write_csv_atomic(snapshots, run_dir / "snapshots.csv")
    write_report(run_dir, paper=bool(len(episodes)) and bool((episodes["env"] == "pusht").all()))
    return load_summary(run_dir / "summary.csv")
