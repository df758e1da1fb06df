"""The world-model contract that every planner relies on.

Planners see only this protocol and tensors: never pymunk, never the simulator.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

#: Every action entry of every env lies in [ACTION_LOW, ACTION_HIGH] (relative-target
#: convention of DINO-WM, shared by Push-T and BallNav); a model action stacks
#: ``frameskip`` env actions, so the same bounds hold per entry.
ACTION_LOW = -1.0
ACTION_HIGH = 1.0
#: Env states the harness keeps before each start (problems, MPC, open-loop errors): a
#: :class:`HistoryModel` may look back at most this far.
PAST_STEPS = 20


def serial_rollout(step, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The rollout every built-in model shares: ``step`` applied T times in sequence.
    ``z0 (B, D)``, ``actions (B, T, A)`` -> ``(B, T+1, D)``, z0 first."""
    zs = [z0]
    for t in range(actions.shape[-2]):
        zs.append(step(zs[-1], actions[..., t, :]))
    return torch.stack(zs, dim=-2)


@runtime_checkable
class WorldModel(Protocol):
    """A learned transition model F in a latent space.

    The harness also calls ``decode(z (..., D)) -> state (..., S)`` to judge success
    under the model's own prediction; planners never use it.

    Attributes:
        frameskip: env steps per model step (k).
        action_dim: k * env action dim (A).
        latent_dim: size of the latent state (D).
    """

    frameskip: int
    action_dim: int
    latent_dim: int

    def encode(self, state: torch.Tensor) -> torch.Tensor:
        """Env state ``(..., S)`` -> latent ``(..., D)``."""
        ...

    def step(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One model step: ``z (..., D)``, ``a (..., A)``, shared leading dims -> ``(..., D)``."""
        ...

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Serial rollout. ``z0 (B, D)``, ``actions (B, T, A)`` -> ``(B, T+1, D)`` (z0 first)."""
        ...


@runtime_checkable
class HistoryModel(WorldModel, Protocol):
    """A world model whose latent holds the last ``history`` observations (K), one every
    ``frameskip`` env steps, the newest last (DINO-WM's frame history: a frame shows no
    velocity, a short history of frames does).  ``encode(state)`` is the history of a
    state held still (a goal, a start at rest); the harness gives a start its true past
    through :func:`start_latents`.  Planners see a plain :class:`WorldModel`."""

    history: int

    def encode_history(self, states: torch.Tensor) -> torch.Tensor:
        """Env states ``(..., K, S)``, oldest first -> latent ``(..., D)``."""
        ...


def start_latents(model: WorldModel, states: torch.Tensor,
                  past: torch.Tensor | None = None) -> torch.Tensor:
    """The latents planners start from: ``states (B, S)`` and the env states before them,
    ``past (B, P, S)`` (oldest first, ``past[:, -1]`` one env step before) -> ``(B, D)``.

    A :class:`HistoryModel` sees the states ``(K-1) k, ..., k`` env steps before each start,
    then the start (``P >= (K-1) k``); any other model, or no ``past``, ``encode(states)``.
    """
    K = int(getattr(model, "history", 1))
    if K <= 1 or past is None:
        return model.encode(states)
    k, P = int(model.frameskip), past.shape[-2]
    if P < (K - 1) * k:
        raise ValueError(f"a history of {K} observations every {k} env steps needs "
                         f"{(K - 1) * k} past states, got {P}")
    seen = [past[..., P - j * k, :] for j in range(K - 1, 0, -1)] + [states]
    return model.encode_history(torch.stack(seen, dim=-2).to(states))
