"""Pillow renderer shared by the environments (no pygame, no OpenCV).

World coordinates are pymunk's, in pixels of the 512 x 512 arena with y
pointing down (the pygame convention of the reference Push-T), so image row =
``y * size / 512``. Colours follow the reference (pygame colour names).

Public helpers return ``(size, size, 3)`` uint8 arrays:
:func:`draw_pusht` and :func:`draw_ballnav`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw

ARENA = 512.0

WHITE = (255, 255, 255)
LIGHT_GREEN = (144, 238, 144)  # pygame "LightGreen": goal
LIGHT_SLATE_GRAY = (119, 136, 153)  # block outline
BLOCK_FILL = (142, 163, 183)  # 1.2 x LightSlateGray, as the reference's light_color
ROYAL_BLUE = (65, 105, 225)  # agent / ball
AGENT_FILL = (78, 126, 255)  # 1.2 x RoyalBlue
LIGHT_GRAY = (211, 211, 211)  # Push-T walls
WALL_GRAY = (90, 90, 90)  # BallNav walls
GOAL_GREEN = (34, 139, 34)  # BallNav goal centre
PATH_ORANGE = (255, 140, 0)
LINE_RED = (220, 40, 40)


class Canvas:
    """A square Pillow image addressed in world (arena) coordinates.

    Args:
        size: output side in pixels.
        supersample: draw at ``size * supersample`` and downsample (antialiasing);
            1 is fastest.
    """

    def __init__(self, size: int, supersample: int = 1) -> None:
        self.size = int(size)
        self.ss = int(supersample)
        side = self.size * self.ss
        self.scale = side / ARENA
        self.image = Image.new("RGB", (side, side), WHITE)
        self.draw = ImageDraw.Draw(self.image)

    def _xy(self, points: Iterable[Sequence[float]]) -> list[tuple[float, float]]:
        s = self.scale
        return [(float(x) * s, float(y) * s) for x, y in points]

    def polygon(
        self,
        points: Iterable[Sequence[float]],
        fill: tuple[int, int, int],
        outline: tuple[int, int, int] | None = None,
        width: float = 0.0,
    ) -> None:
        """Filled polygon; ``width`` of the outline in world pixels."""
        xy = self._xy(points)
        self.draw.polygon(xy, fill=fill)
        if outline is not None and width > 0:
            w = max(1, round(width * self.scale))
            self.draw.line([*xy, xy[0]], fill=outline, width=w, joint="curve")

    def circle(
        self,
        center: Sequence[float],
        radius: float,
        fill: tuple[int, int, int] | None,
        outline: tuple[int, int, int] | None = None,
        width: float = 0.0,
    ) -> None:
        """Disc (or ring with ``fill=None``) of ``radius`` world pixels."""
        (cx, cy), r = self._xy([center])[0], radius * self.scale
        w = max(1, round(width * self.scale)) if outline is not None else 0
        self.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill, outline=outline, width=w)

    def capsule(
        self, a: Sequence[float], b: Sequence[float], radius: float, fill: tuple[int, int, int]
    ) -> None:
        """Segment of half-thickness ``radius`` with round caps (a pymunk Segment)."""
        (ax, ay), (bx, by) = self._xy([a, b])
        r = radius * self.scale
        self.draw.line([(ax, ay), (bx, by)], fill=fill, width=max(1, round(2 * r)))
        for cx, cy in ((ax, ay), (bx, by)):
            self.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)

    def polyline(
        self,
        points: Iterable[Sequence[float]],
        fill: tuple[int, int, int],
        width: float,
        dash: float = 0.0,
    ) -> None:
        """Open polyline; ``dash > 0`` draws dashes of that world length."""
        pts = self._xy(points)
        w = max(1, round(width * self.scale))
        if dash <= 0:
            self.draw.line(pts, fill=fill, width=w, joint="curve")
            return
        step = dash * self.scale
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True):
            length = math.hypot(x1 - x0, y1 - y0)
            n = max(1, int(length // step))
            for i in range(0, n, 2):
                t0, t1 = i / n, min(1.0, (i + 1) / n)
                self.draw.line(
                    [
                        (x0 + t0 * (x1 - x0), y0 + t0 * (y1 - y0)),
                        (x0 + t1 * (x1 - x0), y0 + t1 * (y1 - y0)),
                    ],
                    fill=fill,
                    width=w,
                )

    def to_array(self) -> np.ndarray:
        """``(size, size, 3)`` uint8."""
        img = self.image
        if self.ss > 1:
            img = img.resize((self.size, self.size), Image.Resampling.BOX)
        return np.asarray(img, dtype=np.uint8).copy()


def pose_points(local: np.ndarray, x: float, y: float, angle: float) -> np.ndarray:
    """Rigid transform of local points ``(K, 2)`` to the world pose ``(x, y, angle)``."""
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return local @ rot.T + np.array([x, y])


def draw_pusht(
    state: np.ndarray,
    goal_pose: Sequence[float] | None,
    shapes: Sequence[np.ndarray],
    walls: Sequence[Sequence[float]],
    wall_radius: float,
    agent_radius: float,
    size: int = 224,
    goal_agent: Sequence[float] | None = None,
    supersample: int = 1,
) -> np.ndarray:
    """Draw a Push-T state (the reference look, with the goal T in light green).

    Args:
        state: ``(>=5,)`` ``[agent_x, agent_y, block_x, block_y, block_angle, ...]``.
        goal_pose: ``(3,)`` goal block pose ``(x, y, angle)`` or None.
        shapes: local vertices of the block's convex parts, each ``(K, 2)``.
        walls: ``(W, 4)`` wall segments; ``wall_radius`` their half-thickness.
        agent_radius: agent disc radius.
        size: output side in pixels.
        goal_agent: optional ``(2,)`` goal agent position, drawn as a green ring.
        supersample: antialiasing factor (1 = fastest).

    Returns:
        ``(size, size, 3)`` uint8.
    """
    cv = Canvas(size, supersample)
    if goal_pose is not None:
        gx, gy, ga = (float(v) for v in goal_pose[:3])
        for part in shapes:
            cv.polygon(pose_points(part, gx, gy, ga), fill=LIGHT_GREEN)
    for x0, y0, x1, y1 in walls:
        cv.capsule((x0, y0), (x1, y1), wall_radius, LIGHT_GRAY)
    bx, by, ba = float(state[2]), float(state[3]), float(state[4])
    for part in shapes:
        cv.polygon(
            pose_points(part, bx, by, ba), fill=BLOCK_FILL, outline=LIGHT_SLATE_GRAY, width=2.0
        )
    if goal_agent is not None:
        cv.circle(goal_agent[:2], agent_radius, None, outline=GOAL_GREEN, width=2.0)
    agent = (float(state[0]), float(state[1]))
    cv.circle(agent, agent_radius, ROYAL_BLUE)
    cv.circle(agent, max(agent_radius - 4.0, 1.0), AGENT_FILL)
    return cv.to_array()


def draw_ballnav(
    state: np.ndarray,
    walls: Sequence[Sequence[float]],
    wall_radius: float,
    ball_radius: float,
    goal: Sequence[float] | None = None,
    goal_radius: float = 20.0,
    size: int = 224,
    path: np.ndarray | None = None,
    straight_line: bool = False,
    supersample: int = 1,
) -> np.ndarray:
    """Draw a BallNav state with its walls and goal disc.

    Args:
        state: ``(>=2,)`` ``[x, y, ...]`` ball position first.
        walls: ``(W, 4)`` wall segments; ``wall_radius`` their half-thickness.
        ball_radius: ball radius.
        goal: optional ``(>=2,)`` goal position, drawn as a light-green disc of
            ``goal_radius`` (the success radius) with a dark-green centre.
        size: output side in pixels.
        path: optional ``(K, 2)`` waypoints drawn as an orange polyline.
        straight_line: also draw the straight start -> goal segment (dashed red).
        supersample: antialiasing factor (1 = fastest).

    Returns:
        ``(size, size, 3)`` uint8.
    """
    cv = Canvas(size, supersample)
    if goal is not None:
        cv.circle(goal[:2], goal_radius, LIGHT_GREEN)
        cv.circle(goal[:2], 3.0, GOAL_GREEN)
    for x0, y0, x1, y1 in walls:
        cv.capsule((x0, y0), (x1, y1), wall_radius, WALL_GRAY)
    if straight_line and goal is not None:
        cv.polyline([state[:2], goal[:2]], LINE_RED, width=2.0, dash=8.0)
    if path is not None and len(path) > 1:
        cv.polyline(np.asarray(path)[:, :2], PATH_ORANGE, width=3.0)
    ball = (float(state[0]), float(state[1]))
    cv.circle(ball, ball_radius, ROYAL_BLUE)
    cv.circle(ball, max(ball_radius - 3.0, 1.0), AGENT_FILL)
    return cv.to_array()
