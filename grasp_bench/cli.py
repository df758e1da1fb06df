"""The ``grasp-bench`` command line: parse, call, print. No logic of its own."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from grasp_bench import __version__
from grasp_bench.errors import UserError

app = typer.Typer(
    help="Benchmark planners (GRASP, CEM, GD, LatCo, MPPI, iCEM) over learned world models "
    "on Push-T and BallNav at long horizons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def user_errors(fn):
    """Turn a :class:`UserError` into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _version(value: bool) -> None:
    if value:
        console.print(f"grasp-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """grasp-bench: planners over learned world models, measured honestly."""


EnvOpt = Annotated[str, typer.Option("--env", help="Environment: pusht or ballnav.")]
LayoutOpt = Annotated[
    str | None,
    typer.Option(help="BallNav layout: open, u_trap (default), wall_gap or maze."),
]
DeviceOpt = Annotated[str, typer.Option(help="auto (cuda if available), cpu or cuda.")]


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise UserError(f"--{name} must be a positive integer (got {value})")


def _writable_file(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create directory {parent}: {e.strerror}") from None
    probe = parent / f".grasp-bench-write-test-{path.name}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"output {path} is not writable: {e.strerror}") from None
    return path


# -- data and models ------------------------------------------------------------------------
@app.command()
@user_errors
def collect(
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    episodes: Annotated[int, typer.Option(help="Number of episodes.")] = 100,
    steps: Annotated[int, typer.Option(help="Env steps per episode.")] = 200,
    split: Annotated[str, typer.Option(help="Seed range: train or validation.")] = "train",
    seed: Annotated[int, typer.Option(help="Offset of the first seed in the split.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes (0: one per core).")] = 0,
    out: Annotated[Path, typer.Option(help="Output dataset file (.npz).")] = Path(
        "data/pusht-train.npz"
    ),
) -> None:
    """Collect trajectories with the scripted behaviour policy (parallel over cores)."""
    from grasp_bench.data import collect as collect_data
    from grasp_bench.tasks import get_task

    task = get_task(env, layout)
    _positive("episodes", episodes)
    _positive("steps", steps)
    if split not in ("train", "validation"):
        raise UserError(f"--split must be train or validation (got {split!r})")
    _writable_file(out)
    with progress_bar() as bar:
        t = bar.add_task(f"collect {task.tag}", total=episodes)
        data = collect_data(
            task, episodes=episodes, steps=steps, split=split, seed=seed,
            workers=workers or None, progress=lambda n: bar.update(t, completed=n),
        )
    path = data.save(out)
    console.print(f"wrote {path}: {len(data)} episodes, {int(data.lengths.sum())} env steps")


@app.command()
@user_errors
def train(
    env: EnvOpt = "pusht",
    layout: LayoutOpt = None,
    data: Annotated[
        Path | None, typer.Option(help="Training dataset (default: collect the recipe's).")
    ] = None,
    val_data: Annotated[
        Path | None, typer.Option(help="Validation dataset (default: collect the recipe's).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs.")] = None,
    rollout_steps: Annotated[
        int | None, typer.Option(help="Model steps in the multi-step loss (1: one-step).")
    ] = None,
    device: DeviceOpt = "auto",
    out: Annotated[Path | None, typer.Option(help="Checkpoint path (.pt).")] = None,
) -> None:
    """Train a state-based world model and write a checkpoint with its manifest."""
    from dataclasses import replace

    from grasp_bench.data import Trajectories
    from grasp_bench.data import collect as collect_data
    from grasp_bench.devices import resolve_device
    from grasp_bench.models.recipes import RECIPES, arch_for, train_checkpoint
    from grasp_bench.tasks import get_task

    task = get_task(env, layout)
    recipe = RECIPES[task.name]
    cfg = recipe.train
    if epochs is not None:
        _positive("epochs", epochs)
        cfg = replace(cfg, epochs=epochs)
    if rollout_steps is not None:
        _positive("rollout-steps", rollout_steps)
        cfg = replace(cfg, rollout_steps=rollout_steps)
    dev = resolve_device(device)
    out = _writable_file(out or Path("checkpoints") / f"{task.tag}.pt")
    with progress_bar() as bar:

        def load_or_collect(path: Path | None, split: str, n: int) -> Trajectories:
            if path is not None:
                return Trajectories.load(path)
            t = bar.add_task(f"collect {split}", total=n)
            return collect_data(
                task, episodes=n, steps=recipe.steps, split=split,
                progress=lambda k: bar.update(t, completed=k),
            )

        train_data = load_or_collect(data, "train", recipe.train_episodes)
        val = load_or_collect(val_data, "validation", recipe.val_episodes)
        for d, p in ((train_data, data), (val, val_data)):
            if d.meta.get("env_id") != task.env_id:
                raise UserError(f"dataset {p} is for {d.meta.get('env_id')}, not {task.env_id}")
        t = bar.add_task("train", total=cfg.epochs)
        manifest = train_checkpoint(
            task, train_data, val, arch_for(task, **recipe.arch), cfg, out, device=str(dev),
            progress=lambda e, tl, vl: bar.update(
                t, completed=e, description=f"train (val {vl:.4f})"
            ),
        )
    console.print(f"wrote {out} ({manifest['bytes'] / 1e6:.2f} MB) in "
                  f"{manifest['training']['seconds']:.0f} s")
    _print_models([(out, manifest)])


@app.command()
@user_errors
def checkpoints(
    envs: Annotated[str, typer.Option(help="Comma-separated tasks to rebuild.")] = "pusht,ballnav",
    out_dir: Annotated[Path, typer.Option(help="Where to write them.")] = Path("checkpoints"),
    device: DeviceOpt = "cpu",
) -> None:
    """Regenerate the shipped checkpoints from seeds (what `make checkpoints` runs)."""
    from grasp_bench.devices import resolve_device
    from grasp_bench.models.recipes import RECIPES, build_checkpoint

    names = [n.strip() for n in envs.split(",") if n.strip()]
    for n in names:
        if n not in RECIPES:
            raise UserError(f"no recipe for {n!r}; expected some of {', '.join(RECIPES)}")
    dev = str(resolve_device(device))
    done = []
    with progress_bar() as bar:
        tasks: dict[str, int] = {}

        def tick(what: str, n: int, total: int, name: str) -> None:
            key = f"{name}: {what}"
            if key not in tasks:
                tasks[key] = bar.add_task(key, total=total)
            bar.update(tasks[key], completed=n)

        for n in names:
            m = build_checkpoint(
                n, out_dir=out_dir, device=dev,
                progress=lambda what, k, total, n=n: tick(what, k, total, n),
            )
            done.append((out_dir / m["weights"], m))
    _print_models(done)


@app.command()
@user_errors
def models(
    directory: Annotated[Path, typer.Option("--dir", help="Checkpoint directory.")] = Path(
        "checkpoints"
    ),
) -> None:
    """List checkpoints with their accuracy (validation errors in physical units)."""
    from grasp_bench.models.checkpoint import read_manifest
    from grasp_bench.tasks import CHECKPOINT_DIR

    if directory == Path("checkpoints") and not directory.exists():
        directory = CHECKPOINT_DIR
    found = sorted(directory.glob("*.json"))
    if not found:
        raise UserError(f"no checkpoints in {directory}; build them with `make checkpoints`")
    _print_models([(p.with_suffix(".pt"), read_manifest(p)) for p in found])


def _print_models(rows) -> None:
    table = Table(title="World models")
    for col in ("checkpoint", "env", "k", "MB", "train s", "val loss", "open-loop error H40",
                "H80"):
        table.add_column(col)
    for path, m in rows:
        ol = m.get("validation", {}).get("open_loop", {})

        def fmt(h: str) -> str:
            return ", ".join(
                f"{k} {v:.3g}" for k, v in ol.get(h, {}).items() if not k.endswith("_p90")
            )

        table.add_row(
            Path(path).name, m.get("task", m.get("env_id", "?")), str(m.get("frameskip")),
            f"{m.get('bytes', 0) / 1e6:.2f}", str(m.get("training", {}).get("seconds", "?")),
            f"{m.get('validation', {}).get('loss', float('nan')):.4f}", fmt("H40"), fmt("H80"),
        )
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
