"""Training the visual world model in three stages, as DINO-WM trains on frozen features.

1. **Encoder** (with its decoder) on rendered frames of the training states:
   reconstruction, mean squared pixel error with the pixels that differ from the empty
   scene weighted ``fg_weight`` times (the agent and the T cover a few % of a frame, and
   an unweighted autoencoder blurs them away).  A reconstruction loss cannot collapse:
   a constant latent decodes to no frame.  Then frozen.
2. **Predictor** in the frozen latent: teacher forcing (every true latent to the next)
   plus an open-loop rollout of ``rollout_steps`` model steps, squared latent errors
   against the encoded true frames.
3. **Probe** (latent -> state features), on the latents of true frames and on the
   predictor's open-loop latents of stage 2's windows (so that rollouts stay readable,
   as for the 64-dim latent model).  Planners never see it.

Every stage keeps the weights of its best validation epoch.  Frames whose agent or
block is outside the camera's view are dropped (:func:`~.camera.in_view`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from grasp_bench.data import Trajectories, past_indices, window_actions, window_indices
from grasp_bench.models.camera import in_view
from grasp_bench.models.keypoint import KeypointConfig, KeypointWM
from grasp_bench.models.pixel import PixelConfig, PixelWM
from grasp_bench.models.train import TrainResult

Progress = Callable[[str, int, int], None]  # (stage, epoch, epochs)


@dataclass(frozen=True)
class PixelTrainConfig:
    encoder_epochs: int = 10
    encoder_frames: int = 60_000  # rendered once, shared by the encoder's epochs
    encoder_batch: int = 128
    encoder_lr: float = 2e-3
    fg_weight: float = 10.0
    predictor_epochs: int = 15
    max_windows: int = 60_000  # predictor windows per epoch (subsampled)
    rollout_steps: int = 3
    #: windows start every this many env steps of an episode (the frameskip: each frame is
    #: encoded once for every window it is in, and neighbouring starts see near-equal frames)
    window_stride: int = 1
    probe_epochs: int = 20
    batch_size: int = 256
    lr: float = 2e-3
    seed: int = 0


def windows(data: Trajectories, k: int, steps: int, camera,
            history: int = 1, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the states ``(M, history-1+steps+1)`` (into ``data.states``, every ``k``
    env steps: the ``history-1`` before the window's start, held at the episode's first
    state before it began, then the window's) and the stacked actions ``(M, steps, k*A)``
    of every window whose states are in view."""
    s_idx, a_idx = window_indices(data, k, steps, stride)
    past = past_indices(data, s_idx[:, 0], k * np.arange(history - 1, 0, -1))
    s_idx = np.concatenate([past, s_idx], axis=1)
    ok = in_view(camera, data.states)[s_idx].all(axis=1)
    return s_idx[ok], window_actions(data, a_idx[ok], k, steps).astype(np.float32)


def histories(z: torch.Tensor, K: int) -> torch.Tensor:
    """Frame latents ``(N, L, d)`` -> the latents of each K consecutive frames,
    ``(N, L-K+1, K*d)`` (the oldest first in each)."""
    return z.unfold(1, K, 1).transpose(-1, -2).flatten(-2)


def _batches(n: int, size: int, gen: torch.Generator | None, cap: int | None = None):
    order = torch.randperm(n, generator=gen) if gen is not None else torch.arange(n)
    order = order[:cap] if cap else order
    return [order[i:i + size] for i in range(0, len(order), size)]


