"""Shared pymunk base of the grasp-bench environments.

Both environments share the control scheme of DINO-WM's Push-T:

* 100 Hz physics, 10 Hz control: one env step is ``N_SUBSTEPS = 10`` calls of
  ``space.step(DT)`` with ``DT = 0.01`` s.
* Relative actions ``a`` in ``[-1, 1]^2`` (clipped): the PD target of the step is
  ``target = p0 + ACTION_SCALE * a`` where ``p0`` is the controlled body's
  position at the START of the env step (``ACTION_SCALE = 100`` px).
* PD control with ``K_P = 100``, ``K_V = 20`` (critically damped): at every
  sub-step ``v += (K_P * (target - p) + K_V * (0 - v)) * DT``.

The base class owns action/state validation, reset/step plumbing, the
open-loop :meth:`PymunkEnv.rollout` used by :func:`envs.replay.replay`, and
rendering dispatch. Subclasses define the bodies, how a state is placed in a
fresh contact state (``_place_bodies``) and read (``_read_state``), the
physics of one env step (``_advance``), and the task
(``_evaluate``, ``is_success``, ``goal_distance``).

Markov simulation. Chipmunk keeps state that the state vector does not
hold: cached contacts whose accumulated impulses warm-start the solver, the
solver's pending penetration correction (bias velocities), and spatial-index
history that fixes the order in which contacts are solved. Left alone, the
same state vector can lead to visibly different futures (Push-T: up to tens of
px after 20 pushing steps). ``set_state`` therefore always places the bodies
in a fresh contact state built the same way every time, so a rollout from
``set_state(s)`` is an exact (bit-for-bit) function of ``s`` and the actions;
this is what :func:`envs.replay.replay` relies on.

With ``markov=True`` the simulator is also re-placed that way at the state it
reports after every env step: the next state is then an exact function of
``(state, action)`` and replaying from any state of a trajectory reproduces
the rest of it. The price is that the solver's warm start is reset every
0.1 s. BallNav uses this by default (the ball is alone against static walls,
nothing changes physically). Push-T defaults to ``markov=False``, the
reference's behaviour, because there the warm start matters: without it, a
block pinched between the infinitely heavy kinematic agent and a wall can be
squeezed through the wall. With ``markov=False``, a state taken from the
middle of a trajectory and replayed gives a slightly different continuation
(solver warm start), so problems should be built by replaying from their start
state, never by slicing a longer trajectory.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pymunk
from gymnasium import spaces

SIM_HZ = 100
CONTROL_HZ = 10
DT = 1.0 / SIM_HZ
N_SUBSTEPS = SIM_HZ // CONTROL_HZ
K_P = 100.0
K_V = 20.0
ACTION_SCALE = 100.0
ARENA_SIZE = 512


def describe(value: Any) -> str:
    """Short description of a bad input for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def as_real_array(value: Any, shape: Sequence[int | None], what: str) -> np.ndarray:
    """Validate a finite real array and return it as a float64 copy.

    Args:
        value: array-like input.
        shape: expected shape; ``None`` entries match any size.
        what: name used in the error message, e.g. ``"state"``.

    Raises:
        ValueError: wrong type (strings, objects, bools, complex), wrong shape,
            or non-finite entries.
    """
    dims = ["*" if s is None else str(s) for s in shape]
    expected = f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - ragged nested lists and the like
        raise ValueError(
            f"{what} must be a real-valued array of shape {expected}, got {describe(value)}"
        ) from None
    if arr.dtype.kind not in "iuf":
        raise ValueError(
            f"{what} must be a real-valued array of shape {expected}, got {describe(value)}"
        )
    if arr.ndim != len(shape) or any(
        s is not None and s != n for s, n in zip(shape, arr.shape, strict=True)
    ):
        raise ValueError(f"{what} must have shape {expected}, got shape {arr.shape}")
    arr = np.array(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} must be finite, got non-finite values (NaN or inf)")
    return arr


