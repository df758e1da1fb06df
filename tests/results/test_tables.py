"""Paper-format cells and tables, the per-cell detail table and summary.md."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from grasp_bench.results import (
    METRIC_LABELS,
    detail_table,
    format_cell,
    format_seconds,
    paper_table,
    paper_table_markdown,
    percent_ci,
    summarize,
    summary_markdown,
)
from tests.results.conftest import make_episodes


def cell(successes: int, n: int, tts: float = 2.0) -> list[dict]:
    """Open-loop outcomes with ``successes`` executed successes out of ``n`` (the model's
    verdict fails)."""
    return ([{"executed": tts, "model": None}] * successes
            + [{"executed": None, "model": None}] * (n - successes))


def open_summary() -> pd.DataFrame:
    return summarize(make_episodes({
        ("open", "grasp", 40): cell(6, 10, 8.5), ("open", "cem", 40): cell(7, 10, 35.0),
        ("open", "gd", 40): cell(5, 10), ("open", "grasp", 50): cell(3, 10, 15.0),
        ("open", "cem", 50): cell(3, 10, 96.0), ("open", "latco", 50): cell(1, 10),
    }))


def test_format_cell_seconds_and_percent_ci() -> None:
    assert format_cell(0.59, 8.5) == "59.0% / 8.5s"
    assert format_cell(0.0, math.nan) == "0.0% / -"
    assert format_cell(0.59, 8.5, (0.546, 0.633)) == "59.0% [54.6, 63.3] / 8.5s"
    assert format_cell(1.0, 0.034) == "100.0% / 0.034s"
    assert format_cell(math.nan, math.nan) == "-"
    assert format_seconds(12.34) == "12.3s" and format_seconds(math.inf) == "-"
    assert percent_ci(0.45, 0.254, 0.656) == "45 [25, 66]"
    assert percent_ci(math.nan, math.nan, math.nan) == "-"


def test_paper_table_layout() -> None:
    table = paper_table(open_summary())
    assert table.index.name == "H" and table.index.tolist() == [40, 50]
    assert table.columns.tolist() == ["cem", "gd", "latco", "grasp"]
    assert table.loc[40, "grasp"] == "60.0% / 8.5s"
    assert table.loc[40, "latco"] == "" and table.loc[50, "gd"] == ""  # not run
    under_model = paper_table(open_summary(), metric="model")
    assert under_model.loc[40, "grasp"] == "0.0% / -"


def test_paper_table_markdown_bolds_best_per_row() -> None:
    lines = paper_table_markdown(open_summary()).splitlines()
    assert lines[0].replace(" ", "") == "|H|cem|gd|latco|grasp|"
    row40 = next(line for line in lines if line.startswith("| 40"))
    assert "**70.0% / 35.0s**" in row40 and row40.count("**") == 2
    row50 = next(line for line in lines if line.startswith("| 50"))
    assert "**30.0% / 96.0s**" in row50 and "**30.0% / 15.0s**" in row50  # tie: both
    assert row50.count("**") == 4


def test_paper_table_markdown_no_bold_when_all_zero() -> None:
    summary = summarize(make_episodes({("open", "cem", 70): cell(0, 4),
                                       ("open", "gd", 70): cell(0, 4)}))
    md = paper_table_markdown(summary)
    assert "0.0% / -" in md and "**" not in md
    assert "**" not in paper_table_markdown(open_summary(), metric="model")


def test_paper_table_needs_env_when_several() -> None:
    summary = pd.concat([summarize(make_episodes({("open", "cem", 40): cell(1, 2)}, env=e))
                         for e in ("a", "b")], ignore_index=True)
    with pytest.raises(ValueError, match="env="):
        paper_table(summary)
    assert paper_table(summary, env="b").shape == (1, 1)


def test_detail_table_drops_metrics_not_measured() -> None:
    detail = detail_table(open_summary())
    assert "model [95% CI]" in detail and "executed TTS" in detail
    assert not any(c.startswith("mpc") for c in detail.columns)
    grasp40 = detail[(detail["planner"] == "grasp") & (detail["H"] == 40)].iloc[0]
    assert grasp40["executed [95% CI]"] == "60 [31, 83]" and grasp40["executed TTS"] == "8.5s"
    assert grasp40["fidelity [95% CI]"] == "50 [24, 76]" and grasp40["gap (pp)"] == "-60"
    mixed = detail_table(summarize(make_episodes({("open", "cem", 40): cell(1, 2),
                                                  ("mpc", "cem", 40): [{"mpc": 1.0}]})))
    assert {"model [95% CI]", "executed [95% CI]", "mpc [95% CI]"} <= set(mixed.columns)
    assert mixed.loc[mixed["mode"] == "mpc", "model [95% CI]"].tolist() == ["-"]


def test_summary_markdown_names_the_metrics() -> None:
    md = summary_markdown(open_summary())
    for metric in ("model", "executed"):
        assert f"- **{metric}**: {METRIC_LABELS[metric]}" in md
    assert "- **mpc**" not in md and "open loop" in md and "**70.0% / 35.0s**" in md
    episodes = make_episodes({("mpc", "gd", 30): [{"mpc": 0.5}, {"mpc": None}]})
    md = summary_markdown(summarize(episodes), episodes)
    assert f"- **mpc**: {METRIC_LABELS['mpc']}" in md and "- **model**" not in md
    assert "## mpc: solved within a planner wall-clock budget" in md and "50.0%" in md


def test_mpc_tables_show_no_time_to_success_that_repeats_planning_time() -> None:
    episodes = make_episodes({("mpc", "gd", 30): [{"mpc": 0.5}, {"mpc": None}],
                              ("open", "gd", 30): [{"executed": 1.0, "model": 1.0}]})
    summary = summarize(episodes)
    mpc_only = summary[summary["mode"] == "mpc"]
    assert paper_table(mpc_only).loc[30, "gd"] == "50.0%"  # no " / time"
    assert paper_table(summary[summary["mode"] == "open"]).loc[30, "gd"] == "100.0% / 1.0s"
    detail = detail_table(summary)
    assert "mpc TTS" not in detail.columns and "executed TTS" in detail.columns
    md = summary_markdown(summary, episodes)
    assert "mpc loop: closed-loop (MPC) success in the simulator (success)" in md
    assert "MPC shows no TTS" in md


def test_detail_table_shows_planning_time_per_problem() -> None:
    summary = summarize(make_episodes({("open", "gd", 30): [{"executed": 1.0, "model": 1.0}] * 4}))
    # make_episodes: planning times 2, 4, 6, 8 s, batch size 4
    assert summary.loc[0, "mean_planning_time_per_problem_s"] == pytest.approx(5.0 / 4)
    assert detail_table(summary).loc[0, "plan/problem"] == "1.2s"
    assert "**plan/problem**" in summary_markdown(summary)


def test_paper_table_markdown_bolds_the_best_of_each_horizon_alone() -> None:
    """A longer horizon's higher rate does not take the bold of a shorter one."""
    summary = summarize(make_episodes({
        ("open", "grasp", 40): cell(6, 10, 8.5), ("open", "cem", 40): cell(3, 10, 35.0),
        ("open", "grasp", 80): cell(2, 10, 15.0), ("open", "cem", 80): cell(9, 10, 96.0)}))
    lines = paper_table_markdown(summary).splitlines()
    row40 = next(line for line in lines if line.startswith("| 40"))
    assert "**60.0% / 8.5s**" in row40 and row40.count("**") == 2
    row80 = next(line for line in lines if line.startswith("| 80"))
    assert "**90.0% / 96.0s**" in row80 and row80.count("**") == 2


