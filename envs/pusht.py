"""Push-T on pymunk 7, physically identical to the reference implementation.

Reference: diffusion_policy ``pusht_env.py`` (Chi et al.), gym-pusht, and the
relative-action / 7-d state variant of DINO-WM (``env/pusht``). Every physical
constant and quirk of the reference is kept:

* 512 x 512 arena; four static wall segments (5,506)-(5,5), (5,5)-(506,5),
  (506,5)-(506,506), (5,506)-(506,506) of radius 2.
* Agent: kinematic circle of radius 15. Kinematic bodies do not collide with
  static ones, so the agent passes through the walls (as in the reference).
* Block: one dynamic body of mass 1 with two box shapes, the bar
  ``x in [-60, 60], y in [0, 30]`` and the stem ``x in [-15, 15], y in [30, 120]``
  (local coordinates of the body origin = the state's block position).
  Quirks: moment = ``2 * moment_for_poly(1, bar)`` = 3000 (the reference passes
  the bar's vertices for both parts); centre of gravity = plain mean of the two
  shapes' centroids = (0, 45); shape friction 0 and elasticity 0 (the reference
  sets ``friction`` on the body, where it does nothing).
* ``space.damping = 0`` (velocities are multiplied by ``0 ** dt = 0`` before each
  sub-step: the block has no momentum), gravity 0, default solver settings.
* Control: see :mod:`envs.base` (relative target ``p0 + 100 * a``, PD 100/20,
  10 sub-steps of 0.01 s).

State (= observation), float64 ``(7,)``:
``[agent_x, agent_y, block_x, block_y, block_angle mod 2pi, agent_vx, agent_vy]``.

Differences from the reference, none in the physical model: ``set_state``
does not advance time (the reference runs one 0.01 s sub-step after placing
the bodies); the reset state is drawn from ``self.np_random`` (uniform floats
instead of legacy ``RandomState`` integers; angle uniform in ``[0, 2pi)``);
``set_state`` starts from a fresh contact state (see :mod:`envs.base`;
``markov=True`` does so after every env step too, which is exact but not the
reference's default behaviour); and the contact counter of the reference's
``info`` is not kept.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import pymunk
import shapely
from gymnasium import spaces

from envs import render
from envs.base import PymunkEnv, as_real_array

TWO_PI = 2.0 * math.pi

WALLS: tuple[tuple[float, float, float, float], ...] = (
    (5.0, 506.0, 5.0, 5.0),
    (5.0, 5.0, 506.0, 5.0),
    (506.0, 5.0, 506.0, 506.0),
    (5.0, 506.0, 506.0, 506.0),
)
WALL_RADIUS = 2.0
AGENT_RADIUS = 15.0
AGENT_START = (256.0, 400.0)  # reference creation place, overwritten by set_state

BAR_VERTICES = ((-60.0, 30.0), (60.0, 30.0), (60.0, 0.0), (-60.0, 0.0))
STEM_VERTICES = ((-15.0, 30.0), (-15.0, 120.0), (15.0, 120.0), (15.0, 30.0))
#: The T outline as one simple polygon (union of bar and stem), local coords.
T_OUTLINE = np.array(
    [(-60, 0), (60, 0), (60, 30), (15, 30), (15, 120), (-15, 120), (-15, 30), (-60, 30)],
    dtype=np.float64,
)
T_PARTS = (np.array(BAR_VERTICES), np.array(STEM_VERTICES))
T_AREA = 120.0 * 30.0 + 30.0 * 90.0  # 6300
BLOCK_MASS = 1.0
#: Reference quirk: twice the bar's moment about the body origin (= 3000).
BLOCK_MOMENT = 2.0 * pymunk.moment_for_poly(BLOCK_MASS, BAR_VERTICES)
#: Reference quirk: plain mean of the bar (0, 15) and stem (0, 75) centroids.
BLOCK_COG = (0.0, 45.0)
#: Radius around the centre of gravity that contains the whole T (stem corners).
BLOCK_RADIUS_FROM_COG = math.hypot(15.0, 120.0 - BLOCK_COG[1])

GOAL_POSE = np.array([256.0, 256.0, math.pi / 4])  # x, y, angle of the reference goal
SUCCESS_COVERAGE = 0.95  # reference episode success: coverage > 95 %
POSITION_TOLERANCE = 20.0  # DINO-WM eval_state: ||(agent_xy, block_xy) - goal|| < 20
ANGLE_TOLERANCE = math.pi / 9  # DINO-WM eval_state: wrapped angle error < pi / 9

#: Loose sanity bounds of the observation space (no 300-step episode reaches them:
#: the PD agent moves less than 60 px per env step). ``set_state`` enforces them.
POSITION_BOUND = 1.0e5
VELOCITY_BOUND = 1.0e5


# ------------------------------------------------------------------ task maths
def _split(state: Any, goal: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    s = np.asarray(state, dtype=np.float64)
    g = np.asarray(goal, dtype=np.float64)
    for name, arr in (("state", s), ("goal", g)):
        if arr.ndim not in (1, 2) or arr.shape[-1] != 7:
            raise ValueError(f"Push-T {name} must have shape (7,) or (N, 7), got {arr.shape}")
    return s, g, s.ndim == 1 and g.ndim == 1


def angle_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Absolute wrapped angle difference in ``[0, pi]`` (broadcast)."""
    d = np.abs(np.asarray(a) - np.asarray(b)) % TWO_PI
    return np.minimum(d, TWO_PI - d)


