"""The benchmark's view of the environments: names, checkpoints, metrics, policies.

A *task* is an env with fixed kwargs (``pusht``, ``ballnav`` with a layout).  This is
the one place where grasp_bench knows env specifics; planners never see any of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grasp_bench.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"


@dataclass(frozen=True)
class Task:
    name: str
    env_id: str
    state_dim: int
    angle_indices: tuple[int, ...]
    metrics: dict[str, tuple[int, ...]]  # physical-unit error groups: name -> state indices
    layout: str | None = None
    default_layout: str | None = None
    policy_description: dict = field(default_factory=dict)

    @property
    def env_kwargs(self) -> dict:
        return {"layout": self.layout} if self.layout is not None else {}

    @property
    def tag(self) -> str:
        """Task name plus non-default layout, e.g. ``ballnav-maze``."""
        if self.layout is None or self.layout == self.default_layout:
            return self.name
        return f"{self.name}-{self.layout}"

    @property
    def checkpoint(self) -> Path:
        return CHECKPOINT_DIR / f"{self.tag}.pt"

    def make_env(self):
        import gymnasium

        import envs  # noqa: F401  (registers the ids)

        return gymnasium.make(self.env_id, **self.env_kwargs).unwrapped

    def make_policy(self, env, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
        return _POLICIES[self.name](env, rng, self.policy_description)


def _pusht_policy(env, rng, desc):
    from envs import PushTPusher

    return PushTPusher(rng=rng, **desc).act


def _ballnav_policy(env, rng, desc):
    from envs import BallNavFollower

    return BallNavFollower(env, rng=rng, **desc).act


_POLICIES = {"pusht": _pusht_policy, "ballnav": _ballnav_policy}

PUSHT = Task(
    name="pusht",
    env_id="grasp_bench/PushT-v0",
    state_dim=7,
    angle_indices=(4,),
    metrics={"block_pos_px": (2, 3), "block_angle_rad": (4,), "agent_pos_px": (0, 1)},
)
BALLNAV_LAYOUTS = ("open", "u_trap", "wall_gap", "maze")


def ballnav(layout: str | None = None) -> Task:
    return Task(
        name="ballnav",
        env_id="grasp_bench/BallNav-v0",
        state_dim=4,
        angle_indices=(),
        metrics={"ball_pos_px": (0, 1)},
        layout=layout or "u_trap",
        default_layout="u_trap",
    )


TASKS = ("pusht", "ballnav")


def get_task(name: str, layout: str | None = None) -> Task:
    """Look up a task by name; raises :class:`UserError` for unknown names or layouts."""
    if name == "pusht":
        if layout is not None:
            raise UserError("pusht has no layouts; drop --layout")
        return PUSHT
    if name == "ballnav":
        if layout is not None and layout not in BALLNAV_LAYOUTS:
            raise UserError(
                f"unknown BallNav layout {layout!r}; expected one of {', '.join(BALLNAV_LAYOUTS)}"
            )
        return ballnav(layout)
    raise UserError(f"unknown env {name!r}; expected one of {', '.join(TASKS)}")
