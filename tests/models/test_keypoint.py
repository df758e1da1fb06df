"""The keypoint visual model: the spatial softmax puts a point where its heatmap peaks (x the
column, y the row), the protocol on any leading dims, the frame history shifts, the latent is
standardized by fit_latent, the decoder draws the empty scene from a silent decoder, a tiny
run of each training stage, a checkpoint round trip."""

import pytest
import torch
from torch import nn

from grasp_bench.data import collect
from grasp_bench.models.base import HistoryModel, WorldModel, start_latents
from grasp_bench.models.checkpoint import load_checkpoint, save_checkpoint
from grasp_bench.models.keypoint import KeypointConfig, KeypointWM
from grasp_bench.models.pixel_train import PixelTrainConfig, train_pixel_model
from grasp_bench.tasks import get_task

SMALL = dict(state_dim=7, env_action_dim=2, env="pusht", angle_indices=(4,), unobserved=(5, 6),
             size=32, channels=(8, 8), keypoints=4, hidden=16, layers=2, probe_hidden=16,
             history=3)
TINY_TRAIN = PixelTrainConfig(encoder_epochs=1, encoder_frames=300, predictor_epochs=1,
                              max_windows=300, probe_epochs=1, batch_size=64, rollout_steps=2)


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = KeypointWM(KeypointConfig(**SMALL))
    for layer in (m.predictor["mlp"][-1], m.predictor["linear"]):  # non-zero: steps move
        torch.nn.init.normal_(layer.weight, std=0.1)
    return m


class _Peaks(nn.Module):
    """Heatmaps ``(n, N, 16, 16)`` with one sharp peak per point at fixed (row, column)s."""

    def __init__(self, cells):
        super().__init__()
        self.cells = cells

    def forward(self, x):
        out = torch.full((len(x), len(self.cells), 16, 16), -50.0)
        for k, (r, c) in enumerate(self.cells):
            out[:, k, r, c] = 50.0
        return out


def test_spatial_softmax_puts_each_point_at_its_heatmap_peak(model):
    model.encoder = _Peaks([(0, 0), (15, 15), (3, 12), (8, 1)])  # (row, column) on 16 x 16
    xy = model.points(torch.zeros(2, 3, 32, 32)).reshape(2, 4, 2)
    centre = lambda i: (i + 0.5) / 16 * 2 - 1  # noqa: E731  pixel centre in [-1, 1]
    want = torch.tensor([[centre(c), centre(r)] for r, c in model.encoder.cells])
    torch.testing.assert_close(xy, want.expand(2, 4, 2), atol=1e-4, rtol=0)


def test_protocol_with_any_leading_dims_and_encode_holds_the_frame_still(model):
    assert isinstance(model, WorldModel) and isinstance(model, HistoryModel)
    assert model.latent_dim == 3 * 2 * 4 and model.action_dim == 10
    for lead in [(), (3,), (2, 5)]:
        s = torch.rand(*lead, 7) * 400 + 50
        z = model.encode(s)
        assert z.shape == (*lead, model.latent_dim)
        one = model.encode_frames(model.render(s))
        torch.testing.assert_close(z, torch.cat([one] * 3, dim=-1))
        assert model.step(z, torch.zeros(*lead, 10)).shape == z.shape
        assert model.decode(z).shape == (*lead, 7)
        assert model.reconstruct(z).shape == (*lead, 3, 32, 32)
    z0 = model.encode(torch.rand(4, 7) * 400)
    traj = model.rollout(z0, torch.rand(4, 6, 10) * 2 - 1)
    assert traj.shape == (4, 7, model.latent_dim) and torch.equal(traj[:, 0], z0)
    a = torch.rand(4, 10)
    torch.testing.assert_close(model.step(z0, a)[1], model.step(z0[1], a[1]))


def test_step_shifts_the_history_and_appends_the_predicted_frame(model):
    states = torch.rand(2, 3, 7) * 400 + 50  # three frames, oldest first
    z = model.encode_history(states)
    nxt = model.step(z, torch.rand(2, 10))
    d = model.config.frame_dim
    torch.testing.assert_close(nxt[:, :2 * d], z[:, d:])  # frames 2..K move down
    assert not torch.allclose(nxt[:, 2 * d:], z[:, 2 * d:])  # a new newest frame
    with pytest.raises(ValueError, match="history of 3"):
        model.encode_history(states[:, :2])
    # the harness's start latents: the frames k and 2k env steps before the start
    past = torch.rand(2, 20, 7) * 400 + 50
    want = model.encode_history(torch.stack([past[:, 10], past[:, 15], states[:, -1]], 1))
    torch.testing.assert_close(start_latents(model, states[:, -1], past), want)


def test_goal_weights_are_the_newest_frame(model):
    w = model.goal_weights((20.0,) * 7)
    assert w.shape == (model.latent_dim,)
    assert w[:16].sum() == 0 and torch.all(w[16:] == 1)


def test_fit_latent_standardizes_the_points(model):
    frames = (model.render(torch.rand(64, 7) * 400 + 50) * 255).round().to(torch.uint8)
    model.fit_latent(frames)
    z = model.encode_frames(frames.float() / 255)
    torch.testing.assert_close(z.mean(0), torch.zeros(8), atol=1e-4, rtol=0)
    torch.testing.assert_close(z.square().mean().sqrt(), torch.tensor(1.0), atol=1e-4, rtol=0)


def test_a_silent_decoder_draws_the_empty_scene(model):
    for p in model.decoder[-1].parameters():
        torch.nn.init.zeros_(p)
    frame = model.reconstruct(model.encode(torch.rand(2, 7) * 400))
    empty = model.camera._background.reshape(3, 32, 32)
    torch.testing.assert_close(frame, empty.expand(2, 3, 32, 32))


def test_config_round_trip_and_bad_shapes():
    c = KeypointConfig(**SMALL)
    assert KeypointConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="even"):
        KeypointWM(KeypointConfig(**{**SMALL, "size": 33}))
    with pytest.raises(ValueError, match="history"):
        KeypointWM(KeypointConfig(**{**SMALL, "history": 9}))
    with pytest.raises(ValueError, match="keypoints"):
        KeypointWM(KeypointConfig(**{**SMALL, "keypoints": 0}))


def test_tiny_training_runs_every_stage_and_the_checkpoint_round_trips(tmp_path):
    task = get_task("pusht")
    train = collect(task, episodes=3, steps=40, split="train", workers=1)
    val = collect(task, episodes=2, steps=40, split="validation", workers=1)
    seen = []
    m = train_pixel_model(train, val, KeypointConfig(**SMALL), TINY_TRAIN,
                          progress=lambda stage, e, n: seen.append(stage)).model
    assert seen == ["encoder", "predictor", "probe"]
    assert isinstance(m, KeypointWM) and float(m.point_std) != 1.0  # fitted after stage 1
    manifest = save_checkpoint(m, tmp_path / "kp.pt", {"env_id": task.env_id})
    assert manifest["architecture"]["class"] == "KeypointWM"
    loaded, _ = load_checkpoint(tmp_path / "kp.pt", env_id=task.env_id)
    s = torch.rand(3, 7) * 400
    torch.testing.assert_close(loaded.encode(s), m.encode(s))
    torch.testing.assert_close(loaded.decode(loaded.encode(s)), m.decode(m.encode(s)))
    # stage 2 with a reused encoder keeps it and its latent statistics exactly
    again = train_pixel_model(train, val, KeypointConfig(**SMALL), TINY_TRAIN,
                              encoder_from=m).model
    torch.testing.assert_close(again.encode(s), m.encode(s), rtol=0, atol=0)
