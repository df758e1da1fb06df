"""The regression check: a run's success rates against a committed baseline summary."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from grasp_bench.errors import UserError
from grasp_bench.results.schema import (
    CELL_KEYS,
    LEGACY_NAMES,
    LEGACY_SOURCE,
    METRICS,
    MODE_METRICS,
    SOURCE_COLUMN,
)
from grasp_bench.results.stats import two_proportion_test
from grasp_bench.results.store import check_csv_shape

COMPARISON_COLUMNS = (
    *CELL_KEYS, "metric", "baseline_n", "baseline_successes", "baseline_rate", "current_n",
    "current_successes", "current_rate", "z", "p_value", "drop", "status",
)


def load_summary(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a summary.csv (also the baseline format), checking columns and every row.

    Raises:
        UserError: missing, unreadable, truncated or ragged file (:func:`check_csv_shape`),
            other columns, no rows, or a row that cannot be a cell's summary: a horizon
            that is not a positive integer, an unknown mode, counts that are not integers
            with ``0 <= successes <= n <= the cell's n``, counts of a metric the row's mode
            does not measure, a rate other than successes / n, a confidence interval
            outside [0, 1] or not containing the rate, or a cell listed twice.  The message
            names the file and the row (the header is row 1).
    """
    file = Path(path)
    if not file.is_file():
        raise UserError(f"summary file not found: {file}")
    try:
        check_csv_shape(file)
        frame = pd.read_csv(file)
    except UserError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"unreadable summary {file}: {str(err).splitlines()[0]}") from None
    frame = frame.rename(columns=LEGACY_NAMES)
    if SOURCE_COLUMN not in frame:  # baselines written before problem sources
        frame[SOURCE_COLUMN] = LEGACY_SOURCE
    counts = [f"{m}_{c}" for m in METRICS for c in ("n", "successes")]
    missing = [c for c in (*CELL_KEYS, "n", *counts) if c not in frame]
    if missing:
        raise UserError(f"{file} is not a grasp-bench summary.csv: missing columns {missing}")
    if frame.empty:
        raise UserError(f"{file} has no rows: nothing to compare against")
    numeric = frame[["horizon", "n", *counts]].apply(pd.to_numeric, errors="coerce")
    h = numeric["horizon"]
    bad_h = h.isna() | (h <= 0) | (h % 1 != 0)
    if bad_h.any():
        raise UserError(f"{file}: row {int(bad_h.idxmax()) + 2} has an invalid horizon")
    cell_n = numeric["n"]
    bad_n = cell_n.isna() | (cell_n < 0) | (cell_n % 1 != 0)
    if bad_n.any():
        raise UserError(f"{file}: row {int(bad_n.idxmax()) + 2} has an invalid n "
                        "(not a non-negative integer)")
    for m in METRICS:
        n, k = numeric[f"{m}_n"], numeric[f"{m}_successes"]
        bad = n.isna() | k.isna() | (n < 0) | (k < 0) | (k > n) | (n % 1 != 0) | (k % 1 != 0)
        if bad.any():
            raise UserError(f"{file}: row {int(bad.idxmax()) + 2} has invalid {m} counts")
    frame[["horizon", "n", *counts]] = numeric.astype(int)
    for i, r in enumerate(frame.to_dict("records")):
        reason = _row_problem(r)
        if reason:
            raise UserError(f"{file}: row {i + 2}: {reason}")
    seen: dict[tuple, int] = {}
    for i, r in enumerate(frame.to_dict("records")):
        first = seen.setdefault(_key(r), i)
        if first != i:
            raise UserError(f"{file}: row {i + 2}: cell (env, mode, planner, H, source) {_key(r)} "
                            f"is listed twice (also row {first + 2})")
    return frame


#: Slack of the rate and interval checks (rates rounded when written by hand).
_TOLERANCE = 5e-4


