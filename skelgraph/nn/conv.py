r"""Graph convolutions over skeleton tracks: ``MessagePassing`` layers whose node features are
``[N, T, F]`` (a node is one person's joint, its feature a track of ``T`` frames).

``node_dim=0`` makes one propagation serve every frame: messages move between joints, never
between frames, so the weights are shared over time by construction.

Every layer has three interchangeable computations of the same function:

- **fused** (``fused=True``, the default): the layer builds, once per ``edge_index`` and then
  from a cache, a ``torch.sparse_csr`` adjacency (transposed: row = target) holding the
  normalisation, and :meth:`message_and_aggregate` does one sparse-dense product over the
  ``[N, T*F]`` view of the features. On CPU the product is ``torch.sparse.mm(adj_t, x, "sum")``,
  PyTorch's vectorised CSR kernel, which is 2-3x faster here than the reduce-less
  ``torch.sparse.mm`` that ``torch_geometric.utils.spmm`` calls for ``"sum"``; on other devices
  it is :func:`torch_geometric.utils.spmm`. GAT's coefficients differ per frame and head: its
  fused path is one block CSR product over ``[N*T*heads, F]`` (:func:`attention_product`; CPU,
  float32/float64; elsewhere GAT runs its plain path).
- **plain** (``fused=False``): :meth:`message` on ``[E, T, F]`` edge tensors, then a scatter-sum.
- **dense reference**: pass a floating ``[V, V]`` adjacency (``adj[target, source] = 1`` for a
  bone, no self loops) instead of ``edge_index`` and the layer runs an einsum-style batched
  matrix product over ``[N / V, V, T*F]`` blocks with the same weights. It needs every graph
  of the batch to be the same ``V``-joint layout, node ``n`` being joint ``n % V`` (the order of
  ``skeleton_to_data``); it is what peers' dense code computes, kept for tests and benchmarks.

All layers share the call ``conv(x, edge_index, hop=None)``; only :class:`SkeletonSTGCNConv`
reads ``hop`` (``[N]`` long, bones from the centre joint). :func:`make_conv` builds one by name.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Linear, Parameter, Sequential
from torch.utils.weak import WeakIdKeyDictionary
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.nn.inits import glorot, reset, zeros
from torch_geometric.utils import (add_remaining_self_loops, add_self_loops, remove_self_loops, softmax, spmm,
                                   to_torch_csr_tensor)

from skelgraph.nn.activation import FastPReLU

ROOT, CENTRIPETAL, CENTRIFUGAL = 0, 1, 2


class AdjacencyCache:
    r"""Remembers what was built from the last ``(edge_index, ...)`` seen.

    The key holds references to its tensors (and their in-place ``_version``), so the identity
    check cannot be fooled by a freed tensor whose memory a new batch reuses. One entry: a
    training loop with a new batch each step rebuilds once per step and layer; repeated calls
    on one graph (the layers of one forward pass, evaluation, a fixed graph) hit the cache.
    """

    def __init__(self) -> None:
        self._entry: tuple[tuple, Any] | None = None  # (key, value), replaced as one object

    @staticmethod
    def _same(a: tuple, b: tuple) -> bool:
        return len(a) == len(b) and all(x is y if isinstance(x, Tensor) else x == y for x, y in zip(a, b))

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        key = tuple(part for t in key for part in ((t, t._version) if isinstance(t, Tensor) else (t,)))
        entry = self._entry  # read once: a thread sharing the layer never pairs one key with another's value
        if entry is None or not self._same(entry[0], key):
            entry = (key, build())
            self._entry = entry
        return entry[1]

    @property
    def value(self) -> Any:
        r"""What the last :meth:`get` returned (``None`` before the first or after :meth:`clear`)."""
        entry = self._entry
        return None if entry is None else entry[1]

    def clear(self) -> None:
        self._entry = None


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


class _FusedTranspose:
    r"""For the fused convs: the transpose of the CSR adjacency a layer propagates with, built
    once per adjacency (one layer sees the same one for every frame and for every call of a
    forward pass; the STRL classifier calls its encoder three times per step)."""

    _transpose: AdjacencyCache

    def _fused_product(self, adj_t: Tensor, x: Tensor) -> Tensor:
        if not hasattr(self, "_transpose"):
            self._transpose = AdjacencyCache()
        adj = self._transpose.get((adj_t,), lambda: transpose_csr(adj_t)) if x.device.type == "cpu" else None
        return sparse_matmul(adj_t, x, adj)


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


def csr_adjacency(edge_index: Tensor, values: Tensor | None, size: tuple[int, int],
                  dtype: torch.dtype = torch.float32) -> Tensor:
    r"""Transposed adjacency as sparse CSR ``[size[1], size[0]]`` (row = target
    ``edge_index[1]``, column = source ``edge_index[0]``), the form ``propagate`` expects."""
    if values is None:
        values = torch.ones(edge_index.size(1), device=edge_index.device)
    with torch.sparse.check_sparse_tensor_invariants(False), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return to_torch_csr_tensor(edge_index.flip(0), values.to(dtype), size=(size[1], size[0]))


def gin_adjacency(edge_index: Tensor, num_nodes: int, eps: float = 0.0,
                  dtype: torch.dtype = torch.float32) -> Tensor:
    r"""GIN's propagation matrix ``(1 + eps) I + A`` as transposed sparse CSR ``[N, N]``: one
    product with it gives :math:`(1+\epsilon)\mathbf{x}_i + \sum_{j\in\mathcal{N}(i)}\mathbf{x}_j`
    (a self loop already in ``edge_index`` is a neighbour, as in ``GINConv``: entries sum).

    Example:
        >>> gin_adjacency(torch.tensor([[0, 1], [1, 0]]), 2, eps=0.5).to_dense().tolist()
        [[1.5, 1.0], [1.0, 1.5]]
    """
    ones = torch.ones(edge_index.size(1), device=edge_index.device)
    edge_index, values = add_self_loops(edge_index, ones, fill_value=1.0 + eps, num_nodes=num_nodes)
    return csr_adjacency(edge_index, values, (num_nodes, num_nodes), dtype)


def dense_blocks(x: Tensor, adj: Tensor) -> tuple[int, Tensor]:
    r"""``x`` ``[N, T, F]`` viewed as ``[N / V, V, T*F]`` for a ``[V, V]`` (or ``[K, V, V]``)
    adjacency; raises if ``N`` is not a multiple of ``V``."""
    v = adj.size(-1)
    if x.size(0) % v:
        raise ValueError(f"dense path: {x.size(0)} nodes is not a multiple of the {v}-joint adjacency")
    return v, x.reshape(x.size(0) // v, v, -1)


def _is_dense_adjacency(edge_index: Tensor) -> bool:
    return isinstance(edge_index, Tensor) and not edge_index.is_sparse and edge_index.layout == torch.strided \
        and edge_index.is_floating_point()


def stgcn_partition(edge_index: Tensor, hop: Tensor, num_nodes: int,
                    dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor, Tensor]:
    r"""ST-GCN's spatial-configuration partition (Yan et al., AAAI 2018) of a graph.

    Args:
        edge_index: ``[2, E]`` bones, both directions (self loops are dropped).
        hop: ``[N]`` long, bones from the centre joint.
        num_nodes: ``N``.
        dtype: Of ``norm`` (the model's floating type, so float64 models get exact coefficients).

    Returns:
        ``(edge_index [2, N + E], subset [N + E], norm [N + E])``: a self loop per node first,
        then the bones; ``subset`` is ``0`` root (self loop), ``1`` centripetal
        (``hop[src] < hop[dst]``: the neighbour is nearer the centre) or ``2`` centrifugal
        (otherwise); ``norm`` is ``1 / in-degree`` of the target within its subset, so each
        subset averages its messages.

    Example:
        >>> ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # chain 0 - 1 - 2, centre 0
        >>> stgcn_partition(ei, torch.tensor([0, 1, 2]), 3)[1].tolist()
        [0, 0, 0, 1, 2, 1, 2]
    """
    edge_index, _ = remove_self_loops(edge_index)
    loops = torch.arange(num_nodes, device=edge_index.device).repeat(2, 1)
    src, dst = edge_index
    subset = torch.where(hop[src] < hop[dst], CENTRIPETAL, CENTRIFUGAL)
    subset = torch.cat([torch.full((num_nodes,), ROOT, dtype=torch.long, device=edge_index.device), subset])
    edge_index = torch.cat([loops, edge_index], dim=1)
    key = subset * num_nodes + edge_index[1]  # (subset, target) pairs
    count = torch.zeros(3 * num_nodes, device=edge_index.device, dtype=dtype).index_add_(
        0, key, torch.ones_like(key, dtype=dtype))
    return edge_index, subset, count[key].reciprocal()


class SkeletonGINConv(_FusedTranspose, MessagePassing):
    r"""GIN layer (arXiv:1810.00826) over the bones of every frame at once.

    .. math:: \mathbf{x}'_i = \mathrm{MLP}\big((1+\epsilon)\mathbf{x}_i + \sum_{j\in\mathcal{N}(i)} \mathbf{x}_j\big)

    with a 2-layer MLP ``Linear, PReLU, Linear`` (SkeletonMAE's choice, ``eps = 0``).

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``C_out`` (also the MLP's hidden width).
        eps (float): :math:`\epsilon`, fixed. (default: ``0.0``)
        fused (bool): One sparse-dense product per call (:meth:`message_and_aggregate`) instead
            of per-edge messages. (default: ``True``)

    Shapes:
        - input: x ``[N, T, C_in]`` (a node is one person's joint), edge_index ``[2, E]`` (bones),
          a ready sparse ``adj_t`` ``[N, N]`` (fused path) or a dense ``[V, V]`` adjacency
          (reference path); hop ignored
        - output: ``[N, T, C_out]``
    """

    def __init__(self, in_channels: int, out_channels: int, eps: float = 0.0, fused: bool = True) -> None:
        super().__init__(aggr="add", node_dim=0)  # node_dim=0: messages move between joints, never frames
        self.in_channels, self.out_channels, self.eps, self.fused = in_channels, out_channels, eps, fused
        self.mlp = Sequential(Linear(in_channels, out_channels), FastPReLU(), Linear(out_channels, out_channels))
        self._cache = AdjacencyCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:  # __init__ calls it; so can a re-initialisation
        super().reset_parameters()
        reset(self.mlp)
        self._cache.clear()

    def forward(self, x: Tensor, edge_index: Tensor, hop: Tensor | None = None) -> Tensor:
        if _is_dense_adjacency(edge_index):
            return self.mlp(self.dense_aggregate(x, edge_index, self.eps))
        if self.fused and edge_index.layout == torch.strided:
            # (1 + eps) I + A as one CSR matrix: one product gives the whole GIN sum, where a
            # separate in-place ``+ x`` on the product's view cost four copies in the backward
            n = x.size(0)
            adj_t = self._cache.get((edge_index, n, x.dtype, x.device),
                                    lambda: gin_adjacency(edge_index, n, self.eps, x.dtype))
            return self.mlp(self.propagate(adj_t, x=x))  # [N, T, C_out]
        # plain path, or a ready sparse adj_t from the caller (its neighbour sum only)
        out = self.propagate(edge_index, x=x)
        return self.mlp(out + (1 + self.eps) * x if self.eps else out + x)

    def message(self, x_j: Tensor) -> Tensor:  # [E, T, C_in]
        return x_j

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:  # fused: one product for all T
        return self._fused_product(adj_t, x)

    @staticmethod
    def dense_aggregate(x: Tensor, adj: Tensor, eps: float = 0.0) -> Tensor:
        r""":math:`(1+\epsilon)\mathbf{x}_i + \sum_{j\in\mathcal{N}(i)} \mathbf{x}_j` as
        ``((1 + eps) I + adj) @ X`` per ``V``-joint block."""
        v, blocks = dense_blocks(x, adj)
        eye = torch.eye(v, dtype=x.dtype, device=x.device)
        propagation = adj.to(x.dtype) + (1 + eps) * eye
        return torch.matmul(propagation, blocks).view_as(x)  # einsum('vw,bwk->bvk')

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, eps={self.eps}, fused={self.fused})"


class SkeletonGCNConv(_FusedTranspose, MessagePassing):
    r"""GCN layer (arXiv:1609.02907) over the bones of every frame at once.

    .. math::
        \mathbf{X}' = \hat{\mathbf{D}}^{-1/2}(\mathbf{A} + \mathbf{I})\hat{\mathbf{D}}^{-1/2}
        \mathbf{X}\mathbf{W} + \mathbf{b}

    The normalisation is computed once per ``edge_index`` and cached.

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``C_out``.
        bias (bool): Add :math:`\mathbf{b}`. (default: ``True``)
        fused (bool): See :class:`SkeletonGINConv`. (default: ``True``)

    Shapes:
        - input: x ``[N, T, C_in]``, edge_index ``[2, E]`` or a dense ``[V, V]`` adjacency,
          hop ignored
        - output: ``[N, T, C_out]``
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, fused: bool = True) -> None:
        super().__init__(aggr="add", node_dim=0)
        self.in_channels, self.out_channels, self.fused = in_channels, out_channels, fused
        self.lin = Linear(in_channels, out_channels, bias=False)
        self.bias = Parameter(torch.empty(out_channels)) if bias else None
        self._cache, self._csr_cache = AdjacencyCache(), AdjacencyCache()  # normalisation; its CSR form
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.lin.weight)
        zeros(self.bias)
        self._cache.clear()
        self._csr_cache.clear()

    def forward(self, x: Tensor, edge_index: Tensor, hop: Tensor | None = None) -> Tensor:
        h = self.lin(x)  # [N, T, C_out]
        if _is_dense_adjacency(edge_index):
            out = self.dense_aggregate(h, edge_index)
        else:
            n = x.size(0)
            # the normalisation in x's precision (float64 models get float64 coefficients)
            ei, norm = self._cache.get((edge_index, n, x.dtype), lambda: gcn_norm(
                edge_index, torch.ones(edge_index.size(1), dtype=x.dtype, device=x.device), n, add_self_loops=True))
            if self.fused:  # one propagate call per class: PyG builds propagate's signature from it
                # in h's dtype, not x's: under autocast the product runs on lin's lower-precision output
                ei = self._csr_cache.get((ei, n, h.dtype), lambda: csr_adjacency(ei, norm, (n, n), h.dtype))
            out = self.propagate(ei, x=h, norm=norm)
        return out if self.bias is None else out + self.bias

    def message(self, x_j: Tensor, norm: Tensor) -> Tensor:  # [E, T, C_out]
        return x_j * norm.view(-1, 1, 1)

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
        return self._fused_product(adj_t, x)

    @staticmethod
    def normalized_dense(adj: Tensor) -> Tensor:
        r""":math:`\hat{D}^{-1/2}(A + I)\hat{D}^{-1/2}` of a ``[V, V]`` adjacency."""
        a = adj + torch.eye(adj.size(0), dtype=adj.dtype, device=adj.device)
        d = a.sum(1).pow(-0.5)  # in-degree of the target (row), as gcn_norm
        return d.view(-1, 1) * a * d.view(1, -1)

    @classmethod
    def dense_aggregate(cls, x: Tensor, adj: Tensor) -> Tensor:
        _, blocks = dense_blocks(x, adj)
        return torch.matmul(cls.normalized_dense(adj).to(x.dtype), blocks).view_as(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, fused={self.fused})"


class SkeletonGATConv(MessagePassing):
    r"""GAT layer (arXiv:1710.10903) with attention computed per frame.

    .. math:: \alpha^{t}_{ij} = \mathrm{softmax}_{j \in \mathcal{N}(i)\cup\{i\}}\Big(\mathrm{LeakyReLU}
        \big(\mathbf{a}_s^\top \mathbf{W}\mathbf{x}^t_j + \mathbf{a}_d^\top \mathbf{W}\mathbf{x}^t_i\big)\Big),
        \qquad \mathbf{x}'^{t}_i = \sum_j \alpha^t_{ij} \mathbf{W}\mathbf{x}^t_j

    for every frame ``t`` and head: coefficients are ``[E, T, heads]`` and sum to one over the
    incoming edges (self loop included) of each node in each frame.

    **Fused path** (CPU, float32/float64): the coefficients differ per frame and head, so the
    aggregation is ``T * heads`` sparse matrices with one pattern; :func:`attention_product`
    multiplies them as one block CSR matrix (its pattern built once per ``edge_index`` and
    shared by the layers that see it, :func:`attention_patterns`) and takes the coefficients'
    gradient as a sampled product at the edges, so no ``[E, T, heads, F]`` message tensor is
    made in either direction. Elsewhere (CUDA, bf16 autocast, whose
    sampled product PyTorch lacks on the CPU) and with ``fused=False`` the layer runs
    :meth:`message` on ``[E, T, heads, F]``, then a scatter-sum.

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``F`` per head.
        heads (int): Attention heads. (default: ``1``)
        concat (bool): Concatenate heads (output ``heads * F``) or average them (output ``F``).
            (default: ``True``)
        negative_slope (float): LeakyReLU slope. (default: ``0.2``)
        dropout (float): Dropout on the coefficients during training. (default: ``0.0``)
        bias (bool): Add a bias. (default: ``True``)
        fused (bool): The block CSR product where it applies (see above). (default: ``True``)

    Shapes:
        - input: x ``[N, T, C_in]``, edge_index ``[2, E]`` or a dense ``[V, V]`` adjacency,
          hop ignored
        - output: ``[N, T, heads * F]`` (concat) or ``[N, T, F]``; with
          ``return_attention_weights=True`` also ``(edge_index [2, E + N], alpha [E + N, T, heads])``
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, bias: bool = True, fused: bool = True) -> None:
        super().__init__(aggr="add", node_dim=0)
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.negative_slope, self.dropout, self.fused = negative_slope, dropout, fused
        self.lin = Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = Parameter(torch.empty(heads, out_channels))
        self.att_dst = Parameter(torch.empty(heads, out_channels))
        self.bias = Parameter(torch.empty(heads * out_channels if concat else out_channels)) if bias else None
        self._cache = AdjacencyCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.lin.weight)
        glorot(self.att_src)
        glorot(self.att_dst)
        zeros(self.bias)
        self._cache.clear()

    def forward(self, x: Tensor, edge_index: Tensor, hop: Tensor | None = None,
                return_attention_weights: bool = False) -> Tensor | tuple[Tensor, tuple[Tensor, Tensor]]:
        n, t, _ = x.shape
        h = self.lin(x).view(n, t, self.heads, self.out_channels)  # [N, T, H, F]
        a_src = (h * self.att_src).sum(-1)  # [N, T, H]
        a_dst = (h * self.att_dst).sum(-1)
        if _is_dense_adjacency(edge_index):
            if return_attention_weights:
                raise ValueError("return_attention_weights needs an edge_index, not a dense adjacency")
            out = self._dense(h, a_src, a_dst, edge_index)
        else:
            fused = self.fused and h.device.type == "cpu" and h.dtype in (torch.float32, torch.float64)
            if fused:
                ei, patterns = attention_patterns(edge_index, n, t * self.heads)
            else:
                ei = self._cache.get((edge_index, n), lambda: add_remaining_self_loops(edge_index, num_nodes=n)[0])
            src, dst = ei
            alpha = F.leaky_relu(a_src[src] + a_dst[dst], self.negative_slope)  # [E, T, H]
            alpha = softmax(alpha, dst, num_nodes=n, dim=0)
            alpha_used = F.dropout(alpha, p=self.dropout, training=self.training)
            if fused and alpha_used.dtype == h.dtype:
                out = attention_product(alpha_used, h, patterns)  # [N, T, H, F]
            else:
                out = self.propagate(ei, x=h, alpha=alpha_used)  # [N, T, H, F]
        out = out.reshape(n, t, -1) if self.concat else out.mean(dim=2)
        if self.bias is not None:
            out = out + self.bias
        if return_attention_weights:
            return out, (ei, alpha)
        return out

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:  # [E, T, H, F]
        return x_j * alpha.unsqueeze(-1)

    def _dense(self, h: Tensor, a_src: Tensor, a_dst: Tensor, adj: Tensor) -> Tensor:
        v = adj.size(0)
        b = h.size(0) // v
        if h.size(0) % v:
            raise ValueError(f"dense path: {h.size(0)} nodes is not a multiple of the {v}-joint adjacency")
        a_src, a_dst = a_src.view(b, v, *a_src.shape[1:]), a_dst.view(b, v, *a_dst.shape[1:])  # [B, V, T, H]
        logits = a_dst.permute(0, 2, 3, 1).unsqueeze(-1) + a_src.permute(0, 2, 3, 1).unsqueeze(-2)  # [B,T,H,V,V]
        logits = F.leaky_relu(logits, self.negative_slope)
        neighbours = (adj + torch.eye(v, device=adj.device, dtype=adj.dtype)) > 0
        alpha = logits.masked_fill(~neighbours, float("-inf")).softmax(dim=-1)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = torch.einsum("bthvw,bwthf->bvthf", alpha, h.view(b, v, *h.shape[1:]))
        return out.reshape(h.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"


class SkeletonSTGCNConv(_FusedTranspose, MessagePassing):
    r"""ST-GCN spatial graph convolution with the spatial-configuration partition.

    .. math:: \mathbf{X}' = \sum_{k\in\{\text{root},\text{centripetal},\text{centrifugal}\}}
        \hat{\mathbf{A}}_k \mathbf{X}\mathbf{W}_k + \mathbf{b}

    Subsets come from ``hop`` (bones from the centre joint) of the source and target of each
    edge (see :func:`stgcn_partition`); :math:`\hat{\mathbf{A}}_k` averages the messages of
    subset ``k`` at each target. The fused path does one product of the ``[N, 3N]`` matrix
    :math:`[\hat{\mathbf{A}}_0\;\hat{\mathbf{A}}_1\;\hat{\mathbf{A}}_2]` with the stacked
    :math:`\mathbf{X}\mathbf{W}_k` ``[3N, T*C_out]``.

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``C_out``.
        bias (bool): Add a bias. (default: ``True``)
        fused (bool): See :class:`SkeletonGINConv`. (default: ``True``)

    Shapes:
        - input: x ``[N, T, C_in]``, edge_index ``[2, E]`` or a dense ``[V, V]`` adjacency,
          hop ``[N]`` long (required)
        - output: ``[N, T, C_out]``
    """

    num_subsets = 3

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, fused: bool = True) -> None:
        super().__init__(aggr="add", node_dim=0)
        self.in_channels, self.out_channels, self.fused = in_channels, out_channels, fused
        self.weight = Parameter(torch.empty(self.num_subsets, in_channels, out_channels))
        self.bias = Parameter(torch.empty(out_channels)) if bias else None
        self._cache, self._csr_cache = AdjacencyCache(), AdjacencyCache()  # normalisation; its CSR form
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.weight)
        zeros(self.bias)
        self._cache.clear()
        self._csr_cache.clear()

    def forward(self, x: Tensor, edge_index: Tensor, hop: Tensor | None = None) -> Tensor:
        if hop is None:
            raise ValueError("SkeletonSTGCNConv needs hop [N] (bones from the centre joint) for its partition")
        n, t, _ = x.shape
        h = torch.matmul(x.reshape(1, n * t, -1), self.weight)  # [3, N*T, C_out] = stacked X W_k
        if _is_dense_adjacency(edge_index):
            out = self.dense_aggregate(h.view(self.num_subsets * n, t, -1), edge_index, hop)
        else:
            def build() -> tuple[Tensor, Tensor]:
                ei, subset, norm = stgcn_partition(edge_index, hop, n, x.dtype)
                return torch.stack([ei[0] + subset * n, ei[1]]), norm  # source row in the stacked X W_k

            ei, norm = self._cache.get((edge_index, hop, n, x.dtype), build)
            h = h.view(self.num_subsets * n, t, -1)
            if self.fused:  # one propagate call per class: PyG builds propagate's signature from it
                # in h's dtype, not x's: under autocast the product runs on the matmul's lower-precision output
                ei = self._csr_cache.get((ei, n, h.dtype), lambda: csr_adjacency(ei, norm, (3 * n, n), h.dtype))
            out = self.propagate(ei, x=h, norm=norm, size=(self.num_subsets * n, n))
        return out if self.bias is None else out + self.bias

    def message(self, x_j: Tensor, norm: Tensor) -> Tensor:  # [E, T, C_out]
        return x_j * norm.view(-1, 1, 1)

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
        return self._fused_product(adj_t, x)

    @staticmethod
    def partition_dense(adj: Tensor, hop: Tensor) -> Tensor:
        r"""``[3, V, V]`` normalised subset matrices of a ``[V, V]`` adjacency (``adj[dst, src]``)
        and ``hop`` ``[V]``."""
        v = adj.size(0)
        bone = adj > 0
        centripetal = bone & (hop.view(1, v) < hop.view(v, 1))  # hop[src] < hop[dst]
        a = torch.stack([torch.eye(v, dtype=torch.bool, device=adj.device), centripetal, bone & ~centripetal])
        a = a.to(adj.dtype)
        return a / a.sum(-1, keepdim=True).clamp(min=1)

    @classmethod
    def dense_aggregate(cls, h: Tensor, adj: Tensor, hop: Tensor) -> Tensor:
        r"""``h`` stacked ``[3N, T, F]`` (``X W_k``), result ``[N, T, F]``."""
        v = adj.size(0)
        k = cls.num_subsets
        n = h.size(0) // k
        if n % v:
            raise ValueError(f"dense path: {n} nodes is not a multiple of the {v}-joint adjacency")
        a = cls.partition_dense(adj, hop[:v]).to(h.dtype)  # every graph: the same layout
        blocks = h.reshape(k, n // v, v, -1)
        return torch.matmul(a.unsqueeze(1), blocks).sum(0).view(n, *h.shape[1:])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, fused={self.fused})"


CONVS: dict[str, type[MessagePassing]] = {
    "gin": SkeletonGINConv,
    "gcn": SkeletonGCNConv,
    "gat": SkeletonGATConv,
    "stgcn": SkeletonSTGCNConv,
}


def make_conv(name: str, in_channels: int, out_channels: int, **kwargs: Any) -> MessagePassing:
    r"""Builds the conv ``name`` (a key of :data:`CONVS`) mapping ``in_channels`` to
    ``out_channels``; every result is called as ``conv(x [N, T, C_in], edge_index, hop=None)``
    and returns ``[N, T, out_channels]``. For ``"gat"`` with ``heads > 1`` and ``concat`` (the
    default), each head gets ``out_channels // heads`` channels.

    Example:
        >>> conv = make_conv("gcn", 3, 8)
        >>> conv(torch.randn(2, 5, 3), torch.tensor([[0, 1], [1, 0]])).shape
        torch.Size([2, 5, 8])
    """
    if name not in CONVS:
        raise ValueError(f"unknown conv {name!r}; choose one of {', '.join(CONVS)}")
    if name == "gat" and kwargs.get("concat", True):
        heads = kwargs.get("heads", 1)
        if out_channels % heads:
            raise ValueError(f"gat: out_channels {out_channels} is not divisible by heads {heads}")
        out_channels //= heads
    return CONVS[name](in_channels, out_channels, **kwargs)


def dense_adjacency(edge_index: Tensor, num_joints: int) -> Tensor:
    r"""``[V, V]`` float adjacency ``adj[target, source] = 1`` of one person's bones (the
    first ``V`` nodes of ``edge_index``); the input of every conv's dense reference path.

    Example:
        >>> dense_adjacency(torch.tensor([[0, 1], [1, 0]]), 2).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    src, dst = edge_index
    keep = (src < num_joints) & (dst < num_joints) & (src != dst)
    adj = torch.zeros(num_joints, num_joints, device=edge_index.device)
    adj[dst[keep], src[keep]] = 1.0
    return adj
