"""Tables of a summary: the paper's format ("59.0% / 8.5s"), per-cell detail with Wilson
intervals, Markdown for summary.md."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from tabulate import tabulate

from grasp_bench.results.schema import (
    HEADLINE,
    METRIC_LABELS,
    METRIC_TITLES,
    METRICS,
    MODE_METRICS,
)
from grasp_bench.results.summary import ordered_unique, planner_order, solved_within

#: Metrics whose median time-to-success the tables leave out: in MPC the goal is reached
#: by executing the plans, so the planner time at the re-plan from which the state stays
#: in the goal is nearly all of the episode's planning time -- it repeats the planning
#: time and says nothing of its own (summary.csv keeps it).
TTS_HIDDEN: tuple[str, ...] = ("mpc",)
#: The tables' legend for :data:`TTS_HIDDEN`.
TTS_HIDDEN_NOTE = ("MPC shows no TTS: the goal is reached by executing the plans, so the "
                   "time to success is nearly all of the planning time and would repeat it")


def format_seconds(seconds: float) -> str:
    """'8.5s' (one decimal from 1 s up, two significant digits below); '-' when NaN."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    return f"{seconds:.1f}s" if seconds >= 1.0 else f"{seconds:.2g}s"


def format_cell(rate: float, time_s: float, ci: tuple[float, float] | None = None,
                with_time: bool = True) -> str:
    """Paper-format cell: ``"59.0% / 8.5s"``, or ``"59.0% [54.6, 63.3] / 8.5s"`` with a CI.

    ``rate`` and ``ci`` are fractions; the time shows ``"-"`` when NaN (no success), and
    is left out without ``with_time``.
    """
    if rate is None or not math.isfinite(rate):
        return "-"
    text = f"{100.0 * rate:.1f}%"
    if ci is not None:
        text += f" [{100.0 * ci[0]:.1f}, {100.0 * ci[1]:.1f}]"
    return f"{text} / {format_seconds(time_s)}" if with_time else text


def percent_ci(rate: float, low: float, high: float) -> str:
    """'45 [25, 66]' (percent, whole numbers); '-' when not measured."""
    if rate is None or not math.isfinite(rate):
        return "-"
    return f"{100 * rate:.0f} [{100 * low:.0f}, {100 * high:.0f}]"


def format_gap(gap: float) -> str:
    """Exploitation gap in percentage points, '+35' ('-' when not measured)."""
    if gap is None or not math.isfinite(gap):
        return "-"
    return f"{100 * gap:+.0f}"


def select(summary: pd.DataFrame, env: str | None = None,
           mode: str | None = None) -> pd.DataFrame:
    """Rows of one env and one mode: the given ones, else the only ones present."""
    rows = summary
    for col, value in (("env", env), ("mode", mode)):
        if value is not None:
            rows = rows[rows[col] == value]
            if rows.empty:
                raise ValueError(f"no summary rows for {col} {value!r}")
        elif len(ordered_unique(rows[col])) > 1:
            raise ValueError(f"summary holds several {col}s; pass {col}= to choose one")
    return rows


def paper_table(summary: pd.DataFrame, planners_order: Sequence[str] | None = None, *,
                env: str | None = None, mode: str | None = None, metric: str | None = None,
                with_ci: bool = False) -> pd.DataFrame:
    """Paper-format table of strings: one row per horizon (index ``H``), one column per
    planner, for ``metric`` (default: the mode's headline -- the executed plan for open
    loop).  Cells not run are ``""``; a metric of :data:`TTS_HIDDEN` shows no time."""
    rows = select(summary, env, mode)
    metric = metric or HEADLINE[rows["mode"].iloc[0]]
    planners = planner_order(rows["planner"], planners_order)
    horizons = sorted(int(h) for h in rows["horizon"].unique())
    table = pd.DataFrame("", index=pd.Index(horizons, name="H"), columns=planners, dtype=object)
    for r in rows.to_dict("records"):
        ci = (r[f"{metric}_ci_low"], r[f"{metric}_ci_high"]) if with_ci else None
        table.loc[int(r["horizon"]), r["planner"]] = format_cell(
            r[f"{metric}_rate"], r[f"{metric}_median_tts_s"], ci,
            with_time=metric not in TTS_HIDDEN)
    return table


def _best_planners(rows: pd.DataFrame, metric: str) -> set[str]:
    """Planners with the highest rate as displayed (0.1%); none if the best is 0."""
    shown = (100.0 * rows[f"{metric}_rate"].astype(float)).round(1)
    if shown.empty or not shown.max() > 0.0:
        return set()
    return set(rows.loc[shown == shown.max(), "planner"])


def paper_table_markdown(summary: pd.DataFrame, planners_order: Sequence[str] | None = None,
                         *, env: str | None = None, mode: str | None = None,
                         metric: str | None = None, with_ci: bool = False) -> str:
    """Markdown version of :func:`paper_table` with the best rate per row in **bold**
    (ties all bold, no tie-break on time; a row whose best rate is 0.0% has no bold)."""
    rows = select(summary, env, mode)
    metric = metric or HEADLINE[rows["mode"].iloc[0]]
    table = paper_table(rows, planners_order, metric=metric, with_ci=with_ci)
    for horizon in table.index:
        for planner in _best_planners(rows[rows["horizon"] == horizon], metric):
            table.loc[horizon, planner] = f"**{table.loc[horizon, planner]}**"
    return markdown_table(table.reset_index())


