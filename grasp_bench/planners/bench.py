"""Speed of the planners per iteration, and how close their overhead is to the model's.

``bench_planners(model, device)`` times one iteration of every planner at each (T, B)
and two ratios that say how much a planner adds around the model work it cannot avoid:

* ``grasp/fwd+bwd``: one GRASP main iteration (no sync; mean of 100) / one forward+backward of the
  model over the same B*T transitions (``model.step`` on ``(B, T, .)``, then the
  vector-Jacobian product for the actions -- exactly the model work of a GRASP step).
* ``cem/T fwd``: one CEM iteration / its T sequential no-grad forwards of ``(B*S, .)``.

Times are the planners' own clock (:class:`~grasp_bench.planners.timing.Stopwatch`:
CUDA-synchronized, final cost evaluation excluded), the best of ``repeats`` runs after
a warm-up.  Iterations per timed run: 50 for the gradient planners (GRASP's include its
syncs, as its config has them: with the defaults 4 syncs of 25 BPTT steps, with
``grasp-author``'s one of 10), 2 for the sampling planners (iCEM's population shrinks
over its iterations, so its first two are its most expensive).

Run ``python -m grasp_bench.planners.bench [--device cuda] [--quick]`` for a table on a
same-size stand-in of the Push-T world model (the state MLP of
:mod:`grasp_bench.models.mlp`: D = 8, A = 10, 3 hidden layers of 256, random weights).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from functools import partial

import torch

from grasp_bench.planners.registry import REGISTRY, make_planner
from grasp_bench.planners.timing import Stopwatch

#: Iterations of each timed run (see the module docstring).  How many iterations or repeats
#: a figure averages sets its noise, not what it measures: mutants of these counts are
#: equivalent, hence the pragmas.
BENCH_ITERATIONS = {
    "cem": 2, "mppi": 2, "icem": 2,  # pragma: no mutate
    "gd": 50, "latco": 50, "grasp": 50,  # pragma: no mutate
}


def _best_time(fn: Callable[[], float], repeats: int) -> float:
    """Best of ``repeats`` runs after a warm-up (allocator, kernels); one run if 0."""
    if repeats <= 0:
        return fn()
    fn()
    return min(fn() for _ in range(repeats))


def _time_calls(device: torch.device, fn: Callable[[], object], n: int) -> float:
    sw = Stopwatch(device).start()
    for _ in range(n):
        fn()
    return sw.elapsed() / n


def time_planner(model, name: str, T: int, B: int, device: torch.device, *, repeats: int = 3,
                 overrides: dict | None = None) -> float:
    """Seconds per iteration of planner ``name`` on B random problems of horizon T."""
    g = torch.Generator(device=device).manual_seed(0)
    D = model.latent_dim
    z0 = torch.randn(B, D, generator=g, device=device)
    zg = torch.randn(B, D, generator=g, device=device)
    family = name.split("-")[0]  # GRASP's presets (grasp-author, grasp-nosg, ...) as GRASP
    cfg = {"iterations": BENCH_ITERATIONS.get(family, 10), **(overrides or {})}
    planner = make_planner(name, cfg)

    def once() -> float:
        gen = torch.Generator(device=device).manual_seed(1)
        result = planner.plan(model, z0, zg, T, generator=gen)
        return result.elapsed_s / result.iterations

    return _best_time(once, repeats)


def time_forward_backward(model, T: int, B: int, device: torch.device, *, repeats: int = 3,
                          n: int = 20) -> float:
    """Seconds of one ``model.step`` over (B, T) transitions + the VJP for the actions."""
    g = torch.Generator(device=device).manual_seed(0)
    z = torch.randn(B, T, model.latent_dim, generator=g, device=device)
    a = torch.zeros(B, T, model.action_dim, device=device, requires_grad=True)
    w = torch.randn(B, T, model.latent_dim, generator=g, device=device)

    def fb():
        with torch.enable_grad():
            pred = model.step(z, a)
        return torch.autograd.grad(pred, a, grad_outputs=w)

    return _best_time(lambda: _time_calls(device, fb, n), repeats)


def time_serial_forwards(model, T: int, rows: int, device: torch.device, *, repeats: int = 3,
                         n: int = 2) -> float:
    """Seconds of T sequential no-grad ``model.step`` calls on ``(rows, .)``."""
    g = torch.Generator(device=device).manual_seed(0)
    z0 = torch.randn(rows, model.latent_dim, generator=g, device=device)
    acts = torch.rand(rows, T, model.action_dim, generator=g, device=device) * 2 - 1

    @torch.no_grad()
    def rollout():
        z = z0
        for t in range(T):
            z = model.step(z, acts[:, t])
        return z

    return _best_time(lambda: _time_calls(device, rollout, n), repeats)


def bench_planners(
    model,
    device: torch.device | str,
    horizons: Sequence[int] = (8, 16),
    batches: Sequence[int] = (1, 64),
    repeats: int = 3,
    planners: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Time every planner per iteration and the two overhead ratios.

    Returns rows ``{"name", "T", "B", "ms", "baseline_ms", "ratio"}``: one per
    (planner, T, B) with ``ms`` per iteration (``baseline_ms``/``ratio`` None), then one
    per (ratio, T, B) named ``grasp/fwd+bwd`` and ``cem/T fwd`` (when those planners are
    included) with the numerator in ``ms``.
    """
    device = torch.device(device)
    model = model.to(device)
    names = list(planners) if planners is not None else list(REGISTRY)
    rows: list[dict] = []

    def add(name, T, B, ms, base=None):
        rows.append({"name": name, "T": T, "B": B, "ms": ms, "baseline_ms": base,
                     "ratio": None if base is None else ms / base})
        if progress:
            progress(f"{name} T={T} B={B}: {ms:.3f} ms")

    for name in names:
        for T in horizons:
            for B in batches:
                add(name, T, B, 1e3 * time_planner(model, name, T, B, device, repeats=repeats))
    for T in horizons:
        for B in batches:
            # Numerator and baseline interleaved, best of each: load changes hit both.
            if "grasp" in names:
                it, fb = _interleaved(repeats, partial(
                    _grasp_pair, model, T, B, device))
                add("grasp/fwd+bwd", T, B, 1e3 * it, 1e3 * fb)
            if "cem" in names:
                it, fw = _interleaved(repeats, partial(_cem_pair, model, T, B, device))
                add("cem/T fwd", T, B, 1e3 * it, 1e3 * fw)
    return rows