def goal_distance(state: Any, goal: Any) -> Any:
    """L2 norm of ``(agent_xy, block_xy) - goal's`` (the 4-vector of DINO-WM eval_state).

    Args:
        state: ``(7,)`` or ``(N, 7)``.
        goal: ``(7,)`` or ``(N, 7)`` (broadcast against ``state``).

    Returns:
        float for single state and goal, else ``(N,)`` float64. The angle is not
        part of this distance (see :func:`is_success`).
    """
    s, g, scalar = _split(state, goal)
    d = np.linalg.norm(s[..., :4] - g[..., :4], axis=-1)
    return float(d) if scalar else d


def is_success(state: Any, goal: Any) -> Any:
    """Planning success (DINO-WM ``eval_state``).

    ``goal_distance(state, goal) < 20`` and wrapped block-angle error ``< pi/9``.

    Args:
        state: ``(7,)`` or ``(N, 7)``.
        goal: ``(7,)`` or ``(N, 7)`` (broadcast against ``state``).

    Returns:
        bool for single state and goal, else ``(N,)`` bool array.
    """
    s, g, scalar = _split(state, goal)
    pos = np.linalg.norm(s[..., :4] - g[..., :4], axis=-1)
    ok = (pos < POSITION_TOLERANCE) & (angle_error(s[..., 4], g[..., 4]) < ANGLE_TOLERANCE)
    return bool(ok) if scalar else ok


@lru_cache(maxsize=16)
def _goal_polygon(x: float, y: float, angle: float) -> shapely.Polygon:
    poly = shapely.Polygon(render.pose_points(T_OUTLINE, x, y, angle))
    shapely.prepare(poly)
    return poly


def _cog(x: float, y: float, angle: float) -> tuple[float, float]:
    c, s = math.cos(angle), math.sin(angle)
    return x - s * BLOCK_COG[1], y + c * BLOCK_COG[1]


def block_coverage(
    x: float,
    y: float,
    angle: float,
    goal_pose: tuple[float, float, float] = (256.0, 256.0, math.pi / 4),
) -> float:
    """Fraction of the goal T's area covered by the block at pose ``(x, y, angle)``.

    Exact (shapely) intersection area / 6300, as the reference reward; returns
    0.0 without shapely when the two Ts are too far apart to touch.
    """
    gx, gy, ga = goal_pose
    cx, cy = _cog(x, y, angle)
    gcx, gcy = _cog(gx, gy, ga)
    if math.hypot(cx - gcx, cy - gcy) >= 2.0 * BLOCK_RADIUS_FROM_COG:
        return 0.0
    block = shapely.Polygon(render.pose_points(T_OUTLINE, x, y, angle))
    return float(_goal_polygon(gx, gy, ga).intersection(block).area / T_AREA)


def coverage(state: Any, goal_pose: Any = GOAL_POSE) -> Any:
    """Coverage of the goal pose by the block, ``(7,) -> float`` or ``(N, 7) -> (N,)``.

    Args:
        state: ``(>=5,)`` or ``(N, >=5)`` states (only the block pose is used).
        goal_pose: ``(3,)`` goal block pose, default the reference ``(256, 256, pi/4)``.
    """
    s = np.asarray(state, dtype=np.float64)
    if s.ndim not in (1, 2) or s.shape[-1] < 5:
        raise ValueError(f"Push-T state must have shape (7,) or (N, 7), got {s.shape}")
    gp = tuple(float(v) for v in np.asarray(goal_pose, dtype=np.float64).reshape(3))
    rows = s.reshape(-1, s.shape[-1])
    out = np.array([block_coverage(r[2], r[3], r[4], gp) for r in rows.tolist()])
    return float(out[0]) if s.ndim == 1 else out


