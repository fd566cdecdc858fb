"""skelgraph: self-supervised skeleton action recognition on PyTorch Geometric (SkeletonMAE + STRL)."""
__version__ = "0.1.0"
