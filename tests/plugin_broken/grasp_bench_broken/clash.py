"""A planner that takes a built-in's name."""

from grasp_bench.planners.base import register
from grasp_bench.planners.cem import CEMConfig


@register("cem", CEMConfig)
class NotCEM:
    snapshot_period = 1

    def __init__(self, config=None):
        self.config = config or CEMConfig()

    def plan(self, model, z0, z_goal, horizon, *, generator, goal_weights=None, init=None,
             snapshot_every=0, on_snapshot=None):
        raise NotImplementedError
