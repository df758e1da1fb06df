"""Report generation: plots, paper comparison and summary files of a run directory.

matplotlib is imported lazily (Agg backend) inside the plotting functions, so
importing this module stays cheap and never needs a display.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from grasp_bench.errors import UserError
from grasp_bench.results import (
    anytime_curve,
    format_cell,
    load_run,
    markdown_table,
    planner_order,
    summary_markdown,
    write_summary,
    write_text_atomic,
)

SUCCESS_PLOT = "success_vs_horizon.png"
ANYTIME_PLOT = "anytime.png"
PAPER_PLANNERS: tuple[str, ...] = ("cem", "gd", "latco", "grasp")


def reference_dir() -> Path:
    """The repository's ``results/reference`` directory (resolved from this file)."""
    return Path(__file__).resolve().parents[1] / "results" / "reference"


def paper_reference(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The GRASP paper's Push-T Table 1 (``horizon, planner, success, time_s``).

    ``success`` is in percent and ``time_s`` the median seconds to success (NaN when
    the paper reports no success). Defaults to ``results/reference/paper_pusht_table.csv``.
    """
    file = Path(path) if path is not None else reference_dir() / "paper_pusht_table.csv"
    if not file.is_file():
        raise UserError(f"paper reference table not found: {file}")
    table = pd.read_csv(file, comment="#")
    missing = [c for c in ("horizon", "planner", "success", "time_s") if c not in table]
    if missing:
        raise UserError(f"{file} lacks columns {missing}")
    return table.astype({"horizon": int, "success": float, "time_s": float})


def _pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (imported lazily)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Save a figure atomically-enough (temp name then replace) and close it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.png")
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        _pyplot().close(fig)
    return target


def _ordered(values: pd.Series) -> list[Any]:
    """Unique values in order of first appearance."""
    return list(dict.fromkeys(values))


def plot_success_vs_horizon(summary: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Success rate (%) vs horizon H per planner, with 95% Wilson error bars; one panel per env."""
    plt = _pyplot()
    envs = _ordered(summary["env"]) or ["(no data)"]
    fig, axes = plt.subplots(1, len(envs), figsize=(5.5 * len(envs), 4), squeeze=False,
                             layout="constrained")
    for ax, env in zip(axes[0], envs, strict=True):
        rows = summary[summary["env"] == env]
        planners = planner_order(rows["planner"])
        horizons = sorted(int(h) for h in rows["horizon"].unique())
        # Dodge planners sideways a little so overlapping error bars stay readable.
        step = min((b - a for a, b in zip(horizons, horizons[1:], strict=False)), default=10)
        for i, planner in enumerate(planners):
            r = rows[rows["planner"] == planner].sort_values("horizon")
            rate = 100.0 * r["success_rate"].to_numpy(float)
            err = [rate - 100.0 * r["ci_low"].to_numpy(float),
                   100.0 * r["ci_high"].to_numpy(float) - rate]
            dodge = 0.04 * step * (i - (len(planners) - 1) / 2)
            ax.errorbar(r["horizon"].to_numpy(float) + dodge, rate, yerr=err, marker="o",
                        capsize=3, label=planner)
        ax.set_xticks(horizons)
        ax.set(title=str(env), xlabel="horizon H (env steps)", ylabel="success rate (%)",
               ylim=(-2, 102))
        ax.grid(alpha=0.3)
        if not rows.empty:
            ax.legend()
    return _save(fig, path)


def plot_anytime(snapshots: pd.DataFrame, episodes: pd.DataFrame | None,
                 path: str | os.PathLike[str]) -> Path:
    """Fraction of episodes solved vs planner wall-clock seconds (log x).

    One panel per (env, horizon), one step curve per planner. An episode is solved
    at time t if any of its snapshots with ``elapsed_s <= t`` succeeded in the
    simulator (see :func:`grasp_bench.results.anytime_curve`).
    """
    plt = _pyplot()
    curve = anytime_curve(snapshots, episodes)
    source = episodes if episodes is not None and not episodes.empty else snapshots
    panels = _ordered(zip(source["env"], source["horizon"].astype(int), strict=True)) \
        if source is not None and not source.empty else []
    ncols = min(3, max(1, len(panels)))
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.8 * nrows), squeeze=False,
                             layout="constrained")
    flat = list(axes.flat)
    if not panels:
        flat[0].text(0.5, 0.5, "no snapshots", ha="center", va="center")
        flat[0].set_axis_off()
    t_max = float(snapshots["elapsed_s"].max()) if snapshots is not None and len(snapshots) \
        else 1.0
    for ax, (env, horizon) in zip(flat, panels, strict=False):
        _anytime_panel(ax, curve, source, env, horizon, t_max)
    for ax in flat[len(panels):] if panels else []:
        ax.set_axis_off()
    return _save(fig, path)


