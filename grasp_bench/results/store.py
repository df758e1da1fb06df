"""Run directories on disk: atomic writes, reading cells and runs back.

Every file is written atomically (temporary file in the same directory, then
``os.replace``), so a killed sweep never leaves a half-written file behind; files get the
mode the umask gives a new file (not ``mkstemp``'s 0600).
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from grasp_bench.errors import UserError
from grasp_bench.results.schema import (
    BOOL_COLUMNS,
    CELL_KEYS,
    EPISODE_COLUMNS,
    INT_COLUMNS,
    LEGACY_NAMES,
    LEGACY_SOURCE,
    SNAPSHOT_COLUMNS,
    SOURCE_COLUMN,
    STRING_COLUMNS,
    TIME_COLUMNS,
)

#: Spellings of a success flag in a results CSV (empty: a metric the mode does not measure).
_TRUE_TEXT = ("true", "1", "1.0", "yes")
_FALSE_TEXT = ("false", "0", "0.0", "no")


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic_write(path: str | os.PathLike[str], write: Callable[[IO], None],
                  newline: str | None = None, binary: bool = False) -> Path:
    """Write a file atomically: temp file in the same directory, fsync, ``os.replace``
    (UTF-8 text, or bytes with ``binary``).

    On any error the temp file is removed and an existing ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, _file_mode())
        opened = os.fdopen(fd, "wb") if binary else \
            os.fdopen(fd, "w", encoding="utf-8", newline=newline)
        with opened as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as CSV (no index) atomically; returns the path."""
    return _atomic_write(path, lambda fh: df.to_csv(fh, index=False), newline="")


def write_text_atomic(text: str, path: str | os.PathLike[str]) -> Path:
    """Write ``text`` (UTF-8) atomically; returns the path."""
    return _atomic_write(path, lambda fh: fh.write(text))


def write_json_atomic(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as indented JSON atomically (non-JSON values via ``str``)."""
    return _atomic_write(
        path, lambda fh: fh.write(json.dumps(obj, indent=2, default=str) + "\n"))


