r"""``Linear`` layers whose CPU products run on faster kernels: same maths, same parameters.

Two changes to how PyTorch computes ``y = x W^T + b`` and its gradients on the CPU (float32
for the first, any dtype for the second), both measured in ``experiments/RESULTS.md``:

- **oneDNN for the skinny products.** PyTorch's CPU ``addmm``/``mm`` go to MKL's GEMM, which at
  the models' shapes (``[N*T, 64] @ [64, 64]``, 204,800 rows at NTU shape and batch 64; the
  temporal conv's ``[N*T, 80] @ [80, 16]``) ran at 70-75 % of a square ``2048^3`` GEMM's rate
  on this project's machines (AMD EPYC, one thread), oneDNN's matmul at 90-97 % (its input-
  gradient product ``[N*T, 16] @ [16, 80]``: 70 % against 40 %). The forward product and the
  input gradient ``g W`` therefore run through ``torch.ops.mkldnn._linear_pointwise`` (the
  oneDNN linear PyTorch's own compiler uses) for float32 CPU inputs with at least
  :data:`ONEDNN_MIN_ROWS` rows; below that oneDNN's per-call set-up (about 20 us) costs more
  than it saves. The weight gradient stays MKL's (oneDNN was not faster there). The products
  round differently from MKL's in float32 (a few units in the last place); in float64 nothing
  changes (oneDNN is not used). Off when oneDNN is unavailable, disabled
  (``torch.backends.mkldnn.enabled = False``) or opted out with ``SKELGRAPH_ONEDNN=0``.
- **A narrow input's weight gradient as** ``(x^T g)^T``. PyTorch's backward multiplies ``g^T``
  ``[C_out, M]`` by ``x`` ``[M, C_in]``; with the joint embedding's ``C_in = 3`` input channels
  that product ran at under 1 % of the GEMM rate and took 0.39 s of a 12 s STRL fine-tuning step
  (issue 20); ``[C_in, M] @ [M, C_out]`` transposed took an eighth of the time. Used when
  ``C_in < C_out``.

:func:`linear` is the function, :class:`FastLinear` the ``torch.nn.Linear`` computed by it
(same ``weight``/``bias``, init and state-dict keys: a checkpoint of either loads into the other).
"""
from __future__ import annotations

import functools
import os

import torch
import torch.nn.functional as F
from torch import Tensor

ONEDNN_MIN_ROWS = 4096  # below it MKL's call is cheaper (measured: 1.0-1.2x at 2,048-6,400 rows)
OPT_OUT = "SKELGRAPH_ONEDNN"


def onednn_linear_available() -> bool:
    r"""Whether :func:`linear` may use oneDNN: the user did not opt out (``SKELGRAPH_ONEDNN=0``)
    and :func:`onednn_linear_works`."""
    return os.environ.get(OPT_OUT, "1") != "0" and onednn_linear_works()


@functools.cache
def onednn_linear_works() -> bool:
    r"""Whether this PyTorch build has the oneDNN linear and it computes ``x W^T + b`` (checked
    once, on a tiny product, against :func:`torch.nn.functional.linear`)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        # its own generator: drawing from the global one would shift every later random number of
        # the process (dropout, masks), so a run, or its resumed continuation, would change
        gen = torch.Generator().manual_seed(0)
        x, w, b = (torch.randn(*shape, generator=gen) for shape in ((8, 5), (3, 5), (3,)))
        return torch.allclose(_onednn(x, w, b), F.linear(x, w, b), rtol=1e-4, atol=1e-5)
    except (AttributeError, RuntimeError, NotImplementedError):  # op missing or not built for this CPU
        return False


def onednn_linear_status() -> str:
    r"""One line on whether :func:`linear` uses oneDNN here, and why not (for ``skelgraph env``
    and the bench's environment record)."""
    if os.environ.get(OPT_OUT, "1") == "0":
        return f"off ({OPT_OUT}=0)"
    if not onednn_linear_works():
        return "off (this PyTorch build has no working oneDNN linear)"
    if not torch.backends.mkldnn.enabled:
        return "off (torch.backends.mkldnn.enabled is False)"
    return f"on (float32 CPU products of at least {ONEDNN_MIN_ROWS} rows; MKL below)"


def _onednn(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    r"""``x W^T + b`` by oneDNN; ``x`` ``[M, C_in]``, ``weight`` ``[C_out, C_in]`` -> ``[M, C_out]``."""
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), weight.contiguous(), bias, "none", [], "")


def _use_onednn(rows: int, x: Tensor) -> bool:
    return (rows >= ONEDNN_MIN_ROWS and x.dtype == torch.float32 and torch.backends.mkldnn.enabled
            and onednn_linear_available())


class _CPULinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:  # type: ignore[override]
        flat = x.reshape(-1, x.size(-1))
        ctx.save_for_backward(flat, weight)
        ctx.has_bias = bias is not None
        out = _onednn(flat, weight, bias) if _use_onednn(flat.size(0), flat) else F.linear(flat, weight, bias)
        return out.view(*x.shape[:-1], weight.size(0))

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        flat, weight = ctx.saved_tensors
        g = grad.reshape(-1, grad.size(-1))
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = _onednn(g, weight.t(), None) if _use_onednn(g.size(0), g) else g.matmul(weight)
            grad_x = grad_x.view(*grad.shape[:-1], weight.size(1))
        if ctx.needs_input_grad[1]:
            narrow = weight.size(1) < weight.size(0)
            grad_w = torch.mm(flat.t(), g).t() if narrow else torch.mm(g.t(), flat)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = g.sum(0)
        return grad_x, grad_w, grad_b


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r""":func:`torch.nn.functional.linear` (``x`` ``[*, C_in]``, ``weight`` ``[C_out, C_in]`` ->
    ``[*, C_out]``); on the CPU, without autocast or compilation, through the kernels above.

    Example:
        >>> x, w = torch.randn(5, 2, requires_grad=True), torch.randn(4, 2, requires_grad=True)
        >>> linear(x, w).sum().backward()
        >>> torch.allclose(w.grad, torch.ones(5, 4).t() @ x.detach())
        True
    """
    if (x.device.type != "cpu" or x.dtype != weight.dtype or torch.is_autocast_enabled("cpu")
            or torch.compiler.is_compiling()):
        return F.linear(x, weight, bias)
    onednn = _use_onednn(x.numel() // max(x.size(-1), 1), x)
    if not torch.is_grad_enabled():
        if onednn:
            return _onednn(x.reshape(-1, x.size(-1)), weight, bias).view(*x.shape[:-1], weight.size(0))
        return F.linear(x, weight, bias)
    if onednn or weight.size(1) < weight.size(0):
        return _CPULinear.apply(x, weight, bias)
    return F.linear(x, weight, bias)


class FastLinear(torch.nn.Linear):
    r""":class:`torch.nn.Linear` computed by :func:`linear` (same parameters, initial values and
    state-dict keys; a checkpoint of either loads into the other).

    Shapes:
        - input: ``[*, in_features]``
        - output: ``[*, out_features]``
    """

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)
