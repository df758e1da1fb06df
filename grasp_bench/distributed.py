"""Sweeps on a Ray cluster (``grasp-bench sweep --ray``; ``pip install -e .[ray]``).

Every (planner, H, batch of problems) of the cells still to run becomes one Ray task that
plans its batch with :func:`grasp_bench.cells.plan_cell` (the same code and seeds as a
serial sweep).  The driver generates the problems, and writes each cell, with the same
atomic files as the serial path, as soon as its last batch is back, so a cell finished
on any worker is never redone by a resume.  A worker that dies mid-task is replaced and
its task run again by Ray (``max_retries``); results do not depend on which worker ran
what, only timings do.

Only the driver writes: it holds the run directory's claim (:mod:`grasp_bench.claim`)
for the sweep's life, and a task gets no path, only the context, the options and its
problems, and returns its :class:`~grasp_bench.bench.CellResult`.  A worker on another
node therefore needs no access to the run directory, and a second sweep, resume or
report of that directory is refused by the driver's claim wherever the workers run.

``address``: ``"local"`` starts a cluster on this machine's cores (one CPU per
``--threads``, so ``cores // threads`` tasks at once); ``"auto"`` joins the cluster
this machine is part of (``ray start`` ran here); ``ray://HOST:10001`` connects a client
to a remote head.  Every node needs the same grasp-bench and torch installed; the world
model travels with the tasks, so nodes need no checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from grasp_bench.bench import CellContext, CellResult
from grasp_bench.cells import batch_count, merge_parts, plan_cell
from grasp_bench.errors import UserError

__all__ = ["MAX_RETRIES", "connect", "run_on_ray"]

MAX_RETRIES = 3  # reruns of a task whose worker died


def connect(address: str, *, num_cpus: int | None = None):
    """``ray`` connected to ``address`` (see the module docstring); UserError without Ray."""
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install -e '.[ray]'") from None
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False,
                  "configure_logging": False}
        try:
            if address == "local":
                ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
            else:
                ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise UserError(f"cannot reach the Ray cluster at {address}: "
                            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return ray


def _plan_batch(ctx: CellContext, options, problems, planner: str, overrides: dict,
                batch: int) -> CellResult:
    """One Ray task: batch ``batch`` of a cell, with the run's torch threads."""
    import torch

    from grasp_bench.plugins import load_plugins

    load_plugins()  # a worker process registers the same plugin planners as the driver
    torch.set_num_threads(options.threads)
    return plan_cell(ctx, options, problems, planner, overrides, batches=[batch])


def run_on_ray(
    ctx: CellContext,
    prep,
    todo: list,
    finished: Callable[[str, int, CellResult], None],
    *,
    address: str = "local",
    on_cell_start: Callable[[str, int, int], Callable[[int], None] | None] | None = None,
) -> None:
    """Run the cells ``todo`` (``(planner, H, problems)``) as Ray tasks, one per batch, and
    hand each finished cell to ``finished(planner, H, cell)`` in the driver."""
    opts = prep.options
    ray = connect(address)
    resources = {"num_cpus": opts.threads,
                 "num_gpus": 1 if prep.device.type == "cuda" else 0}
    task = ray.remote(max_retries=MAX_RETRIES, **resources)(_plan_batch)
    ctx_ref, opts_ref = ray.put(ctx), ray.put(opts)
    cells, where = {}, {}
    for planner, h, problems in todo:
        n = batch_count(len(problems), opts.batch_size)
        tick = on_cell_start(planner, h, len(problems)) if on_cell_start else None
        refs = [task.remote(ctx_ref, opts_ref, problems, planner,
                            prep.cell_overrides(planner, h), b) for b in range(n)]
        cells[(planner, h)] = {"parts": [None] * n, "tick": tick, "done": 0}
        where.update({ref: (planner, h, b) for b, ref in enumerate(refs)})
    pending = list(where)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        planner, h, b = where[ready[0]]
        cell = cells[(planner, h)]
        try:
            cell["parts"][b] = ray.get(ready[0])
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as e:
            raise UserError(f"a Ray worker died {MAX_RETRIES + 1} times on {planner} H={h} "
                            f"batch {b} ({type(e).__name__}); finished cells are saved, "
                            "resume the sweep") from None
        cell["done"] += len(cell["parts"][b].episodes)
        if cell["tick"]:
            cell["tick"](cell["done"])
        if all(p is not None for p in cell["parts"]):
            finished(planner, h, merge_parts(cell["parts"]))
            del cells[(planner, h)]
