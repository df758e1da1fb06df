"""The documentation's generated parts: the committed results pages are what the result
files give (``make results-docs``), a changed summary makes them stale, new run directories
are picked up and sorted onto the current or the history page, and the build-time tables
cover every planner, checkpoint and command."""

from __future__ import annotations

import csv
import difflib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grasp_bench.docsgen import results as gen

REPO = gen.REPO_ROOT
#: committed runs the synthetic trees below copy (one open loop, one closed loop)
OPEN_RUN = REPO / "results/reference/cpu/demo-run-H60"
MPC_RUN = REPO / "results/reference/cpu/demo-mpc-H40-60"
AFTER = "2026-12-04T10:00:00+00:00"  # after the pace change
BEFORE = "2026-11-30T10:00:00+00:00"
HISTORY = ("# History\n\n<!-- BEGIN generated:superseded-runs -->\n"
           "<!-- END generated:superseded-runs -->\n\ntext kept by hand\n")
README = ("# grasp-bench\n\n<!-- BEGIN generated:headline/cpu/run-H60 -->\nold\n"
          "<!-- END generated:headline/cpu/run-H60 -->\n"
          "<!-- BEGIN generated:headline/cpu/run-H80 -->\n"
          "<!-- END generated:headline/cpu/run-H80 -->\n"
          "<!-- BEGIN generated:other -->\nkept\n<!-- END generated:other -->\n")


def _diff(pages: dict[Path, str], stale: list[Path]) -> str:
    out = []
    for p in stale:
        old = p.read_text().splitlines() if p.exists() else []
        out += list(difflib.unified_diff(old, pages[p].splitlines(), str(p), "generated",
                                         lineterm="", n=1))[:30]
    return "\n".join(out)


def test_committed_results_pages_are_what_the_result_files_give():
    pages = gen.render()
    assert REPO / "docs" / gen.RESULTS_PAGE in pages
    assert REPO / "docs" / gen.HISTORY_RUNS_PAGE in pages
    assert REPO / "docs" / "history.md" in pages  # its generated block
    stale = gen.stale(pages)
    assert not stale, ("results pages are stale: run `make results-docs` and commit them\n"
                       + _diff(pages, stale))


def _copy_run(src: Path, dst: Path, started: str) -> None:
    dst.mkdir(parents=True)
    shutil.copy(src / "summary.csv", dst / "summary.csv")
    meta = json.loads((src / "meta.json").read_text())
    meta["timestamp_utc"] = started
    (dst / "meta.json").write_text(json.dumps(meta))


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    """A repository-like tree: results/reference with runs of every kind, docs/history.md."""
    res = tmp_path / "results" / "reference"
    _copy_run(OPEN_RUN, res / "cpu" / "run-H60", AFTER)
    _copy_run(MPC_RUN, res / "cpu" / "pace-mpc", AFTER)
    _copy_run(OPEN_RUN, res / "cpu" / "ceiling" / "pusht", AFTER)
    _copy_run(OPEN_RUN, res / "cpu" / "run-old-threads1", BEFORE)  # a run- before the change
    _copy_run(OPEN_RUN, res / "cpu" / "demo-run-H60", BEFORE)
    _copy_run(MPC_RUN, res / "h200" / "mpc-n100", AFTER)  # not a current name
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "history.md").write_text(HISTORY)
    return res, tmp_path / "docs"


def _render(tmp_path: Path, res: Path, docs: Path) -> dict[Path, str]:
    return gen.render(res, docs, tmp_path, tracked_only=False)


def _write(pages: dict[Path, str]) -> None:
    for p, text in pages.items():
        p.write_text(text)


def test_run_directories_are_picked_up_and_sorted_by_name_and_date(tmp_path):
    res, docs = _tree(tmp_path)
    pages = _render(tmp_path, res, docs)
    current = pages[docs / gen.RESULTS_PAGE]
    history = pages[docs / gen.HISTORY_RUNS_PAGE]
    for run in ("cpu/run-H60", "cpu/pace-mpc", "cpu/ceiling"):
        assert f"## {run} {{#" in current and f"## {run} {{#" not in history
    for run in ("cpu/run-old-threads1", "cpu/demo-run-H60", "h200/mpc-n100"):
        assert f"## {run} {{#" in history and f"## {run} {{#" not in current
    # the hand-kept history page gets the index of superseded runs, its own text kept
    index = pages[docs / "history.md"]
    assert "[cpu/demo-run-H60](history-runs.md#cpu-demo-run-h60)" in index
    assert "cpu/run-H60" not in index and index.endswith("text kept by hand\n")
    # each run's machine, commit, n and date come from its meta.json and summary.csv
    meta = json.loads((OPEN_RUN / "meta.json").read_text())
    assert f"`{meta['git_sha'][:7]}`" in current
    assert meta["extra"]["machine"]["cpu"] in current
    assert "problems per cell (n): 20" in current and "2026-12-04 10:00 UTC" in current


