"""Commands that read finished runs: report, check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from grasp_bench.cli.common import app, console, err_console, user_errors
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
) -> None:
    """Regenerate a run's tables and plots (summary.csv, summary.md, PNGs)."""
    from grasp_bench.report import comparison_markdown, write_report

    if compare is not None:
        console.print(comparison_markdown(run_dir, compare), markup=False, highlight=False,
                      soft_wrap=True)
        return
    if paper and ceiling is None:
        from grasp_bench.report import reference_dir

        default = reference_dir() / "cpu" / "ceiling"
        ceiling = default if (default / "episodes.csv").exists() else None
    if ceiling is not None and not (ceiling / "episodes.csv").exists():
        raise UserError(f"--ceiling {ceiling}: not a run directory (no episodes.csv)")
    md = write_report(run_dir, paper=paper, ceiling=ceiling)
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
