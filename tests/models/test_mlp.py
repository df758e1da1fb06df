import math

import pytest
import torch

from grasp_bench.models import WorldModel


def test_protocol_and_dims(toy_model):
    assert isinstance(toy_model, WorldModel)
    assert toy_model.latent_dim == 4  # x, y, cos, sin
    assert toy_model.action_dim == 4  # frameskip 2 x 2


@pytest.mark.parametrize("lead", [(), (5,), (3, 7)])
def test_step_accepts_any_leading_dims(toy_model, lead):
    z = torch.randn(*lead, 4)
    a = torch.rand(*lead, 4) * 2 - 1
    out = toy_model.step(z, a)
    assert out.shape == (*lead, 4)
    if lead:  # batched equals row by row
        flat = toy_model.step(z.reshape(-1, 4), a.reshape(-1, 4)).reshape(*lead, 4)
        torch.testing.assert_close(out, flat)


def test_step_broadcasts_shared_state(toy_model):
    z = torch.randn(4)
    a = torch.rand(6, 4)
    out = toy_model.step(z, a)
    torch.testing.assert_close(out, toy_model.step(z.expand(6, 4), a))


def test_rollout_shapes_and_consistency(toy_model):
    z0, acts = torch.randn(3, 4), torch.rand(3, 5, 4)
    zs = toy_model.rollout(z0, acts)
    assert zs.shape == (3, 6, 4)
    torch.testing.assert_close(zs[:, 0], z0)
    torch.testing.assert_close(zs[:, 2], toy_model.step(toy_model.step(z0, acts[:, 0]), acts[:, 1]))


def test_encode_decode_round_trip(toy_model):
    state = torch.tensor([[10.0, 20.0, 0.3], [50.0, 1.0, 2 * math.pi - 0.1]])
    toy_model.fit_normalization(state, state + 1)
    back = toy_model.decode(toy_model.encode(state))
    torch.testing.assert_close(back, state, atol=1e-4, rtol=1e-5)
