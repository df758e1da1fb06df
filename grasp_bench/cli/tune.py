"""``grasp-bench tune``: search every planner's hyperparameters per env and horizon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
    tuned_rate,
    user_errors,
)
from grasp_bench.defaults import DEFAULT_THREADS


@app.command()
@user_errors
def tune(
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    horizons: Annotated[str, typer.Option(help="Comma-separated horizons.")] = "40,60,80",
    planners: Annotated[str, typer.Option(help="Comma-separated planners.")] =
        "cem,gd,latco,grasp",
    trials: Annotated[int, typer.Option(
        help="Trials per (planner, H), the default config's included: equal for every "
             "planner.")] = 30,
    problems: Annotated[int, typer.Option(
        help="Tuning problems per trial; as many fresh ones confirm the best configs.")] = 20,
    time_cap: Annotated[float, typer.Option(
        help="Planning-time cap per trial, as a multiple of the default config's time: the "
             "plan judged is the last one within it.")] = 3.0,
    rescore: Annotated[int, typer.Option(
        help="Best distinct configs confirmed on fresh problems with a second seed.")] = 3,
    seed: Annotated[int, typer.Option(help="TPE sampler and planner seed.")] = 0,
    fixed: Annotated[list[str] | None, typer.Option(
        "--set", help="Hold a field fixed: planner.field=value (repeatable).")] = None,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = DEFAULT_THREADS,
    objective: Annotated[str, typer.Option(help="Goal cost: task or latent.")] = "task",
    model: Annotated[str, typer.Option(
        "--model", help="learned (the shipped state model), latent (the shipped latent "
                        "model), pixel (the shipped visual model) or simulator (sampling "
                        "planners only).")] = "learned",
    checkpoint: Annotated[Path | None, typer.Option(
        help="World-model checkpoint (default: the shipped one of --model).")] = None,
    storage: Annotated[Path | None, typer.Option(
        help="Optuna SQLite file (default: results/tuning/<env>-<model>.db).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Tuned-config file to add entries to (default: results/tuning/<env>-<model>"
             ".json; the shipped ones are in results/reference/tuned/).")] = None,
    resume: Annotated[bool, typer.Option(
        help="Finish the studies already in --storage (a killed trial is run again).")] = False,
    problem_source: SourceOpt = None,
) -> None:
    """Tune planners on the tuning split with Optuna (TPE); write the winners.

    Per (planner, H): TRIALS trials (the first is the default config) on PROBLEMS tuning
    problems, scored by executed success, then success under the world model, then time; the
    RESCORE best are scored again on fresh tuning problems with another seed, and the best
    on average replaces the default only if it beats the default beyond its 95% Wilson
    interval on those fresh problems.

    One tune per storage and per tuned file: a second tune given the same --storage or
    --out is refused in one line naming the first (a killed one blocks nothing).
    """
    from grasp_bench.devices import resolve_device
    from grasp_bench.tuning.run import TuneOptions, claim_outputs, default_paths, prepare_tuning

    opts = TuneOptions(
        env=env, layout=layout, planners=tuple(p.strip() for p in planners.split(",")
                                               if p.strip()),
        horizons=parse_ints(horizons, "horizons"), trials=trials, problems=problems,
        seed=seed, time_cap=time_cap, rescore=rescore, fixed=tuple(fixed or ()),
        device=resolve_device(device).type, threads=threads, objective=objective,
        checkpoint=str(checkpoint) if checkpoint else None, model=model,
        problem_source=problem_source)
    prep, specs = prepare_tuning(opts)
    print_warnings(prep.warnings)
    default_db, default_out = default_paths(prep)
    storage, out = storage or default_db, out or default_out
    with claim_outputs(storage, out):
        _tune(prep, specs, storage, out, resume=resume, trials=trials, problems=problems)


def _tune(prep, specs, storage: Path, out: Path, *, resume: bool, trials: int,
          problems: int) -> None:
    """Run the studies (both files claimed) and print the table."""
    from grasp_bench.tuning.run import run_tuning

    opts = prep.options
    threads = opts.threads
    console.print(f"[bold]tune {prep.task.tag}[/] with {prep.checkpoint.name} on {prep.device} "
                  f"({threads} thread{'s' if threads > 1 else ''}): {len(specs)} studies x "
                  f"{trials} trials x {problems} problems -> {shown_path(storage)}, "
                  f"{shown_path(out)}", highlight=False)
    with progress_bar() as bar:

        def start(spec):
            t = bar.add_task(f"{spec.planner:>6} H={spec.horizon}", total=spec.trials)
            return lambda done, total: bar.update(t, completed=done)

        try:
            entries = run_tuning(prep, specs, storage, out, resume=resume, on_study_start=start)
        except KeyboardInterrupt:
            bar.stop()
            err_console.print(f"interrupted: finished trials are in {storage}; add --resume "
                              "to the same command to finish", highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
    table = Table(title=f"Tuned on {problems} tuning problems; confirmed on {problems} fresh")
    for col in ("planner", "H", "kept", "default (fresh)", "best tuned (fresh)", "planner-s"):
        table.add_column(col)
    for spec, e in zip(specs, entries, strict=True):
        table.add_row(spec.planner, str(spec.horizon), e["source"], tuned_rate(e["default_fresh"]),
                      tuned_rate(e["best_tuned"]["fresh"]), f"{e['planner_seconds']:.0f}")
    console.print(table)
    with_model = "" if opts.model == "learned" else f" --model {opts.model}"
    console.print(f"tuned configs in {shown_path(out)}; use them with `grasp-bench "
                  f"run{with_model} --tuned-file {shown_path(out)}`", soft_wrap=True,
                  highlight=False)

