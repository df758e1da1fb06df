"""What the two visual world models share: a camera, a frame history and a probe.

:class:`FrameModel` holds the latent as the codes of the last ``history`` frames, one
every ``frameskip`` env steps, the newest last (DINO-WM's ``num_hist``): ``encode`` holds
a state still for all of them (a goal, a start at rest), ``encode_history`` takes a true
past (:func:`~.base.start_latents`), the probe and the goal cost read the newest frame.
A subclass builds ``encoder``, ``decoder``, ``predictor`` and ``probe`` and defines
``encode_frames`` (frames -> one frame's code, ``config.frame_dim`` wide) and ``step``.
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from torch import nn

from grasp_bench.models.base import PAST_STEPS, serial_rollout
from grasp_bench.models.camera import Camera, CameraConfig
from grasp_bench.models.mlp import angle_features, fit_feature_stats, state_from_features

__all__ = ["FrameConfig", "FrameModel"]


class FrameConfig:
    """What a visual config (a frozen dataclass with the fields ``state_dim``,
    ``angle_indices``, ``unobserved``, ``env``, ``layout``, ``size``, ``channels`` and
    ``history``, and a ``frame_dim`` property) derives from them, and its manifest form."""

    #: the fields that give an encoder its shape (``train --encoder-from`` must match them)
    ENCODER_FIELDS = ("size", "channels", "env", "layout")

    @property
    def latent_dim(self) -> int:
        return self.history * self.frame_dim

    @property
    def features_dim(self) -> int:
        return self.state_dim + len(self.angle_indices)

    def camera(self) -> CameraConfig:
        return CameraConfig(env=self.env, layout=self.layout, size=self.size)

    def to_dict(self) -> dict:
        return {**asdict(self), "angle_indices": list(self.angle_indices),
                "unobserved": list(self.unobserved), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, d: dict):
        return cls(**{**d, "angle_indices": tuple(d.get("angle_indices", ())),
                      "unobserved": tuple(d.get("unobserved", ())),
                      "channels": tuple(d.get("channels", cls.channels))})


class FrameModel(nn.Module):
    """The frame-history half of :class:`~.pixel.PixelWM` and :class:`~.keypoint.KeypointWM`
    (``config``: a visual config with ``history``, ``frameskip``, ``frame_dim``,
    ``latent_dim``, ``features_dim``, ``camera()`` and the state's shape)."""

    def __init__(self, config):
        super().__init__()
        if not 1 <= config.history <= PAST_STEPS // config.frameskip + 1:
            raise ValueError(f"history must be 1 to {PAST_STEPS // config.frameskip + 1} frames "
                             f"(the harness keeps {PAST_STEPS} env states before a start; "
                             f"got {config.history})")
        self.config = config
        self.history = config.history
        self.frameskip = config.frameskip
        self.action_dim = config.frameskip * config.env_action_dim
        self.latent_dim = config.latent_dim
        self.camera = Camera(config.camera())
        F_ = config.features_dim
        self.register_buffer("feat_mean", torch.zeros(F_))
        self.register_buffer("feat_std", torch.ones(F_))
        self._keep = [i for i in range(config.state_dim) if i not in config.angle_indices]
        seen = [0.0 if i in config.unobserved else 1.0 for i in self._keep]
        self.register_buffer("observed", torch.tensor(seen + [1.0] * 2 * len(config.angle_indices)),
                             persistent=False)  # (F,): 0 where the probe reports the mean

    def render(self, state: torch.Tensor) -> torch.Tensor:
        """Env state ``(..., S)`` -> frame ``(..., 3, size, size)`` in [0, 1]."""
        return self.camera.render(state.to(self.feat_mean.device))

    def encode_history(self, states: torch.Tensor) -> torch.Tensor:
        """Env states ``(..., K, S)``, oldest first -> latent ``(..., D)``."""
        if states.shape[-2] != self.history:
            raise ValueError(f"expected a history of {self.history} states, got "
                             f"{states.shape[-2]}")
        return self.encode_frames(self.render(states)).flatten(-2)

    def encode(self, state: torch.Tensor) -> torch.Tensor:
        """Env state ``(..., S)`` -> latent ``(..., D)``: render, encode the frame, and hold
        it still for the ``history`` frames."""
        z = self.encode_frames(self.render(state))
        return z.repeat(*(1,) * (z.dim() - 1), self.history)

    def newest(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(..., D)`` -> the newest frame's ``(..., frame_dim)``."""
        return z[..., -self.config.frame_dim:]

    def features(self, state: torch.Tensor) -> torch.Tensor:
        """Env state ``(..., S)`` -> normalized features ``(..., F)`` (the probe's targets)."""
        f = angle_features(state.to(self.feat_mean.dtype), self._keep, self.config.angle_indices)
        return (f - self.feat_mean) / self.feat_std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(..., D)`` -> env state ``(..., S)``: the probe on the newest frame."""
        f = self.probe(self.newest(z).reshape(-1, self.config.frame_dim))
        f = f.reshape(*z.shape[:-1], -1)
        return state_from_features(f * self.observed * self.feat_std + self.feat_mean,
                                   self.config.state_dim, self._keep, self.config.angle_indices)

    def goal_weights(self, scales) -> torch.Tensor:
        """The task objective's weights ``(D,)``: the newest frame's code, as DINO-WM's goal
        cost compares the last predicted frame with the goal frame (the state tolerances
        ``scales`` have no map onto a frame's code; plain MSE for one frame)."""
        w = torch.zeros(self.history, self.config.frame_dim, device=self.feat_mean.device)
        w[-1] = 1.0
        return w.flatten()

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``z0 (B, D)``, ``actions (B, T, A)`` -> ``(B, T+1, D)``, z0 first."""
        return serial_rollout(self.step, z0, actions)

    def adopt_encoder(self, other: FrameModel) -> None:
        """Take ``other``'s trained encoder and decoder (and what else fixes the latent)."""
        self.encoder.load_state_dict(other.encoder.state_dict())
        self.decoder.load_state_dict(other.decoder.state_dict())

    def fit_latent(self, frames: torch.Tensor) -> None:
        """Fit the latent's statistics to training frames ``(n, 3, size, size)`` (uint8) once
        the encoder is trained; a latent with none (layer-normalized patches) keeps this."""

    @torch.no_grad()
    def fit_normalization(self, states: torch.Tensor, next_states: torch.Tensor) -> None:
        """The probe's feature statistics from training states ``(N, S)``."""
        raw = angle_features(states.to(self.feat_mean.dtype), self._keep,
                             self.config.angle_indices)
        fit_feature_stats(self.feat_mean, self.feat_std, raw)
