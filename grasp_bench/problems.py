"""Start/goal problem sets at horizon H, feasible by construction.

Problem ``i`` draws its start from the env's reset distribution (``reset(seed=s)``) and
reaches its goal by running the task's scripted behaviour policy for ``H`` env steps in
the simulator from there, so a plan that reaches the goal exists: the reference
actions are kept with the problem.  A problem whose start already satisfies the
success test for its goal is rejected, and the next seed is tried; the count of
rejections is reported.  Seeds come from the evaluation range (never training data).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasp_bench import __version__
from grasp_bench.data import collect_episode
from grasp_bench.errors import UserError
from grasp_bench.seeds import SPLITS
from grasp_bench.tasks import REPO_ROOT, Task


def cache_dir() -> Path:
    """Problem cache: ``$GRASP_BENCH_CACHE/problems``, default ``results/cache/problems``."""
    root = os.environ.get("GRASP_BENCH_CACHE")
    return (Path(root) if root else REPO_ROOT / "results" / "cache") / "problems"


@dataclass(frozen=True)
class ProblemSet:
    """``n`` problems at horizon ``H``: starts ``(n, S)``, goals ``(n, S)``,
    reference actions ``(n, H, 2)``, the seed of each, and generation statistics."""

    task: str
    horizon: int
    seeds: np.ndarray
    starts: np.ndarray
    goals: np.ndarray
    actions: np.ndarray
    rejected: int
    crossing_fraction: float | None  # BallNav: straight start->goal line crosses a wall

    def __len__(self) -> int:
        return len(self.seeds)

    def stats(self) -> dict:
        return {
            "problems": len(self),
            "rejected_already_solved": self.rejected,
            "crossing_fraction": self.crossing_fraction,
            "first_seed": int(self.seeds[0]) if len(self) else None,
        }


def generate(task: Task, horizon: int, n: int, *, split: str = "evaluation", offset: int = 0):
    """Draw ``n`` problems from consecutive seeds of ``split`` starting at ``offset``."""
    if horizon <= 0 or n <= 0:
        raise UserError(f"horizon and problem count must be positive (got {horizon}, {n})")
    seed_range = SPLITS[split]
    env = task.make_env()
    seeds, starts, goals, actions = [], [], [], []
    rejected = 0
    seed = seed_range.start + offset
    while len(seeds) < n:
        if seed >= seed_range.stop:
            raise UserError(f"ran out of {split} seeds while drawing problems")
        states, acts = collect_episode(task, seed, horizon, explore=False)
        if bool(env.is_success(states[0], states[-1])):
            rejected += 1
        else:
            seeds.append(seed)
            starts.append(states[0])
            goals.append(states[-1])
            actions.append(acts)
        seed += 1
    starts_a, goals_a = np.asarray(starts), np.asarray(goals)
    crossing = None
    if hasattr(env, "straight_line_blocked"):
        crossing = float(np.mean(env.straight_line_blocked(starts_a, goals_a)))
    env.close()
    return ProblemSet(task.tag, horizon, np.asarray(seeds), starts_a, goals_a,
                      np.asarray(actions), rejected, crossing)


def load_or_generate(
    task: Task, horizon: int, n: int, *, split: str = "evaluation", offset: int = 0,
    cache: bool = True,
) -> ProblemSet:
    """:func:`generate`, cached on disk (an ``.npz`` per set, written atomically)."""
    if not cache:
        return generate(task, horizon, n, split=split, offset=offset)
    # the key covers everything that shapes the problems: task, policy, sizes, version
    recipe = json.dumps([task.env_id, task.env_kwargs, task.policy_description, __version__],
                        sort_keys=True, default=str)
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:10]
    path = cache_dir() / f"{task.tag}-H{horizon}-{split}{offset}-n{n}-{digest}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                info = json.loads(str(f["info"]))
                return ProblemSet(task.tag, horizon, f["seeds"], f["starts"], f["goals"],
                                  f["actions"], info["rejected"], info["crossing_fraction"])
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is regenerated
    ps = generate(task, horizon, n, split=split, offset=offset)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
        info = json.dumps({"rejected": ps.rejected, "crossing_fraction": ps.crossing_fraction})
        np.savez(tmp, seeds=ps.seeds, starts=ps.starts, goals=ps.goals, actions=ps.actions,
                 info=np.array(info))
        os.replace(tmp, path)
    except OSError:
        pass  # the cache is an optimisation; a read-only checkout still works
    return ps
