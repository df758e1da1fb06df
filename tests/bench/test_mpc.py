"""Closed-loop evaluation: the simulator is stepped only by the harness, plans are warm
started, success is the state after H env steps."""

import math

import numpy as np
import torch

from grasp_bench import mpc
from grasp_bench.models.checkpoint import load_checkpoint
from grasp_bench.models.simulator import SimulatorModel
from grasp_bench.mpc import replan_iterations, run_mpc_cell
from grasp_bench.planners import REGISTRY
from grasp_bench.problems import generate
from grasp_bench.tasks import get_task

from .test_bench import context


def test_replan_budget_rounds_to_the_planners_period():
    assert replan_iterations(750, 0.25, period=50) == 200
    assert replan_iterations(750, 0.01, period=50) == 50  # at least one period
    assert replan_iterations(30, 0.1) == 3


def test_every_planner_runs_closed_loop_with_warm_starts(tiny_checkpoint, monkeypatch):
    model, _ = load_checkpoint(tiny_checkpoint)
    problems = generate(get_task("pusht"), 15, 2)  # T = 3 model steps
    for name in REGISTRY:
        inits = []
        real = mpc.make_planner

        def recording(n, over, real=real, inits=inits):
            planner = real(n, over)
            plan = planner.plan

            def wrapped(*a, **k):
                inits.append(None if k.get("init") is None else tuple(k["init"].shape))
                return plan(*a, **k)

            planner.plan = wrapped
            return planner

        monkeypatch.setattr(mpc, "make_planner", recording)
        cell = run_mpc_cell(context(model), problems, name, {"iterations": 4}, execute=1)
        # the first plan (no init), then warm-started re-plans of the shifted plan
        assert inits == [None, (2, 2, 10), (2, 1, 10)], name
        eps = cell.episodes
        assert (eps["mode"] == "mpc").all() and (eps["replans"] == 3).all()
        assert eps["success_model"].isna().all() and eps["success_executed"].isna().all()
        assert len(cell.snapshots) == 2 * 3


class Replay:
    """A planner that returns the problems' own reference actions (what is left of them)."""

    snapshot_period = 1
    config = type("C", (), {"iterations": 1})()

    def __init__(self, problems):
        n, H = problems.actions.shape[:2]
        self.ref = torch.as_tensor(problems.actions, dtype=torch.float32).reshape(n, H // 5, 10)

    def plan(self, model, z0, zg, horizon, *, generator, goal_weights=None, init=None, **_):
        from grasp_bench.planners.base import PlanResult

        # in the planners' z-scored space, which the harness turns back into env actions
        acts = model.to_z(self.ref[:, self.ref.shape[1] - horizon:])
        return PlanResult(acts, torch.zeros(len(z0)), 1, [(1, 0.5, acts)], 0.5)


def test_mpc_success_is_the_simulator_state_after_h_steps(monkeypatch):
    """With the problem's own reference actions as the plan (a planner that returns them),
    closed loop reproduces the reference trajectory exactly: every episode succeeds, and
    time-to-success is the time of the last re-plan (the goal is reached at the end)."""
    task = get_task("ballnav")
    model = SimulatorModel(task, workers=1)
    problems = generate(task, 15, 3)
    monkeypatch.setattr(mpc, "make_planner", lambda *a, **k: Replay(problems))
    cell = run_mpc_cell(context(model, task), problems, "cem", {"samples": 4, "topk": 2},
                        execute=1)
    eps = cell.episodes
    assert eps["success_mpc"].all()
    np.testing.assert_allclose(eps["time_to_success_mpc_s"], 1.5)  # 3 re-plans x 0.5 s
    assert (eps["real_error"] < 1e-3).all()  # px; the z-score round trip rounds in float32
    assert not math.isnan(eps["planning_time_s"].iloc[0])


def test_a_history_model_is_given_the_states_mpc_executed(monkeypatch):
    """A model with a history of 2 frames sees, at each re-plan, the state the simulator was
    in one model step (5 env steps) before; at the first plan, the problem's own past."""
    from envs import replay

    task = get_task("ballnav")
    problems = generate(task, 15, 2)
    seen = []

    class Remembering(SimulatorModel):
        history = 2

        def encode_history(self, states):
            seen.append(states[:, 0].double().numpy())
            return self.encode(states[:, -1])

    monkeypatch.setattr(mpc, "make_planner", lambda *a, **k: Replay(problems))
    run_mpc_cell(context(Remembering(task, workers=1), task), problems, "cem", {}, execute=1)
    truth = replay(task.env_id, problems.starts, problems.actions, **task.env_kwargs)  # (2, 16, S)
    # the reference-fidelity check, then the plans at env steps 0, 5 and 10
    assert len(seen) == 4
    np.testing.assert_allclose(seen[0], problems.past[:, -5], atol=1e-4)
    np.testing.assert_allclose(seen[1], problems.past[:, -5], atol=1e-4)
    np.testing.assert_allclose(seen[2], truth[:, 0], atol=1e-3)
    np.testing.assert_allclose(seen[3], truth[:, 5], atol=1e-3)
