"""Simulator throughput and scripted-policy figures: ``python -m envs.bench``.

Prints env steps per second, single process:

* ``step()``: the gymnasium step with reward and info (Push-T computes the
  shapely coverage), driven by random actions;
* ``step()+policy``: the same with the scripted policy choosing the actions
  (contact-heavy for Push-T);
* ``replay``: :func:`envs.replay.replay` of a batch of N x H actions recorded
  from the scripted policy (no reward bookkeeping), optionally with
  ``--workers``;

with ``--policies`` the Push-T pusher's block-motion fraction and, per
BallNav layout, how often the straight line to a goal H steps ahead is
blocked and how often a greedy controller reaches that goal; and with
``--demos N`` the Push-T demonstrator's figures over seeds ``0..N-1`` (see
:func:`demonstrator_stats`).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from envs.ballnav import BallNavEnv
from envs.base import PymunkEnv
from envs.layouts import DEFAULT_LAYOUT, LAYOUTS
from envs.policies import BallNavFollower, PushTPusher, demonstrate, make_policy
from envs.pusht import PushTEnv, angle_error
from envs.replay import replay


def bench_step(env: PymunkEnv, n: int, seed: int = 0, policy: bool = False) -> float:
    """Env steps per second of ``env.step`` (random or scripted actions)."""
    rng = np.random.default_rng(seed)
    state, _ = env.reset(seed=seed)
    pol = make_policy(env) if policy else None
    if pol is not None:
        pol.reset(state, rng)
    actions = rng.uniform(-1.0, 1.0, size=(n, 2))
    t0 = time.perf_counter()
    for i in range(n):
        action = pol.act(state) if pol is not None else actions[i]
        state, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            state, _ = env.reset()
            if pol is not None:
                pol.reset(state, rng)
    return n / (time.perf_counter() - t0)


def record(env: PymunkEnv, n: int, horizon: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` start states and ``(n, horizon, 2)`` scripted actions from them."""
    rng = np.random.default_rng(seed)
    starts = np.empty((n, env.state_dim))
    actions = np.empty((n, horizon, 2))
    for i in range(n):
        state, _ = env.reset(seed=seed + i)
        pol = make_policy(env)
        pol.reset(state, rng)
        starts[i] = state
        for t in range(horizon):
            actions[i, t] = pol.act(state)
            state, *_ = env.step(actions[i, t])
    return starts, actions


def bench_replay(env: PymunkEnv, n: int, horizon: int, workers: int) -> float:
    """Env steps per second of :func:`replay` on ``n x horizon`` scripted actions."""
    starts, actions = record(env, n, horizon)
    t0 = time.perf_counter()
    replay(env, starts, actions, workers=workers)
    return n * horizon / (time.perf_counter() - t0)


def pusher_motion(episodes: int, steps: int, seed: int = 0) -> float:
    """Fraction of env steps in which the pusher moves the block (> 0.5 px or > 0.01 rad)."""
    env = PushTEnv()
    rng = np.random.default_rng(seed)
    moved = 0
    for ep in range(episodes):
        state, _ = env.reset(seed=seed + ep)
        pol = PushTPusher()
        pol.reset(state, rng)
        for _ in range(steps):
            nxt, *_ = env.step(pol.act(state))
            dpos = math.hypot(nxt[2] - state[2], nxt[3] - state[3])
            dang = abs((nxt[4] - state[4] + math.pi) % (2 * math.pi) - math.pi)
            moved += dpos > 0.5 or dang > 0.01
            state = nxt
    return moved / (episodes * steps)


