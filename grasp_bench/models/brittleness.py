"""How brittle a world model's state-input gradients are: the quantity the GRASP paper's
argument for its stop-gradient and state noise rests on (arXiv 2602.00475, Figure 3:
learned latent spaces are much larger than the data manifold, so a small step off it
moves the prediction anywhere).

For in-distribution pairs ``(z, a)`` (encoded problem starts and the first model action of
their reference plans, tuning split) and a target ``z* = F(z, a')`` (``a'``: another
problem's action, so the target is one the model predicts in distribution):

* state: the smallest ``delta_z`` with ``F(z + delta_z, a) = z*``, reported as
  ``|delta_z| / |z* - F(z, a)|``: how far the state input must move per unit the
  prediction moves.  About 1 or more for a benign model (predictions follow states);
  far below 1 for a brittle one (a tiny input change steers the prediction anywhere).
* action: the smallest ``delta_a`` with ``F(z, a + delta_a) = z*``, reported as
  ``|delta_a| / |a' - a|`` (at most about 1: ``a'`` itself is a solution).

"Smallest" is found by damped Gauss-Newton iterations from zero (each step the damped
least-norm correction through the Jacobian, ``torch.func``), which for a linear model is
exactly the minimum-norm solution.  For a large input (the visual model's 1,024-dim
latent: one Jacobian per pair per iteration would cost minutes) each step's normal
equations are solved matrix-free by conjugate gradients on Jacobian-vector products
(``cg_iters``), which from zero also converge to the minimum-norm correction.  A pair
counts as reached when the residual falls below ``tol`` of the distance to move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacrev, jvp, vjp, vmap

from grasp_bench.models.base import start_latents

__all__ = ["Brittleness", "measure", "min_perturbation"]


@dataclass(frozen=True)
class Brittleness:
    """Medians (and 10th percentiles) over the pairs that reached their target."""

    pairs: int
    state_ratio_median: float
    state_ratio_p10: float
    state_reached: float
    action_ratio_median: float
    action_reached: float


def min_perturbation(f, x0: torch.Tensor, context: torch.Tensor, target: torch.Tensor, *,
                     iters: int = 60, damping: float = 1e-2, tol: float = 0.05,
                     cg_iters: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Smallest ``delta (N, X)`` with ``f(x0 + delta, context) ~= target (N, D)``, for ``f``
    mapping one sample ``(X,), (C,) -> (D,)``; returns ``(delta, reached (N,) bool)``.
    ``cg_iters``: solve each step matrix-free with that many conjugate-gradient steps."""
    x0, context, target = x0.detach(), context.detach(), target.detach()
    fb, jac = vmap(f), vmap(jacrev(f, argnums=0))
    with torch.no_grad():
        dist = (fb(x0, context) - target).norm(dim=-1)
    delta = torch.zeros_like(x0)
    eye = torch.eye(x0.shape[-1], dtype=x0.dtype, device=x0.device)
    for _ in range(iters):
        x = x0 + delta
        if cg_iters is not None:
            delta = delta - _cg_step(lambda x_: fb(x_, context), x, target, damping, cg_iters)
            continue
        r = fb(x, context).detach() - target  # (N, D)
        J = jac(x, context).detach()  # (N, D, X)
        Jt = J.transpose(-1, -2)
        delta = delta - torch.linalg.solve(Jt @ J + damping * eye, Jt @ r[..., None])[..., 0]
    with torch.no_grad():
        left = (fb(x0 + delta, context) - target).norm(dim=-1)
    return delta, left <= tol * dist.clamp_min(1e-12)


def _cg_step(fb, x: torch.Tensor, target: torch.Tensor, damping: float,
             iters: int) -> torch.Tensor:
    """``(J^T J + damping I)^-1 J^T r`` per row of ``x (N, X)`` by conjugate gradients, with
    ``J`` the Jacobian of the row-wise map ``fb`` at ``x`` (rows are independent)."""
    r, pullback = vjp(fb, x)
    rhs = pullback((r - target).detach())[0].detach()  # J^T r, (N, X)

    def normal(v: torch.Tensor) -> torch.Tensor:
        jv = jvp(fb, (x,), (v,))[1].detach()
        return pullback(jv)[0].detach() + damping * v

    sol, res = torch.zeros_like(x), rhs.clone()
    p, rs = res.clone(), (res * res).sum(-1, keepdim=True)
    for _ in range(iters):
        Ap = normal(p)
        alpha = rs / (p * Ap).sum(-1, keepdim=True).clamp_min(1e-30)
        sol, res = sol + alpha * p, res - alpha * Ap
        rs_new = (res * res).sum(-1, keepdim=True)
        p, rs = res + (rs_new / rs.clamp_min(1e-30)) * p, rs_new
    return sol


#: Inputs larger than this are solved matrix-free (see the module docstring).
DENSE_LIMIT = 256


def measure(model, states: np.ndarray, actions: np.ndarray, *, seed: int = 0,
            past: np.ndarray | None = None) -> Brittleness:
    """Brittleness of ``model`` at ``states (N, S)`` (with the states before them, ``past
    (N, P, S)``, for a model with a frame history) with model actions ``actions (N, A)``;
    the other action of each pair is drawn by a ``seed``-ed permutation."""
    dev = next(model.parameters()).device
    s = torch.as_tensor(states, dtype=torch.float32, device=dev)
    a = torch.as_tensor(actions, dtype=torch.float32, device=dev)
    perm = torch.as_tensor(np.random.default_rng(seed).permutation(len(a)), device=dev)
    a_other = a[perm]
    with torch.no_grad():
        z = start_latents(model, s, None if past is None else
                          torch.as_tensor(past, dtype=torch.float32, device=dev))
        target = model.step(z, a_other)
        moved = (target - model.step(z, a)).norm(dim=-1)
    keep = moved > 1e-3 * moved.median()  # a pair whose actions barely differ says nothing
    z, a, a_other, target, moved = z[keep], a[keep], a_other[keep], target[keep], moved[keep]

    def by_state(zi, ai):
        return model.step(zi[None], ai[None])[0]

    def by_action(ai, zi):
        return model.step(zi[None], ai[None])[0]

    large = {"cg_iters": 50, "iters": 25} if z.shape[-1] > DENSE_LIMIT else {}
    d_z, ok_z = min_perturbation(by_state, z, a, target, **large)
    d_a, ok_a = min_perturbation(by_action, a, z, target, **large)
    r_state = (d_z.norm(dim=-1) / moved)[ok_z].cpu().numpy()
    r_action = (d_a.norm(dim=-1) / (a_other - a).norm(dim=-1))[ok_a].cpu().numpy()
    nan = float("nan")
    return Brittleness(
        pairs=int(keep.sum()),
        state_ratio_median=float(np.median(r_state)) if len(r_state) else nan,
        state_ratio_p10=float(np.percentile(r_state, 10)) if len(r_state) else nan,
        state_reached=float(ok_z.float().mean()),
        action_ratio_median=float(np.median(r_action)) if len(r_action) else nan,
        action_reached=float(ok_a.float().mean()))
