r"""The PyG graph of a skeleton sample (the sample itself, :class:`SkeletonSequence`, lives in
:mod:`skelgraph.data.sequence`, which needs no torch; its names are re-exported here).

As a graph (:func:`skeleton_to_data`) a node is one person's joint and its feature is
its track over time: ``x`` ``[M*V, T, C]``, ``edge_index`` the bones of every person.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint
from skelgraph.graph.edges import bone_edge_index, hop_distance, node_ids
from skelgraph.graph.layouts import Layout

__all__ = ["SkeletonError", "SkeletonSequence", "check_keypoint", "skeleton_to_data", "data_to_keypoint"]


@functools.lru_cache(maxsize=64)
def _graph_structure(layout: Layout, num_persons: int) -> dict[str, Tensor]:
    """Everything of a sample's graph but its features; the same for every sample of a dataset,
    so built once (callers get clones: a cached tensor must never be edited)."""
    joint, person, part = node_ids(layout, num_persons)
    return dict(edge_index=bone_edge_index(layout, num_persons), joint=joint, person=person, part=part,
                hop=hop_distance(layout).repeat(num_persons))


def skeleton_to_data(keypoint: np.ndarray | Tensor, layout: Layout, label: int | None = None,
                     score: np.ndarray | Tensor | None = None, **extra: Any) -> Data:
    r"""Builds the graph of one sample.

    Args:
        keypoint: ``[M, T, V, C]``.
        layout: The skeleton format (``V`` must match).
        label: Class id stored as ``y`` ``[1]`` (omitted when ``None``).
        score: Optional ``[M, T, V]`` confidences, stored as ``score`` ``[M*V, T]``.
        **extra: Stored as they are (e.g. ``name``).

    Returns:
        ``Data`` with ``x`` ``[M*V, T, C]``, ``edge_index`` ``[2, E]`` (bones, both directions),
        ``joint``/``person``/``part`` long ``[M*V]``, ``hop`` long ``[M*V]`` (bones from the
        layout's centre joint; what ST-GCN's spatial partition needs), ``y`` ``[1]``,
        ``num_nodes = M*V``.

    Example:
        >>> from skelgraph.graph.layouts import COCO17
        >>> data = skeleton_to_data(np.zeros((2, 8, 17, 2), np.float32), COCO17, label=3)
        >>> tuple(data.x.shape), tuple(data.edge_index.shape), data.y.tolist()
        ((34, 8, 2), (2, 64), [3])
    """
    keypoint = torch.as_tensor(keypoint, dtype=torch.float32)
    m, t, v, c = keypoint.shape
    if v != layout.num_joints:
        raise SkeletonError(f"keypoint has {v} joints, layout {layout.name!r} has {layout.num_joints}")
    structure = {key: value.clone() for key, value in _graph_structure(layout, m).items()}
    data = Data(x=keypoint.permute(0, 2, 1, 3).reshape(m * v, t, c), **structure, num_nodes=m * v, **extra)
    if label is not None:
        data.y = torch.tensor([int(label)], dtype=torch.long)
    if score is not None:
        data.score = torch.as_tensor(score, dtype=torch.float32).permute(0, 2, 1).reshape(m * v, t)
    return data


def data_to_keypoint(data: Data, num_persons: int | None = None) -> Tensor:
    r"""Inverse of :func:`skeleton_to_data` for one graph: ``x`` ``[M*V, T, C]`` back to
    ``[M, T, V, C]``."""
    m = int(data.person.max()) + 1 if num_persons is None else num_persons
    n, t, c = data.x.shape
    return data.x.view(m, n // m, t, c).permute(0, 2, 1, 3)
