"""Skeleton layouts and the graph structures built from them."""
from skelgraph.graph.edges import bone_edge_index, hop_distance, node_ids, spatial_partition
from skelgraph.graph.layouts import (
    BUILTIN_LAYOUTS, COCO17, KINECT_V1_20, NTU25, OPENPOSE18, Layout, LayoutError, get_layout, load_layout,
)

__all__ = [
    "Layout", "LayoutError", "get_layout", "load_layout", "BUILTIN_LAYOUTS",
    "NTU25", "COCO17", "OPENPOSE18", "KINECT_V1_20",
    "bone_edge_index", "node_ids", "hop_distance", "spatial_partition",
]