def _grasp_pair(model, T: int, B: int, device) -> tuple[float, float]:
    return (time_planner(model, "grasp", T, B, device, repeats=0,
                         overrides={"sync_every": 0, "iterations": 100}),
            time_forward_backward(model, T, B, device, repeats=0, n=100))  # pragma: no mutate


def _cem_pair(model, T: int, B: int, device) -> tuple[float, float]:
    S = REGISTRY["cem"][0]().samples
    return (time_planner(model, "cem", T, B, device, repeats=0),
            time_serial_forwards(model, T, B * S, device, repeats=0))


def _interleaved(repeats: int, pair: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    pair()  # warm-up
    runs = [pair() for _ in range(max(1, repeats))]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def format_table(rows: list[dict]) -> str:
    """Plain-text table of :func:`bench_planners` rows."""
    head = f"{'name':<14} {'T':>3} {'B':>4} {'ms/iter':>11} {'baseline ms':>12} {'ratio':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        base = "" if r["baseline_ms"] is None else f"{r['baseline_ms']:.3f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(f"{r['name']:<14} {r['T']:>3} {r['B']:>4} {r['ms']:>11.3f} {base:>12} "
                     f"{ratio:>6}")
    return "\n".join(lines)


def standin_model() -> torch.nn.Module:
    """The Push-T-sized state MLP (D = 8, A = 10, 3 x 256) with random weights."""
    from grasp_bench.models.mlp import MLPConfig, StateMLP

    model = StateMLP(MLPConfig(state_dim=7, env_action_dim=2, angle_indices=(4,), frameskip=5))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # the last layer starts at zero; make the outputs non-trivial
        last = model.net[-1]
        last.weight.copy_(0.05 * torch.randn(last.weight.shape, generator=g))
    return model.eval().requires_grad_(False)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--horizons", default="8,16")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--repeats", type=int, default=3)  # pragma: no mutate
    ap.add_argument("--planners", default=",".join(REGISTRY))
    ap.add_argument("--quick", action="store_true", help="one repeat, B=1 and 8 only")
    ap.add_argument("--threads", type=int, default=0,
                    help="CPU threads (0: torch's default); 1 avoids OpenMP oversubscription "
                         "on a busy machine, where tiny ops slow down 10-100x")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    batches = (1, 8) if args.quick else tuple(int(b) for b in args.batches.split(","))
    repeats = 1 if args.quick else args.repeats
    horizons = tuple(int(h) for h in args.horizons.split(","))
    model = standin_model()
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"cpu, {torch.get_num_threads()} threads")
    print(f"planner iteration times on {where}; model: state MLP D={model.latent_dim} "
          f"A={model.action_dim} 3x256; best of {repeats}", flush=True)
    rows = bench_planners(model, device, horizons, batches, repeats,
                          [p for p in args.planners.split(",") if p],
                          progress=lambda line: print("  " + line, file=sys.stderr, flush=True))
    print(format_table(rows))


if __name__ == "__main__":
    main()
