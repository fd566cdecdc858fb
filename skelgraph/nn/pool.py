r"""Order-keeping pooling of encoder outputs ``[N, T, D]`` into one vector per graph.

Averaging a frame-wise encoder's output over all frames throws away the order of the frames
(sitting down and standing up are the same poses in reverse). :func:`segment_pool` keeps it:
the frames are cut into ``S`` consecutive segments, each averaged on its own, and the segments
are concatenated in time order. ``segments=1`` is the usual global mean.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import scatter


def segment_pool(h: Tensor, batch: Tensor | None = None, num_graphs: int | None = None, segments: int = 1,
                 keep_nodes: bool = False) -> Tensor:
    r"""Pools node features over time segments, and over the nodes of each graph.

    Args:
        h (Tensor): Node features over frames, ``[N, T, D]``.
        batch (Tensor, optional): Graph of every node, ``[N]`` (default: one graph).
        num_graphs (int, optional): ``B`` (default: ``batch.max() + 1``).
        segments (int): ``S``, consecutive time segments, each averaged separately
            (``torch.tensor_split`` sizes: they differ by at most one frame). Must be in
            ``1..T``. (default: ``1``)
        keep_nodes (bool): Keep every node's features (in node order) instead of averaging
            over the nodes of a graph; every graph must then have the same number of nodes
            ``V`` (one skeleton layout and person count). (default: ``False``)

    Returns:
        ``[B, S * D]`` (segment-major: the ``D`` features of segment 0 first), or
        ``[B, V * S * D]`` with ``keep_nodes`` (node-major).

    Example:
        >>> h = torch.arange(8.0).view(1, 4, 2)  # one node, 4 frames, 2 channels
        >>> segment_pool(h, segments=2).tolist()
        [[1.0, 2.0, 5.0, 6.0]]
    """
    if h.dim() != 3:
        raise ValueError(f"segment_pool expects [N, T, D] node features, got shape {list(h.shape)}")
    num_frames = h.size(1)
    if not 1 <= segments <= max(num_frames, 1):
        raise ValueError(f"segments must be in 1..{num_frames} (the frames), got {segments}")
    pooled = torch.stack([part.mean(dim=1) for part in torch.tensor_split(h, segments, dim=1)], dim=1)  # [N, S, D]
    if batch is None:
        batch = torch.zeros(h.size(0), dtype=torch.long, device=h.device)
    num_graphs = int(batch.max()) + 1 if num_graphs is None else num_graphs
    if not keep_nodes:
        return scatter(pooled, batch, dim=0, dim_size=num_graphs, reduce="mean").flatten(1)
    counts = torch.bincount(batch, minlength=num_graphs)
    if h.size(0) == 0 or bool((counts != counts[0]).any()):
        raise ValueError("keep_nodes needs the same number of nodes in every graph "
                         f"(got {sorted(set(counts.tolist()))})")
    order = torch.argsort(batch, stable=True)  # nodes of graph 0 first, node order kept
    return pooled[order].reshape(num_graphs, -1)
