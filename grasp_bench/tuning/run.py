"""``grasp-bench tune``: one study per (planner, H), their entries written to a tuned file.

Studies live in one Optuna SQLite storage per (env, model), by default
``results/tuning/<env>-<model>.db``; the tuned file (default beside it, the shipped ones
in ``results/reference/tuned/``) gets one entry per (planner, H) and a ``-trials.csv``
with every trial, so a study can be read without Optuna.

One writer per storage and per tuned file: ``tune`` holds a claim on both
(:func:`claim_outputs`, :mod:`grasp_bench.claim`) for its whole life, so a second
``tune`` on the same ``--storage`` (or ``--out``) is refused in one line naming the first.
Two processes do not cooperate on one storage, although Optuna's RDB storage would let
them share a study: the protocol is sequential (trial 0, the default config, sets the
time cap of every later trial; a resume marks RUNNING trials as killed and queues them
again, which would steal a live process's trials; the confirmation step and the tuned
file's entry are written once per study), and SQLite takes one writer at a time, failing
a writer that waits too long with "database is locked".  After a kill the OS drops the
claim and ``--resume`` goes on.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grasp_bench.claim import claim_file
from grasp_bench.defaults import DEFAULT_THREADS
from grasp_bench.errors import UserError
from grasp_bench.options import Prepared, SweepOptions, prepare
from grasp_bench.planners import REGISTRY
from grasp_bench.results import write_csv_atomic
from grasp_bench.sweep import cell_context
from grasp_bench.tuned import TUNING_DIR, model_kind, record_entry
from grasp_bench.tuning.study import FRESH_OFFSET, StudySpec, trials_frame, tune_one

__all__ = ["TuneOptions", "claim_outputs", "default_paths", "prepare_tuning", "run_tuning"]

TRIAL_COLUMNS = ("planner", "horizon", "trial", "state", "default", "value",
                 "executed_successes", "model_successes", "n", "time_s", "spent_s", "capped",
                 "params")


@dataclass(frozen=True)
class TuneOptions:
    env: str = "pusht"
    layout: str | None = None
    planners: tuple[str, ...] = ("cem", "gd", "latco", "grasp")
    horizons: tuple[int, ...] = (40, 60, 80)
    trials: int = 30
    problems: int = 20
    seed: int = 0
    time_cap: float = 3.0
    rescore: int = 3
    fixed: tuple[str, ...] = ()  # planner.field=value, held fixed
    device: str = "cpu"
    threads: int = DEFAULT_THREADS
    objective: str = "task"
    checkpoint: str | None = None
    model: str = "learned"  # learned (state model), latent, pixel, or simulator
    problem_source: str | None = None  # replay, demo or behaviour; None: the task's default


def prepare_tuning(opts: TuneOptions) -> tuple[Prepared, list[StudySpec]]:
    """Validate every option and load the model; nothing is written before this returns."""
    if opts.trials < 2:
        raise UserError(f"--trials must be at least 2: the default and one search trial "
                        f"(got {opts.trials})")
    if not 0 < opts.problems <= FRESH_OFFSET:
        raise UserError(f"--problems must be in 1..{FRESH_OFFSET} (got {opts.problems})")
    if not opts.time_cap >= 1:
        raise UserError(f"--time-cap must be >= 1 x the default's time (got {opts.time_cap})")
    if opts.rescore < 1:
        raise UserError(f"--rescore must be positive (got {opts.rescore})")
    prep = prepare(SweepOptions(
        env=opts.env, layout=opts.layout, planners=opts.planners, horizons=opts.horizons,
        episodes=opts.problems, seed=opts.seed, device=opts.device, overrides=opts.fixed,
        checkpoint=opts.checkpoint, problem_split="tuning", objective=opts.objective,
        threads=opts.threads, model=opts.model, problem_source=opts.problem_source))
    for p in opts.planners:
        if not getattr(REGISTRY[p][0], "search_space", None):
            raise UserError(f"planner {p} declares no search space")
    specs = [StudySpec(p, h, opts.trials, opts.problems, opts.seed, opts.time_cap,
                       opts.rescore, tuple(sorted(prep.overrides.get(p, {}).items())),
                       prep.options.problem_source)
             for h in opts.horizons for p in opts.planners]
    return prep, specs


def default_paths(prep: Prepared) -> tuple[Path, Path]:
    """``(storage .db, tuned .json)`` under ``results/tuning/`` for the run's env and model."""
    stem = f"{prep.task.tag}-{model_kind(prep.manifest)}"
    return TUNING_DIR / f"{stem}.db", TUNING_DIR / f"{stem}.json"


def claim_outputs(storage_path: Path, out: Path) -> contextlib.ExitStack:
    """Claims on the storage and the tuned file, held until the returned stack closes;
    :class:`~grasp_bench.claim.Claimed` (nothing written) when another process holds
    either."""
    with contextlib.ExitStack() as stack:  # a refusal of the second releases the first
        stack.enter_context(claim_file(
            storage_path, what="tuning storage",
            hint="two tune commands cannot share one; wait for it, or pass another --storage"))
        stack.enter_context(claim_file(
            out, what="tuned-config file",
            hint="wait for it to finish, or pass another --out"))
        return stack.pop_all()


def run_tuning(prep: Prepared, specs: list[StudySpec], storage_path: Path, out: Path, *,
               resume: bool = False, on_study_start=None) -> list[dict]:
    """Run every study in ``storage_path`` and record its entry in ``out``.

    ``on_study_start(spec)`` may return a progress callback ``(done, total)``.  The caller
    holds :func:`claim_outputs` on both files.
    """
    import optuna

    storage_path.parent.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{storage_path.resolve()}")
    existing = set(optuna.study.get_all_study_names(storage))
    clash = [s.name for s in specs if s.name in existing]
    if clash and not resume:
        raise UserError(f"{storage_path} already holds studies {', '.join(clash)}; pass "
                        "--resume to finish them, or another --storage")
    ctx = cell_context(prep)
    kind, sha = model_kind(prep.manifest), prep.manifest["sha256"]
    entries = []
    for spec in specs:
        tick = on_study_start(spec) if on_study_start else None
        entry = tune_one(ctx, spec, storage, resume=resume, on_trial=tick)
        record_entry(out, env=prep.task.tag, kind=kind, sha256=sha, planner=spec.planner,
                     horizon=spec.horizon, entry=entry)
        _record_trials(out, spec, optuna.load_study(study_name=spec.name, storage=storage))
        entries.append(entry)
    return entries


def _record_trials(out: Path, spec: StudySpec, study) -> None:
    path = out.with_name(f"{out.stem}-trials.csv")
    rows = trials_frame(study).assign(planner=spec.planner, horizon=spec.horizon)
    try:  # derived from the studies: an unreadable file is rebuilt from this one on
        old = pd.read_csv(path).rename(columns={"transfer_successes": "executed_successes"})
        old = old[(old["planner"] != spec.planner) | (old["horizon"] != spec.horizon)]
        rows = pd.concat([old, rows], ignore_index=True)
    except (OSError, ValueError, KeyError):
        pass
    write_csv_atomic(rows[list(TRIAL_COLUMNS)], path)
