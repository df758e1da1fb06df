"""``grasp_bench.api``: the CLI's cells from Python, for a built-in and a plugin planner."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from grasp_bench import api
from grasp_bench.cli import app
from grasp_bench.errors import UserError
from tests.plugin_support import plugins_from

TIME_COLUMNS = ["time_to_success_model_s", "time_to_success_executed_s",
                "time_to_success_mpc_s", "planning_time_s"]
CEM = {"iterations": 2, "samples": 16, "topk": 4}


@pytest.fixture(autouse=True)
def _problem_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))


def untimed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=TIME_COLUMNS).reset_index(drop=True)


def test_run_cell_gives_the_cli_cell_with_wilson_intervals(tiny_checkpoint, tmp_path):
    cell = api.run_cell("pusht", "cem", 10, episodes=2, overrides=CEM, checkpoint=tiny_checkpoint)
    assert len(cell.episodes) == 2 and (cell.episodes.planner == "cem").all()
    row = cell.summary.iloc[0]
    assert row.n == 2 and row.executed_ci_low <= row.executed_rate <= row.executed_ci_high
    assert cell.plans["actions"].shape == (2, 2, 10)  # (n, T = H / k, A = k * 2)
    assert len(cell.problems) == 2 and cell.problems.horizon == 10
    again = api.run_cell("pusht", "cem", 10, episodes=2, overrides=CEM,
                         checkpoint=tiny_checkpoint)
    pd.testing.assert_frame_equal(untimed(cell.episodes), untimed(again.episodes))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, [
        "run", "--horizon", "10", "--episodes", "2", "--planners", "cem", "--device", "cpu",
        "--checkpoint", str(tiny_checkpoint), "--out", str(out),
        *[x for k, v in CEM.items() for x in ("--set", f"cem.{k}={v}")]])
    assert res.exit_code == 0, res.output
    cli = pd.read_csv(out / "episodes.csv", keep_default_na=False, na_values=[""])
    ours = untimed(cell.episodes)
    pd.testing.assert_frame_equal(untimed(cli)[["seed", "success_executed", "model_cost"]],
                                  ours[["seed", "success_executed", "model_cost"]],
                                  check_dtype=False)


def test_run_cell_with_a_plugin_planner_is_deterministic(plugin_dirs, tiny_checkpoint):
    with plugins_from(plugin_dirs["plugin_example"]):
        kw = dict(episodes=2, overrides={"iterations": 2, "samples": 8},
                  checkpoint=tiny_checkpoint, seed=3)
        a = api.run_cell("pusht", "random-shooting", 10, **kw)
        b = api.run_cell("pusht", "random-shooting", 10, **kw)
    pd.testing.assert_frame_equal(untimed(a.episodes), untimed(b.episodes))
    assert (a.plans["actions"] == b.plans["actions"]).all()
    assert abs(a.plans["actions"]).max() <= 1 and "executed_ci_high" in a.summary


@pytest.mark.parametrize("kwargs, message", [
    (dict(planner="nope"), "unknown planner"),
    (dict(horizon=7), "multiple of the model's frameskip"),
    (dict(horizon=10.0), "horizon must be an int"),
    (dict(overrides={"samples": "many"}), "expects an int"),
    (dict(overrides=["samples=3"]), "overrides must be a mapping"),
    (dict(episodes=0), "episodes must be an int"),
    (dict(env="atari"), "unknown env"),
])
def test_bad_input_is_a_one_line_user_error(kwargs, message, tiny_checkpoint):
    args = {"env": "pusht", "planner": "cem", "horizon": 10, "checkpoint": tiny_checkpoint,
            **kwargs}
    with pytest.raises(UserError, match=message) as e:
        api.run_cell(**args)
    assert "\n" not in str(e.value)


def test_load_model_and_problems(tiny_checkpoint):
    import torch

    threads = torch.get_num_threads()
    model, manifest = api.load_model("pusht", checkpoint=tiny_checkpoint)
    assert torch.get_num_threads() == threads
    assert manifest["architecture"]["class"] == "StateMLP" and model.frameskip == 5
    probs = api.problems("pusht", 10, 3, source="behaviour")
    assert probs.starts.shape == (3, 7) and probs.actions.shape == (3, 10, 2)
    z = model.encode(torch.as_tensor(probs.starts, dtype=torch.float32))
    assert model.rollout(z, torch.zeros(3, 2, model.action_dim)).shape == (3, 3, z.shape[1])
    with pytest.raises(UserError, match="split"):
        api.problems("pusht", 10, 3, split="train")
    assert __import__("grasp_bench").api is api


@pytest.mark.parametrize("env, cls", [("pusht", "KeypointWM"), ("ballnav", "KeypointWM")])
def test_the_shipped_visual_models_load_and_plan(env, cls):
    """The shipped visual checkpoints load offline (sha256 checked) and serve a cell."""
    import torch

    model, manifest = api.load_model(env, model="pixel")
    assert manifest["architecture"]["class"] == cls and model.latent_dim >= 64
    starts = api.problems(env, 20, 2).starts
    with torch.no_grad():
        z = model.encode(torch.as_tensor(starts, dtype=torch.float32))
    assert z.shape == (2, model.latent_dim)
    cell = api.run_cell(env, "cem", 20, episodes=2, overrides=CEM, model="pixel")
    assert len(cell.episodes) == 2 and (cell.episodes.model == f"{env}-pixel").all()