# ------------------------------------------------------------------------ env
class PushTEnv(PymunkEnv):
    """Push-T: push the grey T block onto the light-green goal pose with a disc agent.

    Observation and state: ``(7,)`` float64
    ``[agent_x, agent_y, block_x, block_y, block_angle, agent_vx, agent_vy]``.
    Action: ``(2,)`` in ``[-1, 1]``, relative PD target ``agent_xy + 100 * a``.
    Reward: ``clip(coverage / 0.95, 0, 1)``; terminated when coverage > 0.95
    (the reference episode success); ``info``: ``coverage``, ``is_success``
    (coverage > 0.95), ``goal_pose``.

    Planning success between two states is :meth:`is_success` (DINO-WM).

    Args:
        render_mode: ``None`` or ``"rgb_array"``.
        render_size: frame side in pixels (224 = DINO-WM's image size).
        markov: re-place the simulator at every env step for exact Markov
            stepping (see :mod:`envs.base`). Default False: contacts persist
            across env steps as in the reference; with a fresh warm start
            every 0.1 s, a block pinched between the (infinitely heavy)
            kinematic agent and a wall can be squeezed through the wall.

    Reset options: ``state`` (7,) to start from, ``goal_pose`` (3,) block goal
    pose used for coverage, reward and rendering (default ``(256, 256, pi/4)``).
    """

    state_dim = 7
    reset_options = frozenset({"state", "goal_pose"})

    def __init__(
        self, render_mode: str | None = None, render_size: int = 224, markov: bool = False
    ) -> None:
        super().__init__(render_mode=render_mode, render_size=render_size, markov=markov)
        hi = np.array([POSITION_BOUND] * 4 + [TWO_PI] + [VELOCITY_BOUND] * 2)
        lo = np.array([-POSITION_BOUND] * 4 + [0.0] + [-VELOCITY_BOUND] * 2)
        self.observation_space = spaces.Box(lo, hi, dtype=np.float64)
        self.goal_pose = GOAL_POSE.copy()
        # Bodies and shapes are made once; every placement moves them into a new
        # Space, in this order, so contact caches and spatial-index order (shape
        # ids) are the same each time.
        walls = pymunk.Body(body_type=pymunk.Body.STATIC)
        segments = [
            pymunk.Segment(walls, (x0, y0), (x1, y1), WALL_RADIUS) for x0, y0, x1, y1 in WALLS
        ]
        agent = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        agent.position = AGENT_START
        block = pymunk.Body(BLOCK_MASS, BLOCK_MOMENT)
        bar = pymunk.Poly(block, BAR_VERTICES)
        stem = pymunk.Poly(block, STEM_VERTICES)
        block.center_of_gravity = BLOCK_COG
        self._agent, self._block = agent, block
        self._objects = (
            walls,
            *segments,
            agent,
            pymunk.Circle(agent, AGENT_RADIUS),
            block,
            bar,
            stem,
        )

    # -------------------------------------------------------------- physics
    def _place_bodies(self, state: np.ndarray) -> None:
        if self.space is not None:
            self.space.remove(*self._objects)
        ax, ay, bx, by, angle, vx, vy = state.tolist()
        self._agent.position = (ax, ay)
        self._agent.velocity = (vx, vy)
        # The angle rotates the body about its centre of gravity, which moves the
        # origin: set it first, then the position (the reference's order).
        self._block.angle = angle
        self._block.position = (bx, by)
        self._block.velocity = (0.0, 0.0)
        self._block.angular_velocity = 0.0
        # A zero-length position update clears the solver's bias velocities
        # (penetration correction pending from the last sub-step) without moving.
        pymunk.Body.update_position(self._block, 0.0)
        pymunk.Body.update_position(self._agent, 0.0)
        # Bodies are placed before they enter the new space (new shape ids, empty
        # contact cache), so the spatial index is built from this state only.
        space = pymunk.Space()
        space.gravity = (0.0, 0.0)
        space.damping = 0.0
        space.add(*self._objects)
        self.space = space

    def _normalize(self, state: np.ndarray) -> np.ndarray:
        state[4] %= TWO_PI
        return state

    def _check_state(self, state: np.ndarray) -> None:
        if np.abs(state[:4]).max() > POSITION_BOUND or np.abs(state[5:]).max() > VELOCITY_BOUND:
            raise ValueError(
                f"Push-T state out of bounds: positions must lie within +-{POSITION_BOUND:g} px "
                f"and velocities within +-{VELOCITY_BOUND:g} px/s, got {state.tolist()}"
            )

    def _advance(self, ax: float, ay: float) -> None:
        agent = self._agent
        step = self.space.step
        kp, kv, dt = self.k_p, self.k_v, self.dt
        px, py = agent.position
        vx, vy = agent.velocity
        tx = px + self.action_scale * ax  # target fixed at the start of the env step
        ty = py + self.action_scale * ay
        for _ in range(self.n_substeps):
            px, py = agent.position
            vx += (kp * (tx - px) + kv * (0.0 - vx)) * dt
            vy += (kp * (ty - py) + kv * (0.0 - vy)) * dt
            agent.velocity = (vx, vy)
            step(dt)

    def _read_state(self) -> np.ndarray:
        ax, ay = self._agent.position
        bx, by = self._block.position
        vx, vy = self._agent.velocity
        return np.array((ax, ay, bx, by, self._block.angle % TWO_PI, vx, vy))

    # ---------------------------------------------------------------- task
    def _sample_state(self) -> np.ndarray:
        rng = self.np_random
        agent = rng.uniform(50.0, 450.0, size=2)
        block = rng.uniform(100.0, 400.0, size=2)
        angle = rng.uniform(0.0, TWO_PI)
        return np.array([agent[0], agent[1], block[0], block[1], angle, 0.0, 0.0])

    def _reset_task(self, options: dict[str, Any], state: np.ndarray) -> None:
        pose = options.get("goal_pose")
        if pose is None:
            self.goal_pose = GOAL_POSE.copy()
        else:
            self.goal_pose = as_real_array(pose, (3,), "goal_pose")

    def _evaluate(self, state: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        gx, gy, ga = self.goal_pose.tolist()
        cov = block_coverage(state[2], state[3], state[4], (gx, gy, ga))
        success = cov > SUCCESS_COVERAGE
        reward = min(max(cov / SUCCESS_COVERAGE, 0.0), 1.0)
        info = {"coverage": cov, "is_success": success, "goal_pose": self.goal_pose.copy()}
        return reward, success, info

    def coverage(self, state: Any | None = None) -> Any:
        """Coverage of this env's ``goal_pose`` by ``state`` (default: the current state)."""
        return coverage(self.get_state() if state is None else state, self.goal_pose)

    def is_success(self, state: Any, goal: Any) -> Any:
        """Planning success, see :func:`envs.pusht.is_success`."""
        return is_success(state, goal)

    def goal_distance(self, state: Any, goal: Any) -> Any:
        """See :func:`envs.pusht.goal_distance`."""
        return goal_distance(state, goal)

    def _render_frame(self) -> np.ndarray:
        return render_state(self.get_state(), self.goal_pose, size=self.render_size)


def render_state(
    state: Any,
    goal_pose: Any = GOAL_POSE,
    size: int = 224,
    goal_state: Any | None = None,
    supersample: int = 1,
) -> np.ndarray:
    """Render a Push-T state without an env.

    Args:
        state: ``(7,)`` state.
        goal_pose: ``(3,)`` block goal pose drawn in light green (None: no goal).
        size: output side in pixels.
        goal_state: optional ``(7,)`` planning goal: its block pose replaces
            ``goal_pose`` and its agent position is drawn as a green ring.
        supersample: antialiasing factor.

    Returns:
        ``(size, size, 3)`` uint8.
    """
    goal_agent = None
    if goal_state is not None:
        g = np.asarray(goal_state, dtype=np.float64)
        goal_pose, goal_agent = g[2:5], g[:2]
    return render.draw_pusht(
        np.asarray(state, dtype=np.float64),
        goal_pose,
        T_PARTS,
        WALLS,
        WALL_RADIUS,
        AGENT_RADIUS,
        size=size,
        goal_agent=goal_agent,
        supersample=supersample,
    )
