"""Checkpoints: weights (``NAME.pt``) beside a JSON manifest (``NAME.json``).

The manifest records what the weights are (env id and kwargs, frameskip, architecture,
normalization lives in the weights as buffers), how they were made (data seeds,
training config and time) and how good they are (validation errors), plus the sha256
of the weights file, which :func:`load_checkpoint` checks before unpickling anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from grasp_bench.errors import UserError
from grasp_bench.models.keypoint import KeypointConfig, KeypointWM
from grasp_bench.models.latent import LatentConfig, LatentMLP
from grasp_bench.models.mlp import MLPConfig, StateMLP
from grasp_bench.models.pixel import PixelConfig, PixelWM

FORMAT = "grasp-bench-checkpoint/1"
#: architecture class name (in the manifest) -> (model class, config class); plugins add
#: theirs with :func:`register_architecture` (see :mod:`grasp_bench.plugins`)
ARCHITECTURES = {"StateMLP": (StateMLP, MLPConfig), "LatentMLP": (LatentMLP, LatentConfig),
                 "PixelWM": (PixelWM, PixelConfig), "KeypointWM": (KeypointWM, KeypointConfig)}
#: what every model must have: the WorldModel protocol, and ``decode`` for the harness
PROTOCOL_METHODS = ("encode", "decode", "step", "rollout")
PROTOCOL_ATTRIBUTES = ("frameskip", "action_dim", "latent_dim")


def check_architecture(model_cls: type, config_cls: type) -> None:
    """Raise ``TypeError`` unless ``model_cls`` is an ``nn.Module`` with the protocol's
    methods and ``config_cls`` round-trips through ``to_dict`` / ``from_dict`` (a manifest's
    ``architecture``).  The data members (``frameskip``...) are checked when a checkpoint
    builds the model."""
    if not (isinstance(model_cls, type) and issubclass(model_cls, torch.nn.Module)):
        raise TypeError(f"{model_cls!r} is not a torch.nn.Module class")
    missing = [m for m in PROTOCOL_METHODS if not callable(getattr(model_cls, m, None))]
    if missing:
        raise TypeError(f"{model_cls.__name__} lacks WorldModel methods: {', '.join(missing)}")
    bad = [m for m in ("to_dict", "from_dict") if not callable(getattr(config_cls, m, None))]
    if bad:
        raise TypeError(f"{getattr(config_cls, '__name__', config_cls)} lacks {', '.join(bad)}")


def register_architecture(config_cls: type):
    """Class decorator: ``@register_architecture(LinearConfig)`` on a model class makes
    checkpoints whose manifest names the class (``architecture.class``) load with it; the
    model is built as ``model_cls(config_cls.from_dict(architecture))``."""

    def deco(model_cls: type) -> type:
        name = model_cls.__name__
        if name in ARCHITECTURES and ARCHITECTURES[name][0] is not model_cls:
            taken = ARCHITECTURES[name][0]
            raise ValueError(f"architecture name {name!r} is taken by "
                             f"{taken.__module__}.{taken.__qualname__}")
        check_architecture(model_cls, config_cls)
        ARCHITECTURES[name] = (model_cls, config_cls)
        return model_cls

    return deco


def build_model(arch) -> torch.nn.Module:
    """An untrained model of the architecture config ``arch``."""
    for model_cls, config_cls in ARCHITECTURES.values():
        if isinstance(arch, config_cls):
            return model_cls(arch)
    raise TypeError(f"no model for {type(arch).__name__}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def save_checkpoint(model: torch.nn.Module, path: str | Path, manifest: dict[str, Any]) -> dict:
    """Write ``path`` (weights, ``.pt``) and its manifest atomically; returns the manifest."""
    path = Path(path).with_suffix(".pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, tmp)
    os.replace(tmp, path)
    full = {
        "format": FORMAT,
        "architecture": {"class": type(model).__name__, **model.config.to_dict()},
        **manifest,
        "weights": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
    }
    mtmp = manifest_path(path).with_name(path.stem + ".json.tmp")
    mtmp.write_text(json.dumps(full, indent=2, sort_keys=False) + "\n")
    os.replace(mtmp, manifest_path(path))
    return full


def read_manifest(path: str | Path) -> dict:
    """Read and check the manifest of checkpoint ``path`` (``.pt`` or ``.json``)."""
    mpath = manifest_path(Path(path))
    if not mpath.exists():
        raise UserError(f"checkpoint manifest {mpath} not found")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"checkpoint manifest {mpath} is not valid JSON ({e.msg})") from None
    except UnicodeDecodeError:
        raise UserError(f"checkpoint manifest {mpath} is not UTF-8 text") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(f"{mpath} is not a grasp-bench checkpoint manifest (format {FORMAT})")
    return manifest


def load_checkpoint(
    path: str | Path, *, env_id: str | None = None, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, dict]:
    """Load a checkpoint, refusing corrupt, foreign or misshapen files with a one-line error.

    Args:
        path: the ``.pt`` weights file (its manifest is the ``.json`` beside it).
        env_id: if given, the env the checkpoint must have been trained for.
    Returns:
        (model in eval mode on ``device``, manifest)
    """
    wpath = Path(path).with_suffix(".pt")
    manifest = read_manifest(wpath)
    if not wpath.exists():
        raise UserError(f"checkpoint weights {wpath} not found")
    if env_id is not None and manifest.get("env_id") != env_id:
        raise UserError(
            f"checkpoint {wpath} is for {manifest.get('env_id')!r}, not {env_id!r}"
        )
    digest = sha256_file(wpath)
    if digest != manifest.get("sha256"):
        raise UserError(f"checkpoint {wpath} is corrupt: sha256 differs from its manifest")
    try:
        arch = dict(manifest["architecture"])
        name = arch.pop("class", "StateMLP")
        if name not in ARCHITECTURES:
            raise KeyError(f"unknown architecture {name!r} (known: {', '.join(ARCHITECTURES)}; "
                           "a plugin's needs its package installed)")
        model_cls, config_cls = ARCHITECTURES[name]
        model = model_cls(config_cls.from_dict(arch))
        missing = [m for m in PROTOCOL_ATTRIBUTES if not hasattr(model, m)]
        if missing:
            raise TypeError(f"{name} lacks WorldModel members: {', '.join(missing)}")
        state = torch.load(wpath, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except (KeyError, TypeError, RuntimeError, EOFError, OSError, ValueError, IndexError,
            pickle.UnpicklingError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"checkpoint {wpath} does not match its manifest: {first}") from None
    return model.to(device).eval(), manifest
