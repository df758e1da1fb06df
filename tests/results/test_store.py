"""Atomic writes, reading cells back, and loading run directories."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grasp_bench.errors import UserError
from grasp_bench.results import (
    EPISODE_COLUMNS,
    SNAPSHOT_COLUMNS,
    load_run,
    read_csv_cells,
    store,
    success_column,
    summarize,
    tts_column,
    write_csv_atomic,
    write_json_atomic,
    write_npz_atomic,
    write_text_atomic,
)
from tests.results.conftest import make_episodes


def mixed_episodes() -> pd.DataFrame:
    frame = make_episodes({("open", "grasp", 40): [{"model": 1.0, "executed": None},
                                                  {"model": None, "executed": None}],
                           ("mpc", "cem", 40): [{"mpc": 2.5}]})
    frame.loc[1, "reason"] = "nan plan"
    frame["layout"] = ["NA", "", "None"]
    return frame


class ExplodingFrame(pd.DataFrame):
    def to_csv(self, path_or_buf=None, **kwargs):  # type: ignore[override]
        path_or_buf.write("a,b\n1,")
        raise RuntimeError("killed midway")


def test_csv_write_failure_keeps_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "episodes.csv"
    target.write_text("old,content\n1,2\n")
    with pytest.raises(RuntimeError, match="killed midway"):
        write_csv_atomic(ExplodingFrame({"a": [1]}), target)
    assert target.read_text() == "old,content\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["episodes.csv"]  # no temp file left


def test_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_csv_atomic(pd.DataFrame({"a": [1]}), tmp_path / "sub" / "t.csv")
        write_text_atomic("héllo\n", tmp_path / "t.md")
        write_json_atomic({"p": Path("x"), "n": 1}, tmp_path / "t.json")
    finally:
        os.umask(old)
    for name in ("sub/t.csv", "t.md", "t.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert (tmp_path / "t.md").read_text(encoding="utf-8") == "héllo\n"
    assert json.loads((tmp_path / "t.json").read_text()) == {"p": "x", "n": 1}


def test_read_csv_cells_round_trips(tmp_path: Path) -> None:
    frame = mixed_episodes()
    write_csv_atomic(frame, tmp_path / "cell.episodes.csv")
    back = read_csv_cells([tmp_path / "cell.episodes.csv"], EPISODE_COLUMNS)
    assert back.columns.tolist() == list(EPISODE_COLUMNS)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert back[success_column("mpc")].isna().tolist() == [True, True, False]
    assert back[success_column("model")].tolist()[:2] == [True, False]
    assert back[success_column("model")].dtype == "boolean"
    assert back[tts_column("executed")].isna().all()
    assert back["layout"].tolist() == ["NA", "", "None"]  # strings verbatim
    assert back["reason"].tolist() == ["", "nan plan", ""]
    pd.testing.assert_frame_equal(summarize(back), summarize(frame), check_dtype=False)


def test_read_csv_cells_concatenates(tmp_path: Path) -> None:
    frame = mixed_episodes()
    write_csv_atomic(frame.iloc[:2], tmp_path / "a.csv")
    write_csv_atomic(frame.iloc[2:], tmp_path / "b.csv")  # mpc only: model cells all empty
    write_csv_atomic(frame.iloc[0:0], tmp_path / "c.csv")
    both = read_csv_cells([tmp_path / n for n in ("a.csv", "b.csv", "c.csv")],
                          EPISODE_COLUMNS)
    pd.testing.assert_frame_equal(both, frame, check_dtype=False)
    empty = read_csv_cells([], SNAPSHOT_COLUMNS)
    assert empty.empty and empty.columns.tolist() == list(SNAPSHOT_COLUMNS)


def test_load_run_round_trips(tmp_path: Path) -> None:
    frame = mixed_episodes()
    write_csv_atomic(frame, tmp_path / "episodes.csv")
    write_json_atomic({"command": ["x"]}, tmp_path / "meta.json")
    episodes, snapshots, meta = load_run(tmp_path)
    pd.testing.assert_frame_equal(episodes, frame, check_dtype=False)
    assert snapshots.empty and snapshots.columns.tolist() == list(SNAPSHOT_COLUMNS)
    assert meta == {"command": ["x"]}


def test_load_run_refuses_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a run directory"):
        load_run(tmp_path / "nope")
    with pytest.raises(UserError, match="no episodes.csv"):
        load_run(tmp_path)
    write_json_atomic({}, tmp_path / "meta.json")
    episodes, _, meta = load_run(tmp_path, require_episodes=False)
    assert episodes.empty and episodes.columns.tolist() == list(EPISODE_COLUMNS) and meta == {}


def test_load_run_refuses_episodes_of_another_format(tmp_path: Path) -> None:
    # the format before modes: one success column, no mode
    old = pd.DataFrame({"env": ["e"], "planner": ["gd"], "horizon": [40], "episode": [0],
                        "success": [True], "time_to_success_s": [1.0]})
    write_csv_atomic(old, tmp_path / "episodes.csv")
    with pytest.raises(UserError, match=r"lacks columns \['mode'\]") as err:
        load_run(tmp_path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("content", [
    b"env,mode,planner,horizon,episode\ne,open,gd,40,0\ne,open,gd,40,1,x,y\n",  # ragged
    b"\xff\xfe\x00\x81not utf-8\n",
    b"",
    b"env,mode,planner,horizon,episode\ne,open,gd,forty,0\n",
])
def test_load_run_refuses_unreadable_csv(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "episodes.csv").write_bytes(content)
    with pytest.raises(UserError, match="unreadable") as err:
        load_run(tmp_path)
    assert "\n" not in str(err.value)


def test_load_run_refuses_bad_meta_and_snapshots(tmp_path: Path) -> None:
    write_csv_atomic(mixed_episodes(), tmp_path / "episodes.csv")
    (tmp_path / "meta.json").write_text("[1, 2]")
    with pytest.raises(UserError, match="JSON object"):
        load_run(tmp_path)
    (tmp_path / "meta.json").write_text("{")
    with pytest.raises(UserError, match="invalid JSON"):
        load_run(tmp_path)
    (tmp_path / "meta.json").unlink()
    write_csv_atomic(pd.DataFrame({"env": ["e"]}), tmp_path / "snapshots.csv")
    with pytest.raises(UserError, match="snapshots"):
        load_run(tmp_path)


def _damaged(frame: pd.DataFrame, how: str) -> bytes:
    """``frame`` as CSV bytes, damaged in its second data row (file row 3) or at its end."""
    frame = frame.astype(object)
    if how == "text-in-number":
        frame.loc[1, "planning_time_s"] = "fast"
    elif how == "flag-not-boolean":
        frame.loc[1, success_column("executed")] = "maybe"
    elif how == "infinite-time":
        frame.loc[1, "planning_time_s"] = math.inf
    elif how == "negative-time":
        frame.loc[1, tts_column("model")] = -1.0
    elif how == "fractional-horizon":
        frame.loc[1, "horizon"] = 40.5
    elif how == "zero-horizon":
        frame.loc[1, "horizon"] = 0
    elif how == "missing-horizon":
        frame.loc[1, "horizon"] = ""
    elif how == "negative-episode":
        frame.loc[1, "episode"] = -1
    elif how == "fractional-episode":
        frame.loc[1, "episode"] = 1.5
    text = frame.to_csv(index=False)
    lines = text.splitlines(keepends=True)
    if how == "cut-mid-row":
        return (text[: len(text) - len(lines[-1]) // 2]).encode()  # half the last row
    if how == "extra-field":
        lines[2] = lines[2].rstrip("\n") + ",surplus\n"
    if how == "extra-field-every-row":  # pandas would take the first column as the index
        lines = [lines[0]] + [ln.rstrip("\n") + ",surplus\n" for ln in lines[1:]]
    if how == "no-final-newline":
        lines[-1] = lines[-1].rstrip("\n")
    return "".join(lines).encode()


@pytest.mark.parametrize(("how", "row"), [
    ("cut-mid-row", 4), ("extra-field", 3), ("extra-field-every-row", 2),
    ("no-final-newline", 4), ("text-in-number", 3), ("flag-not-boolean", 3),
    ("infinite-time", 3), ("negative-time", 3), ("fractional-horizon", 3),
    ("zero-horizon", 3), ("missing-horizon", 3), ("negative-episode", 3),
    ("fractional-episode", 3),
])
def test_results_csv_damaged_past_its_header_is_refused_naming_file_and_row(
        tmp_path: Path, how: str, row: int) -> None:
    (tmp_path / "episodes.csv").write_bytes(_damaged(mixed_episodes(), how))
    with pytest.raises(UserError, match=rf"episodes\.csv: row {row}\b") as err:
        load_run(tmp_path)
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match=rf"row {row}\b"):  # cell files are read the same way
        read_csv_cells([tmp_path / "episodes.csv"], EPISODE_COLUMNS)


def test_results_csv_accepts_empty_flags_and_times(tmp_path: Path) -> None:
    frame = mixed_episodes()  # unmeasured metrics: empty flags; failures: empty times
    write_csv_atomic(frame, tmp_path / "episodes.csv")
    assert len(load_run(tmp_path)[0]) == len(frame)


def test_a_row_cut_off_at_the_end_of_a_long_file_is_said_cut_off(tmp_path: Path) -> None:
    """Past row 256 too (row numbers are not small cached ints there)."""
    frame = make_episodes({("open", "gd", 40): [{"model": 1.0, "executed": None}] * 300})
    text = frame.to_csv(index=False)
    last = text.splitlines(keepends=True)[-1]
    (tmp_path / "episodes.csv").write_text(text[: len(text) - len(last) // 2])
    with pytest.raises(UserError, match=r"episodes\.csv: row 301 has \d+ fields, the header "
                                        r"\d+ \(cut off mid-row\)$"):
        load_run(tmp_path)


def test_a_short_row_before_the_last_is_not_said_cut_off(tmp_path: Path) -> None:
    lines = mixed_episodes().to_csv(index=False).splitlines(keepends=True)
    lines[2] = ",".join(lines[2].split(",")[:5]) + "\n"  # 5 fields, and an end of line
    (tmp_path / "episodes.csv").write_text("".join(lines))
    with pytest.raises(UserError, match=r"episodes\.csv: row 3 has 5 fields") as err:
        load_run(tmp_path)
    assert "cut off" not in str(err.value)


def test_results_csv_reads_every_spelling_of_a_flag(tmp_path: Path) -> None:
    frame = mixed_episodes().astype({success_column("model"): object,
                                     success_column("mpc"): object})
    frame[success_column("model")] = ["Yes", " no", ""]
    frame[success_column("mpc")] = ["", "0.0", "1"]
    write_csv_atomic(frame, tmp_path / "cell.csv")
    back = read_csv_cells([tmp_path / "cell.csv"], EPISODE_COLUMNS)
    assert back[success_column("model")].tolist() == [True, False, pd.NA]
    assert back[success_column("mpc")].tolist() == [pd.NA, False, True]


def test_writes_create_missing_parent_directories(tmp_path: Path) -> None:
    write_text_atomic("deep\n", tmp_path / "a" / "b" / "c" / "t.md")
    assert (tmp_path / "a" / "b" / "c" / "t.md").read_text() == "deep\n"


def test_npz_round_trips(tmp_path: Path) -> None:
    write_npz_atomic({"x": np.arange(6).reshape(2, 3), "y": np.array([0.5])},
                     tmp_path / "sub" / "a.npz")
    with np.load(tmp_path / "sub" / "a.npz") as back:
        assert back["x"].tolist() == [[0, 1, 2], [3, 4, 5]] and back["y"].tolist() == [0.5]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.npz"]


def test_results_csv_accepts_horizon_one_and_odd_horizons(tmp_path: Path) -> None:
    frame = make_episodes({("open", "gd", 1): [{"model": 1.0, "executed": None}],
                           ("open", "gd", 41): [{"model": None, "executed": None}]})
    write_csv_atomic(frame, tmp_path / "episodes.csv")
    assert load_run(tmp_path)[0]["horizon"].tolist() == [1, 41]


def test_results_csv_integer_columns_written_as_floats_read_as_ints(tmp_path: Path) -> None:
    frame = mixed_episodes().astype({"horizon": float, "episode": float})  # 40.0, 0.0, ...
    write_csv_atomic(frame, tmp_path / "episodes.csv")
    assert "40.0" in (tmp_path / "episodes.csv").read_text()
    episodes = load_run(tmp_path)[0]
    for col in ("horizon", "episode"):
        assert pd.api.types.is_integer_dtype(episodes[col]), col
    assert episodes["episode"].tolist() == [0, 1, 0]


def test_a_header_without_an_end_of_line_is_an_empty_file_not_a_cut_one(tmp_path: Path) -> None:
    """The end-of-line check is of the last data row: a header alone needs none."""
    (tmp_path / "cell.csv").write_text(",".join(EPISODE_COLUMNS))
    empty = read_csv_cells([tmp_path / "cell.csv"], EPISODE_COLUMNS)
    assert empty.empty and empty.columns.tolist() == list(EPISODE_COLUMNS)


def test_a_failed_write_whose_temp_file_is_gone_raises_its_own_error(tmp_path: Path) -> None:
    """The cleanup after a failed write tolerates a temp file already removed (by the
    failure itself or by someone else): the write's error is what surfaces."""
    def vanish_and_fail(fh: object) -> None:
        for tmp in tmp_path.glob(".notes.md.*.tmp"):
            tmp.unlink()
        raise RuntimeError("disk went away")

    with pytest.raises(RuntimeError, match="disk went away"):
        store._atomic_write(tmp_path / "notes.md", vanish_and_fail)
    assert list(tmp_path.iterdir()) == []


def test_a_csv_field_over_the_csv_module_limit_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "episodes.csv").write_text("env,mode,planner,horizon,episode\n"
                                           f"{'e' * 200_000},open,gd,40,0\n")
    with pytest.raises(UserError, match=r"unreadable .*episodes\.csv: field larger than "
                                        r"field limit") as err:
        load_run(tmp_path)
    assert "\n" not in str(err.value)


def test_load_run_requires_episodes_by_default(tmp_path: Path) -> None:
    """A directory holding only meta.json is a run only when asked for
    (require_episodes=False)."""
    write_json_atomic({"command": ["x"]}, tmp_path / "meta.json")
    with pytest.raises(UserError, match=r"not a run directory \(no episodes\.csv\): "):
        load_run(tmp_path)
