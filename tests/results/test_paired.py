"""The paired comparison: exact McNemar, Holm, and the problem-by-problem table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from grasp_bench.cli import app
from grasp_bench.errors import UserError
from grasp_bench.results import write_csv_atomic
from grasp_bench.results.paired import paired_comparison, paired_markdown
from grasp_bench.results.stats import holm, mcnemar_exact
from tests.results.conftest import make_episodes


def test_mcnemar_exact_known_values():
    assert mcnemar_exact(0, 0) == 1.0  # no discordant problem: no evidence
    assert mcnemar_exact(5, 0) == pytest.approx(2 / 32)
    assert mcnemar_exact(1, 5) == pytest.approx(2 * 7 / 64) == mcnemar_exact(5, 1)
    assert mcnemar_exact(3, 3) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_holm_adjusts_in_place_and_stays_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


def _outcomes(solved):
    return [{"executed": 1.0 if s else None, "model": None} for s in solved]


def _run():
    return make_episodes({
        ("open", "grasp", 40): _outcomes([1, 1, 1, 0, 0, 1]),
        ("open", "gd", 40): _outcomes([0, 0, 0, 0, 1, 1]),
        ("open", "cem", 40): _outcomes([1, 1, 1, 1, 1]),  # ran one problem fewer
        ("open", "grasp", 60): _outcomes([0, 0, 0, 0]),
        ("open", "gd", 60): _outcomes([1, 1, 1, 1]),
        ("mpc", "grasp", 40): [{"mpc": None}, {"mpc": 1.0}],
        ("mpc", "gd", 40): [{"mpc": 2.0}, {"mpc": 1.0}],
    })


def test_paired_comparison_counts_discordant_problems_of_each_cell():
    t = paired_comparison(_run(), "grasp").set_index(["mode", "horizon", "planner"])
    gd = t.loc[("open", 40, "gd")]
    assert (gd["n"], gd["only_reference"], gd["only_planner"]) == (6, 3, 1)
    assert gd["reference_rate"] == pytest.approx(4 / 6) and gd["planner_rate"] == 2 / 6
    assert gd["p"] == pytest.approx(2 * 5 / 16)
    cem = t.loc[("open", 40, "cem")]  # only the problems both ran
    assert (cem["n"], cem["only_reference"], cem["only_planner"]) == (5, 0, 2)
    h60 = t.loc[("open", 60, "gd")]
    assert (h60["only_reference"], h60["only_planner"]) == (0, 4)
    assert h60["p"] == pytest.approx(2 / 16)
    mpc = t.loc[("mpc", 40, "gd")]  # the MPC mode is judged on its own success
    assert (mpc["n"], mpc["only_reference"], mpc["only_planner"]) == (2, 0, 1)
    # Holm over the 4 rows: p = 0.625, 0.5, 0.125, 1 -> 0.125 x 4, 0.5 x 3, 0.625 x 2, 1
    assert dict(zip(t.index, t["p_holm"], strict=True)) == pytest.approx({
        ("open", 40, "gd"): 1.0, ("open", 40, "cem"): 1.0, ("open", 60, "gd"): 0.5,
        ("mpc", 40, "gd"): 1.0})
    assert list(t.reset_index()["mode"]) == ["open", "open", "open", "mpc"]  # MODES order


def test_paired_comparison_pairs_problems_by_seed_and_refuses_repeats():
    run = _run()
    shifted = run.assign(seed=run["seed"].where(run["planner"] != "gd", run["seed"] + 1000))
    t = paired_comparison(shifted, "grasp")
    assert set(t["planner"]) == {"cem"}  # gd's problems are other problems
    with pytest.raises(UserError, match="repeated"):
        paired_comparison(pd.concat([run, run.iloc[:1]]), "grasp")


def test_paired_comparison_refuses_an_absent_reference():
    with pytest.raises(UserError, match="not in this run"):
        paired_comparison(_run(), "latco")
    solo = make_episodes({("open", "grasp", 40): _outcomes([1, 0])})
    with pytest.raises(UserError, match="no problem"):
        paired_comparison(solo, "grasp")


def test_paired_markdown_names_both_planners():
    md = paired_markdown(_run(), "gd")
    assert "| only gd" in md and "Holm-adjusted over the 4 rows" in md
    row = next(line for line in md.splitlines() if "| grasp " in line and "| 40 " in line
               and "| open " in line)
    assert [c.strip() for c in row.strip("|").split("|")][4:] == [
        "6", "33", "67", "1", "3", "0.625", "1"]


def test_report_paired_from_the_command_line(tmp_path: Path):
    write_csv_atomic(_run(), tmp_path / "episodes.csv")
    res = CliRunner().invoke(app, ["report", str(tmp_path), "--paired", "grasp"])
    assert res.exit_code == 0, res.output
    assert "exact McNemar" in res.output and "0.625" in res.output
    assert not (tmp_path / "summary.md").exists()  # writes nothing
    bad = CliRunner().invoke(app, ["report", str(tmp_path), "--paired", "mppi"])
    assert bad.exit_code == 2 and "not in this run" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
