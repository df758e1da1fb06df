"""A visual model with a history of frames: the latent holds K frames, the newest last; a
state held still is K copies of its frame; a step drops the oldest frame; the harness
gives a start its true past (problems keep it, MPC extends it with the executed states);
training windows reach back K-1 frames, held at the episode's first state."""

import numpy as np
import pytest
import torch

from grasp_bench.data import Trajectories
from grasp_bench.models.action_space import ActionStats, ZScoredActions
from grasp_bench.models.base import HistoryModel, WorldModel, start_latents
from grasp_bench.models.pixel import PixelConfig, PixelWM
from grasp_bench.models.pixel_train import histories, train_pixel_model, windows
from grasp_bench.problems import PAST_STEPS, demonstration, generate
from grasp_bench.tasks import get_task
from tests.models.test_pixel import SMALL, TINY_TRAIN

K = 3


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = PixelWM(PixelConfig(**{**SMALL, "history": K}))
    with torch.no_grad():  # a predictor that is not the identity
        for p in m.predictor.parameters():
            p.normal_(0, 0.1)
    return m.eval()


def states(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(n, 7, generator=g) * 300 + 100
    s[:, 4] = torch.rand(n, generator=g) * 6
    return s


def test_the_latent_holds_k_frames_and_a_still_state_is_k_copies(model):
    d = model.config.frame_dim
    assert model.latent_dim == K * d
    assert isinstance(model, WorldModel) and isinstance(model, HistoryModel)
    s = states(2)
    z = model.encode(s)
    assert z.shape == (2, K * d)
    torch.testing.assert_close(z, model.encode_history(s[:, None].expand(2, K, 7)))
    for j in range(K):
        torch.testing.assert_close(z[:, j * d:(j + 1) * d], model.encode_frames(model.render(s)))
    with pytest.raises(ValueError, match="history of 3"):
        model.encode_history(s[:, None].expand(2, K - 1, 7))
    with pytest.raises(ValueError, match="history"):
        PixelWM(PixelConfig(**{**SMALL, "history": 0}))


def test_a_step_drops_the_oldest_frame_and_predicts_from_all_of_them(model):
    d = model.config.frame_dim
    hist = torch.stack([states(4, seed) for seed in range(K)], 1)  # (4, K, 7): distinct frames
    z = model.encode_history(hist)
    a = torch.randn(4, model.action_dim)
    nxt = model.step(z, a)
    torch.testing.assert_close(nxt[:, :-d], z[:, d:])  # frames 2..K move down by one
    # the new frame depends on the older frames, not only on the newest
    other = z.clone()
    other[:, :d] = model.encode_frames(model.render(states(4, 9)))
    assert not torch.allclose(model.step(other, a)[:, -d:], nxt[:, -d:])
    # the rollout is the steps in sequence, with any leading dims
    acts = torch.randn(4, 2, model.action_dim)
    roll = model.rollout(z, acts)
    torch.testing.assert_close(roll[:, 2], model.step(model.step(z, acts[:, 0]), acts[:, 1]))
    # decode and reconstruct read the newest frame
    torch.testing.assert_close(model.decode(z), model.decode(model.encode(hist[:, -1])))


def test_start_latents_gives_the_model_the_states_every_frameskip_steps_before():
    seen = {}

    class Recorder:
        frameskip, action_dim, latent_dim, history = 5, 10, 3, 3

        def encode(self, s):
            seen["encode"] = s
            return s

        def encode_history(self, s):
            seen["history"] = s
            return s

    past = torch.arange(20, dtype=torch.float32).reshape(1, 20, 1).expand(2, 20, 1)
    start = torch.full((2, 1), 20.0)
    start_latents(Recorder(), start, past)
    # env steps -10 and -5 before the start (index 20), then the start
    assert seen["history"][0, :, 0].tolist() == [10.0, 15.0, 20.0]
    start_latents(Recorder(), start, None)  # no past: the start held still
    assert seen["encode"] is start
    with pytest.raises(ValueError, match="10 past states"):
        start_latents(Recorder(), start, past[:, :9])
    wrapped = ZScoredActions(Recorder(), ActionStats((0.0, 0.0), (1.0, 1.0)))
    assert wrapped.history == 3  # the planners' view keeps the history


def test_demo_problems_keep_the_demonstrations_states_before_their_start():
    task = get_task("pusht")
    ps = generate(task, 40, 6, split="validation", source="demo")
    assert ps.past.shape == (6, PAST_STEPS, 7)
    env = task.make_env()
    for i, seed in enumerate(ps.seeds):
        demo, actions = demonstration(task, env, int(seed))
        off = int(np.random.default_rng([int(seed), 40]).integers(0, len(actions) - 40 + 1))
        want = demo[np.maximum(np.arange(off - PAST_STEPS, off), 0)]
        np.testing.assert_array_equal(ps.past[i], want)
        np.testing.assert_allclose(ps.starts[i], demo[off])
    behaviour = generate(task, 40, 2, split="validation", source="behaviour")
    np.testing.assert_array_equal(behaviour.past[:, 0], behaviour.starts)  # at rest


def test_training_windows_reach_back_and_hold_the_first_state():
    # two episodes of 12 steps; states numbered so that an index is its own value
    n, S = 12, 7
    st = np.zeros((2 * (n + 1), S))
    st[:, 0] = 200 + np.arange(2 * (n + 1))
    st[:, 1:4] = 200
    data = Trajectories(st, np.zeros((2 * n, 2)), np.array([n, n]), np.array([0, 1]), {})
    cam = PixelConfig(**SMALL).camera()
    s_idx, acts = windows(data, 2, 3, cam, history=3)
    assert s_idx.shape[1] == 2 + 4 and acts.shape[1:] == (3, 4)
    first = s_idx[0].tolist()
    assert first == [0, 0, 0, 2, 4, 6]  # the two past frames held at the episode's start
    later = [w.tolist() for w in s_idx if w[2] == 19]
    assert later == [[15, 17, 19, 21, 23, 25]]
    assert (s_idx >= 13).all(1).sum() == (s_idx[:, 2] >= 13).sum()  # never the other episode
    z = torch.arange(5.0).reshape(1, 5, 1)
    assert histories(z, 3)[0].tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]


