"""What a run's files hold: modes, metrics, and the columns of every CSV.

Two modes, three metrics (each a success flag and a time-to-success per episode):

* ``open`` (open loop, the paper's setting): ``model`` -- the returned plan reaches the
  goal region under the world model's own rollout (the paper's Table 1 metric: "All
  reported metrics measure task success under the learned world model"); ``transfer`` --
  the same plan replayed open-loop in the simulator.
* ``mpc`` (closed loop): ``mpc`` -- the simulator state after H env steps of receding-
  horizon control is in the goal region.

Time-to-success of a metric: the planner time at the first snapshot (open loop) or
re-plan (MPC) from which the metric stays successful to the end; empty when the final
plan (or state) fails, so the anytime curve of a metric ends at its headline rate.
"""

from __future__ import annotations

MODES: tuple[str, ...] = ("open", "mpc")
METRICS: tuple[str, ...] = ("model", "transfer", "mpc")
#: The metric a mode's tables lead with.
HEADLINE: dict[str, str] = {"open": "model", "mpc": "mpc"}
#: The metrics a mode measures (the others are empty in its rows).
MODE_METRICS: dict[str, tuple[str, ...]] = {"open": ("model", "transfer"), "mpc": ("mpc",)}
METRIC_LABELS: dict[str, str] = {
    "model": "the plan's own world-model rollout ends in the goal region (the paper's metric)",
    "transfer": "the same open-loop plan, replayed in the simulator, ends in the goal region",
    "mpc": "closed loop, re-planning after every executed segment: the simulator ends in "
           "the goal region",
}
METRIC_TITLES: dict[str, str] = {
    "model": "success under the world model (the paper's metric)",
    "transfer": "transfer: the open-loop plan in the simulator",
    "mpc": "closed-loop (MPC) success in the simulator",
}


def success_column(metric: str) -> str:
    return f"success_{metric}"


def tts_column(metric: str) -> str:
    return f"time_to_success_{metric}_s"


CELL_KEYS: tuple[str, ...] = ("env", "mode", "planner", "horizon")
"""Columns that identify a sweep cell."""

EPISODE_COLUMNS: tuple[str, ...] = (
    "env", "layout", "model", "model_sha256", "mode", "objective", "planner", "horizon",
    "episode", "seed",
    *(c for m in METRICS for c in (success_column(m), tts_column(m))),
    "planning_time_s", "iterations", "replans", "model_cost", "real_error", "batch_size",
    "device", "threads", "reason",
)
"""Columns of the per-episode frame, in order (``model_cost``: the goal metric of the
returned plan's model rollout; ``real_error``: simulator distance to the goal at the end)."""

SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "env", "mode", "planner", "horizon", "episode", "iteration", "elapsed_s",
    *(success_column(m) for m in METRICS), "real_error",
)
"""Columns of the per-snapshot frame: one row per open-loop snapshot or MPC re-plan
(``iteration`` is the planner iteration, or the re-plan index in MPC)."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    *CELL_KEYS, "n",
    *(f"{m}_{s}" for m in METRICS
      for s in ("n", "successes", "rate", "ci_low", "ci_high", "median_tts_s")),
    "mean_planning_time_s", "mean_iterations", "failures_by_error",
)
"""Columns of summary.csv: per metric its episodes, successes, rate with a 95% Wilson
interval and median time-to-success over successes (NaN where the mode lacks it)."""

STRING_COLUMNS: tuple[str, ...] = (
    "env", "layout", "model", "model_sha256", "mode", "objective", "planner", "device", "reason",
)
BOOL_COLUMNS: tuple[str, ...] = tuple(success_column(m) for m in METRICS)
INT_COLUMNS: tuple[str, ...] = ("horizon", "episode")
