"""The tuning protocol with a scripted score: search, confirmation, the default's guard,
the seed ranges it touches, resume of an interrupted study."""

import optuna
import pytest

from grasp_bench.seeds import EVALUATION, TUNING
from grasp_bench.sweep import cell_context
from grasp_bench.tuning import study as study_mod
from grasp_bench.tuning.run import TuneOptions, prepare_tuning
from grasp_bench.tuning.score import Score
from grasp_bench.tuning.study import FRESH_OFFSET, SEARCH_OFFSET, StudySpec, tune_one


@pytest.fixture(scope="module")
def ctx(tiny_checkpoint):
    prep, _ = prepare_tuning(TuneOptions(planners=("gd",), horizons=(10,), problems=10,
                                         checkpoint=str(tiny_checkpoint), device="cpu"))
    return cell_context(prep)


class Scripted:
    """Stands in for ``score_config``: success is a function of the config; records every
    call's problem seeds and planner seed.  ``capped_at``: configs of more iterations are
    judged at that iteration, as the time cap would."""

    def __init__(self, successes, capped_at=None):
        self.successes, self.calls, self.capped_at = successes, [], capped_at

    def __call__(self, ctx, problems, planner, overrides, *, seed, time_cap_s=float("inf")):
        self.calls.append((list(problems.seeds), seed, dict(overrides)))
        m = self.successes(overrides)
        its = overrides.get("iterations", 1000)
        capped = self.capped_at is not None and its > self.capped_at
        # the model's verdict is the reverse of the executed one: adoption must follow
        # the executed successes, the headline
        return Score(len(problems), len(problems) - m, m, 1.0, 1.0, capped,
                     self.capped_at if capped else its)


def spec(trials=12, **kw):
    return StudySpec("gd", 10, trials, 10, seed=0, time_cap=3.0, rescore=3, **kw)


def run(ctx, scripted, monkeypatch, s=None, **kw):
    monkeypatch.setattr(study_mod, "score_config", scripted)
    storage = optuna.storages.InMemoryStorage()
    return tune_one(ctx, s or spec(), storage, **kw), storage


def test_a_clearly_better_config_replaces_the_default(ctx, monkeypatch):
    scripted = Scripted(lambda o: 10 if o["lr"] > 0.1 else 1)
    entry, _ = run(ctx, scripted, monkeypatch)
    assert entry["source"] == "tuned" and entry["config"]["lr"] > 0.1
    assert entry["fresh"]["successes_executed"] == 10
    assert entry["default_fresh"]["successes_executed"] == 1
    assert entry["trials"] == 12 and len(entry["candidates"]) == 4  # default + 3 best


def test_the_default_stays_when_nothing_beats_it_beyond_its_interval(ctx, monkeypatch):
    scripted = Scripted(lambda o: 6 if o["lr"] > 0.1 else 5)  # 6/10 is inside [24%, 76%]
    entry, _ = run(ctx, scripted, monkeypatch)
    assert entry["source"] == "default" and entry["config"] == {}
    assert "default kept" in entry["reason"]
    assert entry["best_tuned"]["fresh"]["successes_executed"] == 6


def test_tuning_touches_tuning_seeds_only_and_confirms_with_fresh_ones(ctx, monkeypatch):
    scripted = Scripted(lambda o: 3)
    run(ctx, scripted, monkeypatch)
    search = [c for c in scripted.calls if c[1] == 0]
    fresh = [c for c in scripted.calls if c[1] == 1]
    assert len(search) == 12 and len(fresh) == 4
    seeds = {s for c in scripted.calls for s in c[0]}
    assert all(s in TUNING and s not in EVALUATION for s in seeds)
    # replay problems skip seeds whose segment starts solved: the first 10 accepted from each
    for calls, offset in ((search, SEARCH_OFFSET), (fresh, FRESH_OFFSET)):
        drawn = {s for c in calls for s in c[0]}
        assert len(drawn) == 10 and min(drawn) == TUNING.start + offset
        assert max(drawn) < TUNING.start + offset + 100


def test_trial_zero_is_the_default_and_fixed_fields_are_not_searched(ctx, monkeypatch):
    scripted = Scripted(lambda o: 3)
    run(ctx, scripted, monkeypatch, spec(trials=5, fixed=(("iterations", 7),)))
    first = scripted.calls[0][2]
    assert first == {"lr": 0.05, "action_noise": 0.003, "init": "randn", "iterations": 7}
    assert all(c[2]["iterations"] == 7 for c in scripted.calls)


def test_an_interrupted_trial_is_run_again_and_no_finished_one_is_repeated(ctx, monkeypatch):
    calls = {"n": 0}

    def flaky(o):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return 3

    scripted = Scripted(flaky)
    monkeypatch.setattr(study_mod, "score_config", scripted)
    storage = optuna.storages.InMemoryStorage()
    with pytest.raises(KeyboardInterrupt):
        tune_one(ctx, spec(trials=6), storage)
    killed = scripted.calls[3][2]
    tune_one(ctx, spec(trials=6), storage, resume=True)
    study = optuna.load_study(study_name=spec().name, storage=storage)
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") == 6 and states.count("FAIL") == 1
    assert scripted.calls[4][2] == killed  # the interrupted config ran first on resume
    done = [repr(sorted(t.params.items())) for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == len(set(done))


def test_an_existing_study_needs_resume_and_the_same_settings(ctx, monkeypatch):
    from grasp_bench.errors import UserError

    _, storage = run(ctx, Scripted(lambda o: 3), monkeypatch, spec(trials=3))
    with pytest.raises(UserError, match="--resume"):
        tune_one(ctx, spec(trials=3), storage)
    with pytest.raises(UserError, match="other settings"):
        tune_one(ctx, spec(trials=4), storage, resume=True)


def test_a_config_stopped_by_the_cap_keeps_the_iterations_it_was_judged_at(ctx, monkeypatch):
    scripted = Scripted(lambda o: 10 if o["lr"] > 0.1 else 1, capped_at=300)
    entry, _ = run(ctx, scripted, monkeypatch)
    assert entry["source"] == "tuned"
    assert entry["config"]["iterations"] == min(300, entry["best_tuned"]["params"]["iterations"])
