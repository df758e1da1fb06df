"""Tuning test settings: problem cache and tuning files in the test's own directory."""

import pytest

#: Fields held fixed so a trial plans in a fraction of a second.
FAST = ["--set", "gd.iterations=5", "--set", "cem.iterations=2", "--set", "cem.samples=16",
        "--set", "cem.topk=4"]


@pytest.fixture(autouse=True)
def _problem_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))
