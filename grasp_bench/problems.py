"""Start/goal problem sets at horizon H, feasible by construction.

Three sources (``--problem-source``), each drawing problem ``i`` from seed ``s`` of the split:

* ``demo`` (DINO-WM's ``dset`` protocol, ``plan.py: prepare_targets``, on clean episodes):
  a goal-directed demonstration (:func:`envs.policies.demonstrate`: the T pushed onto its
  goal pose from ``reset(seed=s)``, with exploration noise) is cut at a random offset
  (drawn from ``default_rng([s, H])``); the start is the state there and the goal is the
  replay, from that start, of the segment's own H actions.  A demonstration shorter than
  H yields no problem (counted as ``too_short``).
* ``replay`` (Push-T's default; DINO-WM's validation split holds noisy replays of its
  demonstrations): the demonstration of seed ``s`` replayed open loop from its first
  state with Gaussian action noise of std ``task.replay_noise[s % len]`` (levels of the
  training data's, :func:`grasp_bench.data.replay_episodes`; rng ``default_rng([s, 1])``),
  then cut as ``demo`` is: a random H-step segment, the goal its replay from the start.
* ``behaviour``: the start is ``reset(seed=s)`` and the goal is the state after running
  the task's scripted behaviour policy (the random pusher; BallNav's path follower) for H
  env steps from there.

Each problem also keeps the :data:`PAST_STEPS` env states before its start (``past``): the
demonstration's (or its noisy replay's), held at its first state before it began; a behaviour
episode starts at rest, so its start repeated.  A world model with a history of frames
(:class:`~grasp_bench.models.base.HistoryModel`) sees them; the others ignore them.

Either way a plan that reaches the goal exists: the reference actions are kept with the
problem.  A problem whose start already satisfies the success test for its goal is
rejected, and the next seed is tried; the count of rejections is reported.  Seeds come
from the evaluation range (never training data).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs import replay
from grasp_bench.data import collect_episode, with_action_noise
from grasp_bench.errors import UserError
from grasp_bench.models.base import PAST_STEPS
from grasp_bench.seeds import SPLITS
from grasp_bench.tasks import REPO_ROOT, Task
from grasp_bench.version import __version__

#: Per task, the state indices of the pushed/controlled object's position: what
#: :func:`open_loop_sensitivity` shifts (Push-T: the block; BallNav: the ball).
PERTURBED_INDICES: dict[str, tuple[int, int]] = {"pusht": (2, 3), "ballnav": (0, 1)}
#: Redraws of a shift direction whose perturbed start the env rejects (inside a wall).
MAX_REDRAWS = 20


def cache_dir() -> Path:
    """Problem cache: ``$GRASP_BENCH_CACHE/problems``, default ``results/cache/problems``."""
    root = os.environ.get("GRASP_BENCH_CACHE")
    return (Path(root) if root else REPO_ROOT / "results" / "cache") / "problems"


@dataclass(frozen=True)
class ProblemSet:
    """``n`` problems at horizon ``H``: starts ``(n, S)``, goals ``(n, S)``,
    reference actions ``(n, H, 2)``, the seed of each, generation statistics, and the
    env states before each start, ``past (n, PAST_STEPS, S)`` (oldest first)."""

    task: str
    horizon: int
    seeds: np.ndarray
    starts: np.ndarray
    goals: np.ndarray
    actions: np.ndarray
    rejected: int
    crossing_fraction: float | None  # BallNav: straight start->goal line crosses a wall
    source: str = "behaviour"  # see the module docstring
    too_short: int = 0  # demo, replay: episodes shorter than H (no problem drawn)
    past: np.ndarray | None = None  # (n, PAST_STEPS, S); None: each start held still

    def past_states(self) -> np.ndarray:
        """``past``, or every start repeated when there is none: ``(n, PAST_STEPS, S)``."""
        if self.past is not None:
            return self.past
        return np.repeat(self.starts[:, None], PAST_STEPS, axis=1)

    def __len__(self) -> int:
        return len(self.seeds)

    def stats(self) -> dict:
        return {
            "problems": len(self),
            "source": self.source,
            "rejected_already_solved": self.rejected,
            "rejected_too_short": self.too_short,
            "crossing_fraction": self.crossing_fraction,
            "first_seed": int(self.seeds[0]) if len(self) else None,
        }


def resolve_source(task: Task, source: str | None) -> str:
    """The problem source to use: ``source``, else the task's default; :class:`UserError`
    for a source the task does not have."""
    source = source or task.problem_sources[0]
    if source not in task.problem_sources:
        raise UserError(f"--problem-source {source!r} is not a problem source of {task.name}; "
                        f"expected {' or '.join(task.problem_sources)}")
    return source


#: Version of the way problem sets are drawn (part of the cache key): 2 = with sources,
#: 3 = with the states before each start.
PROBLEMS_FORMAT = 3
#: Step limit of a demonstration (the env's episode length).
DEMO_MAX_STEPS = 300
#: The sources cut from a demonstration (itself, or its noisy replay).
DEMO_SOURCES = ("demo", "replay")
#: Demonstrations already run in this process, by (settings, seed): a sweep's horizons
#: cut their segments from the same episodes.
_DEMOS: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}


def demonstration(task: Task, env, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The demonstration of ``seed``: states ``(L+1, S)`` and actions ``(L, A)``."""
    from envs.policies import demonstrate

    key = (json.dumps(task.demo_description, sort_keys=True), seed)
    if key not in _DEMOS:
        if len(_DEMOS) > 4096:
            _DEMOS.clear()
        states, actions, _ = demonstrate(env, seed, max_steps=DEMO_MAX_STEPS,
                                         **task.demo_description)
        _DEMOS[key] = (states, actions)
    return _DEMOS[key]