def test_detail_table_drops_fidelity_when_never_measured() -> None:
    episodes = make_episodes({("open", "gd", 30): cell(1, 2), ("open", "cem", 30): cell(2, 3)})
    without = summarize(episodes.drop(columns=["reference_model"]))
    assert (without["fidelity_n"] == 0).all()
    assert "fidelity [95% CI]" not in detail_table(without)
    assert "fidelity [95% CI]" in detail_table(summarize(episodes))


def test_summary_markdown_budget_tables_keep_the_horizon() -> None:
    episodes = make_episodes({("mpc", "gd", 30): [{"mpc": 0.5}, {"mpc": None}]})
    md = summary_markdown(summarize(episodes), episodes)
    budgets = md.split("## mpc: solved within a planner wall-clock budget")[1]
    row = next(line for line in budgets.splitlines() if "| gd" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "30" and cells[4:] and all(c.endswith("%") for c in cells[4:])


def test_paper_table_markdown_ties_rates_equal_as_displayed() -> None:
    """333/1000 and 1/3 both show as 33.3%: a tie, both bold."""
    summary = open_summary()
    at40 = summary["horizon"] == 40
    summary.loc[at40 & (summary["planner"] == "cem"), "executed_rate"] = 333 / 1000
    summary.loc[at40 & (summary["planner"] == "grasp"), "executed_rate"] = 1 / 3
    summary.loc[at40 & (summary["planner"] == "gd"), "executed_rate"] = 0.3
    row40 = next(line for line in paper_table_markdown(summary).splitlines()
                 if line.startswith("| 40"))
    assert "**33.3% / 35.0s**" in row40 and "**33.3% / 8.5s**" in row40
    assert row40.count("**") == 4


def test_detail_table_mean_iterations() -> None:
    episodes = make_episodes({("open", "gd", 30): cell(1, 4), ("open", "cem", 30): cell(1, 2)})
    episodes.loc[episodes["planner"] == "cem", "iterations"] = math.nan
    detail = detail_table(summarize(episodes)).set_index("planner")
    assert detail.loc["gd", "mean iters"] == "25.0"  # 10, 20, 30, 40
    assert detail.loc["cem", "mean iters"] == "-"


def test_summary_markdown_budget_tables_in_percent() -> None:
    episodes = make_episodes({("mpc", "gd", 30): [{"mpc": 0.5}, {"mpc": None}]})
    md = summary_markdown(summarize(episodes), episodes)
    budgets = md.split("## mpc: solved within a planner wall-clock budget")[1]
    lines = budgets.split("Metrics:")[0].strip().splitlines()
    header, row = ([c.strip() for c in line.strip("|").split("|")] for line in (lines[0], lines[2]))
    assert header[3:] == ["H", "<=0.1s", "<=1s", "<=10s", "<=100s"]
    assert row[3:] == ["30", "0.0%", "50.0%", "50.0%", "50.0%"]  # solved at 0.5 s: 1 of 2


def test_paper_table_of_no_rows_is_empty() -> None:
    assert paper_table(open_summary().iloc[0:0], metric="executed").empty


def test_detail_table_drops_a_metric_only_when_its_counts_are_zero() -> None:
    """Columns are dropped for n == 0 exactly: a summary with another count (here a
    negative one, from no file grasp-bench writes) keeps them, showing '-'."""
    summary = open_summary()
    summary["mpc_n"] = -1
    detail = detail_table(summary)
    assert detail["mpc [95% CI]"].tolist() == ["-"] * 6
