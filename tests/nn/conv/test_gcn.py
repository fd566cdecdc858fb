import torch

from skelgraph.nn.conv import SkeletonGCNConv

from .conftest import build


def test_normalisation_is_cached_per_edge_index(batch):
    conv = SkeletonGCNConv(3, 8)
    conv(batch.x, batch.edge_index)
    adj = conv._csr_cache.value
    conv(batch.x, batch.edge_index)
    assert conv._csr_cache.value is adj  # same edge_index: reused
    conv(batch.x, batch.edge_index.flip(0).contiguous())
    assert conv._csr_cache.value is not adj  # another graph: rebuilt


def test_gcn_cache_follows_the_propagated_dtype(batch):
    conv = build("gcn")
    conv(batch.x, batch.edge_index)
    assert conv._csr_cache.value.dtype == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the same edge_index, now a bfloat16 product
        conv(batch.x, batch.edge_index)
    assert conv._csr_cache.value.dtype == torch.bfloat16  # rebuilt for the product's dtype, not x's
