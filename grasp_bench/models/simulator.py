"""The simulator itself behind the :class:`~grasp_bench.models.base.WorldModel` protocol:
the benchmark's *ceiling* (``--model simulator``), never a learned-model result.

The latent is the state's features [non-angle dims, cos and sin of each angle] in the
env's own units (no learning, no standardization), so ``decode(encode(s)) == s``; a
rollout is one continuous simulation from the decoded start (``envs.replay``: the
solver's warm start carries across model steps, exactly as the plan is later replayed).
Not differentiable: only the sampling planners (cem, mppi, icem) can use it.  Rows are
split over a persistent pool of worker processes; the cost is the env's, ~35k Push-T env
steps per second per core (measured on a 2-core x86_64 CPU), so CEM's default budget (300
samples x 30 iterations) costs ``300 * 30 * H`` env steps per problem (H = 40: 360k, about
10 core-seconds).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from torch import nn

from grasp_bench.models.mlp import feature_weights
from grasp_bench.tasks import Task

#: Planners that need no model gradients (the only ones the simulator can serve).
SAMPLING_PLANNERS = ("cem", "mppi", "icem")


def _replay_chunk(env_id: str, env_kwargs: dict, starts: np.ndarray,
                  actions: np.ndarray) -> np.ndarray:
    from envs import replay

    return replay(env_id, starts, actions, **env_kwargs)


def _exit_with_parent(parent: int, poll_s: float = 0.5) -> None:
    """Pool initializer: the worker ends once the process that started it is gone, so a
    sweep killed by a signal (no cleanup runs) leaves no simulator workers behind."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


class SimulatorModel(nn.Module):
    """The simulator as a (perfect, non-differentiable) world model for ``task``."""

    def __init__(self, task: Task, frameskip: int = 5, workers: int | None = None):
        super().__init__()
        self.task = task
        self.frameskip = frameskip
        self.action_dim = 2 * frameskip
        self.angles = list(task.angle_indices)
        self.keep = [i for i in range(task.state_dim) if i not in task.angle_indices]
        self.latent_dim = task.state_dim + len(self.angles)
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def encode(self, state: torch.Tensor) -> torch.Tensor:
        """State ``(..., S)`` -> features ``(..., D)``."""
        ang = state[..., self.angles]
        return torch.cat([state[..., self.keep], torch.cos(ang), torch.sin(ang)], dim=-1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Features ``(..., D)`` -> state ``(..., S)`` (angles in [0, 2pi))."""
        n_keep, n_ang = len(self.keep), len(self.angles)
        out = z.new_empty(*z.shape[:-1], self.task.state_dim)
        out[..., self.keep] = z[..., :n_keep]
        if n_ang:
            cos, sin = z[..., n_keep:n_keep + n_ang], z[..., n_keep + n_ang:]
            out[..., self.angles] = torch.remainder(torch.atan2(sin, cos), 2 * torch.pi)
        return out

    def goal_weights(self, scales) -> torch.Tensor:
        return feature_weights(self.task.state_dim, self.task.angle_indices, scales)

    def step(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``z (..., D)``, ``a (..., A)`` -> ``(..., D)``: k env steps per row."""
        return self.rollout(z, a[..., None, :])[..., -1, :]

    @torch.no_grad()
    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``z0 (..., D)``, ``actions (..., T, A)`` -> ``(..., T+1, D)``: one continuous
        simulation per row of ``T * k`` env steps, sampled every k steps."""
        lead, (T, A) = actions.shape[:-2], actions.shape[-2:]
        z0 = z0.expand(*lead, z0.shape[-1])
        starts = self.decode(z0).reshape(-1, self.task.state_dim).double().cpu().numpy()
        acts = actions.reshape(-1, T * self.frameskip, A // self.frameskip)
        states = self._replay(starts, acts.double().cpu().numpy())[:, :: self.frameskip]
        out = self.encode(torch.from_numpy(states)).to(z0)
        return out.reshape(*lead, T + 1, self.latent_dim)

    def _replay(self, starts: np.ndarray, actions: np.ndarray) -> np.ndarray:
        task = self.task
        if self.workers <= 1 or len(starts) < 2 * self.workers:
            return _replay_chunk(task.env_id, task.env_kwargs, starts, actions)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_exit_with_parent,
                                             initargs=(os.getpid(),))
        idx = np.array_split(np.arange(len(starts)), self.workers)
        futures = [self._pool.submit(_replay_chunk, task.env_id, task.env_kwargs, starts[i],
                                     actions[i]) for i in idx]
        return np.concatenate([f.result() for f in futures])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
