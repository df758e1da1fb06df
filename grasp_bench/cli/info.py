"""Commands that describe: planners, problems, bench, render."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from grasp_bench.cli.common import (
    DeviceOpt,
    EnvOpt,
    LayoutOpt,
    SourceOpt,
    ThreadsOpt,
    app,
    console,
    parse_ints,
    tuned_rate,
    user_errors,
)
from grasp_bench.cli.tables import WideOpt
from grasp_bench.defaults import DEFAULT_THREADS
from grasp_bench.errors import UserError


# -- planners and speed ---------------------------------------------------------------------
@app.command()
@user_errors
def planners(
    name: Annotated[str | None, typer.Argument(
        help="One planner only; for a preset or an ablation, the fields that differ from "
             "its parent.")] = None,
    tuned: Annotated[bool, typer.Option(
        help="Print the shipped tuned configs instead (results/reference/tuned/).")] = False,
    tuned_file: Annotated[Path | None, typer.Option(
        help="Print the tuned configs of this file instead.")] = None,
    wide: WideOpt = False,
) -> None:
    """List the planners (built-in or from a plugin) with their config fields, defaults,
    sources and search ranges; presets and ablations show only what differs from GRASP."""
    from grasp_bench.cli.tables import Column, print_table
    from grasp_bench.planners import REGISTRY, describe_registry
    from grasp_bench.planners.registry import changed_fields, parent_planner
    from grasp_bench.planners.space import describe
    from grasp_bench.plugins import PLANNERS, source

    if tuned or tuned_file:
        _print_tuned(tuned_file)
        return
    if name is not None and name not in REGISTRY:
        raise UserError(f"unknown planner {name!r}; planners: {', '.join(REGISTRY)}")
    names = [name] if name else list(REGISTRY)
    if name:
        config_cls, planner_cls = REGISTRY[name]
        parent = parent_planner(name)
        doc = (planner_cls.__doc__ or "").strip().splitlines()
        dropped = sorted(set(getattr(REGISTRY[parent][0], "search_space", {}) if parent else ())
                         - set(getattr(config_cls, "search_space", {})))
        console.print(f"{name} ({source(PLANNERS, name)}): {doc[0] if doc else ''}"
                      + (f" {parent}'s config except the fields below" if parent else "")
                      + (f"; not searched: {', '.join(dropped)}" if dropped else ""),
                      highlight=False, soft_wrap=True, markup=False)
    columns = [Column("planner", True), Column("field", True), Column("type"),
               Column("default", True), Column("search range"),
               Column("source / meaning", True, wrap=True)]
    cells = []
    shown = {p: (parent_planner(p), set(changed_fields(p))) for p in names}
    last = None
    for row in describe_registry():
        if row.planner not in shown or row.field not in shown[row.planner][1]:
            continue
        parent = shown[row.planner][0]
        label = [""]
        if row.planner != last:
            label = [row.planner, f"({source(PLANNERS, row.planner)})",
                     *([f"= {parent} but"] if parent else [])]
        space = getattr(REGISTRY[row.planner][0], "search_space", {}).get(row.field)
        cells.append([label, row.field, row.type, str(row.default), describe(space), row.help])
        last = row.planner
    print_table(f"{len(names)} planner{'s' if len(names) > 1 else ''} (override with "
                "--set planner.field=value; `grasp-bench planners NAME` for one)", columns, cells)
    outside = [f"{p} ({source(PLANNERS, p)})" for p in names if source(PLANNERS, p) != "built-in"]
    if outside:
        console.print("  from plugins: " + ", ".join(outside), highlight=False, soft_wrap=True,
                      markup=False)




def _verdicts(rate: str) -> list[str]:
    """``"6/20 [14%, 52%] executed, 16/20 model"`` -> one part per verdict."""
    return re.split(r", (?=\d+/\d+ )", rate)


def _print_tuned(path: Path | None) -> None:
    from grasp_bench.cli.tables import Column, print_table
    from grasp_bench.tuned import TUNED_DIR, load_tuned

    files = [path] if path else sorted(TUNED_DIR.glob("*.json"))
    if not files:
        raise UserError(f"no tuned configs in {TUNED_DIR}; make them with `grasp-bench tune`")
    for f in files:
        data = load_tuned(f)
        columns = [Column("planner", True), Column("H", True, "right"), Column("uses"),
                   Column("config", True), Column("default"), Column("tuned", True),
                   Column("trials", justify="right"), Column("planner-s", justify="right")]
        cells = []
        for planner, by_h in data["entries"].items():
            for h, e in by_h.items():
                config = [f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in e["config"].items()] or "(defaults)"
                cells.append([planner, h, e.get("source", "?"), config,
                              _verdicts(tuned_rate(e.get("default_fresh"))),
                              _verdicts(tuned_rate(e.get("best_tuned", {}).get("fresh"))),
                              str(e.get("trials", "?")), f"{e.get('planner_seconds', 0):.0f}"])
        print_table(f"{f.name}: {data['env']}, model {data['model']} "
                    f"({data['model_sha256'][:12]}); successes on fresh tuning problems",
                    columns, cells)


@app.command()
@user_errors
def bench(
    device: DeviceOpt = "auto",
    env_steps: Annotated[int, typer.Option(help="Env steps per throughput measurement.")] = 3000,
    threads: ThreadsOpt = DEFAULT_THREADS,
    model: Annotated[str, typer.Option(
        "--model", help="The shipped Push-T model to time planners on: learned (state), "
                        "latent or pixel (visual; timed at T = 12, B = 1 and 20, the planners "
                        "of the paper's table).")] = "learned",
) -> None:
    """Speed figures: env steps/s, batch replay, and time per planner iteration.

    Planners are timed on the shipped Push-T model at T = 8 and 16 (H = 40 and 80) for
    B = 1 and 64, with the ratios of one GRASP iteration to one forward+backward over
    the same B*T transitions and of one CEM iteration to its T sequential forwards.
    """
    from grasp_bench.tasks import LEARNED_MODELS

    if model not in LEARNED_MODELS:
        raise UserError(f"--model must be one of {', '.join(LEARNED_MODELS)} (got {model!r})")
    import subprocess

    import torch

    from grasp_bench.devices import device_name, resolve_device
    from grasp_bench.models.checkpoint import load_checkpoint
    from grasp_bench.planners.bench import bench_planners, format_table
    from grasp_bench.tasks import PUSHT

    if threads <= 0:
        raise UserError(f"--threads must be positive (got {threads})")
    torch.set_num_threads(threads)
    console.rule("environments (single process)")
    subprocess.run([sys.executable, "-m", "envs.bench", "--steps", str(env_steps)], check=False)
    devices = [resolve_device("cpu")]
    if resolve_device(device).type == "cuda":
        devices.append(resolve_device("cuda"))
    ckpt = PUSHT.checkpoint_of(model)
    if not ckpt.exists():
        raise UserError(f"checkpoint {ckpt} not found; build it with `make checkpoints`")
    wm, _ = load_checkpoint(ckpt, env_id=PUSHT.env_id)
    # the visual model costs ~4x a state model's step: timed at H = 60 (T = 12), B = 1, 20
    sizes = dict(horizons=(12,), batches=(1, 20), planners=("cem", "gd", "latco", "grasp")) \
        if model == "pixel" else {}
    for dev in devices:
        console.rule(f"planners on {device_name(dev)} ({ckpt.name}), ms per iteration")
        rows = bench_planners(wm, dev, **sizes)
        console.print(format_table(rows), markup=False, highlight=False)


@app.command()
@user_errors
def problems(
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    horizons: Annotated[str, typer.Option(help="Comma-separated horizons.")] = "40,60,80",
    episodes: Annotated[int, typer.Option(help="Problems per horizon.")] = 60,
    split: Annotated[str, typer.Option(help="evaluation or tuning.")] = "evaluation",
    problem_source: SourceOpt = None,
    sensitivity: Annotated[bool, typer.Option(
        help="Also replay each problem's own actions from a start moved 0.5 and 2 px.")] = False,
    wide: WideOpt = False,
) -> None:
    """Describe a problem set, per horizon: how far the bodies move from start to goal
    (10/50/90 % quantiles), how many seeds were rejected, and optionally how fragile the
    problems' own reference actions are (nothing is planned)."""
    from grasp_bench.cli.tables import Column, print_table
    from grasp_bench.problems import load_or_generate, problem_stats, resolve_source
    from grasp_bench.seeds import SPLITS
    from grasp_bench.tasks import get_task

    task = get_task(env, layout)
    source = resolve_source(task, problem_source)
    if split not in ("evaluation", "tuning"):
        raise UserError(f"--split must be evaluation or tuning (got {split!r})")
    if not 0 < episodes <= 10_000:
        raise UserError(f"--episodes must be in 1..10000 (got {episodes})")
    hs = parse_ints(horizons, "horizons")
    if any(h <= 0 for h in hs):
        raise UserError(f"--horizons must be positive (got {horizons})")
    metrics = list(task.metrics)
    columns = [Column("H", True, "right"), *(Column(m, True, "right") for m in metrics),
               Column("rejected\n(solved / short)", justify="right"),
               *([Column("own actions,\nblock moved\n0.5 / 2 px", justify="right")]
                 if sensitivity else [])]
    cells = []
    for h in hs:
        stats = problem_stats(task, load_or_generate(task, h, episodes, split=split,
                                                     source=source), sensitivity)
        quantiles = [f"{q['q50']:.3g} [{q['q10']:.3g}, {q['q90']:.3g}]"
                     for q in (stats["displacement"][m] for m in metrics)]
        sens = stats.get("open_loop_sensitivity")
        cells.append([str(h), *quantiles, f"{stats['rejected_already_solved']} / "
                      f"{stats['rejected_too_short']}",
                      *([f"{sens['shift_0.5px']:.0%} / {sens['shift_2px']:.0%}"] if sens else [])])
    print_table(f"{task.tag}: {episodes} {source} problems of the {split} split (seeds from "
                f"{SPLITS[split].start}); start -> goal, q50 [q10, q90]", columns, cells)


