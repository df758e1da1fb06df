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
    HEADLINE,
    MODE_METRICS,
    anytime_curve,
    format_cell,
    load_run,
    markdown_table,
    percent_ci,
    planner_order,
    summarize,
    summary_markdown,
    wilson_interval,
    write_csv_atomic,
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


def _colors(planners: list[str]) -> dict[str, Any]:
    """A fixed colour per planner (tab10 in planner order), the same in every panel."""
    cmap = _pyplot().get_cmap("tab10")
    return {p: cmap(i % 10) for i, p in enumerate(planners)}


def plot_success_vs_horizon(summary: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Success rate (%) vs horizon H per planner with 95% Wilson error bars; one panel per
    (env, mode), its headline metric solid (open loop: the executed plan) and, for open
    loop, success under the model (the diagnostic) dashed."""
    plt = _pyplot()
    panels = _ordered(zip(summary["env"], summary["mode"], strict=True)) or [("(no data)", "")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False,
                             layout="constrained")
    colors = _colors(planner_order(summary["planner"]))
    for ax, (env, mode) in zip(axes[0], panels, strict=True):
        rows = summary[(summary["env"] == env) & (summary["mode"] == mode)]
        horizons = sorted(int(h) for h in rows["horizon"].unique())
        step = min((b - a for a, b in zip(horizons, horizons[1:], strict=False)), default=10)
        planners = planner_order(rows["planner"])
        for i, planner in enumerate(planners):
            r = rows[rows["planner"] == planner].sort_values("horizon")
            dodge = 0.04 * step * (i - (len(planners) - 1) / 2)
            for metric, style in ((m, "-" if m == HEADLINE[mode] else "--")
                                  for m in MODE_METRICS.get(mode, ())):
                rate = 100.0 * r[f"{metric}_rate"].to_numpy(float)
                err = [rate - 100.0 * r[f"{metric}_ci_low"].to_numpy(float),
                       100.0 * r[f"{metric}_ci_high"].to_numpy(float) - rate]
                ax.errorbar(r["horizon"].to_numpy(float) + dodge, rate, yerr=err, marker="o",
                            capsize=3, linestyle=style, color=colors[planner],
                            label=f"{planner} ({metric})")
        ax.set_xticks(horizons)
        ax.set(title=f"{env}, {mode}", xlabel="horizon H (env steps)",
               ylabel="success rate (%)", ylim=(-2, 102))
        ax.grid(alpha=0.3)
        if not rows.empty:
            ax.legend(fontsize="small")
    return _save(fig, path)


def plot_anytime(episodes: pd.DataFrame, snapshots: pd.DataFrame | None,
                 path: str | os.PathLike[str]) -> Path:
    """The paper's Figure 5: fraction of episodes solved vs planner wall-clock seconds.

    One panel per (env, mode, H) for the mode's headline metric; per planner a step curve
    with its 95% Wilson band.  An episode is solved from its time-to-success on, so each
    curve ends at the planner's success rate.  The time axis (log) starts at the fastest
    planner's first snapshot; a planner with no success is drawn as a dotted line at 0
    and named so in the legend.
    """
    plt = _pyplot()
    panels = _ordered(zip(episodes["env"], episodes["mode"], episodes["horizon"].astype(int),
                          strict=True)) if len(episodes) else []
    ncols = min(3, max(1, len(panels)))
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.8 * nrows), squeeze=False,
                             layout="constrained")
    flat = list(axes.flat)
    if not panels:
        flat[0].text(0.5, 0.5, "no episodes", ha="center", va="center")
        flat[0].set_axis_off()
    colors = _colors(planner_order(episodes["planner"])) if len(episodes) else {}
    for ax, (env, mode, horizon) in zip(flat, panels, strict=False):
        _anytime_panel(ax, episodes, snapshots, env, mode, horizon, colors)
    for ax in flat[len(panels):] if panels else []:
        ax.set_axis_off()
    return _save(fig, path)


def _anytime_panel(ax: Any, episodes: pd.DataFrame, snapshots: pd.DataFrame | None, env: str,
                   mode: str, horizon: int, colors: dict) -> None:
    """Draw one (env, mode, horizon) panel of the anytime plot."""
    metric = HEADLINE[mode]
    mine = episodes[(episodes["env"] == env) & (episodes["mode"] == mode)
                    & (episodes["horizon"].astype(int) == horizon)]
    curve = anytime_curve(mine, metric)
    snaps = snapshots[(snapshots["env"] == env) & (snapshots["mode"] == mode)
                      & (snapshots["horizon"].astype(int) == horizon)] \
        if snapshots is not None and len(snapshots) else mine.iloc[0:0]
    positive = pd.to_numeric(snaps.get("elapsed_s", pd.Series(dtype=float)))
    positive = positive[positive > 0]
    if len(positive):  # the fastest planner's first snapshot
        t_min = float(positive.min())
    else:
        t_min = float(curve["elapsed_s"].min()) if len(curve) else 1e-3
    t_end = max(float(pd.to_numeric(mine["planning_time_s"]).max()), t_min * 10)
    for planner in planner_order(mine["planner"]):
        c = curve[curve["planner"] == planner]
        if c.empty:
            ax.plot([t_min, t_end], [0, 0], linestyle=":", color=colors[planner],
                    label=f"{planner} (0 solved)")
            continue
        times = [t_min, *c["elapsed_s"].clip(lower=t_min), t_end]
        frac = [0.0, *(100 * c["solved_fraction"]), 100 * c["solved_fraction"].iloc[-1]]
        n = int(c["n"].iloc[0])
        low = [0.0, *(100 * c["ci_low"]), 100 * c["ci_low"].iloc[-1]]
        high = [100 * wilson_interval(0, n)[1], *(100 * c["ci_high"]),
                100 * c["ci_high"].iloc[-1]]
        ax.step(times, frac, where="post", color=colors[planner], label=planner)
        ax.fill_between(times, low, high, step="post", color=colors[planner], alpha=0.15,
                        linewidth=0)
    ax.set_xscale("log")
    ax.set_xlim(t_min, t_end)
    ax.xaxis.set_major_formatter("{x:g}")
    ax.xaxis.set_minor_formatter("")
    ax.set(title=f"{env}, {mode}, H={horizon}: {metric}", xlabel="planner wall-clock (s)",
           ylabel="episodes solved (%)", ylim=(-2, 102))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")


def _is_pusht(env: str) -> bool:
    """Whether an env id names Push-T (e.g. 'grasp_bench/PushT-v0')."""
    return "pusht" in re.sub(r"[^a-z]", "", str(env).lower())


#: Trials per cell of the paper's Table 1 ("500 trials per setting").
PAPER_TRIALS = 500
#: The label of the ceiling rows: CEM planning with the simulator as its model.
CEILING = "cem (simulator ceiling)"
#: An exploitation gap (model minus executed rate) at least this large names the cause.
GAP_CAUSE = 0.2


def paper_verdict(rate: float, paper_pct: float, n: int = PAPER_TRIALS) -> str:
    """``inside``, ``above`` or ``below`` the paper's 95 % Wilson interval (``n`` trials)."""
    lo, hi = wilson_interval(round(paper_pct / 100.0 * n), n)
    return "above" if rate > hi else "below" if rate < lo else "inside"


def below_cause(paper_rate: float, cell: pd.Series,
                ceiling: tuple[float, float] | None) -> str:
    """The measured cause of a cell below the paper, the first that holds of: ``ceiling``
    (CEM with the simulator as its model, at its default budget on the same problems,
    ``ceiling = (rate, ci_low)``, is itself below the paper, and the cell reaches it: its
    rate is not below the ceiling's 95 % interval), ``fidelity`` (the model recognizes
    fewer of the problems' own solutions than the paper's rate), ``exploitation gap`` (the
    plans succeed under the model at least :data:`GAP_CAUSE` more often than when executed)
    and ``budget`` (none of these: the planner finds too few plans in its iterations)."""
    rate = float(cell.get("executed_rate", math.nan))
    if ceiling is not None and ceiling[0] < paper_rate and not rate < ceiling[1]:
        return "ceiling"
    fidelity = cell.get("fidelity_rate", math.nan)
    if not math.isnan(fidelity) and fidelity < paper_rate:
        return "fidelity"
    gap = cell.get("exploitation_gap", math.nan)
    if not math.isnan(gap) and gap >= GAP_CAUSE:
        return "exploitation gap"
    return "budget"


def paper_comparison(summary: pd.DataFrame, reference: pd.DataFrame | None = None,
                     ceiling: pd.DataFrame | None = None) -> pd.DataFrame:
    """Side-by-side paper vs this run for open-loop Push-T cells at the paper's horizons.

    The paper's numbers are read as executed plans (DINO-WM's evaluator runs the planned
    actions in the simulator), so they stand beside this run's executed-plan rate.
    ``ceiling``: the summary of a run with ``--model simulator`` (its CEM cells), shown as
    :data:`CEILING` rows and used to name causes.

    Returns string columns ``env, H, planner, paper, executed (this run), delta (pp),
    verdict, cause, under the model (this run), fidelity``: the paper's "59.0% / 8.5s", this
    run's executed-plan cell with its 95% CI ("-" when not run), the difference in
    percentage points (this run minus paper), :func:`paper_verdict`, :func:`below_cause`
    for a cell below, this run's success under the model (the diagnostic) and the model's
    reference fidelity on the cell's problems.
    """
    ref = paper_reference() if reference is None else reference
    rows = []
    opened = summary[summary["mode"] == "open"]
    ceil = _ceiling_rates(ceiling)
    for env in _ordered(opened.loc[opened["env"].map(_is_pusht), "env"]):
        ours = opened[opened["env"] == env]
        horizons = sorted(set(ours["horizon"].astype(int)) & set(ref["horizon"]))
        planners = planner_order([*PAPER_PLANNERS, *ref["planner"], *ours["planner"]])
        for h in horizons:
            if h in ceil:
                rows.append(_ceiling_row(env, h, ceil[h]))
            for planner in planners:
                rows.append(_comparison_row(env, h, planner, ref, ours, ceil.get(h)))
    columns = ["env", "H", "planner", "paper", "executed (this run)", "delta (pp)", "verdict",
               "cause", "under the model (this run)", "fidelity"]
    return pd.DataFrame([r for r in rows if r is not None], columns=columns)


def _ceiling_rates(ceiling: pd.DataFrame | None) -> dict[int, pd.Series]:
    """The ceiling run's open-loop CEM cells by H."""
    if ceiling is None:
        return {}
    cem = ceiling[(ceiling["mode"] == "open") & (ceiling["planner"] == "cem")]
    return {int(r["horizon"]): r for _, r in cem.iterrows()}


def _ceiling_row(env: str, horizon: int, cell: pd.Series) -> dict[str, Any]:
    return {"env": env, "H": horizon, "planner": CEILING, "paper": "-",
            "executed (this run)": format_cell(
                cell["executed_rate"], cell["executed_median_tts_s"],
                (cell["executed_ci_low"], cell["executed_ci_high"])),
            "delta (pp)": "-", "verdict": "-", "cause": "-",
            "under the model (this run)": "-", "fidelity": "-"}


def _comparison_row(env: str, horizon: int, planner: str, ref: pd.DataFrame,
                    ours: pd.DataFrame, ceiling: pd.Series | None = None
                    ) -> dict[str, Any] | None:
    """One comparison row; None when neither the paper nor this run has the cell."""
    paper = ref[(ref["horizon"] == horizon) & (ref["planner"] == planner)]
    mine = ours[(ours["horizon"].astype(int) == horizon) & (ours["planner"] == planner)]
    if paper.empty and mine.empty:
        return None
    paper_text = "-" if paper.empty else format_cell(
        paper["success"].iloc[0] / 100.0, paper["time_s"].iloc[0])
    ours_text = delta = verdict = cause = model_text = fidelity = "-"
    if not mine.empty:
        m = mine.iloc[0]
        ours_text = format_cell(m["executed_rate"], m["executed_median_tts_s"],
                                (m["executed_ci_low"], m["executed_ci_high"]))
        model_text = format_cell(m["model_rate"], m["model_median_tts_s"],
                                 (m["model_ci_low"], m["model_ci_high"]))
        if not math.isnan(m.get("fidelity_rate", math.nan)):
            fidelity = f"{100.0 * m['fidelity_rate']:.0f}%"
        if not paper.empty:
            pct = float(paper["success"].iloc[0])
            delta = f"{100.0 * m['executed_rate'] - pct:+.1f}"
            verdict = paper_verdict(float(m["executed_rate"]), pct)
            if verdict == "below":
                cause = below_cause(pct / 100.0, m, None if ceiling is None else (
                    float(ceiling["executed_rate"]), float(ceiling["executed_ci_low"])))
    return {"env": env, "H": horizon, "planner": planner, "paper": paper_text,
            "executed (this run)": ours_text, "delta (pp)": delta, "verdict": verdict,
            "cause": cause, "under the model (this run)": model_text, "fidelity": fidelity}


def paper_comparison_markdown(summary: pd.DataFrame,
                              reference: pd.DataFrame | None = None,
                              ceiling: pd.DataFrame | None = None) -> str:
    """Markdown section comparing this run with the paper's Table 1 (Push-T only)."""
    table = paper_comparison(summary, reference, ceiling)
    lines = ["## Comparison with the GRASP paper (Table 1, Push-T)", ""]
    if table.empty:
        lines += ["No Push-T cell of this run matches the paper's horizons (40..80).", ""]
        return "\n".join(lines)
    lines += [markdown_table(table), "",
              "Paper: arXiv 2602.00475, open-loop, DINO-WM world model, 500 trials per "
              "setting, read as executed plans (DINO-WM's evaluator runs the planned actions "
              "in the simulator and applies `eval_state`); beside it this run's executed "
              "plans, and its success under the world model as a diagnostic. Times are "
              "planner seconds for the whole batch here, per trial in the paper: not "
              "comparable across hardware and world models. Verdict: this run's executed "
              "rate inside, above or below the paper's 95 % Wilson interval (500 trials). "
              "Cause of a cell below, the first that holds: ceiling (CEM with the simulator "
              f"as its model, row `{CEILING}`, is itself below the paper and the cell is "
              "not below its interval), fidelity (the "
              "model's reference fidelity is below the paper's rate), exploitation gap "
              f"(success under the model at least {GAP_CAUSE:.0%} above executed), else "
              "budget.",
              ""]
    return "\n".join(lines)


def write_report(run_dir: str | os.PathLike[str], paper: bool = False,
                 ceiling: str | os.PathLike[str] | None = None) -> str:
    """(Re)generate summary.csv, summary.md and the PNG plots of a run directory.

    Reads the run through :func:`grasp_bench.results.load_run`; with ``paper=True``
    summary.md also gets a side-by-side table of the paper's Table 1 and this run
    (open-loop Push-T, matching horizons, executed plans), with the CEM cells of the run
    ``ceiling`` (``--model simulator``) as the ceiling rows.

    Returns:
        The markdown written to summary.md.
    """
    run = Path(run_dir)
    episodes, snapshots, _meta = load_run(run)
    summary = summarize(episodes)
    write_csv_atomic(summary, run / "summary.csv")
    plot_success_vs_horizon(summary, run / SUCCESS_PLOT)
    plot_anytime(episodes, snapshots, run / ANYTIME_PLOT)
    parts = [summary_markdown(summary, episodes).rstrip("\n"), ""]
    if paper:
        ceil = None if ceiling is None else summarize(load_run(Path(ceiling))[0])
        parts += [paper_comparison_markdown(summary, ceiling=ceil).rstrip("\n"), ""]
    parts += ["## Figures", "", f"![success vs horizon]({SUCCESS_PLOT})", "",
              f"![anytime]({ANYTIME_PLOT})", ""]
    text = "\n".join(parts)
    write_text_atomic(text, run / "summary.md")
    return text


def run_label(meta: dict) -> str:
    """'tuned' or 'default': which configs a run used (from its meta.json)."""
    extra = meta.get("extra", {}) if isinstance(meta.get("extra"), dict) else {}
    return "tuned" if extra.get("tuned") else "default"


def comparison_markdown(run_a: str | os.PathLike[str], run_b: str | os.PathLike[str]) -> str:
    """Two runs side by side, cell by cell (env, mode, H, planner): every metric's rate
    with its 95% Wilson interval and the mean planning seconds, one column per run,
    labelled by the configs it used (the directory names when both used the same)."""
    runs = [Path(run_a), Path(run_b)]
    loaded = [load_run(r) for r in runs]
    labels = [run_label(meta) for _, _, meta in loaded]
    if labels[0] == labels[1]:
        labels = [r.name for r in runs]
    sums = [summarize(episodes).set_index(["env", "mode", "horizon", "planner"])
            for episodes, _, _ in loaded]
    sources = [set(s["problem_source"]) for s in sums]
    if sources[0] != sources[1]:
        raise UserError(f"{runs[0]} and {runs[1]} were made on other problems "
                        f"({', '.join(sorted(sources[0]))} vs {', '.join(sorted(sources[1]))})")
    keys = [k for k in sums[0].index if k in sums[1].index]
    if not keys:
        raise UserError(f"{runs[0]} and {runs[1]} share no cell (env, mode, H, planner)")
    parts = [f"# {labels[0]} vs {labels[1]}", "",
             "success % [95% Wilson interval] per cell; " + "; ".join(
                 f"{lab}: {r}" for lab, r in zip(labels, runs, strict=True)), ""]
    for mode in dict.fromkeys(k[1] for k in keys):
        rows = []
        for env, m, h, planner in keys:
            if m != mode:
                continue
            row = {"env": env, "H": h, "planner": planner}
            for metric in MODE_METRICS[mode]:
                for lab, s in zip(labels, sums, strict=True):
                    r = s.loc[(env, m, h, planner)]
                    row[f"{metric}: {lab}"] = percent_ci(r[f"{metric}_rate"],
                                                         r[f"{metric}_ci_low"],
                                                         r[f"{metric}_ci_high"])
            for lab, s in zip(labels, sums, strict=True):
                t = s.loc[(env, m, h, planner)]["mean_planning_time_s"]
                row[f"plan s: {lab}"] = f"{t:.1f}"
            rows.append(row)
        parts += [f"## {mode} loop", "", markdown_table(pd.DataFrame(rows)), ""]
    return "\n".join(parts)
