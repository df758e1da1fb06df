"""The verdicts on a plan, outside any timing: executed in the simulator, and under the
world model; and whether a problem's own reference actions succeed under the model (the
reference fidelity).  Used by the open-loop and closed-loop cells, tuning and the
checkpoints' fidelity report; nothing here plans.
"""

from __future__ import annotations

import numpy as np
import torch

from grasp_bench.problems import ProblemSet
from grasp_bench.tasks import Task

__all__ = ["judge", "model_success", "reference_success", "to_env_actions"]


def to_env_actions(actions: torch.Tensor, frameskip: int) -> np.ndarray:
    """Model plan ``(B, T, k*A_env)`` -> env actions ``(B, T*k, A_env)``."""
    B, T, A = actions.shape
    return actions.detach().cpu().double().numpy().reshape(B, T * frameskip, A // frameskip)


def judge(task: Task, starts: np.ndarray, goals: np.ndarray, env_actions: np.ndarray):
    """Replay plans ``(N, H, A)`` from ``starts (N, S)``; success and distance ``(N,)``.

    Plans with non-finite entries are not replayed: they fail with distance ``inf``.
    """
    from envs import replay

    ok = np.isfinite(env_actions).all(axis=(1, 2))
    success = np.zeros(len(starts), bool)
    dist = np.full(len(starts), np.inf)
    if ok.any():
        finals = replay(task.env_id, starts[ok], env_actions[ok], **task.env_kwargs)[:, -1]
        env = task.make_env()
        success[ok] = env.is_success(finals, goals[ok])
        dist[ok] = env.goal_distance(finals, goals[ok])
        env.close()
    return success, dist


@torch.no_grad()
def model_success(task: Task, model, z0: torch.Tensor, plans: torch.Tensor,
                  goals: np.ndarray) -> np.ndarray:
    """Whether each plan's model rollout, decoded to a state, is in the goal region:
    ``z0 (B, D)``, ``plans (R, B, T, A)``, ``goals (B, S)`` -> ``(R, B)`` bool."""
    R, B = plans.shape[:2]
    z = z0.expand(R, *z0.shape).reshape(R * B, -1)
    final = model.rollout(z, plans.reshape(R * B, *plans.shape[2:]).to(z))[:, -1]
    states = model.decode(final).double().cpu().numpy()
    finite = np.isfinite(states).all(-1)
    env = task.make_env()
    ok = env.is_success(np.nan_to_num(states, nan=1e9, posinf=1e9, neginf=-1e9),
                        np.tile(goals, (R, 1)))
    env.close()
    return (ok & finite).reshape(R, B)


def reference_success(task: Task, model, z0: torch.Tensor, problems: ProblemSet,
                      sl: slice, goals: np.ndarray) -> np.ndarray:
    """Whether the problems' own reference actions succeed under the model: ``(B,)`` bool
    for the problems ``sl`` (``z0 (B, D)`` their encoded starts)."""
    ref = torch.as_tensor(problems.actions[sl], dtype=torch.float32, device=z0.device)
    plans = ref.reshape(ref.shape[0], -1, model.frameskip * ref.shape[-1])  # (B, T, k*A)
    return model_success(task, model, z0, plans[None], goals)[0]