def check_horizon(horizon: int, source: str) -> None:
    """Refuse a horizon no problem can have: past the env's episode limit
    (:data:`envs.MAX_EPISODE_STEPS`), or for demo problems past the demonstrations' length
    (:data:`DEMO_MAX_STEPS`)."""
    from envs import MAX_EPISODE_STEPS

    if source in DEMO_SOURCES and horizon > DEMO_MAX_STEPS:
        raise UserError(f"H = {horizon}: demonstrations end within {DEMO_MAX_STEPS} env steps, "
                        f"so no {source} segment is that long; choose a shorter horizon or "
                        "--problem-source behaviour")
    if horizon > MAX_EPISODE_STEPS:
        raise UserError(f"H = {horizon} is longer than the env's episodes ({MAX_EPISODE_STEPS} "
                        f"env steps); choose H <= {MAX_EPISODE_STEPS}")


def noisy_replay(task: Task, env, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The demonstration of ``seed`` replayed open loop with Gaussian action noise (source
    ``replay``): states ``(L+1, S)`` and the noisy actions ``(L, A)``."""
    states, actions = demonstration(task, env, seed)
    level = task.replay_noise[seed % len(task.replay_noise)]
    noisy = with_action_noise(np.asarray(actions, np.float64), level, [seed, 1])
    return replay(env, states[:1], noisy[None])[0], noisy


def _demo_problem(task: Task, env, seed: int, horizon: int, noisy: bool = False):
    """A random H-step segment of the demonstration of ``seed`` (its noisy replay with
    ``noisy``): ``(states, actions, past)``, the segment replayed from its start and the
    :data:`PAST_STEPS` states before it, or None when the episode is too short."""
    states, actions = noisy_replay(task, env, seed) if noisy else demonstration(task, env, seed)
    if len(actions) < horizon:
        return None
    off = int(np.random.default_rng([seed, horizon]).integers(0, len(actions) - horizon + 1))
    acts = np.asarray(actions[off:off + horizon], np.float64)
    replayed = replay(env, states[off][None], acts[None])[0]  # (H + 1, S), start included
    past = states[np.maximum(np.arange(off - PAST_STEPS, off), 0)]
    return replayed, acts, past


def generate(task: Task, horizon: int, n: int, *, split: str = "evaluation", offset: int = 0,
             source: str | None = None) -> ProblemSet:
    """Draw ``n`` problems of ``source`` (default: the task's) from consecutive seeds of
    ``split`` starting at ``offset``."""
    if horizon <= 0 or n <= 0:
        raise UserError(f"horizon and problem count must be positive (got {horizon}, {n})")
    source = resolve_source(task, source)
    check_horizon(horizon, source)
    seed_range = SPLITS[split]
    env = task.make_env()
    seeds, starts, goals, actions, pasts = [], [], [], [], []
    rejected = too_short = 0
    seed = seed_range.start + offset
    while len(seeds) < n:
        if seed >= seed_range.stop:
            raise UserError(f"ran out of {split} seeds while drawing problems")
        if source in DEMO_SOURCES:
            drawn = _demo_problem(task, env, seed, horizon, noisy=source == "replay")
        else:  # a behaviour episode starts at rest: its past is its start, held
            states, acts = collect_episode(task, seed, horizon, explore=False)
            drawn = states, acts, np.repeat(states[:1], PAST_STEPS, axis=0)
        if drawn is None:
            too_short += 1
        elif bool(env.is_success(drawn[0][0], drawn[0][-1])):
            rejected += 1
        else:
            seeds.append(seed)
            starts.append(drawn[0][0])
            goals.append(drawn[0][-1])
            actions.append(drawn[1])
            pasts.append(drawn[2])
        seed += 1
        if too_short > 10 * n + 100 and too_short > 10 * len(seeds):
            raise UserError(f"H = {horizon}: {too_short} of the {seed - seed_range.start - offset}"
                            f" {source} episodes tried are shorter than H; choose a shorter "
                            "horizon or --problem-source behaviour")
    starts_a, goals_a = np.asarray(starts), np.asarray(goals)
    crossing = None
    if hasattr(env, "straight_line_blocked"):
        crossing = float(np.mean(env.straight_line_blocked(starts_a, goals_a)))
    env.close()
    return ProblemSet(task.tag, horizon, np.asarray(seeds), starts_a, goals_a,
                      np.asarray(actions, np.float64), rejected, crossing, source, too_short,
                      np.asarray(pasts))


def source_settings(task: Task, source: str) -> dict:
    """The settings that shape a source's problems beyond its seeds: the demonstrator's
    (``demo``; ``replay`` adds its noise levels) or the behaviour policy's.  Part of the
    cache key, and recorded in a run's ``meta.json``."""
    return {"demo": task.demo_description, "behaviour": task.policy_description,
            "replay": {**task.demo_description, "replay_noise": task.replay_noise}}[source]


def load_or_generate(
    task: Task, horizon: int, n: int, *, split: str = "evaluation", offset: int = 0,
    source: str | None = None, cache: bool = True,
) -> ProblemSet:
    """:func:`generate`, cached on disk (an ``.npz`` per set, written atomically)."""
    source = resolve_source(task, source)
    if not cache:
        return generate(task, horizon, n, split=split, offset=offset, source=source)
    # the key covers everything that shapes the problems: task, policy, sizes, version and
    # the generation format (bump PROBLEMS_FORMAT when the way problems are drawn changes)
    policy = source_settings(task, source)
    recipe = json.dumps([task.env_id, task.env_kwargs, source, policy, __version__,
                         PROBLEMS_FORMAT, DEMO_MAX_STEPS, PAST_STEPS], sort_keys=True,
                        default=str)
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:10]
    path = cache_dir() / f"{task.tag}-{source}-H{horizon}-{split}{offset}-n{n}-{digest}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                info = json.loads(str(f["info"]))
                if f["past"].shape != (len(f["seeds"]), PAST_STEPS, f["starts"].shape[-1]):
                    raise ValueError("past states of another shape")
                return ProblemSet(task.tag, horizon, f["seeds"], f["starts"], f["goals"],
                                  f["actions"], info["rejected"], info["crossing_fraction"],
                                  source, info["too_short"], f["past"])
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is regenerated
    ps = generate(task, horizon, n, split=split, offset=offset, source=source)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
        info = json.dumps({"rejected": ps.rejected, "crossing_fraction": ps.crossing_fraction,
                           "too_short": ps.too_short})
        np.savez(tmp, seeds=ps.seeds, starts=ps.starts, goals=ps.goals, actions=ps.actions,
                 past=ps.past, info=np.array(info))
        os.replace(tmp, path)
    except OSError:
        pass  # the cache is an optimisation; a read-only checkout still works
    return ps


def _sig(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits (keeps JSON readable)."""
    return float(f"{float(x):.{digits}g}")


def displacement_quantiles(task: Task, problems: ProblemSet, qs=(0.1, 0.5, 0.9)) -> dict:
    """Quantiles over problems of the start -> goal change of each metric group.

    For each group of ``task.metrics`` the change of problem ``i`` is the L2 norm of
    ``goals[i, idx] - starts[i, idx]``, angle indices (``task.angle_indices``) wrapped
    to ``[-pi, pi)`` first, so a single-angle group gives ``|wrapped diff|`` in
    ``[0, pi]``.  Returns ``{group: {"q10": .., "q50": .., "q90": ..}}`` (keys from
    ``qs`` in percent), values rounded to 4 significant digits.
    """
    diff = problems.goals - problems.starts  # (n, S)
    for i in task.angle_indices:
        diff[:, i] = (diff[:, i] + np.pi) % (2 * np.pi) - np.pi
    out = {}
    for name, idx in task.metrics.items():
        change = np.linalg.norm(diff[:, list(idx)], axis=1)  # (n,)
        values = np.quantile(change, qs)
        out[name] = {f"q{100 * q:g}": _sig(v) for q, v in zip(qs, values, strict=True)}
    return out


def _perturb(env, starts: np.ndarray, idx: tuple[int, int], shift: float,
             rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Shift ``starts (n, S)`` by ``shift`` px at the position indices ``idx`` in a
    uniformly random direction; a start the env rejects gets a new direction, up to
    :data:`MAX_REDRAWS` times, then stays unperturbed.  Returns ``(n, S)`` and the
    count of unperturbed (skipped) rows."""
    out = starts.copy()
    skipped = 0
    for i, start in enumerate(starts):
        for _ in range(1 + MAX_REDRAWS):
            angle = rng.uniform(0.0, 2 * np.pi)
            candidate = start.copy()
            candidate[list(idx)] += shift * np.array([np.cos(angle), np.sin(angle)])
            try:
                env.validate_state(candidate)
            except ValueError:
                continue
            out[i] = candidate
            break
        else:
            skipped += 1
    return out, skipped


def open_loop_sensitivity(task: Task, problems: ProblemSet, shifts=(0.5, 2.0),
                          seed: int = 0) -> dict:
    """How fragile the reference plans are: the share of problems whose own reference
    actions ``(n, H, 2)``, replayed open loop in the simulator from a start whose
    object position (:data:`PERTURBED_INDICES`) is moved by ``shift`` px, still end in
    the goal region (``env.is_success(final, goal)``).

    Every shift draws its directions from ``default_rng(seed)`` afresh, so all shifts
    move each problem the same way (unless a direction had to be redrawn).
    ``"replay_exact"`` is the unperturbed replay, 1.0 by construction (a sanity
    check).  ``"skipped"`` counts (problem, shift) pairs left unperturbed because
    no accepted direction was found.  Returns e.g. ``{"replay_exact": 1.0,
    "shift_0.5px": 0.59, "shift_2px": 0.32, "skipped": 0, "seed": 0}``.
    """
    env = task.make_env()
    idx = PERTURBED_INDICES[task.name]

    def success_rate(starts: np.ndarray) -> float:
        finals = replay(env, starts, problems.actions)[:, -1]  # (n, S)
        return _sig(np.mean(env.is_success(finals, problems.goals)))

    out: dict = {"replay_exact": success_rate(problems.starts)}
    skipped = 0
    for shift in shifts:
        starts, n_skipped = _perturb(env, problems.starts, idx, float(shift),
                                     np.random.default_rng(seed))
        label = np.format_float_positional(float(shift), trim="-")  # 0.5, 2, 1000000
        out[f"shift_{label}px"] = success_rate(starts)
        skipped += n_skipped
    env.close()
    out.update(skipped=skipped, seed=seed)
    return out


def problem_stats(task: Task, problems: ProblemSet, sensitivity: bool = True) -> dict:
    """:meth:`ProblemSet.stats` plus ``"displacement"`` (:func:`displacement_quantiles`)
    and, with ``sensitivity``, ``"open_loop_sensitivity"`` (:func:`open_loop_sensitivity`,
    which replays every problem ``1 + len(shifts)`` times)."""
    stats = {**problems.stats(), "displacement": displacement_quantiles(task, problems)}
    if sensitivity:
        stats["open_loop_sensitivity"] = open_loop_sensitivity(task, problems)
    return stats