def _fit(params, loss_fn, n_train: int, val_fn, epochs: int, cfg: PixelTrainConfig,
         stage: str, progress: Progress | None, module, *, cap: int | None = None,
         lr: float | None = None, batch: int | None = None):
    """Adam + cosine schedule over ``epochs``; keeps ``module``'s best validation state.
    Returns (best_epoch, train_losses, val_losses)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    batch = batch or cfg.batch_size
    steps = math.ceil(min(n_train, cap or n_train) / batch)
    opt = torch.optim.AdamW(params, lr=lr or cfg.lr, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * steps))
    best = (math.inf, 0, {k: v.clone() for k, v in module.state_dict().items()})
    tr, va = [], []
    for epoch in range(1, epochs + 1):
        module.train()
        total = 0.0
        for idx in _batches(n_train, batch, gen, cap):
            loss = loss_fn(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        module.eval()
        with torch.no_grad():
            va.append(val_fn())
        tr.append(total / min(n_train, cap or n_train))
        if va[-1] < best[0]:
            best = (va[-1], epoch, {k: v.clone() for k, v in module.state_dict().items()})
        if progress:
            progress(stage, epoch, epochs)
    module.load_state_dict(best[2])
    return best[1], tr, va


@torch.no_grad()
def _encode_all(model: PixelWM, states: np.ndarray, device: str, batch: int = 512) -> torch.Tensor:
    """One frame's latent ``(N, C*G*G)`` of each of ``states (N, S)``."""
    out = [model.encode_frames(model.render(torch.as_tensor(states[i:i + batch],
                                                            dtype=torch.float32, device=device)))
           for i in range(0, len(states), batch)]
    return torch.cat(out)


