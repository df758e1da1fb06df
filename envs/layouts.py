"""BallNav wall layouts, free-space tests and the straight-line crossing test.

All layouts live in the 512 x 512 arena closed by the same four boundary
segments as Push-T (corners (5, 5) and (506, 506)). Walls are pymunk segments of
half-thickness ``WALL_RADIUS``; the ball (radius ``BALL_RADIUS``) touches a
wall when its centre is ``BALL_RADIUS + WALL_RADIUS`` = 16 px from the segment.

Layouts (interior walls; see ``README.md`` for pictures):

* ``open``: no interior wall. Control case: the straight line is always free.
* ``wall_gap``: a vertical wall at x = 256 from top to bottom with one 100 px
  gap near the bottom (y in [370, 470]). Between the two halves the straight
  line hits the wall unless it happens to pass the gap; greedy descent slides
  to the foot of the perpendicular and stops there.
* ``u_trap``: a large U-shaped cup open to the west, x in [110, 400],
  y in [110, 402]. From inside or in front of the cup, a goal behind it (east)
  is a textbook greedy dead end: the ball is pushed into the cup's back wall,
  and the way out first leads away from the goal; from outside, a goal inside
  the cup is reached only by going round to the opening.
* ``maze`` (default): a 4 x 4 grid of ~125 px cells with five interior walls
  forming two nested L-shaped corridors: most start/goal pairs are separated by
  walls, paths bend several times, and there are several greedy minima (the
  inner corners of every L).

``python -m envs.bench --policies`` prints, per layout, how often the
straight line between (s_t, s_t+H) on follower trajectories is blocked and
how often a greedy controller reaches the goal (see README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.geometry import point_segment_distance, segment_segment_distance

ARENA_SIZE = 512.0
BALL_RADIUS = 12.0
WALL_RADIUS = 4.0
CONTACT_DISTANCE = BALL_RADIUS + WALL_RADIUS  # centre-to-segment distance at contact
#: Clearance of sampled start / goal / target positions from the wall segments.
SPAWN_CLEARANCE = CONTACT_DISTANCE + 2.0

BOUNDARY: tuple[tuple[float, float, float, float], ...] = (
    (5.0, 506.0, 5.0, 5.0),
    (5.0, 5.0, 506.0, 5.0),
    (506.0, 5.0, 506.0, 506.0),
    (5.0, 506.0, 506.0, 506.0),
)

# Maze grid lines (4 x 4 cells of ~125 px).
_G = (5.0, 130.0, 256.0, 381.0, 506.0)


@dataclass(frozen=True)
class Layout:
    """A named set of static wall segments.

    Attributes:
        name: layout name.
        interior: interior wall segments ``(x0, y0, x1, y1)``.
        description: one-line description.
        segments: ``(W, 4)`` float64, boundary + interior walls.
    """

    name: str
    interior: tuple[tuple[float, float, float, float], ...]
    description: str
    segments: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        segs = np.array(BOUNDARY + self.interior, dtype=np.float64)
        segs.setflags(write=False)
        object.__setattr__(self, "segments", segs)

    # ------------------------------------------------------------ free space
    def wall_distance(self, points: Any) -> np.ndarray:
        """Distance from points ``(..., 2)`` to the nearest wall segment centreline, ``(...)``."""
        return point_segment_distance(points, self.segments).min(axis=-1)

    def is_free(self, points: Any, clearance: float = CONTACT_DISTANCE) -> np.ndarray:
        """Whether points ``(..., 2)`` are inside the arena and ``clearance`` away from walls."""
        p = np.asarray(points, dtype=np.float64)
        inside = np.all((p > BOUNDARY[1][1]) & (p < BOUNDARY[2][0]), axis=-1)
        return inside & (self.wall_distance(p) >= clearance)

    def sample_free(
        self, rng: np.random.Generator, n: int | None = None, clearance: float = SPAWN_CLEARANCE
    ) -> np.ndarray:
        """Uniform free positions by rejection sampling.

        Args:
            rng: numpy Generator (all randomness).
            n: number of points; ``None`` for one point.
            clearance: minimum distance of a point to every wall centreline.

        Returns:
            ``(2,)`` if ``n is None`` else ``(n, 2)``.
        """
        want = 1 if n is None else int(n)
        out = np.empty((0, 2))
        while len(out) < want:
            cand = rng.uniform(0.0, ARENA_SIZE, size=(max(16, 2 * (want - len(out))), 2))
            out = np.concatenate([out, cand[self.is_free(cand, clearance)]])
        out = out[:want]
        return out[0] if n is None else out

    # --------------------------------------------------------- line queries
    def straight_line_blocked(self, starts: Any, goals: Any) -> Any:
        """Whether the ball, moving straight from start to goal, would hit a wall.

        The segment start -> goal is blocked when it comes closer to a wall than
        ``min(16, clearance(start), clearance(goal)) - 0.5`` px, i.e. the ball
        (radius 12, walls 4) would have to press into a wall more than it
        already does at the ends. Only positions (first two entries) are used.

        Args:
            starts: ``(2,)``/``(S,)`` or ``(N, 2)``/``(N, S)`` positions or states.
            goals: same shapes (broadcast).

        Returns:
            bool for a single pair, else ``(N,)`` bool.
        """
        s = np.asarray(starts, dtype=np.float64)
        g = np.asarray(goals, dtype=np.float64)
        scalar = s.ndim == 1 and g.ndim == 1
        s2, g2 = np.broadcast_arrays(np.atleast_2d(s)[:, :2], np.atleast_2d(g)[:, :2])
        segs = np.concatenate([s2, g2], axis=1)
        dist = segment_segment_distance(segs, self.segments).min(axis=1)
        limit = (
            np.minimum(np.minimum(self.wall_distance(s2), self.wall_distance(g2)), CONTACT_DISTANCE)
            - 0.5
        )
        blocked = dist < limit
        return bool(blocked[0]) if scalar else blocked


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("open", (), "empty arena (control: straight lines always free)"),
        Layout(
            "wall_gap",
            ((256.0, 5.0, 256.0, 370.0), (256.0, 470.0, 256.0, 506.0)),
            "a full-height wall at x=256 with one 100 px gap near the bottom",
        ),
        Layout(
            "u_trap",
            (
                (110.0, 110.0, 400.0, 110.0),
                (400.0, 110.0, 400.0, 402.0),
                (110.0, 402.0, 400.0, 402.0),
            ),
            "a large U-shaped cup open to the west in the middle of the arena",
        ),
        Layout(
            "maze",
            (
                (_G[1], _G[1], _G[3], _G[1]),
                (_G[1], _G[1], _G[1], _G[3]),
                (_G[2], _G[2], _G[3], _G[2]),
                (_G[2], _G[2], _G[2], _G[4]),
                (_G[3], _G[3], _G[4], _G[3]),
            ),
            "a 4x4-cell maze: five interior walls, corridors ~120 px wide",
        ),
    )
}
DEFAULT_LAYOUT = "maze"


def get_layout(layout: str | Layout) -> Layout:
    """Look a layout up by name (a :class:`Layout` passes through).

    Raises:
        ValueError: unknown name.
    """
    if isinstance(layout, Layout):
        return layout
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"unknown BallNav layout {layout!r}; expected one of {sorted(LAYOUTS)}")
    return LAYOUTS[layout]


def straight_line_blocked(layout: str | Layout, starts: Any, goals: Any) -> Any:
    """Module-level form of :meth:`Layout.straight_line_blocked`."""
    return get_layout(layout).straight_line_blocked(starts, goals)
