"""Goal-directed Push-T demonstrator: push the T onto a target pose.

The contact geometry it plans with (candidate contacts, their twists in the weighted pose
space, the pose error and the scores) is :mod:`envs.policies.contacts`; this module is the
policy that picks a contact, walks to it and pushes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

from envs.policies import contacts as geometry
from envs.policies.base import ScriptedPolicy, _check_range
from envs.policies.pusht import _t_world
from envs.pusht import (
    AGENT_RADIUS,
    BLOCK_RADIUS_FROM_COG,
    GOAL_POSE,
    SUCCESS_COVERAGE,
    coverage,
)


class PushTDemonstrator(ScriptedPolicy):
    """Push the T to ``target_pose`` the way Push-T demonstrations do.

    Every step the policy scores all contact candidates (points every ~10 px
    on the outline, see :mod:`envs.policies.contacts`) by the cosine between their
    twist ``v`` and the pose error ``e``, less ``distance_cost`` per 100 px
    the agent would have to walk to reach them, and keeps its contact unless
    another scores ``switch_margin`` higher. It walks to the contact's
    approach point (``AGENT_RADIUS + 4`` px out along the normal) on a
    straight line when that clears the block, else orbiting the block
    (radius ~100 px around the centre of gravity, the shorter way round),
    stepping away first when it touches the block; then pushes along the
    inward normal, steering sideways back onto the contact point, at the
    speed that would cancel ``e`` along ``v`` (capped by a per-contact speed
    drawn from ``speed_range``). It repositions when it loses the contact
    (over 10 px sideways or 30 px behind), when the error has not fallen for
    ``patience`` steps (the contact is then avoided for 30 steps), or when an
    approach takes over 40 steps. Once the coverage of the target pose
    exceeds 0.95 (:data:`envs.pusht.SUCCESS_COVERAGE`) it holds still
    (zero action before noise) and ``done`` is True.

    Pace. The defaults (``walk_speed`` 0.35, ``speed_range`` (0.2, 0.4),
    ``noise_std`` 0.05, ``epsilon`` 0.02) match the statistics DINO-WM publishes
    for its ``pusht_noise`` data within 10 % (action std ~0.20 per axis, agent
    velocity std ~75 px/s, block position std ~53-57 px, ~125 steps an
    episode; ``python -m envs.bench --demos 100`` prints them side by side).

    Attributes:
        done: the coverage of the target pose seen by the last ``act`` is
            > 0.95, or was and is still > 0.90 (holding, the agent coasts).
        phase: ``"approach"``, ``"push"`` or ``"done"``.

    Args:
        target_pose: ``(3,)`` block pose ``(x, y, angle)`` to reach
            (default :data:`envs.pusht.GOAL_POSE`).
        noise_std, epsilon: see :class:`ScriptedPolicy`.
        angle_weight: px per radian of angle error in the pose error (> 0).
        speed_range: range of the per-contact push speed cap (action norm).
        walk_speed: the largest action norm while walking or orbiting to a contact
            (stepping away from the block: 0.4 of it).
        distance_cost: score penalty per 100 px of approach walk (>= 0).
        switch_margin: score gain needed to change contact (>= 0).
        patience: push steps without a 0.5 px fall of the error before
            repositioning (>= 1).
    """

    APPROACH_GAP = 4.0
    ORBIT_RADIUS = BLOCK_RADIUS_FROM_COG + AGENT_RADIUS + 8.0
    MAX_APPROACH_STEPS = 40
    TABU_STEPS = 30
    WALL_MARGIN = 10.0  # walls are at 5 and 506
    WALL_PENALTY = 1.0

    def __init__(
        self,
        target_pose: Any = GOAL_POSE,
        noise_std: float = 0.05,
        epsilon: float = 0.02,
        angle_weight: float = 80.0,
        speed_range: tuple[float, float] = (0.2, 0.4),
        walk_speed: float = 0.35,
        distance_cost: float = 0.15,
        switch_margin: float = 0.3,
        patience: int = 8,
    ) -> None:
        super().__init__(noise_std, epsilon)
        try:
            pose = np.asarray(target_pose, dtype=np.float64).reshape(3)
        except (TypeError, ValueError):
            raise ValueError(f"target_pose must be (x, y, angle), got {target_pose!r}") from None
        if not np.isfinite(pose).all():
            raise ValueError(f"target_pose must be finite, got {target_pose!r}")
        self.target_pose = pose
        for name, value in (("angle_weight", angle_weight), ("distance_cost", distance_cost)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if angle_weight <= 0.0:
            raise ValueError(f"angle_weight must be > 0, got {angle_weight!r}")
        if not (isinstance(switch_margin, int | float) and switch_margin >= 0.0):
            raise ValueError(f"switch_margin must be a number >= 0, got {switch_margin!r}")
        if not (isinstance(patience, int) and patience >= 1):
            raise ValueError(f"patience must be an integer >= 1, got {patience!r}")
        self.angle_weight = float(angle_weight)
        self.speed_range = _check_range(speed_range, "speed_range", 0.0, 1.0)
        if not (isinstance(walk_speed, int | float) and 0.0 < walk_speed <= 1.0):
            raise ValueError(f"walk_speed must be a number in (0, 1], got {walk_speed!r}")
        self.walk_speed = float(walk_speed)
        self.distance_cost = float(distance_cost)
        self.switch_margin = float(switch_margin)
        self.patience = patience
        self._goal_cog = geometry.goal_cog(pose)
        self.done = False
        self.phase = "approach"
        self._contact = -1
        self._tabu = np.zeros(len(geometry.CAND_POINTS), dtype=np.int64)
        self._speed = 0.0
        self._steps = 0
        self._best = math.inf
        self._stall = 0
        self._orbit_sign = 0.0

    def reset(self, state: np.ndarray, rng: np.random.Generator) -> None:
        super().reset(state, rng)
        self.done = False
        self._tabu[:] = 0
        self._contact = -1
        self._start_approach(-1)

    # ------------------------------------------------------------ planning
    def pose_error(self, state: np.ndarray) -> np.ndarray:
        """Weighted error ``(3,)``: goal cog - cog (px), ``w *`` wrapped angle difference."""
        return geometry.pose_error(state, self.target_pose, self._goal_cog, self.angle_weight)

    def _contacts(self, state: np.ndarray) -> tuple[np.ndarray, ...]:
        """World points ``(C, 2)``, outward normals ``(C, 2)`` and weighted twists ``(C, 3)``."""
        return geometry.contacts(state, self.angle_weight)

    def _scores(
        self, state: np.ndarray, pts: np.ndarray, n_out: np.ndarray, twist: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``cos (C,)`` between twists and the error; selection ``score (C,)``: less the
        approach walk's cost, and penalties for avoided contacts and pushes into a wall."""
        cos = geometry.alignment(twist, self.pose_error(state))
        into = geometry.into_walls(state, twist, self.angle_weight, self.WALL_MARGIN)
        walk = geometry.approach_walk(state, pts, n_out, self.APPROACH_GAP)
        penalty = 2.0 * (self._tabu > 0) + self.WALL_PENALTY * into
        return cos, cos - self.distance_cost * walk / 100.0 - penalty

    def _start_approach(self, contact: int) -> None:
        self.phase = "approach"
        self._contact = contact
        self._steps = 0
        self._orbit_sign = 0.0
        self._best = math.inf
        self._stall = 0
        if contact >= 0:
            self._speed = float(self.rng.uniform(*self.speed_range))

    # -------------------------------------------------------------- acting
    def _act(self, state: np.ndarray) -> np.ndarray:
        cov = coverage(state, self.target_pose)
        self.done = cov > SUCCESS_COVERAGE or (self.done and cov > SUCCESS_COVERAGE - 0.05)
        if self.done:
            self.phase = "done"
            return np.zeros(2)
        if self.phase == "done":
            self._start_approach(-1)
        self._tabu = np.maximum(self._tabu - 1, 0)
        pts, n_out, twist = self._contacts(state)
        cos, score = self._scores(state, pts, n_out, twist)
        best = int(np.argmax(score))
        cur = self._contact
        # the held contact's score; in contact it has no walk cost
        held = -math.inf if cur < 0 else (cos[cur] if self.phase == "push" else score[cur])
        if score[best] > held + self.switch_margin:
            self._start_approach(best)
            cur = best
        err = float(np.linalg.norm(self.pose_error(state)))
        if self.phase == "push":
            if err < self._best - 0.5:
                self._best, self._stall = err, 0
            else:
                self._stall += 1
            rel = state[:2] - pts[cur]
            t = np.array([-n_out[cur, 1], n_out[cur, 0]])
            h, lat = float(rel @ n_out[cur]), float(rel @ t)
            if self._stall >= self.patience or cos[cur] <= 0.0:
                self._tabu[cur] = self.TABU_STEPS
                self._start_approach(int(np.argmax(score - 2.0 * (np.arange(len(score)) == cur))))
                cur = self._contact
            elif abs(lat) > 10.0 or h > AGENT_RADIUS + 30.0:
                self._start_approach(cur)  # lost the contact: walk back to it
            else:
                e = self.pose_error(state)
                v = twist[cur]
                depth = float(v @ e) / float(v @ v)  # agent travel that cancels e along v
                s = min(self._speed, max(0.05, (depth + h - AGENT_RADIUS) / 50.0))
                return -s * n_out[cur] - (lat / 60.0) * t
        return self._approach(state, pts[cur], n_out[cur])

    def _approach(self, state: np.ndarray, p: np.ndarray, n_out: np.ndarray) -> np.ndarray:
        self._steps += 1
        if self._steps > self.MAX_APPROACH_STEPS:
            self._tabu[self._contact] = self.TABU_STEPS
            self._contact = -1
            return np.zeros(2)
        agent = state[:2]
        q = p + (AGENT_RADIUS + self.APPROACH_GAP) * n_out
        g = q - agent
        if math.hypot(*g) < 6.0:
            self.phase = "push"
            return -0.1 * n_out
        outline, cog = _t_world(state)
        poly = shapely.Polygon(outline)
        here = shapely.Point(*agent)
        gap = poly.distance(here)
        if gap < AGENT_RADIUS + 2.0 and not (np.linalg.norm(agent - p) < AGENT_RADIUS + 8.0):
            # touching the block away from the contact: step straight away from it
            ring = poly.exterior
            near = np.array(ring.interpolate(ring.project(here)).coords[0])
            away = agent - near
            return 0.4 * self.walk_speed * away / max(np.linalg.norm(away), 1e-9)
        if poly.distance(shapely.LineString([tuple(agent), tuple(q)])) >= AGENT_RADIUS:
            a = g / 70.0
            norm = math.hypot(*a) / self.walk_speed
            return a / norm if norm > 1.0 else a
        return self._orbit(agent, np.asarray(cog), q, poly, gap)

    def _orbit(
        self, agent: np.ndarray, cog: np.ndarray, q: np.ndarray, poly: Any, gap: float
    ) -> np.ndarray:
        """Step along a circle around the block towards the angle of the approach point.

        The waypoint is 45 degrees further round the circle (radius
        ``ORBIT_RADIUS`` about the centre of gravity); when the line to it would
        bring the agent closer to the block than it is, 30, 15 or 0 degrees.
        """
        alpha = math.atan2(agent[1] - cog[1], agent[0] - cog[0])
        delta = math.atan2(q[1] - cog[1], q[0] - cog[0]) - alpha
        delta = (delta + math.pi) % (2 * math.pi) - math.pi
        if self._orbit_sign == 0.0:
            self._orbit_sign = 1.0 if delta >= 0.0 else -1.0
        clear = min(gap, AGENT_RADIUS) - 0.5
        for turn in (math.pi / 4, math.pi / 6, math.pi / 12, 0.0):
            angle = alpha + self._orbit_sign * turn
            w = cog + self.ORBIT_RADIUS * np.array([math.cos(angle), math.sin(angle)])
            if turn == 0.0 or poly.distance(shapely.LineString([tuple(agent), tuple(w)])) >= clear:
                break
        w = w - agent
        norm = math.hypot(*w) / 100.0
        scale = 1.0 / norm if norm > 1.0 else (0.6 / norm if 0.0 < norm < 0.6 else 1.0)
        return w * (scale * self.walk_speed / 100.0)


