"""Fault injection: ``kill -9`` in the middle of a sweep then ``--resume``, and corrupt
copies of every file the command line reads.

Two contracts are checked (see ``grasp_bench/sweep.py`` and ``grasp_bench/errors.py``):

* a sweep killed at any moment resumes (or, if it died before ``meta.json`` existed, is
  refused in one line and can be started afresh) to a complete result: every
  (planner, H, episode) exactly once, every cell file readable, no temporary file left
  (the random kills tolerate only the temporary file the kill itself left, a known bug
  pinned deterministically by ``test_sigkill_during_atomic_write_then_resume``);
* bad input is one line starting with ``error:`` and exit code 2, never a traceback.

``GRASP_BENCH_STRICT`` is set as in the rest of the suite, so a ``ValueError`` that only
the CLI's last-resort guard turns into a generic line counts as the escape it is.
Each test pins a defect this module found (tracebacks, runs that could not resume).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from grasp_bench.cli import app

runner = CliRunner()

#: Planner settings that keep each cell to a fraction of a second.
FAST = ["--set", "cem.iterations=3", "--set", "cem.samples=16", "--set", "cem.topk=4",
        "--set", "grasp.iterations=20", "--set", "grasp.sync_every=10",
        "--set", "grasp.sync_steps=2"]
FAST_CEM = FAST[:6]
PLANNERS, HORIZONS, EPISODES = ("cem", "grasp"), (5, 10), 2
#: Wall time of the uninterrupted sweep below as a subprocess on the 2-core development
#: machine (11 s to exit; run directory at 3 s, meta.json at 3.8 s, last write at 10.4 s).
#: Kill times are drawn uniformly from [0.5 s, FULL_RUN_S] split in KILL_SEEDS strata (seed
#: i draws from the i-th), so the few seeds spread over start-up, cells and the end; on a
#: slower machine more land before meta.json, on a faster one after the last cell: all
#: outcomes are handled.
FULL_RUN_S = 10.0
KILL_SEEDS = (0, 1, 2)
GRASP_BENCH = Path(sys.executable).with_name("grasp-bench")


def sweep_args(ckpt: Path, out: Path) -> list[str]:
    return ["sweep", "--horizons", ",".join(map(str, HORIZONS)), "--episodes", str(EPISODES),
            "--planners", ",".join(PLANNERS), "--device", "cpu", "--checkpoint", str(ckpt),
            "--out", str(out), *FAST]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def is_temp(path: Path) -> bool:
    """A temporary file of an atomic write: ``.NAME.XXXX.tmp`` (CSV/JSON/markdown) or
    ``.NAME.tmp.png`` (plots)."""
    return path.name.startswith(".") and (path.name.endswith(".tmp") or ".tmp." in path.name)


def temp_files(run_dir: Path) -> set[Path]:
    return {p for p in run_dir.rglob(".*") if p.is_file() and is_temp(p)} \
        if run_dir.is_dir() else set()


def require(condition: bool, message: str) -> None:
    """A precondition of the test itself: fails it outright (``pytest.fail``)."""
    if not condition:
        pytest.fail(message)


def assert_one_line_error(res) -> None:
    """Exit code 2, exactly one ``error:`` line on stderr (warnings aside), no traceback."""
    exc = res.exception
    assert exc is None or isinstance(exc, SystemExit), \
        f"uncaught {type(exc).__name__}: {exc}\n{res.output}"
    assert "Traceback" not in res.output, res.output
    assert res.exit_code == 2, f"exit code {res.exit_code}\n{res.output}"
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr


def assert_complete_run(run_dir: Path, planners=PLANNERS, horizons=HORIZONS) -> None:
    """Every (planner, H, episode) exactly once; every cell file there and readable."""
    episodes = pd.read_csv(run_dir / "episodes.csv")
    keys = sorted(zip(episodes["planner"], episodes["horizon"].astype(int),
                      episodes["episode"].astype(int), strict=True))
    assert keys == sorted(itertools.product(planners, horizons, range(EPISODES))), keys
    cells = run_dir / "cells"
    names = {p.name for p in cells.iterdir() if not is_temp(p)}
    assert names == {f"{p}-H{h}.{kind}" for p in planners for h in horizons
                     for kind in ("episodes.csv", "snapshots.csv", "plans.npz")}, names
    for p in cells.iterdir():
        if not is_temp(p) and p.suffix == ".csv":
            frame = pd.read_csv(p)  # every cell file parses
            assert len(frame) > 0 or p.name.endswith("snapshots.csv"), p.name
    pd.read_csv(run_dir / "snapshots.csv")
    summary = pd.read_csv(run_dir / "summary.csv")
    assert len(summary) == len(planners) * len(horizons) and (summary["n"] == EPISODES).all()


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))  # no problem cache leaks
    monkeypatch.setenv("GRASP_BENCH_STRICT", "1")


@pytest.fixture(scope="module")
def tiny_ckpt(tiny_checkpoint) -> Path:
    return tiny_checkpoint


@pytest.fixture(scope="module")
def base_run(tiny_ckpt, tmp_path_factory) -> Path:
    """One real, finished run (cem, H=5, 2 problems) whose copies the corrupt cases damage."""
    root = tmp_path_factory.mktemp("faults-base")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRASP_BENCH_CACHE", str(root / "cache"))
        mp.setenv("GRASP_BENCH_STRICT", "1")
        res = invoke("run", "--horizon", 5, "--episodes", EPISODES, "--planners", "cem",
                     "--device", "cpu", "--checkpoint", tiny_ckpt, "--out", root / "run",
                     *FAST_CEM)
    assert res.exit_code == 0, res.output
    return root / "run"


# -- kill -9 at a random moment, then resume ------------------------------------------------
def start_sweep(cmd: list[str], log_dir: Path) -> subprocess.Popen:
    """Start ``cmd`` in a session of its own (so a kill reaches its children too), its
    output in ``log_dir/sweep.stdout`` and ``sweep.stderr``."""
    with open(log_dir / "sweep.stdout", "wb") as out, open(log_dir / "sweep.stderr", "wb") as err:
        return subprocess.Popen(cmd, env=dict(os.environ), cwd=log_dir, start_new_session=True,
                                stdout=out, stderr=err)


def sigkill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL ``proc``'s session (the sweep and any child) after ``seconds`` unless it ended
    before; True if it was killed.  It is never left running."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        return True
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def kill_delay(seed: int) -> float:
    stratum = (KILL_SEEDS.index(seed) + random.Random(seed).random()) / len(KILL_SEEDS)
    return 0.5 + stratum * (FULL_RUN_S - 0.5)


@pytest.mark.parametrize("seed", KILL_SEEDS)
def test_sigkill_at_random_moment_then_resume(seed, tiny_ckpt, tmp_path):
    out = tmp_path / "sweep"
    args = sweep_args(tiny_ckpt, out)
    delay = kill_delay(seed)
    proc = start_sweep([str(GRASP_BENCH), *args], tmp_path)
    if sigkill_after(proc, delay):
        state = f"killed at {delay:.2f} s"
    else:
        state = f"finished (rc {proc.returncode}) before the kill at {delay:.2f} s"
        assert proc.returncode == 0, (tmp_path / "sweep.stderr").read_text()
    left_by_kill = temp_files(out)
    had_meta = (out / "meta.json").is_file()
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) if out.exists() \
        else "no directory"
    print(f"seed {seed}: {state}; meta.json: {had_meta}; left: {left}")

    res = invoke("sweep", "--resume", out)
    if had_meta:
        assert res.exit_code == 0, res.output
    else:  # killed before meta.json: not a run yet, refused in one line; start afresh
        assert_one_line_error(res)
        if out.is_dir() and {p.name for p in out.iterdir()} <= {"cells"} | \
                {p.name for p in left_by_kill} and not any((out / "cells").glob("*")):
            # Known bug (test_fresh_sweep_into_dir_left_by_kill_before_meta): the fresh run
            # refuses this directory as "not empty"; clear it the way a user must.
            shutil.rmtree(out)
        fresh = invoke(*args)
        assert fresh.exit_code == 0, fresh.output
    assert_complete_run(out)
    # The resume adds no temporary file of its own; those a kill leaves behind are not
    # removed (test_sigkill_during_atomic_write_then_resume), so they are tolerated here.
    assert temp_files(out) <= left_by_kill, sorted(map(str, temp_files(out) - left_by_kill))


# -- kill -9 at chosen moments (deterministic): exactly what a kill there leaves ------------
#: Runs the CLI and SIGKILLs itself just before ``os.replace`` renames the temporary file
#: of the target (the data written and fsync'ed, the rename not yet done).
KILL_AT_REPLACE = textwrap.dedent("""
    import os, signal, sys
    target, real_replace = sys.argv[1], os.replace
    def replace(src, dst, *a, **k):
        if os.path.basename(os.fspath(dst)) == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(src, dst, *a, **k)
    os.replace = replace
    from grasp_bench.cli import main
    sys.argv = ["grasp-bench", *sys.argv[2:]]
    main()
