"""Planners compared problem by problem: the same problems, so a paired test.

Two planners' rates in one cell share their problems (``episode`` k of a cell is problem
k of that horizon), so their difference is tested on the problems only one of them solved
(the exact McNemar test) rather than by comparing two Wilson intervals, which ignores
the pairing and is far more conservative.  With many planners against one reference the
p-values are also given Holm-adjusted over the whole table.
"""

from __future__ import annotations

import pandas as pd

from grasp_bench.errors import UserError
from grasp_bench.results.schema import HEADLINE, MODES, success_column
from grasp_bench.results.stats import holm, mcnemar_exact
from grasp_bench.results.store import as_nullable_bool
from grasp_bench.results.summary import planner_order
from grasp_bench.results.tables import markdown_table

#: The problem a row was judged on, within a run: env, mode, problem source, H, index and
#: the episode's seed (runs merged from other ``--seed`` values never pair).
PROBLEM_KEYS = ("env", "mode", "problem_source", "horizon", "episode", "seed")


def paired_comparison(episodes: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Every other planner against ``reference`` on the headline metric of each mode
    (executed open loop, MPC closed loop), per (env, mode, H), on the problems both have a
    result for.  One row per (env, mode, H, planner): ``n`` shared problems, both rates,
    the problems only the reference / only the planner solved, the exact McNemar ``p``
    and ``p_holm`` (Holm over every row of the table).  :class:`UserError` when the
    reference planner is not in the run."""
    if reference not in set(episodes["planner"]):
        raise UserError(f"planner {reference!r} is not in this run (it has "
                        f"{', '.join(planner_order(episodes['planner'].unique()))})")
    frame = episodes.copy()
    for col in PROBLEM_KEYS:  # a key missing or empty in old files must not drop rows
        fill = "" if col == "problem_source" else 0
        frame[col] = frame[col].fillna(fill) if col in frame else fill
    repeated = frame.duplicated(subset=[*PROBLEM_KEYS, "planner"])
    if repeated.any():
        row = frame[repeated].iloc[0]
        raise UserError(f"planner {row['planner']} has {int(repeated.sum())} repeated "
                        f"problem(s) (e.g. H={row['horizon']}, episode {row['episode']}): "
                        "not one run's cells")
    rows = []
    for (env, mode), part in frame.groupby(["env", "mode"], sort=False):
        col = success_column(HEADLINE[mode])
        ok = as_nullable_bool(part[col])
        part = part[ok.notna()].assign(ok=ok[ok.notna()].astype(bool).astype(int))
        wide = part.pivot_table(index=list(PROBLEM_KEYS), columns="planner", values="ok",
                                aggfunc="first")
        if reference not in wide:
            continue
        for planner in planner_order(p for p in wide.columns if p != reference):
            both = wide[[reference, planner]].dropna()
            for h, cell in both.groupby(level="horizon", sort=True):
                ref, other = cell[reference].astype(bool), cell[planner].astype(bool)
                only_ref, only_other = int((ref & ~other).sum()), int((other & ~ref).sum())
                rows.append({"env": env, "mode": mode, "horizon": int(h), "planner": planner,
                             "n": len(cell), "reference_rate": ref.mean(),
                             "planner_rate": other.mean(), "only_reference": only_ref,
                             "only_planner": only_other,
                             "p": mcnemar_exact(only_ref, only_other)})
    out = pd.DataFrame(rows, columns=["env", "mode", "horizon", "planner", "n",
                                      "reference_rate", "planner_rate", "only_reference",
                                      "only_planner", "p"])
    if out.empty:
        raise UserError(f"no problem was run by {reference!r} and another planner")
    out["p_holm"] = holm(out["p"].tolist())
    order = out["mode"].map({m: i for i, m in enumerate(MODES)})
    return out.assign(_order=order).sort_values(["env", "_order", "horizon"], kind="stable") \
        .drop(columns="_order").reset_index(drop=True)


def paired_markdown(episodes: pd.DataFrame, reference: str) -> str:
    """:func:`paired_comparison` as a Markdown table (rates in %, p to 3 digits)."""
    t = paired_comparison(episodes, reference)
    shown = pd.DataFrame({
        "env": t["env"], "mode": t["mode"], "H": t["horizon"], "planner": t["planner"],
        "n": t["n"], f"{reference} %": (100 * t["reference_rate"]).round().astype(int),
        "planner %": (100 * t["planner_rate"]).round().astype(int),
        f"only {reference}": t["only_reference"], "only planner": t["only_planner"],
        "p (exact McNemar)": t["p"].map(lambda v: f"{v:.3g}"),
        "p (Holm)": t["p_holm"].map(lambda v: f"{v:.3g}")})
    return "\n".join([
        f"# Each planner against {reference}, problem by problem", "",
        f"Headline success (executed open loop, MPC closed loop) on the problems both ran; "
        f"only {reference} / only planner: the problems one of the two solved; p: two-sided "
        f"exact McNemar test on those, and Holm-adjusted over the {len(t)} rows.", "",
        markdown_table(shown), ""])
