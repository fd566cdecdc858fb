r"""Temporal layers run on the ``[N, T, C]`` layout (channels last) with the weights of
``torch.nn`` modules built for ``[N, C, T]``.

The STRL model keeps node features as ``[N, T, D]``; PyTorch's ``Conv1d``/``BatchNorm1d``/
``MaxPool1d`` want ``[N, D, T]``. Transposing costs a copy in and out, and on the CPU
``Conv1d``'s backward at these shapes (``N`` = batch x joints rows of a few dozen frames) is
6x its forward. The functions here compute the same maps on ``[N, T, C]`` directly:

- a 1x1 convolution is a ``Linear`` over the last axis;
- a temporal convolution of kernel ``k`` and dilation ``d`` is a ``Linear`` over the ``k``
  shifted copies of the input laid side by side (``[N, T, k*C]``), one matrix product
  forward and two backward;
- batch normalisation of ``[N, T, C]`` over ``N`` and ``T`` is ``F.batch_norm`` of the
  ``[N*T, C]`` view, and several ``BatchNorm1d`` applied to adjacent channel blocks run as one
  call over their concatenated parameters and running statistics (written back after).

Gradients that reach a kernel as slices of a wider tensor (``torch.cat``'s backward hands
out views) make ``F.batch_norm``'s backward and ``mm`` take strided paths, 5-10x slower at NTU
shape; :func:`contiguous_grad` copies such a gradient once before it gets there.

Each function takes the modules whose parameters it uses, so state dicts stay those of the
modules; :class:`~skelgraph.nn.strl.MultiScaleTemporalConv` tests the results against the
modules applied as usual.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import BatchNorm1d, Conv1d, MaxPool1d

from skelgraph.nn.linear import linear


def batch_norm_last(x: Tensor, norms: Sequence[BatchNorm1d]) -> Tensor:
    r"""The ``BatchNorm1d`` layers ``norms`` applied to consecutive channel blocks of ``x``
    ``[..., C]`` (``C`` = the sum of their ``num_features``; statistics over all other axes),
    as one call. In training mode each module's running statistics and
    ``num_batches_tracked`` are updated as its own forward would. All must share ``eps``,
    ``momentum``, ``affine=True`` and ``track_running_stats=True`` (see
    :func:`can_fuse_batch_norms`)."""
    first = norms[0]
    flat = x.reshape(-1, x.size(-1))
    cat = (lambda name: getattr(first, name)) if len(norms) == 1 else \
        (lambda name: torch.cat([getattr(m, name) for m in norms]))
    factor = 0.0 if first.momentum is None else first.momentum
    if first.training:
        for m in norms:
            m.num_batches_tracked.add_(1)
        if first.momentum is None:  # cumulative moving average, as _BatchNorm.forward
            factor = 1.0 / float(first.num_batches_tracked)
    running_mean, running_var = cat("running_mean"), cat("running_var")
    out = F.batch_norm(flat, running_mean, running_var, cat("weight"), cat("bias"), first.training, factor,
                       first.eps)
    if first.training and len(norms) > 1:  # F.batch_norm updated the concatenated copies
        with torch.no_grad():
            start = 0
            for m in norms:
                stop = start + m.num_features
                m.running_mean.copy_(running_mean[start:stop])
                m.running_var.copy_(running_var[start:stop])
                start = stop
    return out.view_as(x)


def can_fuse_batch_norms(norms: Sequence[torch.nn.Module]) -> bool:
    r"""Whether :func:`batch_norm_last` computes exactly what ``norms`` compute one by one."""
    first = norms[0]
    # the step counts matter only to a cumulative average (momentum None); not reading them
    # otherwise keeps this check free of tensor reads (a graph break under torch.compile)
    return all(type(m) is BatchNorm1d and m.affine and m.track_running_stats and m.eps == first.eps
               and m.momentum == first.momentum and m.training == first.training
               and (first.momentum is not None or int(m.num_batches_tracked) == int(first.num_batches_tracked))
               for m in norms)


def linear_1x1(x: Tensor, convs: Sequence[Conv1d]) -> Tensor:
    r"""The 1x1 convolutions ``convs`` (same input channels) of ``x`` ``[N, T, C_in]``, their
    outputs side by side: ``[N, T, sum C_out]``, one matrix product."""
    weight = torch.cat([c.weight.squeeze(-1) for c in convs])  # [sum C_out, C_in]
    bias = None if convs[0].bias is None else torch.cat([c.bias for c in convs])
    return linear(x, weight, bias)


def temporal_conv_last(x: Tensor, conv: Conv1d) -> Tensor:
    r"""``conv`` (stride 1, "same" padding ``dilation * (kernel - 1) / 2``, zeros) along the
    frames of ``x`` ``[N, T, C_in]`` -> ``[N, T, C_out]``.

    ``out[n, t] = b + sum_j W[:, :, j] x_pad[n, t + j*d]``: the ``k`` shifted copies of the
    zero-padded input side by side (:func:`frame_shifts`) make ``[N, T, k*C_in]``, and ``W`` laid out as
    ``[C_out, k*C_in]`` in the same (shift, channel) order turns the sum into one product."""
    (k,), (d,), (p,) = conv.kernel_size, conv.dilation, conv.padding
    if conv.stride != (1,) or conv.groups != 1 or 2 * p != d * (k - 1) or conv.padding_mode != "zeros":
        raise ValueError(f"temporal_conv_last handles stride-1 'same' convolutions only, got {conv}")
    columns = frame_shifts(x, k, d)  # [N, T, k*C_in]
    weight = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, -1)  # [C_out, k*C_in], (j, c) order
    return linear(columns, weight, conv.bias)


def _shift_ranges(t: int, k: int, d: int) -> list[tuple[int, int, int]]:
    r"""Per shift ``j``: ``(s, lo, hi)`` with ``columns[:, lo:hi, j] = x[:, lo + s:hi + s]``
    (``s = j*d - p``), zero outside ``[lo, hi)``."""
    p = d * (k - 1) // 2
    ranges = []
    for j in range(k):
        s = j * d - p
        lo, hi = max(0, -s), max(max(0, -s), min(t, t - s))
        ranges.append((s, lo, hi))
    return ranges


class _FrameShifts(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, k: int, d: int) -> Tensor:  # type: ignore[override]
        n, t, c = x.shape
        out = x.new_empty(n, t, k, c)
        for j, (s, lo, hi) in enumerate(_shift_ranges(t, k, d)):
            out[:, lo:hi, j] = x[:, lo + s:hi + s]
            out[:, :lo, j] = 0
            out[:, hi:, j] = 0
        ctx.k, ctx.d = k, d
        return out.view(n, t, k * c)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        n, t, kc = grad.shape
        k, d = ctx.k, ctx.d
        g = grad.view(n, t, k, kc // k)
        centre = (k - 1) // 2  # shift 0: it covers every frame, so it starts the sum (no zero fill)
        grad_x = g[:, :, centre].clone(memory_format=torch.contiguous_format)
        for j, (s, lo, hi) in enumerate(_shift_ranges(t, k, d)):
            if j != centre:
                grad_x[:, lo + s:hi + s] += g[:, lo:hi, j]
        return grad_x, None, None


def frame_shifts(x: Tensor, kernel_size: int, dilation: int = 1) -> Tensor:
    r"""The ``kernel_size`` copies of ``x`` ``[N, T, C]`` shifted by ``j * dilation - p`` frames
    (``p = dilation * (kernel_size - 1) / 2``, zeros where a shift leaves the sequence), side by
    side: ``[N, T, kernel_size * C]``, ``out[n, t, j*C + c] = x_pad[n, t + j*dilation, c]``.

    The same as ``torch.cat`` of the shifted slices of ``F.pad(x)``, written into one output
    (no padded copy), with a backward that sums the shifted gradient slices into one buffer
    (autograd's backward of pad, slices and cat allocates a zero-filled padded gradient per
    shift). ``kernel_size`` must be odd.

    Example:
        >>> frame_shifts(torch.arange(3.).view(1, 3, 1), 3).view(3, 3).tolist()
        [[0.0, 0.0, 1.0], [0.0, 1.0, 2.0], [1.0, 2.0, 0.0]]
    """
    if kernel_size % 2 != 1:
        raise ValueError(f"frame_shifts needs an odd kernel_size, got {kernel_size}")
    if torch.compiler.is_compiling():  # the compiler fuses the plain construction's copies itself
        return frame_shifts_reference(x, kernel_size, dilation)
    return _FrameShifts.apply(x, kernel_size, dilation)


def frame_shifts_reference(x: Tensor, kernel_size: int, dilation: int = 1) -> Tensor:
    r""":func:`frame_shifts` as ``F.pad``, ``kernel_size`` slices and ``torch.cat`` (autograd's
    own backward): what it computes, and what runs under ``torch.compile``."""
    t = x.size(1)
    p = dilation * (kernel_size - 1) // 2
    padded = F.pad(x, (0, 0, p, p))
    return torch.cat([padded[:, j * dilation:j * dilation + t] for j in range(kernel_size)], dim=-1)


def max_pool_time_last(x: Tensor, pool: MaxPool1d) -> Tensor:
    r"""``pool`` along the frames of ``x`` ``[N, T, C]`` -> ``[N, T', C]``. PyTorch's 1-d kernel
    on the transposed view (it copies to ``[N, C, T]`` first) measured 5x faster, forward and
    backward, than ``max_pool2d`` on the channels-last ``[N, C, T, 1]`` view, and 8x faster than
    a maximum of shifted views."""
    return pool(x.transpose(1, 2)).transpose(1, 2)


class _ContiguousGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # type: ignore[override]
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        return grad.contiguous()


def contiguous_grad(x: Tensor) -> Tensor:
    r"""``x`` unchanged; in the backward pass its gradient is made contiguous (a no-op when it
    is), so the kernels that computed ``x`` see a dense gradient.

    Example:
        >>> x = torch.ones(2, 3, requires_grad=True)
        >>> torch.cat([contiguous_grad(x * 2), x], dim=1).sum().backward()
        >>> x.grad.tolist()
        [[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]
    """
    if torch.compiler.is_compiling():  # the compiler picks the gradients' layouts itself
        return x
    return _ContiguousGrad.apply(x)