def as_action(action: Any) -> tuple[float, float]:
    """Validate one env action ``(2,)`` and clip it to ``[-1, 1]``.

    Out-of-range values are clipped (as with any Box action); wrong types,
    shapes and non-finite values raise :class:`ValueError`.
    """
    arr = np.asarray(action) if not isinstance(action, np.ndarray) else action
    if arr.dtype.kind not in "iuf" or arr.shape != (2,):
        raise ValueError(
            f"action must be a real-valued array of shape (2,), got {describe(action)}"
        )
    ax = float(arr[0])
    ay = float(arr[1])
    if not (math.isfinite(ax) and math.isfinite(ay)):
        raise ValueError(f"action must be finite, got [{ax}, {ay}]")
    return min(max(ax, -1.0), 1.0), min(max(ay, -1.0), 1.0)


def as_actions(actions: Any, leading: Sequence[int | None]) -> np.ndarray:
    """Validate a batch of actions ``(*leading, 2)``; returns a clipped float64 copy."""
    arr = as_real_array(actions, (*leading, 2), "actions")
    return np.clip(arr, -1.0, 1.0, out=arr)


class PymunkEnv(gym.Env[np.ndarray, np.ndarray], ABC):
    """Gymnasium env on a pymunk space with the relative-target PD control above.

    Subclass API (public):
        ``get_state() -> (S,)``, ``set_state(state (S,))``,
        ``is_success(state, goal)``, ``goal_distance(state, goal)``,
        ``rollout(start (S,), actions (H, 2)) -> (H+1, S)``.

    Args:
        render_mode: ``None`` or ``"rgb_array"``.
        render_size: side in pixels of the square ``rgb_array`` frame.
        markov: re-place the simulator at its reported state after every env
            step (exact Markov dynamics, see the module docstring).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": CONTROL_HZ}
    state_dim: ClassVar[int]
    action_dim: ClassVar[int] = 2
    reset_options: ClassVar[frozenset[str]] = frozenset({"state"})

    dt: ClassVar[float] = DT
    n_substeps: ClassVar[int] = N_SUBSTEPS
    k_p: ClassVar[float] = K_P
    k_v: ClassVar[float] = K_V
    action_scale: ClassVar[float] = ACTION_SCALE

    def __init__(
        self, render_mode: str | None = None, render_size: int = 224, markov: bool = True
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        if (
            not isinstance(render_size, int | np.integer)
            or isinstance(render_size, bool)
            or (render_size < 16)
        ):
            raise ValueError(f"render_size must be an integer >= 16, got {render_size!r}")
        self.render_mode = render_mode
        self.render_size = int(render_size)
        self.markov = bool(markov)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.action_dim,), dtype=np.float32)
        self.space: pymunk.Space | None = None
        self._placed: np.ndarray | None = None  # state the space was last placed at
        self._init_kwargs: dict[str, Any] = {"render_size": self.render_size, "markov": self.markov}

    # ----------------------------------------------------------------- hooks
    @abstractmethod
    def _place_bodies(self, state: np.ndarray) -> None:
        """Put the bodies at the normalized ``state (S,)`` in a fresh contact state.

        Must leave nothing from earlier steps behind (cached contacts, index
        order), so the result depends on ``state`` only.
        """

    @abstractmethod
    def _read_state(self) -> np.ndarray:
        """Read the ``(S,)`` state from the bodies."""

    def _normalize(self, state: np.ndarray) -> np.ndarray:
        """Canonical form of a valid ``state (S,)`` (e.g. wrapped angles); in place."""
        return state

    @abstractmethod
    def _check_state(self, state: np.ndarray) -> None:
        """Raise ValueError if the finite ``state (S,)`` is physically invalid."""

    @abstractmethod
    def _advance(self, ax: float, ay: float) -> None:
        """Run the ``n_substeps`` physics sub-steps of one env step (clipped action)."""

    @abstractmethod
    def _sample_state(self) -> np.ndarray:
        """Draw a reset state ``(S,)`` from ``self.np_random``."""

    @abstractmethod
    def _reset_task(self, options: dict[str, Any], state: np.ndarray) -> None:
        """Set the task goal at reset (from ``options`` or ``self.np_random``)."""

    @abstractmethod
    def _evaluate(self, state: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """Reward, termination and info dict of the current ``state (S,)``."""

    @abstractmethod
    def _render_frame(self) -> np.ndarray:
        """The current frame, ``(render_size, render_size, 3)`` uint8."""

    @abstractmethod
    def is_success(self, state: Any, goal: Any) -> Any:
        """Planning success of ``state (S,) | (N, S)`` against ``goal (S,) | (N, S)``."""

    @abstractmethod
    def goal_distance(self, state: Any, goal: Any) -> Any:
        """Distance used by the success test, same shapes as :meth:`is_success`."""

    # ------------------------------------------------------------ state API
    def validate_state(self, state: Any) -> np.ndarray:
        """Check ``state`` (shape ``(S,)``, finite, physically valid); float64 copy."""
        arr = as_real_array(state, (self.state_dim,), "state")
        self._check_state(arr)
        return arr

    def set_state(self, state: Any) -> None:
        """Place the simulator exactly at ``state (S,)`` without advancing time.

        Contacts start fresh, so nothing from earlier steps influences what
        follows. ``get_state()`` then returns ``state`` (angles wrapped).

        Raises:
            ValueError: wrong shape, non-finite or physically invalid state.
        """
        self._place(self._normalize(self.validate_state(state)))

    def get_state(self) -> np.ndarray:
        """The full simulator state, ``(S,)`` float64 (a new array)."""
        if self.space is None:
            raise gym.error.ResetNeeded("call reset() or set_state() before get_state()")
        if self._placed is not None:
            return self._placed.copy()
        return self._read_state()

    def _place(self, state: np.ndarray) -> None:
        self._place_bodies(state)
        self._placed = state

    def _physics_step(self, ax: float, ay: float) -> np.ndarray:
        """One env step of physics; returns the new state (a new array)."""
        self._placed = None
        self._advance(ax, ay)
        state = self._normalize(self._read_state())
        if self.markov:
            self._place(state)
            return state.copy()
        return state

    # ------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset to a random state (or ``options["state"]``).

        Returns:
            ``(observation (S,), info)``.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - self.reset_options
        if unknown:
            raise ValueError(
                f"unknown reset options {sorted(unknown)}; expected keys among "
                f"{sorted(self.reset_options)}"
            )
        if options.get("state") is not None:
            state = self.validate_state(options["state"])
        else:
            state = self._sample_state()
        self._reset_task(options, state)
        self.set_state(state)
        obs = self.get_state()
        _, _, info = self._evaluate(obs)
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply one relative action ``(2,)`` for one env step (10 physics sub-steps)."""
        ax, ay = as_action(action)
        if self.space is None:
            raise gym.error.ResetNeeded("call reset() or set_state() before step()")
        obs = self._physics_step(ax, ay)
        reward, terminated, info = self._evaluate(obs)
        return obs, reward, terminated, False, info

    def rollout(self, start: Any, actions: Any) -> np.ndarray:
        """Open-loop rollout without reward bookkeeping (the fast path of replay).

        Args:
            start: ``(S,)`` state, placed with :meth:`set_state`.
            actions: ``(H, 2)`` relative actions (clipped to ``[-1, 1]``).

        Returns:
            ``(H + 1, S)`` states, ``start`` (as read back) first.
        """
        acts = as_actions(actions, (None,))
        self.set_state(start)
        out = np.empty((acts.shape[0] + 1, self.state_dim), dtype=np.float64)
        out[0] = self.get_state()
        out[1:] = self.advance(acts)
        return out

    def advance(self, actions: Any) -> np.ndarray:
        """Continue the current simulation for ``actions (H, 2)`` (no re-placing, no reward
        bookkeeping): the states after each env step, ``(H, S)``.  Closed-loop control
        executes its segments with this, so the solver's warm start carries over."""
        acts = as_actions(actions, (None,))
        if self.space is None:
            raise gym.error.ResetNeeded("call reset() or set_state() before advance()")
        out = np.empty((acts.shape[0], self.state_dim), dtype=np.float64)
        physics_step = self._physics_step
        for t, (ax, ay) in enumerate(acts.tolist()):
            out[t] = physics_step(ax, ay)
        return out

    def render(self) -> np.ndarray | None:  # type: ignore[override]
        """``(render_size, render_size, 3)`` uint8 frame in ``rgb_array`` mode, else None."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; returning None")
            return None
        if self.space is None:
            raise gym.error.ResetNeeded("call reset() or set_state() before render()")
        return self._render_frame()

    def close(self) -> None:
        """Drop the pymunk space (idempotent)."""
        self.space = None
