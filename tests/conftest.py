"""Suite-wide settings."""

import pytest


@pytest.fixture(autouse=True)
def _strict_cli(monkeypatch):
    """The CLI turns a stray ValueError/OSError into one line for users; in the tests it
    re-raises, so input that only the guard catches shows up as the bug it is."""
    monkeypatch.setenv("GRASP_BENCH_STRICT", "1")
