import numpy as np
import pytest

from grasp_bench.data import Trajectories, collect, model_windows
from grasp_bench.errors import UserError
from grasp_bench.seeds import SPLITS
from grasp_bench.tasks import get_task


def test_collection_is_deterministic_and_independent_of_workers(tmp_path):
    task = get_task("pusht")
    a = collect(task, episodes=3, steps=20, workers=1)
    b = collect(task, episodes=3, steps=20, workers=2)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert list(a.seeds) == SPLITS["train"].seeds(0, 3)
    # another split gives other episodes
    c = collect(task, episodes=3, steps=20, split="validation", workers=1)
    assert not np.array_equal(a.states, c.states)
    # save/load round trip
    path = a.save(tmp_path / "d.npz")
    back = Trajectories.load(path)
    np.testing.assert_array_equal(back.states, a.states)
    assert back.meta["env_id"] == "grasp_bench/PushT-v0" and back.meta["split"] == "train"


def test_episode_boundaries_are_respected():
    data = collect(get_task("ballnav"), episodes=2, steps=12, workers=1)
    s0, acts, targets = model_windows(data, frameskip=5, steps=2)
    assert len(s0) == 2 * (12 - 10 + 1)  # no window crosses from episode 0 into 1
    states, actions = data.episode(1)
    np.testing.assert_array_equal(s0[3], states[0])
    np.testing.assert_array_equal(targets[3, 1], states[10])
    np.testing.assert_array_equal(acts[3, 0], actions[:5].reshape(-1))


def test_bad_collection_input():
    task = get_task("pusht")
    with pytest.raises(UserError, match="positive"):
        collect(task, episodes=0, steps=10)
    with pytest.raises(UserError, match="unknown split"):
        collect(task, episodes=1, steps=10, split="test")
    with pytest.raises(UserError, match="not found"):
        Trajectories.load("no/such/file.npz")


def test_recipe_data_mixes_disjoint_behaviour_and_demo_seeds_of_its_split():
    from grasp_bench.models.recipes import DEMO_SEED_OFFSET, Recipe, recipe_data
    from grasp_bench.models.train import TrainConfig
    from grasp_bench.seeds import SPLITS
    from grasp_bench.tasks import get_task

    task = get_task("pusht")
    recipe = Recipe("pusht", 3, 2, 30, {}, TrainConfig(), demos=(4, 2))
    for split, (n_beh, n_demo) in (("train", (3, 4)), ("validation", (2, 2))):
        data = recipe_data(task, recipe, split, workers=1)
        assert len(data) == n_beh + n_demo and len(set(data.seeds)) == len(data)
        assert all(s in SPLITS[split] for s in data.seeds)
        start = SPLITS[split].start
        assert list(data.seeds[:n_beh]) == list(range(start, start + n_beh))
        assert min(data.seeds[n_beh:]) == start + DEMO_SEED_OFFSET
        sources = [part["source"] for part in data.meta["parts"]]
        assert sources == ["behaviour", "demo"]
        assert (data.lengths[n_beh:] <= 30).all() and (data.lengths[:n_beh] == 30).all()


def test_noisy_replays_follow_their_demonstration_with_the_given_noise():
    from grasp_bench.data import demo_episode, replay_episodes

    task = get_task("pusht")
    seed = SPLITS["train"].start + 7
    states, actions = demo_episode(task, seed, 300)
    levels = (0.0, 0.3, 0.05)
    reps = replay_episodes(task, seed, 300, levels)
    assert len(reps) == 3
    for (s, a), level in zip(reps, levels, strict=True):
        assert a.shape == actions.shape and s.shape == states.shape
        np.testing.assert_array_equal(s[0], states[0])  # from the demonstration's start
        noise = a - actions
        inside = np.abs(a) < 1.0  # away from the clip
        assert abs(noise[inside].std() - level) < 0.25 * level + 1e-6
    # noise 0: the demonstration itself, replayed open loop
    np.testing.assert_allclose(reps[0][0], states, atol=1e-6)
    # seeded per (seed, replay): the same again, another replay differs
    again = replay_episodes(task, seed, 300, levels)
    np.testing.assert_array_equal(again[1][1], reps[1][1])
    assert not np.array_equal(reps[1][1], replay_episodes(task, seed, 300, (0.0, 0.3, 0.3))[2][1])


def test_replay_collection_repeats_each_seed_once_per_level_and_checks_its_levels():
    task = get_task("pusht")
    data = collect(task, episodes=2, steps=300, seed=9, source="replay",
                   noise_levels=(0.1, 0.2), workers=1)
    assert len(data) == 4 and data.meta["noise_levels"] == [0.1, 0.2]
    s = SPLITS["train"].start + 9
    assert list(data.seeds) == [s, s, s + 1, s + 1]
    assert data.lengths[0] == data.lengths[1] and data.lengths[2] == data.lengths[3]
    with pytest.raises(UserError, match="noise_levels"):
        collect(task, episodes=1, steps=300, source="replay")
    with pytest.raises(UserError, match="noise_levels"):
        collect(task, episodes=1, steps=300, source="demo", noise_levels=(0.1,))
    with pytest.raises(UserError, match="no 'replay'"):
        collect(get_task("ballnav"), episodes=1, steps=30, source="replay", noise_levels=(0.1,))
