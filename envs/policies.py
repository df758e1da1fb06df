"""Scripted behaviour policies for data collection and goal generation.

Interface (all policies)::

    policy = PushTPusher(noise_std=0.1, epsilon=0.05)
    policy.reset(state, rng)          # state (S,), rng: np.random.Generator
    action = policy.act(state)        # (2,) float64 in [-1, 1], relative convention

``reset`` must be called at the start of every episode; all randomness comes
from the ``rng`` given there (the policy keeps a reference and draws from it,
so one Generator can drive env resets and policy alike). ``act`` is called
once per env step with the current state and returns the relative action
(PD target = controlled body's position + 100 * action).

Every policy takes:

* ``noise_std``: standard deviation of Gaussian noise added to each action
  component (exploration noise), before clipping to ``[-1, 1]``.
* ``epsilon``: probability of replacing the action with a uniform random one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from envs.base import ARENA_SIZE
from envs.layouts import DEFAULT_LAYOUT, SPAWN_CLEARANCE, Layout, get_layout
from envs.paths import shortest_path
from envs.pusht import (
    AGENT_RADIUS,
    BLOCK_COG,
    BLOCK_RADIUS_FROM_COG,
    T_OUTLINE,
)


def _check_unit(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _check_range(
    value: tuple[float, float], name: str, low: float, high: float
) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (low <= a <= b <= high):
        raise ValueError(f"{name} must satisfy {low} <= low <= high <= {high}, got {value!r}")
    return a, b


class ScriptedPolicy:
    """Base: exploration noise, epsilon-random actions and the rng plumbing.

    Args:
        noise_std: Gaussian action noise std (>= 0).
        epsilon: probability of a uniform random action, in ``[0, 1]``.
    """

    def __init__(self, noise_std: float = 0.1, epsilon: float = 0.05) -> None:
        if not (isinstance(noise_std, int | float) and noise_std >= 0.0):
            raise ValueError(f"noise_std must be a number >= 0, got {noise_std!r}")
        self.noise_std = float(noise_std)
        self.epsilon = _check_unit(epsilon, "epsilon")
        self.rng: np.random.Generator | None = None

    def reset(self, state: np.ndarray, rng: np.random.Generator) -> None:
        """Start an episode from ``state (S,)``; ``rng`` supplies all randomness."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy Generator, got {type(rng).__name__}")
        self.rng = rng

    def act(self, state: np.ndarray) -> np.ndarray:
        """Action ``(2,)`` in ``[-1, 1]`` for ``state (S,)``."""
        if self.rng is None:
            raise RuntimeError("call reset(state, rng) before act()")
        return self._finish(self._act(np.asarray(state, dtype=np.float64)))

    def _act(self, state: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _finish(self, action: np.ndarray) -> np.ndarray:
        rng = self.rng
        if self.epsilon > 0.0 and rng.random() < self.epsilon:
            return rng.uniform(-1.0, 1.0, size=2)
        a = np.asarray(action, dtype=np.float64)
        if self.noise_std > 0.0:
            a = a + rng.normal(0.0, self.noise_std, size=2)
        return np.clip(a, -1.0, 1.0)


class RandomPolicy(ScriptedPolicy):
    """Uniform random actions, each held for a random number of steps.

    Args:
        hold: inclusive range of steps an action is repeated.
        noise_std, epsilon: see :class:`ScriptedPolicy`.
    """

    def __init__(
        self, hold: tuple[int, int] = (1, 5), noise_std: float = 0.0, epsilon: float = 0.0
    ) -> None:
        super().__init__(noise_std, epsilon)
        self.hold = tuple(int(v) for v in _check_range(hold, "hold", 1, 10_000))
        self._action = np.zeros(2)
        self._left = 0

    def reset(self, state: np.ndarray, rng: np.random.Generator) -> None:
        super().reset(state, rng)
        self._left = 0

    def _act(self, state: np.ndarray) -> np.ndarray:
        if self._left <= 0:
            self._action = self.rng.uniform(-1.0, 1.0, size=2)
            self._left = int(self.rng.integers(self.hold[0], self.hold[1] + 1))
        self._left -= 1
        return self._action


# ---------------------------------------------------------------------- Push-T
_T_LOCAL = [tuple(v) for v in T_OUTLINE.tolist()]


def _t_world(state: np.ndarray) -> tuple[list[tuple[float, float]], tuple[float, float]]:
    """World outline (8 vertices) and centre of gravity of the block in ``state``."""
    x, y, th = float(state[2]), float(state[3]), float(state[4])
    c, s = math.cos(th), math.sin(th)
    outline = [(x + c * u - s * v, y + s * u + c * v) for u, v in _T_LOCAL]
    gx, gy = BLOCK_COG
    return outline, (x + c * gx - s * gy, y + s * gx + c * gy)


def _ray_entry(
    outline: list[tuple[float, float]], ox: float, oy: float, dx: float, dy: float
) -> float | None:
    """Smallest ``t >= 0`` with ``(ox, oy) + t (dx, dy)`` on the polygon boundary (None: miss)."""
    best = None
    n = len(outline)
    for i in range(n):
        px, py = outline[i]
        qx, qy = outline[(i + 1) % n]
        ex, ey = qx - px, qy - py
        denom = dx * ey - dy * ex
        if abs(denom) < 1e-12:
            continue
        wx, wy = px - ox, py - oy
        t = (wx * ey - wy * ex) / denom
        u = (wx * dy - wy * dx) / denom
        if 0.0 <= u <= 1.0 and t >= 0.0 and (best is None or t < best):
            best = t
    return best


class PushTPusher(ScriptedPolicy):
    """Scripted Push-T pusher: walk behind the block, push it, change direction.

    Each *push* draws four random directions, keeps those that would not
    bring the block near the arena walls within 100 px, and picks (with
    probability ``agent_side_prob``) the one closest to the agent -> block
    direction, so the agent is usually nearly behind the block already, or
    else a random one; then a lateral offset of the push line from the
    block's centre of gravity (uniform in +-``max_offset`` px; off-centre
    pushes rotate the T), a duration (``push_steps``) and a speed
    (``speed_range``, action norm). The agent walks to the contact point behind
    the block on that line, orbiting the block (radius ~100 px around its
    centre of gravity, always the same way round) while it is not yet behind
    the contact point, then pushes along ``d`` while steering back onto the
    push line. A push ends after its duration, when it would push a corner of
    the T within 25 px of a wall, or when the approach takes over 40 steps;
    then a new push starts. If the
    agent loses the block while pushing (the ray from the agent along ``d``
    misses the T), it walks back behind it.

    ``python -m envs.bench --policies`` measures the fraction of env steps in
    which the block moves (> 0.5 px or > 0.01 rad); see README.md.

    Args:
        noise_std, epsilon: see :class:`ScriptedPolicy`.
        push_steps: inclusive range of env steps per push.
        speed_range: range of push speeds (action norm, <= 1).
        max_offset: largest lateral offset of the push line, px.
        agent_side_prob: probability of a push direction near the agent's side.
    """

    ORBIT_RADIUS = BLOCK_RADIUS_FROM_COG + AGENT_RADIUS + 10.0
    CONTACT_GAP = 3.0  # gap between agent disc and block at the approach point
    MAX_APPROACH_STEPS = 40
    N_CANDIDATES = 4  # random push directions drawn per push
    WALL_MARGIN = 25.0  # walls are at 5 and 506

    def __init__(
        self,
        noise_std: float = 0.1,
        epsilon: float = 0.05,
        push_steps: tuple[int, int] = (8, 30),
        speed_range: tuple[float, float] = (0.3, 1.0),
        max_offset: float = 30.0,
        agent_side_prob: float = 0.8,
    ) -> None:
        super().__init__(noise_std, epsilon)
        self.push_steps = tuple(int(v) for v in _check_range(push_steps, "push_steps", 1, 10_000))
        self.speed_range = _check_range(speed_range, "speed_range", 0.0, 1.0)
        if not (isinstance(max_offset, int | float) and 0.0 <= max_offset <= 60.0):
            raise ValueError(f"max_offset must be in [0, 60] px, got {max_offset!r}")
        self.max_offset = float(max_offset)
        self.agent_side_prob = _check_unit(agent_side_prob, "agent_side_prob")
        self.phase = "approach"
        self._d = (1.0, 0.0)
        self._offset = 0.0
        self._left = 0
        self._speed = 1.0
        self._approach_steps = 0
        self._orbit_sign = 0.0

    def reset(self, state: np.ndarray, rng: np.random.Generator) -> None:
        super().reset(state, rng)
        self._new_push(np.asarray(state, dtype=np.float64))

    # ------------------------------------------------------------ planning
    def _new_push(self, state: np.ndarray) -> None:
        rng = self.rng
        _, (cx, cy) = _t_world(state)
        base = math.atan2(cy - state[1], cx - state[0])  # agent -> block direction
        # Candidate directions that keep the block off the walls for ~100 px.
        cands = [
            phi
            for phi in rng.uniform(0.0, 2 * math.pi, self.N_CANDIDATES)
            if 90.0 < cx + 100.0 * math.cos(phi) < 422.0
            and 90.0 < cy + 100.0 * math.sin(phi) < 422.0
        ]
        if not cands:  # cornered: push towards the arena centre
            phi = math.atan2(256.0 - cy, 256.0 - cx)
        elif rng.random() < self.agent_side_prob:  # the one closest to the agent's side
            phi = min(cands, key=lambda p: abs((p - base + math.pi) % (2 * math.pi) - math.pi))
        else:
            phi = cands[0]
        self._d = (math.cos(phi), math.sin(phi))
        self._offset = float(rng.uniform(-self.max_offset, self.max_offset))
        self._left = int(rng.integers(self.push_steps[0], self.push_steps[1] + 1))
        self._speed = float(rng.uniform(*self.speed_range))
        self._start_approach()

    def _start_approach(self) -> None:
        self.phase = "approach"
        self._approach_steps = 0
        self._orbit_sign = 0.0

    def _contact(
        self, outline: list[tuple[float, float]], cog: tuple[float, float]
    ) -> tuple[float, float, float]:
        """Approach point ``(x, y)`` behind the block on the push line, and the line's offset."""
        dx, dy = self._d
        nx, ny = -dy, dx
        for offset in (self._offset, 0.0):
            lx, ly = cog[0] + offset * nx, cog[1] + offset * ny
            t = _ray_entry(outline, lx - 200.0 * dx, ly - 200.0 * dy, dx, dy)
            if t is not None:
                back = 200.0 - t + AGENT_RADIUS + self.CONTACT_GAP
                return lx - back * dx, ly - back * dy, offset
        raise AssertionError("a line through the centre of gravity always hits the T")

    # -------------------------------------------------------------- acting
    def _act(self, state: np.ndarray) -> np.ndarray:
        outline, cog = _t_world(state)
        ax_, ay_ = float(state[0]), float(state[1])
        qx, qy, offset = self._contact(outline, cog)
        dx, dy = self._d
        nx, ny = -dy, dx
        if self.phase == "push":
            # Stop before pushing a corner of the T within WALL_MARGIN px of a wall.
            lo, hi = self.WALL_MARGIN, ARENA_SIZE - self.WALL_MARGIN
            near_wall = any(
                (x < lo and dx < 0.0)
                or (x > hi and dx > 0.0)
                or (y < lo and dy < 0.0)
                or (y > hi and dy > 0.0)
                for x, y in outline
            )
            if self._left <= 0 or near_wall:
                self._new_push(state)
                return self._act(state)
            # Still behind the block? (the ray from the agent along d hits the T)
            if _ray_entry(outline, ax_, ay_, dx, dy) is None:
                self._start_approach()  # lost the block: walk back behind it
            else:
                self._left -= 1
                lateral = (ax_ - cog[0] - offset * nx) * nx + (ay_ - cog[1] - offset * ny) * ny
                s, k = self._speed, 0.02 * max(-20.0, min(20.0, lateral))
                return np.array([s * dx - k * nx, s * dy - k * ny])
        self._approach_steps += 1
        if self._approach_steps > self.MAX_APPROACH_STEPS:
            self._new_push(state)
            return self._act(state)
        gx, gy = qx - ax_, qy - ay_
        if math.hypot(gx, gy) < 8.0:
            self.phase = "push"
            self._left -= 1
            return np.array([self._speed * dx, self._speed * dy])
        if gx * dx + gy * dy < 0.0:  # agent not behind the contact point: go round
            return self._orbit(ax_, ay_, cog, qx, qy)
        a = np.array([gx, gy]) / 60.0
        norm = math.hypot(a[0], a[1])
        return a / norm if norm > 1.0 else a

    def _orbit(
        self, ax_: float, ay_: float, cog: tuple[float, float], qx: float, qy: float
    ) -> np.ndarray:
        """Step along a circle around the block towards the angle of the approach point."""
        alpha = math.atan2(ay_ - cog[1], ax_ - cog[0])
        delta = math.atan2(qy - cog[1], qx - cog[0]) - alpha
        delta = (delta + math.pi) % (2 * math.pi) - math.pi
        if self._orbit_sign == 0.0:
            self._orbit_sign = 1.0 if delta >= 0.0 else -1.0
        turn = self._orbit_sign * math.pi / 4
        r = self.ORBIT_RADIUS
        wx = cog[0] + r * math.cos(alpha + turn) - ax_
        wy = cog[1] + r * math.sin(alpha + turn) - ay_
        norm = math.hypot(wx, wy) / 100.0
        scale = 1.0 / norm if norm > 1.0 else (0.6 / norm if 0.0 < norm < 0.6 else 1.0)
        return np.array([wx, wy]) * (scale / 100.0)


# --------------------------------------------------------------------- BallNav
class BallNavFollower(ScriptedPolicy):
    """Follow shortest paths around the walls to random free targets.

    On ``reset`` and whenever the current target is reached (within
    ``reach_radius``), a new target is drawn uniformly from the free space
    (at least ``min_target_distance`` away) together with a travel speed from
    ``speed_range`` (action norm). The ball follows the visibility-graph
    shortest path (:func:`envs.paths.shortest_path`): full chosen speed
    towards intermediate corners, PD arrival (action = offset / 100) at the
    target. If the ball stops making progress for ``stuck_steps`` steps the
    path is re-planned from where it is.

    Attributes:
        targets_reached: number of targets reached since ``reset``.
        target: the current target ``(2,)``; ``path`` the remaining waypoints.

    Args:
        layout: layout name or object (must match the env's).
        noise_std, epsilon: see :class:`ScriptedPolicy`.
        speed_range: range of travel speeds (action norm, <= 1).
        reach_radius: target reached within this distance, px.
        min_target_distance: minimum distance of a new target, px.
        stuck_steps: steps without 2 px of progress before re-planning.
    """

    WAYPOINT_RADIUS = 18.0

    def __init__(
        self,
        layout: str | Layout = DEFAULT_LAYOUT,
        noise_std: float = 0.1,
        epsilon: float = 0.05,
        speed_range: tuple[float, float] = (0.4, 1.0),
        reach_radius: float = 15.0,
        min_target_distance: float = 60.0,
        stuck_steps: int = 15,
    ) -> None:
        super().__init__(noise_std, epsilon)
        self.layout = get_layout(layout)
        self.speed_range = _check_range(speed_range, "speed_range", 0.0, 1.0)
        self.reach_radius = float(reach_radius)
        self.min_target_distance = float(min_target_distance)
        self.stuck_steps = int(stuck_steps)
        self.target = np.zeros(2)
        self.path = np.zeros((0, 2))
        self._wp: list[tuple[float, float]] = []
        self._tail: list[float] = []
        self.targets_reached = 0
        self._speed = 1.0
        self._best = math.inf
        self._since_progress = 0

    def reset(self, state: np.ndarray, rng: np.random.Generator) -> None:
        super().reset(state, rng)
        self.targets_reached = 0
        self._new_target(np.asarray(state, dtype=np.float64)[:2])

    def _new_target(self, pos: np.ndarray) -> None:
        while True:
            target = self.layout.sample_free(self.rng, clearance=SPAWN_CLEARANCE + 4.0)
            if math.hypot(target[0] - pos[0], target[1] - pos[1]) >= self.min_target_distance:
                break
        self.target = target
        self._speed = float(self.rng.uniform(*self.speed_range))
        self._plan(pos)

    def set_target(self, target: np.ndarray, state: np.ndarray) -> None:
        """Head for ``target (2,)`` from ``state (S,)`` now (keeps the current speed).

        Raises:
            ValueError: ``target`` is not a free ball position of the layout.
        """
        self.target = np.asarray(target, dtype=np.float64)[:2].copy()
        self._plan(np.asarray(state, dtype=np.float64)[:2])

    def _plan(self, pos: np.ndarray) -> None:
        self.path = shortest_path(self.layout, pos, self.target)[1:]
        legs = np.linalg.norm(np.diff(self.path, axis=0), axis=1)
        # _tail[i]: path length from waypoint i to the target
        self._tail = np.concatenate([np.cumsum(legs[::-1])[::-1], [0.0]]).tolist()
        self._wp = [tuple(p) for p in self.path.tolist()]
        self._best = math.inf
        self._since_progress = 0

    def _act(self, state: np.ndarray) -> np.ndarray:
        x, y = float(state[0]), float(state[1])
        if math.hypot(x - self.target[0], y - self.target[1]) < self.reach_radius:
            self.targets_reached += 1
            self._new_target(state[:2])
        wp = self._wp
        while len(wp) > 1 and math.hypot(x - wp[0][0], y - wp[0][1]) < self.WAYPOINT_RADIUS:
            wp.pop(0)
            self._tail.pop(0)
            self.path = self.path[1:]
        gx, gy = wp[0][0] - x, wp[0][1] - y
        dist = math.hypot(gx, gy)
        remaining = dist + self._tail[0]
        if remaining < self._best - 2.0:
            self._best, self._since_progress = remaining, 0
        else:
            self._since_progress += 1
            if self._since_progress >= self.stuck_steps:
                self._plan(state[:2])
        speed = self._speed
        if len(wp) == 1:  # final leg: PD arrival, capped at the travel speed
            norm = dist / 100.0
            scale = speed / norm if norm > speed else 1.0
            return np.array([gx / 100.0 * scale, gy / 100.0 * scale])
        return np.array([gx, gy]) * (speed / max(dist, 1e-9))


def make_policy(env: Any, **kwargs: Any) -> ScriptedPolicy:
    """The default scripted policy of an env (instance, wrapper or id).

    Push-T -> :class:`PushTPusher`; BallNav -> :class:`BallNavFollower` on the
    env's layout (``layout=`` may be given for an id). ``kwargs`` go to the policy.
    """
    from envs.ballnav import BallNavEnv
    from envs.pusht import PushTEnv

    if isinstance(env, str):
        if "PushT" in env:
            return PushTPusher(**kwargs)
        if "BallNav" in env:
            return BallNavFollower(**kwargs)
        raise ValueError(f"no scripted policy for env id {env!r}")
    base = getattr(env, "unwrapped", env)
    if isinstance(base, PushTEnv):
        return PushTPusher(**kwargs)
    if isinstance(base, BallNavEnv):
        kwargs.setdefault("layout", base.layout)
        return BallNavFollower(**kwargs)
    raise ValueError(f"no scripted policy for {type(base).__name__}")
