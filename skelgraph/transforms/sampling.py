r"""Temporal sampling transforms over the ``[N, T, C]`` form (a node's feature is its track).

Frame-wise attributes are resampled together: ``x`` ``[N, T, C]`` and, when present with ``T``
frames, ``score`` ``[N, T]`` and a per-frame ``keep_mask`` ``[N, T]`` (the names in
:data:`FRAME_ATTRS`). Other attributes are left alone, ``num_frames`` included (it keeps the
length of the source sequence). The transforms sample from all ``T`` frames of ``x``: remove
padding first. On a ``Batch`` every graph gets its own draw.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from skelgraph.transforms.functional import (interpolate_frames, take_frames, temporal_crop_positions,
                                             uniform_sample_indices)

FRAME_ATTRS: tuple[str, ...] = ("x", "score", "keep_mask")


def frame_attrs(data: Data) -> list[str]:
    """Names of the attributes that have one entry per node and frame (see :data:`FRAME_ATTRS`)."""
    num_frames = data.x.size(1)
    return [key for key in FRAME_ATTRS
            if key in data and isinstance(data[key], Tensor) and data[key].dim() >= 2
            and data[key].size(1) == num_frames]


def _num_graphs(data: Data) -> int:
    return int(data.batch.max()) + 1 if "batch" in data and data.batch.numel() else 1


class UniformSample(BaseTransform):
    r"""Samples ``clip_len`` frames as PYSKL's ``UniformSampleFrames`` (one clip; twin:
    :func:`~skelgraph.transforms.functional.uniform_sample_indices`): the sequence is split into
    ``clip_len`` segments; training takes a random frame of each, testing the middle one; short
    sequences are looped.

    Args:
        clip_len (int): Frames to keep. (default: ``64``, the paper's T)
        train (bool): Random (training) or deterministic (testing) choice. (default: ``True``)
        generator (torch.Generator, optional): Source of randomness.
    """

    def __init__(self, clip_len: int = 64, train: bool = True, generator: torch.Generator | None = None) -> None:
        self.clip_len, self.train, self.generator = clip_len, train, generator

    def forward(self, data: Data) -> Data:
        num_frames = data.x.size(1)
        keys = frame_attrs(data)
        if "batch" in data:
            index = torch.stack([uniform_sample_indices(num_frames, self.clip_len, self.train, self.generator)
                                 for _ in range(_num_graphs(data))]).to(data.x.device)[data.batch]
        else:
            index = uniform_sample_indices(num_frames, self.clip_len, self.train, self.generator).to(data.x.device)
        for key in keys:
            data[key] = take_frames(data[key], index)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clip_len={self.clip_len}, train={self.train})"


class RandomTemporalCrop(BaseTransform):
    r"""Crops a random ``r * T`` frames (``r`` uniform in ``ratio``) and stretches them back to
    ``size`` frames by linear interpolation (bool masks: nearest frame) (twin:
    :func:`~skelgraph.transforms.functional.random_temporal_crop`).

    Args:
        ratio (tuple[float, float]): Range of the kept fraction. (default: ``(0.5, 1.0)``)
        size (int, optional): Output frames. (default: ``T``, the input's)
        generator (torch.Generator, optional): Source of randomness.
    """

    def __init__(self, ratio: tuple[float, float] = (0.5, 1.0), size: int | None = None,
                 generator: torch.Generator | None = None) -> None:
        if not 0.0 < ratio[0] <= ratio[1] <= 1.0:
            raise ValueError(f"crop ratio must satisfy 0 < low <= high <= 1, got {ratio}")
        self.ratio, self.size, self.generator = tuple(ratio), size, generator

    def forward(self, data: Data) -> Data:
        num_frames = data.x.size(1)
        keys = frame_attrs(data)
        position = temporal_crop_positions(num_frames, self.size or num_frames, self.ratio, _num_graphs(data),
                                           self.generator).to(data.x.device)
        position = position[data.batch] if "batch" in data else position[0]
        for key in keys:
            data[key] = interpolate_frames(data[key], position)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ratio={self.ratio}, size={self.size})"
