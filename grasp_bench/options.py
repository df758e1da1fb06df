"""What a run or sweep is made of: its options, and checking them.

:func:`prepare` validates every option, builds every planner config and loads the world
model, and raises :class:`UserError` (one line) on bad input; nothing is written before it
returns.  :mod:`grasp_bench.sweep` runs what it prepared.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from grasp_bench.defaults import DEFAULT_REPLAN_BUDGET, DEFAULT_THREADS
from grasp_bench.devices import resolve_device
from grasp_bench.errors import UserError
from grasp_bench.models.checkpoint import load_checkpoint
from grasp_bench.objective import OBJECTIVES
from grasp_bench.planners import apply_overrides, parse_overrides
from grasp_bench.planners.registry import check_rules, override_warnings
from grasp_bench.problems import check_horizon, resolve_source
from grasp_bench.results import MODES
from grasp_bench.seeds import SPLITS
from grasp_bench.tasks import LEARNED_MODELS, Task, get_task

__all__ = ["Prepared", "SweepOptions", "longest_validated_horizon", "prepare"]


@dataclass(frozen=True)
class SweepOptions:
    """Everything that determines a run's numbers (compared on ``--resume``)."""

    env: str = "pusht"
    layout: str | None = None
    planners: tuple[str, ...] = ("cem", "gd", "latco", "grasp")
    horizons: tuple[int, ...] = (60,)
    episodes: int = 20
    seed: int = 0
    device: str = "cpu"
    batch_size: int | None = None
    snapshots: int = 16
    overrides: tuple[str, ...] = ()
    checkpoint: str | None = None
    problem_split: str = "evaluation"  # "tuning" for hyperparameter search
    problem_offset: int = 0  # first seed of the problems, an offset into the split
    mode: str = "open"  # open (the paper's) or mpc (closed loop)
    execute: int = 1  # MPC: model steps executed between re-plans
    replan_budget: float = DEFAULT_REPLAN_BUDGET  # MPC: share of iterations per re-plan
    objective: str = "task"  # the goal metric, see grasp_bench.objective
    model: str = "learned"  # the state model; latent, pixel: the others; "simulator": ceiling
    threads: int = DEFAULT_THREADS  # torch CPU threads
    tuned: str | None = None  # tuned-config file, "shipped" for the env's and model's own
    problem_source: str | None = None  # replay, demo or behaviour; None: the task's default

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


@dataclass
class Prepared:
    """Validated, loaded inputs of a sweep: nothing is written before this exists."""

    options: SweepOptions
    task: Task
    model: torch.nn.Module
    manifest: dict
    checkpoint: Path
    device: torch.device
    overrides: dict = field(default_factory=dict)
    #: (planner, H) -> its tuned-file entry's config, the H it was tuned at, its source
    tuned: dict = field(default_factory=dict)
    tuned_file: Path | None = None
    #: one line each, for stderr: what was accepted but may make the numbers mean little
    warnings: list[str] = field(default_factory=list)

    def cell_overrides(self, planner: str, horizon: int) -> dict:
        """The cell's config changes: its tuned config, then ``--set`` (which wins)."""
        tuned = self.tuned.get((planner, horizon))
        return {**(tuned[0] if tuned else {}), **self.overrides.get(planner, {})}


