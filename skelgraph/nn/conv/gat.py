r"""GAT over skeleton tracks, attention per frame and head."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.inits import glorot, zeros
from torch_geometric.utils import add_remaining_self_loops, softmax

from skelgraph.nn.conv.block_sparse import attention_patterns, attention_product
from skelgraph.nn.conv.cache import AdjacencyCache
from skelgraph.nn.linear import FastLinear as Linear  # torch's Linear, same weights, faster CPU products
from skelgraph.nn.conv.dense import check_edge_index


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
        - input: x ``[N, T, C_in]``, edge_index ``[2, E]`` (:meth:`dense_forward`: a ``[V, V]``
          adjacency), hop ignored
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
        check_edge_index(edge_index, type(self).__name__)
        n, t, _ = x.shape
        h, a_src, a_dst = self._project(x)
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
        out = self._combine_heads(out)
        if return_attention_weights:
            return out, (ei, alpha)
        return out

    def dense_forward(self, x: Tensor, adj: Tensor, hop: Tensor | None = None) -> Tensor:
        r"""The dense reference path (:mod:`skelgraph.nn.conv.dense`): what :meth:`forward`
        computes, from a float ``[V, V]`` adjacency ``adj[target, source]`` instead of ``edge_index``."""
        h, a_src, a_dst = self._project(x)
        return self._combine_heads(self._dense(h, a_src, a_dst, adj))

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        r"""``W x`` ``[N, T, H, F]`` and its source and target attention logits ``[N, T, H]``."""
        n, t, _ = x.shape
        h = self.lin(x).view(n, t, self.heads, self.out_channels)  # [N, T, H, F]
        return h, (h * self.att_src).sum(-1), (h * self.att_dst).sum(-1)

    def _combine_heads(self, out: Tensor) -> Tensor:
        r"""``[N, T, H, F]`` -> ``[N, T, H*F]`` (concat) or ``[N, T, F]`` (mean), plus the bias."""
        out = out.flatten(2) if self.concat else out.mean(dim=2)
        return out if self.bias is None else out + self.bias

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
