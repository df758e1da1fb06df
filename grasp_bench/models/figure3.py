"""One gradient step on a world model's state input: the number behind Figure 3 of the GRASP
paper ("Parallel Stochastic Gradient-Based Planning for World Models", Psenka et al.,
arXiv 2602.00475), whose premise is that the state-input gradients of learned latent world
models are brittle (adversarial): a tiny step on the state input along the gradient moves
the prediction a lot.

For pairs ``(z, a)`` with a goal latent ``g``, take ONE gradient step on the state input of
``L(z) = |F(z, a) - g|^2``: ``z' = z - eta grad``, with ``eta`` chosen per pair so that
``|z' - z| = eps * spread`` (``spread``: RMS distance of the given latents ``z`` from their
mean, so ``eps`` is a fraction of the data's scale).  Per ``eps`` it reports

* ratio ``|F(z', a) - g| / |F(z, a) - g|`` (median, 10th percentile): below 1, the step helped;
* gain ``(|F(z, a) - g| - |F(z', a) - g|) / |z' - z|`` (median): how far the prediction moves
  toward the goal per unit the input moved.  A smooth model has gain of order 1 or less (the
  prediction follows the state); a brittle one has gain >> 1 (an input change far smaller
  than the distance to the goal steers the prediction to it).

Pairs already at their goal, or with a vanishing gradient, say nothing and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from grasp_bench.models.base import start_latents

__all__ = ["BRITTLE_GAIN", "Figure3", "GradientStep", "measure_gradient_step",
           "measure_on_problems"]

#: Median gain (at the smallest eps) above which a model counts as brittle: the input has
#: 10x leverage over the prediction.  The shipped state/latent models measure a min-norm
#: state ratio of 3-22 (``brittleness.py``), i.e. leverage well below 1, so 10 separates an
#: adversarial model from them by more than an order of magnitude.
BRITTLE_GAIN = 10.0

#: Relative size below which a residual (vs ``spread``) or a gradient (vs ``2 |residual|``,
#: the gradient of a model with unit gain) counts as zero.
_TINY = 1e-6


@dataclass(frozen=True)
class GradientStep:
    """The one-step result at one ``eps``, over the ``pairs`` kept."""

    eps: float
    pairs: int
    ratio_median: float
    ratio_p10: float
    gain_median: float


@dataclass(frozen=True)
class Figure3:
    """One ``GradientStep`` per ``eps`` (in the order given), the ``spread`` used, and
    whether the median gain at the smallest ``eps`` exceeds ``BRITTLE_GAIN``."""

    steps: tuple[GradientStep, ...]
    spread: float
    brittle: bool


def measure_gradient_step(model, z: torch.Tensor, a: torch.Tensor, g: torch.Tensor, *,
                          eps: tuple[float, ...] = (0.01, 0.1),
                          spread: float | None = None) -> Figure3:
    """One normalized gradient step per pair: ``z (..., D)``, ``a (..., A)``, ``g (..., D)``
    with the same leading dims (flattened to ``N`` pairs).  ``spread`` defaults to the RMS
    distance of the ``z`` from their mean.  Works on ``z``'s device and dtype."""
    D = z.shape[-1]
    z = z.detach().reshape(-1, D)
    a = a.detach().reshape(-1, a.shape[-1]).to(z)
    g = g.detach().reshape(-1, D).to(z)
    if not len(z) == len(a) == len(g):
        raise ValueError(f"z, a, g give {len(z)}, {len(a)}, {len(g)} pairs")
    if spread is None:
        spread = float((z - z.mean(0)).square().sum(-1).mean().sqrt())
    if not spread > 0:
        raise ValueError(f"spread must be positive, got {spread}")

    with torch.enable_grad():  # pairs are independent: one backward of the summed losses
        z_in = z.clone().requires_grad_(True)
        r = model.step(z_in, a) - g  # (N, D)
        (grad,) = torch.autograd.grad(r.square().sum(), z_in)  # w.r.t. z only: no param .grad
    with torch.no_grad():
        r, grad = r.detach(), grad.detach()
        dist, gnorm = r.norm(dim=-1), grad.norm(dim=-1)  # (N,)
        keep = (dist > _TINY * spread) & (gnorm > _TINY * 2 * dist)
        z, a, g, dist = z[keep], a[keep], g[keep], dist[keep]
        unit = grad[keep] / gnorm[keep, None]  # (n, D)
        steps = []
        for e in eps:
            size = e * spread
            moved = (model.step(z - size * unit, a) - g).norm(dim=-1)  # |F(z', a) - g|
            ratio = (moved / dist).double().cpu().numpy()
            gain = ((dist - moved) / size).double().cpu().numpy()
            steps.append(_summary(float(e), ratio, gain))
    first = steps[int(np.argmin(eps))] if steps else None
    brittle = bool(first is not None and first.gain_median > BRITTLE_GAIN)
    return Figure3(steps=tuple(steps), spread=float(spread), brittle=brittle)


def _summary(eps: float, ratio: np.ndarray, gain: np.ndarray) -> GradientStep:
    if not len(ratio):
        nan = float("nan")
        return GradientStep(eps=eps, pairs=0, ratio_median=nan, ratio_p10=nan, gain_median=nan)
    return GradientStep(eps=eps, pairs=len(ratio), ratio_median=float(np.median(ratio)),
                        ratio_p10=float(np.percentile(ratio, 10)),
                        gain_median=float(np.median(gain)))


def measure_on_problems(model, starts: np.ndarray, actions: np.ndarray, goals: np.ndarray,
                        past: np.ndarray | None = None, **kw) -> Figure3:
    """``measure_gradient_step`` on encoded ``starts (N, S)`` (with the states before them,
    ``past (N, P, S)``, for a model with a frame history) and ``goals (N, S)`` with model
    actions ``actions (N, A)``, as float32 on the model's device (cpu if it has no
    parameters); ``kw`` goes to ``measure_gradient_step``."""
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    dev = params[0].device if params else torch.device("cpu")

    def put(x):
        return torch.as_tensor(np.asarray(x), dtype=torch.float32, device=dev)

    with torch.no_grad():
        z = start_latents(model, put(starts), None if past is None else put(past))
        g = model.encode(put(goals))
    return measure_gradient_step(model, z, put(actions), g, **kw)
