"""``make mutate``: mutation testing of the planners, the result statistics and the verdicts.

Cosmic Ray plants one small change at a time (a number, an operator, a condition) in the
code under test and runs the tests that cover it; a change no test notices is a surviving
mutant.  Sessions, each configured by the TOML file of its name beside this script:

    grasp     planners/grasp.py, grasp_presets.py   test_grasp.py
    gd        planners/gd.py, adam.py               test_gd.py, test_grasp.py
    cem       planners/cem.py                       test_cem.py
    mppi      planners/mppi.py                      test_mppi.py
    icem      planners/icem.py                      test_icem.py
    latco     planners/latco.py                     test_latco.py
    planners  the rest of grasp_bench/planners/     tests/planners, tuning/test_space.py
    results   grasp_bench/results/    tests/results
    judging   grasp_bench/judging.py  tests/test_fidelity.py, test_problems.py, bench/test_bench.py

A planner's session also runs test_defaults.py (the defaults snapshot, first: it kills a
changed default in a second), test_base.py and test_contract.py (what every planner
meets).

Cosmic Ray edits the files it mutates, so each session works in its own copy of the
working tree (``mutants/<session>/tree``, the files git tracks or would track): the working
tree, and any run using it, is never touched.  Sessions run in parallel (``--jobs``).  A
later run goes on where the last stopped (each mutant's verdict is kept in
``mutants/<session>/session.sqlite``); ``--fresh`` starts again from the working tree as
it is now -- needed after changing the code under test.  ``--retest`` is for new tests of
unchanged code: it copies the current tests into each session's tree and judges its
surviving mutants again (with those still pending), keeping every kill.

Not run as mutants: changes inside type annotations (never evaluated: the modules use
``from __future__ import annotations``), lines marked ``# pragma: no mutate`` (an
equivalent mutant, with a comment saying why) and the operators a session's config
excludes.

A survivor that no test can kill, because the mutated code computes the same thing, is
listed in ``equivalent.toml`` beside this script with why (matched by its file, its line
and the mutated line); it is printed apart and left out of the score.

Prints the score per session and over all (killed / (killed + survived)), then the
equivalent and the surviving mutants as ``file:line operator: the line  ->  the mutant``.

    python tests/mutation/run.py [--jobs N] [--fresh | --retest] [--sample N] [--report]
                                 [SESSION ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = ROOT / "mutants"
SESSIONS = ("grasp", "gd", "cem", "mppi", "icem", "latco", "planners", "results", "judging")
BIN = Path(sys.executable).parent
#: the tests find the project's Python first; one thread each, as sessions run in parallel
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
       "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def tree_files() -> list[str]:
    """The working tree's files that git tracks or would track (not ignored ones)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (ROOT / f).is_file()})


