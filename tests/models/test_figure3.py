"""The one-gradient-step measurement on linear models whose answers are known."""

import numpy as np
import pytest
import torch

from grasp_bench.models.figure3 import BRITTLE_GAIN, measure_gradient_step, measure_on_problems

D, A = 6, 3


class Linear(torch.nn.Module):
    """F(z, a) = M z + B a, encode = identity."""

    def __init__(self, M: torch.Tensor):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.M = torch.nn.Parameter(M.clone())
        self.B = torch.nn.Parameter(torch.randn(M.shape[0], A, generator=gen).to(M))

    def encode(self, s):
        return s

    def step(self, z, a):
        return z @ self.M.T + a @ self.B.T


def smooth():
    return Linear(torch.eye(D))


def brittle(K=1000.0):
    """M = I + K v u^T: one direction of z steers the prediction K times as far."""
    gen = torch.Generator().manual_seed(1)
    u, v = torch.nn.functional.normalize(torch.randn(2, D, generator=gen), dim=-1)
    return Linear(torch.eye(D) + K * torch.outer(v, u))


def pairs(N=64, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(N, D, generator=gen, dtype=dtype)
    a = torch.rand(N, A, generator=gen, dtype=dtype) * 2 - 1
    g = torch.randn(N, D, generator=gen, dtype=dtype)
    return z, a, g


def test_identity_in_z_has_unit_gain_and_the_step_helps():
    f = measure_gradient_step(smooth(), *pairs())
    assert not f.brittle
    assert [s.eps for s in f.steps] == [0.01, 0.1]
    for s in f.steps:
        assert s.pairs == 64
        assert s.gain_median == pytest.approx(1.0, rel=1e-3)
        assert s.ratio_median < 1 and s.ratio_p10 < s.ratio_median


def test_one_large_singular_value_is_brittle():
    f = measure_gradient_step(brittle(), *pairs())
    s = f.steps[0]
    assert f.brittle and s.gain_median > 50 * BRITTLE_GAIN  # about K: r lies mostly along v
    assert s.ratio_median < 1


def test_ratio_matches_the_closed_form_step_of_a_linear_model():
    gen = torch.Generator().manual_seed(2)
    M = torch.randn(D, D, generator=gen, dtype=torch.float64)
    model = Linear(M)
    z, a, g = pairs(dtype=torch.float64)
    f = measure_gradient_step(model, z, a, g, eps=(0.05, 0.3))
    Mn, Bn = M.numpy(), model.B.detach().numpy()
    zn, an, gn = z.numpy(), a.numpy(), g.numpy()
    spread = np.sqrt(((zn - zn.mean(0)) ** 2).sum(-1).mean())
    assert f.spread == pytest.approx(spread, rel=1e-12)
    r = zn @ Mn.T + an @ Bn.T - gn  # grad of |r|^2 is 2 M^T r; step -size * M^T r / |M^T r|
    h = r @ Mn
    for s, e in zip(f.steps, (0.05, 0.3), strict=True):
        size = e * spread
        r1 = r - size * (h / np.linalg.norm(h, axis=-1, keepdims=True)) @ Mn.T
        d0, d1 = np.linalg.norm(r, axis=-1), np.linalg.norm(r1, axis=-1)
        assert s.ratio_median == pytest.approx(np.median(d1 / d0), abs=1e-4)
        assert s.ratio_p10 == pytest.approx(np.percentile(d1 / d0, 10), abs=1e-4)
        assert s.gain_median == pytest.approx(np.median((d0 - d1) / size), abs=1e-4)


def test_pairs_already_at_their_goal_are_dropped():
    model = smooth()
    z, a, g = pairs(N=10)
    with torch.no_grad():
        g[:4] = model.step(z[:4], a[:4])
    f = measure_gradient_step(model, z, a, g)
    assert all(s.pairs == 6 for s in f.steps)
    assert f.steps[0].gain_median == pytest.approx(1.0, rel=1e-3)


def test_any_leading_dims_and_a_given_spread():
    z, a, g = pairs(N=24)
    flat = measure_gradient_step(brittle(), z, a, g, spread=2.0)
    lead = measure_gradient_step(brittle(), z.reshape(2, 3, 4, D), a.reshape(2, 3, 4, A),
                                 g.reshape(2, 3, 4, D), spread=2.0)
    assert flat == lead and flat.spread == 2.0


def test_model_parameters_get_no_grad():
    model = brittle()
    measure_gradient_step(model, *pairs())
    assert all(p.requires_grad and p.grad is None for p in model.parameters())


def test_on_problems_encodes_numpy_inputs_and_matches_the_tensor_call():
    model = smooth()
    z, a, g = pairs()
    f = measure_on_problems(model, z.numpy(), a.numpy(), g.numpy(), eps=(0.02,))
    assert f == measure_gradient_step(model, z, a, g, eps=(0.02,))


def test_on_problems_with_a_model_without_parameters():
    class Shift:
        def encode(self, s):
            return 2 * s

        def step(self, z, a):
            return z + a.sum(-1, keepdim=True)

    rng = np.random.default_rng(0)
    f = measure_on_problems(Shift(), rng.normal(size=(16, D)), rng.uniform(-1, 1, (16, A)),
                            rng.normal(size=(16, D)))
    assert f.steps[0].pairs == 16 and not f.brittle
    assert f.steps[0].gain_median == pytest.approx(1.0, rel=1e-3)
