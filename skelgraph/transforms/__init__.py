"""Masking, sampling and augmentation transforms (PyG BaseTransform) and their functional twins.

Conventions for ``keep_mask`` and ``masked_edge_index``: see :mod:`skelgraph.transforms.masking`.
"""
from skelgraph.transforms import functional
from skelgraph.transforms.augment import JointToBone, JointToMotion, RandomRotate, RandomScale, RandomShear
from skelgraph.transforms.functional import uniform_sample_indices
from skelgraph.transforms.masking import BodyPartMask, GroupMask, MaskEdges, RandomJointMask
from skelgraph.transforms.sampling import FRAME_ATTRS, RandomTemporalCrop, UniformSample
from skelgraph.transforms.unroll import Unroll

__all__ = [
    "functional", "uniform_sample_indices", "FRAME_ATTRS",
    "GroupMask", "BodyPartMask", "RandomJointMask", "MaskEdges",
    "UniformSample", "RandomTemporalCrop",
    "RandomRotate", "RandomScale", "RandomShear", "JointToBone", "JointToMotion",
    "Unroll",
]
