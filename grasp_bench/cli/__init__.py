"""The ``grasp-bench`` command line: parse, call, print. No logic of its own.

One module per group of commands (``models``: data and world models; ``runs``: run,
sweep, report, check; ``info``: planners, bench); ``common`` holds the app, the error
guard and the shared options; ``tables`` prints tables whose cells are never cut short
(essential columns at any width, Markdown with every column when piped).
"""

from grasp_bench.cli import info, models, results, runs, tune  # noqa: F401  (registers them)
from grasp_bench.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
