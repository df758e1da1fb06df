"""The ``grasp-bench`` command line: parse, call, print. No logic of its own."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from grasp_bench import __version__
from grasp_bench.defaults import DEFAULT_REPLAN_BUDGET, DEFAULT_THREADS
from grasp_bench.errors import UserError

app = typer.Typer(
    help="Benchmark planners (GRASP, CEM, GD, LatCo, MPPI, iCEM) over learned world models "
    "on Push-T and BallNav at long horizons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def user_errors(fn):
    """Every command's guard: a :class:`UserError` is one line on stderr and exit code 2;
    a ``ValueError`` or ``OSError`` that escaped validation (a malformed file, an
    unreadable path) is one line and exit 2 too, unless ``GRASP_BENCH_STRICT`` is set (the
    test suite sets it, so such an escape surfaces there as the bug it is); Ctrl-C is
    "interrupted" and exit 130.  Anything else is a bug and keeps its traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            err_console.print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except (ValueError, OSError) as e:
            if os.environ.get("GRASP_BENCH_STRICT"):
                raise
            _fail(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")

    return wrapper


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True,
                      markup=True)
    raise typer.Exit(2)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _version(value: bool) -> None:
    if value:
        console.print(f"grasp-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """grasp-bench: planners over learned world models, measured honestly."""


EnvOpt = Annotated[str, typer.Option("--env", help="Environment: pusht or ballnav.")]
LayoutOpt = Annotated[
    str | None,
    typer.Option(help="BallNav layout: open, u_trap, wall_gap or maze (default)."),
]
DeviceOpt = Annotated[str, typer.Option(help="auto (cuda if available), cpu or cuda.")]


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise UserError(f"--{name} must be a positive integer (got {value})")


def _writable_file(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create directory {parent}: {e.strerror}") from None
    probe = parent / f".grasp-bench-write-test-{path.name}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"output {path} is not writable: {e.strerror}") from None
    return path


def _refuse_overwrite(paths, force: bool) -> None:
    """Checkpoints are never replaced implicitly (a shipped one is the benchmark's model)."""
    for p in paths:
        p = Path(p)
        if not force and (p.with_suffix(".pt").exists() or p.with_suffix(".json").exists()):
            raise UserError(f"{p.with_suffix('.pt')} exists; pass --force to replace it, "
                            "or --out another path")


# -- data and models ------------------------------------------------------------------------
@app.command()
@user_errors
def collect(
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    episodes: Annotated[int, typer.Option(help="Number of episodes.")] = 100,
    steps: Annotated[int, typer.Option(help="Env steps per episode.")] = 200,
    split: Annotated[str, typer.Option(help="Seed range: train or validation.")] = "train",
    seed: Annotated[int, typer.Option(help="Offset of the first seed in the split.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes (0: one per core).")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Output dataset (.npz; default data/<env>-<split>.npz).")
    ] = None,
) -> None:
    """Collect trajectories with the scripted behaviour policy (parallel over cores)."""
    from grasp_bench.data import collect as collect_data
    from grasp_bench.tasks import get_task

    task = get_task(env, layout)
    _positive("episodes", episodes)
    _positive("steps", steps)
    if split not in ("train", "validation"):
        raise UserError(f"--split must be train or validation (got {split!r})")
    out = _writable_file(out or Path("data") / f"{task.tag}-{split}.npz")
    with progress_bar() as bar:
        t = bar.add_task(f"collect {task.tag}", total=episodes)
        data = collect_data(
            task, episodes=episodes, steps=steps, split=split, seed=seed,
            workers=workers or None, progress=lambda n: bar.update(t, completed=n),
        )
    path = data.save(out)
    console.print(f"wrote {path}: {len(data)} episodes, {int(data.lengths.sum())} env steps")


@app.command()
@user_errors
def train(
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    data: Annotated[
        Path | None, typer.Option(help="Training dataset (default: collect the recipe's).")
    ] = None,
    val_data: Annotated[
        Path | None, typer.Option(help="Validation dataset (default: collect the recipe's).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs.")] = None,
    rollout_steps: Annotated[
        int | None, typer.Option(help="Model steps in the multi-step loss (1: one-step).")
    ] = None,
    device: DeviceOpt = "auto",
    out: Annotated[
        Path | None, typer.Option(help="Checkpoint path (.pt; default: the shipped one).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace an existing checkpoint (e.g. a shipped one).")
    ] = False,
) -> None:
    """Train a state-based world model and write a checkpoint with its manifest."""
    from dataclasses import replace

    from grasp_bench.data import Trajectories
    from grasp_bench.data import collect as collect_data
    from grasp_bench.devices import resolve_device
    from grasp_bench.models.recipes import RECIPES, arch_for, train_checkpoint
    from grasp_bench.tasks import get_task

    task = get_task(env, layout)
    recipe = RECIPES[task.name]
    cfg = recipe.train
    if epochs is not None:
        _positive("epochs", epochs)
        cfg = replace(cfg, epochs=epochs)
    if rollout_steps is not None:
        _positive("rollout-steps", rollout_steps)
        cfg = replace(cfg, rollout_steps=rollout_steps)
    dev = resolve_device(device)
    for path in (data, val_data):
        if path is not None and not path.is_file():
            raise UserError(f"dataset {path} not found")
    out = out or task.checkpoint
    _refuse_overwrite([out], force)
    out = _writable_file(out)
    with progress_bar() as bar:

        def load_or_collect(path: Path | None, split: str, n: int) -> Trajectories:
            if path is not None:
                return Trajectories.load(path)
            t = bar.add_task(f"collect {split}", total=n)
            return collect_data(
                task, episodes=n, steps=recipe.steps, split=split,
                progress=lambda k: bar.update(t, completed=k),
            )

        train_data = load_or_collect(data, "train", recipe.train_episodes)
        val = load_or_collect(val_data, "validation", recipe.val_episodes)
        span = cfg.rollout_steps * arch_for(task, **recipe.arch).frameskip
        for d, p in ((train_data, data), (val, val_data)):
            if d.meta.get("env_id") != task.env_id:
                raise UserError(f"dataset {p} is for {d.meta.get('env_id')}, not {task.env_id}")
            if int(d.lengths.max(initial=0)) < span:
                raise UserError(f"dataset {p} has no episode of {span} env steps, the span of "
                                f"the {cfg.rollout_steps}-step rollout loss")
        t = bar.add_task("train", total=cfg.epochs)
        manifest = train_checkpoint(
            task, train_data, val, arch_for(task, **recipe.arch), cfg, out, device=str(dev),
            progress=lambda e, tl, vl: bar.update(
                t, completed=e, description=f"train (val {vl:.4f})"
            ),
        )
    console.print(f"wrote {out} ({manifest['bytes'] / 1e6:.2f} MB) in "
                  f"{manifest['training']['seconds']:.0f} s")
    _print_models([(out, manifest)])


@app.command()
@user_errors
def checkpoints(
    envs: Annotated[str, typer.Option(help="Comma-separated tasks to rebuild.")] = "pusht,ballnav",
    out_dir: Annotated[
        Path | None, typer.Option(help="Where to write them (default: checkpoints/).")
    ] = None,
    device: DeviceOpt = "cpu",
    force: Annotated[bool, typer.Option(help="Replace existing checkpoints.")] = False,
) -> None:
    """Regenerate the shipped checkpoints from seeds (what `make checkpoints` runs)."""
    from grasp_bench.devices import resolve_device
    from grasp_bench.models.recipes import RECIPES, build_checkpoint

    names = [n.strip() for n in envs.split(",") if n.strip()]
    for n in names:
        if n not in RECIPES:
            raise UserError(f"no recipe for {n!r}; expected some of {', '.join(RECIPES)}")
    from grasp_bench.tasks import CHECKPOINT_DIR

    out_dir = out_dir or CHECKPOINT_DIR
    _refuse_overwrite([out_dir / f"{n}.pt" for n in names], force)
    dev = str(resolve_device(device))
    done = []
    with progress_bar() as bar:
        tasks: dict[str, int] = {}

        def tick(what: str, n: int, total: int, name: str) -> None:
            key = f"{name}: {what}"
            if key not in tasks:
                tasks[key] = bar.add_task(key, total=total)
            bar.update(tasks[key], completed=n)

        for n in names:
            m = build_checkpoint(
                n, out_dir=out_dir, device=dev,
                progress=lambda what, k, total, n=n: tick(what, k, total, n),
            )
            done.append((out_dir / m["weights"], m))
    _print_models(done)


@app.command()
@user_errors
def models(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Checkpoint directory (default: checkpoints/).")
    ] = None,
) -> None:
    """List checkpoints with their accuracy (validation errors in physical units) and
    whether their weights match the manifest's sha256 (exit 1 if any does not)."""
    from grasp_bench.models.checkpoint import read_manifest, sha256_file
    from grasp_bench.tasks import CHECKPOINT_DIR

    directory = directory or CHECKPOINT_DIR
    found = sorted(directory.glob("*.json"))
    if not found:
        raise UserError(f"no checkpoints in {directory}; build them with `make checkpoints`")
    rows, bad = [], 0
    for p in found:
        manifest, weights = read_manifest(p), p.with_suffix(".pt")
        if not weights.is_file():
            status = "MISSING"
        elif sha256_file(weights) != manifest.get("sha256"):
            status = "CORRUPT"
        else:
            status = "ok"
        bad += status != "ok"
        rows.append((weights, manifest, status))
    _print_models(rows)
    if bad:
        err_console.print(f"{bad} checkpoint(s) are corrupt or missing; rebuild them with "
                          "`make checkpoints`", highlight=False)
        raise typer.Exit(1)


def _print_models(rows) -> None:
    table = Table(title="World models")
    for col in ("checkpoint", "env", "k", "MB", "train s", "val loss", "open-loop error H40",
                "H80", "sha256"):
        table.add_column(col)
    for path, m, *status in rows:
        ol = m.get("validation", {}).get("open_loop", {})

        def fmt(h: str, ol: dict = ol) -> str:
            return ", ".join(
                f"{k} {v:.3g}" for k, v in ol.get(h, {}).items() if not k.endswith("_p90")
            )

        table.add_row(
            Path(path).name, m.get("task", m.get("env_id", "?")), str(m.get("frameskip")),
            f"{m.get('bytes', 0) / 1e6:.2f}", str(m.get("training", {}).get("seconds", "?")),
            f"{m.get('validation', {}).get('loss', float('nan')):.4f}", fmt("H40"), fmt("H80"),
            status[0] if status else "ok (just written)",
        )
    console.print(table)


# -- benchmark ------------------------------------------------------------------------------
PlannersOpt = Annotated[
    str, typer.Option(help="Comma-separated planners (see `grasp-bench planners`).")
]
EpisodesOpt = Annotated[
    int | None,
    typer.Option(help="Problems per cell (default: 20 on CPU, 100 on CUDA)."),
]
SeedOpt = Annotated[
    int, typer.Option(help="Planner seed (problems come from --split and --problem-offset).")
]
ModeOpt = Annotated[str, typer.Option(
    help="open: plan once (the paper's setting; judged under the model and in transfer); "
         "mpc: closed loop, re-plan after every executed segment (judged in the simulator).")]
ExecuteOpt = Annotated[int, typer.Option(help="MPC: model steps executed between re-plans.")]
ReplanOpt = Annotated[float, typer.Option(
    help="MPC: iterations of a warm-started re-plan, as a share of the planner's.")]
ObjectiveOpt = Annotated[str, typer.Option(
    help="Goal cost: task (latent error weighted as the success test weighs it, velocities "
         "out) or latent (plain latent MSE, the paper's).")]
ModelOpt = Annotated[str, typer.Option(
    "--model", help="learned (the checkpoint) or simulator: the ceiling, sampling planners "
                    "only, slow on a CPU.")]
ThreadsOpt = Annotated[int, typer.Option(help="torch CPU threads (recorded in meta.json).")]
OffsetOpt = Annotated[int, typer.Option(
    help="First problem seed, as an offset into the split (draws other problems).")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a planner field: planner.field=value (repeatable)."),
]
BatchOpt = Annotated[
    int | None, typer.Option(help="Problems planned together (default: all of a cell).")
]
SnapshotsOpt = Annotated[
    int, typer.Option(help="Plan snapshots replayed per episode for time-to-success.")
]
CheckpointOpt = Annotated[
    Path | None, typer.Option(help="World-model checkpoint (default: the shipped one).")
]
SplitOpt = Annotated[
    str, typer.Option(help="Problem seeds: evaluation, or tuning for hyperparameter search.")
]
OutOpt = Annotated[
    Path | None, typer.Option(help="Run directory (default: results/runs/<time>-<name>).")
]


def _parse_ints(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UserError(f"--{what} must be comma-separated integers (got {text!r})") from None
    if not values:
        raise UserError(f"--{what} is empty")
    return values


def _options(env, layout, planners, horizons, episodes, seed, device, batch_size, snapshots,
             overrides, checkpoint, split, offset, mode, execute, replan_budget, objective,
             model, threads):
    from grasp_bench.devices import resolve_device
    from grasp_bench.sweep import SweepOptions

    if episodes is None:
        episodes = 100 if resolve_device(device).type == "cuda" else 20
    return SweepOptions(
        env=env, layout=layout,
        planners=tuple(p.strip() for p in planners.split(",") if p.strip()),
        horizons=horizons, episodes=episodes, seed=seed, device=device,
        batch_size=batch_size, snapshots=snapshots, overrides=tuple(overrides or ()),
        checkpoint=str(checkpoint) if checkpoint else None, problem_split=split,
        problem_offset=offset, mode=mode, execute=execute, replan_budget=replan_budget,
        objective=objective, model=model, threads=threads,
    )


def _execute(prep, run_dir: Path) -> None:
    from grasp_bench.results import HEADLINE, busy_warning, paper_table_markdown
    from grasp_bench.sweep import run_sweep

    opts = prep.options
    what = "the simulator (CEILING, not a learned model)" if opts.model == "simulator" \
        else f"model {prep.checkpoint.name}"
    console.print(
        f"[bold]{prep.task.tag}[/] {opts.mode} loop, {what} on {prep.device} "
        f"({opts.threads} thread{'s' if opts.threads > 1 else ''}), {opts.episodes} problems "
        f"per cell, H = {', '.join(map(str, opts.horizons))} -> {run_dir}", highlight=False
    )
    warning = busy_warning(opts.threads)
    if warning:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    with progress_bar() as bar:

        def start(planner: str, h: int, n: int):
            t = bar.add_task(f"{planner:>6} H={h}", total=n)
            return lambda k: bar.update(t, completed=k)

        try:
            summary = run_sweep(prep, run_dir, on_cell_start=start)
        except KeyboardInterrupt:
            bar.stop()
            err_console.print(
                f"interrupted: finished cells are saved; resume with\n"
                f"  grasp-bench sweep --resume {run_dir} (and the original options)",
                highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
    _print_summary(summary)
    console.print(paper_table_markdown(summary, metric=HEADLINE[opts.mode]), markup=False,
                  highlight=False, soft_wrap=True)
    console.print(f"results in {run_dir}", soft_wrap=True)


def _print_summary(summary) -> None:
    from grasp_bench.results import METRIC_LABELS, MODE_METRICS, format_seconds, percent_ci

    envs = ", ".join(dict.fromkeys(summary["env"]))
    metrics = list(dict.fromkeys(m for mode in summary["mode"] for m in MODE_METRICS[mode]))
    table = Table(title=f"{envs}: success % [95% Wilson CI], median time-to-success (TTS)")
    for col in ("H", "planner", "n", *(c for m in metrics for c in (f"{m} %", "TTS")), "plan"):
        table.add_column(col, justify="left" if col == "planner" else "right", no_wrap=True)
    for r in summary.to_dict("records"):
        cells = []
        for m in metrics:
            cells += [percent_ci(r[f"{m}_rate"], r[f"{m}_ci_low"], r[f"{m}_ci_high"]),
                      format_seconds(r[f"{m}_median_tts_s"])]
        table.add_row(str(r["horizon"]), r["planner"], str(r["n"]), *cells,
                      f"{r['mean_planning_time_s']:.1f}s")
    console.print(table)
    for m in metrics:
        console.print(f"  {m}: {METRIC_LABELS[m]}", highlight=False, soft_wrap=True)
    console.print("  TTS: planner time to the first snapshot (MPC: re-plan) from which it "
                  "stays successful", highlight=False, soft_wrap=True)


def _bench_options(horizons, env, layout, planners, episodes, device, seed, overrides,
                   batch_size, snapshots, checkpoint, split, offset, mode, execute,
                   replan_budget, objective, model, threads):
    return _options(env, layout, planners, horizons, episodes, seed, device, batch_size,
                    snapshots, overrides, checkpoint, split, offset, mode, execute,
                    replan_budget, objective, model, threads)


@app.command()
@user_errors
def run(
    horizon: Annotated[
        int, typer.Option(help="Env steps from start to goal (a multiple of the frameskip).")
    ] = 60,
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    planners: PlannersOpt = "cem,gd,latco,grasp",
    episodes: EpisodesOpt = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    overrides: SetOpt = None,
    batch_size: BatchOpt = None,
    snapshots: SnapshotsOpt = 16,
    checkpoint: CheckpointOpt = None,
    split: SplitOpt = "evaluation",
    problem_offset: OffsetOpt = 0,
    mode: ModeOpt = "open",
    execute: ExecuteOpt = 1,
    replan_budget: ReplanOpt = DEFAULT_REPLAN_BUDGET,
    objective: ObjectiveOpt = "task",
    model: ModelOpt = "learned",
    threads: ThreadsOpt = DEFAULT_THREADS,
    out: OutOpt = None,
) -> None:
    """Plan a problem set at one horizon with each planner; print and save the table."""
    from grasp_bench.sweep import new_run_dir, prepare

    opts = _bench_options((horizon,), env, layout, planners, episodes, device, seed, overrides,
                          batch_size, snapshots, checkpoint, split, problem_offset, mode,
                          execute, replan_budget, objective, model, threads)
    prep = prepare(opts)
    _execute(prep, new_run_dir(f"run-{prep.task.tag}-{mode}-H{horizon}", out))


@app.command()
@user_errors
def sweep(
    horizons: Annotated[str, typer.Option(help="Comma-separated horizons.")] = "40,50,60,70,80",
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    planners: PlannersOpt = "cem,gd,latco,grasp",
    episodes: EpisodesOpt = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    overrides: SetOpt = None,
    batch_size: BatchOpt = None,
    snapshots: SnapshotsOpt = 16,
    checkpoint: CheckpointOpt = None,
    split: SplitOpt = "evaluation",
    problem_offset: OffsetOpt = 0,
    mode: ModeOpt = "open",
    execute: ExecuteOpt = 1,
    replan_budget: ReplanOpt = DEFAULT_REPLAN_BUDGET,
    objective: ObjectiveOpt = "task",
    model: ModelOpt = "learned",
    threads: ThreadsOpt = DEFAULT_THREADS,
    out: OutOpt = None,
    resume: Annotated[
        Path | None, typer.Option(help="Finish an interrupted sweep in this run directory "
                                       "(its options are read from its meta.json).")
    ] = None,
) -> None:
    """Run every (planner, H) cell, each saved as soon as it finishes; resumable."""
    from grasp_bench.sweep import new_run_dir, options_of_run, prepare

    if resume is not None:
        if not resume.is_dir():
            raise UserError(f"--resume {resume}: no such run directory")
        prep = prepare(options_of_run(resume))
        _check_resumable(resume, prep)
        _execute(prep, resume)
        return
    opts = _bench_options(_parse_ints(horizons, "horizons"), env, layout, planners, episodes,
                          device, seed, overrides, batch_size, snapshots, checkpoint, split,
                          problem_offset, mode, execute, replan_budget, objective, model,
                          threads)
    prep = prepare(opts)
    _execute(prep, new_run_dir(f"sweep-{prep.task.tag}-{mode}", out))


def _check_resumable(run_dir: Path, prep) -> None:
    """A resume must use the model and the package version the run began with."""
    from grasp_bench.results import load_run

    _, _, meta = load_run(run_dir, require_episodes=False)
    sha = meta.get("checkpoints", {}).get(prep.task.tag)
    if sha != prep.manifest["sha256"]:
        raise UserError(f"--resume {run_dir}: its model (sha256 {str(sha)[:12]}) is not the "
                        f"current {prep.checkpoint.name} ({prep.manifest['sha256'][:12]})")
    version = meta.get("versions", {}).get("grasp-bench")
    if version != __version__:
        raise UserError(f"--resume {run_dir}: made by grasp-bench {version}, this is "
                        f"{__version__}")


@app.command()
@user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    paper: Annotated[bool, typer.Option(help="Put the paper's Table 1 beside the run.")] = False,
) -> None:
    """Regenerate a run's tables and plots (summary.csv, summary.md, PNGs)."""
    from grasp_bench.report import write_report

    md = write_report(run_dir, paper=paper)
    console.print(md, markup=False, highlight=False, soft_wrap=True)  # no hard-wrapped tables


@app.command()
@user_errors
def check(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    baseline: Annotated[Path, typer.Option(help="Baseline summary.csv.")],
    alpha: Annotated[float, typer.Option(help="Significance level of the drop test.")] = 0.05,
) -> None:
    """Compare success rates with a baseline; exit 1 on a significant drop.

    Test: one-sided pooled two-proportion z-test per (env, planner, H), H1: the run's
    success rate is below the baseline's.
    """
    from grasp_bench.results import compare_to_baseline, load_run, load_summary, summarize

    if not 0 < alpha < 1:
        raise UserError(f"--alpha must be in (0, 1) (got {alpha})")
    episodes, _, _ = load_run(run_dir)
    table = compare_to_baseline(summarize(episodes), load_summary(baseline), alpha=alpha)
    out = Table(title=f"Regression check against {baseline} (alpha {alpha})")
    for col in ("env", "mode", "planner", "H", "metric", "baseline", "this run", "z",
                "p (drop)", "status"):
        out.add_column(col)
    for r in table.itertuples(index=False):
        out.add_row(
            r.env, r.mode, r.planner, str(r.horizon), r.metric,
            f"{r.baseline_successes}/{r.baseline_n}",
            "-" if r.status == "missing" else f"{int(r.current_successes)}/{int(r.current_n)}",
            f"{r.z:.2f}", f"{r.p_value:.3f}", r.status,
        )
    console.print(out)
    dropped = table["drop"].astype(bool) | (table["status"] == "missing")
    if dropped.any():
        err_console.print(f"regression: {int(dropped.sum())} (cell, metric) pair(s) dropped "
                          "significantly or are missing")
        raise typer.Exit(1)
    console.print("no significant drop")


# -- planners and speed ---------------------------------------------------------------------
@app.command()
@user_errors
def planners() -> None:
    """List the planners with every config field, its default and where it comes from."""
    from grasp_bench.planners import REGISTRY, describe_registry

    table = Table(title=f"{len(REGISTRY)} planners (override with --set planner.field=value)")
    for col in ("planner", "field", "type", "default", "source / meaning"):
        table.add_column(col, overflow="fold")
    last = None
    for row in describe_registry():
        table.add_row(row.planner if row.planner != last else "", row.field, row.type,
                      str(row.default), row.help)
        last = row.planner
    console.print(table)


@app.command()
@user_errors
def bench(
    device: DeviceOpt = "auto",
    env_steps: Annotated[int, typer.Option(help="Env steps per throughput measurement.")] = 3000,
    threads: ThreadsOpt = DEFAULT_THREADS,
) -> None:
    """Speed figures: env steps/s, batch replay, and time per planner iteration.

    Planners are timed on the shipped Push-T model at T = 8 and 16 (H = 40 and 80) for
    B = 1 and 64, with the ratios of one GRASP iteration to one forward+backward over
    the same B*T transitions and of one CEM iteration to its T sequential forwards.
    """
    import subprocess

    import torch

    from grasp_bench.devices import device_name, resolve_device
    from grasp_bench.models.checkpoint import load_checkpoint
    from grasp_bench.planners.bench import bench_planners, format_table
    from grasp_bench.tasks import PUSHT

    if threads <= 0:
        raise UserError(f"--threads must be positive (got {threads})")
    torch.set_num_threads(threads)
    console.rule("environments (single process)")
    subprocess.run([sys.executable, "-m", "envs.bench", "--steps", str(env_steps)], check=False)
    devices = [resolve_device("cpu")]
    if resolve_device(device).type == "cuda":
        devices.append(resolve_device("cuda"))
    model, _ = load_checkpoint(PUSHT.checkpoint, env_id=PUSHT.env_id)
    for dev in devices:
        console.rule(f"planners on {device_name(dev)}, ms per iteration")
        rows = bench_planners(model, dev)
        console.print(format_table(rows), markup=False, highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
