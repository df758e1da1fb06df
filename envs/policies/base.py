"""Scripted-policy base: exploration noise, epsilon-random actions, rng plumbing.

See :mod:`envs.policies` for the interface shared by all policies.
"""

from __future__ import annotations

import numpy as np


def _check_unit(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _check_range(
    value: tuple[float, float], name: str, low: float, high: float
) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (low <= a <= b <= high):
        raise ValueError(f"{name} must satisfy {low} <= low <= high <= {high}, got {value!r}")
    return a, b


class ScriptedPolicy:
    """Base: exploration noise, epsilon-random actions and the rng plumbing.

    Args:
        noise_std: Gaussian action noise std (>= 0).
        epsilon: probability of a uniform random action, in ``[0, 1]``.
    """

    def __init__(self, noise_std: float = 0.1, epsilon: float = 0.05) -> None:
        if not (isinstance(noise_std, int | float) and noise_std >= 0.0):
            raise ValueError(f"noise_std must be a number >= 0, got {noise_std!r}")
        self.noise_std = float(noise_std)
        self.epsilon = _check_unit(epsilon, "epsilon")
        self.rng: np.random.Generator | None = None

    def reset(self, state: np.ndarray, rng: np.random.Generator) -> None:
        """Start an episode from ``state (S,)``; ``rng`` supplies all randomness."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy Generator, got {type(rng).__name__}")
        self.rng = rng

    def act(self, state: np.ndarray) -> np.ndarray:
        """Action ``(2,)`` in ``[-1, 1]`` for ``state (S,)``."""
        if self.rng is None:
            raise RuntimeError("call reset(state, rng) before act()")
        return self._finish(self._act(np.asarray(state, dtype=np.float64)))

    def _act(self, state: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _finish(self, action: np.ndarray) -> np.ndarray:
        rng = self.rng
        if self.epsilon > 0.0 and rng.random() < self.epsilon:
            return rng.uniform(-1.0, 1.0, size=2)
        a = np.asarray(action, dtype=np.float64)
        if self.noise_std > 0.0:
            a = a + rng.normal(0.0, self.noise_std, size=2)
        return np.clip(a, -1.0, 1.0)


class RandomPolicy(ScriptedPolicy):
    """Uniform random actions, each held for a random number of steps.

    Args:
        hold: inclusive range of steps an action is repeated.
        noise_std, epsilon: see :class:`ScriptedPolicy`.
    """

    def __init__(
        self, hold: tuple[int, int] = (1, 5), noise_std: float = 0.0, epsilon: float = 0.0
    ) -> None:
        super().__init__(noise_std, epsilon)
        self.hold = tuple(int(v) for v in _check_range(hold, "hold", 1, 10_000))
        self._action = np.zeros(2)
        self._left = 0

    def reset(self, state: np.ndarray, rng: np.random.Generator) -> None:
        super().reset(state, rng)
        self._left = 0

    def _act(self, state: np.ndarray) -> np.ndarray:
        if self._left <= 0:
            self._action = self.rng.uniform(-1.0, 1.0, size=2)
            self._left = int(self.rng.integers(self.hold[0], self.hold[1] + 1))
        self._left -= 1
        return self._action
