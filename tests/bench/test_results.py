"""Tests for grasp_bench.results: statistics, summaries, tables, files, metadata, loading."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grasp_bench import results
from grasp_bench.errors import UserError
from grasp_bench.results import (
    EPISODE_COLUMNS,
    SNAPSHOT_COLUMNS,
    SUMMARY_COLUMNS,
    anytime_curve,
    collect_meta,
    compare_to_baseline,
    format_cell,
    load_run,
    load_summary,
    paper_table,
    paper_table_markdown,
    read_csv_cells,
    summarize,
    two_proportion_test,
    wilson_interval,
    write_csv_atomic,
    write_json_atomic,
    write_summary,
    write_text_atomic,
)


def make_episodes(cells: dict[tuple[str, str, int], list[tuple[bool, float]]]) -> pd.DataFrame:
    """Synthetic episodes frame: per cell a list of (success, time_to_success_s)."""
    rows = []
    for (env, planner, horizon), outcomes in cells.items():
        for i, (ok, t) in enumerate(outcomes):
            rows.append({
                "env": env, "layout": "", "model": "mlp", "model_sha256": "abc",
                "planner": planner, "horizon": horizon, "episode": i, "seed": 100 + i,
                "success": ok, "success_model": True,
                "time_to_success_s": t if ok else math.nan, "planning_time_s": 2.0 * (i + 1),
                "iterations": 10 * (i + 1), "model_error": 0.1, "real_error": 5.0,
                "batch_size": len(outcomes), "device": "cpu", "reason": "",
            })
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))


def summary_row(planner: str, horizon: int, successes: int, n: int, time_s: float,
                env: str = "grasp_bench/PushT-v0") -> dict:
    """One summary row with consistent rate and Wilson CI."""
    low, high = wilson_interval(successes, n)
    return {"env": env, "planner": planner, "horizon": horizon, "n": n, "successes": successes,
            "success_rate": successes / n, "ci_low": low, "ci_high": high,
            "median_time_to_success_s": time_s, "success_model_rate": 1.0,
            "mean_planning_time_s": 1.0, "mean_iterations": 10.0, "failures_by_error": 0}


def wilson_reference(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson interval from the textbook formula, computed independently."""
    p = k / n
    centre = (2 * n * p + z**2) / (2 * (n + z**2))
    half = z * math.sqrt(z**2 + 4 * n * p * (1 - p)) / (2 * (n + z**2))
    return centre - half, centre + half


# --------------------------------------------------------------------------- statistics


def test_wilson_published_value() -> None:
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4)
    assert high == pytest.approx(0.7634, abs=1e-4)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (5, 10), (10, 10), (59, 100), (295, 500)])