def test_the_readme_headline_block_holds_one_run_and_links_into_docs(tmp_path):
    res, docs = _tree(tmp_path)
    (tmp_path / "README.md").write_text(README)
    readme = _render(tmp_path, res, docs)[tmp_path / "README.md"]
    head = readme.split("<!-- END generated:headline/cpu/run-H60 -->")[0]
    assert "[cpu/run-H60](docs/results.md#cpu-run-h60)" in head and "old" not in head
    assert "pace-mpc" not in head and "| gd |" in head
    assert "The run `cpu/run-H80` has not landed yet." in readme
    assert "<!-- BEGIN generated:other -->\nkept\n" in readme  # not ours: left alone


def test_the_pages_go_stale_when_a_summary_changes(tmp_path):
    res, docs = _tree(tmp_path)
    pages = _render(tmp_path, res, docs)
    _write(pages)
    assert gen.stale(_render(tmp_path, res, docs)) == []

    summary = res / "cpu" / "run-H60" / "summary.csv"
    with open(summary, newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["executed_successes"], rows[0]["executed_rate"] = "7", "0.35"
    rows[0]["executed_ci_low"], rows[0]["executed_ci_high"] = "0.18", "0.57"
    with open(summary, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    fresh = _render(tmp_path, res, docs)
    assert gen.stale(fresh) == [docs / gen.RESULTS_PAGE]
    assert "35 [18, 57]" in fresh[docs / gen.RESULTS_PAGE]
    assert "35 [18, 57]" not in (docs / gen.RESULTS_PAGE).read_text()

    # and so when a superseded run changes, or a new run directory lands
    _write(fresh)
    _copy_run(OPEN_RUN, res / "cpu" / "pace-open", AFTER)
    assert gen.stale(_render(tmp_path, res, docs)) == [docs / gen.RESULTS_PAGE]


def test_check_exits_1_naming_the_stale_pages(tmp_path, monkeypatch, capsys):
    real = {p: p.read_text() for p in (REPO / "docs").glob("*.md")}
    res, docs = _tree(tmp_path)
    monkeypatch.setattr(gen, "RESULTS_DIR", res)
    monkeypatch.setattr(gen, "DOCS_DIR", docs)
    monkeypatch.setattr(gen, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(gen, "BLOCK_FILES", ("docs/history.md",))
    assert gen.main(["--check", "--untracked"]) == 1
    assert "docs/results.md" in capsys.readouterr().err
    assert gen.main(["--untracked"]) == 0
    assert gen.main(["--check", "--untracked"]) == 0
    assert (docs / gen.RESULTS_PAGE).exists()
    assert {p: p.read_text() for p in (REPO / "docs").glob("*.md")} == real  # untouched


def test_no_number_in_a_results_page_is_typed_by_hand(tmp_path):
    """Without result files the pages hold no digit but the interval's level: every number
    on them comes from a summary.csv or a meta.json."""
    res, docs = tmp_path / "results", tmp_path / "docs"
    res.mkdir()
    docs.mkdir()
    (docs / "history.md").write_text(HISTORY)
    pages = gen.render(res, docs, tmp_path, tracked_only=False)
    for path, text in pages.items():
        text = text.replace(gen.CI_LEVEL, "")
        assert not re.search(r"\d", text), (path, re.findall(r".{20}\d.{20}", text)[:3])


def test_only_result_files_git_tracks_are_read(tmp_path):
    res, docs = _tree(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "results/reference/cpu/run-H60"], cwd=tmp_path, check=True)
    skipped: list[str] = []
    dirs = gen.read_runs(res, skipped=skipped)
    assert [d.path for d in dirs] == ["cpu/run-H60"]
    assert "cpu/pace-mpc" in skipped and "cpu/ceiling/pusht" in skipped
    assert len(gen.read_runs(res, tracked_only=False)) == 6


def test_legacy_transfer_columns_read_as_executed():
    old = REPO / "results/reference/h100/open-pusht-n100"
    if not (old / "summary.csv").exists():
        pytest.skip("the legacy reference run is not in this checkout")
    run = gen.Run("h100/open-pusht-n100", gen._read_rows(old / "summary.csv"), {})
    assert "executed_rate" in run.rows[0] and "transfer_rate" not in run.rows[0]
    assert "executed % [" in gen.cell_tables(run)


# -- tables filled in while the site builds (grasp_bench/docsgen/pages.py) ------------------
def test_build_time_tables_cover_every_planner_field_checkpoint_and_command():
    from grasp_bench.docsgen import pages
    from grasp_bench.docsgen.cli import command
    from grasp_bench.planners import REGISTRY
    from grasp_bench.planners.registry import changed_fields

    configs = pages.planner_configs()
    for name in REGISTRY:
        assert f"### `{name}`" in configs
        for field in changed_fields(name):
            assert f"| `{field}` |" in configs
    ckpts = pages.checkpoints()
    for manifest in sorted((REPO / "checkpoints").glob("*.json")):
        assert f"### `{manifest.with_suffix('.pt').name}`" in ckpts
    cli = pages.cli_reference()
    for name in command.commands:
        assert f"### `grasp-bench {name}`" in cli
    assert "--horizon" in cli
    with pytest.raises(ValueError, match="unknown docs marker"):
        pages.expand("<!-- build:nothing -->")
    assert "### `cem`" in pages.expand("x\n<!-- build:planner-configs -->\n")