def _anytime_panel(ax: Any, curve: pd.DataFrame, source: pd.DataFrame, env: str,
                   horizon: int, t_max: float) -> None:
    """Draw one (env, horizon) panel of the anytime plot."""
    cell = curve[(curve["env"] == env) & (curve["horizon"] == horizon)]
    positive = cell.loc[cell["elapsed_s"] > 0, "elapsed_s"]
    t_min = float(positive.min()) / 2 if len(positive) else 1e-3
    t_end = max(t_max, t_min * 10)
    planners = planner_order(source.loc[(source["env"] == env)
                                        & (source["horizon"].astype(int) == horizon), "planner"])
    for planner in planners:
        mine = cell[cell["planner"] == planner]
        times = [t_min, *mine["elapsed_s"].clip(lower=t_min), t_end]
        fracs = [0.0, *(100.0 * mine["solved_fraction"]), 100.0 * _last(mine)]
        ax.step(times, fracs, where="post", label=planner)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter("{x:g}")
    ax.xaxis.set_minor_formatter("")
    ax.set(title=f"{env}, H={horizon}", xlabel="planner wall-clock (s)",
           ylabel="episodes solved (%)", ylim=(-2, 102))
    ax.grid(alpha=0.3, which="both")
    ax.legend()


def _last(curve: pd.DataFrame) -> float:
    """Final solved fraction of one curve (0 when empty)."""
    return float(curve["solved_fraction"].iloc[-1]) if len(curve) else 0.0


def _is_pusht(env: str) -> bool:
    """Whether an env id names Push-T (e.g. 'grasp_bench/PushT-v0')."""
    return "pusht" in re.sub(r"[^a-z]", "", str(env).lower())


def paper_comparison(summary: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Side-by-side paper vs this run for Push-T cells at the paper's horizons.

    Returns string columns ``env, H, planner, paper, this run, delta (pp)``: the
    paper's "59.0% / 8.5s", this run's cell with its 95% CI ("-" when not run) and
    the success difference in percentage points (this run minus paper).
    """
    ref = paper_reference() if reference is None else reference
    rows = []
    for env in _ordered(summary.loc[summary["env"].map(_is_pusht), "env"]):
        ours = summary[summary["env"] == env]
        horizons = sorted(set(ours["horizon"].astype(int)) & set(ref["horizon"]))
        planners = planner_order([*PAPER_PLANNERS, *ref["planner"], *ours["planner"]])
        for h in horizons:
            for planner in planners:
                rows.append(_comparison_row(env, h, planner, ref, ours))
    columns = ["env", "H", "planner", "paper", "this run", "delta (pp)"]
    return pd.DataFrame([r for r in rows if r is not None], columns=columns)


def _comparison_row(env: str, horizon: int, planner: str, ref: pd.DataFrame,
                    ours: pd.DataFrame) -> dict[str, Any] | None:
    """One comparison row; None when neither the paper nor this run has the cell."""
    paper = ref[(ref["horizon"] == horizon) & (ref["planner"] == planner)]
    mine = ours[(ours["horizon"].astype(int) == horizon) & (ours["planner"] == planner)]
    if paper.empty and mine.empty:
        return None
    paper_text = "-" if paper.empty else format_cell(
        paper["success"].iloc[0] / 100.0, paper["time_s"].iloc[0])
    if mine.empty:
        ours_text, delta = "-", "-"
    else:
        m = mine.iloc[0]
        ours_text = format_cell(m["success_rate"], m["median_time_to_success_s"],
                                (m["ci_low"], m["ci_high"]))
        delta = "-" if paper.empty else \
            f"{100.0 * m['success_rate'] - paper['success'].iloc[0]:+.1f}"
    return {"env": env, "H": horizon, "planner": planner, "paper": paper_text,
            "this run": ours_text, "delta (pp)": delta}


def paper_comparison_markdown(summary: pd.DataFrame,
                              reference: pd.DataFrame | None = None) -> str:
    """Markdown section comparing this run with the paper's Table 1 (Push-T only)."""
    table = paper_comparison(summary, reference)
    lines = ["## Comparison with the GRASP paper (Table 1, Push-T)", ""]
    if table.empty:
        lines += ["No Push-T cell of this run matches the paper's horizons (40..80).", ""]
        return "\n".join(lines)
    lines += [markdown_table(table), "",
              "Paper: arXiv 2602.00475, open-loop, DINO-WM world model, 500 trials per "
              "setting. Times are not comparable across hardware and world models; "
              "success rates are, up to the world model's quality.", ""]
    return "\n".join(lines)


def write_report(run_dir: str | os.PathLike[str], paper: bool = False) -> str:
    """(Re)generate summary.csv, summary.md and the PNG plots of a run directory.

    Reads episodes.csv / snapshots.csv through :func:`grasp_bench.results.load_run`,
    writes ``summary.csv``, ``summary.md``, ``success_vs_horizon.png`` and
    ``anytime.png``; with ``paper=True`` summary.md also gets a side-by-side table of
    the paper's Table 1 and this run (Push-T, matching horizons).

    Returns:
        The markdown written to summary.md.
    """
    run = Path(run_dir)
    episodes, snapshots, _meta = load_run(run)
    summary = write_summary(run, episodes, snapshots)
    plot_success_vs_horizon(summary, run / SUCCESS_PLOT)
    plot_anytime(snapshots, episodes, run / ANYTIME_PLOT)
    parts = [summary_markdown(summary, snapshots, episodes).rstrip("\n"), ""]
    if paper:
        parts += [paper_comparison_markdown(summary).rstrip("\n"), ""]
    parts += ["## Figures", "", f"![success vs horizon]({SUCCESS_PLOT})", "",
              f"![anytime]({ANYTIME_PLOT})", ""]
    text = "\n".join(parts)
    write_text_atomic(text, run / "summary.md")
    return text
