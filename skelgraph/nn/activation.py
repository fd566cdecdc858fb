r"""Activations with a faster CPU backward than PyTorch's kernels, same maths, same parameters.

PyTorch's ``PReLU`` backward on the CPU (``aten::_prelu_kernel_backward``) computes the weight
gradient per element and reduces it afterwards; on the ``[N, T, D]`` tracks of one STRL step it
takes several times as long as ``leaky_relu_backward`` with the slope as a number (the input
gradient, one fused pass) plus a dot product (the weight gradient), and an STRL classifier
calls it 21 times per step. :class:`FastPReLU` is ``torch.nn.PReLU`` (same ``weight``
parameter, same init, same state-dict key) whose single-parameter case on the CPU runs
:func:`prelu` below; elsewhere (CUDA's kernels are fine) it is PyTorch's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class _PReLU(torch.autograd.Function):
    r"""``prelu(x, w)`` with one shared slope ``w`` ``[1]`` on the CPU; the backward is
    ``grad * (1 if x > 0 else w)`` and ``sum(grad * min(x, 0))``, as PyTorch's."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        return F.prelu(x, weight.to(x.dtype))

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        grad_x = grad_w = None
        if ctx.needs_input_grad[0] and ctx.needs_input_grad[1] and grad.dtype in (torch.float32, torch.float64) \
                and x.dtype == grad.dtype and x.numel() > _CHUNK:
            grad_x, grad_w = _backward_in_chunks(grad.contiguous(), x.contiguous(), weight.item())
            return grad_x, grad_w.view_as(weight).to(weight.dtype)
        if ctx.needs_input_grad[0]:
            # grad where x > 0, else slope * grad (x = 0 included, as PyTorch's PReLU): one pass
            grad_x = torch.ops.aten.leaky_relu_backward(grad, x, weight.item(), False)
        if ctx.needs_input_grad[1]:
            negative = x.clamp(max=0).to(grad.dtype)
            if grad.dtype in (torch.float32, torch.float64):
                grad_w = torch.dot(grad.reshape(-1), negative.reshape(-1))
            else:
                # under autocast: in the activations' dtype (converting both operands to float
                # costs more than the product), as row dot products summed in float; torch.dot
                # in bf16 took 9x as long on the CPU (3.0 vs 0.32 ms at [640, 32, 64])
                rows = x.size(-1) if x.dim() else 1
                grad_w = torch.linalg.vecdot(grad.reshape(-1, rows), negative.reshape(-1, rows)).sum(
                    dtype=torch.float32)
            grad_w = grad_w.view_as(weight).to(weight.dtype)
        return grad_x, grad_w


_CHUNK = 1 << 16  # elements: a chunk of x, grad and grad_x (768 KiB in float32) stays in a core's L2 cache


def _backward_in_chunks(grad: Tensor, x: Tensor, slope: float) -> tuple[Tensor, Tensor]:
    r"""Both gradients of :class:`_PReLU`, chunk by chunk, so that the weight gradient's
    ``min(x, 0)`` and dot product read ``x`` and ``grad`` from the cache the input gradient just
    read them into instead of from memory: 1.22-1.30x faster at an STRL step's ``[3200, 64, 64]``
    (issue 20, ``experiments/RESULTS.md``). The weight gradient is summed chunk by chunk."""
    grad_x = torch.empty_like(grad)
    flat_grad, flat_x, flat_out = grad.view(-1), x.view(-1), grad_x.view(-1)
    parts = []
    for start in range(0, flat_x.numel(), _CHUNK):
        g, v = flat_grad[start:start + _CHUNK], flat_x[start:start + _CHUNK]
        torch.ops.aten.leaky_relu_backward.grad_input(g, v, slope, False, grad_input=flat_out[start:start + _CHUNK])
        parts.append(torch.dot(g, v.clamp(max=0)))
    return grad_x, torch.stack(parts).sum()


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    r"""``max(0, x) + weight * min(0, x)``; with a one-element ``weight`` on the CPU through the
    backward above, otherwise :func:`torch.nn.functional.prelu`.

    Example:
        >>> prelu(torch.tensor([-2.0, 3.0]), torch.tensor([0.25])).tolist()
        [-0.5, 3.0]
    """
    if weight.numel() != 1 or x.device.type != "cpu" or torch.compiler.is_compiling():
        # under torch.compile the compiler writes PReLU's fused backward itself (and the
        # backward above, with its weight.item(), would break the graph)
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
