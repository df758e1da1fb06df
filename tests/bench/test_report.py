"""Tests for grasp_bench.report: paper reference, plots and run reports."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from grasp_bench.report import (
    paper_comparison,
    paper_reference,
    plot_anytime,
    plot_success_vs_horizon,
    reference_dir,
    write_report,
)
from grasp_bench.results import (
    EPISODE_COLUMNS,
    SNAPSHOT_COLUMNS,
    summarize,
    write_csv_atomic,
    write_json_atomic,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PUSHT = "grasp_bench/PushT-v0"


def make_run(run_dir: Path, env: str = PUSHT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write a small synthetic run (2 planners x 2 horizons x 4 episodes) into run_dir."""
    episodes, snapshots = [], []
    for planner, p_ok in (("grasp", 0.75), ("cem", 0.25)):
        for horizon in (40, 60):
            for ep in range(4):
                ok = ep < round(4 * p_ok)
                t = 0.2 * (ep + 1) if ok else math.nan
                episodes.append(dict(
                    env=env, layout="", model="mlp", model_sha256="sha", mode="open",
                    objective="task", planner=planner, horizon=horizon, episode=ep, seed=ep,
                    success_executed=ok, time_to_success_executed_s=t, success_model=False,
                    reference_model=ep % 2 == 0,
                    planning_time_s=1.0, iterations=30, replans=1, model_cost=0.1,
                    real_error=40.0, batch_size=4, device="cpu", threads=1, reason=""))
                for it, elapsed in ((10, 0.1), (20, 0.2 * (ep + 1)), (30, 1.0)):
                    snapshots.append(dict(env=env, mode="open", planner=planner,
                                          horizon=horizon, episode=ep, iteration=it,
                                          elapsed_s=elapsed,
                                          success_executed=ok and elapsed >= t,
                                          success_model=False, real_error=40.0))
    ep_df = pd.DataFrame(episodes, columns=list(EPISODE_COLUMNS))
    snap_df = pd.DataFrame(snapshots, columns=list(SNAPSHOT_COLUMNS))
    write_csv_atomic(ep_df, run_dir / "episodes.csv")
    write_csv_atomic(snap_df, run_dir / "snapshots.csv")
    write_json_atomic({"command": ["grasp-bench", "run"]}, run_dir / "meta.json")
    return ep_df, snap_df


def test_paper_reference_matches_shared_copy() -> None:
    ref = paper_reference()
    assert ref.columns.tolist() == ["horizon", "planner", "success", "time_s"]
    assert len(ref) == 20 and sorted(ref.horizon.unique()) == [40, 50, 60, 70, 80]
    grasp40 = ref[(ref.horizon == 40) & (ref.planner == "grasp")].iloc[0]
    assert (grasp40.success, grasp40.time_s) == (59.0, 8.5)
    assert ref[(ref.horizon == 80) & (ref.planner == "latco")].time_s.isna().all()
    text = (reference_dir() / "paper_pusht_table.csv").read_text()
    assert text.startswith("# GRASP paper (arXiv 2602.00475)")


