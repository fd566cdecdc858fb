"""Skeleton layouts and the graph structures built from them.

The layouts need only the standard library; the ``edge_index`` builders (torch) are imported on
first use, so reading and preprocessing data never loads torch.
"""
from typing import Any

from skelgraph.graph.layouts import (
    BUILTIN_LAYOUTS, COCO17, KINECT_V1_20, NTU25, OPENPOSE18, Layout, LayoutError, get_layout, load_layout,
)

_EDGE_FUNCTIONS = ("bone_edge_index", "hop_distance", "node_ids", "spatial_partition", "stgcn_partition")

__all__ = [
    "Layout", "LayoutError", "get_layout", "load_layout", "BUILTIN_LAYOUTS",
    "NTU25", "COCO17", "OPENPOSE18", "KINECT_V1_20", *_EDGE_FUNCTIONS,
]


def __getattr__(name: str) -> Any:
    if name in _EDGE_FUNCTIONS:
        from skelgraph.graph import edges

        return getattr(edges, name)
    raise AttributeError(f"module 'skelgraph.graph' has no attribute {name!r}")
