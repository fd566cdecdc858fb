r"""A ``Linear`` layer with a faster CPU weight gradient for narrow inputs, same maths, same parameters.

The weight gradient of ``y = x W^T + b`` is ``g^T x`` (``g`` the output's gradient). PyTorch's
backward multiplies ``g^T`` ``[C_out, M]`` by ``x`` ``[M, C_in]``; with the joint embedding's
``C_in = 3`` input channels and ``M = N*T`` rows (204,800 at NTU shape, batch 64), that product
ran at under 1 % of the CPU's GEMM rate and took 0.39 s of a 12 s STRL fine-tuning step
(issue 20). The same matrix as ``(x^T g)^T``, ``[C_in, M] @ [M, C_out]`` transposed, took an
eighth of the time (``experiments/RESULTS.md``). :class:`FastLinear` is ``torch.nn.Linear`` (same
``weight``/``bias``, init and state-dict keys) whose CPU backward computes it that way when
``C_in < C_out``; elsewhere it is PyTorch's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class _NarrowLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        g = grad.reshape(-1, grad.size(-1))
        grad_x = grad.matmul(weight) if ctx.needs_input_grad[0] else None
        grad_w = torch.mm(x.reshape(-1, x.size(-1)).t(), g).t() if ctx.needs_input_grad[1] else None
        grad_b = g.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r""":func:`torch.nn.functional.linear`; on the CPU with fewer input than output channels
    (and no autocast), through the backward above.

    Example:
        >>> x, w = torch.randn(5, 2, requires_grad=True), torch.randn(4, 2, requires_grad=True)
        >>> linear(x, w).sum().backward()
        >>> torch.allclose(w.grad, torch.ones(5, 4).t() @ x.detach())
        True
    """
    if (x.device.type != "cpu" or weight.size(1) >= weight.size(0) or not torch.is_grad_enabled()
            or torch.is_autocast_enabled("cpu") or x.dtype != weight.dtype or torch.compiler.is_compiling()):
        return F.linear(x, weight, bias)
    return _NarrowLinear.apply(x, weight, bias)


class FastLinear(torch.nn.Linear):
    r""":class:`torch.nn.Linear` computed by :func:`linear` (same parameters, initial values and
    state-dict keys; a checkpoint of either loads into the other).

    Shapes:
        - input: ``[*, in_features]``
        - output: ``[*, out_features]``
    """

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)
