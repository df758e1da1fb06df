"""Regenerate the README pictures: ``python -m envs.render_assets [--out envs/assets]``.

Writes ``pusht.png`` and ``ballnav_<layout>.png`` (256 x 256). BallNav pictures
show the ball (blue), the goal disc (green, success radius), the straight line
to the goal (dashed red) and the shortest path around the walls (orange).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from envs import ballnav, pusht
from envs.layouts import LAYOUTS
from envs.paths import shortest_path

SIZE = 256
#: Hand-picked start/goal positions per layout: a blocked straight line where possible.
BALLNAV_SCENES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "open": ((90.0, 420.0), (420.0, 110.0)),
    "wall_gap": ((130.0, 150.0), (390.0, 120.0)),
    "u_trap": ((250.0, 256.0), (460.0, 256.0)),
    "maze": ((60.0, 60.0), (320.0, 445.0)),
}
#: Push-T: block away from the goal, agent next to it.
PUSHT_STATE = np.array([150.0, 330.0, 330.0, 350.0, 2.2, 0.0, 0.0])


def render_all(out: Path) -> list[Path]:
    """Render every picture into ``out``; returns the written paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    img = pusht.render_state(PUSHT_STATE, pusht.GOAL_POSE, size=SIZE, supersample=2)
    written.append(out / "pusht.png")
    Image.fromarray(img).save(written[-1], optimize=True)
    for name in LAYOUTS:
        start, goal = BALLNAV_SCENES[name]
        path = shortest_path(name, start, goal)
        img = ballnav.render_state(
            np.array([*start, 0.0, 0.0]),
            name,
            goal,
            size=SIZE,
            path=path,
            straight_line=True,
            supersample=2,
        )
        written.append(out / f"ballnav_{name}.png")
        Image.fromarray(img).save(written[-1], optimize=True)
    return written


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "assets")
    args = parser.parse_args(argv)
    for path in render_all(args.out):
        print(path)


if __name__ == "__main__":
    main()
