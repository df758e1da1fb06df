"""Trajectory collection with the scripted behaviour policies, and the dataset format.

Dataset file (``.npz``, written atomically):

- ``states``   float64 ``(sum_i (L_i + 1), S)``: every episode's states, start included;
- ``actions``  float32 ``(sum_i L_i, A)``: env actions, in [-1, 1];
- ``lengths``  int64 ``(N,)``: steps L_i of each episode (its boundaries);
- ``seeds``    int64 ``(N,)``: the seed of each episode (env reset and policy);
- ``meta``     JSON string: env id and kwargs, split, policy settings, package version.

Episode ``i`` is fully determined by its seed (a noisy replay: by its seed and its place
among its demonstration's replays), so a collection is identical whatever the number of
worker processes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasp_bench.errors import UserError
from grasp_bench.seeds import SPLITS
from grasp_bench.tasks import Task, get_task
from grasp_bench.version import __version__


@dataclass(frozen=True)
class Trajectories:
    """A set of episodes, stored flat (see the module docstring)."""

    states: np.ndarray
    actions: np.ndarray
    lengths: np.ndarray
    seeds: np.ndarray
    meta: dict

    @property
    def state_offsets(self) -> np.ndarray:
        """Index of each episode's first state in ``states``."""
        return np.concatenate([[0], np.cumsum(self.lengths + 1)[:-1]]).astype(np.int64)

    @property
    def action_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    def episode(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """States ``(L+1, S)`` and actions ``(L, A)`` of episode ``i``."""
        s0, a0, n = self.state_offsets[i], self.action_offsets[i], self.lengths[i]
        return self.states[s0 : s0 + n + 1], self.actions[a0 : a0 + n]

    def __len__(self) -> int:
        return len(self.lengths)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez_compressed(
            tmp,
            states=self.states,
            actions=self.actions,
            lengths=self.lengths,
            seeds=self.seeds,
            meta=np.array(json.dumps(self.meta)),
        )
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Trajectories:
        path = Path(path)
        if not path.exists():
            raise UserError(f"dataset {path} not found (make one with `grasp-bench collect`)")
        try:
            with np.load(path, allow_pickle=False) as f:
                data = cls(
                    states=f["states"],
                    actions=f["actions"],
                    lengths=f["lengths"],
                    seeds=f["seeds"],
                    meta=json.loads(str(f["meta"])),
                )
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise UserError(f"dataset {path} is not a grasp-bench dataset ({e})") from None
        if data.states.shape[0] != int(data.lengths.sum()) + len(data.lengths):
            raise UserError(f"dataset {path} is inconsistent: states do not match lengths")
        return data


def collect_episode(
    task: Task, seed: int, steps: int, explore: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Run the task's behaviour policy for ``steps`` env steps from ``reset(seed=seed)``
    (with ``explore``, sometimes random actions instead: :meth:`Task.make_policy`).

    Returns states ``(steps + 1, S)`` and actions ``(steps, A)``.
    """
    env = task.make_env()
    rng = np.random.default_rng(seed)
    state, _ = env.reset(seed=seed)
    policy = task.make_policy(env, env.get_state(), rng, explore)
    states = [env.get_state()]
    actions = []
    for _ in range(steps):
        a = np.asarray(policy.act(states[-1]), dtype=np.float32)
        env.step(a)
        actions.append(a)
        states.append(env.get_state())
    env.close()
    return np.asarray(states, np.float64), np.asarray(actions, np.float32)


def demo_episode(task: Task, seed: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The task's goal-directed demonstration from ``reset(seed=seed)``, at most ``steps``
    env steps (it ends once the goal is covered): states ``(L + 1, S)``, actions ``(L, A)``."""
    from envs.policies import demonstrate

    env = task.make_env()
    states, actions, _ = demonstrate(env, seed, max_steps=steps, **task.demo_description)
    env.close()
    return np.asarray(states, np.float64), np.asarray(actions, np.float32).reshape(-1, 2)


def with_action_noise(actions: np.ndarray, level: float, key: list[int]) -> np.ndarray:
    """``actions (L, A)`` plus Gaussian noise of std ``level`` (rng ``default_rng(key)``),
    clipped to the action box: the noisy replays of the training data and of the ``replay``
    problems (:mod:`grasp_bench.problems`)."""
    noise = np.random.default_rng(key).normal(0.0, level, np.shape(actions))
    return np.clip(actions + noise, -1.0, 1.0)


def replay_episodes(task: Task, seed: int, steps: int,
                    noise_levels: tuple[float, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The demonstration of ``seed`` replayed open loop once per noise level, as DINO-WM's
    ``pusht_noise`` replays its demonstrations "with various level of noise": replay ``r``
    executes the demonstration's actions plus Gaussian noise of std ``noise_levels[r]``
    (rng seeded by ``(seed, r)``, clipped to the action box) from its start, for as many
    steps as the demonstration took.  Returns ``[(states (L + 1, S), actions (L, A))]``."""
    from envs import replay

    states, actions = demo_episode(task, seed, steps)
    env = task.make_env()
    out = []
    for r, level in enumerate(noise_levels):
        noisy = with_action_noise(actions, level, [seed, r]).astype(np.float32)
        out.append((replay(env, states[:1], noisy[None])[0], noisy))
    env.close()
    return out


def _collect_one(args: tuple) -> list[tuple[np.ndarray, np.ndarray]]:
    name, layout, seed, steps, source, levels = args
    task = get_task(name, **layout)
    if source == "replay":
        return replay_episodes(task, seed, steps, levels)
    if source == "demo":
        return [demo_episode(task, seed, steps)]
    return [collect_episode(task, seed, steps)]


def collect(
    task: Task,
    *,
    episodes: int,
    steps: int,
    split: str = "train",
    seed: int = 0,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    source: str = "behaviour",
    noise_levels: tuple[float, ...] = (),
) -> Trajectories:
    """Collect ``episodes`` episodes of ``steps`` env steps, seeds from ``split``.

    ``source``: ``behaviour`` (the scripted behaviour policy, with exploration), ``demo``
    (the task's goal-directed demonstrations, each ending when the goal is covered, so
    shorter than ``steps``) or ``replay`` (each demonstration replayed open loop once per
    entry of ``noise_levels``, :func:`replay_episodes`: ``episodes * len(noise_levels)``
    episodes, a demonstration's replays together).  Seed ``i`` is
    ``SPLITS[split].start + seed + i``; ``progress(n)`` is called with the number of seeds
    finished so far.
    """
    if episodes <= 0 or steps <= 0:
        raise UserError(f"episodes and steps must be positive (got {episodes}, {steps})")
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    demo_based = source in ("demo", "replay")
    if demo_based and "demo" not in task.problem_sources:
        raise UserError(f"{task.name} has no {source!r} episodes")
    if source not in ("behaviour", "demo", "replay"):
        raise UserError(f"unknown source {source!r}; expected behaviour, demo or replay")
    levels = tuple(float(x) for x in noise_levels)
    if (source == "replay") != bool(levels) or any(not (x >= 0.0) for x in levels):
        raise UserError("noise_levels (each >= 0) are given with source 'replay', and only then")
    seeds = SPLITS[split].seeds(seed, episodes)
    workers = max(1, min(workers or os.cpu_count() or 1, episodes))
    jobs = [(task.name, task.env_kwargs, s, steps, source, levels) for s in seeds]
    done: list[list[tuple[np.ndarray, np.ndarray]]] = []
    if workers == 1:
        for j in jobs:
            done.append(_collect_one(j))
            if progress:
                progress(len(done))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for r in pool.map(_collect_one, jobs, chunksize=max(1, episodes // (8 * workers))):
                done.append(r)
                if progress:
                    progress(len(done))
    results = [ep for eps in done for ep in eps]
    per_seed = max(1, len(levels))
    meta = {
        "env_id": task.env_id,
        "env_kwargs": task.env_kwargs,
        "task": task.name,
        "split": split,
        "seed_offset": seed,
        "episodes": episodes,
        "steps": steps,
        "source": source,
        **({"noise_levels": list(levels)} if levels else {}),
        "policy": task.demo_description if demo_based else task.policy_description,
        "random_episodes": 0.0 if demo_based else task.random_episodes,
        "grasp_bench_version": __version__,
    }
    return Trajectories(
        states=np.concatenate([r[0] for r in results]),
        actions=np.concatenate([r[1] for r in results]),
        lengths=np.asarray([len(r[1]) for r in results], dtype=np.int64),
        seeds=np.repeat(np.asarray(seeds, dtype=np.int64), per_seed),
        meta=meta,
    )


def concatenate(parts: list[Trajectories]) -> Trajectories:
    """One dataset of several (e.g. behaviour and demonstration episodes); its meta keeps
    each part's under ``"parts"`` and the env's fields at the top."""
    if not parts:
        raise UserError("nothing to concatenate")
    if len(parts) == 1:
        return parts[0]
    first = parts[0].meta
    meta = {k: first[k] for k in ("env_id", "env_kwargs", "task", "split") if k in first}
    meta.update(episodes=sum(len(p) for p in parts), parts=[p.meta for p in parts],
                grasp_bench_version=__version__)
    return Trajectories(
        states=np.concatenate([p.states for p in parts]),
        actions=np.concatenate([p.actions for p in parts]),
        lengths=np.concatenate([p.lengths for p in parts]),
        seeds=np.concatenate([p.seeds for p in parts]),
        meta=meta,
    )


def window_indices(
    data: Trajectories, frameskip: int, steps: int, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Where the windows of ``steps`` model steps lie: indices into ``data.states`` of the
    ``steps + 1`` states of each, every ``frameskip`` env steps, ``(M, steps + 1)``, and
    into ``data.actions`` of each window's first action, ``(M,)``."""
    span = frameskip * steps
    starts_s, starts_a = [], []
    for off_s, off_a, n in zip(data.state_offsets, data.action_offsets, data.lengths, strict=True):
        idx = np.arange(0, n - span + 1, stride)
        starts_s.append(off_s + idx)
        starts_a.append(off_a + idx)
    s_idx, a_idx = np.concatenate(starts_s), np.concatenate(starts_a)
    return s_idx[:, None] + frameskip * np.arange(steps + 1)[None], a_idx


def past_indices(data: Trajectories, idx: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Indices into ``data.states`` of the states ``back (n,)`` env steps before each of the
    states ``idx (M,)``, held at the episode's first state before it began: ``(M, n)``."""
    first = data.state_offsets[np.searchsorted(data.state_offsets, idx, side="right") - 1]
    return np.maximum(idx[:, None] - np.asarray(back)[None], first[:, None])


def window_actions(data: Trajectories, a_idx: np.ndarray, frameskip: int,
                   steps: int) -> np.ndarray:
    """The stacked model actions ``(M, steps, frameskip * A)`` of windows starting at the
    action indices ``a_idx (M,)``."""
    acts = data.actions[a_idx[:, None] + np.arange(frameskip * steps)[None]]  # (M, span, A)
    return acts.reshape(len(a_idx), steps, frameskip * data.actions.shape[1])


def model_windows(
    data: Trajectories, frameskip: int, steps: int, stride: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut episodes into training windows of ``steps`` model steps.

    Returns:
        s0 ``(M, S)``, actions ``(M, steps, frameskip * A)``, targets ``(M, steps, S)``:
        the env state every ``frameskip`` env steps after ``s0``.
    """
    s_idx, a_idx = window_indices(data, frameskip, steps, stride)
    states = data.states[s_idx]
    return states[:, 0], window_actions(data, a_idx, frameskip, steps), states[:, 1:]
