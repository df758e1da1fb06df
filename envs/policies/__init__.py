"""Scripted behaviour policies for data collection and goal generation.

Interface (all policies)::

    policy = PushTPusher(noise_std=0.1, epsilon=0.05)
    policy.reset(state, rng)          # state (S,), rng: np.random.Generator
    action = policy.act(state)        # (2,) float64 in [-1, 1], relative convention

``reset`` must be called at the start of every episode; all randomness comes
from the ``rng`` given there (the policy keeps a reference and draws from it,
so one Generator can drive env resets and policy alike). ``act`` is called
once per env step with the current state and returns the relative action
(PD target = controlled body's position + 100 * action).

Every policy takes:

* ``noise_std``: standard deviation of Gaussian noise added to each action
  component (exploration noise), before clipping to ``[-1, 1]``.
* ``epsilon``: probability of replacing the action with a uniform random one.

Modules: :mod:`~envs.policies.base` (:class:`ScriptedPolicy`,
:class:`RandomPolicy`), :mod:`~envs.policies.pusht` (:class:`PushTPusher` and
the T geometry helpers), :mod:`~envs.policies.demonstrator`
(:class:`PushTDemonstrator`, :func:`demonstrate`) and the contact geometry it plans with,
:mod:`~envs.policies.contacts`; :mod:`~envs.policies.ballnav`
(:class:`BallNavFollower`).
"""

from __future__ import annotations

from typing import Any

from envs.policies.ballnav import BallNavFollower
from envs.policies.base import RandomPolicy, ScriptedPolicy, _check_range, _check_unit
from envs.policies.demonstrator import PushTDemonstrator, demonstrate
from envs.policies.pusht import _T_LOCAL, PushTPusher, _ray_entry, _t_world


def make_policy(env: Any, **kwargs: Any) -> ScriptedPolicy:
    """The default scripted policy of an env (instance, wrapper or id).

    Push-T -> :class:`PushTPusher`; BallNav -> :class:`BallNavFollower` on the
    env's layout (``layout=`` may be given for an id). ``kwargs`` go to the policy.
    """
    from envs.ballnav import BallNavEnv
    from envs.pusht import PushTEnv

    if isinstance(env, str):
        if "PushT" in env:
            return PushTPusher(**kwargs)
        if "BallNav" in env:
            return BallNavFollower(**kwargs)
        raise ValueError(f"no scripted policy for env id {env!r}")
    base = getattr(env, "unwrapped", env)
    if isinstance(base, PushTEnv):
        return PushTPusher(**kwargs)
    if isinstance(base, BallNavEnv):
        kwargs.setdefault("layout", base.layout)
        return BallNavFollower(**kwargs)
    raise ValueError(f"no scripted policy for {type(base).__name__}")


__all__ = [
    "BallNavFollower",
    "PushTDemonstrator",
    "PushTPusher",
    "RandomPolicy",
    "ScriptedPolicy",
    "_T_LOCAL",
    "_check_range",
    "_check_unit",
    "_ray_entry",
    "_t_world",
    "demonstrate",
    "make_policy",
]
