"""Tables on screen whose cells are never cut short.

At a terminal a table shows its essential columns whole at any width (80 columns
included) and adds the other columns, in order, while they fit; ``--wide`` shows them all
(wider than the terminal, if need be: the terminal wraps the lines, no cell is cut).  A
column left out is named under the table.  When stdout is not a terminal (a pipe, a
file) the table is Markdown with every column, whatever the width.

A cell is a string, or a sequence of parts: one part a line at the terminal (a narrower
column), joined with ``", "`` in Markdown (a part that opens with ``(`` or ``/`` with a
space).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text
from tabulate import tabulate

from grasp_bench.cli.common import console

#: The running command's ``--wide``, set as its options are parsed (:data:`WideOpt`).
_wide = False


def _remember_wide(value: bool) -> bool:
    global _wide
    _wide = bool(value)
    return value


#: ``--wide`` of a command whose tables :func:`print_table` prints.
WideOpt = Annotated[bool, typer.Option(
    "--wide", callback=_remember_wide,
    help="Show every column of the tables at the terminal (piped output always has them "
         "all).")]

Cell = str | Sequence[str]


@dataclass(frozen=True)
class Column:
    """A table column: ``header`` (``\\n`` breaks it at the terminal); ``essential`` ones
    show at any width; ``wrap``: prose that may wrap between words on a narrow screen
    (the others never wrap)."""

    header: str
    essential: bool = False
    justify: str = "left"
    wrap: bool = False


def _lines(cell: Cell) -> list[str]:
    return [cell] if isinstance(cell, str) else [str(p) for p in cell] or [""]


def _flat(cell: Cell) -> str:
    """One line: parts joined with ", " (with a space before one that opens with "(" or
    "/", the rest of the part before it)."""
    parts = cell.split("\n") if isinstance(cell, str) else [str(p) for p in cell]
    text = parts[0] if parts else ""
    for p in parts[1:]:
        text += (" " if isinstance(cell, str) or p[:1] in "(/" else ", ") + p
    return text


#: The narrowest a prose column gets: its longest word, up to this (a longer one, a path,
#: is folded over two lines).
PROSE_MIN = 20


def _widths(column: Column, cells: list[Cell]) -> tuple[int, int]:
    """(natural, smallest) width of a column: the smallest is the natural one unless the
    column wraps, then its longest word (at most :data:`PROSE_MIN`)."""
    lines = column.header.split("\n") + [ln for c in cells for p in _lines(c)
                                         for ln in p.split("\n")]
    natural = max(cell_len(ln) for ln in lines)
    if not column.wrap:
        return natural, natural
    word = max((cell_len(w) for ln in lines for w in ln.split()), default=1)
    return natural, min(natural, word, max(PROSE_MIN, cell_len(column.header)))


def _table_width(widths: Iterable[int]) -> int:
    widths = list(widths)  # padding 1 + 1 per column, a rule between columns, two edges
    return sum(widths) + 3 * len(widths) + 1


def wide_requested() -> bool:
    """The running command's ``--wide``."""
    return _wide


def markdown(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> str:
    """Every column, every cell whole: a GitHub-flavoured Markdown table."""
    headers = [_flat(c.header).replace("|", "\\|") for c in columns]
    body = [[_flat(cell).replace("|", "\\|") for cell in row] for row in rows]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def print_table(title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], *,
                wide: bool | None = None, out: Console | None = None) -> list[str]:
    """Print a table (see the module docstring); returns the headers of the columns left
    out (none in Markdown or with ``wide``).  ``wide`` None: the command's ``--wide``."""
    out = out or console
    wide = wide_requested() if wide is None else wide
    if not out.is_terminal:
        out.print(f"{title}\n\n{markdown(columns, rows)}\n", markup=False, highlight=False,
                  soft_wrap=True)
        return []
    sizes = [_widths(c, [r[i] for r in rows]) for i, c in enumerate(columns)]
    keep = [c.essential for c in columns]
    if not wide:
        for i, c in enumerate(columns):
            if not c.essential and _table_width(
                    s[1] for j, s in enumerate(sizes) if keep[j] or j == i) <= out.width:
                keep[i] = True
    else:
        keep = [True] * len(columns)
    shown = [i for i, k in enumerate(keep) if k]
    smallest = _table_width(sizes[i][1] for i in shown)
    # wider than the terminal (--wide, or essential columns that do not fit): the table
    # keeps its smallest width and the terminal wraps its lines; nothing is cut
    table = Table(title=Text(title), width=smallest if smallest > out.width else None)
    for i in shown:
        c = columns[i]
        table.add_column(c.header, justify=c.justify, no_wrap=not c.wrap,
                         overflow="fold" if c.wrap else "ignore",
                         min_width=None if c.wrap else sizes[i][0])
    for row in rows:
        table.add_row(*(Text("\n".join(_lines(row[i]))) for i in shown))
    out.print(table, crop=False)
    hidden = [_flat(columns[i].header) for i, k in enumerate(keep) if not k]
    if hidden:
        out.print(f"  not shown at {out.width} columns: {', '.join(hidden)} (--wide, or a "
                  "wider terminal, shows them)", style="dim", highlight=False, markup=False,
                  soft_wrap=True)
    return hidden


