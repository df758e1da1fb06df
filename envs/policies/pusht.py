"""Push-T random pusher and the T-block geometry helpers it shares with the demonstrator."""

from __future__ import annotations

import math

import numpy as np
import shapely

from envs.base import ARENA_SIZE
from envs.policies.base import ScriptedPolicy, _check_range, _check_unit
from envs.pusht import AGENT_RADIUS, BLOCK_COG, BLOCK_RADIUS_FROM_COG, T_OUTLINE

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


def _contact_candidates(spacing: float = 10.0, margin: float = 3.0) -> tuple[np.ndarray, ...]:
    """Contact points on the T outline that a disc agent can touch.

    Returns:
        ``points (C, 2)`` and outward unit normals ``(C, 2)`` in block-local
        coordinates, relative to the centre of gravity (points on concave
        corners, where the disc would hit the neighbouring edge, are left out).
    """
    poly = shapely.Polygon(T_OUTLINE)  # counter-clockwise: outward normal (ey, -ex)
    pts, nrm = [], []
    for k in range(len(T_OUTLINE)):
        a, b = T_OUTLINE[k], T_OUTLINE[(k + 1) % len(T_OUTLINE)]
        length = float(np.linalg.norm(b - a))
        t, n = (b - a) / length, np.array([(b - a)[1], -(b - a)[0]]) / length
        m = max(1, int(math.ceil((length - 2 * margin) / spacing)))
        for u in np.linspace(margin, length - margin, m + 1):
            p = a + u * t
            centre = shapely.Point(*(p + (AGENT_RADIUS + 0.5) * n))
            if poly.exterior.distance(centre) >= AGENT_RADIUS and not poly.contains(centre):
                pts.append(p - np.asarray(BLOCK_COG))
                nrm.append(n)
    return np.array(pts), np.array(nrm)


def _rot(angle: float) -> np.ndarray:
    """Rotation matrix ``(2, 2)`` of ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


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
