"""The regression check: loading a baseline summary and comparing a run against it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from grasp_bench.errors import UserError
from grasp_bench.results import compare_to_baseline, load_summary, summarize, write_csv_atomic
from tests.results.conftest import make_episodes


def open_cell(successes: int, n: int) -> list[dict]:
    return ([{"model": 1.0, "executed": 1.0}] * successes
            + [{"model": None, "executed": None}] * (n - successes))


def mpc_cell(successes: int, n: int) -> list[dict]:
    return [{"mpc": 1.0}] * successes + [{"mpc": None}] * (n - successes)


def summary(cells: dict) -> pd.DataFrame:
    return summarize(make_episodes(cells))


def baseline() -> pd.DataFrame:
    return summary({("open", "grasp", 40): open_cell(18, 20),
                    ("open", "cem", 40): open_cell(10, 20), ("mpc", "gd", 40): mpc_cell(5, 10)})


def test_load_summary_round_trips(tmp_path: Path) -> None:
    write_csv_atomic(baseline(), tmp_path / "summary.csv")
    pd.testing.assert_frame_equal(load_summary(tmp_path / "summary.csv"), baseline(),
                                  check_dtype=False)


def test_check_refuses_empty_baseline(tmp_path: Path) -> None:
    write_csv_atomic(baseline().iloc[0:0], tmp_path / "summary.csv")
    with pytest.raises(UserError, match="no rows"):
        load_summary(tmp_path / "summary.csv")


@pytest.mark.parametrize(("column", "value"), [
    ("model_successes", -1), ("model_n", -20), ("model_successes", 21), ("mpc_n", 2.5)])
def test_load_summary_refuses_invalid_counts(tmp_path: Path, column: str, value: float) -> None:
    frame = baseline()
    frame[column] = frame[column].astype(float)
    frame.loc[0, column] = value
    write_csv_atomic(frame, tmp_path / "summary.csv")
    with pytest.raises(UserError, match="row 2 has invalid"):
        load_summary(tmp_path / "summary.csv")


def test_load_summary_refuses_other_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_summary(tmp_path / "summary.csv")
    write_csv_atomic(baseline().drop(columns=["mpc_successes"]), tmp_path / "summary.csv")
    with pytest.raises(UserError, match=r"missing columns \['mpc_successes'\]"):
        load_summary(tmp_path / "summary.csv")
    (tmp_path / "summary.csv").write_text("")
    with pytest.raises(UserError, match="unreadable"):
        load_summary(tmp_path / "summary.csv")


def test_load_summary_refuses_non_numeric_horizon(tmp_path: Path) -> None:
    frame = baseline().astype({"horizon": object})
    frame.loc[0, "horizon"] = "forty"
    write_csv_atomic(frame, tmp_path / "summary.csv")
    with pytest.raises(UserError):
        load_summary(tmp_path / "summary.csv")


def test_check_refuses_foreign_baseline() -> None:
    other = summary({("open", "grasp", 60): open_cell(18, 20)})
    with pytest.raises(UserError, match="shares no"):
        compare_to_baseline(other, baseline())


def test_compare_flags_a_significant_drop() -> None:
    current = summary({("open", "grasp", 40): open_cell(2, 20),
                       ("open", "cem", 40): open_cell(10, 20), ("mpc", "gd", 40): mpc_cell(6, 10)})
    cmp = compare_to_baseline(current, baseline()).set_index(["planner", "metric"])
    grasp = cmp.loc[("grasp", "model")]
    assert grasp["status"] == "drop" and bool(grasp["drop"])
    assert (grasp.baseline_rate, grasp.current_rate) == pytest.approx((0.9, 0.1))
    assert grasp.z > 0 and grasp.p_value < 1e-5
    assert cmp.loc[("grasp", "executed"), "status"] == "drop"
    for key in (("cem", "model"), ("cem", "executed"), ("gd", "mpc")):  # equal or higher
        assert cmp.loc[key, "status"] == "ok" and not cmp.loc[key, "drop"]
    assert cmp.loc[("cem", "model"), "p_value"] == pytest.approx(0.5)


def test_compare_reports_missing_cells_and_measured_metrics_only() -> None:
    current = summary({("open", "cem", 40): open_cell(10, 20),
                       ("open", "latco", 40): open_cell(1, 20)})
    cmp = compare_to_baseline(current, baseline())
    pairs = list(zip(cmp["planner"], cmp["metric"], cmp["status"], strict=True))
    assert pairs == [("cem", "executed", "ok"), ("cem", "model", "ok"),
                     ("grasp", "executed", "missing"), ("grasp", "model", "missing"),
                     ("gd", "mpc", "missing")]
    assert not cmp["drop"].any()  # latco is not in the baseline: not listed
    assert cmp.loc[cmp["status"] == "missing", "current_n"].isna().all()
