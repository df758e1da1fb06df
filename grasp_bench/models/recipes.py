"""How the shipped checkpoints are made: data sizes, seeds, architecture, training.

``grasp-bench checkpoints`` (``make checkpoints``) runs :func:`build_checkpoint` for
every task here; the result is deterministic given the seeds below (on one machine
and torch version: float summation order may differ across BLAS builds).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from grasp_bench.data import Trajectories, collect
from grasp_bench.models.checkpoint import save_checkpoint
from grasp_bench.models.latent import LatentConfig
from grasp_bench.models.mlp import MLPConfig
from grasp_bench.models.train import TrainConfig, open_loop_errors, train_model
from grasp_bench.tasks import Task, get_task

#: Open-loop accuracy is reported at these horizons (env steps).
REPORT_HORIZONS = (40, 80)


@dataclass(frozen=True)
class Recipe:
    task: str
    train_episodes: int
    val_episodes: int
    steps: int  # env steps per episode
    arch: dict  # config fields beyond the task's shape
    train: TrainConfig
    kind: str = "state"  # state (StateMLP) or latent (LatentMLP)


RECIPES = {
    # 800k env steps: with 300k the model overfit (validation loss 0.20 vs 0.15 at 800k);
    # 512 hidden units learnt no better than 256 per epoch at three times the cost.
    "pusht": Recipe("pusht", 4000, 200, 200, {"hidden": 256, "layers": 3}, TrainConfig()),
    "ballnav": Recipe(
        "ballnav", 1000, 100, 200, {"hidden": 128, "layers": 3}, TrainConfig(epochs=30)
    ),
    # The latent models see the same data; 100k windows an epoch and 20 epochs keep a
    # training to about ten minutes on one CPU thread.
    "pusht-latent": Recipe("pusht", 4000, 200, 200, {"latent": 64, "hidden": 256, "layers": 3},
                           TrainConfig(epochs=20, max_windows=100_000), kind="latent"),
    "ballnav-latent": Recipe("ballnav", 1000, 100, 200,
                             {"latent": 64, "hidden": 128, "layers": 3},
                             TrainConfig(epochs=20, max_windows=100_000), kind="latent"),
}


def arch_for(task: Task, kind: str = "state", **overrides) -> MLPConfig | LatentConfig:
    config_cls = LatentConfig if kind == "latent" else MLPConfig
    return config_cls(
        state_dim=task.state_dim, env_action_dim=2, angle_indices=task.angle_indices, **overrides
    )


def train_checkpoint(
    task: Task,
    train: Trajectories,
    val: Trajectories,
    arch: MLPConfig | LatentConfig,
    cfg: TrainConfig,
    out: Path,
    *,
    device: str = "cpu",
    progress: Callable[[int, float, float], None] | None = None,
) -> dict:
    """Train on ``train``, select on ``val``, report accuracy on ``val``, write ``out``."""
    result = train_model(train, val, arch, cfg, device=device, progress=progress)
    model = result.model.cpu()
    errors = open_loop_errors(
        model, val, REPORT_HORIZONS, task.metrics, angle_indices=task.angle_indices
    )
    manifest = {
        "env_id": task.env_id,
        "env_kwargs": task.env_kwargs,
        "task": task.tag,
        "frameskip": arch.frameskip,
        "data": {
            "train": {**train.meta, "transitions": int(train.lengths.sum())},
            "validation": {**val.meta, "transitions": int(val.lengths.sum())},
        },
        "training": {
            **asdict(cfg),
            "device": device,
            "seconds": round(result.seconds, 1),
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.val_loss),
            "torch": torch.__version__,
            "machine": platform.machine(),
        },
        "validation": {
            "loss": round(min(result.val_loss), 6),
            "open_loop": {h: {k: round(v, 4) for k, v in m.items()} for h, m in errors.items()},
        },
    }
    return save_checkpoint(model, out, manifest)


def build_checkpoint(
    name: str,
    *,
    out_dir: Path,
    device: str = "cpu",
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Collect the recipe's data and train the shipped checkpoint for task ``name``."""
    recipe = RECIPES[name]
    task = get_task(recipe.task)
    tick = (lambda what, total: (lambda n: progress(what, n, total))) if progress else None
    train = collect(
        task, episodes=recipe.train_episodes, steps=recipe.steps, split="train",
        workers=workers, progress=tick and tick("collect train", recipe.train_episodes),
    )
    val = collect(
        task, episodes=recipe.val_episodes, steps=recipe.steps, split="validation",
        workers=workers, progress=tick and tick("collect validation", recipe.val_episodes),
    )
    cfg = recipe.train
    epoch_tick = (lambda e, tl, vl: progress("train", e, cfg.epochs)) if progress else None
    return train_checkpoint(
        task, train, val, arch_for(task, recipe.kind, **recipe.arch), cfg, out_dir / f"{name}.pt",
        device=device, progress=epoch_tick,
    )
