"""Hand-built episode frames shared by the tests of grasp_bench.results."""

from __future__ import annotations

import math

import pandas as pd

from grasp_bench.results import EPISODE_COLUMNS, METRICS, MODE_METRICS, success_column, tts_column

Outcome = dict[str, float | None]
"""Per measured metric its time-to-success in seconds, or None for a failure."""


def make_episodes(cells: dict[tuple[str, str, int], list[Outcome]],
                  env: str = "grasp_bench/PushT-v0") -> pd.DataFrame:
    """Episodes frame with EPISODE_COLUMNS: per (mode, planner, horizon) cell a list of
    outcomes. Metrics the mode does not measure are left empty (pd.NA / NaN)."""
    rows = []
    for (mode, planner, horizon), outcomes in cells.items():
        for i, outcome in enumerate(outcomes):
            assert set(outcome) <= set(MODE_METRICS[mode])
            row = {"env": env, "layout": "", "model": "mlp", "model_sha256": "abc",
                   "mode": mode, "objective": "goal", "problem_source": "demo",
                   "planner": planner, "horizon": horizon,
                   "episode": i, "seed": 100 + i, "planning_time_s": 2.0 * (i + 1),
                   "iterations": 10 * (i + 1), "replans": 0, "model_cost": 0.5,
                   "real_error": 3.0, "batch_size": len(outcomes), "device": "cpu",
                   "threads": 1, "reason": "",
                   "reference_model": i % 2 == 0}  # every other problem's own actions pass
            for m in METRICS:
                measured = m in outcome
                ok = measured and outcome[m] is not None
                row[success_column(m)] = ok if measured else pd.NA
                row[tts_column(m)] = outcome[m] if ok else math.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))