def demonstrate(
    env: Any, seed: int, max_steps: int = 300, **policy_kwargs: Any
) -> tuple[np.ndarray, np.ndarray, bool]:
    """One seeded demonstration episode on a Push-T env.

    ``env.reset(seed=seed)``, ``rng = np.random.default_rng(seed)`` for the
    policy; runs :class:`PushTDemonstrator` (target: the env's ``goal_pose``
    unless ``target_pose`` is given) until ``done`` or ``max_steps`` steps.

    Args:
        env: a :class:`envs.pusht.PushTEnv` (or a wrapper of one).
        seed: env reset seed and policy rng seed.
        max_steps: step limit (>= 1).
        policy_kwargs: passed to :class:`PushTDemonstrator`.

    Returns:
        ``states (L+1, 7)``, ``actions (L, 2)``, and whether the coverage of
        the target pose exceeded 0.95.
    """
    if not (isinstance(max_steps, int) and max_steps >= 1):
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    base = getattr(env, "unwrapped", env)
    policy_kwargs.setdefault("target_pose", getattr(base, "goal_pose", GOAL_POSE))
    policy = PushTDemonstrator(**policy_kwargs)
    state, _ = env.reset(seed=seed)
    policy.reset(state, np.random.default_rng(seed))
    states, actions = [state], []
    for _ in range(max_steps):
        action = policy.act(state)
        if policy.done:
            break
        state, *_ = env.step(action)
        states.append(state)
        actions.append(action)
    else:
        policy.done = coverage(state, policy.target_pose) > SUCCESS_COVERAGE
    return np.array(states), np.array(actions).reshape(-1, 2), bool(policy.done)
