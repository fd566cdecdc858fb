"""MessagePassing convolutions, SkeletonMAE, the STRL classifier and losses.

Names load on first use (as in :mod:`skelgraph.graph`), so that the config and the CLI can read
:data:`skelgraph.nn.conv.CONV_NAMES` without importing torch.
"""
from typing import TYPE_CHECKING

from skelgraph.nn._lazy import lazy_exports

_EXPORTS = {
    **{name: "skelgraph.nn.conv" for name in (
        "SkeletonGINConv", "SkeletonGCNConv", "SkeletonGATConv", "SkeletonSTGCNConv", "CONVS", "CONV_NAMES",
        "make_conv", "dense_adjacency", "stgcn_partition")},
    **{name: "skelgraph.nn.losses" for name in ("sce_loss", "masked_sce_loss", "edge_reconstruction_loss")},
    "SkeletonMAE": "skelgraph.nn.mae",
    **{name: "skelgraph.nn.strl" for name in (
        "STRLClassifier", "LinearProbe", "MultiScaleTemporalConv", "LoadReport", "PretrainedMismatchError")},
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads them
    from skelgraph.nn.conv import (  # noqa: F401
        CONV_NAMES, CONVS, SkeletonGATConv, SkeletonGCNConv, SkeletonGINConv, SkeletonSTGCNConv, dense_adjacency,
        make_conv, stgcn_partition,
    )
    from skelgraph.nn.losses import edge_reconstruction_loss, masked_sce_loss, sce_loss  # noqa: F401
    from skelgraph.nn.mae import SkeletonMAE  # noqa: F401
    from skelgraph.nn.strl import (  # noqa: F401
        LinearProbe, LoadReport, MultiScaleTemporalConv, PretrainedMismatchError, STRLClassifier,
    )


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
