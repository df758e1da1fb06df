"""Planner registry, configs and overrides.

Configs are frozen dataclasses, one per planner, each field with a ``help`` that cites
where its default comes from; :data:`REGISTRY` maps planner names to
``(config class, planner class)``.  Overrides (the CLI's ``--set grasp.lr_states=0.05``)
go through :func:`parse_overrides` / :func:`apply_overrides`, which raise
:class:`~grasp_bench.errors.UserError` (a ``ValueError``) with a one-line message.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from typing import Any, NamedTuple

from grasp_bench.errors import UserError
from grasp_bench.planners.protocol import Planner

__all__ = [
    "REGISTRY",
    "FieldRow",
    "apply_overrides",
    "changed_fields",
    "describe_registry",
    "knob",
    "make_planner",
    "parent_planner",
    "parse_overrides",
    "positive",
    "register",
]

#: name -> (config class, planner class), in registration order.
REGISTRY: dict[str, tuple[type, type]] = {}


def knob(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A config field with its citation/help (and allowed values for strings)."""
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = tuple(choices)
    return field(default=default, metadata=meta)


def register(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: ``@register("cem", CEMConfig)`` on the planner class."""

    def deco(planner_cls: type) -> type:
        if not (dataclasses.is_dataclass(config_cls) and config_cls.__dataclass_params__.frozen):
            raise TypeError(f"{config_cls.__name__} must be a frozen dataclass")
        names = {f.name for f in dataclasses.fields(config_cls)}
        if "iterations" not in names:
            raise TypeError(f"{config_cls.__name__} needs an 'iterations' field")
        stray = set(getattr(config_cls, "search_space", {})) - names
        if stray:
            raise TypeError(f"{config_cls.__name__}.search_space names no field: {stray}")
        if name in REGISTRY and REGISTRY[name][1] is not planner_cls:
            taken = REGISTRY[name][1]
            raise ValueError(f"planner name {name!r} is taken by "
                             f"{taken.__module__}.{taken.__qualname__}")
        planner_cls.name = name
        REGISTRY[name] = (config_cls, planner_cls)
        return planner_cls

    return deco


def _config_class(planner: str) -> type:
    if planner not in REGISTRY:
        raise UserError(f"unknown planner {planner!r}; planners: {', '.join(REGISTRY)}")
    return REGISTRY[planner][0]


def _field_types(config_cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _convert(planner: str, name: str, value: Any) -> Any:
    """Check/convert one override value to its field's type; one-line UserError if wrong."""
    config_cls = _config_class(planner)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    if name not in fields:
        raise UserError(
            f"unknown field {name!r} for planner {planner}; fields: {', '.join(fields)}"
        )
    typ = _field_types(config_cls)[name]
    choices = fields[name].metadata.get("choices")
    where = f"{planner}.{name}"
    raw = value.strip() if isinstance(value, str) else value
    if typ is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise UserError(f"{where} expects a bool (true/false), got {value!r}")
    if typ is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw)
            except ValueError:
                pass
        raise UserError(f"{where} expects an int, got {value!r}")
    if typ is float:
        out: float | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            out = float(raw)
        elif isinstance(raw, str):
            try:
                out = float(raw)
            except ValueError:
                out = None
        if out is None or not math.isfinite(out):
            raise UserError(f"{where} expects a finite float, got {value!r}")
        return out
    if typ is str:
        if not isinstance(raw, str):
            raise UserError(f"{where} expects a str, got {value!r}")
        if choices is not None and raw not in choices:
            raise UserError(f"{where} expects one of {', '.join(choices)}; got {value!r}")
        return raw
    raise TypeError(f"{where}: unsupported field type {typ!r}")  # a bug in a config class


