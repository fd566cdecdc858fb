r"""GIN over skeleton tracks (SkeletonMAE's conv)."""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import Sequential
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.inits import reset
from torch_geometric.utils import add_self_loops

from skelgraph.nn.activation import FastPReLU
from skelgraph.nn.conv.cache import AdjacencyCache
from skelgraph.nn.conv.dense import check_edge_index, dense_blocks
from skelgraph.nn.conv.sparse import FusedProductMixin, csr_adjacency
from skelgraph.nn.linear import FastLinear as Linear  # torch's Linear, same weights, faster CPU products


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


class SkeletonGINConv(FusedProductMixin, MessagePassing):
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
          or a ready sparse ``adj_t`` ``[N, N]``; hop ignored
          (:meth:`dense_forward`: a ``[V, V]`` adjacency)
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
        check_edge_index(edge_index, type(self).__name__)
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

    def dense_forward(self, x: Tensor, adj: Tensor, hop: Tensor | None = None) -> Tensor:
        r"""The dense reference path (:mod:`skelgraph.nn.conv.dense`): what :meth:`forward`
        computes, from a float ``[V, V]`` adjacency ``adj[target, source]`` instead of ``edge_index``."""
        return self.mlp(self.dense_aggregate(x, adj, self.eps))

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