def ballnav_layout_stats(
    layout: str, episodes: int, steps: int, horizons: tuple[int, ...], seed: int = 0
) -> dict[int, tuple[float, float]]:
    """Per horizon H: (fraction of blocked straight lines, greedy success rate).

    Start/goal pairs are (s_t, s_{t+H}) along follower trajectories (the way
    problems are made); the greedy controller steps ``a = clip((g - p) / 100)``
    for H steps from s_t.
    """
    env = BallNavEnv(layout)
    rng = np.random.default_rng(seed)
    pairs: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {h: [] for h in horizons}
    for ep in range(episodes):
        state, _ = env.reset(seed=seed + ep)
        pol = BallNavFollower(layout)
        pol.reset(state, rng)
        traj = [state]
        for _ in range(steps):
            state, *_ = env.step(pol.act(state))
            traj.append(state)
        for h in horizons:
            for t0 in range(0, steps - h + 1, 20):
                pairs[h].append((traj[t0], traj[t0 + h]))
    out = {}
    for h, pr in pairs.items():
        starts = np.array([a for a, _ in pr])
        goals = np.array([b for _, b in pr])
        blocked = env.layout.straight_line_blocked(starts, goals)
        ok = 0
        for s0, g in pr:
            env.set_state(s0)
            s = s0
            for _ in range(h):
                s, *_ = env.step(np.clip((g[:2] - s[:2]) / 100.0, -1.0, 1.0))
            ok += env.is_success(s, g)
        out[h] = (float(np.mean(blocked)), ok / len(pr))
    return out


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95 % for ``z = 1.96``)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def demonstrator_stats(
    episodes: int, max_steps: int = 300, horizons: tuple[int, ...] = (40, 60, 80)
) -> dict[str, object]:
    """Figures of :func:`envs.policies.demonstrate` on seeds ``0..episodes-1``.

    Returns a dict: ``success`` (count), ``interval`` (95 % Wilson),
    ``lengths`` ``(E,)`` episode lengths, ``ok`` ``(E,)`` bool, ``pos0``/``pos1``
    ``(E,)`` initial / final block position errors (px), ``ang0``/``ang1``
    (degrees), ``moved`` ``(E,)`` start -> end block displacement (px),
    ``segments`` {H: ``(n_H,)`` net block displacement over one random
    H-step window per episode at least H steps long (seeded rng)}, ``seconds``
    per episode.
    """
    env = PushTEnv()
    rng = np.random.default_rng(12345)
    goal = env.goal_pose
    rows, segs = [], {h: [] for h in horizons}
    all_actions, all_states = [], []
    t0 = time.perf_counter()
    for seed in range(episodes):
        states, actions, ok = demonstrate(env, seed, max_steps=max_steps)
        all_actions.append(actions)
        all_states.append(states)
        b = states[:, 2:4]
        pos = np.linalg.norm(b[[0, -1]] - goal[:2], axis=1)
        ang = np.degrees(angle_error(states[[0, -1], 4], goal[2]))
        rows.append((len(actions), ok, *pos, *ang, float(np.linalg.norm(b[-1] - b[0]))))
        for h in horizons:
            if len(actions) >= h:
                i = int(rng.integers(0, len(actions) - h + 1))
                segs[h].append(float(np.linalg.norm(b[i + h] - b[i])))
    seconds = (time.perf_counter() - t0) / max(episodes, 1)
    cols = np.array(rows, dtype=np.float64).reshape(-1, 7).T
    ok = cols[1].astype(bool)
    return {
        "success": int(ok.sum()),
        "interval": wilson_interval(int(ok.sum()), episodes),
        "lengths": cols[0].astype(int),
        "ok": ok,
        "pos0": cols[2],
        "pos1": cols[3],
        "ang0": cols[4],
        "ang1": cols[5],
        "moved": cols[6],
        "segments": {h: np.array(v) for h, v in segs.items()},
        "seconds": seconds,
        "pace": pace_stats(all_states, all_actions),
    }


#: The statistics of DINO-WM's Push-T training data (``pusht_noise``), hard-coded in its
#: loader (gaoyuezhou/dino_wm ``datasets/pusht_dset.py``: ACTION_STD, STATE_STD), and its
#: ~125 steps per episode (2,336,736 frames / 18,685 episodes).
DINO_WM_PACE = {
    "action std x": 0.2019, "action std y": 0.2002,
    "agent velocity std x (px/s)": 74.8, "agent velocity std y (px/s)": 74.1,
    "block position std x (px)": 52.7, "block position std y (px)": 57.5,
    "mean episode length (steps)": 125.1,
}


def pace_stats(states: list[np.ndarray], actions: list[np.ndarray]) -> dict[str, float]:
    """The figures of :data:`DINO_WM_PACE` over episodes ``states [(L+1, 7)]``,
    ``actions [(L, 2)]`` (every frame counted, as a data loader's statistics are)."""
    a, s = np.concatenate(actions), np.concatenate(states)
    a_std, v_std, b_std = a.std(0), s[:, 5:7].std(0), s[:, 2:4].std(0)
    return {
        "action std x": float(a_std[0]), "action std y": float(a_std[1]),
        "agent velocity std x (px/s)": float(v_std[0]),
        "agent velocity std y (px/s)": float(v_std[1]),
        "block position std x (px)": float(b_std[0]), "block position std y (px)": float(b_std[1]),
        "mean episode length (steps)": float(np.mean([len(x) for x in actions])),
    }


