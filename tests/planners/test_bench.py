"""The per-iteration benchmark runs and reports what it promises (not how fast)."""

from __future__ import annotations

import pytest
import torch

from grasp_bench.planners.bench import bench_planners, format_table
from tests.planners.conftest import LinearModel


def test_bench_planners_rows_and_ratios():
    rows = bench_planners(LinearModel(), "cpu", horizons=(2,), batches=(1, 3), repeats=1,
                          planners=["cem", "grasp"])
    names = [(r["name"], r["T"], r["B"]) for r in rows]
    assert names == [
        ("cem", 2, 1), ("cem", 2, 3), ("grasp", 2, 1), ("grasp", 2, 3),
        ("grasp/fwd+bwd", 2, 1), ("cem/T fwd", 2, 1),
        ("grasp/fwd+bwd", 2, 3), ("cem/T fwd", 2, 3),
    ]
    for r in rows:
        assert r["ms"] > 0
        if "/" in r["name"]:
            assert r["baseline_ms"] > 0 and r["ratio"] == r["ms"] / r["baseline_ms"]
        else:
            assert r["baseline_ms"] is None and r["ratio"] is None
    table = format_table(rows)
    assert "grasp/fwd+bwd" in table and len(table.splitlines()) == len(rows) + 2


def test_grasp_presets_are_timed_over_as_many_iterations_as_grasp(monkeypatch):
    """Per-iteration times amortize the syncs: a preset timed over fewer iterations than
    its sync period would leave them out and look several times cheaper than GRASP."""
    from grasp_bench.planners import bench

    seen = {}
    real = bench.make_planner

    def spy(name, overrides=None):
        seen[name] = (overrides or {}).get("iterations")
        return real(name, overrides)

    monkeypatch.setattr(bench, "make_planner", spy)
    names = ["grasp", "grasp-author", "grasp-nosg", "gd"]
    for name in names:
        bench.time_planner(LinearModel(), name, 2, 1, "cpu", repeats=0)
    assert seen == {n: bench.BENCH_ITERATIONS["gd" if n == "gd" else "grasp"] for n in names}
    monkeypatch.delitem(bench.BENCH_ITERATIONS, "mppi")  # as a plugin's planner has none
    bench.time_planner(LinearModel(), "mppi", 2, 1, "cpu", repeats=0)
    assert seen["mppi"] == 10


def test_the_ratios_compare_what_they_say_in_milliseconds(monkeypatch):
    """Fixed timings in, exact rows out: every figure is 1e3 x seconds, and CEM's baseline
    is T serial forwards over all B x samples candidates at once."""
    from grasp_bench.planners import bench

    serial = []
    monkeypatch.setattr(bench, "time_planner", lambda *a, **k: 0.004)
    monkeypatch.setattr(bench, "time_forward_backward", lambda *a, **k: 0.002)
    monkeypatch.setattr(bench, "time_serial_forwards",
                        lambda model, T, rows, device, **k: serial.append((T, rows)) or 0.001)
    rows = bench.bench_planners(LinearModel(), "cpu", horizons=(3,), batches=(5,), repeats=1,
                                planners=["cem", "grasp"])
    assert [r["ms"] for r in rows if "/" not in r["name"]] == [4.0, 4.0]  # cem, grasp
    ratios = {r["name"]: (r["ms"], r["baseline_ms"], r["ratio"]) for r in rows if "/" in r["name"]}
    assert ratios == {"grasp/fwd+bwd": (4.0, 2.0, 2.0), "cem/T fwd": (4.0, 1.0, 4.0)}
    assert set(serial) == {(3, 5 * 300)}  # B = 5 problems x CEM's 300 samples


def test_grasp_is_timed_without_syncs_over_100_iterations(monkeypatch):
    """The fwd+bwd ratio compares GRASP's parallel step alone with one forward+backward:
    syncs (serial rollouts) would measure something else."""
    from grasp_bench.planners import bench

    seen = []
    monkeypatch.setattr(bench, "time_planner", lambda *a, overrides=None, **k:
                        seen.append((a[1], overrides)) or 0.004)
    monkeypatch.setattr(bench, "time_forward_backward", lambda *a, **k: 0.002)
    bench.bench_planners(LinearModel(), "cpu", horizons=(3,), batches=(2,), repeats=1,
                         planners=["grasp"])
    assert ("grasp", {"sync_every": 0, "iterations": 100}) in seen


def test_the_module_command_prints_its_setting_and_table(capsys):
    from grasp_bench.planners import bench

    threads = torch.get_num_threads()  # --threads 0 (the default) leaves them alone
    bench.main(["--quick", "--device", "auto", "--planners", "cem", "--horizons", "2"])
    assert torch.get_num_threads() == threads
    out, err = capsys.readouterr()
    head, *table = out.splitlines()
    assert head == (f"planner iteration times on cpu, {threads} threads; model: state MLP "
                    "D=8 A=10 3x256; best of 1")
    assert [line.split()[:3] for line in table[2:]] == [
        ["cem", "2", "1"], ["cem", "2", "8"], ["cem/T", "fwd", "2"], ["cem/T", "fwd", "2"]]
    assert err.splitlines()[0].startswith("  cem T=2 B=1: ")
    with pytest.raises(SystemExit):
        bench.main(["--help"])
    words = " ".join(capsys.readouterr().out.split())  # as argparse wraps it
    assert bench.__doc__.split("\n")[0] in words
    model = bench.standin_model()
    assert not any(p.requires_grad for p in model.parameters())
    assert model.net[-1].weight.abs().sum() > 0  # outputs depend on the input


def test_a_call_time_is_the_elapsed_time_over_the_calls(monkeypatch):
    from grasp_bench.planners import bench

    calls = []
    monkeypatch.setattr(bench.Stopwatch, "elapsed", lambda self: 0.6)
    assert bench._time_calls("cpu", lambda: calls.append(1), 3) == pytest.approx(0.2)
    assert len(calls) == 3


def test_the_function_benches_the_sizes_the_module_command_does(monkeypatch):
    """bench_planners' defaults are main's --horizons 8,16 and --batches 1,64."""
    import inspect

    from grasp_bench.planners import bench

    seen = {}
    monkeypatch.setattr(bench, "bench_planners", lambda model, device, horizons, batches,
                        *a, **k: seen.update(horizons=horizons, batches=batches) or [])
    bench.main(["--planners", "cem"])
    params = inspect.signature(inspect.unwrap(bench_planners)).parameters
    assert seen == {k: params[k].default for k in ("horizons", "batches")}
    assert seen == {"horizons": (8, 16), "batches": (1, 64)}


def test_serial_forwards_time_t_model_steps_per_call():
    from grasp_bench.planners import bench
    from tests.planners.conftest import RecordingModel

    model = RecordingModel()
    bench.time_serial_forwards(model, 3, 4, "cpu", repeats=0, n=2)
    assert [c["z_shape"] for c in model.calls] == [(4, 4)] * 6  # 2 calls x T = 3 steps
