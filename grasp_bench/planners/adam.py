"""A flat-buffer Adam for the gradient planners (GD, LatCo, GRASP): one fused kernel per
learning-rate segment instead of ``torch.optim.Adam``'s per-step Python bookkeeping."""

from __future__ import annotations

import torch

__all__ = ["FlatAdam"]


class FlatAdam:
    """Adam (Kingma & Ba 2015) on one flat buffer whose segments have their own learning
    rates: the same update as ``torch.optim.Adam`` with one parameter group per segment
    (betas 0.9/0.999, eps 1e-8 added outside the square root, bias correction).

    Why not ``torch.optim.Adam``: its ``step`` spends ~150 us of Python bookkeeping per
    call on a CPU, more than a small model's forward+backward.  Here a step is one
    ``aten::_fused_adam_`` kernel per segment (the kernel behind ``torch.optim.Adam(...,
    fused=True)``) where the device supports it, else 6-7 plain tensor ops.

    Args:
        param: the variables, a contiguous tensor updated in place (views of it -- e.g.
            the states and the actions of GRASP -- see every step).
        lrs: ``[(numel, lr), ...]`` consecutive segments of ``param.view(-1)`` and their
            learning rates (sizes adding up to ``param.numel()``), or one float for all.
        fused: use the fused kernel (None: if it works on this device and dtype).
    """

    def __init__(
        self,
        param: torch.Tensor,
        lrs: float | list[tuple[int, float]],
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        fused: bool | None = None,
    ):
        if not param.is_contiguous():
            raise ValueError("FlatAdam needs a contiguous parameter buffer")
        self.param = param.view(-1)
        self.beta1, self.beta2 = betas
        self.eps = eps
        if isinstance(lrs, int | float):
            lrs = [(self.param.numel(), float(lrs))]
        if sum(n for n, _ in lrs) != self.param.numel():
            raise ValueError("FlatAdam segments must cover the parameter exactly")
        bounds, start = [], 0
        for n, lr in lrs:
            bounds.append((start, start + n, float(lr)))
            start += n
        self._bounds = bounds
        # Which path a step takes is not observable (both are pinned to torch.optim.Adam):
        # mutants that swap them are equivalent, hence the pragmas.
        if len(bounds) == 1:  # pragma: no mutate
            self._lr: float | torch.Tensor = bounds[0][2]
        else:
            self._lr = torch.cat([
                torch.full((b - a,), lr, device=param.device, dtype=param.dtype)
                for a, b, lr in bounds
            ])
        self.fused = _fused_adam_works(param) if fused is None else fused  # pragma: no mutate
        self.reset()

    def reset(self) -> None:
        """Forget the moments and the step count (a fresh optimizer)."""
        self.m = torch.zeros_like(self.param)
        self.v = torch.zeros_like(self.param)
        self.k = 0
        self._step = torch.zeros((), device=self.param.device, dtype=torch.float32)
        self._segments = [
            ([self.param[a:b]], [self.m[a:b]], [self.v[a:b]], lr) for a, b, lr in self._bounds
        ]

    @torch.no_grad()
    def step(self, grad: torch.Tensor) -> None:
        """One Adam step with ``grad`` (same numel as the parameter)."""
        g = grad.reshape(-1)
        self.k += 1
        if self.fused:  # pragma: no mutate (either path: the same step)
            self._step.fill_(self.k)
            for (a, b, _), (p, m, v, lr) in zip(self._bounds, self._segments, strict=True):
                torch._fused_adam_(
                    p, [g[a:b]], m, v, [], [self._step], lr=lr, beta1=self.beta1,
                    beta2=self.beta2, weight_decay=0.0, eps=self.eps, amsgrad=False,
                    maximize=False)
            return
        bc1 = 1.0 - self.beta1**self.k
        bc2_sqrt = (1.0 - self.beta2**self.k) ** 0.5
        self.m.lerp_(g, 1.0 - self.beta1)  # m = b1 m + (1 - b1) g
        self.v.lerp_(g.square(), 1.0 - self.beta2)  # v = b2 v + (1 - b2) g^2
        # p -= lr (m / bc1) / (sqrt(v / bc2) + eps), with bc2_sqrt moved out of the sqrt
        denom = self.v.sqrt().add_(self.eps * bc2_sqrt)
        if isinstance(self._lr, float):
            self.param.addcdiv_(self.m, denom, value=-self._lr * bc2_sqrt / bc1)
        else:
            self.param.addcdiv_(self.m * self._lr, denom, value=-bc2_sqrt / bc1)


_FUSED_OK: dict[tuple[str, torch.dtype], bool] = {}


def _fused_adam_works(like: torch.Tensor) -> bool:
    """Whether ``aten::_fused_adam_`` runs on ``like``'s device type and dtype (cached)."""
    key = (like.device.type, like.dtype)
    if key not in _FUSED_OK:
        try:
            p = torch.zeros(2, device=like.device, dtype=like.dtype)
            step = torch.ones((), device=like.device, dtype=torch.float32)
            torch._fused_adam_([p], [torch.ones_like(p)], [torch.zeros_like(p)],
                               [torch.zeros_like(p)], [], [step], lr=0.1, beta1=0.9,
                               beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False,
                               maximize=False)
            _FUSED_OK[key] = bool(torch.allclose(p, torch.full_like(p, -0.1)))
        except (AttributeError, RuntimeError, NotImplementedError, TypeError):
            _FUSED_OK[key] = False
    return _FUSED_OK[key]
