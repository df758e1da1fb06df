"""What every planner shares: the goal metric and warm starts (MPC)."""

from __future__ import annotations

import pytest
import torch

from grasp_bench.planners import REGISTRY, terminal_cost
from grasp_bench.planners.base import goal_cost
from tests.planners.conftest import FAST, A, LinearModel, T, make_problems, run

PLANNERS = list(REGISTRY)


def test_goal_cost_ignores_dims_with_zero_weight():
    """A plan that matches positions and angle but not velocity scores (near) zero."""
    z, g = torch.tensor([[1.0, 2.0, 3.0, 9.0]]), torch.tensor([[1.0, 2.0, 3.0, -9.0]])
    w = torch.tensor([1.0, 1.0, 1.0, 0.0])
    assert goal_cost(z, g, w).item() == 0.0
    assert goal_cost(z, g, None).item() == pytest.approx(324.0)


@pytest.mark.parametrize("name", PLANNERS)
def test_every_planner_minimises_the_weighted_goal_cost(name, model):
    """With weight 0 on one latent dim, every planner's returned cost is the weighted
    terminal cost, and it ignores that dim: a goal moved far along it is as easy."""
    z0, g, _ = make_problems(model, B=3)
    w = torch.tensor([1.0, 1.0, 1.0, 0.0])
    far = g.clone()
    far[:, 3] += 100.0
    result = run(name, FAST[name], model, z0, far, goal_weights=w)
    with torch.no_grad():
        expected = terminal_cost(model, z0, result.actions, far, w)
    torch.testing.assert_close(result.cost, expected)
    if not name.startswith("grasp"):  # GRASP's virtual states start on the line z0 -> g
        near = run(name, FAST[name], model, z0, g, goal_weights=w)
        torch.testing.assert_close(result.cost, near.cost, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", PLANNERS)
def test_a_warm_start_at_the_solution_is_kept_close(name, model):
    """Warm-started from the reference plan (an exact solution), every planner returns a
    plan at least as good as a cold start and near the goal."""
    z0, g, ref = make_problems(model, B=3)
    warm = run(name, FAST[name], model, z0, g, init=ref)
    cold = run(name, FAST[name], model, z0, g)
    assert warm.cost.mean() <= cold.cost.mean() + 1e-6
    if name != "grasp-nosync":  # without the sync the relaxed loss alone moves the actions
        assert warm.cost.max() < 0.2, name


@pytest.mark.parametrize("name", PLANNERS)
def test_bad_warm_start_and_weights_are_refused(name, model):
    z0, g, ref = make_problems(model, B=2)
    with pytest.raises(ValueError, match="init"):
        run(name, FAST[name], model, z0, g, init=ref[:, :-1])
    with pytest.raises(ValueError, match="goal_weights"):
        run(name, FAST[name], model, z0, g, goal_weights=-torch.ones(4))


def test_planners_declare_a_snapshot_period():
    from grasp_bench.planners import make_planner

    periods = {name: make_planner(name).snapshot_period for name in PLANNERS}
    # every iteration may be a snapshot, but GRASP's fall right after its syncs
    assert periods == {**dict.fromkeys(PLANNERS, 1), "grasp": 12, "grasp-author": 50,
                       "grasp-nosg": 12, "grasp-nonoise": 12, "grasp-nogoal": 12}
    assert make_planner("grasp", {"sync_every": 25}).snapshot_period == 25
    assert make_planner("grasp", {"sync_every": 0}).snapshot_period == 1
    assert make_planner("grasp", {"sync_every": 7, "sync_steps": 1}).snapshot_period == 7
    assert make_planner("grasp", {"sync_every": 1}).snapshot_period == 1


@pytest.mark.parametrize("name", PLANNERS)
def test_without_snapshot_every_only_the_returned_plan_is_a_snapshot(name, model):
    z0, g, _ = make_problems(model, B=2)
    result = run(name, FAST[name], model, z0, g)
    assert len(result.snapshots) == 1
    iteration, _, actions = result.snapshots[0]
    assert iteration == result.iterations
    torch.testing.assert_close(actions, result.actions.cpu(), rtol=0, atol=0)


@pytest.mark.parametrize("name", PLANNERS)
def test_plan_takes_the_problem_by_position_and_every_option_by_keyword(name):
    """The Planner protocol's signature: ``plan(model, z0, z_goal, horizon, *, ...)``."""
    import inspect

    from grasp_bench.planners import make_planner

    params = list(inspect.signature(make_planner(name).plan).parameters.values())
    assert [p.name for p in params[:4]] == ["model", "z0", "z_goal", "horizon"]
    assert {p.kind for p in params[:4]} == {inspect.Parameter.POSITIONAL_OR_KEYWORD}
    assert {p.kind for p in params[4:]} == {inspect.Parameter.KEYWORD_ONLY}
    assert {p.name for p in params[4:]} >= {"generator", "goal_weights", "init",
                                             "snapshot_every", "on_snapshot"}


def _string_choices() -> list[tuple[str, str, str]]:
    import dataclasses

    return [(name, f.name, choice) for name in PLANNERS
            for f in dataclasses.fields(REGISTRY[name][0]) if "choices" in f.metadata
            for choice in f.metadata["choices"]]


@pytest.mark.parametrize(("name", "field", "choice"), _string_choices())
def test_a_choice_read_from_the_command_line_plans_as_the_literal(name, field, choice,
                                                                  model):
    """A string option parsed at run time is a new object, not the interned literal the
    planner compares it with: the plan must be the same (``==``, never ``is``)."""
    fresh = "".join(list(choice))
    assert fresh == choice and fresh is not choice
    z0, g, _ = make_problems(model, B=2)
    literal = run(name, {**FAST[name], field: choice}, model, z0, g, seed=2)
    parsed = run(name, {**FAST[name], field: fresh}, model, z0, g, seed=2)
    torch.testing.assert_close(parsed.actions, literal.actions, rtol=0, atol=0)


class TrainableModel(LinearModel):
    """The toy model with its matrix a parameter that requires grad, as a model fresh from
    training has it (the harness freezes shipped models; a user's may not be)."""

    def __init__(self):
        super().__init__()
        self.M = torch.nn.Parameter(self.M.clone())


@pytest.mark.parametrize("name", PLANNERS)
def test_a_plan_carries_no_autograd_graph_on_a_model_that_requires_grad(name):
    """Sampling planners run without autograd, gradient planners detach what they
    return: a plan, its cost and its snapshots hold no graph (nor the memory of one)."""
    model = TrainableModel()
    z0, g, _ = make_problems(model, B=2)
    result = run(name, FAST[name], model, z0, g, snapshot_every=2)
    assert not result.actions.requires_grad and not result.cost.requires_grad
    assert not any(snap.requires_grad for _, _, snap in result.snapshots)
    assert model.M.grad is None  # nor a gradient left on the model


def test_linear_model_fixture_is_the_toy_system():
    assert LinearModel().latent_dim == 4


class NarrowBoxModel(LinearModel):
    """The toy model with its own, asymmetric action box (as the z-scored space declares)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("action_low", torch.tensor([-0.2, -0.5, -0.3, -0.1]))
        self.register_buffer("action_high", torch.tensor([0.4, 0.1, 0.3, 0.6]))


@pytest.mark.parametrize("name", sorted(FAST))
def test_every_planner_keeps_its_plan_inside_the_model_action_box(name):
    model = NarrowBoxModel()
    z0, g, _ = make_problems(LinearModel(), B=3)
    init = 2.0 * torch.ones(3, T, A)  # a warm start outside the box is clamped into it too
    for kw in ({}, {"init": init}):
        result = run(name, FAST[name], model, z0, 3.0 * g, **kw)
        assert (result.actions >= model.action_low - 1e-6).all(), name
        assert (result.actions <= model.action_high + 1e-6).all(), name
        for _, _, snap in result.snapshots:
            assert (snap >= model.action_low - 1e-6).all()
            assert (snap <= model.action_high + 1e-6).all()
