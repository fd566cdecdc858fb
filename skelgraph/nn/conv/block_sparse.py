r"""Block CSR: ``K`` sparse matrices with one pattern multiplied as one, and GAT's attention
product built on it (its coefficients differ per frame and head, so GAT's fused path is one
block CSR product over ``[N*T*heads, F]``; CPU, float32/float64)."""
from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary
from torch_geometric.utils import add_remaining_self_loops


class BlockCSR(NamedTuple):
    r"""The pattern of ``K`` matrices that share one edge set, as one block-diagonal CSR
    ``[N*K, N*K]`` over the ``[N*K, F]`` view of ``[N, K, F]`` features: row ``i*K + k`` (target
    ``i``, slot ``k``) holds the edges into ``i``, column ``j*K + k``; entries in row order.
    ``value_index[p]`` is where entry ``p``'s value sits in per-edge values ``[E, K]`` flattened."""

    crow: Tensor  # [N*K + 1]
    col: Tensor  # [E*K]
    value_index: Tensor  # [E*K]

    @property
    def size(self) -> int:
        r"""``N*K``, the matrix's side."""
        return self.crow.numel() - 1

    def matrix(self, values: Tensor) -> Tensor:
        r"""The CSR matrix with per-edge values ``[E, K]`` in place."""
        return self.with_entries(values.reshape(-1)[self.value_index])

    def with_entries(self, entries: Tensor) -> Tensor:
        r"""The CSR matrix with ``entries`` ``[E*K]`` already in entry (row) order."""
        with torch.sparse.check_sparse_tensor_invariants(False), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(self.crow, self.col, entries, size=(self.size, self.size))


def block_csr(target: Tensor, source: Tensor, num_nodes: int, slots: int) -> BlockCSR:
    r""":class:`BlockCSR` of edges ``source -> target`` (``[E]`` each) for ``slots`` matrices.

    Example:
        >>> b = block_csr(torch.tensor([0, 1]), torch.tensor([1, 0]), 2, slots=2)
        >>> b.matrix(torch.tensor([[1., 2.], [3., 4.]])).to_dense().tolist()  # edge e, slot k: [e, k]
        [[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 2.0], [3.0, 0.0, 0.0, 0.0], [0.0, 4.0, 0.0, 0.0]]
    """
    order = torch.argsort(target * num_nodes + source)  # by target, then source: sorted columns
    row, col = target[order], source[order]
    degree = torch.bincount(row, minlength=num_nodes)
    group = torch.cumsum(degree, 0) - degree  # first sorted edge of each target
    place = torch.arange(row.numel(), device=row.device) - group[row]  # rank among its target's edges
    slot = torch.arange(slots, device=row.device)
    # entry of (sorted edge p, slot k): the target's block of degree * slots entries, slot k's run of it
    entry = ((group[row] * slots)[:, None] + slot * degree[row][:, None] + place[:, None]).reshape(-1)
    value_index = torch.empty_like(entry)
    value_index[entry] = (order[:, None] * slots + slot).reshape(-1)
    columns = torch.empty_like(entry)
    columns[entry] = (col[:, None] * slots + slot).reshape(-1)
    crow = torch.cat([degree.new_zeros(1), torch.cumsum(degree.repeat_interleave(slots), 0)])
    return BlockCSR(crow, columns, value_index)


class _AttentionProduct(torch.autograd.Function):
    r"""``out[i, k] = sum_{e: j -> i} alpha[e, k] x[j, k]`` for ``alpha [E, K]``, ``x [N, K, F]``:
    a block CSR product forward, the transposed product for ``x``'s gradient, and for
    ``alpha``'s the sampled product ``<grad[i, k], x[j, k]>`` at the edges only
    (``torch.sparse.sampled_addmm``); no ``[E, K, F]`` message tensor in either direction."""

    @staticmethod
    def forward(ctx, alpha: Tensor, x: Tensor,  # type: ignore[override]
                pattern: BlockCSR, pattern_t: BlockCSR) -> Tensor:
        ctx.save_for_backward(alpha, x)
        ctx.patterns = pattern, pattern_t
        flat = x.reshape(pattern.size, x.size(-1))  # explicit sizes: N = 0 has no -1 to infer
        return torch.sparse.mm(pattern.matrix(alpha), flat, "sum").view_as(x)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:  # type: ignore[override]
        alpha, x = ctx.saved_tensors
        pattern, pattern_t = ctx.patterns
        grad = grad.contiguous().reshape(pattern.size, x.size(-1))
        grad_alpha = grad_x = None
        if ctx.needs_input_grad[0]:
            mask = pattern.with_entries(alpha.new_zeros(pattern.col.numel()))  # where to sample
            sampled = torch.sparse.sampled_addmm(mask, grad, x.reshape(pattern.size, x.size(-1)).t(), beta=0.0)
            grad_alpha = alpha.new_empty(alpha.numel())
            grad_alpha[pattern.value_index] = sampled.values()
            grad_alpha = grad_alpha.view_as(alpha)
        if ctx.needs_input_grad[1]:
            grad_x = torch.sparse.mm(pattern_t.matrix(alpha), grad, "sum").view_as(x)
        return grad_alpha, grad_x, None, None


_ATTENTION_PATTERNS = WeakIdKeyDictionary()  # edge_index -> (its _version, {(N, slots): (loops, patterns)})


def attention_patterns(edge_index: Tensor, num_nodes: int, slots: int) -> tuple[Tensor, tuple[BlockCSR, BlockCSR]]:
    r"""``edge_index`` with its remaining self loops added and the two :class:`BlockCSR` patterns
    :func:`attention_product` takes, built once per ``edge_index`` and shared by every layer that
    sees it: the entry lives as long as the ``edge_index`` tensor does (a weak reference), so
    the layers of a model build one pattern per batch, not one each, and nothing outlives the
    batch. An in-place change to ``edge_index`` rebuilds."""
    version, built = _ATTENTION_PATTERNS.get(edge_index, (None, None))
    if version != edge_index._version:
        built = {}
        _ATTENTION_PATTERNS[edge_index] = (edge_index._version, built)
    if (num_nodes, slots) not in built:
        loops = add_remaining_self_loops(edge_index, num_nodes=num_nodes)[0]
        source, target = loops
        built[num_nodes, slots] = loops, (block_csr(target, source, num_nodes, slots),
                                          block_csr(source, target, num_nodes, slots))
    return built[num_nodes, slots]


def attention_product(alpha: Tensor, x: Tensor, patterns: tuple[BlockCSR, BlockCSR]) -> Tensor:
    r"""GAT's weighted neighbour sum for every frame and head at once, on the CPU.

    Args:
        alpha: ``[E, T, H]`` coefficients of the edges ``source -> target``.
        x: ``[N, T, H, F]`` features.
        patterns: ``(block_csr(target, source, N, T*H), block_csr(source, target, N, T*H))``,
            built once per ``edge_index`` (:func:`attention_patterns`).

    Returns:
        ``[N, T, H, F]``: ``out[i, t, h] = sum over edges j -> i of alpha[e, t, h] * x[j, t, h]``.
    """
    n, t, h, f = x.shape
    out = _AttentionProduct.apply(alpha.reshape(alpha.size(0), t * h), x.reshape(n, t * h, f), *patterns)
    return out.view(n, t, h, f)
