"""Commands that read finished runs: report, check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from grasp_bench.cli.common import app, console, err_console, print_warnings, user_errors
from grasp_bench.cli.tables import WideOpt
from grasp_bench.errors import UserError


@app.command()
@user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    paper: Annotated[bool, typer.Option(help="Put the paper's Table 1 beside the run.")] = False,
    ceiling: Annotated[Path | None, typer.Option(
        help="With --paper: a run with --model simulator whose CEM cells are the ceiling rows "
             "(default: results/reference/cpu/ceiling when it exists).")] = None,
    compare: Annotated[Path | None, typer.Option(
        help="Another run (e.g. the same sweep --tuned): print both side by side, cell by "
             "cell, instead; nothing is written.")] = None,
    paired: Annotated[str | None, typer.Option(
        help="A planner of the run: print every other planner against it problem by "
             "problem (exact McNemar test, Holm-adjusted), e.g. --paired grasp for GRASP's "
             "ablations; nothing is written.")] = None,
    wide: WideOpt = False,
) -> None:
    """Regenerate a run's tables and plots (summary.csv, summary.md, PNGs).

    It rewrites the run's summaries, so it claims the run directory: a run that a
    sweep is still writing is refused in one line naming the sweep (the sweep rewrites
    them after every finished cell itself).  --compare writes nothing and takes no claim:
    like `check`, it reads the combined files, which only ever hold finished cells.
    --paired P tests every other planner against P on the problems both ran (exact
    McNemar, Holm-adjusted); it too writes nothing.
    """
    from grasp_bench.report import comparison_markdown, write_report

    if paired is not None and (compare is not None or paper or ceiling is not None):
        raise UserError("--paired is a report of its own; give it without --compare, "
                        "--paper or --ceiling")
    if paired is not None:
        from grasp_bench.results import load_run
        from grasp_bench.results.paired import paired_markdown

        _warn_if_being_written(run_dir)
        episodes, _, _ = load_run(run_dir)
        console.print(paired_markdown(episodes, paired), markup=False, highlight=False,
                      soft_wrap=True)
        return
    if compare is not None:
        _warn_if_being_written(run_dir, compare)
        console.print(comparison_markdown(run_dir, compare), markup=False, highlight=False,
                      soft_wrap=True)
        return
    if paper and ceiling is None:
        from grasp_bench.report import reference_dir

        default = reference_dir() / "cpu" / "ceiling"
        ceiling = default if (default / "episodes.csv").exists() else None
    if ceiling is not None and not (ceiling / "episodes.csv").exists():
        raise UserError(f"--ceiling {ceiling}: not a run directory (no episodes.csv)")
    with _claim(run_dir):
        md = write_report(run_dir, paper=paper, ceiling=ceiling)
    _print_report(run_dir, md, paper=paper, ceiling=ceiling)


#: The paper comparison's columns shown at any width (the others as room allows).
_COMPARISON_ESSENTIAL = ("H", "planner", "paper", "executed (this run)", "verdict")


def _print_report(run_dir: Path, md: str, *, paper: bool, ceiling: Path | None) -> None:
    """Piped: the Markdown written to summary.md, every table whole.  At the terminal: the
    run's cells as `run` prints them, the headline's paper-format table per env and mode
    and, with --paper, the comparison with the paper, each with its essential columns whole
    at any width (--wide: all of them); summary.md holds the rest."""
    if not console.is_terminal:
        console.print(md, markup=False, highlight=False, soft_wrap=True)  # no hard wraps
        return
    from grasp_bench.cli.tables import Column, print_summary, print_table
    from grasp_bench.results import (
        HEADLINE,
        load_run,
        load_summary,
        paper_table_markdown,
        summarize,
    )

    summary = load_summary(run_dir / "summary.csv")
    print_summary(summary)
    for env, mode in dict.fromkeys(zip(summary["env"], summary["mode"], strict=True)):
        console.print(f"\n{env}, {mode} loop, {HEADLINE[mode]}: success / median time to "
                      f"success\n\n{paper_table_markdown(summary, env=env, mode=mode)}\n",
                      markup=False, highlight=False, soft_wrap=True)
    if paper:
        from grasp_bench.report import paper_comparison

        table = paper_comparison(summary, ceiling=None if ceiling is None
                                 else summarize(load_run(ceiling)[0]))
        if not table.empty:
            def parts(value) -> list[str]:  # "59.0% [54.6, 63.3] / 8.5s": two lines
                text = str(value).replace(" / ", "\n/ ").replace(" (", "\n(")
                return text.split("\n")

            columns = [Column(str(c).replace(" (", "\n("), c in _COMPARISON_ESSENTIAL)
                       for c in table.columns]
            print_table("Comparison with the GRASP paper (Table 1, Push-T; executed plans "
                        "beside the paper's)", columns,
                        [[parts(v) for v in row] for row in table.itertuples(index=False)])
    console.print(f"  every table whole: {run_dir / 'summary.md'} (or pipe this command)",
                  highlight=False, markup=False, soft_wrap=True)


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

    A run that a sweep is still writing is read as it stands, finished cells only (its
    episodes.csv is replaced whole after each finished cell), with a warning naming the
    sweep; the cells it has not finished yet count as missing.
    """
    from grasp_bench.results import compare_to_baseline, load_run, load_summary, summarize

    if not 0 < alpha < 1:
        raise UserError(f"--alpha must be in (0, 1) (got {alpha})")
    _warn_if_being_written(run_dir)
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


def _claim(run_dir: Path):
    """The claim `report` holds while it rewrites ``run_dir``'s summaries (none for a path
    that is not a directory: the report refuses it as not a run)."""
    import contextlib

    from grasp_bench.claim import claim_dir

    if not run_dir.is_dir():
        return contextlib.nullcontext()
    return claim_dir(run_dir, hint="it rewrites the summaries after every finished cell; "
                                   "report again when it has finished")


def _warn_if_being_written(*run_dirs: Path) -> None:
    """Readers take no claim: a run still being written is read as it stands (finished
    cells only), with a warning naming its writer."""
    from grasp_bench.claim import holder_of

    for d in run_dirs:
        holder = holder_of(d) if d.is_dir() else None
        if holder is not None:
            print_warnings([f"{d} is still being written by {holder.describe()}; reading "
                            "its finished cells only"])
