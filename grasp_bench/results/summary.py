"""Per-cell summaries of the episodes and the anytime curves.

* A *cell* is one (env, mode, planner, horizon); summaries have one row per cell.
* Rates are fractions in [0, 1], each with a 95% Wilson interval, per metric
  (:data:`~grasp_bench.results.schema.METRICS`); a metric its mode does not measure has
  n = 0 and NaN rates.
* ``<metric>_median_tts_s`` is the paper's statistic: the median time-to-success over
  the episodes that succeeded.
* The anytime curve of a metric counts an episode solved from its time-to-success on, so
  it ends exactly at the metric's success rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from grasp_bench.results.schema import (
    CELL_KEYS,
    LEGACY_SOURCE,
    METRICS,
    REFERENCE_COLUMN,
    SOURCE_COLUMN,
    SUMMARY_COLUMNS,
    success_column,
    tts_column,
)
from grasp_bench.results.stats import wilson_interval
from grasp_bench.results.store import as_nullable_bool

DEFAULT_PLANNER_ORDER: tuple[str, ...] = ("cem", "gd", "latco", "grasp")
"""Column order of the paper's Table 1; other planners follow in order of appearance."""

ANYTIME_BUDGETS_S: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
"""Planner wall-clock budgets reported in the anytime table of summary.md."""


def ordered_unique(values: Iterable[Any]) -> list[Any]:
    """Unique values in order of first appearance."""
    return list(dict.fromkeys(values))


def planner_order(planners: Iterable[str],
                  planners_order: Sequence[str] | None = None) -> list[str]:
    """Present planners ordered by ``planners_order`` (default: the paper's), others after."""
    present = ordered_unique(planners)
    wanted = list(DEFAULT_PLANNER_ORDER if planners_order is None else planners_order)
    head = [p for p in wanted if p in present]
    return head + [p for p in present if p not in head]


def metric_outcomes(cell: pd.DataFrame, metric: str) -> tuple[pd.Series, pd.Series]:
    """``(success, time_to_success)`` of the episodes of ``cell`` that measure ``metric``."""
    col = success_column(metric)
    if col not in cell:
        return pd.Series(dtype=bool), pd.Series(dtype=float)
    success = as_nullable_bool(cell[col])
    measured = success.notna()
    times = pd.to_numeric(cell.loc[measured, tts_column(metric)], errors="coerce") \
        if tts_column(metric) in cell else pd.Series(math.nan, index=cell.index[measured])
    return success[measured].astype(bool), times


def _metric_summary(cell: pd.DataFrame, metric: str) -> dict[str, Any]:
    success, times = metric_outcomes(cell, metric)
    n, k = len(success), int(success.sum())
    low, high = wilson_interval(k, n) if n else (math.nan, math.nan)
    won = times[success].dropna()
    return {
        f"{metric}_n": n, f"{metric}_successes": k,
        f"{metric}_rate": k / n if n else math.nan,
        f"{metric}_ci_low": low, f"{metric}_ci_high": high,
        f"{metric}_median_tts_s": float(won.median()) if len(won) else math.nan,
    }


def _fidelity(cell: pd.DataFrame) -> dict[str, Any]:
    """Reference fidelity: the share of the cell's problems whose own reference actions
    succeed under the model, with its 95% Wilson interval (n = 0 where not measured)."""
    ref = as_nullable_bool(cell[REFERENCE_COLUMN]) if REFERENCE_COLUMN in cell else \
        pd.Series(dtype="boolean")
    ref = ref.dropna()
    n, k = len(ref), int(ref.sum())
    low, high = wilson_interval(k, n) if n else (math.nan, math.nan)
    return {"fidelity_n": n, "fidelity_successes": k, "fidelity_rate": k / n if n else math.nan,
            "fidelity_ci_low": low, "fidelity_ci_high": high}


def _mean(cell: pd.DataFrame, col: str) -> float:
    if col not in cell or not len(cell):
        return math.nan
    return float(pd.to_numeric(cell[col], errors="coerce").mean())


def _per_problem(cell: pd.DataFrame) -> float:
    """Mean planning time per problem: each episode's planning time (the seconds of the
    whole batch it was planned in) over its batch size; NaN where either is missing."""
    if "planning_time_s" not in cell or "batch_size" not in cell or not len(cell):
        return math.nan
    per = pd.to_numeric(cell["planning_time_s"], errors="coerce") \
        / pd.to_numeric(cell["batch_size"], errors="coerce").where(lambda b: b > 0)
    return float(per.mean())


