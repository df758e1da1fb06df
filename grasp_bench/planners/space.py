"""Hyperparameter search spaces, declared by each planner next to its config.

A config class lists what ``grasp-bench tune`` may change as a class variable::

    @dataclass(frozen=True)
    class CEMConfig:
        ...
        search_space: ClassVar[SearchSpace] = {
            "samples": Int(100, 1000, log=True, why="..."),
        }

Each entry says its range, whether it is searched on a log scale, and why (a source or a
measurement).  Fields not listed keep their defaults.  Sampling goes through any object
with Optuna's ``suggest_int / suggest_float / suggest_categorical`` (an ``optuna.Trial``);
this module does not import Optuna.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Choice", "Float", "Int", "SearchSpace", "Suggester", "describe", "sample"]


class Suggester(Protocol):
    """What a search space needs of an Optuna trial."""

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False
                      ) -> float: ...

    def suggest_categorical(self, name: str, choices: tuple) -> Any: ...


@dataclass(frozen=True)
class _Range:
    low: float
    high: float
    log: bool = False
    why: str = ""

    def contains(self, value: Any) -> bool:
        return isinstance(value, self.kind) and not isinstance(value, bool) \
            and self.low <= value <= self.high


class Int(_Range):
    """An integer in ``[low, high]`` (log-uniform if ``log``)."""

    kind = int

    def suggest(self, trial: Suggester, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)


class Float(_Range):
    """A float in ``[low, high]`` (log-uniform if ``log``, then ``low > 0``)."""

    kind = (int, float)

    def suggest(self, trial: Suggester, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)


@dataclass(frozen=True)
class Choice:
    """One of ``values``."""

    values: tuple
    why: str = ""

    def suggest(self, trial: Suggester, name: str) -> Any:
        return trial.suggest_categorical(name, self.values)

    def contains(self, value: Any) -> bool:
        return value in self.values


SearchSpace = Mapping[str, Int | Float | Choice]


def describe(space: Int | Float | Choice | None) -> str:
    """A field's search range as tables print it: ``"0.2 .. 5 (log)"``, ``"{randn, zero}"``,
    or empty when the field is not searched."""
    if space is None:
        return ""
    if isinstance(space, Choice):
        return "{" + ", ".join(map(str, space.values)) + "}"
    return f"{space.low:g} .. {space.high:g}" + (" (log)" if space.log else "")


def sample(space: SearchSpace, trial: Suggester, fixed: Mapping[str, Any] = ()) -> dict:
    """One configuration's searched fields, ``{field: value}``, skipping those in ``fixed``."""
    fixed = dict(fixed)
    return {name: p.suggest(trial, name) for name, p in space.items() if name not in fixed}
