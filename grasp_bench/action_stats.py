"""The env-action statistics of a dataset (per-entry mean and std), which z-score the
planners' action space (:mod:`grasp_bench.models.action_space`).

A plain value type below the tasks and the models: :class:`~grasp_bench.tasks.Task` holds
the shipped recipes' statistics, a checkpoint's manifest its own training data's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grasp_bench.errors import UserError


@dataclass(frozen=True)
class ActionStats:
    """Per-entry mean and std ``(A_env,)`` of a dataset's env actions."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std) or not self.mean:
            raise ValueError(f"action mean and std differ in length: {self.mean}, {self.std}")
        if not all(math.isfinite(m) for m in self.mean) or not all(
            math.isfinite(s) and s > 0.0 for s in self.std
        ):
            raise ValueError(f"action stats must be finite with std > 0: {self.mean}, {self.std}")

    @classmethod
    def of(cls, actions: np.ndarray) -> ActionStats:
        """The statistics of env actions ``(N, A_env)`` (rounded to 4 decimals)."""
        a = np.asarray(actions, dtype=np.float64)
        return cls(tuple(round(float(x), 4) for x in a.mean(0)),
                   tuple(round(float(x), 4) for x in a.std(0)))

    @classmethod
    def parse(cls, entry: object, where: str) -> ActionStats:
        """From a manifest entry ``{"mean": [...], "std": [...]}``; a UserError naming
        ``where`` when it is malformed."""
        try:
            return cls(tuple(float(x) for x in entry["mean"]),  # type: ignore[index]
                       tuple(float(x) for x in entry["std"]))  # type: ignore[index]
        except (TypeError, KeyError, ValueError) as e:
            raise UserError(f"{where}: bad action_stats {entry!r} ({e})") from None

    def as_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}
