"""`render`'s contact sheet has a legend: the panels, the goal, GRASP's virtual states."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grasp_bench.cli import app
from grasp_bench.render import legend, legend_items, load_episode, save

from .conftest import FAST


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_dir(tiny_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("legend")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRASP_BENCH_CACHE", str(root / "cache"))
        res = invoke("run", "--horizon", 10, "--episodes", 1, "--planners", "cem,grasp",
                     "--device", "cpu", "--checkpoint", tiny_checkpoint, "--out", root / "r",
                     *FAST)
        assert res.exit_code == 0, res.output
        yield root / "r"


def texts(ep) -> str:
    return "\n".join(t for _, _, t in legend_items(ep))


def test_legend_names_the_panels_the_goal_and_graspss_virtual_states(run_dir):
    grasp = load_episode(run_dir, "grasp", 10, 0)
    text = texts(grasp)
    for words in ("left panel: the simulator", "right panel: the world model",
                  "goal ring", "goal: the T's goal pose", "red frame", "virtual states"):
        assert words in text
    assert "virtual states" not in texts(load_episode(run_dir, "cem", 10, 0))
    strip = legend(grasp, 50)
    assert strip.shape[0] == len(legend_items(grasp)) * 14 + 4 and strip.shape[1] > 50
    assert (strip < 200).any()  # drawn, not blank


def test_contact_sheet_has_the_legend_below_and_the_gif_none(run_dir, tmp_path):
    out = tmp_path / "s.png"
    res = invoke("render", run_dir, "--planner", "grasp", "--horizon", 10, "--out", out,
                 "--size", 64)
    assert res.exit_code == 0, res.output
    ep = load_episode(run_dir, "grasp", 10, 0)
    strip = legend(ep, 0)
    with Image.open(out) as im:
        sheet = np.asarray(im.convert("RGB"))
    assert sheet.shape[0] > strip.shape[0]
    bottom = sheet[-strip.shape[0]:, :strip.shape[1]]
    np.testing.assert_array_equal(bottom, strip)
    frame = np.full((20, 30, 3), 255, np.uint8)
    gif = save([frame, frame], tmp_path / "a.gif", legend=strip)
    with Image.open(gif) as im:
        assert im.size == (30, 20)  # an animation keeps its frames as they are
