"""A visual world model: planning in the patch latent of rendered frames (DINO-WM's shape).

DINO-WM (Zhou et al. 2024), the GRASP paper's model, encodes each frame with a frozen
DINOv2 ViT into a grid of patch features and predicts the next frame's patches from
the current ones and the action embedded onto every patch.  Nothing pretrained can be
downloaded here, so the encoder is trained on the frames themselves, then frozen::

    camera    state (S)  -> frame (3, 64, 64)                  :mod:`.camera`; the only way in
    encoder   frame      -> z: 8 x 8 patches x C channels      3 stride-2 convs; each patch
                                                               layer-normalized (no affine),
                                                               as ViT tokens are
    decoder   z          -> frame                              trains the encoder (pixels);
                                                               lets ``render`` show beliefs
    predictor z' = z + P([z, e(a), xy])                        3x3 convs on the patch grid;
                                                               e(a) the embedded action on
                                                               every patch (DINO-WM), xy the
                                                               patch coordinates
    probe     z          -> state                              two convs on the grid, then
                                                               an MLP (an MLP on the flat
                                                               latent read positions 2-3x
                                                               worse); judges success under
                                                               the model, never a planner's

The action is concatenated onto every patch, as DINO-WM does, rather than modulating
the predictor through AdaLN (LeWM): with convolutions on an 8 x 8 grid the
concatenation is one more input channel group, and it is the paper's model's choice.

**Frame history** (``history`` K, DINO-WM's ``num_hist``): a frame cannot show
velocities, so the latent holds the patch grids of the last K frames, one every
``frameskip`` env steps, the newest last.  The predictor sees all K grids (K C input
channels) and predicts the next frame's; ``step`` drops the oldest and appends it (a
shift register, so the model stays Markov in its latent).  ``encode(state)`` is the state
held still (K copies of its frame: a goal, a start at rest); the harness gives a start
its true past frames through :meth:`PixelWM.encode_history`
(:func:`~.base.start_latents`).  The probe and the decoder read the newest frame.
Velocities stay ``unobserved`` by the probe (it reports their training mean); the
success test ignores them.

Latents are flattened, ``D = K * C * 8 * 8`` (1,024 per frame at the defaults), so every
planner and measurement sees the model through the plain :class:`~.base.WorldModel`
protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from grasp_bench.models.frames import FrameConfig, FrameModel

__all__ = ["PixelConfig", "PixelWM"]


@dataclass(frozen=True)
class PixelConfig(FrameConfig):
    """Architecture of :class:`PixelWM` (stored in every checkpoint manifest)."""

    state_dim: int
    env_action_dim: int
    env: str  # the scene the camera draws: pusht or ballnav
    layout: str | None = None
    angle_indices: tuple[int, ...] = ()
    unobserved: tuple[int, ...] = ()  # state dims no frame shows (velocities)
    frameskip: int = 5
    size: int = 64  # frame side (a multiple of 8: three stride-2 convs)
    channels: tuple[int, ...] = (16, 32, 32)  # encoder conv widths
    latent_channels: int = 16  # C: channels per patch
    hidden: int = 32  # predictor width
    layers: int = 3  # predictor 3x3 conv layers
    action_embed: int = 8  # channels of the embedded action on every patch
    probe_hidden: int = 256
    probe_channels: int = 64
    history: int = 1  # K: frames in the latent, one every frameskip env steps
    ENCODER_FIELDS = (*FrameConfig.ENCODER_FIELDS, "latent_channels")

    @property
    def grid(self) -> int:
        return self.size // 8

    @property
    def frame_dim(self) -> int:
        """Latent size of one frame, ``C * G * G``."""
        return self.latent_channels * self.grid**2


# GroupNorm (per frame, so no frame's code depends on its batch) after every conv of the
# autoencoder: without it the reconstruction loss after 300 steps was 2.5x higher, and at
# lr 2e-3 the autoencoder collapsed to the empty scene (measured).
def _encoder(widths: tuple[int, ...], latent: int) -> nn.Sequential:
    mods: list[nn.Module] = []
    for a, b in zip((3, *widths[:-1]), widths, strict=True):
        mods += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.GroupNorm(4, b), nn.SiLU()]
    return nn.Sequential(*mods, nn.Conv2d(widths[-1], latent, 1))


def _decoder(widths: tuple[int, ...], latent: int) -> nn.Sequential:
    rev = widths[::-1]
    mods: list[nn.Module] = [nn.Conv2d(latent, rev[0], 1), nn.GroupNorm(4, rev[0]), nn.SiLU()]
    for a, b in zip(rev[:-1], rev[1:], strict=True):
        mods += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1), nn.GroupNorm(4, b), nn.SiLU()]
    return nn.Sequential(*mods, nn.ConvTranspose2d(rev[-1], 3, 4, stride=2, padding=1))


class PixelWM(FrameModel):
    """Camera, encoder, decoder, predictor and probe; implements
    :class:`~grasp_bench.models.base.WorldModel` (with ``decode`` through the probe)."""

    def __init__(self, config: PixelConfig):
        super().__init__(config)
        if config.size % 8 or config.size < 16:
            raise ValueError(f"frame size must be a multiple of 8, at least 16 (got {config.size})")
        C, G, H = config.latent_channels, config.grid, config.hidden
        self.encoder = _encoder(config.channels, C)
        self.decoder = _decoder(config.channels, C)
        self.action_encoder = nn.Linear(self.action_dim, config.action_embed)
        convs: list[nn.Module] = []
        d_in = config.history * C + config.action_embed + 2
        for i in range(config.layers - 1):
            convs += [nn.Conv2d(d_in if i == 0 else H, H, 3, padding=1), nn.SiLU()]
        convs.append(nn.Conv2d(H if config.layers > 1 else d_in, C, 3, padding=1))
        self.predictor = nn.Sequential(*convs)
        nn.init.zeros_(self.predictor[-1].weight)
        nn.init.zeros_(self.predictor[-1].bias)
        F_, P = config.features_dim, config.probe_channels
        self.probe = nn.Sequential(
            nn.Unflatten(-1, (C, G, G)), nn.Conv2d(C, P, 3, padding=1), nn.SiLU(),
            nn.Conv2d(P, P, 3, stride=2, padding=1), nn.SiLU(), nn.Flatten(),
            nn.Linear(P * ((G + 1) // 2) ** 2, config.probe_hidden), nn.SiLU(),
            nn.Linear(config.probe_hidden, F_))
        coords = torch.linspace(-1.0, 1.0, G)
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        self.register_buffer("coords", torch.stack([xx, yy])[None], persistent=False)

    # -- observations ---------------------------------------------------------------------
    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames ``(..., 3, size, size)`` -> one frame's latent ``(..., C*G*G)``."""
        lead = frames.shape[:-3]
        z = self.encoder(frames.reshape(-1, *frames.shape[-3:]))  # (N, C, G, G)
        z = F.layer_norm(z.permute(0, 2, 3, 1), (z.shape[1],)).permute(0, 3, 1, 2)
        return z.reshape(*lead, self.config.frame_dim)

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(..., D)`` -> the newest frame ``(..., 3, size, size)`` (what the model
        imagines; linear output, clamp to [0, 1] to show it)."""
        G, n = self.config.grid, self.config.size
        x = self.decoder(self.newest(z).reshape(-1, self.config.latent_channels, G, G))
        return x.reshape(*z.shape[:-1], 3, n, n)

    # -- dynamics ---------------------------------------------------------------------------
    def step(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (..., D)``, ``a (..., A)`` (leading dims broadcast) -> ``z' (..., D)``: the
        next frame's grid ``z_K + P([z_1..z_K, e(a), xy])``, after frames 2..K."""
        lead = torch.broadcast_shapes(z.shape[:-1], a.shape[:-1])
        C, G, K = self.config.latent_channels, self.config.grid, self.history
        zf = z.expand(*lead, z.shape[-1]).reshape(-1, K * C, G, G)
        e = self.action_encoder(a.to(z.dtype).expand(*lead, a.shape[-1]).reshape(-1, a.shape[-1]))
        n = len(zf)
        x = torch.cat([zf, e[:, :, None, None].expand(n, -1, G, G),
                       self.coords.to(z.dtype).expand(n, -1, -1, -1)], dim=1)
        nxt = zf[:, -C:] + self.predictor(x)  # (n, C, G, G)
        return torch.cat([zf[:, C:], nxt], dim=1).reshape(*lead, self.latent_dim)
