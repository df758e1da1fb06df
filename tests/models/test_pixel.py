"""The visual world model: the camera draws what the env's renderer draws, the protocol on
any leading dims, encode renders, a tiny run of each training stage, the probe learns to
read frames, a reused encoder stays frozen, a corrupt visual checkpoint is refused."""

import numpy as np
import pytest
import torch

from envs.pusht import render_state
from grasp_bench.data import collect
from grasp_bench.errors import UserError
from grasp_bench.models.base import WorldModel
from grasp_bench.models.camera import Camera, CameraConfig, in_view
from grasp_bench.models.checkpoint import load_checkpoint, save_checkpoint
from grasp_bench.models.pixel import PixelConfig, PixelWM
from grasp_bench.models.pixel_train import PixelTrainConfig, train_pixel_model, windows
from grasp_bench.tasks import get_task

SMALL = dict(state_dim=7, env_action_dim=2, env="pusht", angle_indices=(4,), unobserved=(5, 6),
             size=32, channels=(8, 8, 8), latent_channels=8, hidden=8, layers=2, probe_hidden=32,
             probe_channels=8)
TINY_TRAIN = PixelTrainConfig(encoder_epochs=1, encoder_frames=300, predictor_epochs=1,
                              max_windows=300, probe_epochs=1, batch_size=64)


@pytest.fixture(scope="module")
def pusht_data():
    task = get_task("pusht")
    return (collect(task, episodes=3, steps=40, split="train", workers=1),
            collect(task, episodes=2, steps=40, split="validation", workers=1))


def test_camera_draws_the_block_and_agent_where_the_env_renderer_does():
    cam = Camera(CameraConfig("pusht", margin=0.0, size=64, agent_radius=15.0))
    state = np.array([120.0, 380.0, 300.0, 220.0, 2.1, 0.0, 0.0])
    ours = cam.render(torch.tensor(state, dtype=torch.float32)).numpy()  # (3, 64, 64)
    ref = render_state(state, goal_pose=None, size=64, supersample=4) / 255.0  # (64, 64, 3)
    # what is drawn (not white), walls aside: compare the interior
    mask_ours = (ours < 0.95).any(0)[4:-4, 4:-4]
    mask_ref = (ref < 0.95).any(-1)[4:-4, 4:-4]
    iou = (mask_ours & mask_ref).sum() / (mask_ours | mask_ref).sum()
    assert iou > 0.8
    # the block, turned by 2.1 rad: a wrong rotation direction would put it elsewhere
    assert mask_ours.sum() > 100


def test_camera_any_leading_dims_and_the_view():
    cam = Camera(CameraConfig("ballnav", layout="maze", size=32))
    s = torch.rand(2, 3, 4) * 500
    assert cam.render(s).shape == (2, 3, 3, 32, 32)
    frames = cam.render(s)
    assert frames.min() >= 0 and frames.max() <= 1
    inside = np.array([[10.0, 500.0, 0, 0], [-40.0, 100.0, 0, 0], [100.0, 540.0, 0, 0]])
    assert in_view(cam.config, inside).tolist() == [True, False, True]


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = PixelWM(PixelConfig(**SMALL))
    for p in m.predictor[-1].parameters():  # non-zero so predictions move
        torch.nn.init.normal_(p, std=0.1)
    return m


def test_protocol_with_any_leading_dims_and_encode_renders(model):
    assert isinstance(model, WorldModel)
    assert model.latent_dim == 8 * 4 * 4 and model.action_dim == 10
    assert PixelConfig(7, 2, "pusht").latent_dim == 1024  # the default: >= 512 dims
    for lead in [(), (3,), (2, 5)]:
        s = torch.rand(*lead, 7) * 400 + 50
        z = model.encode(s)
        assert z.shape == (*lead, model.latent_dim)
        torch.testing.assert_close(z, model.encode_frames(model.render(s)))
        assert model.step(z, torch.zeros(*lead, 10)).shape == z.shape
        assert model.decode(z).shape == (*lead, 7)
        assert model.reconstruct(z).shape == (*lead, 3, 32, 32)
    z0 = model.encode(torch.rand(4, 7) * 400)
    traj = model.rollout(z0, torch.rand(4, 6, 10) * 2 - 1)
    assert traj.shape == (4, 7, model.latent_dim) and torch.equal(traj[:, 0], z0)
    # one step equals the batched step on the same pair; broadcasting one latent
    a = torch.rand(4, 10)
    torch.testing.assert_close(model.step(z0, a)[1], model.step(z0[1], a[1]))
    assert model.step(z0[:1], torch.zeros(3, 10)).shape == (3, model.latent_dim)