""")


def test_sigkill_during_atomic_write_then_resume(tiny_ckpt, tmp_path):
    # Plots (report.py _save) use a fixed '.NAME.tmp.png' that the resume's own save reuses
    # and renames away, so only the random mkstemp names of CSV/JSON writes are at stake.
    target, temp_glob = "cem-H5.episodes.csv", "cells/.cem-H5.episodes.csv.*.tmp"
    out = tmp_path / "sweep"
    args = ["sweep", "--horizons", "5", "--episodes", str(EPISODES), "--planners", "cem",
            "--device", "cpu", "--checkpoint", str(tiny_ckpt), "--out", str(out), *FAST_CEM]
    proc = start_sweep([sys.executable, "-c", KILL_AT_REPLACE, target, *args], tmp_path)
    require(not sigkill_after(proc, 120), "the driver ran past 120 s")
    require(proc.returncode == -signal.SIGKILL,
            f"driver exited {proc.returncode}: {(tmp_path / 'sweep.stderr').read_text()}")
    left = sorted(out.glob(temp_glob))
    require(len(left) == 1, f"the kill left no {temp_glob}: {sorted(out.rglob('*'))}")

    res = invoke("sweep", "--resume", out)
    require(res.exit_code == 0, res.output)
    require(pd.read_csv(out / "episodes.csv").shape[0] == EPISODES, "resume lost episodes")
    assert not temp_files(out), sorted(str(p.relative_to(out)) for p in temp_files(out))


def killed_before_meta(tmp_path: Path) -> Path:
    """The run directory of a sweep killed after ``new_run_dir`` made ``cells/`` and before
    ``run_sweep`` wrote ``meta.json`` (a ~0.7 s window: the busy-cores probe, git, machine
    info), exactly as the kill leaves it."""
    out = tmp_path / "sweep"
    (out / "cells").mkdir(parents=True)
    return out


def test_resume_of_dir_left_by_kill_before_meta_is_one_line(tmp_path):
    assert_one_line_error(invoke("sweep", "--resume", killed_before_meta(tmp_path)))


def test_fresh_sweep_into_dir_left_by_kill_before_meta(tiny_ckpt, tmp_path):
    out = killed_before_meta(tmp_path)
    res = invoke("sweep", "--horizons", "5", "--episodes", EPISODES, "--planners", "cem",
                 "--device", "cpu", "--checkpoint", tiny_ckpt, "--out", out, *FAST_CEM)
    assert res.exit_code == 0, res.output
    assert_complete_run(out, planners=("cem",), horizons=(5,))


# -- corrupt inputs: one line, exit code 2 --------------------------------------------------
GARBAGE = random.Random(0).randbytes(4096)  # not UTF-8 (first byte 0xcd), not a zip/pickle


def _flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    for i in range(at, at + 16):
        b[i] ^= 0xFF
    return bytes(b)


def _checkpoint(ckpt: Path, tmp: Path, weights=None, manifest=None, rehash=False) -> Path:
    """A copy of the tiny checkpoint with its weights and/or manifest damaged; ``rehash``
    records the damaged weights' sha256 in the manifest (so only the loader can tell)."""
    from grasp_bench.models.checkpoint import sha256_file

    pt, js = tmp / "ckpt" / "bad.pt", tmp / "ckpt" / "bad.json"
    pt.parent.mkdir()
    pt.write_bytes(weights(ckpt.read_bytes()) if weights else ckpt.read_bytes())
    js.write_bytes(ckpt.with_suffix(".json").read_bytes())
    if rehash:
        js.write_text(json.dumps({**json.loads(js.read_text()), "sha256": sha256_file(pt)}))
    if manifest is not None:
        js.write_bytes(manifest)
    return pt


