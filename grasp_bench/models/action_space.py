"""The planners' action space: env actions z-scored with the training data's statistics.

DINO-WM's planners search actions normalized with its data's mean and std and its
evaluator denormalizes a plan before executing it (``planning/evaluator.py``,
``denormalize_actions``); stable-worldmodel's ``WorldModelPolicy`` applies the action
preprocessor's ``inverse_transform`` to a solver's plan the same way.  So a cited default
such as CEM's ``var_scale: 1`` or GD's ``randn`` initialisation means one data std (Push-T:
about 20 px per env step), not the raw box's half-width.

:class:`ZScoredActions` presents any world model over z-scored actions: the harness plans
with it and turns every plan back into raw env actions (:meth:`ZScoredActions.to_raw`)
before it is executed, judged, saved or rendered.  The raw box ``[ACTION_LOW, ACTION_HIGH]``
maps to per-entry bounds ``action_low``/``action_high``, which planners clamp to
(:func:`grasp_bench.planners.protocol.action_box`).
"""

from __future__ import annotations

import torch
from torch import nn

from grasp_bench.action_stats import ActionStats
from grasp_bench.models.base import ACTION_HIGH, ACTION_LOW

__all__ = ["ActionStats", "ZScoredActions", "stats_of"]


class ZScoredActions(nn.Module):
    """A world model seen over z-scored actions: ``raw = mean + std * a`` entry-wise, the env
    statistics tiled over the ``frameskip`` env actions that one model action stacks (env
    action ``j`` of a model step is entries ``j*A_env .. (j+1)*A_env - 1``).

    ``encode`` (``encode_history``), ``step`` and ``rollout`` keep the wrapped model's
    shapes; ``action_low`` and ``action_high`` ``(A,)`` are the raw box's bounds in this
    space.
    """

    def __init__(self, model: nn.Module, stats: ActionStats) -> None:
        super().__init__()
        self.model = model
        self.frameskip = int(model.frameskip)
        self.history = int(getattr(model, "history", 1))  # observations per latent
        self.action_dim = int(model.action_dim)
        self.latent_dim = int(model.latent_dim)
        env_dim = len(stats.mean)
        if self.action_dim != env_dim * self.frameskip:
            raise ValueError(f"action stats of {env_dim} entries do not fit a model action of "
                             f"{self.action_dim} = {self.frameskip} x env actions")
        self.stats = stats
        mean = torch.tensor(stats.mean, dtype=torch.float32).repeat(self.frameskip)
        std = torch.tensor(stats.std, dtype=torch.float32).repeat(self.frameskip)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.register_buffer("action_low", (ACTION_LOW - mean) / std)
        self.register_buffer("action_high", (ACTION_HIGH - mean) / std)

    def _raw(self, a: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.mean.to(a), self.std.to(a), a)

    def to_raw(self, a: torch.Tensor) -> torch.Tensor:
        """Z-scored ``(..., A)`` -> raw env actions ``(..., A)``, clamped to the raw box."""
        return self._raw(a).clamp(ACTION_LOW, ACTION_HIGH)

    def to_z(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw ``(..., A)`` -> z-scored ``(..., A)``."""
        return (raw - self.mean.to(raw)) / self.std.to(raw)

    def encode(self, state: torch.Tensor) -> torch.Tensor:
        return self.model.encode(state)

    def encode_history(self, states: torch.Tensor) -> torch.Tensor:
        return self.model.encode_history(states)

    def step(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.model.step(z, self._raw(a))

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.model.rollout(z0, self._raw(actions))


def stats_of(manifest: dict | None, fallback: ActionStats, where: str) -> ActionStats:
    """A checkpoint manifest's ``action_stats`` (its training data's), else ``fallback``."""
    entry = (manifest or {}).get("action_stats")
    return fallback if entry is None else ActionStats.parse(entry, where)

