"""The regression check: loading a baseline summary and comparing a run against it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from grasp_bench.errors import UserError
from grasp_bench.results import (
    CELL_KEYS,
    METRICS,
    compare_to_baseline,
    load_summary,
    summarize,
    wilson_interval,
    write_csv_atomic,
)
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


@pytest.mark.parametrize("value", [-40, 0, 40.5, "forty"])
def test_load_summary_refuses_invalid_horizon_naming_row(tmp_path: Path, value: object) -> None:
    frame = baseline().astype({"horizon": object})
    frame.loc[2, "horizon"] = value
    write_csv_atomic(frame, tmp_path / "summary.csv")
    with pytest.raises(UserError, match=r"summary\.csv: row 4 has an invalid horizon"):
        load_summary(tmp_path / "summary.csv")


@pytest.mark.parametrize("successes", [0, 20])
def test_load_summary_accepts_fidelity_of_no_or_every_problem(tmp_path: Path,
                                                               successes: int) -> None:
    """Fidelity counts may sit at either end: 0 <= successes <= n."""
    frame = baseline()
    low, high = wilson_interval(successes, 20)
    frame.loc[1, ["fidelity_successes", "fidelity_rate", "fidelity_ci_low",
                  "fidelity_ci_high"]] = (successes, successes / 20, low, high)
    write_csv_atomic(frame, tmp_path / "summary.csv")
    back = load_summary(tmp_path / "summary.csv")
    assert (back.loc[1, "fidelity_n"], back.loc[1, "fidelity_successes"]) == (20, successes)


def test_load_summary_accepts_counts_without_rates_or_intervals(tmp_path: Path) -> None:
    """A baseline may hold the counts alone: rates and intervals are checked only where
    the file has them."""
    counts = [f"{m}_{c}" for m in METRICS for c in ("n", "successes")]
    bare = baseline()[[*CELL_KEYS, "problem_source", "n", *counts]]
    write_csv_atomic(bare, tmp_path / "summary.csv")
    bare = load_summary(tmp_path / "summary.csv")
    assert bare[counts].values.tolist() == baseline()[counts].values.tolist()
    assert (compare_to_baseline(baseline(), bare)["status"] == "ok").all()


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


def test_compare_calls_a_drop_within_chance_ok() -> None:
    current = summary({("open", "grasp", 40): open_cell(16, 20),
                       ("open", "cem", 40): open_cell(10, 20), ("mpc", "gd", 40): mpc_cell(5, 10)})
    cmp = compare_to_baseline(current, baseline()).set_index(["planner", "metric"])
    grasp = cmp.loc[("grasp", "model")]  # 18/20 down to 16/20
    assert grasp.current_rate < grasp.baseline_rate and grasp.p_value > 0.05
    assert grasp["status"] == "ok" and not grasp["drop"]


def test_compare_never_calls_a_held_or_higher_rate_a_drop() -> None:
    """``drop`` needs a lower current rate as well as p < alpha: with a lax alpha a rate
    that held (p = 0.5) or rose (p > 0.5) passes the p-value test but is no drop."""
    current = summary({("open", "grasp", 40): open_cell(18, 20),
                       ("open", "cem", 40): open_cell(13, 20), ("mpc", "gd", 40): mpc_cell(5, 10)})
    cmp = compare_to_baseline(current, baseline(), alpha=0.95).set_index(["planner", "metric"])
    assert cmp.loc[("cem", "model"), "p_value"] < 0.95  # rose from 10/20 to 13/20
    assert cmp.loc[("gd", "mpc"), "p_value"] == pytest.approx(0.5)  # held at 5/10
    assert not cmp["drop"].any() and (cmp["status"] == "ok").all()


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


def _impossible(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    """The baseline with its second row (file row 3, open grasp H=40: 18/20) made impossible."""
    frame = frame.astype(object)
    if how == "rate-not-successes-over-n":
        frame.loc[1, "executed_rate"] = 0.5
    elif how == "ci-above-one":
        frame.loc[1, "executed_ci_high"] = 1.2
    elif how == "ci-not-around-rate":
        frame.loc[1, ["executed_ci_low", "executed_ci_high"]] = (0.1, 0.3)
    elif how == "ci-low-above-rate":
        frame.loc[1, ["executed_ci_low", "executed_ci_high"]] = (0.95, 0.99)
    elif how == "metric-n-above-cell-n":
        frame.loc[1, ["model_n", "model_successes", "model_rate"]] = (25, 18, 18 / 25)
    elif how == "fidelity-n-above-cell-n":
        frame.loc[1, "fidelity_n"] = 30
    elif how == "fidelity-n-not-a-number":
        frame.loc[1, "fidelity_n"] = "many"
    elif how == "fidelity-successes-negative":
        frame.loc[1, "fidelity_successes"] = -1
    elif how == "rate-without-episodes":
        frame.loc[1, "mpc_rate"] = 0.5
    elif how == "unknown-mode":
        frame.loc[1, "mode"] = "closed"
    elif how == "mpc-counts-in-open-row":
        frame.loc[1, ["mpc_n", "mpc_successes"]] = (20, 3)
    elif how == "duplicate-cell":
        frame.loc[1, "planner"] = "cem"
    elif how == "cell-n-not-an-integer":
        frame.loc[1, "n"] = 20.5
    elif how == "cell-n-negative":
        frame.loc[1, "n"] = -1
    elif how == "fidelity-successes-above-n":
        frame.loc[1, "fidelity_successes"] = 25
    return frame


@pytest.mark.parametrize(("how", "reason"), [
    ("rate-not-successes-over-n", "executed_rate"), ("ci-above-one", "interval"),
    ("ci-not-around-rate", "interval"), ("ci-low-above-rate", "interval"),
    ("metric-n-above-cell-n", "exceeds the cell's n"),
    ("fidelity-n-above-cell-n", "fidelity_n"),
    ("fidelity-n-not-a-number", "invalid fidelity counts"),
    ("fidelity-successes-negative", "invalid fidelity counts"),
    ("rate-without-episodes", "mpc_rate 0.5 without any mpc episode"),
    ("unknown-mode", "mode 'closed'"),
    ("mpc-counts-in-open-row", "does not measure"), ("duplicate-cell", "listed twice"),
    ("cell-n-not-an-integer", "invalid n"), ("cell-n-negative", "invalid n"),
    ("fidelity-successes-above-n", "invalid fidelity counts"),
])
def test_baseline_with_impossible_counts_or_rates_is_refused_naming_row(
        tmp_path: Path, how: str, reason: str) -> None:
    write_csv_atomic(_impossible(baseline(), how), tmp_path / "summary.csv")
    with pytest.raises(UserError, match=r"summary\.csv: row 3") as err:
        load_summary(tmp_path / "summary.csv")
    assert reason in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("cut", ["mid-row", "extra-field"])
def test_truncated_or_ragged_baseline_is_refused_naming_row(tmp_path: Path, cut: str) -> None:
    lines = baseline().to_csv(index=False).splitlines(keepends=True)
    if cut == "mid-row":
        lines[-1] = lines[-1][: len(lines[-1]) // 2]
    else:
        lines[2] = lines[2].rstrip("\n") + ",1\n"
    (tmp_path / "summary.csv").write_text("".join(lines))
    row = 4 if cut == "mid-row" else 3
    with pytest.raises(UserError, match=rf"summary\.csv: row {row}\b"):
        load_summary(tmp_path / "summary.csv")


def test_a_baseline_of_other_problems_is_foreign(tmp_path: Path) -> None:
    """A demo-problem run is never checked against a behaviour-problem baseline; a
    baseline written before problem sources holds behaviour problems."""
    old = baseline().drop(columns=["problem_source"])
    write_csv_atomic(old, tmp_path / "summary.csv")
    legacy = load_summary(tmp_path / "summary.csv")
    assert set(legacy["problem_source"]) == {"behaviour"}
    with pytest.raises(UserError, match="shares no"):
        compare_to_baseline(baseline(), legacy)  # the run's problems are demo ones
    same = baseline().assign(problem_source="behaviour")
    assert (compare_to_baseline(same, legacy)["status"] == "ok").all()


def test_load_summary_accepts_horizon_one(tmp_path: Path) -> None:
    frame = baseline()
    frame.loc[2, "horizon"] = 1
    write_csv_atomic(frame, tmp_path / "summary.csv")
    assert load_summary(tmp_path / "summary.csv")["horizon"].tolist() == [40, 40, 1]


def test_load_summary_refuses_an_infinite_horizon_naming_row(tmp_path: Path) -> None:
    frame = baseline().astype({"horizon": object})
    frame.loc[1, "horizon"] = "inf"
    write_csv_atomic(frame, tmp_path / "summary.csv")
    with pytest.raises(UserError, match=r"summary\.csv: row 3 has an invalid horizon"):
        load_summary(tmp_path / "summary.csv")


def test_load_summary_accepts_a_cell_of_no_episodes(tmp_path: Path) -> None:
    """n = 0 (every count 0, every rate and interval empty) is a valid, if empty, cell."""
    frame = baseline()
    frame.loc[2, ["n", "mpc_n", "mpc_successes", "fidelity_n", "fidelity_successes"]] = 0
    frame.loc[2, ["mpc_rate", "mpc_ci_low", "mpc_ci_high", "fidelity_rate", "fidelity_ci_low",
                  "fidelity_ci_high"]] = math.nan
    write_csv_atomic(frame, tmp_path / "summary.csv")
    back = load_summary(tmp_path / "summary.csv")
    assert back["n"].tolist() == [20, 20, 0] and back["mpc_n"].tolist() == [0, 0, 0]


def test_a_cell_listed_twice_names_both_rows(tmp_path: Path) -> None:
    frame = pd.concat([baseline(), baseline().iloc[[1]]], ignore_index=True)
    write_csv_atomic(frame, tmp_path / "summary.csv")
    with pytest.raises(UserError, match=r"summary\.csv: row 5: .* is listed twice "
                                        r"\(also row 3\)"):
        load_summary(tmp_path / "summary.csv")


@pytest.mark.parametrize(("n", "k"), [(10.5, 7), (20, 7.5)])
def test_load_summary_refuses_fractional_fidelity_counts(tmp_path: Path, n: float,
                                                          k: float) -> None:
    """Fidelity counts are checked apart from the metrics' (the column is optional): a
    fraction is refused even with a rate that is successes / n."""
    frame = baseline().astype({"fidelity_n": float, "fidelity_successes": float})
    frame.loc[1, ["fidelity_n", "fidelity_successes", "fidelity_rate"]] = (n, k, k / n)
    write_csv_atomic(frame, tmp_path / "summary.csv")
    with pytest.raises(UserError, match=r"summary\.csv: row 3: invalid fidelity counts"):
        load_summary(tmp_path / "summary.csv")


def test_a_single_episode_of_a_metric_the_mode_does_not_measure_is_refused(
        tmp_path: Path) -> None:
    frame = baseline()
    frame.loc[1, ["mpc_n", "mpc_successes"]] = (1, 0)
    write_csv_atomic(frame, tmp_path / "summary.csv")
    with pytest.raises(UserError, match=r"row 3: it counts mpc episodes \(1\), a metric mode "
                                        r"'open' does not measure"):
        load_summary(tmp_path / "summary.csv")


def test_a_wrong_rate_is_refused_with_the_right_one(tmp_path: Path) -> None:
    frame = baseline()
    frame.loc[1, "executed_rate"] = 0.5  # 18 / 20 executed successes
    write_csv_atomic(frame, tmp_path / "summary.csv")
    with pytest.raises(UserError, match=r"row 3: executed_rate 0\.5 is not executed_successes "
                                        r"/ executed_n = 0\.9$"):
        load_summary(tmp_path / "summary.csv")


def test_compare_refuses_a_baseline_frame_of_negative_counts() -> None:
    """A frame passed in directly (not read by load_summary) with a negative count is an
    error, not a metric skipped as unmeasured."""
    bad = baseline()
    bad.loc[2, ["mpc_n", "mpc_successes"]] = (-10, -5)
    with pytest.raises(ValueError, match="successes=-5, n=-10"):
        compare_to_baseline(baseline(), bad)


def test_compare_takes_an_empty_problem_source_for_behaviour_problems() -> None:
    legacy = baseline().assign(problem_source=math.nan)
    cmp = compare_to_baseline(baseline().assign(problem_source="behaviour"), legacy)
    assert len(cmp) == 5 and (cmp["status"] == "ok").all()