def print_summary(summary, *, wide: bool | None = None) -> None:
    """A run's cells (one row per env, mode, H and planner) with a legend: H, planner and
    every metric's success % [95% Wilson interval] -- the headline (executed plans in open
    loop) and the diagnostic (under the model) -- with the headline's median time to
    success and the planning time are essential; n, the diagnostic's time, the reference
    fidelity, the exploitation gap and the planning time per problem follow as room
    allows."""
    from grasp_bench.results import (
        HEADLINE,
        METRIC_LABELS,
        MODE_METRICS,
        format_seconds,
        percent_ci,
    )
    from grasp_bench.results.tables import TTS_HIDDEN, TTS_HIDDEN_NOTE, format_gap

    envs = ", ".join(dict.fromkeys(summary["env"]))
    metrics = list(dict.fromkeys(m for mode in summary["mode"] for m in MODE_METRICS[mode]))
    headlines = {HEADLINE[mode] for mode in summary["mode"]}
    timed = [m for m in metrics if m not in TTS_HIDDEN]
    gap = "open" in set(summary["mode"])
    columns = [Column("H", True, "right"), Column("planner", True), Column("n", justify="right")]
    for m in metrics:
        columns.append(Column(f"{m} %", True, "right"))
        if m in timed:
            columns.append(Column("TTS", m in headlines, "right"))
    columns += [Column("fidelity %", justify="right"),
                *([Column("gap", justify="right")] if gap else []),
                Column("plan", True, "right"),
                Column("plan/problem", justify="right")]
    rows = []
    for r in summary.to_dict("records"):
        row = [str(r["horizon"]), r["planner"], str(r["n"])]
        for m in metrics:
            row.append(percent_ci(r[f"{m}_rate"], r[f"{m}_ci_low"], r[f"{m}_ci_high"]))
            if m in timed:
                row.append(format_seconds(r[f"{m}_median_tts_s"]))
        row.append(percent_ci(r["fidelity_rate"], r["fidelity_ci_low"], r["fidelity_ci_high"]))
        if gap:
            row.append(format_gap(r["exploitation_gap"]))
        row += [format_seconds(r["mean_planning_time_s"]),
                format_seconds(r["mean_planning_time_per_problem_s"])]
        rows.append(row)
    print_table(f"{envs}: success % [95% Wilson CI]"
                + (", median time-to-success (TTS)" if timed else ""), columns, rows, wide=wide)
    for m in metrics:
        console.print(f"  {m}: {METRIC_LABELS[m]}", highlight=False, soft_wrap=True)
    console.print("  fidelity: the share of the problems whose own reference actions succeed "
                  "under the model" + ("; gap: model % minus executed %, in points" if gap
                                       else ""), highlight=False, soft_wrap=True)
    console.print("  " + ("TTS, plan" if timed else "plan") + ": planner seconds for the whole "
                  "batch of problems planned together (not per problem)"
                  + (", TTS to the first snapshot from which it stays successful" if timed
                     else "")
                  + "; plan/problem: plan divided by the batch size"
                  + (f"; {TTS_HIDDEN_NOTE}" if len(timed) < len(metrics) else ""),
                  highlight=False, soft_wrap=True)
