"""A model class without the WorldModel protocol's step and rollout."""

from dataclasses import dataclass

from torch import nn

from grasp_bench.models.checkpoint import register_architecture


@dataclass(frozen=True)
class IncompleteConfig:
    latent_dim: int = 4

    def to_dict(self):
        return {"latent_dim": self.latent_dim}

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


@register_architecture(IncompleteConfig)
class Incomplete(nn.Module):
    def encode(self, state):
        return state

    def decode(self, z):
        return z
