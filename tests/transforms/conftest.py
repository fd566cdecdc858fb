"""Small synthetic skeleton graphs for the transform tests (seeded, NTU-25 layout)."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import NTU25


def make_sample(seed: int = 0, num_persons: int = 2, num_frames: int = 8, channels: int = 3) -> Data:
    g = torch.Generator().manual_seed(seed)
    keypoint = torch.randn(num_persons, num_frames, NTU25.num_joints, channels, generator=g)
    score = torch.rand(num_persons, num_frames, NTU25.num_joints, generator=g)
    return skeleton_to_data(keypoint, NTU25, label=seed % 5, score=score)


@pytest.fixture
def sample() -> Data:
    return make_sample()


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def snapshot(data: Data) -> dict:
    """Clones of every tensor attribute, to check a transform left its input alone."""
    return {key: value.clone() for key, value in data.items() if isinstance(value, torch.Tensor)}


def same_as(data: Data, before: dict) -> bool:
    now = {key: value for key, value in data.items() if isinstance(value, torch.Tensor)}
    return now.keys() == before.keys() and all(torch.equal(now[k], before[k]) for k in before)
