"""Per-episode results, summaries with confidence intervals, files and metadata.

Pure pandas/stdlib: nothing here imports torch at module level (``collect_meta``
imports it lazily to record versions).

Conventions
-----------
* Rates (``success_rate``, ``ci_low``, ``ci_high``, ``success_model_rate``) are
  fractions in [0, 1]; tables display them in percent.
* A *cell* is one (env, planner, horizon) triple; summaries have one row per cell.
* ``median_time_to_success_s`` is the paper's statistic: the median of
  ``time_to_success_s`` over the episodes whose returned plan succeeded
  (``success`` is True), ignoring missing times; NaN when there is none.
* Every file is written atomically (temporary file in the same directory, then
  ``os.replace``), so a killed sweep never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from statistics import NormalDist
from typing import Any, TextIO

import pandas as pd
from tabulate import tabulate

from grasp_bench.errors import UserError

EPISODE_COLUMNS: tuple[str, ...] = (
    "env", "layout", "model", "model_sha256", "planner", "horizon", "episode", "seed",
    "success", "success_model", "time_to_success_s", "planning_time_s", "iterations",
    "model_error", "real_error", "batch_size", "device", "reason",
)
"""Columns of the per-episode frame written by the harness, in order."""

SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "env", "planner", "horizon", "episode", "iteration", "elapsed_s", "success", "real_error",
)
"""Columns of the per-snapshot frame (one row per snapshot replayed in the simulator)."""

CELL_KEYS: tuple[str, ...] = ("env", "planner", "horizon")
"""Columns that identify a sweep cell."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    *CELL_KEYS, "n", "successes", "success_rate", "ci_low", "ci_high",
    "median_time_to_success_s", "success_model_rate", "mean_planning_time_s",
    "mean_iterations", "failures_by_error",
)
"""Columns of the summary frame returned by :func:`summarize` and saved as summary.csv."""

DEFAULT_PLANNER_ORDER: tuple[str, ...] = ("cem", "gd", "latco", "grasp")
"""Column order of the paper's Table 1; other planners follow in order of appearance."""

ANYTIME_BUDGETS_S: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
"""Planner wall-clock budgets reported in the anytime table of summary.md."""

_STRING_EPISODE_COLUMNS = ("env", "layout", "model", "model_sha256", "planner", "device", "reason")
_BOOL_COLUMNS = ("success", "success_model")
_INT_COLUMNS = ("horizon", "episode")


# --------------------------------------------------------------------------- statistics


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Args:
        successes: number of successes, ``0 <= successes <= n``.
        n: number of trials. ``n == 0`` returns ``(0.0, 1.0)``: no data, no information.
        confidence: two-sided confidence level in (0, 1).

    Returns:
        ``(low, high)`` as fractions in [0, 1].
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    # The exact bounds at 0 and n are 0 and 1; clamp away rounding noise.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def two_proportion_test(s1: int, n1: int, s2: int, n2: int) -> tuple[float, float]:
    """One-sided pooled two-proportion z-test for a drop from sample 1 to sample 2.

    Sample 1 is the baseline, sample 2 the current run. H0: p2 = p1;
    H1: p2 < p1. ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with the pooled
    ``p = (s1 + s2) / (n1 + n2)``; ``p_one_sided = P(Z >= z) = erfc(z / sqrt 2) / 2``.
    A positive z means the current rate is lower.

    Degenerate cases carry no evidence of a drop and return ``(0.0, 1.0)``:
    ``n1 == 0`` or ``n2 == 0``, or a pooled rate of exactly 0 or 1 (both samples
    all failures or all successes).

    Returns:
        ``(z, p_one_sided)``.
    """
    for s, n in ((s1, n1), (s2, n2)):
        if n < 0 or s < 0 or s > n:
            raise ValueError(f"need 0 <= successes <= n, got successes={s}, n={n}")
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (s1 + s2) / (n1 + n2)
    if pooled <= 0.0 or pooled >= 1.0:
        return 0.0, 1.0
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    z = (s1 / n1 - s2 / n2) / se
    return z, 0.5 * math.erfc(z / math.sqrt(2.0))


# --------------------------------------------------------------------------- summaries


def _ordered_unique(values: Iterable[Any]) -> list[Any]:
    """Unique values in order of first appearance."""
    return list(dict.fromkeys(values))


