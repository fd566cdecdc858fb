r"""ST-GCN's spatial graph convolution (spatial-configuration partition)."""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.inits import glorot, zeros

from skelgraph.graph.edges import stgcn_partition
from skelgraph.nn.conv.cache import AdjacencyCache
from skelgraph.nn.conv.dense import check_edge_index
from skelgraph.nn.conv.sparse import FusedProductMixin, csr_adjacency


class SkeletonSTGCNConv(FusedProductMixin, MessagePassing):
    r"""ST-GCN spatial graph convolution with the spatial-configuration partition.

    .. math:: \mathbf{X}' = \sum_{k\in\{\text{root},\text{centripetal},\text{centrifugal}\}}
        \hat{\mathbf{A}}_k \mathbf{X}\mathbf{W}_k + \mathbf{b}

    Subsets come from ``hop`` (bones from the centre joint) of the source and target of each
    edge (see :func:`~skelgraph.graph.edges.stgcn_partition`); :math:`\hat{\mathbf{A}}_k` averages the messages of
    subset ``k`` at each target. The fused path does one product of the ``[N, 3N]`` matrix
    :math:`[\hat{\mathbf{A}}_0\;\hat{\mathbf{A}}_1\;\hat{\mathbf{A}}_2]` with the stacked
    :math:`\mathbf{X}\mathbf{W}_k` ``[3N, T*C_out]``.

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``C_out``.
        bias (bool): Add a bias. (default: ``True``)
        fused (bool): See :class:`SkeletonGINConv`. (default: ``True``)

    Shapes:
        - input: x ``[N, T, C_in]``, edge_index ``[2, E]`` (:meth:`dense_forward`: a ``[V, V]``
          adjacency), hop ``[N]`` long (required)
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
        check_edge_index(edge_index, type(self).__name__)
        n, t = x.shape[:2]
        h = self._stacked(x, hop)  # [3N, T, C_out]

        def build() -> tuple[Tensor, Tensor]:
            ei, subset, norm = stgcn_partition(edge_index, hop, n, x.dtype)
            return torch.stack([ei[0] + subset * n, ei[1]]), norm  # source row in the stacked X W_k

        ei, norm = self._cache.get((edge_index, hop, n, x.dtype), build)
        if self.fused:  # one propagate call per class: PyG builds propagate's signature from it
            # in h's dtype, not x's: under autocast the product runs on the matmul's lower-precision output
            ei = self._csr_cache.get((ei, n, h.dtype), lambda: csr_adjacency(ei, norm, (3 * n, n), h.dtype))
        out = self.propagate(ei, x=h, norm=norm, size=(self.num_subsets * n, n))
        return out if self.bias is None else out + self.bias

    def dense_forward(self, x: Tensor, adj: Tensor, hop: Tensor | None = None) -> Tensor:
        r"""The dense reference path (:mod:`skelgraph.nn.conv.dense`): what :meth:`forward`
        computes, from a float ``[V, V]`` adjacency ``adj[target, source]`` instead of ``edge_index``."""
        out = self.dense_aggregate(self._stacked(x, hop), adj, hop)
        return out if self.bias is None else out + self.bias

    def _stacked(self, x: Tensor, hop: Tensor | None) -> Tensor:
        r"""The stacked :math:`\mathbf{X}\mathbf{W}_k` ``[3N, T, C_out]`` of ``x`` ``[N, T, C_in]``."""
        if hop is None:
            raise ValueError("SkeletonSTGCNConv needs hop [N] (bones from the centre joint) for its partition")
        n, t, _ = x.shape
        return torch.matmul(x.reshape(1, n * t, -1), self.weight).view(self.num_subsets * n, t, -1)

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
