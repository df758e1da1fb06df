"""The task-declared goal metric on the latent (grasp_bench.objective)."""

import math

import pytest
import torch

from grasp_bench.errors import UserError
from grasp_bench.models.mlp import MLPConfig, StateMLP
from grasp_bench.objective import goal_weights
from grasp_bench.planners.base import goal_cost
from grasp_bench.tasks import PUSHT, get_task


def pusht_model() -> StateMLP:
    model = StateMLP(MLPConfig(state_dim=7, env_action_dim=2, angle_indices=(4,)))
    with torch.no_grad():  # feature stds of the order of the shipped model's
        model.feat_std.copy_(torch.tensor([290.0, 280.0, 116.0, 116.0, 190.0, 190.0, 0.7, 0.7]))
        model.feat_mean.copy_(torch.tensor([250.0, 250.0, 250.0, 250.0, 0, 0, 0, 0]))
    return model


def test_a_plan_matching_positions_and_angle_but_not_velocity_scores_near_zero():
    model = pusht_model()
    w = goal_weights(PUSHT, model)
    goal = torch.tensor([[200.0, 210.0, 300.0, 310.0, 1.0, 0.0, 0.0]])
    fast = goal.clone()
    fast[:, 5:] = 150.0  # the agent moving fast: success ignores velocity
    cost = goal_cost(model.encode(fast), model.encode(goal), w)
    assert cost.item() < 1e-6
    plain = goal_cost(model.encode(fast), model.encode(goal), None)
    assert plain.item() > 0.5  # plain latent MSE does not ignore it


def test_the_weights_weigh_errors_as_the_success_test_does():
    """20 px of agent error, 20 px of block error and (about) pi/9 of block angle cost the
    same; the weights have mean 1."""
    model = pusht_model()
    w = goal_weights(PUSHT, model)
    assert w.mean().item() == pytest.approx(1.0)
    goal = torch.tensor([[200.0, 210.0, 300.0, 310.0, 1.0, 0.0, 0.0]])

    def cost(delta):
        return goal_cost(model.encode(goal + torch.tensor([delta])), model.encode(goal), w).item()

    agent = cost([20.0, 0, 0, 0, 0, 0, 0])
    block = cost([0, 0, 0, 20.0, 0, 0, 0])
    angle = cost([0, 0, 0, 0, math.pi / 9, 0, 0])
    assert agent == pytest.approx(block, rel=1e-4)
    assert angle == pytest.approx(agent, rel=0.02)  # chord vs arc at 20 degrees


def test_latent_objective_and_models_without_a_mapping_are_plain_mse():
    assert goal_weights(PUSHT, pusht_model(), "latent") is None
    assert goal_weights(get_task("ballnav"), torch.nn.Linear(2, 2)) is None
    with pytest.raises(UserError, match="objective"):
        goal_weights(PUSHT, pusht_model(), "reward")
