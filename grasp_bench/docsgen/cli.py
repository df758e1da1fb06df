"""The ``grasp-bench`` command line as a click command: the CLI reference of the site
(``docs/cli.md``) is generated from it by Typer's own Markdown generator
(:func:`grasp_bench.docsgen.pages.cli_reference`), never copied from ``--help``."""

from __future__ import annotations

import typer

from grasp_bench.cli import app

#: ``typer.main.get_command(app)``: the click group that ``grasp-bench`` runs.
command = typer.main.get_command(app)
