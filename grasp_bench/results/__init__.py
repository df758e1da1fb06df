"""Results of runs: what the files hold, summaries with confidence intervals, tables,
files on disk, metadata and the regression check -- one module per concern.

Pure pandas/stdlib: nothing here imports torch at module level (metadata imports it
lazily to record versions and threads).
"""

from grasp_bench.results.meta import busy_warning, collect_meta, load_average, machine_info
from grasp_bench.results.regression import compare_to_baseline, load_summary
from grasp_bench.results.schema import (
    CELL_KEYS,
    EPISODE_COLUMNS,
    HEADLINE,
    METRIC_LABELS,
    METRICS,
    MODE_METRICS,
    MODES,
    SNAPSHOT_COLUMNS,
    SUMMARY_COLUMNS,
    success_column,
    tts_column,
)
from grasp_bench.results.stats import two_proportion_test, wilson_interval
from grasp_bench.results.store import (
    load_run,
    read_csv_cells,
    write_csv_atomic,
    write_json_atomic,
    write_npz_atomic,
    write_text_atomic,
)
from grasp_bench.results.summary import (
    ANYTIME_BUDGETS_S,
    anytime_curve,
    planner_order,
    solved_within,
    summarize,
)
from grasp_bench.results.tables import (
    detail_table,
    format_cell,
    format_seconds,
    markdown_table,
    paper_table,
    paper_table_markdown,
    percent_ci,
    summary_markdown,
)

__all__ = [
    "ANYTIME_BUDGETS_S", "CELL_KEYS", "EPISODE_COLUMNS", "HEADLINE", "METRICS", "METRIC_LABELS",
    "MODES", "MODE_METRICS", "SNAPSHOT_COLUMNS", "SUMMARY_COLUMNS", "anytime_curve",
    "busy_warning", "collect_meta", "compare_to_baseline", "detail_table", "format_cell",
    "format_seconds", "load_average", "load_run", "load_summary", "machine_info",
    "markdown_table", "paper_table", "paper_table_markdown", "percent_ci", "planner_order",
    "read_csv_cells",
    "solved_within", "success_column", "summarize", "summary_markdown", "tts_column",
    "two_proportion_test", "wilson_interval", "write_csv_atomic", "write_json_atomic",
    "write_npz_atomic", "write_text_atomic",
]