def test_plots_write_png(tmp_path: Path) -> None:
    episodes, snapshots = make_run(tmp_path)
    plot_success_vs_horizon(summarize(episodes), tmp_path / "a.png")
    plot_anytime(episodes, snapshots, tmp_path / "b.png")
    plot_anytime(episodes.iloc[0:0], None, tmp_path / "empty.png")
    for name in ("a.png", "b.png", "empty.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC
    assert not list(tmp_path.glob(".*"))


def test_write_report_creates_files(tmp_path: Path) -> None:
    make_run(tmp_path)
    md = write_report(tmp_path)
    for name in ("summary.csv", "summary.md", "success_vs_horizon.png", "anytime.png"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "summary.md").read_text() == md
    assert "**75.0% / 0.4s**" in md
    assert "Comparison with the GRASP paper" not in md
    assert "solved within" in md and "![anytime](anytime.png)" in md
    assert "the headline" in md and "diagnostic" in md  # every metric is named
    assert "fidelity" in md and "exploitation gap" in md


def test_write_report_paper_section(tmp_path: Path) -> None:
    make_run(tmp_path)
    md = write_report(tmp_path, paper=True)
    assert "Comparison with the GRASP paper" in md
    section = md.split("Comparison with the GRASP paper")[1]
    assert "59.0% / 8.5s" in section and "26.2% / 49.1s" in section
    assert "43.4% / 15.2s" not in section  # H=50 was not run
    assert "+16.0" in section  # grasp H=40: executed 75.0% vs the paper's 59.0%
    assert "executed (this run)" in section and "under the model (this run)" in section


def test_paper_comparison_ignores_other_envs(tmp_path: Path) -> None:
    episodes, _ = make_run(tmp_path, env="grasp_bench/BallNav-v0")
    assert paper_comparison(summarize(episodes)).empty
    md = write_report(tmp_path, paper=True)
    assert "No Push-T cell" in md


def test_write_report_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a run directory"):
        write_report(tmp_path)


def test_paper_verdict_is_read_against_the_papers_interval_at_500_trials() -> None:
    from grasp_bench.report import paper_verdict

    # the paper's 59.0 % of 500 trials: Wilson 95 % interval ~[54.6, 63.2] %
    assert paper_verdict(0.55, 59.0) == "inside" and paper_verdict(0.63, 59.0) == "inside"
    assert paper_verdict(0.54, 59.0) == "below" and paper_verdict(0.64, 59.0) == "above"
    assert paper_verdict(0.0, 0.0) == "inside" and paper_verdict(0.01, 0.0) == "above"


def test_a_cell_below_the_paper_names_the_first_measured_cause() -> None:
    from grasp_bench.report import below_cause

    cell = pd.Series({"executed_rate": 0.35, "fidelity_rate": 0.9, "exploitation_gap": 0.1})
    assert below_cause(0.5, cell, ceiling=(0.4, 0.3)) == "ceiling"  # at the ceiling
    assert below_cause(0.5, cell, ceiling=(0.45, 0.36)) == "budget"  # below the ceiling's CI
    assert below_cause(0.5, cell, ceiling=(0.6, 0.3)) == "budget"  # the ceiling is above
    assert below_cause(0.5, cell, ceiling=None) == "budget"
    assert below_cause(0.5, pd.Series({"executed_rate": 0.1, "fidelity_rate": 0.3,
                                       "exploitation_gap": 0.5}), ceiling=(0.6, 0.5)) == "fidelity"
    assert below_cause(0.5, pd.Series({"executed_rate": 0.1, "fidelity_rate": 0.9,
                                       "exploitation_gap": 0.2}),
                       ceiling=(0.4, 0.3)) == "exploitation gap"


def test_paper_comparison_has_ceiling_rows_verdicts_and_causes(tmp_path: Path) -> None:
    episodes, _ = make_run(tmp_path)
    ceiling = summarize(episodes[episodes["planner"] == "cem"].assign(model="simulator"))
    table = paper_comparison(summarize(episodes), ceiling=ceiling)
    rows = table.set_index(["H", "planner"])
    assert rows.loc[(40, "cem (simulator ceiling)"), "executed (this run)"].startswith("25.0%")
    # cem H=40: 25 % vs the paper's 61.4 %: below; the ceiling (25 %) is below the paper too
    assert rows.loc[(40, "cem"), "verdict"] == "below"
    assert rows.loc[(40, "cem"), "cause"] == "ceiling"
    # grasp H=40: 75 % vs 59 %: above, no cause
    assert rows.loc[(40, "grasp"), "verdict"] == "above"
    assert rows.loc[(40, "grasp"), "cause"] == "-"
    assert rows.loc[(60, "grasp"), "fidelity"] == "50%"
    md = write_report(tmp_path, paper=True)
    assert "verdict" in md and "cause" in md
