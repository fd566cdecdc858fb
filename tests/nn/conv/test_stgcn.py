import pytest

from skelgraph.nn.conv import SkeletonSTGCNConv


def test_stgcn_needs_hop(batch):
    with pytest.raises(ValueError, match="hop"):
        SkeletonSTGCNConv(3, 8)(batch.x, batch.edge_index)
