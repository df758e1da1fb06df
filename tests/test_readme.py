"""The README's Python snippet runs as written on the shipped checkpoints."""

from __future__ import annotations

import contextlib
import io
import re

from grasp_bench.tasks import REPO_ROOT


def test_the_readme_api_snippet_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path / "cache"))
    text = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "README.md", "exec"), {})  # noqa: S102
    printed = out.getvalue()
    assert "executed_rate" in printed and "(5, 8, 10)" in printed