def parse_overrides(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``["grasp.lr_states=0.05", "cem.samples=100"]`` -> ``{"grasp": {"lr_states": 0.05},
    "cem": {"samples": 100}}``, values converted to the fields' types (later items win).

    Raises :class:`UserError` (a ``ValueError``) with a one-line message for a malformed
    item, an unknown planner or field, or a value of the wrong type.
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        planner, dot, name = key.strip().partition(".")
        if not sep or not dot or not planner or not name:
            raise UserError(f"bad override {item!r}; expected planner.field=value")
        out.setdefault(planner, {})[name] = _convert(planner, name, value)
    return out


def apply_overrides(planner: str, overrides: Mapping[str, Any] | None = None, base: Any = None):
    """The config of ``planner`` (``base`` or the defaults) with ``overrides`` applied.

    Values may be strings (converted) or already typed; the config's own checks run too.
    Raises :class:`UserError` on any mistake.
    """
    config_cls = _config_class(planner)
    changes = {k: _convert(planner, k, v) for k, v in (overrides or {}).items()}
    try:
        return dataclasses.replace(base if base is not None else config_cls(), **changes)
    except ValueError as e:  # __post_init__ checks
        raise UserError(f"{planner}: {e}") from None


def make_planner(name: str, overrides: Mapping[str, Any] | None = None) -> Planner:
    """Build planner ``name`` from its default config with ``overrides`` applied."""
    config = apply_overrides(name, overrides)
    return REGISTRY[name][1](config)


class FieldRow(NamedTuple):
    """One row of :func:`describe_registry`."""

    planner: str
    field: str
    type: str
    default: Any
    help: str


def describe_registry() -> list[FieldRow]:
    """Every planner's fields: ``(planner, field, type, default, help)`` rows for the CLI."""
    rows = []
    for planner, (config_cls, _) in REGISTRY.items():
        types = _field_types(config_cls)
        for f in dataclasses.fields(config_cls):
            typ = types[f.name].__name__
            if "choices" in f.metadata:
                typ += " {" + ",".join(f.metadata["choices"]) + "}"
            rows.append(FieldRow(planner, f.name, typ, f.default, f.metadata.get("help", "")))
    return rows


def parent_planner(name: str) -> str | None:
    """The registered planner whose config class ``name``'s config derives from (``grasp``
    for GRASP's presets and ablations), or None."""
    owners = {c: n for n, (c, _) in REGISTRY.items()}
    return next((owners[b] for b in _config_class(name).__mro__[1:] if b in owners), None)


def changed_fields(name: str) -> list[str]:
    """The fields of ``name``'s config whose default differs from its parent's (every field
    of a planner without a parent)."""
    own = _config_class(name)()
    parent = parent_planner(name)
    if parent is None:
        return [f.name for f in dataclasses.fields(own)]
    base = _config_class(parent)()
    return [f.name for f in dataclasses.fields(own)
            if not hasattr(base, f.name) or getattr(base, f.name) != getattr(own, f.name)]


def positive(config: Any, *names: str, allow_zero: bool = False) -> None:
    """``__post_init__`` helper: each named field must be > 0 (or >= 0)."""
    for n in names:
        v = getattr(config, n)
        if v < 0 or (v == 0 and not allow_zero):
            raise ValueError(f"{n} must be {'>= 0' if allow_zero else '> 0'}, got {v}")


# -- range checks of --set values (called by grasp_bench.options.prepare) -------------------
#: How far outside its searched range an overridden value may go before it is warned about.
FAR_OUTSIDE = 10.0


def override_warnings(planner: str, overrides: Mapping[str, Any]) -> list[str]:
    """One line per overridden field of ``planner`` whose value lies more than
    :data:`FAR_OUTSIDE` times outside the range its config's ``search_space`` declares
    (``grasp.lr_states=5`` against [0.01, 0.3]); fields without a declared range pass."""
    space = getattr(_config_class(planner), "search_space", {}) or {}
    out = []
    for name, raw in overrides.items():
        value = _convert(planner, name, raw)
        rng = space.get(name)
        low, high = getattr(rng, "low", None), getattr(rng, "high", None)
        if low is None or high is None or isinstance(value, bool | str):
            continue
        too_high = high > 0 and value > FAR_OUTSIDE * high
        too_low = low > 0 and value < low / FAR_OUTSIDE
        if too_high or too_low:
            out.append(f"--set {planner}.{name}={raw} is more than {FAR_OUTSIDE:g}x "
                       f"{'above' if too_high else 'below'} the range searched for it "
                       f"[{low:g}, {high:g}]; its results may mean little")
    return out


def check_rules(planner: str, config: Any) -> None:
    """The documented rules a config must keep for its result to mean anything; one-line
    :class:`UserError` if it breaks one.  GRASP and its presets: ``iterations`` a multiple
    of ``sync_every`` (when syncing), so the plan returned is freshly synced."""
    names = {f.name for f in dataclasses.fields(config)}
    if {"iterations", "sync_every", "sync_steps"} <= names:
        it, every = config.iterations, config.sync_every
        if every > 0 and config.sync_steps > 0 and it % every:
            near = max(every, round(it / every) * every)
            raise UserError(f"{planner}: iterations ({it}) must be a multiple of sync_every "
                            f"({every}) so the plan returned is freshly synced (try "
                            f"iterations={near})")
