"""Device selection with a clear error when CUDA is asked for and absent."""

from __future__ import annotations

import torch

from grasp_bench.errors import UserError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available else cpu; ``cuda`` without CUDA is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UserError(
                "--device cuda was asked for but CUDA is not available; use --device cpu"
            )
        return torch.device(name)
    raise UserError(f"unknown device {name!r}; expected auto, cpu or cuda")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
