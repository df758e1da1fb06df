"""Runs and sweeps: a run directory and its resumable cells (the options and their
checks are :mod:`grasp_bench.options`, re-exported here).

A run directory holds ``meta.json`` (with the options it was made with), three files per
finished cell under ``cells/`` (written atomically in the order plans, snapshots,
episodes, so a cell counts as done only once its episodes file reads back with rows),
``problems.json``, and the combined ``episodes.csv``, ``snapshots.csv``, ``summary.csv``,
``summary.md`` and plots, rewritten after every cell.  ``--resume`` reads the options
from ``meta.json``, removes temporary files a kill left, redoes damaged cells and skips
finished ones; a killed sweep resumes cleanly.

One writer per run directory: the command that calls :func:`run_sweep` (``run``,
``sweep``, ``sweep --resume``; with Ray, the driver) holds its claim
(:mod:`grasp_bench.claim`, the lock file ``.grasp-bench.lock`` in the directory) for the
whole sweep, so no other process writes into it meanwhile.  Readers take no claim and
see finished cells only: a cell's files appear whole (atomic writes), and the combined
CSVs are replaced whole after each finished cell.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from grasp_bench.bench import CellContext
from grasp_bench.cells import plan_cell
from grasp_bench.devices import device_name
from grasp_bench.errors import UserError
from grasp_bench.models.action_space import stats_of
from grasp_bench.objective import goal_weights
from grasp_bench.options import Prepared
from grasp_bench.problems import (
    load_or_generate,
    problem_stats,
)
from grasp_bench.results import (
    EPISODE_COLUMNS,
    SNAPSHOT_COLUMNS,
    collect_meta,
    load_average,
    machine_info,
    read_csv_cells,
    summarize,
    write_csv_atomic,
    write_json_atomic,
    write_npz_atomic,
)
from grasp_bench.seeds import SPLITS


def cell_context(prep: Prepared) -> CellContext:
    """What every cell of the run shares (model, device, seed, goal metric)."""
    opts = prep.options
    ctx = CellContext(
        task=prep.task, model=prep.model,
        model_info={"name": prep.checkpoint.stem, "sha256": prep.manifest["sha256"]},
        device=prep.device, seed=opts.seed, objective=opts.objective, threads=opts.threads,
        goal_weights=goal_weights(prep.task, prep.model, opts.objective, prep.device),
        action_stats=stats_of(prep.manifest, prep.task.action_stats, str(prep.checkpoint)),
    )
    try:
        ctx.planning_model  # noqa: B018 (built once here, so a mismatch fails before any cell)
    except ValueError as e:
        raise UserError(f"{prep.checkpoint}: {e}") from None
    return ctx


def cell_done(ep_path: Path, snap_path: Path) -> bool:
    """A cell counts as finished when both its files read back as result tables and its
    episodes file has rows; a damaged or empty one is run again (and overwritten)."""
    try:
        episodes = read_csv_cells([ep_path], EPISODE_COLUMNS)
        read_csv_cells([snap_path], SNAPSHOT_COLUMNS)
    except (UserError, OSError):
        return False
    return len(episodes) > 0


def plans_path(run_dir: Path, planner: str, horizon: int) -> Path:
    """The cell's plans (``grasp-bench render`` reads them)."""
    return run_dir / "cells" / f"{planner}-H{horizon}.plans.npz"


def cell_paths(run_dir: Path, planner: str, horizon: int) -> tuple[Path, Path]:
    stem = run_dir / "cells" / f"{planner}-H{horizon}"
    return stem.with_suffix(".episodes.csv"), stem.with_suffix(".snapshots.csv")


def run_sweep(
    prep: Prepared,
    run_dir: Path,
    *,
    on_cell_start: Callable[[str, int, int], Callable[[int], None]] | None = None,
    on_cell_done: Callable[[pd.DataFrame], None] | None = None,
    ray: str | None = None,
) -> pd.DataFrame:
    """Run every missing cell of the sweep into ``run_dir``; returns the summary frame.

    With ``ray`` (``"local"`` for a cluster on this machine's cores, or a cluster address)
    the cells' batches run as Ray tasks (:mod:`grasp_bench.distributed`); the cells are
    written here all the same, so results, files and resume do not depend on where they
    ran.  ``on_cell_start(planner, H, episodes)`` may return a progress callback for the cell.
    ``meta.json`` records the machine (CPU, threads, load before the first and after the
    last cell of each session) next to the options.
    """
    from grasp_bench.problems import source_settings
    from grasp_bench.tuned import tuned_meta

    opts = prep.options
    meta_path = run_dir / "meta.json"
    if not meta_path.exists():
        meta = collect_meta(
            ["grasp-bench", *sys.argv[1:]],
            seeds={"planner_seed": opts.seed, "problem_split": opts.problem_split,
                   "problem_source": opts.problem_source,
                   "problem_settings": source_settings(prep.task, opts.problem_source),
                   "problem_seeds_start": SPLITS[opts.problem_split].start + opts.problem_offset},
            device_name=device_name(prep.device),
            checkpoints={prep.task.tag: prep.manifest["sha256"]},
            extra={"options": opts.to_dict(), "checkpoint": str(prep.checkpoint.name),
                   "machine": machine_info(), "tuned": tuned_meta(prep)},
        )
        write_json_atomic(meta, meta_path)
    ctx = cell_context(prep)
    for tmp in [*run_dir.glob(".*.tmp"), *run_dir.glob("cells/.*.tmp")]:
        tmp.unlink(missing_ok=True)  # left by a killed atomic write
    stats_path = run_dir / "problems.json"
    try:
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        stats = {}  # derived data: recomputed
    stats = stats if isinstance(stats, dict) else {}
    todo = []  # (planner, H, problems) of every cell not finished yet
    for h in opts.horizons:
        problems = None
        for planner in opts.planners:
            if cell_done(*cell_paths(run_dir, planner, h)):
                continue
            if problems is None:
                problems = load_or_generate(prep.task, h, opts.episodes,
                                            split=opts.problem_split, offset=opts.problem_offset,
                                            source=opts.problem_source)
                if str(h) not in stats:
                    stats[str(h)] = problem_stats(prep.task, problems)
                    write_json_atomic(stats, stats_path)
            todo.append((planner, h, problems))

    def finished(planner: str, h: int, cell) -> None:
        ep_path, snap_path = cell_paths(run_dir, planner, h)
        write_npz_atomic(cell.plans, plans_path(run_dir, planner, h))
        write_csv_atomic(cell.snapshots, snap_path)
        write_csv_atomic(cell.episodes, ep_path)  # last: the cell counts as done from here
        summary = combine(run_dir)
        if on_cell_done:
            on_cell_done(summary)

    try:
        if ray is not None:
            from grasp_bench.distributed import run_on_ray

            run_on_ray(ctx, prep, todo, finished, address=ray, on_cell_start=on_cell_start)
        else:
            for planner, h, problems in todo:
                tick = on_cell_start(planner, h, len(problems)) if on_cell_start else None
                cell = plan_cell(ctx, opts, problems, planner, prep.cell_overrides(planner, h),
                                 progress=tick)
                finished(planner, h, cell)
    finally:
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            meta.setdefault("extra", {}).setdefault("machine", {})["load_after"] = load_average()
            write_json_atomic(meta, meta_path)
        if hasattr(prep.model, "close"):
            prep.model.close()
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
    opened = episodes[episodes["mode"] == "open"] if len(episodes) else episodes
    write_report(run_dir, paper=bool(len(opened)) and bool((opened["env"] == "pusht").all()))
    return summarize(episodes)
