"""The planners' z-scored action space: the wrapper's algebra, its bounds and its stats."""

from __future__ import annotations

import pytest
import torch

from grasp_bench.errors import UserError
from grasp_bench.models.action_space import ActionStats, ZScoredActions, stats_of
from grasp_bench.planners import action_box
from tests.planners.conftest import LinearModel

# distinct per entry, so a swapped or untiled statistic shows
STATS = ActionStats(mean=(0.1, -0.2), std=(0.3, 0.5))


def test_a_z_scored_step_is_the_raw_step_of_the_denormalized_action():
    model = LinearModel()  # frameskip 2: a model action stacks two env actions
    space = ZScoredActions(model, STATS)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 4, generator=g)
    a = torch.randn(3, 4, generator=g)
    raw = torch.tensor([0.1, -0.2, 0.1, -0.2]) + torch.tensor([0.3, 0.5, 0.3, 0.5]) * a
    torch.testing.assert_close(space.step(z, a), model.step(z, raw))
    acts = torch.randn(3, 5, 4, generator=g).clamp(-1.5, 1.5)
    raw_acts = space.to_raw(acts)
    assert (raw_acts.abs() < 1).all()  # inside the raw box here: to_raw clamps nothing
    torch.testing.assert_close(space.rollout(z, acts), model.rollout(z, raw_acts))
    torch.testing.assert_close(space.to_z(raw_acts), acts)


def test_the_raw_box_maps_to_per_entry_z_bounds():
    space = ZScoredActions(LinearModel(), STATS)
    low, high = action_box(space, torch.zeros(1, dtype=torch.float64))
    assert low.dtype == torch.float64
    torch.testing.assert_close(low, torch.tensor([-11 / 3, -1.6, -11 / 3, -1.6], dtype=low.dtype))
    torch.testing.assert_close(high, torch.tensor([3.0, 2.4, 3.0, 2.4], dtype=low.dtype))
    torch.testing.assert_close(space.to_raw(torch.stack([low, high]).float()),
                               torch.tensor([[-1.0] * 4, [1.0] * 4]))
    # beyond the bounds, to_raw clamps to the raw box
    assert space.to_raw(torch.full((4,), 50.0)).max() == 1.0
    # a model without declared bounds keeps the raw box
    low, high = action_box(LinearModel(), torch.zeros(1))
    assert low.tolist() == [-1.0] * 4 and high.tolist() == [1.0] * 4


def test_stats_that_do_not_fit_the_model_action_are_refused():
    with pytest.raises(ValueError, match="do not fit"):
        ZScoredActions(LinearModel(), ActionStats((0.0,) * 3, (1.0,) * 3))
    with pytest.raises(ValueError, match="std > 0"):
        ActionStats((0.0, 0.0), (1.0, 0.0))


def test_stats_come_from_the_manifest_else_the_fallback():
    assert stats_of({"action_stats": STATS.as_dict()}, ActionStats((0, 0), (1, 1)), "x") == STATS
    assert stats_of({"sha256": "simulator"}, STATS, "x") == STATS
    with pytest.raises(UserError, match="ck.pt: bad action_stats"):
        stats_of({"action_stats": {"mean": [0.0]}}, STATS, "ck.pt")


def test_stats_of_data_are_its_per_entry_mean_and_std():
    a = torch.tensor([[0.0, 1.0], [0.5, -1.0], [1.0, 0.0]]).numpy()
    s = ActionStats.of(a)
    assert s.mean == (0.5, 0.0)
    assert s.std == (round(float(a[:, 0].std()), 4), round(float(a[:, 1].std()), 4))


@pytest.mark.parametrize("name", ["pusht", "ballnav"])
def test_a_tasks_action_stats_are_those_of_its_recipes_data(name):
    """The fallback statistics (the simulator's) agree with a sample of the shipped recipe's
    training data within 10 % of a std."""
    from dataclasses import replace

    from grasp_bench.models.recipes import RECIPES, recipe_data
    from grasp_bench.tasks import get_task

    task = get_task(name)
    recipe = RECIPES[name]
    small = replace(recipe, train_episodes=min(recipe.train_episodes, 60),
                    demos=(min(recipe.demos[0], 20), recipe.demos[1]))
    data = recipe_data(task, small, "train", workers=1)
    sample = ActionStats.of(data.actions)
    for ours, ref in zip(sample.std, task.action_stats.std, strict=True):
        assert abs(ours - ref) < 0.1 * ref
    for ours, ref in zip(sample.mean, task.action_stats.mean, strict=True):
        assert abs(ours - ref) < 0.1 * max(task.action_stats.std)