def markdown_table(frame: pd.DataFrame, floatfmt: str = "g") -> str:
    """A frame as a GitHub-flavoured Markdown table (no index), via tabulate."""
    return tabulate(frame.values.tolist(), headers=list(frame.columns), tablefmt="github",
                    floatfmt=floatfmt, missingval="-", disable_numparse=True)


def detail_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Human-readable per-cell table (strings): every measured metric with its Wilson CI
    and median time-to-success, planning time and iterations."""
    rows = []
    for r in summary.to_dict("records"):
        row = {"env": r["env"], "mode": r["mode"], "planner": r["planner"],
               "H": int(r["horizon"]), "n": int(r["n"])}
        for m in METRICS:
            row[f"{m} [95% CI]"] = percent_ci(r[f"{m}_rate"], r[f"{m}_ci_low"],
                                              r[f"{m}_ci_high"])
            if m not in TTS_HIDDEN:
                row[f"{m} TTS"] = format_seconds(r[f"{m}_median_tts_s"]) \
                    if r[f"{m}_n"] else "-"
        row["fidelity [95% CI]"] = percent_ci(r.get("fidelity_rate", math.nan),
                                              r.get("fidelity_ci_low", math.nan),
                                              r.get("fidelity_ci_high", math.nan))
        row["gap (pp)"] = format_gap(r.get("exploitation_gap", math.nan))
        row["mean plan time"] = format_seconds(r["mean_planning_time_s"])
        row["plan/problem"] = format_seconds(r.get("mean_planning_time_per_problem_s",
                                                   math.nan))
        row["mean iters"] = "-" if not math.isfinite(r["mean_iterations"]) \
            else f"{r['mean_iterations']:.1f}"
        row["errors"] = int(r["failures_by_error"])
        rows.append(row)
    frame = pd.DataFrame(rows)
    unused = [c for m in METRICS if (summary[f"{m}_n"] == 0).all()
              for c in (f"{m} [95% CI]", f"{m} TTS")]
    if not summary.get("mean_planning_time_per_problem_s",
                       pd.Series(dtype=float)).notna().any():
        unused.append("plan/problem")
    if "fidelity_n" not in summary or (summary["fidelity_n"] == 0).all():
        unused.append("fidelity [95% CI]")
    if not summary.get("exploitation_gap", pd.Series(dtype=float)).notna().any():
        unused.append("gap (pp)")
    return frame.drop(columns=[c for c in unused if c in frame])


def summary_markdown(summary: pd.DataFrame, episodes: pd.DataFrame | None = None) -> str:
    """summary.md body: per env and mode a paper-format table per metric, the detail
    table, solved-within-budget tables, and what every metric means."""
    parts = ["# Results", ""]
    for env in ordered_unique(summary["env"]):
        for mode in ordered_unique(summary.loc[summary["env"] == env, "mode"]):
            for metric in MODE_METRICS[mode]:
                what = "success" if metric in TTS_HIDDEN else \
                    "success / median time to success"
                parts += [f"## {env}, {mode} loop: {METRIC_TITLES[metric]} ({what})", "",
                          paper_table_markdown(summary, env=env, mode=mode, metric=metric), ""]
    parts += ["## Per-cell detail (95% Wilson intervals)", "",
              markdown_table(detail_table(summary)), ""]
    if episodes is not None and not episodes.empty:
        for metric in ordered_unique(HEADLINE[m] for m in summary["mode"]):
            budgets = solved_within(episodes, metric).rename(columns={"horizon": "H"})
            for col in budgets.columns[4:]:
                budgets[col] = budgets[col].map(lambda x: f"{100 * x:.1f}%")
            parts += [f"## {metric}: solved within a planner wall-clock budget", "",
                      markdown_table(budgets), ""]
    parts += ["Metrics:", ""]
    parts += [f"- **{m}**: {METRIC_LABELS[m]}." for m in ordered_unique(
        x for mode in summary["mode"] for x in MODE_METRICS[mode])]
    parts += ["- **fidelity**: reference fidelity, the share of the cell's problems whose own "
              "reference actions succeed under the world model (how far the model can judge "
              "a true solution).",
              "- **gap**: exploitation gap, success under the model minus success of the "
              "executed plan, in percentage points (open loop).",
              "- **TTS**: median over successful episodes of the planner time at the first "
              "snapshot (or re-plan) from which the metric stays successful; planner seconds "
              "for the whole batch of problems" + (
                  f" ({TTS_HIDDEN_NOTE})" if any(m in TTS_HIDDEN for mode in summary["mode"]
                                                for m in MODE_METRICS[mode]) else "") + ".",
              "- **mean plan time**: planner seconds for the whole batch of problems an "
              "episode was planned in; **plan/problem**: the same divided by the batch size.",
              ""]
    return "\n".join(parts)
