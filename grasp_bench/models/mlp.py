"""State-based world model: a residual MLP on normalized features.

The latent ``z`` is the env state turned into features (each angle as cos/sin) and
standardized with statistics of the training data, so ``D = S + len(angle_indices)``.
One model step covers ``frameskip`` env steps; its action is the ``k`` env actions
stacked, ``A = k * env_action_dim``.  The network predicts the change of ``z``::

    z' = z + delta_scale * (MLP([z, a]) + L [z, a])

where ``delta_scale`` (D,) is the standard deviation of the normalized one-step
change in the training data, so the network's outputs are of order one, and ``L`` is
a linear map beside the MLP: the agent's PD dynamics are exactly linear in its state and
actions, and the skip lets the MLP spend itself on contacts (it cut the open-loop agent
error several-fold in our runs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from grasp_bench.models.base import serial_rollout


@dataclass(frozen=True)
class MLPConfig:
    """Architecture of :class:`StateMLP` (stored in every checkpoint manifest)."""

    state_dim: int
    env_action_dim: int
    angle_indices: tuple[int, ...] = ()
    frameskip: int = 5  # DINO-WM and the GRASP paper use frameskip 5 on Push-T
    hidden: int = 256
    layers: int = 3

    @property
    def latent_dim(self) -> int:
        return self.state_dim + len(self.angle_indices)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["angle_indices"] = list(self.angle_indices)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> MLPConfig:
        return cls(**{**d, "angle_indices": tuple(d.get("angle_indices", ()))})


class StateMLP(nn.Module):
    """Residual MLP world model implementing :class:`~grasp_bench.models.base.WorldModel`."""

    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = config
        self.frameskip = config.frameskip
        self.action_dim = config.frameskip * config.env_action_dim
        self.latent_dim = config.latent_dim
        D, A, H = self.latent_dim, self.action_dim, config.hidden
        dims = [D + A] + [H] * config.layers
        layers: list[nn.Module] = []
        for d_in, d_out in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(d_in, d_out), nn.SiLU()]
        layers.append(nn.Linear(H, D))
        self.net = nn.Sequential(*layers)
        self.linear = nn.Linear(D + A, D)
        for layer in (self.net[-1], self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.register_buffer("feat_mean", torch.zeros(D))
        self.register_buffer("feat_std", torch.ones(D))
        self.register_buffer("delta_scale", torch.ones(D))
        keep = [i for i in range(config.state_dim) if i not in config.angle_indices]
        self._keep = keep

    # -- features ---------------------------------------------------------------------------
    def features(self, state: torch.Tensor) -> torch.Tensor:
        """Raw state ``(..., S)`` -> unnormalized features ``(..., D)``: [non-angles, cos, sin]."""
        return angle_features(state.to(self.feat_mean.dtype), self._keep,
                              self.config.angle_indices)

    def encode(self, state: torch.Tensor) -> torch.Tensor:
        """Env state ``(..., S)`` -> latent ``(..., D)``."""
        return (self.features(state) - self.feat_mean) / self.feat_std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(..., D)`` -> env state ``(..., S)`` (angles via atan2, in [0, 2pi))."""
        return state_from_features(z * self.feat_std + self.feat_mean, self.config.state_dim,
                                   self._keep, self.config.angle_indices)

    # -- dynamics ---------------------------------------------------------------------------
    def step(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (..., D)``, ``a (..., A)`` (leading dims broadcast) -> ``z' (..., D)``."""
        lead = torch.broadcast_shapes(z.shape[:-1], a.shape[:-1])
        z = z.expand(*lead, z.shape[-1])
        a = a.to(z.dtype).expand(*lead, a.shape[-1])
        x = torch.cat([z, a], dim=-1)
        return z + self.delta_scale * (self.net(x) + self.linear(x))

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``z0 (B, D)``, ``actions (B, T, A)`` -> ``(B, T+1, D)``, z0 first."""
        return serial_rollout(self.step, z0, actions)

    # -- goal metric --------------------------------------------------------------------------
    def goal_weights(self, scales) -> torch.Tensor:
        """Diagonal latent metric ``(D,)`` from per-state-dim tolerances ``scales`` (None:
        ignored): an error of one tolerance in a state dim costs 1 (an angle's cos and sin
        each get its tolerance: a small angle error delta moves them by delta in norm)."""
        f = feature_weights(self.config.state_dim, self.config.angle_indices, scales)
        return f.to(self.feat_std) * self.feat_std.square()  # z = (f - mean) / std

    # -- normalization ----------------------------------------------------------------------
    @torch.no_grad()
    def fit_normalization(self, states: torch.Tensor, next_states: torch.Tensor) -> None:
        """Set feature statistics from training states ``(N, S)`` and their k-step successors."""
        fit_feature_stats(self.feat_mean, self.feat_std, self.features(states))
        dz = self.encode(next_states) - self.encode(states)
        self.delta_scale.copy_(dz.std(0).clamp_min(1e-6))


@torch.no_grad()
def fit_feature_stats(mean: torch.Tensor, std: torch.Tensor, f: torch.Tensor) -> None:
    """Set the buffers ``mean`` and ``std`` ``(F,)`` to the column statistics of raw
    features ``f (N, F)`` (the std floored at 1e-6): every model's feature normalization."""
    mean.copy_(f.mean(0))
    std.copy_(f.std(0).clamp_min(1e-6))


def angle_features(state: torch.Tensor, keep: list[int],
                   angle_indices: tuple[int, ...]) -> torch.Tensor:
    """State ``(..., S)`` -> features ``(..., F)``: [non-angle dims ``keep``, cos, sin]."""
    parts = [state[..., keep]]
    if angle_indices:
        ang = state[..., list(angle_indices)]
        parts += [torch.cos(ang), torch.sin(ang)]
    return torch.cat(parts, dim=-1)


def state_from_features(f: torch.Tensor, state_dim: int, keep: list[int],
                        angle_indices: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`angle_features`: angles via atan2, in [0, 2pi)."""
    n_keep, n_ang = len(keep), len(angle_indices)
    out = f.new_empty(*f.shape[:-1], state_dim)
    out[..., keep] = f[..., :n_keep]
    if n_ang:
        cos, sin = f[..., n_keep:n_keep + n_ang], f[..., n_keep + n_ang:]
        out[..., list(angle_indices)] = torch.remainder(torch.atan2(sin, cos), 2 * torch.pi)
    return out


def feature_weights(state_dim: int, angle_indices: tuple[int, ...], scales) -> torch.Tensor:
    """Weights ``(D,)`` on the features [non-angles, cos, sin] of a state: ``1 / scale^2``
    per dim (0 where the scale is None)."""
    if len(scales) != state_dim:
        raise ValueError(f"need {state_dim} goal scales, got {len(scales)}")
    w = [0.0 if s is None else 1.0 / s**2 for s in scales]
    keep = [w[i] for i in range(state_dim) if i not in angle_indices]
    ang = [w[i] for i in angle_indices]
    return torch.tensor(keep + ang + ang, dtype=torch.float64)
