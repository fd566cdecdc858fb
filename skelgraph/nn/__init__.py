"""MessagePassing convolutions, SkeletonMAE, the STRL classifier and losses."""
from skelgraph.nn.conv import (
    CONVS, SkeletonGATConv, SkeletonGCNConv, SkeletonGINConv, SkeletonSTGCNConv, dense_adjacency, make_conv,
    stgcn_partition,
)
from skelgraph.nn.losses import edge_reconstruction_loss, masked_sce_loss, sce_loss
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.nn.strl import LinearProbe, LoadReport, MultiScaleTemporalConv, PretrainedMismatchError, STRLClassifier

__all__ = [
    "SkeletonGINConv", "SkeletonGCNConv", "SkeletonGATConv", "SkeletonSTGCNConv", "CONVS", "make_conv",
    "dense_adjacency", "stgcn_partition",
    "SkeletonMAE", "STRLClassifier", "LinearProbe", "MultiScaleTemporalConv", "LoadReport", "PretrainedMismatchError",
    "sce_loss", "masked_sce_loss", "edge_reconstruction_loss",
]
