"""A planner whose config is not a frozen dataclass (register refuses it on import)."""

from dataclasses import dataclass

from grasp_bench.planners.base import register


@dataclass
class UnfrozenConfig:
    iterations: int = 3


@register("unfrozen", UnfrozenConfig)
class Unfrozen:
    snapshot_period = 1

    def __init__(self, config=None):
        self.config = config or UnfrozenConfig()

    def plan(self, model, z0, z_goal, horizon, *, generator, goal_weights=None, init=None,
             snapshot_every=0, on_snapshot=None):
        raise NotImplementedError
