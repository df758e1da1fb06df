"""The visual model's camera: env states rendered to small RGB frames, in torch.

A pixel world model sees the scene only through this camera, so :meth:`Camera.render`
is what ``encode(state)`` starts from.  It draws the same scene as the env's Pillow
renderer (:mod:`envs.render`: the reference colours, Push-T's T and agent, BallNav's
walls and ball) but batched and in torch (about 3,500 64x64 frames/s on one CPU thread,
against ~2,900 for Pillow; on the GPU when the model is there).

Two choices, both so that the model can see what the success test measures:

* **The agent (ball) is drawn larger** than its physical radius (``agent_radius``,
  default 30 world px against 15 on Push-T): at 64 px a 15 px disc is 2 px across and a
  trained autoencoder blurs it away (measured on a prototype).  Only the picture
  changes; the physics do not.
* **The view has a margin** around the 512 px arena (``margin``): Push-T's kinematic
  agent passes through the walls, and random pushes take it out of the arena in about
  a fifth of the frames.  Frames whose agent or block is outside the view are dropped
  from the training data (:func:`in_view`).

Shapes are antialiased by a linear coverage ramp one pixel wide on their signed
distance, which is also differentiable in the state (not used by the model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from envs.render import (
    AGENT_FILL,
    ARENA,
    BLOCK_FILL,
    LIGHT_GRAY,
    WALL_GRAY,
)

__all__ = ["Camera", "CameraConfig", "in_view"]


@dataclass(frozen=True)
class CameraConfig:
    """What the camera draws and how large (stored in every visual checkpoint)."""

    env: str  # "pusht" or "ballnav"
    layout: str | None = None  # BallNav's layout
    size: int = 64  # frame side in pixels
    margin: float = 32.0  # world px of view beyond each side of the arena
    agent_radius: float = 30.0  # drawn radius of the agent / ball, world px


def _rgb(c: tuple[int, int, int]) -> torch.Tensor:
    return torch.tensor(c, dtype=torch.float32) / 255.0


def _coverage(sd: torch.Tensor, pixel: float) -> torch.Tensor:
    """Signed distance (world px, negative inside) -> pixel coverage in [0, 1]."""
    return (0.5 - sd / pixel).clamp(0.0, 1.0)


def _capsules_sd(px: torch.Tensor, segs: torch.Tensor, radius: float) -> torch.Tensor:
    """Distance of pixel centres ``(P, 2)`` to the union of capsules ``(W, 4)``: ``(P,)``."""
    a, b = segs[:, :2], segs[:, 2:]
    ab = b - a  # (W, 2)
    ap = px[:, None, :] - a[None]  # (P, W, 2)
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-9)).clamp(0.0, 1.0)
    d = (ap - t[..., None] * ab).norm(dim=-1) - radius
    return d.min(dim=1).values


class Camera:
    """Renders env states ``(..., S)`` to frames ``(..., 3, size, size)`` in [0, 1]."""

    def __init__(self, config: CameraConfig):
        self.config = config
        c = config
        lo, hi = -c.margin, ARENA + c.margin
        self.pixel = (hi - lo) / c.size  # world px per image pixel
        centres = lo + (torch.arange(c.size, dtype=torch.float32) + 0.5) * self.pixel
        yy, xx = torch.meshgrid(centres, centres, indexing="ij")  # row = y (y down)
        self._px = torch.stack([xx, yy], dim=-1).reshape(-1, 2)  # (P, 2) world coords
        self.view = (lo, hi)
        if c.env == "pusht":
            from envs.pusht import T_PARTS, WALL_RADIUS, WALLS

            walls, wall_radius, wall_colour = np.array(WALLS), WALL_RADIUS, LIGHT_GRAY
            # boxes (x0, x1, y0, y1) in the block's frame
            self._boxes = torch.tensor([[p[:, 0].min(), p[:, 0].max(), p[:, 1].min(),
                                         p[:, 1].max()] for p in T_PARTS], dtype=torch.float32)
        elif c.env == "ballnav":
            from envs.layouts import WALL_RADIUS, get_layout

            walls, wall_radius, wall_colour = get_layout(c.layout).segments, WALL_RADIUS, WALL_GRAY
            self._boxes = None
        else:
            raise ValueError(f"the camera knows pusht and ballnav, not {c.env!r}")
        segs = torch.tensor(np.asarray(walls), dtype=torch.float32)
        wall = _coverage(_capsules_sd(self._px, segs, wall_radius), self.pixel)  # (P,)
        white = torch.ones(3, 1)
        self._background = white + wall[None] * (_rgb(wall_colour)[:, None] - white)  # (3, P)

    def render(self, state: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """States ``(..., S)`` -> frames ``(..., 3, size, size)``, float32 in [0, 1]."""
        lead, S = state.shape[:-1], state.shape[-1]
        flat = state.reshape(-1, S).to(torch.float32)
        dev = flat.device
        out = [self._render(flat[i:i + batch]) for i in range(0, len(flat), batch)] or \
            [flat.new_zeros(0, 3, len(self._px))]
        n = self.config.size
        return torch.cat(out).to(dev).reshape(*lead, 3, n, n)

    def _render(self, s: torch.Tensor) -> torch.Tensor:
        """``(N, S)`` -> ``(N, 3, P)``."""
        px = self._px.to(s.device)
        img = self._background.to(s.device).expand(len(s), -1, -1)
        if self._boxes is not None:  # Push-T's block: the T as the union of its two boxes
            d = px[None] - s[:, None, 2:4]  # (N, P, 2)
            c, si = torch.cos(s[:, 4])[:, None], torch.sin(s[:, 4])[:, None]
            lx, ly = c * d[..., 0] + si * d[..., 1], -si * d[..., 0] + c * d[..., 1]
            sd = None
            for x0, x1, y0, y1 in self._boxes.to(s.device):
                qx = (lx - (x0 + x1) / 2).abs() - (x1 - x0) / 2
                qy = (ly - (y0 + y1) / 2).abs() - (y1 - y0) / 2
                box = torch.hypot(qx.clamp_min(0), qy.clamp_min(0)) + \
                    torch.maximum(qx, qy).clamp_max(0)
                sd = box if sd is None else torch.minimum(sd, box)
            img = _over(img, _coverage(sd, self.pixel), _rgb(BLOCK_FILL).to(s.device))
        agent = (px[None] - s[:, None, 0:2]).norm(dim=-1) - self.config.agent_radius
        return _over(img, _coverage(agent, self.pixel), _rgb(AGENT_FILL).to(s.device))


def _over(img: torch.Tensor, alpha: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
    """Paint ``colour (3,)`` with coverage ``alpha (N, P)`` over ``img (N, 3, P)``."""
    return img + alpha[:, None] * (colour[None, :, None] - img)


def in_view(config: CameraConfig, states: np.ndarray) -> np.ndarray:
    """``(N, S)`` -> ``(N,)`` bool: the agent (and Push-T's block origin) inside the view."""
    lo, hi = -config.margin, ARENA + config.margin
    idx = [0, 1, 2, 3] if config.env == "pusht" else [0, 1]
    xy = states[:, idx]
    return np.all((xy >= lo) & (xy <= hi), axis=1)