def modules(session: str, tree: Path) -> list[Path]:
    """The session's mutated modules, relative to ``tree``."""
    import toml

    paths = toml.load(HERE / f"{session}.toml")["cosmic-ray"]["module-path"]
    found = []
    for p in [paths] if isinstance(paths, str) else paths:
        p = tree / p
        found += [p] if p.is_file() else sorted(p.rglob("*.py"))
    return [f.relative_to(tree) for f in found]


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``((row, col), (end_row, end_col))`` of every annotation in the module (rows from 1,
    columns in characters, as Cosmic Ray's positions)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()

    def char_col(row: int, byte_col: int) -> int:
        return len(lines[row - 1].encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    spans = []
    for node in ast.walk(ast.parse(source)):
        notes = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            notes.append(node.returns)
        elif isinstance(node, ast.arg | ast.AnnAssign):
            notes.append(node.annotation)
        for a in notes:
            if a is not None:
                spans.append(((a.lineno, char_col(a.lineno, a.col_offset)),
                              (a.end_lineno, char_col(a.end_lineno, a.end_col_offset))))
    return spans


def skip_annotations(db: Path, tree: Path) -> int:
    """Mark every pending mutant inside a type annotation as skipped; returns how many."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans: dict[Path, list] = {}
    skipped = []
    with use_db(db, WorkDB.Mode.open) as work_db:
        for item in work_db.pending_work_items:
            for m in item.mutations:
                if m.module_path not in spans:
                    spans[m.module_path] = annotation_spans(tree / m.module_path)
                start = tuple(m.start_pos)
                if any(lo <= start < hi for lo, hi in spans[m.module_path]):
                    skipped.append(item.job_id)
                    break
        if skipped:
            work_db.set_multiple_results(skipped, WorkResult(
                output="in a type annotation (never evaluated)",
                worker_outcome=WorkerOutcome.SKIPPED))
    return len(skipped)


def run(cmd: list, cwd: Path, log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(map(str, cmd))}\n")
        out.flush()
        res = subprocess.run(cmd, cwd=cwd, env=ENV, stdout=out, stderr=subprocess.STDOUT)
    if res.returncode:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise SystemExit(f"{cmd[0].name if isinstance(cmd[0], Path) else cmd[0]} failed in "
                         f"{cwd} (log: {log}):\n" + "\n".join(tail))


NOT_SAMPLED = "not in the random sample"


def sample(db: Path, session: str, n: int) -> int:
    """Keep a seeded random ``n`` of the pending mutants; mark the others skipped as not
    sampled.  Returns how many were marked."""
    import random

    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(db, WorkDB.Mode.open) as work_db:
        pending = sorted(item.job_id for item in work_db.pending_work_items)
        if len(pending) <= n:
            return 0
        keep = set(random.Random(f"mutate-{session}").sample(pending, n))
        out = [j for j in pending if j not in keep]
        work_db.set_multiple_results(out, WorkResult(
            output=f"{NOT_SAMPLED} of {n}", worker_outcome=WorkerOutcome.SKIPPED))
    return len(out)


def prepare(session: str, fresh: bool, n_sample: int | None = None) -> None:
    """A session ready to go on: its tree copy, the mutants, the filters and a passing
    baseline (kept across runs unless ``fresh``)."""
    d = WORK / session
    tree, pristine, db = d / "tree", d / "pristine", d / "session.sqlite"
    cfg = HERE / f"{session}.toml"
    if db.exists() and not fresh:  # undo a mutation a killed run may have left on disk
        for f in pristine.rglob("*.py"):
            shutil.copy2(f, tree / f.relative_to(pristine))
        return
    shutil.rmtree(d, ignore_errors=True)
    for f in tree_files():
        (tree / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, tree / f)
    for m in modules(session, tree):
        (pristine / m).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tree / m, pristine / m)
    log, new = d / "log.txt", d / "new.sqlite"
    run([BIN / "cosmic-ray", "baseline", cfg], tree, log)  # the tests pass unmutated
    run([BIN / "cosmic-ray", "init", cfg, new], tree, log)
    run([BIN / "cr-filter-pragma", new], tree, log)
    run([BIN / "cr-filter-operators", new, cfg], tree, log)
    n = skip_annotations(new, tree)
    with log.open("a") as out:
        out.write(f"skipped {n} mutants in type annotations\n")
        if n_sample is not None:
            out.write(f"kept a random {n_sample}: {sample(new, session, n_sample)} not sampled\n")
    new.rename(db)


def retest(session: str) -> None:
    """Copy the current tests into the session's tree and put its survivors back to be
    judged again; refused when the mutated code has changed since the session began."""
    d = WORK / session
    db, tree, pristine = d / "session.sqlite", d / "tree", d / "pristine"
    changed = [str(f.relative_to(pristine)) for f in pristine.rglob("*.py")
               if f.read_bytes() != (ROOT / f.relative_to(pristine)).read_bytes()]
    if changed:
        raise SystemExit(f"{session}: {', '.join(changed)} changed since the session began; "
                         "run it again with --fresh")
    for f in tree_files():
        if f.startswith("tests/"):
            (tree / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, tree / f)
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived'")


def execute(session: str, fresh: bool, again: bool = False,
            n_sample: int | None = None) -> str:
    prepare(session, fresh, n_sample)
    if again:
        retest(session)
    d = WORK / session
    run([BIN / "cosmic-ray", "exec", HERE / f"{session}.toml", d / "session.sqlite"],
        d / "tree", d / "log.txt")
    return session


def _diff_lines(diff: str) -> tuple[str, str]:
    """The line a mutant changed and what it became, whitespace removed (the key of
    equivalent.toml)."""
    return tuple("".join(line.split()) for line in _changed(diff))


def equivalents() -> dict[tuple[str, str, str], str]:
    """``(file, line, mutated line) -> why`` from equivalent.toml (whitespace removed)."""
    import toml

    out = {}
    for e in toml.load(HERE / "equivalent.toml").get("mutant", []):
        key = (e["file"], "".join(e["line"].split()), "".join(e["mutant"].split()))
        out[key] = e["why"]
    return out


def report(sessions: list[str]) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    known = equivalents()
    total: Counter = Counter()
    survivors, equivalent = [], []
    for s in sessions:
        db = WORK / s / "session.sqlite"
        if not db.exists():
            print(f"{s}: not started")
            continue
        counts: Counter = Counter()
        with use_db(db, WorkDB.Mode.open) as work_db:
            for item, result in work_db.completed_work_items:
                if result.worker_outcome == WorkerOutcome.SKIPPED:
                    counts["not sampled" if (result.output or "").startswith(NOT_SAMPLED)
                           else "skipped"] += 1
                elif result.test_outcome == TestOutcome.SURVIVED:
                    m = item.mutations[0]
                    why = known.get((str(m.module_path), *_diff_lines(result.diff or "")))
                    counts["equivalent" if why else "survived"] += 1
                    (equivalent if why else survivors).append((s, m, result.diff, why))
                elif result.test_outcome is not None:
                    counts[result.test_outcome.value] += 1
                else:
                    counts[result.worker_outcome.value] += 1
            counts["pending"] = work_db.num_work_items - work_db.num_results
        total += counts
        print(_score_line(s, counts))
    print(_score_line("all", total, interval=False))  # sampled and whole sessions mixed
    for title, rows in (("equivalent mutants (tests/mutation/equivalent.toml)", equivalent),
                        ("surviving mutants", survivors)):
        print(f"{title} ({len(rows)}):")
        for _, m, diff, why in sorted(rows, key=lambda x: (str(x[1].module_path),
                                                          x[1].start_pos)):
            row = m.start_pos[0]
            before, after = (d.strip() for d in _changed(diff))
            print(f"  {m.module_path}:{row} {m.operator_name.removeprefix('core/')}: "
                  f"{before}  ->  {after}" + (f"\n      ({why})" if why else ""))


def _changed(diff: str | None) -> tuple[str, str]:
    """The line a mutant changed and what it became, as the diff has them."""
    rows = (diff or "").splitlines()
    before = [r[1:] for r in rows if r.startswith("-") and not r.startswith("---")]
    after = [r[1:] for r in rows if r.startswith("+") and not r.startswith("+++")]
    return " ".join(before), " ".join(after)


def _score_line(name: str, c: Counter, interval: bool = True) -> str:
    judged = c["killed"] + c["survived"]
    score = f"{100 * c['killed'] / judged:.1f} %" if judged else "-"
    if judged and c["not sampled"] and interval:
        from grasp_bench.results.stats import wilson_interval  # the tree's own, not a copy

        lo, hi = wilson_interval(c["killed"], judged)
        score += f" [{100 * lo:.0f}, {100 * hi:.0f}] (a sample)"
    extra = ", ".join(f"{k} {c[k]}" for k in (
        "equivalent", "incompetent", "exception", "abnormal", "no-test", "skipped",
        "not sampled", "pending") if c[k])
    return (f"{name}: mutation score {score} ({c['killed']} killed / {judged}, "
            f"{c['survived']} survived{', ' + extra if extra else ''})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sessions", nargs="*", metavar="SESSION",
                        help=f"some of {', '.join(SESSIONS)} (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="sessions run at once (default: the cores)")
    parser.add_argument("--fresh", action="store_true",
                        help="start again from the working tree (after changing the code)")
    parser.add_argument("--retest", action="store_true",
                        help="judge the survivors again with the current tests (code unchanged)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="judge a seeded random N of each new session's mutants")
    parser.add_argument("--report", action="store_true", help="only print the results so far")
    args = parser.parse_args(argv)
    sessions = args.sessions or list(SESSIONS)
    unknown = [s for s in sessions if s not in SESSIONS]
    if unknown:
        parser.error(f"unknown session {', '.join(unknown)}; "
                     f"expected some of {', '.join(SESSIONS)}")
    if args.sample is not None and args.sample < 1:
        parser.error("--sample takes a count >= 1")
    if args.fresh and args.retest:
        parser.error("--fresh already judges every mutant with the current tests")
    if not args.report:
        WORK.mkdir(exist_ok=True)
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for done in pool.map(lambda s: execute(s, args.fresh, args.retest, args.sample),
                                 sessions):
                print(f"{done}: done", flush=True)
    report(sessions)


if __name__ == "__main__":
    main()
