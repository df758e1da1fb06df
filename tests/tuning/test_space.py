"""Every planner's search space: valid ranges, defaults inside, every sample builds."""

import dataclasses

import optuna
import pytest

from grasp_bench.planners import REGISTRY, apply_overrides
from grasp_bench.planners.space import Choice, Float, Int, sample

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize("planner", list(REGISTRY))
def test_space_names_fields_and_holds_the_defaults(planner):
    config_cls = REGISTRY[planner][0]
    space = config_cls.search_space
    assert space, f"{planner} declares no search space"
    fields = {f.name for f in dataclasses.fields(config_cls)}
    defaults = config_cls()
    for name, p in space.items():
        assert name in fields
        assert p.why, f"{planner}.{name}: no source or reason"
        if isinstance(p, Int | Float):
            assert p.low < p.high and (not p.log or p.low > 0)
        assert p.contains(getattr(defaults, name)), f"default {planner}.{name} outside its space"


@pytest.mark.parametrize("planner", list(REGISTRY))
def test_every_sampled_config_constructs(planner):
    space = REGISTRY[planner][0].search_space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(200):
        trial = study.ask()
        params = sample(space, trial)
        assert set(params) == set(space)
        config = apply_overrides(planner, params)  # raises if any value is invalid
        for name, value in params.items():
            assert getattr(config, name) == value
        study.tell(trial, 0.0)
    # the corners too: every low and every high together
    for pick in ("low", "high"):
        corner = {n: (p.values[0] if isinstance(p, Choice) else getattr(p, pick))
                  for n, p in space.items()}
        apply_overrides(planner, corner)


def test_sample_skips_fixed_fields():
    space = {"a": Int(1, 5), "b": Float(0.1, 1.0, log=True)}
    trial = optuna.create_study().ask()
    assert set(sample(space, trial, {"a": 3})) == {"b"}


def test_a_space_naming_no_field_is_refused_at_registration():
    from grasp_bench.planners.registry import register

    @dataclasses.dataclass(frozen=True)
    class Bad:
        iterations: int = 1
        search_space = {"nope": Int(1, 2)}

    with pytest.raises(TypeError, match="names no field"):
        register("bad-space", Bad)(type("P", (), {}))


def test_a_range_holds_its_ends_and_nothing_past_them():
    r = Int(3, 9, why="test")
    assert [v for v in range(1, 12) if r.contains(v)] == list(range(3, 10))
    assert not r.contains(True) and not r.contains(4.0)  # bools and floats are no ints
    f = Float(0.5, 2.0, why="test")
    assert f.contains(0.5) and f.contains(1) and f.contains(2.0)
    assert not f.contains(0.49) and not f.contains(2.01)
    c = Choice(("gd", "cem"), why="test")
    assert c.contains("cem") and not c.contains("sgd")


@pytest.mark.parametrize("space", [Int(1, 2), Float(0.1, 1.0), Choice(("a", "b"))])
def test_search_ranges_are_frozen(space):
    with pytest.raises(dataclasses.FrozenInstanceError):
        space.why = "changed"


def test_a_range_is_described_as_the_tables_print_it():
    from grasp_bench.planners.space import describe

    assert describe(Choice(("randn", "zero"))) == "{randn, zero}"
    assert describe(Float(0.2, 5.0, log=True)) == "0.2 .. 5 (log)"
    assert describe(Int(10, 50)) == "10 .. 50"
    assert describe(None) == ""
