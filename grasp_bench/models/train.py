"""Training a world model on collected trajectories, and its accuracy report.

A model with a ``training_loss`` method (:class:`~grasp_bench.models.latent.LatentMLP`)
trains on it; a :class:`StateMLP` on :func:`rollout_loss`: mean squared error of the
predicted latent, in units of the one-step change ``delta_scale`` (so every feature
counts alike), summed over ``rollout_steps`` model steps fed back open-loop
(``rollout_steps = 1`` is the plain one-step loss; more steps train the model to be
accurate where planners use it: in long rollouts).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from grasp_bench.data import (
    Trajectories,
    model_windows,
    past_indices,
    window_actions,
    window_indices,
)
from grasp_bench.models.base import PAST_STEPS, start_latents
from grasp_bench.models.mlp import StateMLP


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-5
    rollout_steps: int = 4  # multi-step loss; 1 = one-step loss
    patience: int = 6  # early stopping: epochs without validation improvement
    max_windows: int = 200_000  # cap on training windows per epoch (subsampled)
    seed: int = 0


@dataclass
class TrainResult:
    model: torch.nn.Module
    best_epoch: int
    train_loss: list[float]
    val_loss: list[float]
    seconds: float


def _tensors(data: Trajectories, k: int, steps: int, device: str):
    s0, acts, targets = model_windows(data, k, steps)
    to = lambda x: torch.as_tensor(x, dtype=torch.float32, device=device)  # noqa: E731
    return to(s0), to(acts), to(targets)


def rollout_loss(model: StateMLP, s0, acts, targets) -> torch.Tensor:
    """Open-loop multi-step loss. ``s0 (N, S)``, ``acts (N, R, A)``, ``targets (N, R, S)``."""
    z = model.encode(s0)
    z_true = model.encode(targets)
    loss = 0.0
    for r in range(acts.shape[1]):
        z = model.step(z, acts[:, r])
        loss = loss + (((z - z_true[:, r]) / model.delta_scale) ** 2).mean()
    return loss / acts.shape[1]


def model_loss(model, s0, acts, targets) -> torch.Tensor:
    """The model's own ``training_loss`` if it has one, else :func:`rollout_loss`."""
    if hasattr(model, "training_loss"):
        return model.training_loss(s0, acts, targets)
    return rollout_loss(model, s0, acts, targets)


def train_model(
    train: Trajectories,
    val: Trajectories,
    arch,
    cfg: TrainConfig = TrainConfig(),
    *,
    device: str = "cpu",
    progress: Callable[[int, float, float], None] | None = None,
) -> TrainResult:
    """Train with Adam and a cosine schedule; keep the weights of the best validation epoch.

    ``progress(epoch, train_loss, val_loss)`` is called after every epoch.
    """
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    t0 = time.perf_counter()
    from grasp_bench.models.checkpoint import build_model

    model = build_model(arch).to(device)
    s0, acts, targets = _tensors(train, arch.frameskip, cfg.rollout_steps, device)
    vs0, vacts, vtargets = _tensors(val, arch.frameskip, cfg.rollout_steps, device)
    model.fit_normalization(s0, targets[:, 0])
    n = min(len(s0), cfg.max_windows)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch)
    best = (math.inf, 0, {k_: v.clone() for k_, v in model.state_dict().items()})
    train_hist, val_hist = [], []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        perm = torch.randperm(len(s0), generator=gen)[:n].to(device)
        total = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            loss = model_loss(model, s0[idx], acts[idx], targets[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        train_hist.append(total / n)
        val_hist.append(evaluate_loss(model, vs0, vacts, vtargets))
        if progress:
            progress(epoch, train_hist[-1], val_hist[-1])
        if val_hist[-1] < best[0]:
            best = (val_hist[-1], epoch, {k_: v.clone() for k_, v in model.state_dict().items()})
        elif epoch - best[1] >= cfg.patience:
            break
    model.load_state_dict(best[2])
    model.eval()
    return TrainResult(model, best[1], train_hist, val_hist, time.perf_counter() - t0)


@torch.no_grad()
def evaluate_loss(model: torch.nn.Module, s0, acts, targets, batch: int = 8192) -> float:
    model.eval()
    total = 0.0
    for i in range(0, len(s0), batch):
        sl = slice(i, i + batch)
        total += model_loss(model, s0[sl], acts[sl], targets[sl]).item() * len(s0[sl])
    return total / len(s0)


def _wrap(x: np.ndarray) -> np.ndarray:
    return np.abs((x + np.pi) % (2 * np.pi) - np.pi)


@torch.no_grad()
def open_loop_errors(
    model: torch.nn.Module,
    data: Trajectories,
    horizons: tuple[int, ...],
    metrics: dict[str, tuple[int, ...]],
    angle_indices: tuple[int, ...] = (),
) -> dict[str, dict[str, float]]:
    """Open-loop prediction error of the model against recorded simulator trajectories.

    For every horizon ``H`` (env steps, a multiple of the frameskip), the model is rolled
    out ``H / k`` steps from each window start with the recorded actions and decoded;
    each metric is the L2 error over its state indices (wrapped for angles), in physical
    units. Returns ``{f"H{H}": {metric: median, f"{metric}_p90": 90th percentile}}``;
    a horizon longer than every episode is left out (nothing to measure it on).
    """
    k = model.frameskip
    out: dict[str, dict[str, float]] = {}
    for h in horizons:
        if h > int(data.lengths.max(initial=0)):
            continue
        s_idx, a_idx = window_indices(data, k, h // k, stride=10)
        acts, targets = window_actions(data, a_idx, k, h // k), data.states[s_idx[:, 1:]]
        past = data.states[past_indices(data, s_idx[:, 0], np.arange(PAST_STEPS, 0, -1))]
        z = start_latents(model, torch.as_tensor(data.states[s_idx[:, 0]], dtype=torch.float32),
                          torch.as_tensor(past, dtype=torch.float32))
        pred = model.decode(model.rollout(z, torch.as_tensor(acts))[:, -1]).double().numpy()
        out[f"H{h}"] = _errors(pred, targets[:, -1], metrics, angle_indices)
    return out


def _errors(pred: np.ndarray, true: np.ndarray, metrics: dict[str, tuple[int, ...]],
            angle_indices: tuple[int, ...]) -> dict[str, float]:
    """Per metric, the median and 90th percentile of the error of states ``pred (N, S)``
    against ``true (N, S)``: L2 over its indices, or the largest wrapped angle error."""
    row = {}
    for name, idx in metrics.items():
        diff = pred[:, list(idx)] - true[:, list(idx)]
        err = _wrap(diff).max(axis=1) if all(i in angle_indices for i in idx) \
            else np.linalg.norm(diff, axis=1)
        row[name] = float(np.median(err))
        row[f"{name}_p90"] = float(np.quantile(err, 0.9))
    return row


@torch.no_grad()
def probe_errors(model: torch.nn.Module, data: Trajectories, metrics: dict[str, tuple[int, ...]],
                 angle_indices: tuple[int, ...] = (), stride: int = 7) -> dict[str, float]:
    """How well the model reads a true state: ``decode(encode(s))`` against ``s`` on every
    ``stride``-th state of ``data``; median error per metric (physical units), and its
    90th percentile.  For a visual model this is the probe on true frames: a model that
    cannot read a true frame within the success tolerance cannot judge any plan."""
    s = data.states[::stride]
    out = model.decode(model.encode(torch.as_tensor(s, dtype=torch.float32))).double().numpy()
    return _errors(out, s, metrics, angle_indices)