def _run(ckpt: Path, tmp: Path) -> list:
    return ["run", "--horizon", 5, "--episodes", 1, "--planners", "cem", "--device", "cpu",
            "--checkpoint", ckpt, "--out", tmp / "out", *FAST_CEM]


def _copy_run(base: Path, tmp: Path, files: dict[str, bytes | None]) -> Path:
    """A copy of the base run with ``files`` (path in the run: new bytes, or ``None`` to
    delete it) replaced."""
    run = tmp / "run"
    shutil.copytree(base, run)
    for name, data in files.items():
        if data is None:
            (run / name).unlink()
        else:
            (run / name).write_bytes(data)
    return run


def _episodes(base: Path, drop=(), **changes) -> bytes:
    """The base run's episodes.csv without the ``drop`` columns, ``changes`` overwritten."""
    frame = pd.read_csv(base / "episodes.csv").astype(object).drop(columns=list(drop))
    for col, value in changes.items():
        frame[col] = value
    return frame.to_csv(index=False).encode()


def _summary(base: Path, tmp: Path, data: bytes | None = None, **changes) -> Path:
    if data is None:
        frame = pd.read_csv(base / "summary.csv").astype(object)
        for col, value in changes.items():
            frame[col] = value
        data = frame.to_csv(index=False).encode()
    path = tmp / "baseline.csv"
    path.write_bytes(data)
    return path


