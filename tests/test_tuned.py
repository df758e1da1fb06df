"""Tuned-config files: nearest-H lookup, refusal of damaged files and of other models."""

import json

import pytest

from grasp_bench.errors import UserError
from grasp_bench.options import SweepOptions, prepare
from grasp_bench.tuned import FORMAT, load_tuned, lookup, record_entry


def entry(source="replay", **config):  # Push-T's default source
    return {"source": "tuned", "config": config, "protocol": {"problem_source": source}}


def test_lookup_takes_the_exact_then_the_nearest_then_the_shorter_horizon():
    data = {"entries": {"gd": {"40": entry(lr=0.1), "80": entry(lr=0.2)}}}
    assert lookup(data, "gd", 40) == ({"lr": 0.1}, 40)
    assert lookup(data, "gd", 70) == ({"lr": 0.2}, 80)
    assert lookup(data, "gd", 60) == ({"lr": 0.1}, 40)  # a tie goes to the shorter H
    assert lookup(data, "cem", 60) is None


def test_record_entry_merges_and_refuses_another_model(tmp_path):
    path = tmp_path / "t.json"
    kw = {"env": "pusht", "kind": "statemlp", "sha256": "abc"}
    record_entry(path, planner="gd", horizon=60, entry=entry(lr=0.1), **kw)
    record_entry(path, planner="gd", horizon=40, entry=entry(lr=0.2), **kw)
    data = load_tuned(path)
    assert list(data["entries"]["gd"]) == ["40", "60"]
    with pytest.raises(UserError, match="another env or model"):
        record_entry(path, planner="gd", horizon=40, entry=entry(), **{**kw, "sha256": "x"})
    assert load_tuned(path) == data  # untouched
    with pytest.raises(UserError, match="tuned on replay problems, not behaviour"):
        record_entry(path, planner="gd", horizon=80, entry=entry("behaviour"), **kw)
    assert load_tuned(path) == data


@pytest.mark.parametrize("text", ["{", "[]", json.dumps({"format": "other", "entries": {}}),
                                  json.dumps({"format": FORMAT, "entries": {"gd": {"x": {}}}})])
def test_damaged_files_are_one_clear_error(tmp_path, text):
    (tmp_path / "t.json").write_text(text)
    with pytest.raises(UserError):
        load_tuned(tmp_path / "t.json")


def test_tuned_configs_of_another_model_are_refused_and_set_wins(tiny_checkpoint, tmp_path):
    from grasp_bench.models.checkpoint import load_checkpoint

    _, manifest = load_checkpoint(tiny_checkpoint, env_id="grasp_bench/PushT-v0")
    path = tmp_path / "t.json"
    record_entry(path, env="pusht", kind="statemlp", sha256="0" * 64, planner="gd",
                 horizon=10, entry=entry(lr=0.2, iterations=9))
    opts = SweepOptions(planners=("gd",), horizons=(10,), episodes=2, tuned=str(path),
                        checkpoint=str(tiny_checkpoint), overrides=("gd.iterations=3",))
    with pytest.raises(UserError, match="tuned for"):
        prepare(opts)
    path.unlink()
    record_entry(path, env="pusht", kind="statemlp", sha256=manifest["sha256"], planner="gd",
                 horizon=10, entry=entry(lr=0.2, iterations=9))
    prep = prepare(opts)
    assert prep.cell_overrides("gd", 10) == {"lr": 0.2, "iterations": 3}


def test_an_ablation_runs_tuned_grasp_without_its_ablated_fields(tiny_checkpoint, tmp_path):
    from grasp_bench.models.checkpoint import load_checkpoint

    _, manifest = load_checkpoint(tiny_checkpoint, env_id="grasp_bench/PushT-v0")
    path = tmp_path / "t.json"
    tuned = {"iterations": 40, "sync_every": 20, "noise": 0.0, "gamma": 0.05}
    record_entry(path, env="pusht", kind="statemlp", sha256=manifest["sha256"],
                 planner="grasp", horizon=10, entry=entry(**tuned))
    prep = prepare(SweepOptions(planners=("grasp-nosync", "grasp-nogoal"), horizons=(10,),
                                episodes=2, tuned=str(path), checkpoint=str(tiny_checkpoint)))
    assert prep.cell_overrides("grasp-nosync", 10) == {"iterations": 40, "noise": 0.0,
                                                        "gamma": 0.05}
    assert prep.cell_overrides("grasp-nogoal", 10) == {"iterations": 40, "sync_every": 20,
                                                        "noise": 0.0}


def test_configs_tuned_on_other_problems_are_refused(tiny_checkpoint, tmp_path):
    from grasp_bench.models.checkpoint import load_checkpoint

    _, manifest = load_checkpoint(tiny_checkpoint, env_id="grasp_bench/PushT-v0")
    path = tmp_path / "t.json"
    legacy = {"source": "tuned", "config": {"lr": 0.2}}  # no protocol: random-push problems
    record_entry(path, env="pusht", kind="statemlp", sha256=manifest["sha256"], planner="gd",
                 horizon=10, entry=legacy)
    opts = SweepOptions(planners=("gd",), horizons=(10,), episodes=2, tuned=str(path),
                        checkpoint=str(tiny_checkpoint))
    with pytest.raises(UserError, match="tuned on behaviour problems, not this run's replay"):
        prepare(opts)
    with pytest.raises(UserError, match="not this run's demo; tune on them or pass "
                                        "--problem-source behaviour"):
        prepare(SweepOptions(**{**opts.to_dict(), "problem_source": "demo"}))
    prep = prepare(SweepOptions(**{**opts.to_dict(), "planners": ("gd",), "horizons": (10,),
                                   "overrides": (), "problem_source": "behaviour"}))
    assert prep.cell_overrides("gd", 10) == {"lr": 0.2}
