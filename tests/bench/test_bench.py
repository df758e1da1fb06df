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
    long = to_env_actions(torch.arange(2 * 7 * 4.0).reshape(2, 7, 4), frameskip=2)
    assert long.shape == (2, 14, 2)  # more model steps than the frameskip
    np.testing.assert_array_equal(long[1, 13], [54, 55])
    assert snapshot_every(750, 16) == 47 and snapshot_every(30, 16) == 2
    assert snapshot_every(5, 16) == 1


def test_snapshots_fall_on_the_planners_natural_boundaries():
    """GRASP syncs every 50 iterations: snapshots must come right after a sync, never
    47 iterations in (just before the sync that corrects the actions)."""
    assert snapshot_every(750, 16, period=50) == 50
    assert snapshot_every(1500, 16, period=25) == 100
    assert snapshot_every(750, 100, period=50) == 50


def test_a_plan_made_in_the_z_scored_space_is_executed_as_the_raw_plan(tiny_checkpoint,
                                                                       monkeypatch):
    """The harness denormalizes a planner's plan before it judges, executes and saves it:
    the z-plan's rows equal those of its raw plan replayed directly."""
    import grasp_bench.bench as bench
    from grasp_bench.judging import judge
    from grasp_bench.models.action_space import ActionStats
    from grasp_bench.planners import PlanResult

    model, _ = load_checkpoint(tiny_checkpoint)
    task = get_task("pusht")
    problems = generate(task, 10, 3)
    stats = ActionStats(mean=(0.05, -0.1), std=(0.2, 0.3))
    k, T = model.frameskip, 10 // model.frameskip
    z_plan = torch.linspace(-2.0, 2.0, 3 * T * model.action_dim).reshape(3, T, -1)

    class Fixed:
        """Returns ``z_plan`` whatever it is asked (a planner in the z-scored space)."""

        config = type("C", (), {"iterations": 1})()
        snapshot_period = 1

        def plan(self, m, z0, zg, horizon, **kw):
            lo, hi = m.action_low, m.action_high  # the planner sees the z-scored box
            assert (lo > -6).all() and (hi < 6).all() and not torch.equal(lo, -hi)
            plan = z_plan[: len(z0)]
            return PlanResult(plan, torch.zeros(len(z0)), 1, [(1, 0.01, plan)], 0.01)

    monkeypatch.setattr(bench, "make_planner", lambda name, overrides: Fixed())
    ctx = CellContext(task=task, model=model, model_info={"name": "tiny", "sha256": "x"},
                      device=torch.device("cpu"), seed=0, goal_weights=None, objective="task",
                      threads=1, action_stats=stats)
    cell = run_cell(ctx, problems, "fixed", {}, snapshots=1)
    raw = (torch.tensor(stats.mean * k) + torch.tensor(stats.std * k) * z_plan).clamp(-1, 1)
    np.testing.assert_allclose(cell.plans["actions"], raw.numpy(), rtol=1e-6, atol=1e-7)
    success, dist = judge(task, problems.starts, problems.goals, to_env_actions(raw, k))
    np.testing.assert_allclose(cell.episodes["real_error"].to_numpy(), dist, rtol=1e-6)
    assert cell.episodes["success_executed"].tolist() == success.tolist()
