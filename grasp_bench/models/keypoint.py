"""A visual world model on learned keypoints: frames -> a few image points -> dynamics.

The patch-grid model (:mod:`.pixel`, DINO-WM's shape) keeps a frame as 8 x 8 patches of
16 channels; on our CPU budget its predictor never learned to carry a pushed block across
patches (reference fidelity 2-13 % at H = 40, the lever study in docs/world-models.md).
This model keeps the frame as ``N`` image points instead, learned from pixels alone by a
keypoint bottleneck (a spatial softmax, Levine et al. 2016 / Finn et al. 2016's deep
spatial autoencoder; the decoder sees only Gaussian blobs at the points, Jakab et al.
2018), so a moved block is a moved point::

    camera    state (S)  -> frame (3, 64, 64)                  :mod:`.camera`; the only way in
    encoder   frame      -> N heatmaps at 32 x 32              a stride-2 conv, then 3x3 convs
              heatmaps   -> N points (x, y) in [-1, 1]         spatial softmax (expectation)
    latent    points     -> z = (points - mean) / std          per-point means, one std
    decoder   points     -> frame                              Gaussian blobs at the points,
                                                               convs, plus the empty scene;
                                                               trains the encoder (pixels)
    predictor z' = z_K + MLP([z_1..z_K, a]) + L [z_1..z_K, a]  residual MLP with a linear
                                                               skip, as :mod:`.mlp`'s
    probe     z_K        -> state                              an MLP; judges success under
                                                               the model, never a planner's

No state reaches the encoder or the decoder: the points are wherever reconstructing the
frames needed them (on the agent, on the T's bar and stem).  The frame history (``history``
K frames, one every ``frameskip`` env steps, the newest last; a shift register) makes
velocities observable, as in :class:`~.pixel.PixelWM`, whose frame-history half
(:class:`~.frames.FrameModel`) this model shares, so
:func:`~.pixel_train.train_pixel_model` trains both.  Latents are flattened, ``D = K * 2 N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from grasp_bench.models.frames import FrameConfig, FrameModel

__all__ = ["KeypointConfig", "KeypointWM"]


@dataclass(frozen=True)
class KeypointConfig(FrameConfig):
    """Architecture of :class:`KeypointWM` (stored in every checkpoint manifest)."""

    state_dim: int
    env_action_dim: int
    env: str  # the scene the camera draws: pusht or ballnav
    layout: str | None = None
    angle_indices: tuple[int, ...] = ()
    unobserved: tuple[int, ...] = ()  # state dims no frame shows (velocities)
    frameskip: int = 5
    size: int = 64  # frame side (a multiple of 2); heatmaps at half of it
    channels: tuple[int, ...] = (16, 32, 32)  # encoder conv widths
    keypoints: int = 16  # N
    sigma: float = 0.08  # the decoder's blob width, in [-1, 1] image units
    hidden: int = 256  # predictor MLP width
    layers: int = 3  # predictor hidden layers
    probe_hidden: int = 256
    history: int = 2  # K: frames in the latent, one every frameskip env steps
    ENCODER_FIELDS = (*FrameConfig.ENCODER_FIELDS, "keypoints", "sigma")

    @property
    def frame_dim(self) -> int:
        """Latent size of one frame, ``2 N``."""
        return 2 * self.keypoints


def _grid(n: int) -> torch.Tensor:
    """Pixel-centre coordinates in [-1, 1] of an ``n x n`` image: ``(2, n, n)`` as (x, y)."""
    c = (torch.arange(n, dtype=torch.float32) + 0.5) / n * 2 - 1
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xx, yy])


class KeypointWM(FrameModel):
    """Camera, keypoint encoder, decoder, predictor and probe; implements
    :class:`~grasp_bench.models.base.WorldModel` (with ``decode`` through the probe)."""

    def __init__(self, config: KeypointConfig):
        super().__init__(config)
        if config.size % 2 or config.size < 16:
            raise ValueError(f"frame size must be even and at least 16 (got {config.size})")
        if config.keypoints < 1:
            raise ValueError(f"keypoints must be at least 1 (got {config.keypoints})")
        N, w = config.keypoints, config.channels
        enc: list[nn.Module] = [nn.Conv2d(3, w[0], 4, stride=2, padding=1),
                                nn.GroupNorm(4, w[0]), nn.SiLU()]
        for a, b in zip(w[:-1], w[1:], strict=True):
            enc += [nn.Conv2d(a, b, 3, padding=1), nn.GroupNorm(4, b), nn.SiLU()]
        self.encoder = nn.Sequential(*enc, nn.Conv2d(w[-1], N, 3, padding=1))
        self.decoder = nn.Sequential(
            nn.Conv2d(N, w[-1], 3, padding=1), nn.SiLU(),
            nn.ConvTranspose2d(w[-1], w[0], 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(w[0], 3, 3, padding=1))
        self.action_encoder = nn.Identity()  # the MLP takes the action as it is
        D, A, H = self.latent_dim, self.action_dim, config.hidden
        dims = [D + A] + [H] * config.layers
        mlp: list[nn.Module] = []
        for d_in, d_out in zip(dims[:-1], dims[1:], strict=True):
            mlp += [nn.Linear(d_in, d_out), nn.SiLU()]
        self.predictor = nn.ModuleDict({"mlp": nn.Sequential(*mlp, nn.Linear(H, config.frame_dim)),
                                        "linear": nn.Linear(D + A, config.frame_dim)})
        for layer in (self.predictor["mlp"][-1], self.predictor["linear"]):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        F_ = config.features_dim
        self.probe = nn.Sequential(
            nn.Linear(config.frame_dim, config.probe_hidden), nn.SiLU(),
            nn.Linear(config.probe_hidden, config.probe_hidden), nn.SiLU(),
            nn.Linear(config.probe_hidden, F_))
        self.register_buffer("heat_grid", _grid(config.size // 2).reshape(2, -1),
                             persistent=False)  # (2, h*w)
        self.register_buffer("blob_grid", _grid(config.size // 2), persistent=False)
        bg = self.camera._background.reshape(3, config.size, config.size)
        self.register_buffer("background", bg.clone(), persistent=False)
        self.register_buffer("point_mean", torch.zeros(config.frame_dim))
        self.register_buffer("point_std", torch.ones(()))

    # -- observations ---------------------------------------------------------------------
    def points(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames ``(..., 3, size, size)`` -> image points ``(..., 2N)`` (x0, y0, x1, ...) in
        [-1, 1]: each heatmap's softmax-weighted mean pixel position."""
        lead = frames.shape[:-3]
        logits = self.encoder(frames.reshape(-1, *frames.shape[-3:])).flatten(2)  # (n, N, hw)
        xy = torch.einsum("nkp,cp->nkc", logits.softmax(-1), self.heat_grid)  # (n, N, 2)
        return xy.reshape(*lead, self.config.frame_dim)

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames ``(..., 3, size, size)`` -> one frame's latent ``(..., 2N)``."""
        return (self.points(frames) - self.point_mean) / self.point_std

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(..., D)`` -> the newest frame ``(..., 3, size, size)`` (what the model
        imagines; clamp to [0, 1] to show it)."""
        n, N = self.config.size, self.config.keypoints
        p = (self.newest(z) * self.point_std + self.point_mean).reshape(-1, N, 2, 1, 1)
        d2 = (self.blob_grid[None, None] - p).square().sum(2)  # (n, N, h, w)
        x = self.decoder(torch.exp(-d2 / (2 * self.config.sigma ** 2))) + self.background
        return x.reshape(*z.shape[:-1], 3, n, n)

    # -- dynamics ---------------------------------------------------------------------------
    def step(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (..., D)``, ``a (..., A)`` (leading dims broadcast) -> ``z' (..., D)``: the
        next frame's points ``z_K + MLP([z, a]) + L [z, a]``, after frames 2..K."""
        lead = torch.broadcast_shapes(z.shape[:-1], a.shape[:-1])
        z = z.expand(*lead, z.shape[-1])
        x = torch.cat([z, a.to(z.dtype).expand(*lead, a.shape[-1])], dim=-1)
        nxt = self.newest(z) + self.predictor["mlp"](x) + self.predictor["linear"](x)
        return torch.cat([z[..., self.config.frame_dim:], nxt], dim=-1)

    # -- normalization ----------------------------------------------------------------------
    def adopt_encoder(self, other: KeypointWM) -> None:
        """Take ``other``'s encoder and decoder, and its points' statistics."""
        super().adopt_encoder(other)
        self.point_mean.copy_(other.point_mean)
        self.point_std.copy_(other.point_std)

    @torch.no_grad()
    def fit_latent(self, frames: torch.Tensor) -> None:
        """The latent's statistics from training frames ``(n, 3, size, size)`` once the
        encoder is trained: each point's mean, and one std over all coordinates (so a point
        that hardly moves is not blown up into noise)."""
        p = torch.cat([self.points(frames[i:i + 1024].float() / 255.0)
                       for i in range(0, len(frames), 1024)])
        self.point_mean.copy_(p.mean(0))
        self.point_std.copy_((p - p.mean(0)).square().mean().sqrt().clamp_min(1e-6))