def prepare(opts: SweepOptions) -> Prepared:
    """Check every option and load the model; raises :class:`UserError` on bad input.

    Nothing is written before this returns: every planner config (with its ``--set``
    overrides) is built here too.
    """
    from grasp_bench.models.simulator import SAMPLING_PLANNERS, SimulatorModel
    from grasp_bench.planners import REGISTRY

    task = get_task(opts.env, opts.layout)
    opts = replace(opts, problem_source=resolve_source(task, opts.problem_source))
    if not opts.planners:
        raise UserError("no planners given; expected some of " + ", ".join(REGISTRY))
    for p in opts.planners:
        if p not in REGISTRY:
            raise UserError(f"unknown planner {p!r}; expected some of {', '.join(REGISTRY)}")
    for what, values in (("planners", opts.planners), ("horizons", opts.horizons)):
        twice = [v for i, v in enumerate(values) if v in values[:i]]
        if twice:  # a cell run twice; a second tune study of the same name is refused
            raise UserError(f"--{what} lists {', '.join(map(str, dict.fromkeys(twice)))} "
                            "more than once")
    if opts.problem_split not in ("evaluation", "tuning"):
        raise UserError(f"--split must be evaluation or tuning (got {opts.problem_split!r})")
    checks = [("episodes", opts.episodes > 0, "positive"),
              ("threads", opts.threads > 0, "positive"),
              ("execute", opts.execute > 0, "positive"),
              ("snapshots", opts.snapshots > 0, "positive"),
              ("problem-offset", opts.problem_offset >= 0, ">= 0"),
              ("batch-size", opts.batch_size is None or opts.batch_size > 0, "positive"),
              ("replan-budget", 0 < opts.replan_budget <= 1, "in (0, 1]")]
    for name, ok, bound in checks:
        if not ok:
            value = getattr(opts, name.replace("-", "_"))
            raise UserError(f"--{name} must be {bound} (got {value})")
    split = SPLITS[opts.problem_split]
    if opts.problem_offset + opts.episodes > split.stop - split.start:
        raise UserError(f"--problem-offset {opts.problem_offset} with {opts.episodes} episodes "
                        f"leaves the {opts.problem_split} seed range "
                        f"({split.stop - split.start} seeds)")
    if not 0 <= opts.seed < 2**62:
        raise UserError(f"--seed must be in [0, 2^62) (got {opts.seed})")
    max_threads = 4 * (os.cpu_count() or 1)
    if opts.threads > max_threads:
        raise UserError(f"--threads {opts.threads} is more than 4x this machine's "
                        f"{os.cpu_count()} cores")
    if opts.mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)} (got {opts.mode!r})")
    if opts.objective not in OBJECTIVES:
        raise UserError(f"--objective must be one of {', '.join(OBJECTIVES)} "
                        f"(got {opts.objective!r})")
    for h in opts.horizons:  # before any problem is drawn
        check_horizon(h, opts.problem_source)
    overrides = parse_overrides(list(opts.overrides))
    for p in overrides:
        if p not in opts.planners:
            raise UserError(f"--set names planner {p!r}, which is not in --planners")
    warnings = []
    for p in opts.planners:  # every config is valid before anything runs
        check_rules(p, apply_overrides(p, overrides.get(p, {})))
        warnings += override_warnings(p, overrides.get(p, {}))
    device = resolve_device(opts.device)
    torch.set_num_threads(opts.threads)
    if opts.model == "simulator":
        bad = [p for p in opts.planners if p not in SAMPLING_PLANNERS]
        if bad:
            raise UserError(f"--model simulator serves only sampling planners "
                            f"({', '.join(SAMPLING_PLANNERS)}); drop {', '.join(bad)}")
        model = SimulatorModel(task)
        manifest, ckpt = {"sha256": "simulator"}, Path("simulator")
    elif opts.model in LEARNED_MODELS:
        ckpt = Path(opts.checkpoint) if opts.checkpoint else task.checkpoint_of(opts.model)
        if not ckpt.with_suffix(".pt").exists():
            raise UserError(missing_checkpoint_hint(task, opts.model, ckpt,
                                                    given=bool(opts.checkpoint)))
        model, manifest = load_checkpoint(ckpt, env_id=task.env_id, device=device)
    else:
        raise UserError(f"--model must be one of {', '.join(LEARNED_MODELS)} or simulator "
                        f"(got {opts.model!r})")
    for h in opts.horizons:
        if h <= 0 or h % model.frameskip:
            raise UserError(
                f"horizon {h} is not a positive multiple of the model's frameskip "
                f"{model.frameskip} (try {max(1, round(h / model.frameskip)) * model.frameskip})"
            )
    longest = longest_validated_horizon(manifest)
    beyond = [h for h in opts.horizons if longest is not None and h > longest]
    if beyond:
        warnings.append(f"H = {', '.join(map(str, beyond))} is beyond the longest open-loop "
                        f"horizon the model's manifest reports (H{longest}): its predictions "
                        "there were never validated")
    prep = Prepared(opts, task, model, manifest, ckpt, device, overrides, warnings=warnings)
    if opts.tuned is not None:
        from grasp_bench.tuned import resolve_tuned

        resolve_tuned(prep)
        rule_fields = {"iterations", "sync_every", "sync_steps"}
        for (p, _h), (config, _, _) in prep.tuned.items():  # --set on top of a tuned config
            if rule_fields & set(overrides.get(p, {})):
                check_rules(p, apply_overrides(p, {**config, **overrides[p]}))
    return prep


def missing_checkpoint_hint(task, model: str, ckpt: Path, *, given: bool) -> str:
    """What to do about a checkpoint that is not there: the shipped one of ``model`` is
    trained by its recipe; a path given with ``--checkpoint`` is checked, or written there
    (by ``train --out`` for a built-in architecture, by a plugin's own writer otherwise)."""
    train = (f"grasp-bench train --env {task.name}"
             + (f" --layout {task.layout}" if task.tag != task.name else "")
             + (f" --model {model}" if model != "learned" else ""))
    weights = ckpt.with_suffix(".pt")
    if not given or weights.resolve() == task.checkpoint_of(model).resolve():
        return f"checkpoint {weights} not found; train it with `{train}` or `make checkpoints`"
    where = weights.parent
    hint = "check the path" if where.is_dir() else f"there is no directory {where}"
    return (f"checkpoint {weights} not found ({hint}); write one there with `{train} --out "
            f"{weights}`, or a plugin model's with its own writer (`api.save_checkpoint`)")


def longest_validated_horizon(manifest: dict) -> int | None:
    """The longest H of the open-loop accuracy a checkpoint's manifest reports
    (``validation.open_loop.H80`` -> 80); None when it reports none."""
    validation = manifest.get("validation")
    open_loop = validation.get("open_loop") if isinstance(validation, dict) else None
    if not isinstance(open_loop, dict):
        return None
    hs = [int(k[1:]) for k in open_loop if isinstance(k, str) and k[:1] == "H"
          and k[1:].isdigit()]
    return max(hs) if hs else None
