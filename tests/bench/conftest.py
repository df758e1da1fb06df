"""Harness test settings (the tiny checkpoint is in tests/conftest.py)."""

import pytest

#: Planner settings that keep each cell to a fraction of a second.
FAST = [
    "--set", "cem.iterations=3", "--set", "cem.samples=16", "--set", "cem.topk=4",
    "--set", "grasp.iterations=20", "--set", "grasp.sync_every=10", "--set", "grasp.sync_steps=2",
]


@pytest.fixture(autouse=True)
def _problem_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))
