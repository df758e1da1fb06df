"""The harness on its own: NaN plans, batching, snapshot judging."""

import numpy as np
import torch

from grasp_bench.bench import run_cell, snapshot_every, to_env_actions
from grasp_bench.models.checkpoint import load_checkpoint
from grasp_bench.problems import generate
from grasp_bench.tasks import get_task

FAST = {"iterations": 4}


def _cell(model, planner="gd", batch_size=None):
    task = get_task("pusht")
    problems = generate(task, 10, 3)
    info = {"name": "tiny", "sha256": "x"}
    return run_cell(task, model, info, problems, planner, FAST, device=torch.device("cpu"),
                    seed=0, batch_size=batch_size, snapshots=2)


def test_nan_plans_are_failures_with_a_reason_and_the_run_goes_on(tiny_checkpoint):
    model, _ = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        model.linear.bias.fill_(float("nan"))
    cell = _cell(model)
    assert len(cell.episodes) == 3
    assert (cell.episodes["reason"] == "nan plan").all()
    assert not cell.episodes["success"].any() and not cell.episodes["success_model"].any()


def test_batches_cover_every_problem_once(tiny_checkpoint):
    model, _ = load_checkpoint(tiny_checkpoint)
    cell = _cell(model, batch_size=2)
    assert list(cell.episodes["episode"]) == [0, 1, 2]
    assert list(cell.episodes["batch_size"]) == [2, 2, 1]
    # the last snapshot of every episode is the returned plan's verdict
    last = cell.snapshots.groupby("episode").tail(1).set_index("episode")
    np.testing.assert_array_equal(last["success"], cell.episodes["success"])


def test_env_action_layout_and_snapshot_spacing():
    plan = torch.arange(2 * 3 * 10, dtype=torch.float32).reshape(2, 3, 10)
    env = to_env_actions(plan, frameskip=5)
    assert env.shape == (2, 15, 2)
    np.testing.assert_array_equal(env[0, 5], [10, 11])  # model step 1, first env action
    assert snapshot_every(750, 16) == 47 and snapshot_every(30, 16) == 2
    assert snapshot_every(5, 16) == 1
