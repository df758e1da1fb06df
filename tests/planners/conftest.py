"""A toy world model with a known reachable goal: z' = z + M a (linear, D = A = 4).

M is well conditioned (eigenvalues ~0.25), so a plan of T steps moves z by at most
~0.3 T per unit of action; problems are made from reference actions in [-0.8, 0.8], so
the goal is reachable with actions inside the box.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

D = 4
A = 4  # k = 2 stacked env actions of size 2 ("A = 2 * k" style)
T = 8


class LinearModel(nn.Module):
    """The WorldModel protocol for ``z' = z + a M^T``; ``step`` takes any leading dims."""

    frameskip = 2
    action_dim = A
    latent_dim = D

    def __init__(self, dtype=torch.float32):
        super().__init__()
        shift = torch.roll(torch.eye(D), 1, dims=1)
        self.register_buffer("M", (0.25 * (torch.eye(D) + 0.3 * shift)).to(dtype))

    def encode(self, state: torch.Tensor) -> torch.Tensor:
        return state

    def step(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return z + a @ self.M.T

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        zs = [z0]
        for t in range(actions.shape[-2]):
            zs.append(self.step(zs[-1], actions[..., t, :]))
        return torch.stack(zs, dim=-2)


class RecordingModel(LinearModel):
    """Records every ``step`` call: input shapes, whether z/a require grad, and z itself."""

    def __init__(self):
        super().__init__()
        self.calls: list[dict] = []

    def step(self, z, a):
        self.calls.append({
            "z_shape": tuple(z.shape),
            "z_requires_grad": z.requires_grad,
            "a_requires_grad": a.requires_grad,
            "z": z.detach().clone(),
        })
        return super().step(z, a)


class BoxedLinearModel(LinearModel):
    """The linear toy model in float64 with an action box of its own (``action_low``,
    ``action_high``), different in every dim and asymmetric; in dims 2 and 3 it excludes 0,
    so a zero action is outside the box (clamping, LatCo's bound residual).  For the
    one-step tests that compare a planner with a hand computation."""

    def __init__(self):
        super().__init__(dtype=torch.float64)
        self.register_buffer("action_low", torch.tensor([-0.6, -0.9, 0.15, -1.3],
                                                        dtype=torch.float64))
        self.register_buffer("action_high", torch.tensor([0.8, 0.35, 1.1, -0.2],
                                                         dtype=torch.float64))


#: a goal metric (``goal_weights``) with distinct weights, for the hand-computed tests
WEIGHTS = torch.tensor([1.3, 0.4, 2.1, 0.7], dtype=torch.float64)


def box_clamp(model: BoxedLinearModel, actions: torch.Tensor) -> torch.Tensor:
    """``actions (..., A)`` projected onto the model's box, written with min/max."""
    return torch.maximum(torch.minimum(actions, model.action_high), model.action_low)


def hand_terminal(model: LinearModel, z0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The linear model's last state in closed form: ``z_T = z0 + (sum_t a_t) M^T``.

    ``z0 (B, D)``, ``actions (B, [S,] T, A)`` -> ``(B, [S,] D)``."""
    if actions.ndim == 4:
        z0 = z0[:, None]
    return z0 + actions.sum(-2) @ model.M.T


def hand_cost(model: LinearModel, z0, actions, z_goal, weights=WEIGHTS) -> torch.Tensor:
    """``sum_d w_d (z_T - g)_d^2`` with the closed-form ``z_T``: ``(B, [S])``."""
    if actions.ndim == 4:
        z_goal = z_goal[:, None]
    return (weights * (hand_terminal(model, z0, actions) - z_goal) ** 2).sum(-1)


def hand_terminal_grad(model: LinearModel, z0, actions, z_goal, weights=WEIGHTS):
    """Gradient of ``sum_b hand_cost`` w.r.t. ``actions (B, T, A)``: every step's action
    moves z_T by ``a_t M^T``, so ``dL/da_t = 2 W (z_T - g) M`` for every t."""
    err = weights * (hand_terminal(model, z0, actions) - z_goal)  # (B, D)
    return (2 * err @ model.M)[:, None, :].expand_as(actions)


def hand_adam(p, grad, m, v, k: int, lr: float, b1=0.9, b2=0.999, eps=1e-8):
    """Adam's k-th step (k = 1, 2, ...) written out: returns ``(p, m, v)`` after it."""
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1**k)
    v_hat = v / (1 - b2**k)
    return p - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v


def lowest(candidates: torch.Tensor, costs: torch.Tensor, k: int) -> torch.Tensor:
    """The k lowest-cost rows of ``candidates (B, S, ...)`` per problem, best first."""
    order = costs.argsort(dim=1)[:, :k]
    return torch.stack([candidates[b, order[b]] for b in range(candidates.shape[0])])


def sample_std(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The unbiased standard deviation over ``dim``, written out."""
    n = x.shape[dim]
    dev = x - x.mean(dim, keepdim=True)
    return torch.sqrt((dev * dev).sum(dim) / (n - 1))


def make_problems(model: LinearModel, B: int, horizon: int = T, seed: int = 0):
    """``(z0, z_goal, reference actions)``: ``(B, D), (B, D), (B, T, A)``."""
    g = torch.Generator().manual_seed(seed)
    z0 = 0.5 * torch.randn(B, D, generator=g)
    # a consistent direction per problem plus jitter, inside [-0.8, 0.8]
    ref = 0.6 * (2 * torch.rand(B, 1, A, generator=g) - 1)
    ref = ref + 0.2 * (2 * torch.rand(B, horizon, A, generator=g) - 1)
    dtype = model.M.dtype
    z0, ref = z0.to(dtype), ref.to(dtype)
    with torch.no_grad():
        goal = model.rollout(z0, ref)[:, -1]
    return z0, goal, ref


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def model() -> LinearModel:
    return LinearModel()


@pytest.fixture
def problems(model):
    return make_problems(model, B=4)


#: Small budgets for contract tests (bounds, seeds, snapshots) that do not need convergence.
FAST: dict[str, dict] = {
    "cem": {"iterations": 5, "samples": 40, "topk": 5},
    "gd": {"iterations": 20},
    "latco": {"iterations": 30},
    "grasp": {"iterations": 30, "sync_every": 10, "sync_steps": 2},
    "mppi": {"iterations": 5, "samples": 40},
    "icem": {"iterations": 5, "population": 40},
    "grasp-nosg": {"iterations": 30, "sync_every": 10, "sync_steps": 2},
    "grasp-nonoise": {"iterations": 30, "sync_every": 10, "sync_steps": 2},
    "grasp-nosync": {"iterations": 30},
    "grasp-nogoal": {"iterations": 30, "sync_every": 10, "sync_steps": 2},
    "grasp-author": {"iterations": 30, "sync_every": 10, "sync_steps": 2},
}


def run(name: str, overrides: dict, model, z0, z_goal, horizon: int = T, seed: int = 0, **kw):
    """Plan with ``make_planner(name, overrides)`` and a fresh generator seeded ``seed``."""
    from grasp_bench.planners import make_planner

    return make_planner(name, overrides).plan(model, z0, z_goal, horizon, generator=gen(seed),
                                              **kw)


def assert_converges(name: str, overrides: dict, tol: float, problem_seeds=(0, 1)):
    """Every problem's terminal cost ends below ``tol`` (and the result's cost is the
    terminal cost of its actions)."""
    from grasp_bench.planners import terminal_cost

    model = LinearModel()
    for ps in problem_seeds:
        z0, g, _ = make_problems(model, B=4, seed=ps)
        result = run(name, overrides, model, z0, g, seed=ps)
        with torch.no_grad():
            expected = terminal_cost(model, z0, result.actions, g)
        torch.testing.assert_close(result.cost, expected)
        worst = result.cost.max().item()
        assert worst < tol, f"{name} {overrides}: worst terminal cost {worst:.3g} >= {tol:.3g}"


@pytest.fixture(autouse=True)
def _one_thread():
    """The planner tests run tiny ops; with several intra-op threads on a busy machine,
    OpenMP oversubscription makes them 5-10x slower.  One thread, restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
