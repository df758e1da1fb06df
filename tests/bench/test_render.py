"""`grasp-bench render`: one episode drawn from a run, both modes, and its errors."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grasp_bench.cli import app

from .conftest import FAST

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tiny_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRASP_BENCH_CACHE", str(root / "cache"))
        out = {}
        for mode in ("open", "mpc"):
            out[mode] = root / mode
            res = invoke("run", "--horizon", 10, "--episodes", 2, "--planners", "cem,grasp",
                         "--device", "cpu", "--checkpoint", tiny_checkpoint, "--mode", mode,
                         "--out", out[mode], *FAST)
            assert res.exit_code == 0, res.output
        yield out


def frame_count(path) -> int:
    with Image.open(path) as im:
        return im.n_frames


def test_open_loop_gif_has_a_frame_per_env_step_plus_grasps_virtual_states(runs, tmp_path):
    out = tmp_path / "g.gif"
    res = invoke("render", runs["open"], "--planner", "grasp", "--horizon", 10,
                 "--episode", 1, "--out", out, "--size", 64)
    assert res.exit_code == 0, res.output
    with np.load(runs["open"] / "cells" / "grasp-H10.plans.npz") as f:
        snapshots = f["virtual_states"].shape[1]
        assert f["actions"].shape == (2, 2, 10)
    assert frame_count(out) == 10 + 1 + snapshots
    res = invoke("render", runs["open"], "--planner", "cem", "--horizon", 10,
                 "--out", tmp_path / "c.gif", "--size", 64)
    assert res.exit_code == 0 and frame_count(tmp_path / "c.gif") == 11  # no virtual states


def test_mpc_and_contact_sheet(runs, tmp_path):
    out = tmp_path / "m.png"
    res = invoke("render", runs["mpc"], "--planner", "grasp", "--horizon", 10, "--out", out,
                 "--size", 64)
    assert res.exit_code == 0, res.output
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 2 * 64
    with np.load(runs["mpc"] / "cells" / "grasp-H10.plans.npz") as f:
        assert f["executed"].shape == (2, 10, 2) and f["replans"].shape[:2] == (2, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--planner", "gd", "--horizon", 10), "no cell gd"),
        (("--planner", "cem", "--horizon", 10, "--episode", 5), "--episode"),
        (("--planner", "cem", "--horizon", 10, "--out", "x.mp4"), ".gif or .png"),
        (("--planner", "cem", "--horizon", 10, "--size", 5), "--size"),
    ],
)
def test_bad_render_input_is_one_line(runs, args, message):
    res = invoke("render", runs["open"], *args)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_a_run_without_plans_is_refused(runs, tmp_path):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(runs["open"], copy)
    (copy / "cells" / "cem-H10.plans.npz").unlink()
    res = invoke("render", copy, "--planner", "cem", "--horizon", 10)
    assert res.exit_code == 2 and "plans" in res.output


def test_each_mpc_frame_shows_the_replan_that_was_executing(monkeypatch):
    """T = 8 model steps executed 3 at a time: re-plans begin at env steps 0, 15 and 30
    (not every 40 / 3 steps), and each re-plan's model rollout starts from the state the
    simulator was in then, with the states before it as its past."""
    import torch

    from grasp_bench import render
    from grasp_bench.models.simulator import SimulatorModel
    from grasp_bench.problems import generate
    from grasp_bench.tasks import get_task

    task = get_task("ballnav")
    ps = generate(task, 40, 1)
    plans = np.full((3, 8, 10), np.nan, np.float32)
    ref = ps.actions[0].reshape(8, 10)
    for r, began in enumerate((0, 3, 6)):
        plans[r, : 8 - began] = ref[began:]
    ep = render.Episode(task, SimulatorModel(task, workers=1), "mpc", "cem", ps.starts[0],
                        ps.goals[0], {"executed": ps.actions[0], "replans": plans},
                        ps.past[0])
    captions, starts = [], []
    monkeypatch.setattr(render, "_panel_pair", lambda a, b, c, alarm: captions.append(c))
    real = render._model_latents

    def latents(ep_, seen, actions):
        starts.append(seen[-1])
        return real(ep_, seen, actions)

    monkeypatch.setattr(render, "_model_latents", latents)
    with torch.no_grad():
        render.frames(ep)
    assert len(captions) == 41
    assert "re-plan 1/3" in captions[14] and "re-plan 2/3" in captions[15]
    assert "re-plan 2/3" in captions[29] and "re-plan 3/3" in captions[30]
    from envs import replay

    sim = replay(task.env_id, ps.starts[:1], ps.actions[:1], **task.env_kwargs)[0]
    np.testing.assert_allclose(np.array(starts), sim[[0, 15, 30]], atol=1e-6)