def test_config_round_trip_and_bad_size():
    c = PixelConfig(**SMALL)
    assert PixelConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="multiple of 8"):
        PixelWM(PixelConfig(**{**SMALL, "size": 36}))


def test_windows_are_every_k_states_and_in_view(pusht_data):
    train, _ = pusht_data
    cam = PixelConfig(**SMALL).camera()
    s_idx, acts = windows(train, 5, 3, cam)
    assert s_idx.shape[1] == 4 and acts.shape == (len(s_idx), 3, 10)
    assert (np.diff(s_idx, axis=1) == 5).all()
    assert in_view(cam, train.states[s_idx.ravel()]).all()


def test_tiny_training_runs_every_stage_and_the_probe_learns(pusht_data):
    train, val = pusht_data
    arch = PixelConfig(**SMALL)
    untrained = PixelWM(arch)
    seen = []
    result = train_pixel_model(train, val, arch, TINY_TRAIN,
                               progress=lambda stage, e, n: seen.append(stage))
    assert seen == ["encoder", "predictor", "probe"]
    m = result.model
    s = torch.as_tensor(val.states[::5], dtype=torch.float32)
    with torch.no_grad():
        untrained.fit_normalization(torch.as_tensor(train.states, dtype=torch.float32), None)
        err = (m.decode(m.encode(s))[:, 2:4] - s[:, 2:4]).norm(dim=-1).median()
        err0 = (untrained.decode(untrained.encode(s))[:, 2:4] - s[:, 2:4]).norm(dim=-1).median()
    assert err < err0  # the probe reads something of the block after one epoch
    # stage 2 with a reused encoder leaves it exactly as it was
    again = train_pixel_model(train, val, arch, TINY_TRAIN, encoder_from=m)
    for name in ("encoder", "decoder"):
        for a, b in zip(getattr(m, name).state_dict().values(),
                        getattr(again.model, name).state_dict().values(), strict=True):
            assert torch.equal(a, b)


def test_corrupt_visual_checkpoint_is_refused(tmp_path, model):
    manifest = save_checkpoint(model, tmp_path / "px.pt", {"env_id": "grasp_bench/PushT-v0"})
    assert manifest["architecture"]["class"] == "PixelWM"
    loaded, _ = load_checkpoint(tmp_path / "px.pt", env_id="grasp_bench/PushT-v0")
    s = torch.rand(3, 7) * 400
    torch.testing.assert_close(loaded.encode(s), model.encode(s))
    raw = bytearray((tmp_path / "px.pt").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "px.pt").write_bytes(bytes(raw))
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(tmp_path / "px.pt")


def test_a_frozen_random_encoder_stays_at_its_initialization(pusht_data):
    train, val = pusht_data
    torch.manual_seed(TINY_TRAIN.seed)
    init = PixelWM(PixelConfig(**SMALL)).encoder.state_dict()
    m = train_pixel_model(train, val, PixelConfig(**SMALL), TINY_TRAIN,
                          encoder_from="random").model
    for a, b in zip(init.values(), m.encoder.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="random"):
        train_pixel_model(train, val, PixelConfig(**SMALL), TINY_TRAIN, encoder_from="dino")


def test_velocities_no_frame_shows_decode_to_their_training_mean(model):
    s = torch.rand(20, 7) * 400
    s[:, 5:] = torch.randn(20, 2) * 50 + 30
    model.fit_normalization(s, None)
    out = model.decode(model.encode(torch.rand(4, 7) * 400))
    torch.testing.assert_close(out[:, 5:], s[:, 5:].mean(0).expand(4, 2))
