"""Scoring one config: the lexicographic value, the time cap, determinism."""

import itertools
import math

import pytest

from grasp_bench.options import SweepOptions, prepare
from grasp_bench.problems import load_or_generate
from grasp_bench.seeds import TUNING
from grasp_bench.sweep import cell_context
from grasp_bench.tuning.score import Score, score_config


def test_value_orders_executed_then_model_then_time():
    n, cap = 5, 10.0
    scores = [Score(n, m, t, time, time, False) for m, t, time in
              itertools.product(range(n + 1), range(n + 1), (0.0, 3.0, 10.0, 25.0))]
    for a, b in itertools.combinations(scores, 2):
        key_a = (a.executed, a.model, -min(a.time_s, cap))
        key_b = (b.executed, b.model, -min(b.time_s, cap))
        if key_a != key_b:
            assert (a.value(cap) > b.value(cap)) == (key_a > key_b), (a, b)


def test_value_without_a_cap_ignores_time():
    assert Score(4, 2, 1, 1.0, 1.0, False).value(math.inf) == \
        Score(4, 2, 1, 9.0, 9.0, False).value(math.inf)


@pytest.fixture(scope="module")
def setup(tiny_checkpoint):
    prep = prepare(SweepOptions(planners=("gd",), horizons=(10,), episodes=3,
                                checkpoint=str(tiny_checkpoint), problem_split="tuning"))
    return cell_context(prep), prep


def test_score_is_deterministic_under_its_seed(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path))
    ctx, prep = setup
    problems = load_or_generate(prep.task, 10, 3, split="tuning")
    assert all(s in TUNING for s in problems.seeds)
    over = {"iterations": 30, "init": "randn"}
    a = score_config(ctx, problems, "gd", over, seed=3)
    b = score_config(ctx, problems, "gd", over, seed=3)
    assert (a.model, a.executed, a.n, a.capped) == (b.model, b.executed, 3, False)
    assert 0 <= a.model <= 3 and 0 <= a.executed <= 3 and a.time_s > 0


def test_cap_stops_planning_and_judges_the_last_plan_within_it(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("GRASP_BENCH_CACHE", str(tmp_path))
    ctx, prep = setup
    problems = load_or_generate(prep.task, 10, 3, split="tuning")
    full = score_config(ctx, problems, "gd", {"iterations": 400}, seed=0)
    capped = score_config(ctx, problems, "gd", {"iterations": 400}, seed=0,
                          time_cap_s=full.time_s / 4)
    assert capped.capped and not full.capped
    assert capped.time_s <= full.time_s / 4 < capped.spent_s < full.spent_s
    nothing = score_config(ctx, problems, "gd", {"iterations": 400}, seed=0, time_cap_s=1e-9)
    assert nothing.capped and nothing.model == nothing.executed == 0
