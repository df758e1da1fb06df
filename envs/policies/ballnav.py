"""BallNav shortest-path follower."""

from __future__ import annotations

import math

import numpy as np

from envs.layouts import DEFAULT_LAYOUT, SPAWN_CLEARANCE, Layout, get_layout
from envs.paths import shortest_path
from envs.policies.base import ScriptedPolicy, _check_range


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