def test_wilson_matches_formula(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    ref_low, ref_high = wilson_reference(k, n)
    assert low == pytest.approx(max(0.0, ref_low), abs=1e-9)
    assert high == pytest.approx(min(1.0, ref_high), abs=1e-9)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_edges() -> None:
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    narrow, wide = wilson_interval(5, 10, 0.5), wilson_interval(5, 10, 0.99)
    assert wide[0] < narrow[0] and narrow[1] < wide[1]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_two_proportion_flags_drop() -> None:
    z, p = two_proportion_test(90, 100, 40, 100)
    assert z > 7 and p < 1e-6


def test_two_proportion_no_drop() -> None:
    z, p = two_proportion_test(50, 100, 50, 100)
    assert z == 0.0 and p == pytest.approx(0.5)
    z, p = two_proportion_test(40, 100, 90, 100)  # an increase is no drop
    assert z < 0 and p > 0.99


def test_two_proportion_known_value() -> None:
    # p1 = .6, p2 = .5, pooled .55, se = sqrt(.55 * .45 * .02) -> z = 1.4213
    z, p = two_proportion_test(60, 100, 50, 100)
    assert z == pytest.approx(1.42134, abs=1e-4)
    assert p == pytest.approx(0.07761, abs=1e-4)


@pytest.mark.parametrize("args", [(0, 0, 5, 10), (5, 10, 0, 0), (0, 50, 0, 50), (50, 50, 20, 20)])
def test_two_proportion_degenerate(args: tuple[int, int, int, int]) -> None:
    assert two_proportion_test(*args) == (0.0, 1.0)


# --------------------------------------------------------------------------- summaries


def test_summarize_counts_and_medians() -> None:
    episodes = make_episodes({
        ("env", "grasp", 40): [(True, 1.0), (True, 3.0), (False, 0.0), (True, 2.0)],
        ("env", "cem", 40): [(False, 0.0), (False, 0.0)],
        ("env", "grasp", 60): [(True, 4.0), (True, 6.0)],
    })
    episodes.loc[5, "reason"] = "nan plan"
    summary = summarize(episodes)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert list(zip(summary.planner, summary.horizon, strict=True)) == [  # paper order
        ("cem", 40), ("grasp", 40), ("grasp", 60)]
    grasp40 = summary.iloc[1]
    assert (grasp40.n, grasp40.successes) == (4, 3)
    assert grasp40.success_rate == pytest.approx(0.75)
    assert grasp40.median_time_to_success_s == pytest.approx(2.0)
    assert (grasp40.ci_low, grasp40.ci_high) == pytest.approx(wilson_interval(3, 4))
    assert grasp40.mean_planning_time_s == pytest.approx(5.0)
    assert grasp40.mean_iterations == pytest.approx(25.0)
    assert summary.iloc[2].median_time_to_success_s == pytest.approx(5.0)
    cem = summary.iloc[0]
    assert cem.successes == 0 and math.isnan(cem.median_time_to_success_s)
    assert cem.failures_by_error == 1 and grasp40.failures_by_error == 0


def test_summarize_ignores_time_of_failed_episodes() -> None:
    episodes = make_episodes({("env", "gd", 50): [(True, 1.0), (False, 0.0)]})
    episodes.loc[1, "time_to_success_s"] = 100.0  # a snapshot succeeded, returned plan did not
    assert summarize(episodes).iloc[0].median_time_to_success_s == pytest.approx(1.0)


def test_anytime_curve_counts_first_success() -> None:
    snaps = pd.DataFrame([
        ("e", "grasp", 40, 0, 1, 0.5, False, 9.0),
        ("e", "grasp", 40, 0, 2, 1.0, True, 1.0),
        ("e", "grasp", 40, 0, 3, 2.0, True, 1.0),
        ("e", "grasp", 40, 1, 1, 0.5, True, 1.0),
        ("e", "grasp", 40, 2, 1, 0.5, False, 9.0),
    ], columns=list(SNAPSHOT_COLUMNS))
    episodes = make_episodes({("e", "grasp", 40): [(True, 1.0), (True, 0.5), (False, 0),
                                                   (False, 0)]})
    curve = anytime_curve(snaps, episodes)
    assert curve.elapsed_s.tolist() == [0.5, 1.0]
    assert curve.solved_fraction.tolist() == pytest.approx([0.25, 0.5])
    assert anytime_curve(snaps).solved_fraction.tolist() == pytest.approx([1 / 3, 2 / 3])


# --------------------------------------------------------------------------- tables


def paper_like_summary() -> pd.DataFrame:
    return pd.DataFrame([
        summary_row("grasp", 40, 295, 500, 8.5),
        summary_row("cem", 40, 307, 500, 35.3),
        summary_row("gd", 40, 255, 500, 18.0),
        summary_row("latco", 40, 0, 500, math.nan),
        summary_row("grasp", 50, 217, 500, 15.2),
        summary_row("cem", 50, 217, 500, 96.2),
        summary_row("latco", 50, 21, 500, 1114.7),
    ])


def test_format_cell() -> None:
    assert format_cell(0.59, 8.5) == "59.0% / 8.5s"
    assert format_cell(0.0, math.nan) == "0.0% / -"
    assert format_cell(0.59, 8.5, (0.546, 0.633)) == "59.0% [54.6, 63.3] / 8.5s"
    assert format_cell(1.0, 0.034) == "100.0% / 0.034s"


def test_paper_table_layout() -> None:
    table = paper_table(paper_like_summary())
    assert table.index.name == "H" and table.index.tolist() == [40, 50]
    assert table.columns.tolist() == ["cem", "gd", "latco", "grasp"]
    assert table.loc[40, "grasp"] == "59.0% / 8.5s"
    assert table.loc[40, "latco"] == "0.0% / -"
    assert table.loc[50, "gd"] == ""  # not run
    assert paper_table(paper_like_summary(), ["grasp", "cem"]).columns.tolist() == [
        "grasp", "cem", "gd", "latco"]
    ci = paper_table(paper_like_summary(), with_ci=True)
    assert ci.loc[40, "grasp"].startswith("59.0% [") and ci.loc[40, "grasp"].endswith("/ 8.5s")


def test_paper_table_markdown_bolds_best_and_ties() -> None:
    md = paper_table_markdown(paper_like_summary())
    lines = md.splitlines()
    assert lines[0].replace(" ", "") == "|H|cem|gd|latco|grasp|"
    row40 = next(line for line in lines if line.startswith("| 40"))
    assert "**61.4% / 35.3s**" in row40 and row40.count("**") == 2
    row50 = next(line for line in lines if line.startswith("| 50"))
    assert "**43.4% / 96.2s**" in row50 and "**43.4% / 15.2s**" in row50  # tie: both bold


def test_paper_table_no_bold_when_all_zero() -> None:
    summary = pd.DataFrame([summary_row("cem", 70, 0, 10, math.nan),
                            summary_row("gd", 70, 0, 10, math.nan)])
    assert "**" not in paper_table_markdown(summary)


def test_paper_table_needs_env_when_several() -> None:
    summary = pd.DataFrame([summary_row("cem", 40, 1, 2, 1.0, env="a"),
                            summary_row("cem", 40, 1, 2, 1.0, env="b")])
    with pytest.raises(ValueError, match="env="):
        paper_table(summary)
    assert paper_table(summary, env="b").shape == (1, 1)


# --------------------------------------------------------------------------- atomic files


def test_atomic_writers_roundtrip(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    write_csv_atomic(df, tmp_path / "sub" / "t.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sub" / "t.csv"), df,
                                  check_dtype=False)
    write_text_atomic("héllo\n", tmp_path / "t.md")
    assert (tmp_path / "t.md").read_text(encoding="utf-8") == "héllo\n"
    write_json_atomic({"p": Path("x"), "n": 1}, tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text()) == {"p": "x", "n": 1}
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub", "t.csv", "t.json", "t.md"]


def test_atomic_csv_failure_keeps_old_file(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "episodes.csv"
    target.write_text("old,content\n1,2\n")

    def half_write(self: pd.DataFrame, fh, **kwargs) -> None:
        fh.write("a,b\n1,")
        raise RuntimeError("killed midway")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_write)
    with pytest.raises(RuntimeError, match="killed midway"):
        write_csv_atomic(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "old,content\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["episodes.csv"]


def test_atomic_text_failure_on_replace(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "summary.md"
    target.write_text("old")

    def broken_replace(src, dst) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic("new", target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


def test_write_summary_files(tmp_path: Path) -> None:
    episodes = make_episodes({("grasp_bench/PushT-v0", "grasp", 40): [(True, 1.5), (False, 0)],
                              ("grasp_bench/PushT-v0", "cem", 40): [(True, 3.0), (True, 4.0)]})
    summary = write_summary(tmp_path, episodes, None)
    assert len(summary) == 2
    md = (tmp_path / "summary.md").read_text()
    assert "**100.0% / 3.5s**" in md and "50.0% [" in md
    pd.testing.assert_frame_equal(load_summary(tmp_path / "summary.csv"), summary,
                                  check_dtype=False)


# --------------------------------------------------------------------------- baselines


def test_compare_to_baseline_flags_drop_and_missing(tmp_path: Path) -> None:
    baseline = pd.DataFrame([summary_row("grasp", 40, 90, 100, 1.0),
                             summary_row("cem", 40, 50, 100, 1.0),
                             summary_row("gd", 40, 50, 100, 1.0)])
    write_csv_atomic(baseline, tmp_path / "baseline.csv")
    current = pd.DataFrame([summary_row("grasp", 40, 40, 100, 1.0),
                            summary_row("cem", 40, 60, 100, 1.0),
                            summary_row("latco", 40, 5, 100, 1.0)])
    cmp = compare_to_baseline(current, load_summary(tmp_path / "baseline.csv"))
    by = cmp.set_index("planner")
    assert by.loc["grasp", "drop"] and by.loc["grasp", "status"] == "drop"
    assert by.loc["grasp", "p_value"] < 1e-6
    assert not by.loc["cem", "drop"] and by.loc["cem", "status"] == "ok"
    assert by.loc["gd", "status"] == "missing" and not by.loc["gd", "drop"]
    assert "latco" not in by.index


def test_compare_identical_is_not_drop() -> None:
    summary = pd.DataFrame([summary_row("grasp", 40, 59, 100, 1.0)])
    cmp = compare_to_baseline(summary, summary)
    assert not cmp["drop"].any() and cmp.p_value.iloc[0] == pytest.approx(0.5)


# --------------------------------------------------------------------------- metadata


def test_collect_meta_fields() -> None:
    meta = collect_meta(["grasp-bench", "run", "--horizon", "60"], {"problems": 0}, "cpu",
                        {"pusht": "deadbeef"}, {"note": "x"})
    assert meta["command_line"] == "grasp-bench run --horizon 60"
    assert meta["device"] == "cpu" and meta["seeds"] == {"problems": 0}
    assert meta["checkpoints"] == {"pusht": "deadbeef"} and meta["extra"] == {"note": "x"}
    assert set(meta["versions"]) >= {"grasp-bench", "torch", "numpy", "pandas", "gymnasium",
                                     "pymunk", "cuda", "cudnn"}
    assert meta["versions"]["pandas"] == pd.__version__
    assert meta["git_sha"] == "unknown" or len(meta["git_sha"]) == 40
    assert meta["git_dirty"] in (True, False, "unknown")
    assert meta["timestamp_utc"].endswith("+00:00")
    json.dumps(meta, default=str)


def test_collect_meta_without_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "_git", lambda args, cwd: None)
    meta = collect_meta([], {}, "cpu", {}, {})
    assert meta["git_sha"] == "unknown" and meta["git_dirty"] == "unknown"


# --------------------------------------------------------------------------- loading


def test_load_run_roundtrip(tmp_path: Path) -> None:
    episodes = make_episodes({("grasp_bench/BallNav-v0", "gd", 40): [(True, 1.0), (False, 0)]})
    episodes.loc[1, "reason"] = "nan plan"
    episodes["layout"] = "None"
    write_csv_atomic(episodes, tmp_path / "episodes.csv")
    write_json_atomic({"command": ["x"]}, tmp_path / "meta.json")
    loaded, snaps, meta = load_run(tmp_path)
    assert loaded.columns.tolist() == list(EPISODE_COLUMNS)
    assert loaded.success.dtype == bool and loaded.success.tolist() == [True, False]
    assert loaded.reason.tolist() == ["", "nan plan"]
    assert loaded.layout.tolist() == ["None", "None"]
    assert np.isnan(loaded.time_to_success_s.iloc[1])
    assert snaps.empty and snaps.columns.tolist() == list(SNAPSHOT_COLUMNS)
    assert meta == {"command": ["x"]}
    pd.testing.assert_frame_equal(summarize(loaded), summarize(episodes), check_dtype=False)


def test_load_run_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a run directory") as err:
        load_run(tmp_path)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="not a run directory"):
        load_run(tmp_path / "nope")
    (tmp_path / "episodes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks columns"):
        load_run(tmp_path)
    with pytest.raises(ValueError, match="not a summary.csv"):
        load_summary(tmp_path / "episodes.csv")


def test_load_run_without_episodes_when_allowed(tmp_path: Path) -> None:
    write_json_atomic({"extra": {"options": {}}}, tmp_path / "meta.json")
    with pytest.raises(UserError, match="no episodes.csv"):
        load_run(tmp_path)
    episodes, snaps, meta = load_run(tmp_path, require_episodes=False)
    assert episodes.empty and episodes.columns.tolist() == list(EPISODE_COLUMNS)
    assert snaps.empty and meta == {"extra": {"options": {}}}
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="episodes.csv or meta.json"):
        load_run(tmp_path / "empty", require_episodes=False)


def test_read_csv_cells_concatenates_typed(tmp_path: Path) -> None:
    a = make_episodes({("e", "grasp", 40): [(True, 1.0), (False, 0)]})
    b = make_episodes({("e", "cem", 40): [(False, 0)]})
    b.loc[0, "reason"] = "nan plan"
    write_csv_atomic(a, tmp_path / "grasp-H40.episodes.csv")
    write_csv_atomic(b, tmp_path / "cem-H40.episodes.csv")
    write_csv_atomic(a.iloc[0:0], tmp_path / "gd-H40.episodes.csv")
    paths = sorted(tmp_path.glob("*.episodes.csv"))
    both = read_csv_cells(paths, EPISODE_COLUMNS)
    assert both.columns.tolist() == list(EPISODE_COLUMNS) and len(both) == 3
    assert both.success.dtype == bool and both.reason.tolist() == ["nan plan", "", ""]
    empty = read_csv_cells([], SNAPSHOT_COLUMNS)
    assert empty.empty and empty.columns.tolist() == list(SNAPSHOT_COLUMNS)
