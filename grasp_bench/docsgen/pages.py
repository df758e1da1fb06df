"""Tables the documentation site fills in while it builds, from the code and the files it
documents, so that they cannot drift from them:

* ``<!-- build:planner-configs -->``: every registered planner (built-in, and any plugin
  installed where the site is built), its algorithm line, and every config field with its
  type, default, search range and the help that cites its source, from the planner registry
  (:mod:`grasp_bench.planners.registry`) and the config dataclasses; GRASP's presets and
  ablations show only the fields that differ from GRASP, as ``grasp-bench planners`` does;
* ``<!-- build:checkpoints -->``: the shipped checkpoints from their manifests
  (``checkpoints/*.json``): architecture, data, training, open-loop error and reference
  fidelity;
* ``<!-- build:recipes -->``: the recipes that rebuild them
  (:data:`grasp_bench.models.recipes.RECIPES`);
* ``<!-- build:cli-reference -->``: every command with its arguments and options, from the
  Typer app (Typer's own Markdown generator on :data:`grasp_bench.docsgen.cli.command`).

:func:`expand` replaces each marker; the MkDocs hook :mod:`grasp_bench.docsgen.hooks` calls
it on every page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
MARKER = re.compile(r"<!-- build:(?P<name>[a-z-]+) -->")


def _table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ")
                                 for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)])


def planner_configs() -> str:
    """One section per registered planner: its first docstring line, where it comes from,
    and its config fields (only those that differ from its parent for a preset)."""
    from grasp_bench.planners import REGISTRY, describe_registry
    from grasp_bench.planners.registry import changed_fields, parent_planner
    from grasp_bench.planners.space import describe
    from grasp_bench.plugins import PLANNERS, load_plugins, source

    load_plugins()
    rows_of: dict[str, list] = {}
    for row in describe_registry():
        rows_of.setdefault(row.planner, []).append(row)
    out = []
    for name, (config_cls, planner_cls) in REGISTRY.items():
        parent = parent_planner(name)
        shown = set(changed_fields(name))
        space = getattr(config_cls, "search_space", {}) or {}
        doc = (planner_cls.__doc__ or "").strip().splitlines()
        head = [f"### `{name}`", "",
                (doc[0] if doc else "") + f" Class `{planner_cls.__module__}."
                f"{planner_cls.__qualname__}`, config `{config_cls.__qualname__}` "
                f"({source(PLANNERS, name)})."]
        if parent:
            head.append(f"Its config is `{parent}`'s except the fields below.")
        cells = [[f"`{r.field}`", r.type, f"`{r.default}`", describe(space.get(r.field)),
                  r.help] for r in rows_of.get(name, []) if r.field in shown]
        table = (_table(["field", "type", "default", "search range", "source / meaning"],
                        cells) if cells else "No field differs from its parent's.")
        out.append("\n".join(head) + "\n\n" + table)
    return "\n\n".join(out)


def _fmt(x, digits: int = 3) -> str:
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _data(manifest: dict) -> str:
    """``"train: 1,969,895 transitions (3,000 demo, 3,000 replay at noise 0.05/0.1)"``."""
    out = []
    for split in ("train", "validation"):
        d = manifest.get("data", {}).get(split)
        if not d:
            continue
        parts = d.get("parts") or [d]
        kinds = ", ".join(
            f"{p.get('episodes', '?'):,} {p.get('source', 'behaviour')}"
            + (f" x noise {'/'.join(map(str, p['noise_levels']))}" if p.get("noise_levels")
               else "")
            for p in parts)
        trans = d.get("transitions")
        out.append(f"{split}: {trans:,} env steps ({kinds} episodes)" if trans
                   else f"{split}: {kinds} episodes")
    return "; ".join(out)


def _open_loop(manifest: dict) -> str:
    ol = manifest.get("validation", {}).get("open_loop", {})
    out = []
    for h, errs in ol.items():
        med = [f"{k} {_fmt(v)}" for k, v in errs.items() if not k.endswith("_p90")]
        out.append(f"{h}: " + ", ".join(med))
    return "; ".join(out)


def _fidelity(manifest: dict) -> str:
    fid = manifest.get("validation", {}).get("reference_fidelity") or {}
    cells = [f"{h}: {100 * v['rate']:.0f} [{100 * v['ci'][0]:.0f}, {100 * v['ci'][1]:.0f}]"
             f" (n = {v['n']})" for h, v in fid.items() if isinstance(v, dict) and "rate" in v]
    if not cells:
        return ""
    src = fid.get("source")
    return "; ".join(cells) + (f", {src} problems" if src else "")


def _architecture(manifest: dict) -> str:
    arch = dict(manifest.get("architecture", {}))
    name = arch.pop("class", "?")
    keep = {k: v for k, v in arch.items()
            if k not in ("state_dim", "env_action_dim", "angle_indices", "frameskip")}
    return f"`{name}`" + (" (" + ", ".join(f"{k} {_fmt(v)}" for k, v in keep.items()) + ")"
                          if keep else "")


def _training(manifest: dict) -> str:
    t = manifest.get("training", {})
    bits = []
    if "epochs_run" in t or "epochs" in t:
        bits.append(f"{t.get('epochs_run', t.get('epochs'))} epochs")
    if "seconds" in t:
        bits.append(f"{_fmt(float(t['seconds']), 4)} s")
    if t.get("device"):
        bits.append(f"on {t['device']}")
    return ", ".join(bits)


def checkpoints(directory: Path = CHECKPOINT_DIR) -> str:
    """One section per checkpoint manifest in ``directory``: what its manifest records."""
    out = []
    for path in sorted(Path(directory).glob("*.json")):
        m = json.loads(path.read_text())
        if not isinstance(m, dict) or "architecture" not in m:
            continue
        stats = m.get("action_stats")
        rows = [
            ["task (env id)", f"{m.get('task', '')} (`{m.get('env_id', '')}`)"],
            ["architecture", _architecture(m)],
            ["frameskip", str(m.get("frameskip", ""))],
            ["weights", f"{m.get('bytes', 0) / 1e6:.2f} MB, sha256 `{m.get('sha256', '')[:12]}`"],
            ["data", _data(m)],
            ["training", _training(m)],
            ["validation loss", _fmt(m.get("validation", {}).get("loss", ""))],
            ["open-loop error, median (px, rad)", _open_loop(m)],
            ["reference fidelity % [95 % CI]", _fidelity(m) or "not measured"],
            ["action_stats", f"mean {stats['mean']}, std {stats['std']}" if stats
             else "none (the task's statistics z-score its actions)"],
        ]
        out.append(f"### `{m.get('weights', path.with_suffix('.pt').name)}`\n\n"
                   + _table(["manifest", "value"], rows))
    return "\n\n".join(out)


def recipes() -> str:
    """One row per recipe of ``grasp-bench checkpoints`` (:mod:`grasp_bench.models.recipes`):
    its data, architecture and training config."""
    from dataclasses import asdict

    from grasp_bench.models.recipes import RECIPES

    rows = []
    for name, r in RECIPES.items():
        data = []
        if r.train_episodes or r.val_episodes:
            data.append(f"{r.train_episodes:,} / {r.val_episodes:,} behaviour episodes of "
                        f"{r.steps} steps")
        if any(r.demos):
            data.append(f"{r.demos[0]:,} / {r.demos[1]:,} demonstrations (at most "
                        f"{r.steps} steps)")
        if r.noise_levels:
            data.append("each demonstration also replayed at action noise "
                        + " / ".join(map(str, r.noise_levels)))
        train = ", ".join(f"{k} {_fmt(v)}" for k, v in asdict(r.train).items())
        arch = ", ".join(f"{k} {_fmt(v)}" for k, v in r.arch.items()) or "the kind's defaults"
        rows.append([f"`{name}`", r.task, r.kind, "; ".join(data) + " (train / validation)",
                     arch, train])
    return _table(["recipe (checkpoint)", "task", "kind", "data", "architecture",
                   "training"], rows)


def cli_reference() -> str:
    """Every command of ``grasp-bench``, its arguments and options with their help and
    defaults: Typer's own Markdown generator (``typer.cli.get_docs_for_click``, what
    ``typer ... utils docs`` writes) run on the app's click command."""
    import typer
    from typer.cli import get_docs_for_click

    from grasp_bench.docsgen.cli import command

    ctx = typer.Context(command, info_name="grasp-bench")
    return get_docs_for_click(obj=command, ctx=ctx, name="grasp-bench", indent=1).strip()


BUILDERS = {"planner-configs": planner_configs, "checkpoints": checkpoints,
            "recipes": recipes, "cli-reference": cli_reference}


def expand(markdown: str) -> str:
    """``markdown`` with every ``<!-- build:NAME -->`` marker replaced by its table."""
    if "<!-- build:" not in markdown:
        return markdown

    def sub(m: re.Match) -> str:
        build = BUILDERS.get(m["name"])
        if build is None:
            raise ValueError(f"unknown docs marker {m[0]}; known: {', '.join(BUILDERS)}")
        return build()

    return MARKER.sub(sub, markdown)
