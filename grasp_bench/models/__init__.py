"""World models: the protocol, a state-based MLP, training and checkpoints."""

from grasp_bench.models.base import ACTION_HIGH, ACTION_LOW, WorldModel

__all__ = ["ACTION_HIGH", "ACTION_LOW", "WorldModel"]
