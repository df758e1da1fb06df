"""One cell's work, whoever runs it: plan a (planner, H) problem set open-loop or closed
loop, whole or a share of its batches, and put the shares back together.

The sweep runs whole cells in its own process; :mod:`grasp_bench.distributed` runs one
batch of problems per Ray task and merges them here, so both paths go through the same
code with the same seeds (batch ``b`` is planned with seed ``seed + b`` either way).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence

import numpy as np
import pandas as pd

from grasp_bench.bench import CellContext, CellResult, run_cell
from grasp_bench.mpc import run_mpc_cell
from grasp_bench.problems import ProblemSet

__all__ = ["batch_count", "merge_parts", "plan_cell"]


def batch_count(n: int, batch_size: int | None) -> int:
    """Batches of a cell of ``n`` problems."""
    return math.ceil(n / (batch_size or n))


def plan_cell(ctx: CellContext, options, problems: ProblemSet, planner: str, overrides: dict,
              *, progress: Callable[[int], None] | None = None,
              batches: Collection[int] | None = None) -> CellResult:
    """Run a cell (or its ``batches`` only) in ``options.mode`` (a ``SweepOptions``)."""
    if options.mode == "mpc":
        return run_mpc_cell(ctx, problems, planner, overrides, execute=options.execute,
                            replan_budget=options.replan_budget,
                            batch_size=options.batch_size, progress=progress, batches=batches)
    return run_cell(ctx, problems, planner, overrides, batch_size=options.batch_size,
                    snapshots=options.snapshots, progress=progress, batches=batches)


def merge_parts(parts: Sequence[CellResult]) -> CellResult:
    """The cell from its batches' results, in batch order; a plan array is kept when every
    part has it with the same trailing shape (as the whole cell's run keeps it)."""
    episodes = pd.concat([p.episodes for p in parts], ignore_index=True)
    snapshots = pd.concat([p.snapshots for p in parts], ignore_index=True)
    keys = set.intersection(*(set(p.plans) for p in parts)) if parts else set()
    plans = {k: np.concatenate([p.plans[k] for p in parts]) for k in sorted(keys)
             if len({p.plans[k].shape[1:] for p in parts}) == 1}
    return CellResult(episodes, snapshots, plans)
