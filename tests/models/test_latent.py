"""The latent world model: the protocol on any leading dims, a tiny training run through
the checkpoint format, refusal of a corrupt latent checkpoint."""

import pytest
import torch

from grasp_bench.errors import UserError
from grasp_bench.models.base import WorldModel
from grasp_bench.models.checkpoint import load_checkpoint
from grasp_bench.models.latent import LatentConfig, LatentMLP


@pytest.fixture
def model():
    m = LatentMLP(LatentConfig(state_dim=7, env_action_dim=2, angle_indices=(4,), latent=64,
                               hidden=32, layers=2))
    torch.manual_seed(0)
    s = torch.rand(50, 7) * 500
    m.fit_normalization(s, s)
    return m


def test_protocol_shapes_with_any_leading_dims(model):
    assert isinstance(model, WorldModel) and model.latent_dim == 64 and model.action_dim == 10
    for lead in [(), (3,), (2, 5)]:
        s = torch.rand(*lead, 7) * 500
        z = model.encode(s)
        assert z.shape == (*lead, 64)
        assert model.step(z, torch.zeros(*lead, 10)).shape == (*lead, 64)
        decoded = model.decode(z)
        assert decoded.shape == (*lead, 7)
        assert ((decoded[..., 4] >= 0) & (decoded[..., 4] < 2 * torch.pi)).all()
    z0, acts = model.encode(torch.rand(4, 7)), torch.zeros(4, 6, 10)
    traj = model.rollout(z0, acts)
    assert traj.shape == (4, 7, 64) and torch.equal(traj[:, 0], z0)
    # a fresh predictor is the identity (zero-initialised last layer)
    torch.testing.assert_close(traj[:, -1], z0)
    # broadcasting: one latent, many actions
    assert model.step(z0[:1], torch.zeros(3, 10)).shape == (3, 64)


def test_loss_is_finite_and_has_every_term(model):
    s0, acts, targets = torch.rand(8, 7) * 500, torch.rand(8, 3, 10) * 2 - 1, torch.rand(8, 3, 7)
    loss = model.training_loss(s0, acts, targets * 500)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert all(p.grad is not None for p in model.parameters())


@pytest.fixture(scope="module")
def tiny_latent(tmp_path_factory):
    from grasp_bench.data import collect
    from grasp_bench.models.recipes import arch_for, train_checkpoint
    from grasp_bench.models.train import TrainConfig
    from grasp_bench.tasks import get_task

    task = get_task("ballnav")
    train = collect(task, episodes=4, steps=60, workers=1)
    val = collect(task, episodes=2, steps=60, split="validation", workers=1)
    out = tmp_path_factory.mktemp("latent") / "tiny-latent.pt"
    manifest = train_checkpoint(task, train, val, arch_for(task, "latent", latent=64, hidden=16,
                                                           layers=1),
                                TrainConfig(epochs=2, rollout_steps=2), out)
    return out, manifest


def test_a_tiny_training_run_writes_a_latent_checkpoint_that_loads(tiny_latent):
    out, manifest = tiny_latent
    assert manifest["architecture"]["class"] == "LatentMLP"
    assert manifest["validation"]["loss"] > 0
    model, m = load_checkpoint(out, env_id="grasp_bench/BallNav-v0")
    assert isinstance(model, LatentMLP) and model.latent_dim == 64
    assert m["sha256"] == manifest["sha256"]


def test_a_corrupt_latent_checkpoint_is_refused(tiny_latent, tmp_path):
    import shutil

    out, _ = tiny_latent
    bad = tmp_path / "bad.pt"
    shutil.copy(out, bad)
    shutil.copy(out.with_suffix(".json"), bad.with_suffix(".json"))
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(bad)
