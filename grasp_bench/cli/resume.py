"""`sweep --resume`: which options the command line gave, and what they contradict in the
run being resumed (each difference is refused in one line by the sweep command)."""

from __future__ import annotations

from pathlib import Path

import typer

from grasp_bench.cli.common import parse_ints

__all__ = ["explicit", "resume_conflicts"]


def explicit(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` of the running command was given (command line or
    environment), not left at its default."""
    source = ctx.get_parameter_source(name)
    return getattr(source, "name", None) in ("COMMANDLINE", "ENVIRONMENT")


def resume_conflicts(run_opts, given: dict) -> list[str]:
    """What ``given`` (the options given explicitly with ``sweep --resume``, by parameter
    name, as typed) contradicts in the options the run was made with: one
    ``"--name RUN (given X)"`` per difference (``--problem-source`` is checked apart)."""
    from grasp_bench.devices import resolve_device
    from grasp_bench.planners import parse_overrides
    from grasp_bench.tasks import get_task

    def planners_of(v):
        return tuple(p.strip() for p in v.split(",") if p.strip())

    def path_of(v):
        return None if v is None else Path(v).expanduser().resolve()

    def tuned_of(tuned, tuned_file):
        return str(path_of(tuned_file)) if tuned_file else ("shipped" if tuned else None)

    # option -> (SweepOptions field, the given value in the field's terms, comparable form)
    fields = {
        "env": ("env", str, str),
        "layout": ("layout", lambda v: v, lambda v: get_task(run_opts.env, v).tag),
        "planners": ("planners", planners_of, tuple),
        "horizons": ("horizons", lambda v: parse_ints(v, "horizons"), tuple),
        "episodes": ("episodes", int, int),
        "device": ("device", str, lambda v: resolve_device(v).type),
        "seed": ("seed", int, int),
        "overrides": ("overrides", lambda v: tuple(v or ()),
                      lambda v: parse_overrides(list(v))),
        "batch_size": ("batch_size", lambda v: v, lambda v: v),
        "snapshots": ("snapshots", int, int),
        "checkpoint": ("checkpoint", lambda v: None if v is None else str(v), path_of),
        "split": ("problem_split", str, str),
        "problem_offset": ("problem_offset", int, int),
        "mode": ("mode", str, str),
        "execute": ("execute", int, int),
        "replan_budget": ("replan_budget", float, float),
        "objective": ("objective", str, str),
        "model": ("model", str, str),
        "threads": ("threads", int, int),
    }
    out = []
    for name, value in given.items():
        if name not in fields:
            continue
        attr, convert, same = fields[name]
        was, now = getattr(run_opts, attr), convert(value)
        if same(was) != same(now):
            out.append(f"--{name.replace('_', '-')} {_shown(was)} (given {_shown(now)})")
    if "tuned" in given or "tuned_file" in given:
        was = run_opts.tuned
        now = tuned_of(given.get("tuned", False), given.get("tuned_file"))
        comparable = was if was in (None, "shipped") else str(path_of(was))
        if comparable != now:
            out.append(f"tuned configs {_shown(was)} (given {_shown(now)})")
    return out


def _shown(value) -> str:
    if value is None:
        return "default"
    if isinstance(value, tuple):  # planners, horizons (a,b) or --set items (a=1 b=2)
        sep = " " if any("=" in str(v) for v in value) else ","
        return sep.join(map(str, value)) or "none"
    return str(value)
