r"""Activations with a faster CPU backward than PyTorch's kernels, same maths, same parameters.

PyTorch's ``PReLU`` backward (``aten::_prelu_kernel_backward``) computes the weight gradient
per element and reduces it afterwards; on ``[N, T, D]`` tracks of one STRL step it takes 2-3x
as long as three plain tensor ops (a comparison, a multiply-add and a dot product), and an
STRL classifier calls it 21 times per step. :class:`FastPReLU` is ``torch.nn.PReLU`` (same
``weight`` parameter, same init, same state-dict key) whose single-parameter case runs
:func:`prelu` below.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class _PReLU(torch.autograd.Function):
    r"""``prelu(x, w)`` with one shared slope ``w`` ``[1]``; the backward is
    ``grad * (1 if x > 0 else w)`` and ``sum(grad * min(x, 0))``, as PyTorch's."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        return F.prelu(x, weight.to(x.dtype))

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            w = weight.to(grad.dtype)
            # slope 1 where x > 0, w elsewhere (x = 0 included, as PyTorch's kernel)
            grad_x = grad * ((x > 0) * (1 - w) + w)
        if ctx.needs_input_grad[1]:
            # accumulate in float32 at least: a bf16 dot over a million terms loses the sum
            acc = torch.promote_types(grad.dtype, torch.float32)
            grad_w = torch.dot(grad.reshape(-1).to(acc), x.clamp(max=0).reshape(-1).to(acc))
            grad_w = grad_w.view_as(weight).to(weight.dtype)
        return grad_x, grad_w


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    r"""``max(0, x) + weight * min(0, x)`` for a one-element ``weight`` (any shape of ``x``); a
    per-channel ``weight`` goes to :func:`torch.nn.functional.prelu`.

    Example:
        >>> prelu(torch.tensor([-2.0, 3.0]), torch.tensor([0.25])).tolist()
        [-0.5, 3.0]
    """
    if weight.numel() != 1:
        return F.prelu(x, weight)
    return _PReLU.apply(x, weight)


class FastPReLU(torch.nn.PReLU):
    r""":class:`torch.nn.PReLU` computed by :func:`prelu` (same parameter ``weight``, same
    initial value, same state-dict key; a checkpoint of either loads into the other).

    Shapes:
        - input: any
        - output: same as the input
    """

    def forward(self, x: Tensor) -> Tensor:
        return prelu(x, self.weight)