def summarize(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per (env, mode, planner, horizon) cell with :data:`SUMMARY_COLUMNS`,
    ordered by env, mode (first appearance), planner (paper order) and horizon."""
    missing = [c for c in CELL_KEYS if c not in episodes]
    if missing:
        raise ValueError(f"episodes frame lacks columns {missing}")
    rows = []
    for key, cell in episodes.groupby(list(CELL_KEYS), sort=False):
        row = dict(zip(CELL_KEYS, key, strict=True))
        row["horizon"] = int(row["horizon"])
        sources = cell[SOURCE_COLUMN].dropna() if SOURCE_COLUMN in cell else []
        row[SOURCE_COLUMN] = str(sources.iloc[0]) if len(sources) else LEGACY_SOURCE
        row["n"] = len(cell)
        for m in METRICS:
            row.update(_metric_summary(cell, m))
        row.update(_fidelity(cell))
        row["exploitation_gap"] = row["model_rate"] - row["executed_rate"]  # NaN unless open
        reason = cell["reason"].fillna("").astype(str).str.strip() if "reason" in cell else None
        row.update(mean_planning_time_s=_mean(cell, "planning_time_s"),
                   mean_planning_time_per_problem_s=_per_problem(cell),
                   mean_iterations=_mean(cell, "iterations"),
                   failures_by_error=int((reason != "").sum()) if reason is not None else 0)
        rows.append(row)
    return sort_cells(pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)))


def sort_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort cells by env and mode (first appearance), planner (paper order), horizon."""
    if frame.empty:
        return frame.reset_index(drop=True)
    ranks = {c: {v: i for i, v in enumerate(ordered_unique(frame[c]))} for c in ("env", "mode")}
    ranks["planner"] = {p: i for i, p in enumerate(planner_order(frame["planner"]))}
    keyed = frame.assign(**{f"_{c}": frame[c].map(r) for c, r in ranks.items()})
    order = keyed.sort_values(["_env", "_mode", "_planner", "horizon"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def anytime_curve(episodes: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Fraction of episodes solved vs planner wall-clock time, per cell, for ``metric``.

    An episode counts as solved from its time-to-success on (the first snapshot or
    re-plan from which it stays successful), so the curve ends at the success rate.

    Returns:
        Step points with columns ``env, mode, planner, horizon, elapsed_s, solved, n,
        solved_fraction, ci_low, ci_high`` (95% Wilson): one row per distinct
        time-to-success per cell. Cells with no success have no rows.
    """
    columns = [*CELL_KEYS, "elapsed_s", "solved", "n", "solved_fraction", "ci_low", "ci_high"]
    rows = []
    for key, cell in episodes.groupby(list(CELL_KEYS), sort=False):
        success, times = metric_outcomes(cell, metric)
        n = len(success)
        counts = times[success].dropna().value_counts().sort_index().cumsum()
        for t, solved in counts.items():
            low, high = wilson_interval(int(solved), n)
            rows.append({**dict(zip(CELL_KEYS, key, strict=True)), "elapsed_s": float(t),
                         "solved": int(solved), "n": n, "solved_fraction": solved / n,
                         "ci_low": low, "ci_high": high})
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"horizon": int}) if len(frame) else frame


def solved_within(episodes: pd.DataFrame, metric: str,
                  budgets_s: Sequence[float] = ANYTIME_BUDGETS_S) -> pd.DataFrame:
    """Solved fraction of ``metric`` per cell at fixed planner wall-clock budgets.

    Returns:
        One row per cell measuring ``metric``: ``env, mode, planner, horizon`` and one
        column per budget named like ``"<=1s"``.
    """
    curve = anytime_curve(episodes, metric)
    measured = episodes[as_nullable_bool(episodes[success_column(metric)]).notna()]
    cells = sort_cells(measured[list(CELL_KEYS)].drop_duplicates())
    rows = []
    for key in cells.to_dict("records"):
        mine = curve
        for c, v in key.items():
            mine = mine[mine[c] == v]
        row: dict[str, Any] = dict(key)
        for b in budgets_s:
            reached = mine.loc[mine["elapsed_s"] <= b, "solved_fraction"]
            row[f"<={b:g}s"] = float(reached.iloc[-1]) if len(reached) else 0.0
        rows.append(row)
    return pd.DataFrame(rows, columns=[*CELL_KEYS, *(f"<={b:g}s" for b in budgets_s)])
