"""iCEM: improved cross-entropy method (Pinneri, Sawant, Blaes, Achterhold, Stueckler,
Rolinek, Martius, "Sample-efficient Cross-Entropy Method for Real-time Planning",
CoRL 2020), for one open-loop plan per problem.

Algorithm (all B problems batched; shapes in brackets)::

    mu <- 0 [B, T, A];  sigma <- init_std;  kept <- none;  best <- none
    for i = 0..iterations-1:
        N_i = max(round(population * decay^-i), 2K)          (population decay)
        eps ~ colored noise with PSD ~ 1/f^beta along time    [B, N_i, T, A]
        X = clamp(mu + sigma * eps)                           (clipping, not truncation)
        X <- X + kept elites of iteration i-1 (keep_elite_frac of the K)   [B, N_i + k, ..]
        X <- X + mu at the last iteration (add_mean_last)
        c = ||z_T(X) - g||_W^2               T sequential model.step on all rows
        E = top-K of X (K = ceil(elite_ratio * population));  kept <- best k of E
        mu <- alpha mu + (1 - alpha) mean(E);  sigma <- alpha sigma + (1 - alpha) std(E)
        best <- best sample seen so far (per problem)
    return best

Every piece of state (mu, sigma, the kept elites, the best sample) lives in one ``plan``
call and has a leading problem dimension B: nothing leaks between calls or between
problems (mbrl-lib issue #186: its ``ICEMOptimizer.elite`` was never reset).  Warm start
(MPC): mu <- init, the shift-initialization of the mean of Pinneri et al. 2020 (without
init each call plans from scratch, the open-loop setting).

Defaults: Pinneri et al. 2020 -- colored-noise exponent beta = 2, population decay
gamma = 1.25, kept-elite fraction xi = 0.3, momentum alpha = 0.1, mean added at the last
iteration, best sequence returned; mbrl-lib ``ICEMOptimizer`` -- ``elite_ratio: 0.1`` and
initial variance ``(ub - lb)^2 / 16`` (std 0.5 on [-1, 1]).  Ours: population 300 and 30
iterations, DINO-WM CEM's budget (iCEM's own 3-4 iterations assume MPC warm starts), so
K = 30 = DINO-WM's top-k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from grasp_bench.models.base import WorldModel
from grasp_bench.planners.base import (
    PlanResult,
    SnapshotCallback,
    SnapshotRecorder,
    action_box,
    check_plan_inputs,
    knob,
    positive,
    register,
    terminal_cost,
    warm_actions,
)
from grasp_bench.planners.cem import evaluate_candidates
from grasp_bench.planners.space import Float, Int, SearchSpace

_P = "Pinneri et al. 2020"


@dataclass(frozen=True)
class ICEMConfig:
    iterations: int = knob(30, "CEM iterations (ours: DINO-WM CEM's 30; no MPC warm start)")
    population: int = knob(300, "samples at the first iteration (ours: DINO-WM CEM's 300)")
    elite_ratio: float = knob(0.1, "elites K = ceil(ratio * population) (mbrl-lib iCEM: 0.1)")
    decay: float = knob(1.25, f"population decay factor gamma ({_P}: 1.25)")
    noise_beta: float = knob(2.0, f"colored-noise exponent beta, PSD ~ 1/f^beta ({_P}: 2)")
    keep_elite_frac: float = knob(0.3, f"fraction xi of elites carried to the next iteration "
                                       f"({_P}: 0.3)")
    alpha: float = knob(0.1, f"momentum of mean and std ({_P}; mbrl-lib alpha: 0.1)")
    init_std: float = knob(0.5, "initial std ((ub-lb)/4 as mbrl-lib's initial_var)")
    add_mean_last: bool = knob(True, f"add the mean to the last population ({_P})")

    #: searched by ``grasp-bench tune``; the budget ranges match CEM's.
    search_space: ClassVar[SearchSpace] = {
        "iterations": Int(10, 50, why="default 30, as CEM"),
        "population": Int(100, 1000, log=True, why="default 300, as CEM"),
        "elite_ratio": Float(0.02, 0.3, log=True, why="default 0.1 (mbrl-lib)"),
        "noise_beta": Float(0.0, 3.0, why="Pinneri et al. 2020 use 0-4; default 2"),
        "init_std": Float(0.2, 5.0, log=True, why="data stds; default 0.5, as CEM's range"),
    }

    def __post_init__(self):
        positive(self, "iterations", "population", "elite_ratio", "decay")
        positive(self, "noise_beta", "keep_elite_frac", "alpha", "init_std", allow_zero=True)
        if self.elite_ratio > 1 or self.keep_elite_frac > 1 or self.alpha >= 1:
            raise ValueError("elite_ratio and keep_elite_frac must be <= 1 and alpha < 1")
        if self.decay < 1:
            raise ValueError(f"decay must be >= 1, got {self.decay}")

    @property
    def elites(self) -> int:
        return max(1, math.ceil(self.elite_ratio * self.population))


def colored_noise(
    shape: tuple[int, ...], beta: float, *, generator: torch.Generator, device, dtype
) -> torch.Tensor:
    """Gaussian noise with power spectrum ~ 1/f^beta along the LAST dim, unit variance.

    Frequency-domain construction as ``colorednoise.powerlaw_psd_gaussian`` (used by the
    iCEM authors): complex Gaussian coefficients scaled by f^(-beta/2) (f = 0 gets the
    scale of f = 1/n), real DC and Nyquist coefficients, inverse real FFT.  The result is
    divided by its exact standard deviation, so every entry has variance 1 (colorednoise's
    normalization leaves out the DC term, ~15% too large at n = 16, beta = 2).
    beta = 0 is white noise.
    """
    n = shape[-1]
    if n < 2 or beta == 0:
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    f = torch.fft.rfftfreq(n, device=device, dtype=torch.float64).clamp_min(1.0 / n)
    scale = f.pow(-beta / 2.0)  # (n // 2 + 1,)
    gshape = (*shape[:-1], len(f))
    re = torch.randn(gshape, generator=generator, device=device, dtype=torch.float64) * scale
    im = torch.randn(gshape, generator=generator, device=device, dtype=torch.float64) * scale
    # Real coefficients at f = 0 (and f = 1/2 for even n), sqrt(2) keeps their power.
    real_only = [0, len(f) - 1] if n % 2 == 0 else [0]
    im[..., real_only] = 0.0
    re[..., real_only] *= math.sqrt(2.0)
    # Var(y_k) = (sum_f c_f scale_f^2) / n^2 with c = 2 for the real-only coefficients
    # and 4 for the others (each appears twice in the Hermitian spectrum).
    c = torch.full_like(scale, 4.0)
    c[real_only] = 2.0
    std = torch.sqrt((c * scale * scale).sum()) / n
    y = torch.fft.irfft(torch.complex(re, im), n=n, dim=-1) / std
    return y.to(dtype)


class ICEM:
    """iCEM for open-loop plans (see the module docstring)."""

    name = "icem"
    snapshot_period = 1

    def __init__(self, config: ICEMConfig | None = None):
        self.config = config or ICEMConfig()

    @torch.no_grad()
    def plan(
        self,
        model: WorldModel,
        z0: torch.Tensor,
        z_goal: torch.Tensor,
        horizon: int,
        *,
        generator: torch.Generator,
        goal_weights: torch.Tensor | None = None,
        init: torch.Tensor | None = None,
        snapshot_every: int = 0,
        on_snapshot: SnapshotCallback | None = None,
    ) -> PlanResult:
        cfg = self.config
        B, D, A = check_plan_inputs(model, z0, z_goal, horizon, generator, goal_weights, init)
        low, high = action_box(model, z0)  # the model's action box, (A,) each
        T, dev, dt = int(horizon), z0.device, z0.dtype
        K = cfg.elites
        n_keep = math.ceil(cfg.keep_elite_frac * K)
        rec = SnapshotRecorder(dev, snapshot_every, on_snapshot)

        # All state is local to this call and per problem (leading dim B).
        mu = warm_actions(init, z0, low, high)
        mu = torch.zeros(B, T, A, device=dev, dtype=dt) if mu is None else mu
        std = torch.full((B, T, A), cfg.init_std, device=dev, dtype=dt)
        kept: torch.Tensor | None = None  # (B, n_keep, T, A)
        best = mu.clone()
        best_cost = torch.full((B,), math.inf, device=dev, dtype=dt)
        rows = torch.arange(B, device=dev)

        for i in range(cfg.iterations):
            n_i = max(round(cfg.population * cfg.decay ** (-i)), 2 * K)
            eps = colored_noise((B, n_i, A, T), cfg.noise_beta, generator=generator,
                                device=dev, dtype=dt).transpose(-1, -2)  # (B, n_i, T, A)
            parts = [torch.addcmul(mu[:, None], std[:, None], eps).clamp_(low, high)]
            if kept is not None:  # the elites kept from the last iteration (maybe none)
                parts.append(kept)
            if cfg.add_mean_last and i == cfg.iterations - 1:
                parts.append(mu[:, None])
            X = torch.cat(parts, dim=1)  # (B, N, T, A)
            costs = evaluate_candidates(model, z0, z_goal, X, goal_weights)  # (B, N)
            order = costs.topk(K, dim=1, largest=False).indices  # (B, K): N >= 2K candidates
            elites = X.gather(1, order[:, :, None, None].expand(-1, -1, T, A))
            kept = elites[:, :n_keep]
            mu = cfg.alpha * mu + (1 - cfg.alpha) * elites.mean(1)
            std = cfg.alpha * std + (1 - cfg.alpha) * elites.std(1, correction=1 if K > 1 else 0)
            top_cost = costs.gather(1, order[:, :1]).squeeze(1)  # (B,)
            better = top_cost < best_cost
            best = torch.where(better[:, None, None], elites[rows, 0], best)
            best_cost = torch.where(better, top_cost, best_cost)
            if rec.due(i + 1):
                rec.record(i + 1, best)

        snapshots, elapsed = rec.finish(cfg.iterations, best)
        cost = terminal_cost(model, z0, best, z_goal, goal_weights)
        return PlanResult(best, cost, cfg.iterations, snapshots, elapsed)


register("icem", ICEMConfig)(ICEM)