def write_npz_atomic(arrays: dict, path: str | os.PathLike[str]) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` atomically (same rules as the text files)."""
    import numpy as np

    return _atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), binary=True)


def as_nullable_bool(series: pd.Series) -> pd.Series:
    """A column of bools, 0/1 or 'True'/'False' strings as pandas' nullable boolean
    (empty or NaN stays missing: a metric the episode's mode does not measure)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    text = series.astype(str).str.strip().str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE_TEXT)] = True
    out[text.isin(_FALSE_TEXT)] = False
    return out


def check_csv_shape(path: Path) -> None:
    """Refuse a CSV cut off or malformed past its header: a last row without its end of
    line (a truncated file; every file here is written whole, newline-terminated), or a
    row with fewer or more fields than the header.  One-line :class:`UserError` naming
    the file and the row (the header is row 1); decoding errors propagate."""
    with open(path, encoding="utf-8", newline="") as fh:
        text = fh.read()
    try:
        records = list(csv.reader(text.splitlines(keepends=True)))
    except csv.Error as err:
        raise UserError(f"unreadable {path}: {err}") from None
    if not records:
        return
    width = len(records[0])
    last = 0
    for i, rec in enumerate(records[1:], start=2):
        if not rec:  # a blank line
            continue
        last = i
        if len(rec) != width:
            cut = " (cut off mid-row)" if len(rec) < width and i == len(records) else ""
            raise UserError(f"unreadable {path}: row {i} has {len(rec)} fields, the header "
                            f"{width}{cut}")
    if last and not text.endswith(("\n", "\r")):
        raise UserError(f"unreadable {path}: row {last} is cut off (the file ends without "
                        "an end of line: truncated)")


def _row_error(path: Path, bad: pd.Series, frame: pd.DataFrame, col: str, what: str) -> None:
    """UserError naming the first row of ``bad`` (a mask) and its value, if any."""
    if bad.any():
        i = int(bad.to_numpy().argmax())
        value = frame[col].iloc[i]
        raise UserError(f"unreadable {path}: row {i + 2}: {col} = {value!r} is not {what}")


def _read_results_csv(path: Path) -> pd.DataFrame:
    """Read a results CSV keeping string columns verbatim ('' stays '') and typing the rest.

    Every row is checked: its field count (:func:`check_csv_shape`), numbers in numeric
    columns, success flags that are booleans (or empty), finite non-negative times,
    positive integer horizons and non-negative integer episode indices; one-line
    :class:`UserError` naming the file, row and column otherwise."""
    check_csv_shape(path)
    header = pd.read_csv(path, nrows=0).columns
    na = {c: ["", "nan", "NaN"] for c in header if c not in STRING_COLUMNS}
    frame = pd.read_csv(path, keep_default_na=False, na_values=na,
                        dtype={c: str for c in STRING_COLUMNS if c in header})
    frame = frame.rename(columns=LEGACY_NAMES)
    for col in frame.columns:
        raw = frame[col]
        if col in BOOL_COLUMNS:
            text = raw.astype(str).str.strip().str.lower()
            _row_error(path, raw.notna() & ~text.isin(_TRUE_TEXT + _FALSE_TEXT), frame, col,
                       "a success flag (true/false, or empty)")
            frame[col] = as_nullable_bool(raw)
        elif col not in STRING_COLUMNS:
            number = pd.to_numeric(raw, errors="coerce")
            _row_error(path, number.isna() & raw.notna(), frame, col, "a number")
            frame[col] = number
    for col in TIME_COLUMNS:
        if col in frame:
            t = frame[col].astype(float)
            _row_error(path, t.notna() & ((t < 0) | t.isin((math.inf, -math.inf))), frame, col,
                       "a finite, non-negative time in seconds")
    if "horizon" in frame:
        h = frame["horizon"]
        _row_error(path, h.isna() | (h <= 0) | (h % 1 != 0), frame, "horizon",
                   "a positive integer")
    if "episode" in frame:
        e = frame["episode"]
        _row_error(path, e.notna() & ((e < 0) | (e % 1 != 0)), frame, "episode",
                   "a non-negative integer")
    for col in INT_COLUMNS:
        if col in frame and frame[col].notna().all():
            frame[col] = frame[col].astype(int)
    return frame


def read_csv_cells(paths: Sequence[str | os.PathLike[str]],
                   columns: Sequence[str]) -> pd.DataFrame:
    """Concatenate per-cell CSV files (episodes or snapshots) into one typed frame.

    Columns are put in the order of ``columns`` (missing ones are filled with NaN);
    string columns keep ``""`` verbatim, success columns become nullable booleans.
    No paths gives an empty frame with ``columns``.
    """
    required = [c for c in CELL_KEYS if c in columns]
    frames = [_load_checked(Path(p), required, "cell") for p in paths]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True).reindex(columns=list(columns))


def load_run(run_dir: str | os.PathLike[str], *,
             require_episodes: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Load ``(episodes, snapshots, meta)`` from a run directory.

    A run directory holds ``episodes.csv`` with the cell columns; ``snapshots.csv``
    (empty frame with :data:`SNAPSHOT_COLUMNS` when absent) and ``meta.json``
    (``{}`` when absent) are optional. With ``require_episodes=False`` a directory
    holding only ``meta.json`` (a run whose first cell has not finished) is a run too,
    and its episodes frame is empty with :data:`EPISODE_COLUMNS`.

    Raises:
        UserError (a ValueError) with a one-line message when ``run_dir`` is not a run.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise UserError(f"not a run directory (does not exist or not a directory): {run}")
    episodes_file, meta_file = run / "episodes.csv", run / "meta.json"
    if episodes_file.is_file():
        episodes = _load_checked(episodes_file, (*CELL_KEYS, "episode"), "episodes")
    elif not require_episodes and meta_file.is_file():
        episodes = pd.DataFrame(columns=list(EPISODE_COLUMNS))
    else:
        wanted = "episodes.csv" if require_episodes else "episodes.csv or meta.json"
        raise UserError(f"not a run directory (no {wanted}): {run}")
    snapshots_file = run / "snapshots.csv"
    if snapshots_file.is_file():
        snapshots = _load_checked(snapshots_file, CELL_KEYS, "snapshots")
    else:
        snapshots = pd.DataFrame(columns=list(SNAPSHOT_COLUMNS))
    meta = _load_meta(meta_file)
    if SOURCE_COLUMN not in episodes or episodes[SOURCE_COLUMN].isna().all():
        # written before the column: the run's meta.json names its source, else it predates
        # problem sources and drew behaviour problems
        seeds = meta.get("seeds") if isinstance(meta.get("seeds"), dict) else {}
        episodes[SOURCE_COLUMN] = str(seeds.get("problem_source") or LEGACY_SOURCE)
    return episodes, snapshots, meta


def _load_checked(path: Path, required: Sequence[str], what: str) -> pd.DataFrame:
    """Read a run CSV; one-line UserError when unreadable or of another format."""
    try:
        frame = _read_results_csv(path)
    except UserError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            ValueError) as err:
        raise UserError(f"unreadable {path}: {str(err).splitlines()[0]}") from err
    missing = [c for c in required if c not in frame]
    if missing:
        raise UserError(f"{path} lacks columns {missing}; not a grasp-bench {what} file "
                        "(or one written by an older version)")
    return frame


def _load_meta(path: Path) -> dict:
    """meta.json as a dict ({} when absent); UserError when it is not a JSON object."""
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"invalid JSON in {path}: {str(err).splitlines()[0]}") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path} does not hold a JSON object")
    return meta
