r"""The unrolled view: one node per (frame, person, joint), for pipelines that expect a plain graph
with ``x`` ``[num_nodes, C]`` (e.g. stock PyG convolutions)."""
from __future__ import annotations

import torch
from torch_geometric.data import Batch, Data
from torch_geometric.transforms import BaseTransform

from skelgraph.transforms.functional import unroll_edges
from skelgraph.transforms.sampling import frame_attrs


class Unroll(BaseTransform):
    r"""Turns a sample ``x`` ``[N, T, C]`` (``N = M*V``) into a graph with ``T*N`` nodes; node
    ``t * N + n`` is node ``n`` in frame ``t`` (twin:
    :func:`~skelgraph.transforms.functional.unroll_edges`).

    Writes:
        - ``x`` ``[T*N, C]``; per-frame attributes (``score``, a ``[N, T]`` ``keep_mask``) become
          ``[T*N]``; other node attributes (``joint``, ``person``, ``part``, ``hop``, a ``[N]``
          ``keep_mask``...) are repeated in every frame; ``frame`` long ``[T*N]`` is added.
        - ``edge_index`` ``[2, T*E + 2*N*(T-1)]``: the input's edges (bones) inside every frame,
          then time edges between a node and itself in the next frame, both directions.
        - ``edge_type`` long: 0 bone, 1 time. ``masked_edge_index`` is copied into every frame
          like the bones. Other edge attributes are dropped (time edges would have no value).

    Apply it to single samples (as a dataset ``transform``), before batching; the unrolled graphs
    then batch as usual.
    """

    def forward(self, data: Data) -> Data:
        if isinstance(data, Batch):
            raise ValueError("Unroll works on single samples: use it as a dataset transform, before batching")
        num_nodes, num_frames = data.x.size(0), data.x.size(1)
        per_frame = set(frame_attrs(data))
        node_keys = [key for key in data.keys()
                     if key not in per_frame and "index" not in key and data.is_node_attr(key)]
        edge_keys = [key for key in data.keys()
                     if key not in ("edge_index", "masked_edge_index") and data.is_edge_attr(key)]
        for key in per_frame:  # [N, T, ...] -> [T*N, ...]
            value = data[key]
            data[key] = value.transpose(0, 1).reshape(num_frames * num_nodes, *value.shape[2:])
        for key in node_keys:  # [N, ...] -> the same row in every frame
            value = data[key]
            data[key] = value.repeat(num_frames, *([1] * (value.dim() - 1)))
        for key in edge_keys:
            del data[key]
        data.edge_index, data.edge_type = unroll_edges(data.edge_index, num_nodes, num_frames)
        if "masked_edge_index" in data:
            offset = torch.arange(num_frames, device=data.x.device).view(1, -1, 1) * num_nodes
            data.masked_edge_index = (data.masked_edge_index.unsqueeze(1) + offset).reshape(2, -1)
        data.frame = torch.arange(num_frames, device=data.x.device).repeat_interleave(num_nodes)
        data.num_nodes = num_frames * num_nodes
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
