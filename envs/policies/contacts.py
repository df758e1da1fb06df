"""Contact geometry of the Push-T demonstrator: where the agent can push the T, what each
push does to the block's pose, and how well it serves the pose error.

Model. Shape friction is 0 and the block has no momentum (``damping = 0``),
so a push at outline point ``p`` with inward normal ``n`` moves the block
quasi-statically along the normal: per px of agent travel along ``n`` the
centre of gravity moves ``j n`` and the block turns ``j (r x n) / I`` with
``r = p - cog``, ``I = BLOCK_MOMENT`` (3000) and ``j = 1 / (1 + (r x n)^2 / I)``
(unit mass). In the weighted pose space ``(cog_x, cog_y, w * angle)`` each
contact is thus one twist direction ``v``; the pose error is
``e = (goal_cog - cog, w * wrapped angle difference)``.

The policy that walks to these contacts and pushes is
:class:`envs.policies.demonstrator.PushTDemonstrator`.
"""

from __future__ import annotations

import math

import numpy as np

from envs.policies.pusht import _contact_candidates, _rot
from envs.pusht import AGENT_RADIUS, BLOCK_COG, BLOCK_MOMENT, T_OUTLINE, WALLS

#: Contact candidates, block-local about the centre of gravity: points ``(C, 2)`` every
#: ~10 px on the outline and their outward unit normals ``(C, 2)``.
CAND_POINTS, CAND_NORMALS = _contact_candidates()


def goal_cog(target_pose: np.ndarray) -> np.ndarray:
    """World centre of gravity ``(2,)`` of the block at ``target_pose`` ``(x, y, angle)``."""
    return target_pose[:2] + _rot(target_pose[2]) @ np.asarray(BLOCK_COG)


def pose_error(state: np.ndarray, target_pose: np.ndarray, target_cog: np.ndarray,
               angle_weight: float) -> np.ndarray:
    """Weighted error ``(3,)``: goal cog - cog (px), ``angle_weight *`` wrapped angle
    difference (rad)."""
    cog = state[2:4] + _rot(state[4]) @ np.asarray(BLOCK_COG)
    dth = (target_pose[2] - state[4] + math.pi) % (2 * math.pi) - math.pi
    return np.array([*(target_cog - cog), angle_weight * dth])


def contacts(state: np.ndarray, angle_weight: float) -> tuple[np.ndarray, ...]:
    """The candidates in ``state``: world points ``(C, 2)``, outward normals ``(C, 2)`` and
    weighted twists ``(C, 3)`` (per px of push: cog motion, ``angle_weight *`` turn)."""
    rot = _rot(state[4])
    r = CAND_POINTS @ rot.T
    n_out = CAND_NORMALS @ rot.T
    n = -n_out
    k = r[:, 0] * n[:, 1] - r[:, 1] * n[:, 0]
    j = 1.0 / (1.0 + k * k / BLOCK_MOMENT)
    twist = np.column_stack(
        [j * n[:, 0], j * n[:, 1], angle_weight * j * k / BLOCK_MOMENT]
    )
    cog = state[2:4] + rot @ np.asarray(BLOCK_COG)
    return cog + r, n_out, twist


def alignment(twist: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Cosine ``(C,)`` between each twist and the pose error."""
    return twist @ err / (np.linalg.norm(twist, axis=1) * max(np.linalg.norm(err), 1e-9))


def into_walls(state: np.ndarray, twist: np.ndarray, angle_weight: float,
               margin: float) -> np.ndarray:
    """Whether each push ``(C,)`` drives a corner of the T that is within ``margin`` px of a
    wall further into it."""
    rot = _rot(state[4])
    verts = (T_OUTLINE - np.asarray(BLOCK_COG)) @ rot.T
    corners = state[2:4] + rot @ np.asarray(BLOCK_COG) + verts
    spin = twist[:, 2:] / angle_weight
    vel = twist[:, None, :2] + spin[:, :, None] * np.stack([-verts[:, 1], verts[:, 0]], 1)
    lo, hi = WALLS[0][0] + margin, WALLS[2][0] - margin
    into = ((corners < lo) & (vel < -0.05)) | ((corners > hi) & (vel > 0.05))
    return into.any(axis=(1, 2))


def approach_walk(state: np.ndarray, pts: np.ndarray, n_out: np.ndarray,
                  gap: float) -> np.ndarray:
    """Distance ``(C,)`` in px from the agent to each contact's approach point (``gap`` px
    beyond the agent's radius out along the normal)."""
    approach = pts + (AGENT_RADIUS + gap) * n_out
    return np.linalg.norm(approach - state[:2], axis=1)
