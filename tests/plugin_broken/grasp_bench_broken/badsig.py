"""A planner whose plan() differs from the Planner protocol (no keyword ``generator``)."""

from dataclasses import dataclass

from grasp_bench.planners.base import knob, register


@dataclass(frozen=True)
class BadSignatureConfig:
    iterations: int = knob(3, "iterations")


@register("badsig", BadSignatureConfig)
class BadSignature:
    snapshot_period = 1

    def __init__(self, config=None):
        self.config = config or BadSignatureConfig()

    def plan(self, model, z0, z_goal, horizon, seed=0):
        raise NotImplementedError
