"""grasp-bench environments: Push-T and BallNav on pymunk 7 (gymnasium API).

Importing this package registers two gymnasium ids::

    import gymnasium, envs
    env = gymnasium.make("grasp_bench/PushT-v0", render_mode="rgb_array")
    env = gymnasium.make("grasp_bench/BallNav-v0", layout="maze")

Both episodes are truncated after 300 env steps by default. The package
imports nothing from ``grasp_bench`` and nothing of torch.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from envs.ballnav import BallNavEnv
from envs.layouts import DEFAULT_LAYOUT, LAYOUTS, Layout, get_layout, straight_line_blocked
from envs.paths import geodesic_distance, path_length, shortest_path
from envs.policies import (
    BallNavFollower,
    PushTDemonstrator,
    PushTPusher,
    RandomPolicy,
    make_policy,
)
from envs.pusht import PushTEnv
from envs.replay import make_env, replay

PUSHT_ID = "grasp_bench/PushT-v0"
BALLNAV_ID = "grasp_bench/BallNav-v0"
MAX_EPISODE_STEPS = 300

for _id, _entry in ((PUSHT_ID, "envs.pusht:PushTEnv"), (BALLNAV_ID, "envs.ballnav:BallNavEnv")):
    if _id not in registry:
        register(id=_id, entry_point=_entry, max_episode_steps=MAX_EPISODE_STEPS)

__all__ = [
    "BALLNAV_ID",
    "DEFAULT_LAYOUT",
    "LAYOUTS",
    "MAX_EPISODE_STEPS",
    "PUSHT_ID",
    "BallNavEnv",
    "BallNavFollower",
    "Layout",
    "PushTDemonstrator",
    "PushTEnv",
    "PushTPusher",
    "RandomPolicy",
    "geodesic_distance",
    "get_layout",
    "make_env",
    "make_policy",
    "path_length",
    "replay",
    "shortest_path",
    "straight_line_blocked",
]
