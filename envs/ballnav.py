"""BallNav: steer a ball to a goal disc around walls where greedy paths are dead ends.

No public definition exists (the GRASP paper shows BallNav only as a
state-based demo "around multiple greedy minima"), so this is ours:

* 512 x 512 arena closed by the Push-T boundary segments; interior walls from a
  named layout (:mod:`envs.layouts`). All walls are static pymunk segments of
  half-thickness ``WALL_RADIUS = 4``, friction 0, elasticity 0.
* Ball: dynamic circle, radius ``BALL_RADIUS = 12``, mass 1, friction 0,
  elasticity 0 (it slides along walls and does not bounce). Gravity 0 and no
  damping (``space.damping = 1``).
* Control: the Push-T convention (:mod:`envs.base`): relative target
  ``p0 + 100 * a`` fixed at the start of the env step, and at each of the 10
  sub-steps of 0.01 s the PD law ``v += (100 (target - p) + 20 (0 - v)) dt``
  on the ball's current position and velocity, the result capped at
  ``MAX_SPEED = 600`` px/s. The cap is a safety bound that PD motion does not
  reach (steady speed under a constant full action: 358 px/s per axis, 507 px/s
  diagonally; about 555 px/s at most under bang-bang actions), so in free
  space the ball follows the PD law exactly.
  The law runs as the body's pymunk ``velocity_func``, i.e. inside
  ``space.step`` after the position update and BEFORE the contact solver, so
  contacts remove any commanded velocity into a wall before it moves the ball.
  (Writing ``body.velocity`` between steps instead, as Push-T does for its
  kinematic agent, would let every sub-step push the ball a little further into
  the wall, because Chipmunk integrates positions before it solves contacts.)
  Chipmunk's semi-implicit Euler then moves the ball with the solved velocity
  at the next sub-step; in free space this is the Push-T agent's PD law,
  shifted by one sub-step.
* No tunnelling: a sub-step moves the ball at most 6 px (``MAX_SPEED * DT``),
  far less than the 16 px contact distance (ball radius + wall radius), so
  every wall is detected while the ball's centre is still on its side and the
  contact normal points back into free space; a ball overlaps a wall by at most
  about one sub-step of travel before the solver pushes it out. (Chipmunk has no
  continuous collision detection; the cap and the 100 Hz sub-steps are what
  guarantee this.)

State (= observation), float64 ``(4,)``: ``[x, y, vx, vy]``.
Planning success: ``||xy - goal_xy|| < success_radius`` (20 px by default);
velocities are ignored.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pymunk
from gymnasium import spaces

from envs import render
from envs.base import ARENA_SIZE, K_P, K_V, PymunkEnv, as_real_array
from envs.layouts import (
    BALL_RADIUS,
    CONTACT_DISTANCE,
    DEFAULT_LAYOUT,
    SPAWN_CLEARANCE,
    WALL_RADIUS,
    Layout,
    get_layout,
)
from envs.paths import shortest_path

BALL_MASS = 1.0
MAX_SPEED = 600.0
SUCCESS_RADIUS = 20.0
#: A state may overlap a wall by at most this much. Contacts are discrete: the
#: ball can enter a wall by up to one sub-step of travel (MAX_SPEED * DT = 6 px)
#: before the solver pushes it back out over the next sub-steps.
PENETRATION_TOLERANCE = 7.0
#: Reset goals are at least this far from the start.
MIN_GOAL_DISTANCE = 80.0


def _split(state: Any, goal: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    s = np.asarray(state, dtype=np.float64)
    g = np.asarray(goal, dtype=np.float64)
    if s.ndim not in (1, 2) or s.shape[-1] != 4:
        raise ValueError(f"BallNav state must have shape (4,) or (N, 4), got {s.shape}")
    if g.ndim not in (1, 2) or g.shape[-1] not in (2, 4):
        raise ValueError(
            f"BallNav goal must have shape (4,), (2,), (N, 4) or (N, 2), got {g.shape}"
        )
    return s, g, s.ndim == 1 and g.ndim == 1


def goal_distance(state: Any, goal: Any) -> Any:
    """Euclidean distance between ball and goal positions.

    Args:
        state: ``(4,)`` or ``(N, 4)``.
        goal: ``(4,)``/``(2,)`` or ``(N, 4)``/``(N, 2)`` (states or positions, broadcast).

    Returns:
        float for single inputs, else ``(N,)`` float64.
    """
    s, g, scalar = _split(state, goal)
    d = np.linalg.norm(s[..., :2] - g[..., :2], axis=-1)
    return float(d) if scalar else d


def is_success(state: Any, goal: Any, success_radius: float = SUCCESS_RADIUS) -> Any:
    """``goal_distance(state, goal) < success_radius``; bool or ``(N,)`` bool."""
    d = goal_distance(state, goal)
    return bool(d < success_radius) if isinstance(d, float) else d < success_radius


class BallNavEnv(PymunkEnv):
    """BallNav: a ball steered by relative PD targets to a goal disc among walls.

    Observation and state: ``(4,)`` float64 ``[x, y, vx, vy]``.
    Action: ``(2,)`` in ``[-1, 1]``, relative PD target ``xy + 100 * a``.
    Reward: 1.0 when the goal is reached (then terminated), else 0.0. A dense
    distance reward would reward exactly the greedy dead ends the layouts are
    built around. ``info``: ``goal`` (2,), ``distance``, ``is_success``.

    Args:
        layout: layout name (``"open"``, ``"wall_gap"``, ``"u_trap"``, ``"maze"``),
            default ``"maze"`` (see :mod:`envs.layouts`).
        render_mode: ``None`` or ``"rgb_array"``.
        render_size: frame side in pixels.
        success_radius: goal radius in px (default 20).
        markov: exact Markov stepping (see :mod:`envs.base`), default True.

    Reset options: ``state`` (4,) start state, ``goal`` (2,) or (4,) goal
    position (sampled free, at least 80 px from the start, when absent).
    """

    state_dim = 4
    reset_options = frozenset({"state", "goal"})

    def __init__(
        self,
        layout: str = DEFAULT_LAYOUT,
        render_mode: str | None = None,
        render_size: int = 224,
        success_radius: float = SUCCESS_RADIUS,
        markov: bool = True,
    ) -> None:
        super().__init__(render_mode=render_mode, render_size=render_size, markov=markov)
        self.layout: Layout = get_layout(layout)
        if not (isinstance(success_radius, numbers.Real) and 0 < success_radius < ARENA_SIZE):
            raise ValueError(f"success_radius must be a positive number, got {success_radius!r}")
        self.success_radius = float(success_radius)
        self._init_kwargs.update(layout=self.layout.name, success_radius=self.success_radius)
        v = MAX_SPEED + 1.0
        self.observation_space = spaces.Box(
            np.array([0.0, 0.0, -v, -v]), np.array([ARENA_SIZE, ARENA_SIZE, v, v]), dtype=np.float64
        )
        self.goal = np.array([ARENA_SIZE / 2, ARENA_SIZE / 2])
        self._target = (ARENA_SIZE / 2, ARENA_SIZE / 2)
        ball = pymunk.Body(BALL_MASS, pymunk.moment_for_circle(BALL_MASS, 0.0, BALL_RADIUS))
        ball.position = (ARENA_SIZE / 2, ARENA_SIZE / 2)
        ball.velocity_func = self._pd_velocity
        self._callback_error: BaseException | None = None
        self._ball = ball
        self._ball_shapes = (ball, pymunk.Circle(ball, BALL_RADIUS))

    # -------------------------------------------------------------- physics
    def _place_bodies(self, state: np.ndarray) -> None:
        # The walls never move, so the static index is the same in every space;
        # the ball is the only dynamic shape: taking it out, placing it and adding
        # it back clears its cached contacts and leaves nothing else behind.
        if self.space is None:
            space = pymunk.Space()
            space.gravity = (0.0, 0.0)
            space.damping = 1.0
            for x0, y0, x1, y1 in self.layout.segments.tolist():
                space.add(pymunk.Segment(space.static_body, (x0, y0), (x1, y1), WALL_RADIUS))
            self.space = space
        else:
            self.space.remove(*self._ball_shapes)
        x, y, vx, vy = state.tolist()
        self._ball.position = (x, y)
        self._ball.velocity = (vx, vy)
        self._ball.angle = 0.0
        self._ball.angular_velocity = 0.0
        # A zero-length position update clears the solver's bias velocity
        # (penetration correction pending from the last sub-step) without moving.
        pymunk.Body.update_position(self._ball, 0.0)
        self._target = (x, y)
        self.space.add(*self._ball_shapes)

    def _check_state(self, state: np.ndarray) -> None:
        x, y, vx, vy = state.tolist()
        if math.hypot(vx, vy) > MAX_SPEED + 1.0:
            raise ValueError(
                f"BallNav speed must be at most {MAX_SPEED:g} px/s, got {math.hypot(vx, vy):.3g}"
            )
        if not self.layout.is_free((x, y), CONTACT_DISTANCE - PENETRATION_TOLERANCE):
            raise ValueError(
                f"BallNav position ({x:.2f}, {y:.2f}) overlaps a wall of layout "
                f"{self.layout.name!r} or lies outside the arena"
            )

    def _advance(self, ax: float, ay: float) -> None:
        px, py = self._ball.position
        self._target = (px + self.action_scale * ax, py + self.action_scale * ay)
        step = self.space.step
        dt = self.dt
        for _ in range(self.n_substeps):
            step(dt)
            if self._callback_error is not None:  # raised inside the velocity_func
                err, self._callback_error = self._callback_error, None
                raise err

    def _pd_velocity(self, body: pymunk.Body, gravity: Any, damping: float, dt: float) -> None:
        """pymunk velocity_func.  cffi swallows what a callback raises ("Exception ignored
        from cffi callback"), so a Ctrl-C landing here is kept and re-raised after the
        step by :meth:`_advance`."""
        try:
            self._pd_law(body, dt)
        except BaseException as err:  # noqa: BLE001 -- re-raised after space.step
            self._callback_error = err

    def _pd_law(self, body: pymunk.Body, dt: float) -> None:
        """PD law towards ``self._target``, speed capped."""
        tx, ty = self._target
        px, py = body.position
        vx, vy = body.velocity
        vx += (K_P * (tx - px) + K_V * (0.0 - vx)) * dt
        vy += (K_P * (ty - py) + K_V * (0.0 - vy)) * dt
        speed = math.hypot(vx, vy)
        if speed > MAX_SPEED:
            vx *= MAX_SPEED / speed
            vy *= MAX_SPEED / speed
        body.velocity = (vx, vy)

    def _read_state(self) -> np.ndarray:
        x, y = self._ball.position
        vx, vy = self._ball.velocity
        return np.array((x, y, vx, vy))

    # ---------------------------------------------------------------- task
    def _sample_state(self) -> np.ndarray:
        x, y = self.layout.sample_free(self.np_random)
        return np.array([x, y, 0.0, 0.0])

    def _reset_task(self, options: dict[str, Any], state: np.ndarray) -> None:
        goal = options.get("goal")
        if goal is not None:
            g = as_real_array(goal, (None,), "goal")
            if g.shape[0] not in (2, 4):
                raise ValueError(f"goal must have shape (2,) or (4,), got shape {g.shape}")
            g = g[:2]
            if not self.layout.is_free(g, CONTACT_DISTANCE - PENETRATION_TOLERANCE):
                raise ValueError(
                    f"goal {g.tolist()} is not a free position of {self.layout.name!r}"
                )
            self.goal = g
            return
        while True:
            g = self.layout.sample_free(self.np_random)
            if math.dist(g, state[:2]) >= MIN_GOAL_DISTANCE:
                self.goal = g
                return

    def _evaluate(self, state: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        dist = math.hypot(state[0] - self.goal[0], state[1] - self.goal[1])
        success = dist < self.success_radius
        info = {
            "goal": self.goal.copy(),
            "distance": dist,
            "is_success": success,
        }
        return (1.0 if success else 0.0), success, info

    def is_success(self, state: Any, goal: Any) -> Any:
        """``||xy - goal_xy|| < success_radius``; see :func:`envs.ballnav.is_success`."""
        return is_success(state, goal, self.success_radius)

    def goal_distance(self, state: Any, goal: Any) -> Any:
        """See :func:`envs.ballnav.goal_distance`."""
        return goal_distance(state, goal)

    def straight_line_blocked(self, state: Any, goal: Any) -> Any:
        """Whether the straight segment state -> goal runs into a wall (see :mod:`envs.layouts`)."""
        return self.layout.straight_line_blocked(state, goal)

    def shortest_path(self, state: Any, goal: Any) -> np.ndarray:
        """``(P, 2)`` shortest wall-free path (see :func:`envs.paths.shortest_path`)."""
        return shortest_path(self.layout, state, goal)

    def _render_frame(self) -> np.ndarray:
        return render_state(
            self.get_state(),
            self.layout,
            self.goal,
            size=self.render_size,
            success_radius=self.success_radius,
        )


def render_state(
    state: Any,
    layout: str | Layout = DEFAULT_LAYOUT,
    goal: Any | None = None,
    size: int = 224,
    success_radius: float = SUCCESS_RADIUS,
    path: np.ndarray | None = None,
    straight_line: bool = False,
    supersample: int = 1,
) -> np.ndarray:
    """Render a BallNav state without an env.

    Args:
        state: ``(4,)`` or ``(2,)``.
        layout: layout name or object.
        goal: optional ``(2,)``/``(4,)`` goal drawn as a disc of ``success_radius``.
        size: output side in pixels.
        path: optional ``(P, 2)`` path overlay; ``straight_line`` adds the dashed
            straight segment to the goal.
        supersample: antialiasing factor.

    Returns:
        ``(size, size, 3)`` uint8.
    """
    lay = get_layout(layout)
    return render.draw_ballnav(
        np.asarray(state, dtype=np.float64),
        lay.segments.tolist(),
        WALL_RADIUS,
        BALL_RADIUS,
        goal=None if goal is None else np.asarray(goal, dtype=np.float64),
        goal_radius=success_radius,
        size=size,
        path=path,
        straight_line=straight_line,
        supersample=supersample,
    )


__all__ = [
    "BALL_RADIUS",
    "MAX_SPEED",
    "SPAWN_CLEARANCE",
    "SUCCESS_RADIUS",
    "BallNavEnv",
    "goal_distance",
    "is_success",
    "render_state",
]
