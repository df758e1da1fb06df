"""The regression check: a run's success rates against a committed baseline summary."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from grasp_bench.errors import UserError
from grasp_bench.results.schema import CELL_KEYS, LEGACY_NAMES, METRICS
from grasp_bench.results.stats import two_proportion_test

COMPARISON_COLUMNS = (
    *CELL_KEYS, "metric", "baseline_n", "baseline_successes", "baseline_rate", "current_n",
    "current_successes", "current_rate", "z", "p_value", "drop", "status",
)


def load_summary(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a summary.csv (also the baseline format), checking columns and every row.

    Raises:
        UserError: missing or unreadable file, other columns, no rows, or a row whose
            counts are not integers with ``0 <= successes <= n``.
    """
    file = Path(path)
    if not file.is_file():
        raise UserError(f"summary file not found: {file}")
    try:
        frame = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"unreadable summary {file}: {str(err).splitlines()[0]}") from None
    frame = frame.rename(columns=LEGACY_NAMES)
    counts = [f"{m}_{c}" for m in METRICS for c in ("n", "successes")]
    missing = [c for c in (*CELL_KEYS, "n", *counts) if c not in frame]
    if missing:
        raise UserError(f"{file} is not a grasp-bench summary.csv: missing columns {missing}")
    if frame.empty:
        raise UserError(f"{file} has no rows: nothing to compare against")
    numeric = frame[["horizon", *counts]].apply(pd.to_numeric, errors="coerce")
    h = numeric["horizon"]
    bad_h = h.isna() | (h <= 0) | (h % 1 != 0)
    if bad_h.any():
        raise UserError(f"{file}: row {int(bad_h.idxmax()) + 2} has an invalid horizon")
    for m in METRICS:
        n, k = numeric[f"{m}_n"], numeric[f"{m}_successes"]
        bad = n.isna() | k.isna() | (n < 0) | (k < 0) | (k > n) | (n % 1 != 0) | (k % 1 != 0)
        if bad.any():
            raise UserError(f"{file}: row {int(bad.idxmax()) + 2} has invalid {m} counts")
    frame[["horizon", *counts]] = numeric.astype(int)
    return frame


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
        raise UserError("the baseline shares no (env, mode, planner, H) cell with the run; "
                        "is it the baseline of another check?")
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


def _key(row: dict) -> tuple[str, str, str, int]:
    return str(row["env"]), str(row["mode"]), str(row["planner"]), int(row["horizon"])
