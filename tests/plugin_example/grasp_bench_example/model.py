"""A linear world model as a grasp-bench plugin architecture, and a checkpoint writer.

The latent ``z`` is the env state as standardized features (each angle as cos/sin, the
helpers below), ``D = S + len(angle_indices)``; one model step
covers ``frameskip`` env steps with their ``k`` actions stacked, ``A = k * 2``::

    z' = z + A z + B a                    A (D, D), B (D, A): ridge least squares

Write a Push-T checkpoint (weights + manifest naming ``LinearDynamics``, with the sha256
of the weights) and use it::

    python -m grasp_bench_example.model /tmp/linear.pt
    grasp-bench run --checkpoint /tmp/linear.pt --planners random-shooting --horizon 10
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from grasp_bench import api


def angle_features(state: torch.Tensor, keep: list[int],
                   angle_indices: tuple[int, ...]) -> torch.Tensor:
    """State ``(..., S)`` -> features ``(..., F)``: [non-angle dims ``keep``, cos, sin]."""
    ang = state[..., list(angle_indices)]
    return torch.cat([state[..., keep], torch.cos(ang), torch.sin(ang)], dim=-1)


def state_from_features(f: torch.Tensor, state_dim: int, keep: list[int],
                        angle_indices: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`angle_features`: angles via atan2, in [0, 2pi)."""
    n_keep, n_ang = len(keep), len(angle_indices)
    out = f.new_empty(*f.shape[:-1], state_dim)
    out[..., keep] = f[..., :n_keep]
    cos, sin = f[..., n_keep:n_keep + n_ang], f[..., n_keep + n_ang:]
    out[..., list(angle_indices)] = torch.remainder(torch.atan2(sin, cos), 2 * torch.pi)
    return out


def feature_weights(state_dim: int, angle_indices: tuple[int, ...], scales) -> torch.Tensor:
    """``1 / tol^2`` per feature [non-angles, cos, sin] of a state (0 where tol is None)."""
    w = [0.0 if s is None else 1.0 / s**2 for s in scales]
    keep = [w[i] for i in range(state_dim) if i not in angle_indices]
    ang = [w[i] for i in angle_indices]
    return torch.tensor(keep + ang + ang, dtype=torch.float64)


@dataclass(frozen=True)
class LinearConfig:
    """Architecture of :class:`LinearDynamics` (stored in the manifest)."""

    state_dim: int
    env_action_dim: int
    angle_indices: tuple[int, ...] = ()
    frameskip: int = 5

    @property
    def latent_dim(self) -> int:
        return self.state_dim + len(self.angle_indices)

    def to_dict(self) -> dict:
        return {**asdict(self), "angle_indices": list(self.angle_indices)}

    @classmethod
    def from_dict(cls, d: dict) -> LinearConfig:
        return cls(**{**d, "angle_indices": tuple(d.get("angle_indices", ()))})


@api.register_architecture(LinearConfig)
class LinearDynamics(nn.Module):
    """``z' = z + A z + B a`` on standardized state features (a WorldModel)."""

    def __init__(self, config: LinearConfig):
        super().__init__()
        self.config = config
        self.frameskip = config.frameskip
        self.action_dim = config.frameskip * config.env_action_dim
        self.latent_dim = D = config.latent_dim
        self.A = nn.Parameter(torch.zeros(D, D))
        self.B = nn.Parameter(torch.zeros(D, self.action_dim))
        self.register_buffer("feat_mean", torch.zeros(D))
        self.register_buffer("feat_std", torch.ones(D))
        self._keep = [i for i in range(config.state_dim) if i not in config.angle_indices]

    def encode(self, state: torch.Tensor) -> torch.Tensor:
        """Env state ``(..., S)`` -> latent ``(..., D)``."""
        f = angle_features(state.to(self.feat_mean.dtype), self._keep, self.config.angle_indices)
        return (f - self.feat_mean) / self.feat_std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(..., D)`` -> env state ``(..., S)`` (angles in [0, 2pi))."""
        return state_from_features(z * self.feat_std + self.feat_mean, self.config.state_dim,
                                   self._keep, self.config.angle_indices)

    def step(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (..., D)``, ``a (..., A)`` (leading dims broadcast) -> ``z' (..., D)``."""
        return z + z @ self.A.T + a.to(z.dtype) @ self.B.T

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``z0 (B, D)``, ``actions (B, T, A)`` -> ``(B, T+1, D)``, z0 first."""
        zs = [z0]
        for t in range(actions.shape[-2]):
            zs.append(self.step(zs[-1], actions[..., t, :]))
        return torch.stack(zs, dim=-2)

    def goal_weights(self, scales) -> torch.Tensor:
        """The task's goal metric on the latent ``(D,)``: an error of one tolerance in a state
        dim costs 1 (see ``grasp_bench.objective``)."""
        f = feature_weights(self.config.state_dim, self.config.angle_indices, scales)
        return f.to(self.feat_std) * self.feat_std.square()

    @torch.no_grad()
    def fit(self, states: torch.Tensor, actions: torch.Tensor, nexts: torch.Tensor,
            ridge: float = 1e-3) -> float:
        """Standardize on ``states (N, S)`` and fit A, B to the k-step successors
        ``nexts (N, S)`` of ``actions (N, A)``; returns the one-step mean squared error."""
        f = angle_features(states, self._keep, self.config.angle_indices)
        self.feat_mean.copy_(f.mean(0))
        self.feat_std.copy_(f.std(0).clamp_min(1e-6))
        z, z_next = self.encode(states), self.encode(nexts)
        x = torch.cat([z, actions], 1).double()
        gram = x.T @ x + ridge * len(x) * torch.eye(x.shape[1], dtype=x.dtype)
        w = torch.linalg.solve(gram, x.T @ (z_next - z).double()).T.float()  # (D, D + A)
        self.A.copy_(w[:, :self.latent_dim])
        self.B.copy_(w[:, self.latent_dim:])
        return float((self.step(z, actions) - z_next).square().mean())


def write_checkpoint(out: str | Path, *, episodes: int = 8, steps: int = 90) -> dict:
    """Fit a LinearDynamics on ``episodes`` Push-T behaviour episodes and write ``out``
    (``.pt`` weights + ``.json`` manifest with ``architecture.class = "LinearDynamics"``
    and the weights' sha256); returns the manifest."""
    t0 = time.perf_counter()
    windows = api.training_windows("pusht", frameskip=5, steps=1, episodes=episodes,
                                   episode_steps=steps)
    model = LinearDynamics(LinearConfig(windows.state_dim, 2, windows.angle_indices))
    s0, acts, targets = windows.tensors()
    mse = model.fit(s0, acts[:, 0], targets[:, 0])
    return api.save_checkpoint(model, out, windows, manifest={
        "training": {"method": "ridge least squares", "seconds":
                     round(time.perf_counter() - t0, 1)},
        "validation": {"loss": round(mse, 6)},
    })


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=write_checkpoint.__doc__)
    ap.add_argument("out", type=Path, help="checkpoint path (.pt)")
    ap.add_argument("--episodes", type=int, default=8)
    args = ap.parse_args()
    m = write_checkpoint(args.out, episodes=args.episodes)
    print(f"wrote {args.out} (sha256 {m['sha256'][:12]}, one-step mse {m['validation']['loss']})")
