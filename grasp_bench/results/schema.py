"""What a run's files hold: modes, metrics, and the columns of every CSV.

Two modes, three metrics (each a success flag and a time-to-success per episode):

* ``open`` (open loop, the paper's setting): ``executed`` -- the headline: the returned
  plan, executed open-loop in the simulator, ends in the goal region (as DINO-WM's
  evaluator, which the paper's numbers most plausibly come from, judges a plan);
  ``model`` -- a diagnostic: the plan's own world-model rollout, decoded, ends in the goal
  region (the other reading of the paper's "success under the learned world model"; a
  planner can score here by exploiting the model's errors).
* ``mpc`` (closed loop): ``mpc`` -- the simulator state after H env steps of receding-
  horizon control is in the goal region.

Beside them, per episode, ``reference_model``: whether the problem's *own* reference
actions succeed under the world model.  Its rate per cell is the model's **reference
fidelity** on those problems, and ``exploitation_gap`` = model-judged minus executed
success rate.  ``transfer`` was the name of ``executed`` before; files that use it are
read with the new names (:data:`LEGACY_NAMES`).

Time-to-success of a metric: the planner time at the first snapshot (open loop) or
re-plan (MPC) from which the metric stays successful to the end; empty when the final
plan (or state) fails, so the anytime curve of a metric ends at its headline rate.
"""

from __future__ import annotations

MODES: tuple[str, ...] = ("open", "mpc")
METRICS: tuple[str, ...] = ("executed", "model", "mpc")
#: The metric a mode's tables lead with.
HEADLINE: dict[str, str] = {"open": "executed", "mpc": "mpc"}
#: The metrics a mode measures (the others are empty in its rows).
MODE_METRICS: dict[str, tuple[str, ...]] = {"open": ("executed", "model"), "mpc": ("mpc",)}
METRIC_LABELS: dict[str, str] = {
    "executed": "the returned open-loop plan, executed in the simulator, ends in the goal "
                "region (the headline, as DINO-WM's evaluator judges a plan)",
    "model": "diagnostic: the plan's own world-model rollout, decoded, ends in the goal "
             "region (rewards exploiting the model's errors)",
    "mpc": "closed loop, re-planning after every executed segment: the simulator ends in "
           "the goal region",
}
METRIC_TITLES: dict[str, str] = {
    "executed": "success of the executed plan (simulator)",
    "model": "diagnostic: success under the world model",
    "mpc": "closed-loop (MPC) success in the simulator",
}
#: Per-episode flag: the problem's own reference actions succeed under the world model.
REFERENCE_COLUMN = "reference_model"
#: Old names of columns, renamed on reading (``transfer`` became ``executed``).
LEGACY_NAMES: dict[str, str] = {
    "success_transfer": "success_executed",
    "time_to_success_transfer_s": "time_to_success_executed_s",
    **{f"transfer_{s}": f"executed_{s}"
       for s in ("n", "successes", "rate", "ci_low", "ci_high", "median_tts_s")},
}


def success_column(metric: str) -> str:
    return f"success_{metric}"


def tts_column(metric: str) -> str:
    return f"time_to_success_{metric}_s"


CELL_KEYS: tuple[str, ...] = ("env", "mode", "planner", "horizon")
"""Columns that identify a sweep cell."""

#: Where a cell's problems come from (``replay``, ``demo`` or ``behaviour``,
#: :mod:`grasp_bench.problems`); files written before the column existed hold behaviour
#: problems.
SOURCE_COLUMN = "problem_source"
LEGACY_SOURCE = "behaviour"

EPISODE_COLUMNS: tuple[str, ...] = (
    "env", "layout", "model", "model_sha256", "mode", "objective", SOURCE_COLUMN, "planner",
    "horizon", "episode", "seed",
    *(c for m in METRICS for c in (success_column(m), tts_column(m))),
    REFERENCE_COLUMN,
    "planning_time_s", "iterations", "replans", "model_cost", "real_error", "batch_size",
    "device", "threads", "reason",
)
"""Columns of the per-episode frame, in order (``model_cost``: the goal metric of the
returned plan's model rollout; ``real_error``: simulator distance to the goal at the end;
``reference_model``: the problem's own actions succeed under the model)."""

SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "env", "mode", "planner", "horizon", "episode", "iteration", "elapsed_s",
    *(success_column(m) for m in METRICS), "real_error",
)
"""Columns of the per-snapshot frame: one row per open-loop snapshot or MPC re-plan
(``iteration`` is the planner iteration, or the re-plan index in MPC)."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    *CELL_KEYS, SOURCE_COLUMN, "n",
    *(f"{m}_{s}" for m in METRICS
      for s in ("n", "successes", "rate", "ci_low", "ci_high", "median_tts_s")),
    *(f"fidelity_{s}" for s in ("n", "successes", "rate", "ci_low", "ci_high")),
    "exploitation_gap",
    "mean_planning_time_s", "mean_planning_time_per_problem_s", "mean_iterations",
    "failures_by_error",
)
"""Columns of summary.csv: per metric its episodes, successes, rate with a 95% Wilson
interval and median time-to-success over successes (NaN where the mode lacks it); the
reference fidelity (share of the cell's problems whose own actions succeed under the
model) with its interval; the exploitation gap (model rate minus executed rate, open loop
only); the mean planning time (planner seconds of the whole batch an episode was planned
in) and that time per problem (divided by the batch size)."""

STRING_COLUMNS: tuple[str, ...] = (
    "env", "layout", "model", "model_sha256", "mode", "objective", SOURCE_COLUMN, "planner",
    "device", "reason",
)
BOOL_COLUMNS: tuple[str, ...] = (*(success_column(m) for m in METRICS), REFERENCE_COLUMN)
INT_COLUMNS: tuple[str, ...] = ("horizon", "episode")
TIME_COLUMNS: tuple[str, ...] = (*(tts_column(m) for m in METRICS), "planning_time_s",
                                 "elapsed_s")
"""Planner seconds: empty (no success) or finite and >= 0."""