def train_pixel_model(train: Trajectories, val: Trajectories, arch: PixelConfig,
                      cfg: PixelTrainConfig = PixelTrainConfig(), *, device: str = "cpu",
                      progress: Progress | None = None,
                      encoder_from: PixelWM | str | None = None) -> TrainResult:
    """The three stages on ``train``, selected on ``val``.  ``encoder_from``: reuse a
    trained model's frozen encoder and decoder (stage 1 skipped; the capacity study), or
    ``"random"``: keep the encoder at its random initialization, frozen."""
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    model = (KeypointWM if isinstance(arch, KeypointConfig) else PixelWM)(arch).to(device)
    cam = arch.camera()
    rng = np.random.default_rng(cfg.seed)
    seen = train.states[in_view(cam, train.states)]
    vseen = val.states[in_view(cam, val.states)]
    model.fit_normalization(torch.as_tensor(seen, dtype=torch.float32, device=device), None)
    history = {}

    # 1. encoder + decoder on frames ----------------------------------------------------------
    if isinstance(encoder_from, str):
        if encoder_from != "random":
            raise ValueError(f"encoder_from must be a visual model or 'random' "
                             f"(got {encoder_from!r})")
    elif encoder_from is not None:
        model.adopt_encoder(encoder_from)
    else:
        pick = rng.choice(len(seen), min(cfg.encoder_frames, len(seen)), replace=False)
        vpick = rng.choice(len(vseen), min(cfg.encoder_frames // 10, len(vseen)), replace=False)
        with torch.no_grad():
            frames = _frames(model, seen[pick], device)
            vframes = _frames(model, vseen[vpick], device)
        bg = model.camera._background.reshape(3, arch.size, arch.size).to(device)
        ae = torch.nn.ModuleDict({"encoder": model.encoder, "decoder": model.decoder})

        def recon(x: torch.Tensor) -> torch.Tensor:
            x = x.float() / 255.0
            w = 1.0 + (cfg.fg_weight - 1.0) * ((x - bg).abs().amax(1, keepdim=True) > 0.05)
            return (w * (model.reconstruct(model.encode_frames(x)) - x).square()).mean()

        history["encoder"] = _fit(
            ae.parameters(), lambda idx: recon(frames[idx]), len(frames),
            lambda: float(np.mean([recon(vframes[i:i + 1024]).item()
                                   for i in range(0, len(vframes), 1024)])),
            cfg.encoder_epochs, cfg, "encoder", progress, ae, lr=cfg.encoder_lr,
            batch=cfg.encoder_batch)
        model.fit_latent(frames)
    for p in (*model.encoder.parameters(), *model.decoder.parameters()):
        p.requires_grad_(False)

    # 2. predictor in the frozen latent ---------------------------------------------------------
    R, k, K = cfg.rollout_steps, arch.frameskip, arch.history
    sets = []
    for data in (train, val):
        s_idx, acts = windows(data, k, R, cam, K, cfg.window_stride)
        used, inverse = np.unique(s_idx, return_inverse=True)
        z = _encode_all(model, data.states[used], device)  # each state encoded once
        sets.append((z, torch.as_tensor(inverse.reshape(s_idx.shape), device=device),
                     torch.as_tensor(acts, device=device), data.states[used]))
    (z_tr, w_tr, a_tr, _), (z_va, w_va, a_va, _) = sets

    def pred_loss(z: torch.Tensor, w: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        zt = histories(z[w], K)  # (N, R+1, D): each step's true history
        new = model.newest
        teacher = (new(model.step(zt[:, :-1], a)) - new(zt[:, 1:])).square().mean()
        open_loop = (new(model.rollout(zt[:, 0], a)[:, 1:]) - new(zt[:, 1:])).square().mean()
        return teacher + open_loop

    dynamics = torch.nn.ModuleDict({"p": model.predictor, "a": model.action_encoder})
    history["predictor"] = _fit(
        dynamics.parameters(), lambda idx: pred_loss(z_tr, w_tr[idx], a_tr[idx]),
        len(w_tr), lambda: _mean_over(lambda sl: pred_loss(z_va, w_va[sl], a_va[sl]), len(w_va)),
        cfg.predictor_epochs, cfg, "predictor", progress, dynamics, cap=cfg.max_windows)
    for p in dynamics.parameters():
        p.requires_grad_(False)

    # 3. probe on true and predicted latents ----------------------------------------------------
    def probe_loss(z: torch.Tensor, w: torch.Tensor, a: torch.Tensor,
                   f: torch.Tensor) -> torch.Tensor:
        zt, ft = histories(z[w], K), f[w[:, K - 1:]]
        with torch.no_grad():
            zp = model.rollout(zt[:, 0], a)[:, 1:]
        seen = model.observed  # (F,) 0 for velocities: no frame shows them

        def read(z_: torch.Tensor) -> torch.Tensor:  # the probe on (N, T, D)'s newest frames
            z_ = model.newest(z_)
            return model.probe(z_.reshape(-1, z_.shape[-1])).reshape(*z_.shape[:-1], -1)

        return (((read(zt) - ft).square() * seen).mean()
                + ((read(zp) - ft[:, 1:]).square() * seen).mean())

    with torch.no_grad():
        f_tr, f_va = (model.features(torch.as_tensor(s[3], dtype=torch.float32, device=device))
                      for s in sets)
    history["probe"] = _fit(
        model.probe.parameters(), lambda idx: probe_loss(z_tr, w_tr[idx], a_tr[idx], f_tr),
        len(w_tr), lambda: _mean_over(lambda sl: probe_loss(z_va, w_va[sl], a_va[sl], f_va),
                                      len(w_va)),
        cfg.probe_epochs, cfg, "probe", progress, torch.nn.ModuleDict({"p": model.probe}),
        cap=cfg.max_windows)
    model.eval()
    best, tr, va = history["predictor"]
    return TrainResult(model, best, tr, va, time.perf_counter() - t0)


def _frames(model: PixelWM, states: np.ndarray, device: str) -> torch.Tensor:
    """Rendered frames ``(N, 3, n, n)`` as uint8 (a quarter of float32's memory)."""
    out = [(model.render(torch.as_tensor(states[i:i + 1024], dtype=torch.float32, device=device))
            * 255).round().to(torch.uint8) for i in range(0, len(states), 1024)]
    return torch.cat(out)


def _mean_over(fn: Callable[[slice], torch.Tensor], n: int, batch: int = 2048) -> float:
    total = sum(fn(slice(i, i + batch)).item() * min(batch, n - i) for i in range(0, n, batch))
    return total / max(n, 1)