def print_demonstrator_stats(episodes: int) -> None:
    """Print :func:`demonstrator_stats` (``--demos``)."""
    st = demonstrator_stats(episodes)
    lo, hi = st["interval"]
    lengths, ok = st["lengths"], st["ok"]

    def q(x: np.ndarray) -> str:
        if len(x) == 0:
            return "n/a"
        p10, p50, p90 = np.quantile(x, [0.1, 0.5, 0.9])
        return f"median {p50:.0f} (10-90 %: {p10:.0f}-{p90:.0f})"

    print(
        f"PushTDemonstrator, {episodes} seeded episodes (<= 300 steps): success "
        f"{st['success']}/{episodes} = {st['success'] / max(episodes, 1):.0%} "
        f"[95 % Wilson {lo:.0%}, {hi:.0%}], {st['seconds'] * 1e3:.0f} ms per episode"
    )
    print(f"  episode length: successful {q(lengths[ok])}; all {q(lengths)}")
    print(
        f"  block position error (px) median {np.median(st['pos0']):.1f} -> "
        f"{np.median(st['pos1']):.1f}; angle error (deg) median {np.median(st['ang0']):.1f} -> "
        f"{np.median(st['ang1']):.1f}; block displacement start -> end median "
        f"{np.median(st['moved']):.0f} px"
    )
    cells = "  ".join(
        f"H={h}: {np.median(v):.0f} px (n={len(v)})" if len(v) else f"H={h}: n/a"
        for h, v in st["segments"].items()
    )
    print(f"  net block displacement over random H-step segments (median): {cells}")
    print(f"  {'pace (every frame)':<30} {'ours':>9} {'DINO-WM':>9} {'ratio':>7}")
    for name, ref in DINO_WM_PACE.items():
        ours = st["pace"][name]
        print(f"  {name:<30} {ours:>9.4g} {ref:>9.4g} {ours / ref:>7.2f}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m envs.bench``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000, help="env steps per step() figure")
    parser.add_argument("--batch", type=int, default=64, help="replay rows N")
    parser.add_argument("--horizon", type=int, default=80, help="replay horizon H")
    parser.add_argument("--workers", type=int, default=1, help="also time replay with this many")
    parser.add_argument("--layout", default=DEFAULT_LAYOUT, help="BallNav layout for the timings")
    parser.add_argument("--policies", action="store_true", help="policy / layout statistics")
    parser.add_argument(
        "--demos", type=int, default=0, metavar="N", help="Push-T demonstrator on N seeds"
    )
    args = parser.parse_args(argv)

    print(
        f"env steps per second (single process unless noted; replay of "
        f"{args.batch} x {args.horizon} scripted actions)"
    )
    envs_ = (("PushT-v0", PushTEnv()), (f"BallNav-v0[{args.layout}]", BallNavEnv(args.layout)))
    for name, env in envs_:
        rows = [
            ("step()", bench_step(env, args.steps)),
            ("step()+policy", bench_step(env, args.steps, policy=True)),
            ("replay", bench_replay(env, args.batch, args.horizon, 1)),
        ]
        if args.workers > 1:
            rows.append(
                (
                    f"replay x{args.workers} (incl. start)",
                    bench_replay(env, args.batch, args.horizon, args.workers),
                )
            )
        for label, rate in rows:
            print(f"  {name:20s} {label:26s} {rate:10,.0f} steps/s")
    if args.policies:
        print(
            f"PushTPusher: block moves in {pusher_motion(50, 200):.1%} of env steps "
            "(50 episodes x 200 steps, > 0.5 px or > 0.01 rad)"
        )
        print(
            "BallNav, pairs (s_t, s_t+H) on follower trajectories: "
            "straight line blocked / greedy reaches goal"
        )
        for layout in LAYOUTS:
            stats = ballnav_layout_stats(layout, 20, 200, (40, 60, 80))
            cells = "  ".join(f"H={h}: {b:4.0%} / {g:4.0%}" for h, (b, g) in stats.items())
            print(f"  {layout:9s} {cells}")
    if args.demos > 0:
        print_demonstrator_stats(args.demos)


if __name__ == "__main__":
    main()
