"""Open-loop batch replay of action sequences in the real simulator.

:func:`replay` reuses ONE env: for every row it calls ``set_state`` (which
rebuilds the pymunk space, so rows are independent and exactly reproducible)
and steps the actions without any reward bookkeeping (no shapely). With
``workers > 1`` the rows are split over processes; the result is identical.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from envs.ballnav import BallNavEnv
from envs.base import PymunkEnv, as_actions, as_real_array
from envs.pusht import PushTEnv

ENV_CLASSES: dict[str, type[PymunkEnv]] = {
    "grasp_bench/PushT-v0": PushTEnv,
    "grasp_bench/BallNav-v0": BallNavEnv,
}


def make_env(env_id: str, **env_kwargs: Any) -> PymunkEnv:
    """A bare (unwrapped) env for ``env_id``: no TimeLimit or checker wrappers.

    Raises:
        ValueError: unknown id.
    """
    if env_id not in ENV_CLASSES:
        raise ValueError(f"unknown env id {env_id!r}; expected one of {sorted(ENV_CLASSES)}")
    return ENV_CLASSES[env_id](**env_kwargs)


def _replay_rows(
    env_cls: type[PymunkEnv], env_kwargs: dict[str, Any], starts: np.ndarray, actions: np.ndarray
) -> np.ndarray:
    env = env_cls(**env_kwargs)
    return _replay_with(env, starts, actions)


def _replay_with(env: PymunkEnv, starts: np.ndarray, actions: np.ndarray) -> np.ndarray:
    n, h = actions.shape[:2]
    out = np.empty((n, h + 1, env.state_dim), dtype=np.float64)
    for i in range(n):
        out[i] = env.rollout(starts[i], actions[i])
    return out


def replay(
    env: str | Any,
    starts: Any,
    actions: Any,
    *,
    workers: int = 1,
    start_method: str = "spawn",
    **env_kwargs: Any,
) -> np.ndarray:
    """Replay action sequences open-loop from start states.

    Args:
        env: env id (``"grasp_bench/PushT-v0"``, ``"grasp_bench/BallNav-v0"``) or
            an env instance (wrappers allowed; its unwrapped env is reused).
        starts: ``(N, S)`` start states.
        actions: ``(N, H, 2)`` relative actions; values outside ``[-1, 1]`` are
            clipped, as in ``step``.
        workers: processes to split the rows over (1 = in this process).
        start_method: multiprocessing start method for ``workers > 1``.
        **env_kwargs: constructor arguments when ``env`` is an id (e.g.
            ``layout="maze"`` for BallNav).

    Returns:
        ``(N, H + 1, S)`` float64 states; ``[:, 0]`` are the starts as placed.

    Raises:
        ValueError: unknown id, kwargs given with an instance, bad shapes,
            non-finite or non-numeric values, invalid start states.
    """
    if isinstance(env, str):
        base = make_env(env, **env_kwargs)
    else:
        base = getattr(env, "unwrapped", env)
        if not isinstance(base, PymunkEnv):
            raise ValueError(
                f"env must be an env id or a grasp-bench env, got {type(env).__name__}"
            )
        if env_kwargs:
            raise ValueError("env_kwargs are only accepted with an env id, not an env instance")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    s = as_real_array(starts, (None, base.state_dim), "starts")
    a = as_actions(actions, (s.shape[0], None))
    for i, row in enumerate(s):  # validate every start before any work
        try:
            base.validate_state(row)
        except ValueError as err:
            raise ValueError(f"starts[{i}]: {err}") from None
    workers = min(workers, max(1, s.shape[0]))
    if workers == 1:
        return _replay_with(base, s, a)
    chunks = np.array_split(np.arange(s.shape[0]), workers)
    ctx = mp.get_context(start_method)
    kwargs = dict(base._init_kwargs)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_replay_rows, type(base), kwargs, s[idx], a[idx]) for idx in chunks]
        return np.concatenate([f.result() for f in futures], axis=0)
