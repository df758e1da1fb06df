"""The tuning protocol: an Optuna study per (planner, H), confirmed on fresh problems.

For each (planner, H), on the **tuning** split only:

1. Search: a TPE study (Optuna, SQLite storage, so every trial is inspectable and a killed
   search resumes) of ``trials`` trials on ``problems`` problems (tuning offset
   :data:`SEARCH_OFFSET`, planner seed ``seed``).  Trial 0 is the default config; its
   planning time sets the cap, ``time_cap`` x that, for every later trial.  Each trial's
   value is :meth:`Score.value`: success of the executed plans, then under the model,
   then time.
2. Confirmation: the ``rescore`` best distinct configs and the default are scored again on
   ``problems`` fresh problems (offset :data:`FRESH_OFFSET`) with planner seed ``seed + 1``;
   the winner is the best on average over both scores.
3. Decision: the winner replaces the default only when its executed success on the
   fresh problems lies above the default's 95 % Wilson interval there; otherwise the
   default stays and the entry says so.  A config stopped by the cap on the fresh
   problems keeps the iterations of the plan judged there, so it never runs past it.

A trial killed mid-run (Ctrl-C or SIGKILL) is marked failed on resume and its config
queued again, so no finished trial is repeated and none is lost.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from grasp_bench.bench import CellContext
from grasp_bench.errors import UserError
from grasp_bench.planners import REGISTRY
from grasp_bench.planners.space import sample
from grasp_bench.problems import load_or_generate
from grasp_bench.results import wilson_interval
from grasp_bench.results.meta import cpu_model, git_sha
from grasp_bench.tuning.score import Score, score_config

__all__ = ["FRESH_OFFSET", "SEARCH_OFFSET", "StudySpec", "tune_one"]

SEARCH_OFFSET = 0  # first tuning seed of the search problems
FRESH_OFFSET = 500_000  # first tuning seed of the confirmation problems


@dataclass(frozen=True)
class StudySpec:
    """One (planner, H) study and everything that decides its numbers."""

    planner: str
    horizon: int
    trials: int
    problems: int
    seed: int  # TPE sampler and search planner seed; seed + 1 confirms
    time_cap: float  # cap = time_cap x the default's planning time
    rescore: int  # best configs confirmed on fresh problems
    fixed: tuple[tuple[str, object], ...] = ()  # fields held fixed (``--set``)
    source: str = "replay"  # problem source (grasp_bench.problems)

    @property
    def name(self) -> str:
        return f"{self.planner}-H{self.horizon}-P{self.problems}-{self.source}"

    def protocol(self, model_sha256: str, objective: str) -> dict:
        return {"trials_per_planner": self.trials, "problems": self.problems,
                "split": "tuning", "search_offset": SEARCH_OFFSET,
                "fresh_offset": FRESH_OFFSET, "search_seed": self.seed,
                "fresh_seed": self.seed + 1, "sampler": f"TPE(seed={self.seed})",
                "time_cap_factor": self.time_cap, "rescored": self.rescore,
                "fixed": dict(self.fixed), "objective": objective,
                "problem_source": self.source, "score": "executed, then model, then time",
                "model_sha256": model_sha256}


def summary(score: Score) -> dict:
    """A score with its rates and 95 % Wilson intervals."""
    n = score.n
    return {"n": n, "successes_executed": score.executed, "successes_model": score.model,
            "rate_executed": score.executed / n,
            "ci_executed": list(wilson_interval(score.executed, n)),
            "rate_model": score.model / n, "ci_model": list(wilson_interval(score.model, n)),
            "time_s": score.time_s, "capped": score.capped, "iterations": score.iterations}


def _score(d: dict) -> Score:
    d = {"executed": d.get("transfer"), **d}  # scores stored when "executed" was "transfer"
    return Score(**{k: d[k] for k in ("n", "model", "executed", "time_s", "spent_s", "capped")},
                 iterations=d.get("iterations"))


def _open_study(spec: StudySpec, storage, protocol: dict, resume: bool):
    import optuna

    names = optuna.study.get_all_study_names(storage)
    if spec.name in names and not resume:
        raise UserError(f"study {spec.name} already exists in the storage; pass --resume to "
                        "finish it, or another --storage")
    study = optuna.create_study(
        storage=storage, study_name=spec.name, direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=spec.seed))
    if spec.name not in names:
        study.set_user_attr("protocol", protocol)
        defaults = REGISTRY[spec.planner][0]()
        space = REGISTRY[spec.planner][0].search_space
        study.enqueue_trial({k: getattr(defaults, k) for k in space if k not in dict(spec.fixed)},
                            user_attrs={"default": True})
    elif study.user_attrs.get("protocol") != protocol:
        raise UserError(f"study {spec.name} was made with other settings "
                        f"({study.user_attrs.get('protocol')}); use them or another --storage")
    else:  # resumed: a sampler seeded as before would draw the first session's configs again
        study.sampler = optuna.samplers.TPESampler(seed=spec.seed + len(study.trials))
    return study


def _requeue(study, trial) -> None:
    """Mark a trial that did not finish as failed and queue its config again."""
    from optuna.trial import TrialState

    study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
    study.enqueue_trial(dict(trial.params), user_attrs=dict(trial.user_attrs))


def tune_one(
    ctx: CellContext,
    spec: StudySpec,
    storage,
    *,
    resume: bool = False,
    on_trial: Callable[[int, int], None] | None = None,
) -> dict:
    """Run (or finish) one study, confirm its best configs; returns the tuned-file entry.

    ``on_trial(done, total)`` reports finished trials.  ``storage`` is an Optuna storage
    (URL or object).
    """
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    protocol = spec.protocol(ctx.model_info["sha256"], ctx.objective)
    study = _open_study(spec, storage, protocol, resume)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        _requeue(study, t)  # killed mid-trial in an earlier session
    space, fixed = REGISTRY[spec.planner][0].search_space, dict(spec.fixed)
    problems = load_or_generate(ctx.task, spec.horizon, spec.problems, split="tuning",
                                offset=SEARCH_OFFSET, source=spec.source)

    def complete():
        return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))

    while (done := len(complete())) < spec.trials:
        if on_trial:
            on_trial(done, spec.trials)
        trial = study.ask()
        try:
            params = sample(space, trial, fixed)
            cap = study.user_attrs.get("time_cap_s", math.inf)
            score = score_config(ctx, problems, spec.planner, {**params, **fixed},
                                 seed=spec.seed, time_cap_s=cap)
        except BaseException:
            _requeue(study, trial)
            raise
        if trial.user_attrs.get("default"):
            cap = spec.time_cap * max(score.time_s, 1e-3)
            study.set_user_attr("time_cap_s", cap)
            study.set_user_attr("default_time_s", score.time_s)
        trial.set_user_attr("score", score.to_dict())
        study.tell(trial, score.value(cap))
    if on_trial:
        on_trial(spec.trials, spec.trials)
    return _confirm(ctx, spec, study, complete(), fixed, protocol)


def _confirm(ctx: CellContext, spec: StudySpec, study, trials, fixed: dict,
             protocol: dict) -> dict:
    """Steps 2 and 3 of the protocol (each fresh score kept in the study, so a resume
    does not redo it)."""
    cap = study.user_attrs["time_cap_s"]
    default = next(t for t in trials if t.user_attrs.get("default"))
    best, seen = [], {repr(sorted(default.params.items()))}
    for t in sorted(trials, key=lambda t: t.value, reverse=True):
        key = repr(sorted(t.params.items()))
        if key not in seen and len(best) < spec.rescore:
            best.append(t)
            seen.add(key)
    fresh = load_or_generate(ctx.task, spec.horizon, spec.problems, split="tuning",
                             offset=FRESH_OFFSET, source=spec.source)
    scores = {}
    for t in [default, *best]:
        key = f"fresh:{t.number}"
        old = study.user_attrs.get(key, {})
        if key not in study.user_attrs or (old.get("capped") and "iterations" not in old):
            # (a capped score of a version that did not keep its iteration is redone)
            s = score_config(ctx, fresh, spec.planner, {**t.params, **fixed},
                             seed=spec.seed + 1, time_cap_s=cap)
            study.set_user_attr(key, s.to_dict())
        scores[t.number] = _score(study.user_attrs[key])
    mean = {t.number: (t.value + scores[t.number].value(cap)) / 2 for t in [default, *best]}
    winner = max(best, key=lambda t: mean[t.number]) if best else default
    d_fresh, w_fresh = scores[default.number], scores[winner.number]
    _, default_high = wilson_interval(d_fresh.executed, d_fresh.n)
    adopted = winner is not default and w_fresh.executed / w_fresh.n > default_high
    if adopted:
        reason = (f"trial {winner.number}: {w_fresh.executed}/{w_fresh.n} executed on "
                  f"fresh problems, above the default's {d_fresh.executed}/{d_fresh.n} "
                  f"(95% interval up to {default_high:.0%})")
    else:
        reason = (f"default kept: the best tuned config (trial {winner.number}, "
                  f"{w_fresh.executed}/{w_fresh.n} executed on fresh problems) is not above "
                  f"the default's {d_fresh.executed}/{d_fresh.n} beyond its 95% interval "
                  f"(up to {default_high:.0%})")
    spent = sum(t.user_attrs.get("score", {}).get("spent_s", 0.0) for t in study.trials)
    spent += sum(v["spent_s"] for k, v in study.user_attrs.items() if k.startswith("fresh:"))
    chosen = winner if adopted else default
    config = {**(dict(winner.params) if adopted else {}), **fixed}
    judged = scores[chosen.number]
    if judged.capped and judged.iterations:  # keep what was judged: no run past the cap
        config["iterations"] = min(judged.iterations, config.get("iterations", judged.iterations))
    return {
        "source": "tuned" if adopted else "default",
        "config": config,
        "reason": reason,
        "search": summary(_score(chosen.user_attrs["score"])),
        "fresh": summary(scores[chosen.number]),
        "default_search": summary(_score(default.user_attrs["score"])),
        "default_fresh": summary(d_fresh),
        "best_tuned": {"trial": winner.number, "params": dict(winner.params),
                       "fresh": summary(w_fresh)},
        "candidates": [{"trial": t.number, "params": dict(t.params), "search_value": t.value,
                        "fresh_value": scores[t.number].value(cap), "mean": mean[t.number]}
                       for t in [default, *best]],
        "trials": len(trials),
        "failed_trials": sum(t.state.name == "FAIL" for t in study.trials),
        "planner_seconds": round(spent, 3),
        "default_time_s": study.user_attrs["default_time_s"],
        "time_cap_s": cap,
        "protocol": protocol,
        "study": spec.name,
        "device": ctx.device.type, "threads": ctx.threads, "cpu": cpu_model(),
        "git_sha": git_sha(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def trials_frame(study):
    """Every trial of a study as rows (state, default flag, value, scores, params)."""
    import json

    import pandas as pd

    rows = []
    for t in study.trials:
        s = t.user_attrs.get("score", {})
        rows.append({"trial": t.number, "state": t.state.name,
                     "default": bool(t.user_attrs.get("default")), "value": t.value,
                     "executed_successes": s.get("executed", s.get("transfer")),
                     "model_successes": s.get("model"),
                     "n": s.get("n"), "time_s": s.get("time_s"), "spent_s": s.get("spent_s"),
                     "capped": s.get("capped"), "params": json.dumps(t.params, sort_keys=True)})
    return pd.DataFrame(rows)

