import json

import pytest
import torch

from grasp_bench.data import model_windows
from grasp_bench.errors import UserError
from grasp_bench.models.checkpoint import load_checkpoint, save_checkpoint
from grasp_bench.models.train import TrainConfig, open_loop_errors, train_model

from .conftest import TOY_ARCH


def test_windows_shapes(toy_data):
    train, _ = toy_data
    s0, acts, targets = model_windows(train, frameskip=2, steps=3)
    assert s0.shape[1:] == (3,) and acts.shape[1:] == (3, 4) and targets.shape[1:] == (3, 3)
    assert len(s0) == 40 * (30 - 6 + 1)
    # the first window's first target is two env steps after its start
    torch.testing.assert_close(torch.as_tensor(targets[0, 0]), torch.as_tensor(train.states[2]))


def test_training_lowers_validation_loss(toy_data):
    train, val = toy_data
    cfg = TrainConfig(epochs=8, batch_size=32, lr=3e-3, rollout_steps=2)
    result = train_model(train, val, TOY_ARCH, cfg)
    assert result.val_loss[result.best_epoch - 1] < 0.5 * result.val_loss[0] or (
        min(result.val_loss) < 0.05
    )
    errs = open_loop_errors(result.model, val, (4, 8), {"pos": (0, 1), "ang": (2,)}, (2,))
    assert set(errs) == {"H4", "H8"} and errs["H4"]["pos"] < 10.0


def test_training_is_deterministic(toy_data):
    train, val = toy_data
    cfg = TrainConfig(epochs=2, seed=3)
    a = train_model(train, val, TOY_ARCH, cfg).val_loss
    b = train_model(train, val, TOY_ARCH, cfg).val_loss
    assert a == b


def _save(model, tmp_path):
    return save_checkpoint(model, tmp_path / "toy.pt", {"env_id": "toy", "frameskip": 2})


def test_round_trip_gives_identical_predictions(toy_model, tmp_path):
    _save(toy_model, tmp_path)
    loaded, manifest = load_checkpoint(tmp_path / "toy.pt", env_id="toy")
    assert manifest["architecture"]["hidden"] == 32
    z, a = torch.randn(5, 4), torch.rand(5, 4)
    torch.testing.assert_close(loaded.step(z, a), toy_model.step(z, a), rtol=0, atol=0)


def test_flipped_byte_is_refused(toy_model, tmp_path):
    _save(toy_model, tmp_path)
    path = tmp_path / "toy.pt"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(UserError, match=r"toy\.pt is corrupt"):
        load_checkpoint(path)


def test_truncated_and_foreign_and_misshapen(toy_model, tmp_path):
    m = _save(toy_model, tmp_path)
    path = tmp_path / "toy.pt"
    with pytest.raises(UserError, match="is for 'toy', not 'other'"):
        load_checkpoint(path, env_id="other")
    # manifest claiming another architecture, with a matching hash: shape mismatch
    m["architecture"]["hidden"] = 64
    (tmp_path / "toy.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match="does not match its manifest"):
        load_checkpoint(path)
    (tmp_path / "toy.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        load_checkpoint(path)
    with pytest.raises(UserError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
