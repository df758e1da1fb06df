"""Per-cell summaries, anytime curves and solved-within-budget fractions."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from grasp_bench.results import (
    EPISODE_COLUMNS,
    SUMMARY_COLUMNS,
    anytime_curve,
    planner_order,
    read_csv_cells,
    solved_within,
    summarize,
    tts_column,
    wilson_interval,
)
from tests.results.conftest import make_episodes

# open grasp H40: model 3/4 (TTS 1, 3, 2), executed 1/4; episode 2 fails with an empty TTS
OPEN_GRASP = [{"model": 1.0, "executed": 0.5}, {"model": 3.0, "executed": None},
              {"model": None, "executed": None}, {"model": 2.0, "executed": None}]


def episodes() -> pd.DataFrame:
    frame = make_episodes({
        ("open", "grasp", 40): OPEN_GRASP,
        ("open", "cem", 40): [{"model": None, "executed": None}] * 2,
        ("open", "grasp", 20): [{"model": 4.0, "executed": 4.0}, {"model": 6.0, "executed": 6.0}],
        ("mpc", "gd", 40): [{"mpc": 7.0}, {"mpc": None}, {"mpc": 7.0}],
    })
    frame.loc[5, "reason"] = "nan plan"  # second cem episode
    return frame


def test_summarize_one_row_per_cell_in_order() -> None:
    summary = summarize(episodes())
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    cells = list(zip(summary["mode"], summary["planner"], summary["horizon"], strict=True))
    assert cells == [("open", "cem", 40), ("open", "grasp", 20), ("open", "grasp", 40),
                     ("mpc", "gd", 40)]  # mode by appearance, planners in paper order
    assert summary["n"].tolist() == [2, 2, 4, 3]


def test_summarize_counts_rates_intervals_and_medians() -> None:
    row = summarize(episodes()).set_index(["mode", "planner", "horizon"]).loc[("open", "grasp", 40)]
    assert (row.model_n, row.model_successes, row.model_rate) == (4, 3, 0.75)
    assert (row.model_ci_low, row.model_ci_high) == pytest.approx(wilson_interval(3, 4))
    assert row.model_median_tts_s == pytest.approx(2.0)  # median of 1, 3, 2
    assert (row.executed_n, row.executed_successes, row.executed_rate) == (4, 1, 0.25)
    assert row.executed_median_tts_s == pytest.approx(0.5)
    assert row.mean_planning_time_s == pytest.approx(5.0)  # 2, 4, 6, 8
    assert row.mean_iterations == pytest.approx(25.0)


def test_summarize_reference_fidelity_and_exploitation_gap() -> None:
    summary = summarize(episodes()).set_index(["mode", "planner", "horizon"])
    row = summary.loc[("open", "grasp", 40)]  # reference passes on episodes 0 and 2 of 4
    assert (row.fidelity_n, row.fidelity_successes, row.fidelity_rate) == (4, 2, 0.5)
    assert (row.fidelity_ci_low, row.fidelity_ci_high) == pytest.approx(wilson_interval(2, 4))
    assert row.exploitation_gap == pytest.approx(0.75 - 0.25)  # model minus executed
    assert math.isnan(summary.loc[("mpc", "gd", 40)].exploitation_gap)  # open loop only


def test_summarize_reads_runs_made_before_the_rename() -> None:
    """Files written when ``executed`` was called ``transfer`` (and had no reference
    column) summarize with the new names and an unmeasured fidelity."""
    old = episodes().drop(columns=["reference_model"]).rename(columns={
        "success_executed": "success_transfer",
        "time_to_success_executed_s": "time_to_success_transfer_s"})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cell.episodes.csv"
        old.to_csv(path, index=False)
        back = read_csv_cells([path], EPISODE_COLUMNS)
    row = summarize(back).set_index(["mode", "planner", "horizon"]).loc[("open", "grasp", 40)]
    assert (row.executed_n, row.executed_successes) == (4, 1)
    assert row.fidelity_n == 0 and math.isnan(row.fidelity_rate)


def test_summarize_leaves_unmeasured_metrics_empty() -> None:
    summary = summarize(episodes()).set_index(["mode", "planner", "horizon"])
    mpc, open_ = summary.loc[("mpc", "gd", 40)], summary.loc[("open", "grasp", 40)]
    assert (mpc.mpc_n, mpc.mpc_successes) == (3, 2)
    assert mpc.mpc_median_tts_s == pytest.approx(7.0)
    for row, metrics in ((mpc, ("model", "executed")), (open_, ("mpc",))):
        for m in metrics:
            assert row[f"{m}_n"] == 0 and row[f"{m}_successes"] == 0
            for stat in ("rate", "ci_low", "ci_high", "median_tts_s"):
                assert math.isnan(row[f"{m}_{stat}"])


def test_summarize_ignores_time_of_failures_and_counts_errors() -> None:
    frame = episodes()
    frame.loc[2, tts_column("model")] = 100.0  # a failed episode carrying a time
    summary = summarize(frame).set_index(["mode", "planner", "horizon"])
    assert summary.loc[("open", "grasp", 40), "model_median_tts_s"] == pytest.approx(2.0)
    cem = summary.loc[("open", "cem", 40)]
    assert cem.model_rate == 0.0 and math.isnan(cem.model_median_tts_s)
    assert cem.failures_by_error == 1
    assert summary.loc[("open", "grasp", 40), "failures_by_error"] == 0


def test_anytime_curve_ends_at_the_success_rate() -> None:
    frame = episodes()
    summary = summarize(frame).set_index(["mode", "planner", "horizon"])
    for metric in ("model", "executed", "mpc"):
        curve = anytime_curve(frame, metric)
        for key, cell in curve.groupby(["mode", "planner", "horizon"]):
            assert cell["elapsed_s"].is_monotonic_increasing
            assert cell["solved_fraction"].iloc[-1] == pytest.approx(
                summary.loc[key, f"{metric}_rate"])
    grasp = anytime_curve(frame, "model").query("planner == 'grasp' and horizon == 40")
    assert grasp["elapsed_s"].tolist() == [1.0, 2.0, 3.0]
    assert grasp["solved"].tolist() == [1, 2, 3] and set(grasp["n"]) == {4}
    mpc = anytime_curve(frame, "mpc")  # two episodes share a time: one step
    assert mpc[["elapsed_s", "solved"]].values.tolist() == [[7.0, 2]]


def test_anytime_curve_band_and_unsolved_cells() -> None:
    curve = anytime_curve(episodes(), "model")
    assert (curve["ci_low"] <= curve["solved_fraction"]).all()
    assert (curve["solved_fraction"] <= curve["ci_high"]).all()
    row = curve.iloc[0]
    assert (row.ci_low, row.ci_high) == pytest.approx(wilson_interval(row.solved, row.n))
    assert "cem" not in set(curve["planner"])  # no success, no rows
    assert set(curve["mode"]) == {"open"}  # mpc cells do not measure the model metric
    assert curve["horizon"].dtype.kind == "i"


def test_solved_within_budgets() -> None:
    table = solved_within(episodes(), "model", budgets_s=(0.5, 1.0, 2.5, 10.0))
    assert table.columns.tolist()[4:] == ["<=0.5s", "<=1s", "<=2.5s", "<=10s"]
    by = table.set_index(["planner", "horizon"])
    assert by.loc[("grasp", 40)].tolist()[2:] == pytest.approx([0.0, 0.25, 0.5, 0.75])
    assert by.loc[("cem", 40)].tolist()[2:] == [0.0] * 4  # measured, never solved
    assert ("gd", 40) not in by.index  # mpc cell: no model metric
    values = table.iloc[:, 4:].to_numpy()
    assert (values[:, 1:] >= values[:, :-1]).all()  # monotone in the budget


def test_planner_order() -> None:
    assert planner_order(["grasp", "mppi", "cem", "grasp"]) == ["cem", "grasp", "mppi"]
    assert planner_order(["cem", "gd"], ["gd"]) == ["gd", "cem"]


def test_summarize_without_planning_time_or_iterations_columns() -> None:
    summary = summarize(episodes().drop(columns=["planning_time_s", "iterations"]))
    assert summary["mean_planning_time_s"].isna().all()
    assert summary["mean_iterations"].isna().all()
    assert summary["mean_planning_time_per_problem_s"].isna().all()
    assert summary["n"].tolist() == [2, 2, 4, 3]


def test_anytime_curve_lists_cells_in_the_order_of_the_episodes() -> None:
    curve = anytime_curve(episodes(), "model")
    cells = list(dict.fromkeys(zip(curve["planner"], curve["horizon"], strict=True)))
    assert cells == [("grasp", 40), ("grasp", 20)]  # as run, not sorted


def test_summarize_without_batch_size_or_reason_columns() -> None:
    summary = summarize(episodes().drop(columns=["batch_size", "reason"]))
    assert summary["mean_planning_time_per_problem_s"].isna().all()
    assert summary["failures_by_error"].tolist() == [0, 0, 0, 0]
    assert summary["mean_planning_time_s"].notna().all()


def test_planning_time_per_problem_leaves_out_batches_of_size_zero() -> None:
    """open grasp H40: times 2, 4, 6, 8 s in batches of 4; the first batch size 0 is no
    batch, so the mean is over 4/4, 6/4 and 8/4."""
    frame = episodes()
    frame.loc[0, "batch_size"] = 0
    summary = summarize(frame).set_index(["mode", "planner", "horizon"])
    assert summary.loc[("open", "grasp", 40), "mean_planning_time_per_problem_s"] == \
        pytest.approx(1.5)


def test_summarize_takes_the_source_of_the_first_episode_naming_one() -> None:
    frame = episodes()
    frame.loc[0:3, "problem_source"] = [math.nan, "behaviour", "demo", "demo"]  # grasp H40
    summary = summarize(frame).set_index(["mode", "planner", "horizon"])
    assert summary.loc[("open", "grasp", 40), "problem_source"] == "behaviour"
    assert summary.loc[("open", "cem", 40), "problem_source"] == "demo"


def test_summarize_of_no_episodes_has_the_summary_columns_only() -> None:
    summary = summarize(episodes().iloc[0:0])
    assert summary.empty and summary.columns.tolist() == list(SUMMARY_COLUMNS)
