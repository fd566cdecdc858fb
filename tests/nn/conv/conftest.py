import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph import COCO17
from skelgraph.nn.conv import make_conv

T = 4


@pytest.fixture
def batch() -> Batch:  # two COCO-17 graphs, 1 and 2 persons: N = 51 nodes, each a 4-frame track
    rng = np.random.default_rng(0)
    return Batch.from_data_list([skeleton_to_data(rng.standard_normal((m, T, 17, 3)).astype(np.float32), COCO17)
                                 for m in (1, 2)])


def build(name: str, fused: bool = True):
    torch.manual_seed(0)
    return make_conv(name, 3, 8, fused=fused)