@app.command()
@user_errors
def render(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    planner: Annotated[str, typer.Option(help="The cell's planner.")],
    horizon: Annotated[int, typer.Option(help="The cell's horizon H.")],
    episode: Annotated[int, typer.Option(help="Episode index in the cell (0-based).")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Output .gif (animation) or .png (contact sheet); "
                                       "default RUN_DIR/render-<planner>-H<H>-<episode>.gif")
    ] = None,
    size: Annotated[int, typer.Option(help="Side of each panel in pixels.")] = 224,
) -> None:
    """Draw one episode: the simulator's replay beside the world model's rollout (open
    loop, with the frame where they diverge and GRASP's virtual states), or the executed
    trajectory beside each re-plan's model rollout (MPC)."""
    from grasp_bench.render import frames, legend, load_episode, save

    if not 32 <= size <= 1024:
        raise UserError(f"--size must be in 32..1024 (got {size})")
    out = out or run_dir / f"render-{planner}-H{horizon}-{episode}.gif"
    if out.suffix.lower() not in (".gif", ".png"):
        raise UserError(f"--out must end in .gif or .png (got {out.name!r})")
    ep = load_episode(run_dir, planner, horizon, episode)
    images = frames(ep, size)
    path = save(images, out, legend=legend(ep, min(4, -(-len(images) // 5)) * images[0].shape[1])
                if out.suffix.lower() == ".png" else None)
    console.print(f"wrote {path} ({len(images)} frames, {path.stat().st_size / 1e3:.0f} kB)")
