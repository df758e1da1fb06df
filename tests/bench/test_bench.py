"""The open-loop harness: metrics, time-to-success, NaN plans, batching, snapshots."""

import math

import numpy as np
import torch

from grasp_bench.bench import (
    CellContext,
    run_cell,
    snapshot_every,
    time_to_success,
    to_env_actions,
)
from grasp_bench.models.checkpoint import load_checkpoint
from grasp_bench.problems import generate
from grasp_bench.results import anytime_curve, summarize
from grasp_bench.tasks import get_task

FAST = {"iterations": 4}


def context(model, task=None, weights=None):
    return CellContext(task=task or get_task("pusht"), model=model,
                       model_info={"name": "tiny", "sha256": "x"},
                       device=torch.device("cpu"), seed=0, goal_weights=weights,
                       objective="task", threads=1)


def _cell(model, planner="gd", batch_size=None):
    problems = generate(get_task("pusht"), 10, 3)
    return run_cell(context(model), problems, planner, FAST, batch_size=batch_size,
                    snapshots=2)


def test_time_to_success_is_the_first_snapshot_from_which_the_plan_stays_successful():
    # episodes: succeeds then fails; fails then succeeds for good; always; flickers to a failure
    success = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [0, 1, 1, 1]], bool)
    tts = time_to_success(success, np.array([1.0, 2.0, 3.0]))
    assert math.isnan(tts[0])  # the returned plan fails: no time, even though a snapshot won
    assert tts[1] == 2.0 and tts[2] == 1.0 and tts[3] == 3.0


def test_anytime_curve_ends_at_the_headline_rate_for_a_planner_that_succeeds_then_fails(
        tiny_checkpoint):
    model, _ = load_checkpoint(tiny_checkpoint)
    cell = _cell(model)
    eps = cell.episodes.copy()
    # one episode whose snapshots succeeded and then failed: no success, no time
    eps.loc[0, ["success_model", "time_to_success_model_s"]] = [False, math.nan]
    eps.loc[1:, "success_model"] = True
    eps.loc[1:, "time_to_success_model_s"] = [0.5, 0.2]
    rate = summarize(eps)["model_rate"].iloc[0]
    curve = anytime_curve(eps, "model")
    assert rate == 2 / 3 and curve["solved_fraction"].iloc[-1] == rate
    assert (curve["ci_low"] <= curve["solved_fraction"]).all()


def test_failed_episodes_have_no_time_to_success(tiny_checkpoint):
    model, _ = load_checkpoint(tiny_checkpoint)
    eps = _cell(model).episodes
    for m in ("model", "executed"):
        failed = ~eps[f"success_{m}"].astype(bool)
        assert eps.loc[failed, f"time_to_success_{m}_s"].isna().all()
    assert eps["success_mpc"].isna().all()  # open loop does not measure MPC


def test_nan_plans_are_failures_with_a_reason_and_the_run_goes_on(tiny_checkpoint):
    model, _ = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        model.linear.bias.fill_(float("nan"))
    cell = _cell(model)
    assert len(cell.episodes) == 3
    assert (cell.episodes["reason"] == "nan plan").all()
    assert not cell.episodes["success_executed"].any()
    assert not cell.episodes["success_model"].any()


def test_batches_cover_every_problem_once(tiny_checkpoint):
    model, _ = load_checkpoint(tiny_checkpoint)
    cell = _cell(model, batch_size=2)
    assert list(cell.episodes["episode"]) == [0, 1, 2]
    assert list(cell.episodes["batch_size"]) == [2, 2, 1]
    # the last snapshot of every episode is the returned plan's verdict
    last = cell.snapshots.groupby("episode").tail(1).set_index("episode")
    for m in ("model", "executed"):
        np.testing.assert_array_equal(last[f"success_{m}"], cell.episodes[f"success_{m}"])


def test_env_action_layout_and_snapshot_spacing():
    plan = torch.arange(2 * 3 * 10, dtype=torch.float32).reshape(2, 3, 10)
    env = to_env_actions(plan, frameskip=5)
    assert env.shape == (2, 15, 2)
    np.testing.assert_array_equal(env[0, 5], [10, 11])  # model step 1, first env action
    assert snapshot_every(750, 16) == 47 and snapshot_every(30, 16) == 2
    assert snapshot_every(5, 16) == 1


def test_snapshots_fall_on_the_planners_natural_boundaries():
    """GRASP syncs every 50 iterations: snapshots must come right after a sync, never
    47 iterations in (just before the sync that corrects the actions)."""
    assert snapshot_every(750, 16, period=50) == 50
    assert snapshot_every(1500, 16, period=25) == 100
    assert snapshot_every(750, 100, period=50) == 50