def _row_problem(r: dict) -> str | None:
    """Why a summary row cannot be a cell's summary, or None when it can be."""
    mode = r["mode"]
    if mode not in MODE_METRICS:
        return f"mode {mode!r} is not one of {', '.join(MODE_METRICS)}"
    stats = [*METRICS, *(["fidelity"] if "fidelity_n" in r else [])]
    for m in stats:
        n = _number(r.get(f"{m}_n"))
        k = _number(r.get(f"{m}_successes"))
        if m == "fidelity":
            if not (math.isfinite(n) and math.isfinite(k) and 0 <= k <= n
                    and n % 1 == 0 and k % 1 == 0):
                return "invalid fidelity counts"
        if n > r["n"]:
            return f"{m}_n ({int(n)}) exceeds the cell's n ({r['n']})"
        if m in METRICS and n > 0 and m not in MODE_METRICS[mode]:
            return (f"it counts {m} episodes ({int(n)}), a metric mode {mode!r} does not "
                    f"measure (it measures {', '.join(MODE_METRICS[mode])})")
        rate = _number(r.get(f"{m}_rate"))
        if f"{m}_rate" in r and n > 0:
            if not math.isfinite(rate) or abs(rate - k / n) > _TOLERANCE:
                return f"{m}_rate {r[f'{m}_rate']} is not {m}_successes / {m}_n = {k / n:.4g}"
            low, high = _number(r.get(f"{m}_ci_low")), _number(r.get(f"{m}_ci_high"))
            if f"{m}_ci_low" in r and f"{m}_ci_high" in r and not (
                    -_TOLERANCE <= low <= rate + _TOLERANCE
                    and rate - _TOLERANCE <= high <= 1 + _TOLERANCE):
                return (f"{m} interval [{r[f'{m}_ci_low']}, {r[f'{m}_ci_high']}] is not "
                        f"within [0, 1] around the rate {rate:.4g}")
        elif f"{m}_rate" in r and n == 0 and math.isfinite(rate):
            return f"{m}_rate {r[f'{m}_rate']} without any {m} episode"
    return None


def _number(value) -> float:
    """A summary value as a float; NaN when empty or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def compare_to_baseline(current: pd.DataFrame, baseline: pd.DataFrame,
                        alpha: float = 0.05) -> pd.DataFrame:
    """Flag (cell, metric) pairs whose success rate dropped significantly below a baseline.

    For every baseline cell and every metric it measured (n > 0), runs the one-sided
    :func:`two_proportion_test` (baseline = sample 1). ``drop`` is True when
    ``p_value < alpha`` and the current rate is lower. A baseline cell absent from the run
    gets ``status == "missing"`` (a failure of the check); current cells absent from the
    baseline are not listed.

    Raises:
        UserError: when the baseline shares no cell with the run (a foreign baseline).
    """
    cur = {_key(r): r for r in current.to_dict("records")}
    if not any(_key(r) in cur for r in baseline.to_dict("records")):
        raise UserError("the baseline shares no (env, mode, planner, H, problem source) cell "
                        "with the run; is it the baseline of another check?")
    rows = []
    for r in baseline.to_dict("records"):
        mine = cur.get(_key(r))
        for m in METRICS:
            n1, s1 = int(r[f"{m}_n"]), int(r[f"{m}_successes"])
            if n1 == 0:
                continue
            row: dict[str, Any] = {**{c: r[c] for c in CELL_KEYS}, "metric": m,
                                   "baseline_n": n1, "baseline_successes": s1,
                                   "baseline_rate": s1 / n1}
            if mine is None or not int(mine[f"{m}_n"]):
                row.update(current_n=math.nan, current_successes=math.nan,
                           current_rate=math.nan, z=math.nan, p_value=math.nan, drop=False,
                           status="missing")
            else:
                n2, s2 = int(mine[f"{m}_n"]), int(mine[f"{m}_successes"])
                z, p = two_proportion_test(s1, n1, s2, n2)
                drop = bool(p < alpha and s2 / n2 < s1 / n1)
                row.update(current_n=n2, current_successes=s2, current_rate=s2 / n2, z=z,
                           p_value=p, drop=drop, status="drop" if drop else "ok")
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _key(row: dict) -> tuple[str, str, str, int, str]:
    """A cell: (env, mode, planner, H) and the source of its problems (a demo-problem run
    is never compared with a behaviour-problem baseline)."""
    source = row.get(SOURCE_COLUMN)
    source = LEGACY_SOURCE if source is None or pd.isna(source) else str(source)
    return (str(row["env"]), str(row["mode"]), str(row["planner"]), int(row["horizon"]),
            source)