def _meta_with_options(base: Path, **options) -> bytes:
    meta = json.loads((base / "meta.json").read_text())
    if options.get("options", "keep") is None:
        meta["extra"]["options"] = None
    else:
        meta["extra"]["options"].update(options)
    return json.dumps(meta).encode()


def _manifest_without(ckpt: Path, key: str) -> bytes:
    manifest = json.loads(ckpt.with_suffix(".json").read_text())
    manifest.pop(key)
    return json.dumps(manifest).encode()


def _without_manifest(pt: Path) -> Path:
    pt.with_suffix(".json").unlink()
    return pt


def _empty_dir(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def _header(path: Path) -> bytes:
    return path.read_bytes().splitlines()[0] + b"\n"


def _cut_mid_row(path: Path) -> bytes:
    """``path`` cut off in the middle of its last row (as a full disk or a kill leaves a
    file copied without care)."""
    data = path.read_bytes()
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return data[: len(data) - 1 - len(last) // 2]


def _twice(path: Path) -> bytes:
    """``path`` with its first data row repeated (a cell listed twice)."""
    lines = path.read_bytes().splitlines(keepends=True)
    return b"".join([*lines, lines[1]])


def case(name: str, build, *marks):
    """One corrupt input: ``build(tmp_path, base_run, ckpt)`` returns the CLI arguments."""
    return pytest.param(build, id=name, marks=marks)


def _report(files):
    return lambda t, b, c: ["report", _copy_run(b, t, files)]


def _resume(files):
    return lambda t, b, c: ["sweep", "--resume", _copy_run(b, t, files)]


def _check(**changes):
    return lambda t, b, c: ["check", b, "--baseline", _summary(b, t, **changes)]


def _run_with(**damage):
    return lambda t, b, c: _run(_checkpoint(c, t, **damage), t)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flipped(data: bytes) -> bytes:
    return _flip(data, len(data) // 2)


CASES = [
    # -- run: the checkpoint's weights (.pt) and manifest (.json)
    case("run-pt-truncated", _run_with(weights=_half)),
    case("run-pt-bytes-flipped", _run_with(weights=_flipped)),
    case("run-pt-truncated-manifest-rehashed", _run_with(weights=_half, rehash=True)),
    case("run-pt-bytes-flipped-manifest-rehashed", _run_with(weights=_flipped, rehash=True)),
    case("run-pt-empty-manifest-rehashed", _run_with(weights=lambda d: b"", rehash=True)),
    case("run-pt-not-torch-manifest-rehashed", _run_with(weights=lambda d: GARBAGE, rehash=True)),
    case("run-manifest-not-json", _run_with(manifest=b'{"format": "grasp-bench-ch')),
    case("run-manifest-json-list", _run_with(manifest=b"[1, 2]")),
    case("run-manifest-no-architecture",
         lambda t, b, c: _run(_checkpoint(c, t, manifest=_manifest_without(c, "architecture")),
                              t)),
    case("run-manifest-not-utf8", _run_with(manifest=GARBAGE)),
    case("run-manifest-missing", lambda t, b, c: _run(_without_manifest(_checkpoint(c, t)), t)),
    # -- models --dir: manifests
    case("models-manifest-not-json",
         lambda t, b, c: ["models", "--dir", _checkpoint(c, t, manifest=b"{oops").parent]),
    case("models-manifest-not-utf8",
         lambda t, b, c: ["models", "--dir", _checkpoint(c, t, manifest=GARBAGE).parent]),
    # -- report: episodes.csv, snapshots.csv, meta.json
    case("report-episodes-garbage-bytes", _report({"episodes.csv": GARBAGE})),
    case("report-episodes-nul-bytes", _report({"episodes.csv": b"\x00" * 512})),
    case("report-episodes-empty", _report({"episodes.csv": b""})),
    case("report-episodes-unterminated-quote",
         _report({"episodes.csv": b'env,mode\n"pusht,open\n'})),
    case("report-episodes-lacks-columns",
         lambda t, b, c: ["report", _copy_run(b, t, {"episodes.csv": _episodes(
             b, drop=["planner", "horizon"])})]),
    case("report-episodes-text-horizon",
         lambda t, b, c: ["report", _copy_run(b, t, {"episodes.csv": _episodes(
             b, horizon="abc")})]),
    case("report-episodes-text-in-float-column",
         lambda t, b, c: ["report", _copy_run(b, t, {"episodes.csv": _episodes(
             b, planning_time_s="abc")})]),
    case("report-snapshots-garbage-bytes", _report({"snapshots.csv": GARBAGE})),
    # issue 19: damage past the header (rows cut off, ragged, mistyped)
    case("report-episodes-cut-mid-row",
         lambda t, b, c: ["report", _copy_run(b, t, {"episodes.csv": _cut_mid_row(
             b / "episodes.csv")})]),
    case("report-snapshots-cut-mid-row",
         lambda t, b, c: ["report", _copy_run(b, t, {"snapshots.csv": _cut_mid_row(
             b / "snapshots.csv")})]),
    case("report-episodes-flag-not-boolean",
         lambda t, b, c: ["report", _copy_run(b, t, {"episodes.csv": _episodes(
             b, success_executed="maybe")})]),
    case("report-episodes-negative-time",
         lambda t, b, c: ["report", _copy_run(b, t, {"episodes.csv": _episodes(
             b, planning_time_s=-1.0)})]),
    case("report-episodes-infinite-time",
         lambda t, b, c: ["report", _copy_run(b, t, {"episodes.csv": _episodes(
             b, planning_time_s="inf")})]),
    case("report-episodes-fractional-horizon",
         lambda t, b, c: ["report", _copy_run(b, t, {"episodes.csv": _episodes(
             b, horizon=5.5)})]),
    case("report-meta-not-json", _report({"meta.json": b'{"command": ['})),
    case("report-meta-json-list", _report({"meta.json": b"[]"})),
    case("report-meta-not-utf8", _report({"meta.json": GARBAGE})),
    case("report-no-such-dir", lambda t, b, c: ["report", t / "nope"]),
    # -- check: the baseline, and the run
    case("check-baseline-empty", _check(data=b"")),
    case("check-baseline-header-only",
         lambda t, b, c: ["check", b, "--baseline", _summary(b, t, data=_header(
             b / "summary.csv"))]),
    case("check-baseline-text-in-counts", _check(model_successes="many")),
    case("check-baseline-text-in-horizon", _check(horizon="sixty")),
    case("check-baseline-no-shared-cell", _check(planner="gd", horizon=40)),
    case("check-baseline-garbage-bytes", _check(data=GARBAGE)),
    case("check-baseline-missing", lambda t, b, c: ["check", b, "--baseline", t / "nope.csv"]),
    case("check-baseline-cut-mid-row",
         lambda t, b, c: ["check", b, "--baseline", _summary(b, t, data=_cut_mid_row(
             b / "summary.csv"))]),
    case("check-baseline-rate-not-successes-over-n", _check(executed_rate=0.123)),
    case("check-baseline-ci-outside-0-1", _check(executed_ci_high=1.5)),
    case("check-baseline-metric-n-above-cell-n", _check(n=1)),
    case("check-baseline-unknown-mode", _check(mode="closed")),
    case("check-baseline-mpc-counts-in-open-row", _check(mpc_n=2, mpc_successes=1)),
    case("check-baseline-duplicate-cell",
         lambda t, b, c: ["check", b, "--baseline", _summary(b, t, data=_twice(
             b / "summary.csv"))]),
    case("check-run-episodes-cut-mid-row", lambda t, b, c: [
        "check", _copy_run(b, t, {"episodes.csv": _cut_mid_row(b / "episodes.csv")}),
        "--baseline", b / "summary.csv"]),
    case("check-run-episodes-garbage", lambda t, b, c: [
        "check", _copy_run(b, t, {"episodes.csv": GARBAGE}), "--baseline", b / "summary.csv"]),
    case("check-run-meta-not-utf8", lambda t, b, c: [
        "check", _copy_run(b, t, {"meta.json": GARBAGE}), "--baseline", b / "summary.csv"]),
    # -- sweep --resume: meta.json, and what the resume goes on to read
    case("resume-meta-missing", _resume({"meta.json": None})),
    case("resume-meta-not-json", _resume({"meta.json": b"{garbage"})),
    case("resume-meta-empty", _resume({"meta.json": b""})),
    case("resume-meta-not-utf8", _resume({"meta.json": GARBAGE})),
    case("resume-meta-unknown-option",
         lambda t, b, c: ["sweep", "--resume", _copy_run(b, t, {"meta.json": _meta_with_options(
             b, bogus=1)})]),
    case("resume-meta-option-of-wrong-type",
         lambda t, b, c: ["sweep", "--resume", _copy_run(b, t, {"meta.json": _meta_with_options(
             b, episodes="2")})]),
    case("resume-meta-options-null",
         lambda t, b, c: ["sweep", "--resume", _copy_run(b, t, {"meta.json": _meta_with_options(
             b, options=None)})]),
    case("resume-no-such-dir", lambda t, b, c: ["sweep", "--resume", t / "nope"]),
    case("resume-episodes-cut-mid-row",
         lambda t, b, c: ["sweep", "--resume", _copy_run(b, t, {"episodes.csv": _cut_mid_row(
             b / "episodes.csv")})]),
    case("resume-with-contradicting-options",
         lambda t, b, c: ["sweep", "--resume", _copy_run(b, t, {}), "--episodes", 7]),
    case("resume-empty-dir", lambda t, b, c: ["sweep", "--resume", _empty_dir(t)]),
]


@pytest.mark.parametrize("build", CASES)
def test_corrupt_input_is_one_line_error(build, base_run, tiny_ckpt, tmp_path):
    assert_one_line_error(invoke(*build(tmp_path, base_run, tiny_ckpt)))


def test_resume_with_header_only_cell_file_fails_or_reruns(base_run, tmp_path):
    cell = "cells/cem-H5.episodes.csv"
    run = _copy_run(base_run, tmp_path, {cell: _header(base_run / cell)})
    res = invoke("sweep", "--resume", run)
    if res.exit_code != 0:
        assert_one_line_error(res)
    else:
        assert len(pd.read_csv(run / "episodes.csv")) == EPISODES, res.output


def test_error_message_with_markup_characters_is_one_line(tmp_path):
    res = invoke("report", tmp_path / "runs[/]x")
    assert_one_line_error(res)
    assert "runs[/]x" in res.stderr


#: Damaged files the run derives or can redo: a resume re-runs the cell (or recomputes the
#: statistics) and completes, rather than failing (regression: they raised tracebacks).
HEALED = {
    "cell-episodes-garbage": {"cells/cem-H5.episodes.csv": GARBAGE},
    "cell-episodes-empty": {"cells/cem-H5.episodes.csv": b""},
    "cell-episodes-foreign-columns": {"cells/cem-H5.episodes.csv": b"hello,world\n1,2\n"},
    "cell-episodes-cut-mid-row": {"cells/cem-H5.episodes.csv": b"cut"},  # see the test
    "problems-json-not-json": {"problems.json": b"{garbage",
                               "cells/cem-H5.episodes.csv": None},
}


@pytest.mark.parametrize("damage", list(HEALED.values()), ids=list(HEALED))
def test_resume_redoes_damaged_cells_and_derived_files(damage, base_run, tmp_path):
    if damage.get("cells/cem-H5.episodes.csv") == b"cut":
        cell = "cells/cem-H5.episodes.csv"
        damage = {cell: _cut_mid_row(base_run / cell)}
    run_dir = _copy_run(base_run, tmp_path, damage)
    res = invoke("sweep", "--resume", run_dir)
    assert res.exit_code == 0, res.output
    assert_complete_run(run_dir, planners=("cem",), horizons=(5,))
    json.loads((run_dir / "problems.json").read_text())
