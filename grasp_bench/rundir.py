"""Run directories: creating and claiming them (one writer each, :mod:`grasp_bench.claim`),
reading back the options a run was made with, and checking that a resume (or a render)
uses the model, version and tuned configs it was made with."""

from __future__ import annotations

import contextlib
import itertools
import json
import typing
from datetime import UTC, datetime
from pathlib import Path

from grasp_bench.claim import LOCK_NAME, Claim, claim_dir, holder_of
from grasp_bench.errors import UserError
from grasp_bench.options import Prepared, SweepOptions
from grasp_bench.results import load_run
from grasp_bench.tasks import REPO_ROOT

__all__ = ["RUNS_DIR", "check_same_model", "new_run_dir", "options_of_run"]

RUNS_DIR = REPO_ROOT / "results" / "runs"


def new_run_dir(name: str, out: Path | None) -> Claim:
    """Create and claim a run directory: ``out``, or ``results/runs/<timestamp>-<name>``
    (made with an exclusive ``mkdir``, a counter added when another run took the name in
    the same second).  Returns the held :class:`~grasp_bench.claim.Claim` (its ``path``
    is the directory); release it, as a context manager, when the run ends.

    The claim comes before the emptiness check, so two commands given one ``--out`` cannot
    both pass it: the second is refused naming the first (:class:`Claimed`), and a
    directory that a finished run fills is refused as not empty; either way nothing is
    written."""
    if out is None:
        out = _unique_default(name)
    elif out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a directory")
    elif out.exists() and not _never_started(out) and holder_of(out) is None:
        raise _not_empty(out)  # (no lock file is made in a finished run)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create output directory {out}: {e.strerror}") from None
    claim = claim_dir(out, hint="wait for it to finish, or pick another --out")
    try:
        if not _never_started(out):
            raise _not_empty(out)
        (out / "cells").mkdir(exist_ok=True)
    except BaseException:
        claim.release()
        raise
    return claim


def _unique_default(name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = RUNS_DIR / f"{stamp}-{name}"
    try:
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        for i in itertools.count(1):
            out = base if i == 1 else base.with_name(f"{base.name}-{i}")
            with contextlib.suppress(FileExistsError):
                out.mkdir()
                return out
    except OSError as e:
        raise UserError(f"cannot create a run directory in {RUNS_DIR}: {e.strerror}") from None
    raise AssertionError("unreachable")


def _not_empty(out: Path) -> UserError:
    return UserError(f"output directory {out} is not empty; pick another --out or --resume it")


def _never_started(run_dir: Path) -> bool:
    """A directory that holds nothing, or only the empty ``cells/`` of a run killed before
    its ``meta.json`` was written (and the lock file of a claim): safe to (re)start a run
    in."""
    entries = [e for e in run_dir.iterdir() if e.name != LOCK_NAME]
    return all(e.name == "cells" and e.is_dir() and not any(e.iterdir()) for e in entries)


def _is_instance(value, hint) -> bool:
    """``isinstance`` for the hints of :class:`SweepOptions` (``int``, ``float``, ``str``,
    ``X | None``, ``tuple[X, ...]``); a bool is not an int here, an int is a float."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        return isinstance(value, tuple) and all(_is_instance(x, args[0]) for x in value)
    if args:  # a union such as int | None
        return any(_is_instance(value, a) for a in args)
    if hint is type(None):
        return value is None
    if isinstance(value, bool) and hint is not bool:
        return False
    return isinstance(value, (int, float) if hint is float else hint)


def options_of_run(run_dir: Path) -> SweepOptions:
    """The options a run directory was made with (each checked against its field's type);
    :class:`UserError` if it is not a run."""
    if run_dir.is_dir() and _never_started(run_dir):
        raise UserError(f"{run_dir} holds no run yet (killed before it began); start it again "
                        "with --out")
    _, _, meta = load_run(run_dir, require_episodes=False)
    d = meta.get("extra", {}).get("options") if isinstance(meta.get("extra"), dict) else None
    if not isinstance(d, dict):
        raise UserError(f"{run_dir} was not made by grasp-bench run or sweep")
    hints = typing.get_type_hints(SweepOptions)
    d = {"problem_source": "behaviour", **d}  # runs made before the demo problems used behaviour
    unknown = set(d) - set(hints)
    if unknown:
        raise UserError(f"{run_dir}/meta.json: unknown options {sorted(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    for k, v in values.items():
        if not _is_instance(v, hints[k]):
            raise UserError(f"{run_dir}/meta.json: option {k}={v!r} is not a {hints[k]}")
    return SweepOptions(**values)


def check_same_model(run_dir: Path, prep: Prepared, *, tuned: bool = True) -> None:
    """Resuming or rendering a run needs the model and package version it was made with
    (and resuming, with ``tuned``, the same tuned configs)."""
    from grasp_bench.version import __version__

    _, _, meta = load_run(run_dir, require_episodes=False)
    sha = meta.get("checkpoints", {}).get(prep.task.tag)
    if sha != prep.manifest["sha256"]:
        raise UserError(f"{run_dir}: its model (sha256 {str(sha)[:12]}) is not the current "
                        f"{prep.checkpoint.name} ({prep.manifest['sha256'][:12]})")
    from grasp_bench.tuned import tuned_meta

    was = (meta.get("extra", {}).get("tuned") or {}).get("sha256")
    now = (tuned_meta(prep) or {}).get("sha256")
    if tuned and was != now:
        raise UserError(f"{run_dir}: its tuned configs (sha256 {str(was)[:12]}) are not the "
                        f"current ones ({str(now)[:12]})")
    from grasp_bench.problems import source_settings

    was_settings = meta.get("seeds", {}).get("problem_settings")  # absent in older runs
    now_settings = json.loads(json.dumps(source_settings(prep.task,
                                                         prep.options.problem_source)))
    if was_settings is not None and was_settings != now_settings:
        raise UserError(f"{run_dir}: its problems were drawn with other settings "
                        f"({was_settings}, now {now_settings}); start a new run")
    version = meta.get("versions", {}).get("grasp-bench")
    if version != __version__:
        raise UserError(f"{run_dir}: made by grasp-bench {version}, this is {__version__}")