def _as_bool(series: pd.Series) -> pd.Series:
    """Coerce a column of bools, 0/1 or 'True'/'False' strings to bool (missing -> False)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(bool)
    text = series.astype(str).str.strip().str.lower()
    return text.isin(("true", "1", "1.0", "yes"))


def _summarize_cell(cell: pd.DataFrame) -> dict[str, Any]:
    """Summary statistics of the episodes of one cell."""
    success = _as_bool(cell["success"])
    n = len(cell)
    successes = int(success.sum())
    low, high = wilson_interval(successes, n)
    times = pd.to_numeric(cell.loc[success, "time_to_success_s"], errors="coerce").dropna()
    reason = cell["reason"].fillna("").astype(str).str.strip() if "reason" in cell else None
    return {
        "n": n,
        "successes": successes,
        "success_rate": successes / n if n else math.nan,
        "ci_low": low,
        "ci_high": high,
        "median_time_to_success_s": float(times.median()) if len(times) else math.nan,
        "success_model_rate": float(_as_bool(cell["success_model"]).mean())
        if "success_model" in cell and n else math.nan,
        "mean_planning_time_s": float(pd.to_numeric(cell["planning_time_s"]).mean())
        if "planning_time_s" in cell and n else math.nan,
        "mean_iterations": float(pd.to_numeric(cell["iterations"]).mean())
        if "iterations" in cell and n else math.nan,
        "failures_by_error": int((reason != "").sum()) if reason is not None else 0,
    }


def summarize(episodes: pd.DataFrame) -> pd.DataFrame:
    """Summarize episodes per (env, planner, horizon) cell.

    Args:
        episodes: per-episode frame with at least ``env, planner, horizon, success,
            time_to_success_s``; the other :data:`EPISODE_COLUMNS` are used when present.

    Returns:
        One row per cell with :data:`SUMMARY_COLUMNS`. Rows are ordered by env and
        planner in order of first appearance and by increasing horizon within them.
    """
    missing = [c for c in (*CELL_KEYS, "success", "time_to_success_s") if c not in episodes]
    if missing:
        raise ValueError(f"episodes frame lacks columns {missing}")
    rows = []
    for key, cell in episodes.groupby(list(CELL_KEYS), sort=False):
        env, planner, horizon = key
        rows.append({"env": env, "planner": planner, "horizon": int(horizon),
                     **_summarize_cell(cell)})
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return _sort_cells(summary)


def _sort_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort cells by env (first appearance), planner (paper order first), then horizon."""
    if frame.empty:
        return frame.reset_index(drop=True)
    env_rank = {e: i for i, e in enumerate(_ordered_unique(frame["env"]))}
    planner_rank = {p: i for i, p in enumerate(planner_order(frame["planner"]))}
    order = frame.assign(
        _env=frame["env"].map(env_rank), _planner=frame["planner"].map(planner_rank)
    ).sort_values(["_env", "_planner", "horizon"], kind="stable")
    return frame.loc[order.index].reset_index(drop=True)


