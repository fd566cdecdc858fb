r"""The sparse-dense products of the fused path: a transposed CSR adjacency (row = target) times
``[N, T*F]`` features, with a backward that reuses the forward kernel.

On CPU the product is ``torch.sparse.mm(adj_t, x, "sum")``, PyTorch's vectorised CSR kernel,
which is 2-3x faster here than the reduce-less ``torch.sparse.mm`` that
``torch_geometric.utils.spmm`` calls for ``"sum"``; on other devices it is
:func:`torch_geometric.utils.spmm`.
"""
from __future__ import annotations

import warnings

import torch
from torch import Tensor
from torch_geometric.utils import spmm, to_torch_csr_tensor

from skelgraph.nn.conv.cache import AdjacencyCache


class _CSRMatmul(torch.autograd.Function):
    r"""``adj_t @ x`` for a constant CSR ``adj_t`` whose transpose ``adj`` (CSR too) is given:
    the backward is ``adj @ grad``, the same fast forward kernel. PyTorch's own backward of
    ``torch.sparse.mm(adj_t, x, "sum")`` rebuilds the transpose (a sort) on every call."""

    @staticmethod
    def forward(ctx, adj_t: Tensor, adj: Tensor, flat: Tensor) -> Tensor:  # type: ignore[override]
        ctx.adj = adj
        return torch.sparse.mm(adj_t, flat, "sum")

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, None, Tensor]:  # type: ignore[override]
        return None, None, torch.sparse.mm(ctx.adj, grad.contiguous(), "sum")


def transpose_csr(adj_t: Tensor) -> Tensor:
    r"""The transpose of a CSR matrix, as CSR (for :func:`sparse_matmul`'s backward)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return adj_t.t().to_sparse_csr()


def sparse_matmul(adj_t: Tensor, x: Tensor, adj: Tensor | None = None) -> Tensor:
    r"""``adj_t @ x`` over every frame at once: ``adj_t`` sparse CSR ``[N_out, N_in]``,
    ``x`` ``[N_in, *]`` (e.g. ``[N, T, F]``), result ``[N_out, *]``. On the CPU, passing ``adj``
    (``adj_t``'s transpose, :func:`transpose_csr`; the adjacency must need no gradient) makes the
    backward one more forward product instead of PyTorch's generic one, which is slower than a
    dense ``[V, V]`` product at NTU shape."""
    flat = x.reshape(x.size(0), -1)
    if flat.device.type == "cpu":
        if adj is not None and torch.is_grad_enabled() and flat.requires_grad:
            out = _CSRMatmul.apply(adj_t, adj, flat)
        else:
            out = torch.sparse.mm(adj_t, flat, "sum")  # vectorised CPU CSR kernel (with autograd)
    else:
        out = spmm(adj_t, flat, reduce="sum")
    return out.view(adj_t.size(0), *x.shape[1:])


class FusedProductMixin:
    r"""For the fused convs: the transpose of the CSR adjacency a layer propagates with, built
    once per adjacency (one layer sees the same one for every frame and for every call of a
    forward pass; the STRL classifier calls its encoder three times per step)."""

    _transpose: AdjacencyCache

    def _fused_product(self, adj_t: Tensor, x: Tensor) -> Tensor:
        if not hasattr(self, "_transpose"):
            self._transpose = AdjacencyCache()
        adj = self._transpose.get((adj_t,), lambda: transpose_csr(adj_t)) if x.device.type == "cpu" else None
        return sparse_matmul(adj_t, x, adj)


def csr_adjacency(edge_index: Tensor, values: Tensor | None, size: tuple[int, int],
                  dtype: torch.dtype = torch.float32) -> Tensor:
    r"""Transposed adjacency as sparse CSR ``[size[1], size[0]]`` (row = target
    ``edge_index[1]``, column = source ``edge_index[0]``), the form ``propagate`` expects."""
    if values is None:
        values = torch.ones(edge_index.size(1), device=edge_index.device)
    with torch.sparse.check_sparse_tensor_invariants(False), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return to_torch_csr_tensor(edge_index.flip(0), values.to(dtype), size=(size[1], size[0]))
