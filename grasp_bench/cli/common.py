"""What every command shares: the Typer app, consoles, the error guard, progress bars
and common options."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from grasp_bench.errors import UserError
from grasp_bench.version import __version__

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
    """Every command's guard: a :class:`UserError` is one line on stderr and exit code 2;
    a ``ValueError`` or ``OSError`` that escaped validation (a malformed file, an
    unreadable path) is one line and exit 2 too, unless ``GRASP_BENCH_STRICT`` is set (the
    test suite sets it, so such an escape surfaces there as the bug it is); Ctrl-C is
    "interrupted" and exit 130.  Anything else is a bug and keeps its traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            err_console.print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except (ValueError, OSError) as e:
            if os.environ.get("GRASP_BENCH_STRICT"):
                raise
            _fail(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")

    return wrapper


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                      soft_wrap=True)
    raise typer.Exit(2)


def print_warnings(lines) -> None:
    """Each line on stderr as ``warning: ...`` (input accepted that may mean little)."""
    for line in lines:
        err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False,
                          soft_wrap=True)


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


def named_ticker(bar: Progress):
    """``tick(what, done, total)`` that shows one bar per distinct ``what`` on ``bar``
    (the ``progress`` callback of collection and training)."""
    bars: dict[str, int] = {}

    def tick(what: str, done: int, total: int) -> None:
        if what not in bars:
            bars[what] = bar.add_task(what, total=total)
        bar.update(bars[what], completed=done)

    return tick


def _version(value: bool) -> None:
    if value:
        console.print(f"grasp-bench {__version__}")
        raise typer.Exit()


#: Commands that never see a planner or a world model (no plugins loaded for them).
NO_PLUGINS = frozenset({"report", "check", "problems", "collect"})


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """grasp-bench: planners over learned world models, measured honestly."""
    if ctx.invoked_subcommand not in NO_PLUGINS:
        from grasp_bench.plugins import load_plugins

        load_plugins()  # entry points grasp_bench.planners / grasp_bench.models, once


EnvOpt = Annotated[str, typer.Option("--env", help="Environment: pusht or ballnav.")]
LayoutOpt = Annotated[
    str | None,
    typer.Option(help="BallNav layout: open, u_trap, wall_gap or maze (default)."),
]
DeviceOpt = Annotated[str, typer.Option(help="auto (cuda if available), cpu or cuda.")]
ThreadsOpt = Annotated[int, typer.Option(help="torch CPU threads (recorded in meta.json).")]
SourceOpt = Annotated[str | None, typer.Option(
    help="Problem source: replay (Push-T's default: random H-step segments of noisy "
         "replays of goal-directed demonstrations, as DINO-WM's validation split holds), demo "
         "(the same cut from the demonstrations themselves) or behaviour (the first H steps of the "
         "scripted behaviour policy: random pushes, BallNav's path follower; the harder "
         "stress set).")]


def shown_path(path: Path) -> Path:
    """``path`` as a user should see it: relative to the working directory when it lies
    under it (so saved output names no machine's absolute paths), else as given."""
    here, full = Path.cwd().resolve(), Path(path).resolve()
    return full.relative_to(here) if full.is_relative_to(here) else Path(path)


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


def parse_ints(text: str, what: str) -> tuple[int, ...]:
    """``"40,60,80"`` -> ``(40, 60, 80)``; :class:`UserError` naming ``--what`` otherwise."""
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UserError(f"--{what} must be comma-separated integers (got {text!r})") from None
    if not values:
        raise UserError(f"--{what} is empty")
    return values


def tuned_rate(score: dict | None) -> str:
    """A tuned-file score: ``"6/20 [14%, 52%] executed, 16/20 model"``; files tuned before
    the executed-first score hold only the model's verdict: ``"16/20 [..] model"``."""
    if not score:
        return "-"
    if "successes_executed" in score:
        lo, hi = score["ci_executed"]
        return (f"{score['successes_executed']}/{score['n']} [{lo:.0%}, {hi:.0%}] executed, "
                f"{score['successes_model']}/{score['n']} model")
    lo, hi = score["ci_model"]
    return f"{score['successes_model']}/{score['n']} [{lo:.0%}, {hi:.0%}] model"