def anytime_curve(snapshots: pd.DataFrame, episodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fraction of episodes solved as a function of planner wall-clock time.

    An episode counts as solved at time ``t`` if any of its snapshots with
    ``elapsed_s <= t`` succeeded in the simulator. The denominator of a cell is its
    number of episodes in ``episodes`` (so episodes without any successful snapshot
    count as unsolved); without ``episodes`` it is the number of distinct episodes
    among the cell's snapshots.

    Returns:
        Step points with columns ``env, planner, horizon, elapsed_s, solved_fraction,
        n``: one row per distinct first-success time per cell, ``solved_fraction``
        being the value from that time on. Cells with no success have no rows.
    """
    columns = [*CELL_KEYS, "elapsed_s", "solved_fraction", "n"]
    if snapshots is None or snapshots.empty:
        return pd.DataFrame(columns=columns)
    hits = snapshots.loc[_as_bool(snapshots["success"])]
    first = hits.groupby([*CELL_KEYS, "episode"], sort=False)["elapsed_s"].min().reset_index()
    totals = _episode_counts(snapshots if episodes is None or episodes.empty else episodes)
    rows = []
    for key, cell in first.groupby(list(CELL_KEYS), sort=False):
        n = totals.get(_cell_key(key), 0) or int(cell["episode"].nunique())
        counts = cell["elapsed_s"].value_counts().sort_index().cumsum()
        for t, solved in counts.items():
            rows.append({"env": key[0], "planner": key[1], "horizon": int(key[2]),
                         "elapsed_s": float(t), "solved_fraction": solved / n, "n": n})
    return pd.DataFrame(rows, columns=columns)


def _cell_key(key: Sequence[Any]) -> tuple[str, str, int]:
    """Normalized (env, planner, horizon) key."""
    return str(key[0]), str(key[1]), int(key[2])


def _episode_counts(frame: pd.DataFrame) -> dict[tuple[str, str, int], int]:
    """Number of distinct episodes per cell."""
    counts = frame.groupby(list(CELL_KEYS), sort=False)["episode"].nunique()
    return {_cell_key(k): int(v) for k, v in counts.items()}


def solved_within(snapshots: pd.DataFrame, episodes: pd.DataFrame | None,
                  budgets_s: Sequence[float] = ANYTIME_BUDGETS_S) -> pd.DataFrame:
    """Solved fraction per cell at fixed wall-clock budgets (a table view of the anytime curve).

    Returns:
        One row per cell that has snapshots or episodes, columns ``env, planner, horizon``
        and one float column per budget named like ``"<=1s"``.
    """
    curve = anytime_curve(snapshots, episodes)
    source = episodes if episodes is not None and not episodes.empty else snapshots
    cells = _sort_cells(source[list(CELL_KEYS)].drop_duplicates()) if source is not None \
        else pd.DataFrame(columns=list(CELL_KEYS))
    rows = []
    for env, planner, horizon in cells.itertuples(index=False):
        mine = curve[(curve["env"] == env) & (curve["planner"] == planner)
                     & (curve["horizon"] == int(horizon))]
        row: dict[str, Any] = {"env": env, "planner": planner, "horizon": int(horizon)}
        for b in budgets_s:
            reached = mine.loc[mine["elapsed_s"] <= b, "solved_fraction"]
            row[f"<={b:g}s"] = float(reached.iloc[-1]) if len(reached) else 0.0
        rows.append(row)
    return pd.DataFrame(rows, columns=[*CELL_KEYS, *(f"<={b:g}s" for b in budgets_s)])


# --------------------------------------------------------------------------- tables


def format_seconds(seconds: float) -> str:
    """'8.5s' (one decimal from 1 s up, two significant digits below); '-' when NaN."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    return f"{seconds:.1f}s" if seconds >= 1.0 else f"{seconds:.2g}s"


def format_cell(rate: float, time_s: float, ci: tuple[float, float] | None = None) -> str:
    """Paper-format cell: ``"59.0% / 8.5s"``, or ``"59.0% [54.6, 63.3] / 8.5s"`` with a CI.

    ``rate`` and ``ci`` are fractions; the time shows ``"-"`` when NaN (no success).
    """
    text = f"{100.0 * rate:.1f}%"
    if ci is not None:
        text += f" [{100.0 * ci[0]:.1f}, {100.0 * ci[1]:.1f}]"
    return f"{text} / {format_seconds(time_s)}"


def planner_order(planners: Iterable[str],
                  planners_order: Sequence[str] | None = None) -> list[str]:
    """Present planners ordered by ``planners_order`` (default: the paper's), others after.

    Planners named in ``planners_order`` but absent from ``planners`` are skipped;
    planners not named keep their order of first appearance after the named ones.
    """
    present = _ordered_unique(planners)
    wanted = list(DEFAULT_PLANNER_ORDER if planners_order is None else planners_order)
    head = [p for p in wanted if p in present]
    return head + [p for p in present if p not in head]


def _single_env(summary: pd.DataFrame, env: str | None) -> pd.DataFrame:
    """Rows of one env: ``env`` if given, else the only env present."""
    if env is not None:
        rows = summary[summary["env"] == env]
        if rows.empty:
            raise ValueError(f"no summary rows for env {env!r}")
        return rows
    envs = _ordered_unique(summary["env"])
    if len(envs) > 1:
        raise ValueError(f"summary holds several envs {envs}; pass env= to choose one")
    return summary


def paper_table(summary: pd.DataFrame, planners_order: Sequence[str] | None = None, *,
                env: str | None = None, with_ci: bool = False) -> pd.DataFrame:
    """Paper-format table of strings: one row per horizon (index ``H``), one column per planner.

    Cells read ``"59.0% / 8.5s"`` (``"0.0% / -"`` with no success), or with
    ``with_ci=True`` ``"59.0% [54.6, 63.3] / 8.5s"``; cells not run are ``""``.
    ``env`` selects one env when the summary holds several (required then).
    """
    rows = _single_env(summary, env)
    planners = planner_order(rows["planner"], planners_order)
    horizons = sorted(int(h) for h in rows["horizon"].unique())
    table = pd.DataFrame("", index=pd.Index(horizons, name="H"), columns=planners, dtype=object)
    for r in rows.itertuples(index=False):
        ci = (r.ci_low, r.ci_high) if with_ci else None
        table.loc[int(r.horizon), r.planner] = format_cell(
            r.success_rate, r.median_time_to_success_s, ci)
    return table


def _best_planners(rows: pd.DataFrame) -> set[str]:
    """Planners with the highest success rate as displayed (0.1%); none if the best is 0."""
    shown = (100.0 * rows["success_rate"].astype(float)).round(1)
    if shown.empty or shown.max() <= 0.0:
        return set()
    return set(rows.loc[shown == shown.max(), "planner"])


def paper_table_markdown(summary: pd.DataFrame, planners_order: Sequence[str] | None = None,
                         *, env: str | None = None, with_ci: bool = False) -> str:
    """Markdown version of :func:`paper_table` with the best success per row in **bold**.

    "Best" is the highest success rate as displayed (rounded to 0.1%); ties are all
    bold and there is no tie-break on time. A row whose best rate is 0.0% has no bold.
    """
    rows = _single_env(summary, env)
    table = paper_table(rows, planners_order, with_ci=with_ci)
    for horizon in table.index:
        for planner in _best_planners(rows[rows["horizon"] == horizon]):
            table.loc[horizon, planner] = f"**{table.loc[horizon, planner]}**"
    return markdown_table(table.reset_index())


def markdown_table(frame: pd.DataFrame, floatfmt: str = "g") -> str:
    """A frame as a GitHub-flavoured Markdown table (no index), via tabulate."""
    return tabulate(frame.values.tolist(), headers=list(frame.columns), tablefmt="github",
                    floatfmt=floatfmt, missingval="-", disable_numparse=True)


def detail_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Human-readable per-cell detail table (strings) with Wilson CIs."""
    rows = []
    for r in summary.itertuples(index=False):
        rows.append({
            "env": r.env, "planner": r.planner, "H": int(r.horizon), "n": int(r.n),
            "success [95% CI]": f"{100 * r.success_rate:.1f}% "
                                f"[{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}]",
            "median TTS": format_seconds(r.median_time_to_success_s),
            "model success": _percent(r.success_model_rate),
            "mean plan time": format_seconds(r.mean_planning_time_s),
            "mean iters": "-" if not math.isfinite(r.mean_iterations)
            else f"{r.mean_iterations:.1f}",
            "errors": int(r.failures_by_error),
        })
    return pd.DataFrame(rows, columns=["env", "planner", "H", "n", "success [95% CI]",
                                       "median TTS", "model success", "mean plan time",
                                       "mean iters", "errors"])


def _percent(rate: float) -> str:
    """A fraction as '12.3%', '-' when NaN."""
    return "-" if rate is None or not math.isfinite(rate) else f"{100.0 * rate:.1f}%"


def _paper_ordered(summary: pd.DataFrame) -> pd.DataFrame:
    """Cells ordered by env (first appearance), planner (paper order), then horizon."""
    rank = {p: i for i, p in enumerate(planner_order(summary["planner"]))}
    env_rank = {e: i for i, e in enumerate(_ordered_unique(summary["env"]))}
    keys = summary.assign(_e=summary["env"].map(env_rank), _p=summary["planner"].map(rank))
    order = keys.sort_values(["_e", "_p", "horizon"], kind="stable").index
    return summary.loc[order].reset_index(drop=True)


def summary_markdown(summary: pd.DataFrame, snapshots: pd.DataFrame | None = None,
                     episodes: pd.DataFrame | None = None) -> str:
    """summary.md body: paper-format table per env, detail table, and anytime budgets."""
    parts = ["# Results", ""]
    for env in _ordered_unique(summary["env"]):
        parts += [f"## {env}: success / median time to success", "",
                  paper_table_markdown(summary, env=env), ""]
    parts += ["## Per-cell detail (95% Wilson intervals)", "",
              markdown_table(detail_table(_paper_ordered(summary))), ""]
    if snapshots is not None and not snapshots.empty:
        budgets = solved_within(snapshots, episodes)
        shown = budgets.rename(columns={"horizon": "H"})
        for col in shown.columns[3:]:
            shown[col] = shown[col].map(_percent)
        parts += ["## Solved within planner wall-clock budget (from snapshots)", "",
                  markdown_table(shown), ""]
    parts += ["TTS: median planner time to the first successful snapshot, over successful "
              "episodes.", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- atomic files


def _atomic_write(path: str | os.PathLike[str], write: Callable[[TextIO], None],
                  newline: str | None = None) -> Path:
    """Write a text file atomically: temp file in the same directory, fsync, ``os.replace``.

    On any error the temp file is removed and an existing ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
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


def write_summary(run_dir: str | os.PathLike[str], episodes: pd.DataFrame,
                  snapshots: pd.DataFrame | None = None) -> pd.DataFrame:
    """Write ``summary.csv`` and ``summary.md`` into ``run_dir``; return the summary frame."""
    run = Path(run_dir)
    summary = summarize(episodes)
    write_csv_atomic(summary, run / "summary.csv")
    write_text_atomic(summary_markdown(summary, snapshots, episodes), run / "summary.md")
    return summary


# --------------------------------------------------------------------------- metadata


def _git(args: Sequence[str], cwd: Path) -> str | None:
    """Output of a git command run in ``cwd``, or None when git or the repo is unavailable."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def _package_version(name: str) -> str:
    """Installed version of a distribution, or 'not installed'."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _grasp_bench_version() -> str:
    """Installed grasp-bench version, falling back to the package's ``__version__``."""
    version = _package_version("grasp-bench")
    if version == "not installed":
        from grasp_bench import __version__

        version = __version__
    return version


def _torch_info() -> dict[str, Any]:
    """torch, CUDA and cuDNN versions (torch imported lazily); 'not installed' without torch."""
    try:
        import torch
    except ImportError:
        return {"torch": "not installed", "cuda": None, "cudnn": None, "cuda_available": False}
    cudnn = None
    try:
        if torch.backends.cudnn.is_available():
            cudnn = torch.backends.cudnn.version()
    except Exception:  # a broken CUDA install must not break metadata
        cudnn = None
    return {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": cudnn,
            "cuda_available": bool(torch.cuda.is_available())}


def collect_meta(command: list[str], seeds: dict, device_name: str,
                 checkpoints: dict[str, str], extra: dict) -> dict:
    """Run metadata for meta.json.

    Keys: ``command`` (list) and ``command_line`` (joined), ``git_sha`` and
    ``git_dirty`` (of the repository holding this file; ``"unknown"`` when git or the
    repository is unavailable or has no commit), ``python``, ``platform``,
    ``versions`` (grasp-bench, torch, cuda, cudnn, numpy, pandas, gymnasium, pymunk),
    ``cuda_available``, ``device``, ``seeds``, ``checkpoints``, ``timestamp_utc``
    (ISO 8601) and ``extra`` (the caller's dict, unchanged).
    """
    repo = Path(__file__).resolve().parent
    sha = _git(["rev-parse", "HEAD"], repo)
    status = _git(["status", "--porcelain"], repo)
    torch_info = _torch_info()
    versions = {
        "grasp-bench": _grasp_bench_version(),
        "torch": torch_info["torch"], "cuda": torch_info["cuda"], "cudnn": torch_info["cudnn"],
        **{name: _package_version(name) for name in ("numpy", "pandas", "gymnasium", "pymunk")},
    }
    return {
        "command": list(command),
        "command_line": shlex.join(command),
        "git_sha": sha.strip() if sha else "unknown",
        "git_dirty": bool(status.strip()) if status is not None else "unknown",
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions,
        "cuda_available": torch_info["cuda_available"],
        "device": device_name,
        "seeds": dict(seeds),
        "checkpoints": dict(checkpoints),
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "extra": dict(extra),
    }


# --------------------------------------------------------------------------- baselines


def load_summary(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a summary.csv (also the baseline format) and check its columns."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"summary file not found: {file}")
    frame = pd.read_csv(file)
    missing = [c for c in (*CELL_KEYS, "n", "successes", "success_rate") if c not in frame]
    if missing:
        raise UserError(f"{file} is not a summary.csv: missing columns {missing}")
    return frame.astype({"horizon": int, "n": int, "successes": int})


def compare_to_baseline(current_summary: pd.DataFrame, baseline_summary: pd.DataFrame,
                        alpha: float = 0.05) -> pd.DataFrame:
    """Flag cells whose success rate dropped significantly below a baseline.

    For each baseline cell present in the current summary, runs
    :func:`two_proportion_test` (baseline = sample 1). ``drop`` is True when
    ``p_value < alpha`` and the current rate is below the baseline's. Baseline cells
    absent from the current summary get ``status == "missing"`` (current values and
    test NaN, ``drop`` False). Current cells absent from the baseline are not listed.

    Returns:
        Columns ``env, planner, horizon, baseline_n, baseline_successes, baseline_rate,
        current_n, current_successes, current_rate, z, p_value, drop, status`` with
        ``status`` one of ``"ok"``, ``"drop"``, ``"missing"``; baseline row order.
    """
    current = {_cell_key(k): r for k, r in
               current_summary.set_index(list(CELL_KEYS)).iterrows()}
    rows = []
    for r in baseline_summary.itertuples(index=False):
        key = _cell_key((r.env, r.planner, r.horizon))
        row: dict[str, Any] = {"env": key[0], "planner": key[1], "horizon": key[2],
                               "baseline_n": int(r.n), "baseline_successes": int(r.successes),
                               "baseline_rate": float(r.successes) / r.n if r.n else math.nan}
        cur = current.get(key)
        if cur is None:
            row.update(current_n=math.nan, current_successes=math.nan, current_rate=math.nan,
                       z=math.nan, p_value=math.nan, drop=False, status="missing")
        else:
            n2, s2 = int(cur["n"]), int(cur["successes"])
            z, p = two_proportion_test(int(r.successes), int(r.n), s2, n2)
            rate = s2 / n2 if n2 else math.nan
            drop = bool(p < alpha and rate < row["baseline_rate"])
            row.update(current_n=n2, current_successes=s2, current_rate=rate, z=z,
                       p_value=p, drop=drop, status="drop" if drop else "ok")
        rows.append(row)
    return pd.DataFrame(rows, columns=[
        *CELL_KEYS, "baseline_n", "baseline_successes", "baseline_rate", "current_n",
        "current_successes", "current_rate", "z", "p_value", "drop", "status"])


# --------------------------------------------------------------------------- loading


def _read_results_csv(path: Path, string_columns: Sequence[str],
                      bool_columns: Sequence[str]) -> pd.DataFrame:
    """Read a results CSV keeping string columns verbatim ('' stays '') and typing the rest."""
    header = pd.read_csv(path, nrows=0).columns
    na = {c: ["", "nan", "NaN"] for c in header if c not in string_columns}
    frame = pd.read_csv(path, keep_default_na=False, na_values=na,
                        dtype={c: str for c in string_columns if c in header})
    for col in bool_columns:
        if col in frame:
            frame[col] = _as_bool(frame[col])
    for col in _INT_COLUMNS:
        if col in frame and frame[col].notna().all():
            frame[col] = frame[col].astype(int)
    return frame


def read_csv_cells(paths: Sequence[str | os.PathLike[str]],
                   columns: Sequence[str]) -> pd.DataFrame:
    """Concatenate per-cell CSV files (episodes or snapshots) into one typed frame.

    Columns are put in the order of ``columns`` (missing ones are filled with NaN);
    string columns keep ``""`` verbatim, ``success``/``success_model`` become bool.
    No paths gives an empty frame with ``columns``.
    """
    frames = [_read_results_csv(Path(p), _STRING_EPISODE_COLUMNS, _BOOL_COLUMNS)
              for p in paths]
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
        episodes = _load_episodes(episodes_file)
    elif not require_episodes and meta_file.is_file():
        episodes = pd.DataFrame(columns=list(EPISODE_COLUMNS))
    else:
        wanted = "episodes.csv" if require_episodes else "episodes.csv or meta.json"
        raise UserError(f"not a run directory (no {wanted}): {run}")
    snapshots_file = run / "snapshots.csv"
    if snapshots_file.is_file():
        snapshots = _read_results_csv(snapshots_file, ("env", "planner"), ("success",))
    else:
        snapshots = pd.DataFrame(columns=list(SNAPSHOT_COLUMNS))
    return episodes, snapshots, _load_meta(meta_file)


def _load_episodes(path: Path) -> pd.DataFrame:
    """Read and check a run's episodes.csv."""
    try:
        episodes = _read_results_csv(path, _STRING_EPISODE_COLUMNS, _BOOL_COLUMNS)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"unreadable {path}: {str(err).splitlines()[0]}") from err
    missing = [c for c in (*CELL_KEYS, "episode", "success") if c not in episodes]
    if missing:
        raise UserError(f"{path} lacks columns {missing}; not a grasp-bench episodes file")
    return episodes


def _load_meta(path: Path) -> dict:
    """meta.json as a dict ({} when absent); ValueError when it is not a JSON object."""
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"invalid JSON in {path}: {err}") from err
    if not isinstance(meta, dict):
        raise UserError(f"{path} does not hold a JSON object")
    return meta
