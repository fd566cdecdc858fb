r"""``SkeletonDataset``: a preprocessed HDF5 file as a PyG dataset of skeleton graphs."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data, Dataset

from skelgraph.data.h5 import H5Skeletons
from skelgraph.data.sample import SkeletonSequence, skeleton_to_data
from skelgraph.data.sequence import SkeletonError
from skelgraph.graph.layouts import Layout
from skelgraph.transforms.functional import uniform_sample_indices


def clip_frames(length: int, num_frames: int | None, train: bool = False) -> np.ndarray | None:
    r"""Frame indices ``[num_frames]`` of the clip an item takes from a ``length``-frame sample
    (uniform sampling; ``None``: every frame). Shared with ``skelgraph predict``, so a new
    recording is sampled as the evaluation split is."""
    return None if num_frames is None else uniform_sample_indices(length, num_frames, train).numpy()


def clip_to_data(seq: SkeletonSequence, layout: Layout, num_persons: int, length: int) -> Data:
    r"""The graph of a sampled clip (``seq.keypoint`` ``[M', T, V, C]``): its first
    ``num_persons`` persons; ``num_frames`` records ``length``, the sample's frames before
    sampling."""
    return skeleton_to_data(
        seq.keypoint[:num_persons], layout, label=seq.label,
        score=None if seq.score is None else seq.score[:num_persons],
        name=seq.name, num_frames=torch.tensor([length]))


class SkeletonDataset(Dataset):
    r"""Samples of a file written by ``skelgraph preprocess`` / ``skelgraph synth``, as graphs.

    Reads lazily: opening reads only the index; each item reads its own frames (one h5py
    handle per process, so DataLoader workers are safe). Each item is sampled to
    ``num_frames`` frames with uniform sampling (the paper's, PYSKL's ``UniformSampleFrames``):
    the sequence is cut into ``num_frames`` equal segments and one frame is taken from each —
    a random one when ``train`` is true, the middle one otherwise; shorter sequences loop.

    Items: ``x`` ``[M*V, T, C]``, ``edge_index`` ``[2, E]`` (bones), ``joint``/``person``/
    ``part``/``hop`` ``[M*V]``, ``y`` ``[1]`` (``-1`` = unlabelled), ``name``, ``num_frames``
    (length before sampling), and ``score`` ``[M*V, T]`` when the file has confidences.

    Args:
        path (str | Path): The HDF5 file.
        split (str | Sequence[str], optional): A split stored in the file (``skelgraph info``
            lists them), or several (their union); ``None`` = every sample.
        num_frames (int, optional): Frames per item ``T``; ``None`` keeps every frame (items
            then differ in length and cannot be batched). (default: ``64``)
        train (bool): Random frame within each segment instead of the middle. (default: ``False``)
        num_persons (int, optional): Keep the first ``M`` persons of the file's slots
            (``None``: all of them).
        transform (callable, optional): Applied to each ``Data`` on access.
    """

    def __init__(self, path: str | Path, split: str | Sequence[str] | None = None,
                 num_frames: int | None = 64, train: bool = False, num_persons: int | None = None,
                 transform: Callable[[Data], Data] | None = None) -> None:
        self.store = H5Skeletons(path)
        self.split, self.clip_len, self.train = split, num_frames, train
        self.indices_in_file = self.store.split_indices(split)
        if num_persons is not None and not 1 <= num_persons <= self.store.num_persons:
            raise SkeletonError(f"{self.store.path}: num_persons = {num_persons}, but the file stores "
                                f"{self.store.num_persons} person(s) per sample (set num_persons in 1.."
                                f"{self.store.num_persons}, or leave it unset)")
        self.num_persons = num_persons or self.store.num_persons
        super().__init__(root=None, transform=transform)

    @property
    def layout(self):
        return self.store.layout

    @property
    def class_names(self) -> list[str]:
        return self.store.class_names

    @property
    def num_classes(self) -> int:
        labels = self.store.labels
        return max(len(self.store.class_names), int(labels.max()) + 1 if len(labels) else 0)

    @property
    def labels(self) -> np.ndarray:
        """Labels of this split's samples, ``[len(self)]``."""
        return self.store.labels[self.indices_in_file]

    def len(self) -> int:
        return len(self.indices_in_file)

    def get(self, idx: int) -> Data:
        file_idx = int(self.indices_in_file[idx])
        length = int(self.store.num_frames[file_idx])
        seq = self.store.read(file_idx, clip_frames(length, self.clip_len, self.train))
        return clip_to_data(seq, self.store.layout, self.num_persons, length)

    def __repr__(self) -> str:
        split = f", split={self.split!r}" if self.split else ""
        return f"{type(self).__name__}({self.store.path.name}{split}, {len(self)} samples)"