def test_a_history_model_trains_and_its_probe_reads_the_newest_frame():
    from grasp_bench.data import collect

    task = get_task("pusht")
    train = collect(task, episodes=3, steps=40, split="train", workers=1)
    val = collect(task, episodes=2, steps=40, split="validation", workers=1)
    m = train_pixel_model(train, val, PixelConfig(**{**SMALL, "history": 2}), TINY_TRAIN).model
    s = torch.as_tensor(val.states[:8], dtype=torch.float32)
    z = m.encode(s)
    assert z.shape == (8, 2 * m.config.frame_dim)
    assert torch.isfinite(m.rollout(z, torch.zeros(8, 3, m.action_dim))).all()


def test_the_task_objective_weighs_only_the_newest_frame(model):
    from grasp_bench.objective import goal_weights

    w = goal_weights(get_task("pusht"), model, "task")
    d = model.config.frame_dim
    assert w.shape == (K * d,)
    assert (w[:-d] == 0).all() and torch.allclose(w[-d:], torch.full((d,), float(K)))
    assert goal_weights(get_task("pusht"), model, "latent") is None
    with pytest.raises(ValueError, match="1 to 5 frames"):
        PixelWM(PixelConfig(**{**SMALL, "history": 6}))  # 25 env steps back: not kept


def test_open_loop_errors_give_a_history_model_the_windows_past():
    from grasp_bench.models import train as train_mod

    n, S = 30, 7
    st = np.zeros((n + 1, S))
    st[:, 0] = np.arange(n + 1)
    data = Trajectories(st, np.zeros((n, 2)), np.array([n]), np.array([0]), {})
    got = []

    class Last:
        frameskip, action_dim, latent_dim, history = 5, 10, 7, 2

        def encode(self, s):
            return s

        def encode_history(self, s):
            got.append(s[:, 0, 0].tolist())
            return s[:, -1]

        def rollout(self, z, a):
            return z[:, None].expand(len(z), a.shape[1] + 1, z.shape[-1])

        def decode(self, z):
            return z

    train_mod.open_loop_errors(Last(), data, (10,), {"x": (0,)})
    # windows start every 10 env steps (0, 10, 20); the frame 5 steps before each, held at 0
    assert got == [[0.0, 5.0, 15.0]]


def test_past_indices_hold_at_the_episodes_first_state():
    from grasp_bench.data import past_indices

    data = Trajectories(np.zeros((2 * 11, 7)), np.zeros((20, 2)), np.array([10, 10]),
                        np.array([0, 1]), {})
    assert past_indices(data, np.array([3, 14]), np.array([4, 2])).tolist() == [[0, 1],
                                                                               [11, 12]]
