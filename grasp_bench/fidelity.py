"""Reference fidelity: can a world model judge a true solution?

The share of problems whose *own* reference actions (which reach the goal in the
simulator by construction) also reach it under the model: its rollout from the encoded
start, decoded, passes the env's success test.  A model far below 100 % cannot tell a
planner's true solutions from its failures, and a planner scoring above it under the
model is exploiting the model's errors.  Reported per run cell (``fidelity``), and per
checkpoint on validation problems (``grasp-bench models``).
"""

from __future__ import annotations

import numpy as np
import torch

from grasp_bench.judging import reference_success
from grasp_bench.models.base import start_latents
from grasp_bench.problems import generate
from grasp_bench.results import wilson_interval
from grasp_bench.tasks import Task

#: Horizons (env steps) and problems per horizon of a checkpoint's fidelity report.
FIDELITY_HORIZONS = (40, 60, 80)
FIDELITY_PROBLEMS = 100


@torch.no_grad()
def reference_fidelity(task: Task, model, *, horizons=FIDELITY_HORIZONS,
                       n: int = FIDELITY_PROBLEMS, split: str = "validation",
                       source: str | None = None) -> dict:
    """``{"H40": {"rate": .., "ci": [lo, hi], "n": ..}, ..., "source": .., "split": ..}``
    on ``n`` problems per horizon of ``source`` (default: the task's) from ``split``."""
    out: dict = {}
    for h in horizons:
        problems = generate(task, h, n, split=split, source=source)
        z0 = start_latents(model, torch.as_tensor(problems.starts, dtype=torch.float32),
                           torch.as_tensor(problems.past_states(), dtype=torch.float32))
        ok = reference_success(task, model, z0, problems, slice(0, n), problems.goals)
        k = int(np.sum(ok))
        out[f"H{h}"] = {"rate": round(k / n, 4), "ci": [round(x, 4) for x in
                                                       wilson_interval(k, n)], "n": n}
        source = problems.source
    return {**out, "source": source, "split": split}
