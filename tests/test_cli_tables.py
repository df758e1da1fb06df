"""Tables read at 80 columns and in a pipe: no cell of run, sweep, report, models, planners
or problems is cut short, in a terminal of 80 columns (a pseudo-terminal) or with stdout
redirected to a file (Markdown, every column)."""

from __future__ import annotations

import fcntl
import json
import math
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from grasp_bench.results import format_seconds, load_summary, percent_ci
from grasp_bench.results.tables import format_cell

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 80
CEM_FAST = ["--set", "cem.iterations=2", "--set", "cem.samples=8", "--set", "cem.topk=2"]
SMALL = ["--env", "ballnav", "--episodes", "2", "--planners", "cem", "--device", "cpu",
         "--threads", "1", *CEM_FAST]
#: A committed Push-T run, reported again (a copy) for the comparison with the paper.
PUSHT_RUN = ROOT / "results" / "reference" / "cpu" / "demo-open-H40-80"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
BOX = "┃│┏┡└┗┳╇┻┴┬┼"


def _env(cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "LINES")}
    env.update(GRASP_BENCH_CACHE=str(cache), COLUMNS=str(WIDTH), TERM="xterm-256color",
               NO_COLOR="1")
    return env


def _in_terminal(args: list[str], env: dict, log: Path) -> str:
    """stdout of ``grasp-bench ARGS`` in a pseudo-terminal 80 columns wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, WIDTH, 0, 0))
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "grasp_bench.cli", *args], stdout=slave,
                                stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=600) == 0, log.read_text()
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r\n", "\n")
    return text


def _to_file(args: list[str], env: dict, log: Path) -> str:
    """stdout of ``grasp-bench ARGS`` redirected to a file."""
    out = log.with_suffix(".out")
    with open(out, "wb") as f, open(log, "wb") as err:
        code = subprocess.run([sys.executable, "-m", "grasp_bench.cli", *args], stdout=f,
                              stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=ROOT,
                              timeout=600).returncode
    assert code == 0, log.read_text()
    return out.read_text()


def _whole(text: str, values, what: str) -> None:
    """Every value on one line of ``text``, nothing cut short."""
    assert "…" not in text, f"{what}: a cell is cut short\n{text}"
    lines = text.splitlines()
    for v in values:
        assert any(v in ln for ln in lines), f"{what}: {v!r} is not whole\n{text}"


def _cells(summary) -> list[str]:
    """What the run table shows of each cell: planner, both rates with their intervals,
    the headline's time to success and the planning time."""
    values = []
    for r in summary.to_dict("records"):
        values += [r["planner"], percent_ci(r["executed_rate"], r["executed_ci_low"],
                                            r["executed_ci_high"]),
                   percent_ci(r["model_rate"], r["model_ci_low"], r["model_ci_high"]),
                   format_seconds(r["executed_median_tts_s"]),
                   format_seconds(r["mean_planning_time_s"])]
    return values


@pytest.mark.parametrize("where", ["terminal", "file"])
def test_no_cell_is_cut_short(where, tmp_path, monkeypatch):
    from grasp_bench.planners.registry import changed_fields, describe_registry
    from grasp_bench.problems import load_or_generate, problem_stats
    from grasp_bench.tasks import get_task

    env = _env(tmp_path / "cache")
    show = _in_terminal if where == "terminal" else _to_file
    outputs = {}

    def grasp(name: str, *args) -> str:
        text = show([str(a) for a in args], env, tmp_path / f"{name}.log")
        outputs[name] = text
        return text

    # run and sweep: the cells of their summaries, whole
    run_dir, sweep_dir = tmp_path / "run", tmp_path / "sweep"
    text = grasp("run", "run", "--horizon", 10, *SMALL, "--out", run_dir)
    _whole(text, _cells(load_summary(run_dir / "summary.csv")), "run")
    text = grasp("sweep", "sweep", "--horizons", "5,10", *SMALL, "--out", sweep_dir)
    _whole(text, _cells(load_summary(sweep_dir / "summary.csv")), "sweep")

    # report --paper on a Push-T run: its cells and the comparison's executed rates
    pusht = shutil.copytree(PUSHT_RUN, tmp_path / "pusht",
                            ignore=shutil.ignore_patterns("*.png", "cells"))
    text = grasp("report", "report", pusht, "--paper")
    summary = load_summary(pusht / "summary.csv")
    executed = [format_cell(r["executed_rate"], math.nan, (r["executed_ci_low"],
                                                           r["executed_ci_high"]),
                            with_time=False) for r in summary.to_dict("records")]
    _whole(text, _cells(summary) + executed + ["Comparison with the GRASP paper"], "report")

    # models: every checkpoint, its open-loop errors at H = 40 and reference fidelity
    values = []
    for manifest_path in sorted((ROOT / "checkpoints").glob("*.json")):
        m = json.loads(manifest_path.read_text())
        values.append(manifest_path.with_suffix(".pt").name)
        ol = m.get("validation", {}).get("open_loop", {}).get("H40", {})
        values += [f"{k} {v:.3g}" for k, v in ol.items() if not k.endswith("_p90")]
        fid = m.get("validation", {}).get("reference_fidelity") or {}
        if fid:
            values.append("/".join(f"{100 * fid[h]['rate']:.0f}" for h in ("H40", "H60", "H80")))
    _whole(grasp("models", "models"), values, "models")
    values_models = values

    # planners: every planner, and every field shown with its default
    rows = [r for r in describe_registry() if r.field in changed_fields(r.planner)]
    values = sorted({r.planner for r in rows} | {r.field for r in rows})
    text = grasp("planners", "planners")
    _whole(text, values, "planners")
    for r in rows:  # the field and its default on one line
        assert re.search(rf"(?<!\w){re.escape(r.field)}(?!\w).*{re.escape(str(r.default))}",
                         text), r

    # problems: every quantile cell of both horizons
    text = grasp("problems", "problems", "--env", "ballnav", "--horizons", "10,20",
                 "--episodes", 3, "--sensitivity")
    monkeypatch.setenv("GRASP_BENCH_CACHE", env["GRASP_BENCH_CACHE"])  # the command's cache
    task = get_task("ballnav")
    values = []
    for h in (10, 20):
        stats = problem_stats(task, load_or_generate(task, h, 3), sensitivity=False)
        values += [f"{q['q50']:.3g} [{q['q10']:.3g}, {q['q90']:.3g}]"
                   for q in stats["displacement"].values()]
    _whole(text, values, "problems")

    for name, text in list(outputs.items()):
        if where == "terminal":  # the tables fit the terminal
            wide = [ln for ln in text.splitlines() if ln[:1] and ln[0] in BOX and len(ln) > WIDTH]
            assert not wide, f"{name}: rows wider than {WIDTH} columns\n" + "\n".join(wide)
        else:  # Markdown with every column: no box drawing, no column left out
            assert not any(ln[:1] and ln[0] in BOX for ln in text.splitlines()), name
            assert "not shown at" not in text, name
    if where == "terminal":  # --wide: every column, wider than the terminal if need be
        text = grasp("models-wide", "models", "--wide")
        _whole(text, values_models + ["architecture", "val loss", "read error", "H80"],
               "models --wide")
        assert "not shown at" not in text
    if where == "file":
        for header in ("plan/problem", "fidelity %", "gap"):
            assert header in outputs["run"] and header in outputs["sweep"], header
        for header in ("architecture", "val loss", "read error", "H80", "sha256"):
            assert header in outputs["models"], header
        for header in ("type", "search range"):
            assert header in outputs["planners"], header
        assert "rejected (solved / short)" in outputs["problems"]
