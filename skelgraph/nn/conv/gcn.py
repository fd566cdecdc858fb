r"""GCN over skeleton tracks."""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.nn.inits import glorot, zeros

from skelgraph.nn.conv.cache import AdjacencyCache
from skelgraph.nn.conv.dense import check_edge_index, dense_blocks
from skelgraph.nn.conv.sparse import FusedProductMixin, csr_adjacency
from skelgraph.nn.linear import FastLinear as Linear  # torch's Linear, same weights, faster CPU products


class SkeletonGCNConv(FusedProductMixin, MessagePassing):
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
        - input: x ``[N, T, C_in]``, edge_index ``[2, E]`` (:meth:`dense_forward`: a ``[V, V]``
          adjacency), hop ignored
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
        check_edge_index(edge_index, type(self).__name__)
        h = self.lin(x)  # [N, T, C_out]
        n = x.size(0)
        # the normalisation in x's precision (float64 models get float64 coefficients)
        ei, norm = self._cache.get((edge_index, n, x.dtype), lambda: gcn_norm(
            edge_index, torch.ones(edge_index.size(1), dtype=x.dtype, device=x.device), n, add_self_loops=True))
        if self.fused:  # one propagate call per class: PyG builds propagate's signature from it
            # in h's dtype, not x's: under autocast the product runs on lin's lower-precision output
            ei = self._csr_cache.get((ei, n, h.dtype), lambda: csr_adjacency(ei, norm, (n, n), h.dtype))
        out = self.propagate(ei, x=h, norm=norm)
        return out if self.bias is None else out + self.bias

    def dense_forward(self, x: Tensor, adj: Tensor, hop: Tensor | None = None) -> Tensor:
        r"""The dense reference path (:mod:`skelgraph.nn.conv.dense`): what :meth:`forward`
        computes, from a float ``[V, V]`` adjacency ``adj[target, source]`` instead of ``edge_index``."""
        out = self.dense_aggregate(self.lin(x), adj)
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
