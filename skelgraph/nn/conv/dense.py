r"""The dense reference path every conv has as :meth:`dense_forward`: a ``[V, V]`` adjacency
(``adj[target, source] = 1`` for a bone, no self loops) times ``[N / V, V, T*F]`` blocks, what
peers' dense (einsum) code computes. It needs every graph of the batch to be the same ``V``-joint
layout, node ``n`` being joint ``n % V`` (the order of ``skeleton_to_data``)."""
from __future__ import annotations

import torch
from torch import Tensor


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


def dense_blocks(x: Tensor, adj: Tensor) -> tuple[int, Tensor]:
    r"""``x`` ``[N, T, F]`` viewed as ``[N / V, V, T*F]`` for a ``[V, V]`` (or ``[K, V, V]``)
    adjacency; raises if ``N`` is not a multiple of ``V``."""
    v = adj.size(-1)
    if x.size(0) % v:
        raise ValueError(f"dense path: {x.size(0)} nodes is not a multiple of the {v}-joint adjacency")
    return v, x.reshape(x.size(0) // v, v, -1)


def check_edge_index(edge_index: Tensor, conv: str) -> None:
    r"""Raises ``TypeError`` for a floating strided ``edge_index``: a dense adjacency passed to
    ``forward``, which takes ``[2, E]`` indices (or a sparse ``adj_t``); the dense path is
    ``dense_forward(x, adj)``."""
    if isinstance(edge_index, Tensor) and edge_index.layout == torch.strided and edge_index.is_floating_point():
        raise TypeError(f"{conv}.forward takes edge_index [2, E] (long), got a {edge_index.dtype} "
                        f"{list(edge_index.shape)} tensor; a dense adjacency goes to {conv}.dense_forward(x, adj)")
