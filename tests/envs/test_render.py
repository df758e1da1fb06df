"""Renderer output and the committed README pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from envs import ballnav, pusht
from envs.render_assets import render_all

ASSETS = Path(__file__).resolve().parents[2] / "envs" / "assets"


def test_committed_assets_are_up_to_date(tmp_path: Path) -> None:
    written = render_all(tmp_path)
    names = sorted(p.name for p in written)
    assert names == sorted(
        ["pusht.png"] + [f"ballnav_{n}.png" for n in ("open", "wall_gap", "u_trap", "maze")]
    )
    for path in written:
        fresh = np.asarray(Image.open(path))
        assert fresh.shape == (256, 256, 3)
        committed = np.asarray(Image.open(ASSETS / path.name).convert("RGB"))
        np.testing.assert_array_equal(fresh, committed, err_msg=f"regenerate {path.name}")


def test_ballnav_render_draws_goal_ball_and_walls() -> None:
    img = ballnav.render_state([100.0, 100.0, 0.0, 0.0], "wall_gap", [400.0, 400.0], size=128)
    scale = 128 / 512
    ball = img[int(100 * scale), int(100 * scale)]
    goal = img[int(400 * scale) + 3, int(400 * scale) + 3]
    wall = img[int(200 * scale), int(256 * scale)]
    free = img[int(300 * scale), int(100 * scale)]
    assert ball[2] > 200 and ball[0] < 120  # blue ball
    assert tuple(goal) == (144, 238, 144)  # light-green goal disc
    assert wall.max() < 120  # dark wall
    assert tuple(free) == (255, 255, 255)


def test_pusht_render_goal_state_overlay() -> None:
    state = np.array([60.0, 60.0, 400.0, 400.0, 0.0, 0.0, 0.0])
    goal = np.array([300.0, 100.0, 150.0, 300.0, 1.0, 0.0, 0.0])
    with_goal = pusht.render_state(state, goal_state=goal, size=128)
    no_goal = pusht.render_state(state, None, size=128)
    assert (with_goal != no_goal).any(axis=-1).sum() > 300
