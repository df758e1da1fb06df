"""The brittleness measurement on linear models with known minimum-norm answers."""

import numpy as np
import pytest
import torch

from grasp_bench.models.brittleness import measure, min_perturbation


class Linear(torch.nn.Module):
    """F(z, a) = c z + N a, encode = identity: moving the prediction by d needs the state
    to move by d / c, or the action by N^+ d."""

    def __init__(self, c: float, D: int = 6, A: int = 3):
        super().__init__()
        self.c = c
        self.N = torch.nn.Parameter(torch.randn(D, A, generator=torch.Generator().manual_seed(0)))

    def encode(self, s):
        return s

    def step(self, z, a):
        return self.c * z + a @ self.N.T


@pytest.mark.parametrize("c", [0.05, 1.0, 20.0])
def test_state_ratio_is_one_over_the_state_gain_and_action_ratio_is_one(c):
    rng = np.random.default_rng(0)
    b = measure(Linear(c), rng.normal(size=(32, 6)), rng.uniform(-1, 1, size=(32, 3)))
    assert b.state_reached == 1.0 and b.action_reached == 1.0
    assert b.state_ratio_median == pytest.approx(1 / c, rel=1e-3)
    assert b.action_ratio_median == pytest.approx(1.0, rel=1e-3)


def test_min_perturbation_finds_the_minimum_norm_solution_of_an_underdetermined_map():
    M = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]])  # 3 inputs -> 2 outputs

    def f(x, _c):
        return M @ x

    x0 = torch.zeros(1, 3)
    target = torch.tensor([[2.0, 4.0]])
    delta, ok = min_perturbation(f, x0, torch.zeros(1, 1), target)
    assert ok.all()
    torch.testing.assert_close(delta, torch.tensor([[1.0, 1.0, 2.0]]), atol=1e-4, rtol=0)


@pytest.mark.parametrize("c", [0.05, 20.0])
def test_matrix_free_solve_agrees_with_the_dense_one(c):
    """The conjugate-gradient path (large latents) finds the same minimum-norm answers."""
    model = Linear(c, D=8, A=3)
    rng = np.random.default_rng(1)
    z = torch.as_tensor(rng.normal(size=(16, 8)), dtype=torch.float32)
    a = torch.as_tensor(rng.uniform(-1, 1, size=(16, 3)), dtype=torch.float32)
    target = model.step(z, a.flip(0)).detach()

    def by_state(zi, ai):
        return model.step(zi[None], ai[None])[0]

    dense, ok_d = min_perturbation(by_state, z, a, target)
    free, ok_f = min_perturbation(by_state, z, a, target, cg_iters=30, iters=60)
    assert ok_d.all() and ok_f.all()
    torch.testing.assert_close(free, dense, atol=1e-3, rtol=1e-3)
    M = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]])  # underdetermined: the min norm
    delta, _ = min_perturbation(lambda x, _c: M @ x, torch.zeros(1, 3), torch.zeros(1, 1),
                                torch.tensor([[2.0, 4.0]]), cg_iters=10, iters=5)
    torch.testing.assert_close(delta, torch.tensor([[1.0, 1.0, 2.0]]), atol=1e-4, rtol=0)
