"""``make mutate``'s own parts that can go stale: the sessions' configs, the list of
equivalent mutants, the diff reading and the sample's interval."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from grasp_bench.results.stats import wilson_interval
from tests.mutation import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("session", run.SESSIONS)
def test_every_session_has_a_config_whose_code_and_tests_exist(session):
    cfg = tomllib.loads((run.HERE / f"{session}.toml").read_text())["cosmic-ray"]
    paths = cfg["module-path"]
    for p in [paths] if isinstance(paths, str) else paths:
        assert (ROOT / p).exists(), p
    tests = [w for w in cfg["test-command"].split() if w.startswith("tests/")]
    assert tests and all((ROOT / t).exists() for t in tests), tests


def test_no_config_lies_outside_the_sessions():
    assert {p.stem for p in run.HERE.glob("*.toml")} - {"equivalent"} == set(run.SESSIONS)


def test_every_equivalent_mutant_names_a_line_that_is_still_there():
    """An entry whose line was edited away would hide nothing, silently: it must go."""
    entries = tomllib.loads((run.HERE / "equivalent.toml").read_text())["mutant"]
    assert entries
    for e in entries:
        lines = {line.strip() for line in (ROOT / e["file"]).read_text().splitlines()}
        assert e["line"].strip() in lines, e
        assert "".join(e["mutant"].split()) != "".join(e["line"].split()), e
        assert e["why"].strip(), e
    keys = list(run.equivalents())
    assert len(keys) == len(set(keys)) == len(entries)  # no entry twice


def test_a_diff_reads_as_its_line_and_mutant_without_whitespace():
    diff = ("--- mutation diff ---\n--- a/grasp_bench/x.py\n+++ b/grasp_bench/x.py\n"
            "@@ -1,3 +1,3 @@\n a = 1\n-    if T > 1:\n+    if T != 1:\n b = 2\n")
    assert run._diff_lines(diff) == ("ifT>1:", "ifT!=1:")
    assert run._changed(diff) == ("    if T > 1:", "    if T != 1:")


def test_a_sampled_score_comes_with_its_wilson_interval():
    from collections import Counter

    c = Counter({"killed": 45, "survived": 5, "not sampled": 300, "equivalent": 2})
    lo, hi = wilson_interval(45, 50)
    line = run._score_line("results", c)
    assert line.startswith(f"results: mutation score 90.0 % [{100 * lo:.0f}, {100 * hi:.0f}] "
                           "(a sample) (45 killed / 50, 5 survived, equivalent 2")
    assert "[" not in run._score_line("all", c, interval=False)
