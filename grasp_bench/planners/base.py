"""Everything a planner module needs, re-exported in one place for the planner files.

The pieces live in modules named for their concern: :mod:`~grasp_bench.planners.protocol`
(the shared contract and objective), :mod:`~grasp_bench.planners.registry` (configs,
registry, overrides), :mod:`~grasp_bench.planners.timing` (clock, snapshots) and
:mod:`~grasp_bench.planners.adam` (the gradient planners' optimizer).
"""

from grasp_bench.models.base import ACTION_HIGH, ACTION_LOW
from grasp_bench.planners.adam import FlatAdam
from grasp_bench.planners.protocol import (
    Planner,
    PlanResult,
    SnapshotCallback,
    action_box,
    check_plan_inputs,
    clamp_actions,
    clamp_actions_,
    goal_cost,
    line_init,
    rollout_terminal,
    terminal_cost,
    warm_actions,
)
from grasp_bench.planners.registry import (
    REGISTRY,
    FieldRow,
    apply_overrides,
    describe_registry,
    knob,
    make_planner,
    parse_overrides,
    positive,
    register,
)
from grasp_bench.planners.timing import SnapshotRecorder, Stopwatch

__all__ = [
    "ACTION_HIGH",
    "ACTION_LOW",
    "REGISTRY",
    "FieldRow",
    "FlatAdam",
    "PlanResult",
    "Planner",
    "SnapshotCallback",
    "SnapshotRecorder",
    "Stopwatch",
    "action_box",
    "apply_overrides",
    "check_plan_inputs",
    "clamp_actions",
    "clamp_actions_",
    "describe_registry",
    "goal_cost",
    "knob",
    "line_init",
    "make_planner",
    "parse_overrides",
    "positive",
    "register",
    "rollout_terminal",
    "terminal_cost",
    "warm_actions",
]
