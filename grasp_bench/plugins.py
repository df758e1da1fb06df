"""Planners and world models from other packages, through package entry points.

Two entry-point groups, each entry named for what it registers:

* ``grasp_bench.planners``: ``NAME = "pkg.module:PlannerClass"``, a planner class
  registered with ``@register("NAME", ConfigCls)``
  (:func:`grasp_bench.planners.registry.register`), exactly as the built-ins are.
* ``grasp_bench.models``: ``CLASSNAME = "pkg.module:ModelClass"``, an ``nn.Module``
  behind the :class:`~grasp_bench.models.base.WorldModel` protocol, registered with
  ``@register_architecture(ConfigCls)`` (:mod:`grasp_bench.models.checkpoint`); a
  checkpoint whose manifest's ``architecture.class`` is CLASSNAME then loads with it.

:func:`load_plugins` loads every entry once per process (the CLI before each command
that needs planners or models, the API, Ray workers).  An entry that fails to import or
breaks the contract (a ``plan`` that differs from the :class:`Planner` protocol's, a
config that is not a frozen dataclass, a name already taken, a model class without the
protocol's methods) is skipped with one line on stderr naming it, and leaves the
registries as they were: a bad plugin never takes the built-ins down.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from importlib.metadata import EntryPoint, entry_points

__all__ = ["MODELS", "PLANNERS", "PluginError", "load_plugins", "source"]

PLANNERS, MODELS = "grasp_bench.planners", "grasp_bench.models"
BUILT_IN = "built-in"

#: (group, registered name) -> the distribution that provided it
_SOURCES: dict[tuple[str, str], str] = {}
_tried: set[tuple[str, str, str]] = set()  # (group, entry name, value) already loaded
_scanned = False


class PluginError(TypeError):
    """A plugin breaks the contract (the message says how)."""


def source(group: str, name: str) -> str:
    """Where a planner (``PLANNERS``) or architecture (``MODELS``) comes from: ``built-in``
    or the plugin's distribution name."""
    return _SOURCES.get((group, name), BUILT_IN)


def load_plugins(*, rescan: bool = False) -> list[str]:
    """Load the entry points of both groups (once; ``rescan`` looks again for new ones).

    Returns the one-line messages of the plugins skipped (also printed on stderr).
    """
    global _scanned
    if _scanned and not rescan:
        return []
    _scanned = True
    import grasp_bench.planners  # noqa: F401  (built-ins first: clashes are theirs to win)

    skipped = []
    for group, load in ((PLANNERS, _load_planner), (MODELS, _load_model)):
        for ep in entry_points(group=group):
            key = (group, ep.name, ep.value)
            if key in _tried:
                continue
            _tried.add(key)
            try:
                names = load(ep)
            except Exception as e:  # noqa: BLE001  (any failure of outside code is a skip)
                text = str(e).strip().splitlines()[0] if str(e).strip() else ""
                line = (f"grasp-bench: skipped {group} plugin {ep.name} = {ep.value} "
                        f"({_dist(ep)}): {type(e).__name__}" + (f": {text}" if text else ""))
                print(line, file=sys.stderr)
                skipped.append(line)
                continue
            _SOURCES.update({(group, n): _dist(ep) for n in names})
    return skipped


def _dist(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "unknown distribution"


def _load_into(registry: dict, group: str, ep: EntryPoint, what: str, slot: int,
               check) -> list[str]:
    """Import ``ep``; keep what it registered in ``registry`` (its class at ``slot`` of the
    entry) if it passes ``check``, else restore ``registry`` and raise."""
    before = dict(registry)
    try:
        obj = ep.load()
        new = {k: v for k, v in registry.items() if before.get(k) is not v}
        if (ep.name not in new and ep.name in before and before[ep.name][slot] is obj
                and _SOURCES.get((group, ep.name)) == _dist(ep)):
            return [ep.name]  # registered already by another entry of its own module
        if ep.name not in new or new[ep.name][slot] is not obj:
            raise PluginError(f"the entry point must name a {what} class that registers "
                              f"itself as {ep.name!r} (see grasp_bench/plugins.py)"
                              + (f"; {ep.name!r} is taken by {source(group, ep.name)}"
                                 if ep.name in before else ""))
        for name, entry in new.items():
            check(name, *entry)
    except BaseException:
        registry.clear()
        registry.update(before)
        raise
    return list(new)


def _load_planner(ep: EntryPoint) -> list[str]:
    from grasp_bench.planners.registry import REGISTRY

    return _load_into(REGISTRY, PLANNERS, ep, "planner", 1, check_planner)


def _load_model(ep: EntryPoint) -> list[str]:
    from grasp_bench.models.checkpoint import ARCHITECTURES, check_architecture

    return _load_into(ARCHITECTURES, MODELS, ep, "model", 0,
                      lambda _name, model_cls, config_cls: check_architecture(model_cls,
                                                                              config_cls))


def check_planner(name: str, config_cls: type, planner_cls: type) -> None:
    """Raise :class:`PluginError` unless ``planner_cls`` keeps the :class:`Planner` contract:
    a frozen config with ``iterations``, a ``plan`` with the protocol's signature, and an
    instance built from the default config."""
    from grasp_bench.planners.protocol import Planner

    if not (dataclasses.is_dataclass(config_cls) and config_cls.__dataclass_params__.frozen):
        raise PluginError(f"{config_cls.__name__} must be a frozen dataclass")
    _check_signature(planner_cls, Planner.plan)
    planner = planner_cls(config_cls())
    if not isinstance(planner, Planner) or getattr(planner, "config", None) != config_cls():
        raise PluginError(f"{planner_cls.__name__}(config) must keep .config and have .name "
                          "and .snapshot_period")
    period = planner.snapshot_period
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise PluginError(f"{planner_cls.__name__}.snapshot_period must be an int >= 1")


def _check_signature(cls: type, protocol) -> None:
    """``cls.plan`` takes the protocol's positional arguments in order, its keyword-only
    ones by name (defaults where the protocol has them) and requires nothing else."""
    if not callable(getattr(cls, "plan", None)):
        raise PluginError(f"{cls.__name__} has no plan method")
    want = list(inspect.signature(protocol).parameters.values())
    have = inspect.signature(cls.plan).parameters
    positional = [p.name for p in have.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    n_pos = sum(p.kind == p.POSITIONAL_OR_KEYWORD for p in want)
    problem = None
    if positional[:n_pos] != [p.name for p in want[:n_pos]]:
        problem = f"positional arguments {positional[:n_pos]}, expected " \
                  f"{[p.name for p in want[:n_pos]]}"
    for p in want[n_pos:]:
        got = have.get(p.name)
        if got is None and not any(q.kind == q.VAR_KEYWORD for q in have.values()):
            problem = problem or f"no keyword argument {p.name!r}"
        elif got is not None and p.default is not p.empty and got.default is got.empty:
            problem = problem or f"{p.name!r} needs a default ({p.default!r})"
    extra = [p.name for p in have.values() if p.default is p.empty
             and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
             and p.name not in {q.name for q in want}]
    problem = problem or (f"extra required arguments {extra}" if extra else None)
    if problem:
        raise PluginError(f"{cls.__name__}.plan does not match the Planner protocol: {problem}")
