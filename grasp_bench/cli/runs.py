"""Commands that run and read benchmarks: run, sweep, report, check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grasp_bench.cli.common import (
    DeviceOpt,
    EnvOpt,
    LayoutOpt,
    SourceOpt,
    ThreadsOpt,
    app,
    console,
    err_console,
    parse_ints,
    print_warnings,
    progress_bar,
    shown_path,
    user_errors,
)
from grasp_bench.cli.tables import WideOpt
from grasp_bench.defaults import DEFAULT_REPLAN_BUDGET, DEFAULT_THREADS
from grasp_bench.errors import UserError

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
    help="open: plan once (the paper's setting; the plan executed in the simulator, and "
         "under the model as a diagnostic); "
         "mpc: closed loop, re-plan after every executed segment (judged in the simulator).")]
ExecuteOpt = Annotated[int, typer.Option(help="MPC: model steps executed between re-plans.")]
ReplanOpt = Annotated[float, typer.Option(
    help="MPC: iterations of a warm-started re-plan, as a share of the planner's.")]
ObjectiveOpt = Annotated[str, typer.Option(
    help="Goal cost: task (latent error weighted as the success test weighs it, velocities "
         "out) or latent (plain latent MSE, the paper's).")]
ModelOpt = Annotated[str, typer.Option(
    "--model", help="learned (the shipped state model), latent (the shipped 64-dim latent "
                    "model), pixel (the shipped visual model: rendered 64x64 frames, a "
                    "1,024-dim patch latent) or simulator: the ceiling, sampling planners "
                    "only, slow on a CPU.")]
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
TunedOpt = Annotated[bool, typer.Option(
    help="Use the shipped tuned configs (results/reference/tuned/<env>-<model>.json), per H, "
         "the nearest tuned H when the exact one is missing; --set still wins.")]
TunedFileOpt = Annotated[Path | None, typer.Option(
    help="Use the tuned configs of this file (written by `grasp-bench tune`).")]
OutOpt = Annotated[
    Path | None, typer.Option(help="Run directory (default: results/runs/<time>-<name>).")
]


def _options(env, layout, planners, horizons, episodes, seed, device, batch_size, snapshots,
             overrides, checkpoint, split, offset, mode, execute, replan_budget, objective,
             model, threads, tuned=False, tuned_file=None, source=None):
    from grasp_bench.devices import resolve_device
    from grasp_bench.options import SweepOptions

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
        tuned=str(tuned_file) if tuned_file else ("shipped" if tuned else None),
        problem_source=source,
    )


def _execute(prep, run_dir: Path, ray: str | None = None) -> None:
    from grasp_bench.results import HEADLINE, busy_warning, paper_table_markdown
    from grasp_bench.sweep import run_sweep

    opts = prep.options
    what = "the simulator (CEILING, not a learned model)" if opts.model == "simulator" \
        else f"model {prep.checkpoint.name}"
    console.print(
        f"[bold]{prep.task.tag}[/] {opts.mode} loop, {what} on {prep.device} "
        f"({opts.threads} thread{'s' if opts.threads > 1 else ''}), {opts.episodes} "
        f"{opts.problem_source} problems per cell, H = {', '.join(map(str, opts.horizons))} "
        f"-> {run_dir}"
        + (f"; tuned configs from {shown_path(prep.tuned_file)}" if prep.tuned_file else "")
        + (f"; Ray cluster {ray}" if ray else ""),
        highlight=False, soft_wrap=True
    )
    for (planner, h), (config, at, source) in prep.tuned.items():
        where = "" if at == h else f" (tuned at H={at}, the nearest)"
        what = "default kept by tuning" if source == "default" else \
            ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in config.items())
        console.print(f"  {planner} H={h}{where}: {what}", highlight=False, soft_wrap=True)
    warning = busy_warning(opts.threads)
    print_warnings([*prep.warnings, *([warning] if warning else [])])
    with progress_bar() as bar:

        def start(planner: str, h: int, n: int):
            t = bar.add_task(f"{planner:>6} H={h}", total=n)
            return lambda k: bar.update(t, completed=k)

        try:
            summary = run_sweep(prep, run_dir, on_cell_start=start, ray=ray)
        except KeyboardInterrupt:
            bar.stop()
            err_console.print(
                f"interrupted: finished cells are saved; resume with\n"
                f"  grasp-bench sweep --resume {run_dir}",
                highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
    _print_summary(summary)
    console.print(paper_table_markdown(summary, metric=HEADLINE[opts.mode]), markup=False,
                  highlight=False, soft_wrap=True)
    console.print(f"results in {run_dir}", soft_wrap=True)


def _print_summary(summary) -> None:
    from grasp_bench.cli.tables import print_summary

    print_summary(summary)  # with the command's --wide


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
    tuned: TunedOpt = False,
    tuned_file: TunedFileOpt = None,
    problem_source: SourceOpt = None,
    out: OutOpt = None,
    wide: WideOpt = False,
) -> None:
    """Plan a problem set at one horizon with each planner; print and save the table.

    Open loop leads with the executed plan (the simulator runs the planned actions); the
    table adds success under the model (a diagnostic), the reference fidelity (the share
    of problems whose own actions succeed under the model) and the exploitation gap.
    """
    from grasp_bench.options import prepare
    from grasp_bench.rundir import new_run_dir

    opts = _options(env, layout, planners, (horizon,), episodes, seed, device, batch_size,
                    snapshots, overrides, checkpoint, split, problem_offset, mode, execute,
                    replan_budget, objective, model, threads, tuned, tuned_file, problem_source)
    prep = prepare(opts)
    with new_run_dir(f"run-{prep.task.tag}-{mode}-H{horizon}", out) as claim:
        _execute(prep, claim.path)


@app.command()
@user_errors
def sweep(
    ctx: typer.Context,
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
    tuned: TunedOpt = False,
    tuned_file: TunedFileOpt = None,
    problem_source: SourceOpt = None,
    out: OutOpt = None,
    wide: WideOpt = False,
    resume: Annotated[
        Path | None, typer.Option(help="Finish an interrupted sweep in this run directory "
                                       "(its options are read from its meta.json).")
    ] = None,
    ray: Annotated[bool, typer.Option(
        "--ray", help="Run each (planner, H, batch of problems) as a Ray task, on a local "
                      "cluster of this machine's cores unless --ray-address is given "
                      "(pip install -e '.[ray]').")] = False,
    ray_address: Annotated[str | None, typer.Option(
        help="Ray cluster to use with --ray: auto (the cluster `ray start` joined this "
             "machine to) or ray://HEAD:10001.")] = None,
) -> None:
    """Run every (planner, H) cell, each saved as soon as it finishes; resumable.

    With --ray, batches of problems (--batch-size) run as Ray tasks and the driver writes
    the cells exactly as a serial sweep would (same seeds, same files, same resume).
    """
    from grasp_bench.claim import claim_dir
    from grasp_bench.cli.resume import explicit, resume_conflicts
    from grasp_bench.options import prepare
    from grasp_bench.rundir import check_same_model, new_run_dir, options_of_run

    if ray_address is not None and not ray:
        raise UserError("--ray-address needs --ray")
    cluster = (ray_address or "local") if ray else None
    if resume is not None:
        if not resume.is_dir():
            raise UserError(f"--resume {resume}: no such run directory")
        if out is not None and explicit(ctx, "out") and out.resolve() != resume.resolve():
            raise UserError(f"--out {out} and --resume {resume} name different run "
                            "directories; a resume writes into the run it resumes")
        with claim_dir(resume, hint="it is writing this run already; wait for it to finish"):
            was_opts = options_of_run(resume)
            given = dict(env=env, layout=layout, planners=planners, horizons=horizons,
                         episodes=episodes, device=device, seed=seed, overrides=overrides,
                         batch_size=batch_size, snapshots=snapshots, checkpoint=checkpoint,
                         split=split, problem_offset=problem_offset, mode=mode, execute=execute,
                         replan_budget=replan_budget, objective=objective, model=model,
                         threads=threads, tuned=tuned, tuned_file=tuned_file)
            given = {k: v for k, v in given.items() if explicit(ctx, k)}
            differ = resume_conflicts(was_opts, given)
            if differ:
                raise UserError(f"--resume {resume}: the run was made with other options "
                                f"({'; '.join(differ)}); drop them to resume it as it was made, "
                                "or start a new run")
            prep = prepare(was_opts)
            was = prep.options.problem_source
            if problem_source is not None and problem_source != was:
                raise UserError(f"--resume {resume}: the run's problems are {was!r}, not "
                                f"{problem_source!r}; start a new run for those")
            check_same_model(resume, prep)
            _execute(prep, resume, cluster)
        return
    opts = _options(env, layout, planners, parse_ints(horizons, "horizons"), episodes, seed,
                    device, batch_size, snapshots, overrides, checkpoint, split, problem_offset,
                    mode, execute, replan_budget, objective, model, threads, tuned, tuned_file,
                    problem_source)
    prep = prepare(opts)
    if cluster is not None:
        if opts.model == "simulator":
            raise UserError("--ray runs learned models only (the simulator model keeps a "
                            "local process pool)")
        from grasp_bench.distributed import connect

        connect(cluster)  # before the run directory: a missing Ray writes nothing
    with new_run_dir(f"sweep-{prep.task.tag}-{mode}", out) as claim:
        _execute(prep, claim.path, cluster)  # the driver holds the claim; workers write none
