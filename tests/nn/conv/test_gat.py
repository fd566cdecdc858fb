import gc

import torch

from skelgraph.nn.conv import SkeletonGATConv, _ATTENTION_PATTERNS, attention_patterns, make_conv

from .conftest import T


def test_make_conv_gat_splits_channels_over_heads(batch):
    conv = make_conv("gat", 3, 8, heads=2)
    assert conv.out_channels == 4 and conv(batch.x, batch.edge_index).shape == (51, T, 8)


def test_gat_attention_sums_to_one_over_incoming_edges_per_frame(batch):
    torch.manual_seed(0)
    conv = SkeletonGATConv(3, 4, heads=2)
    _, (ei, alpha) = conv(batch.x, batch.edge_index, return_attention_weights=True)
    assert alpha.shape == (ei.size(1), T, 2)
    sums = torch.zeros(51, T, 2).index_add_(0, ei[1], alpha)
    torch.testing.assert_close(sums, torch.ones(51, T, 2))
    assert not torch.allclose(alpha[:, 0], alpha[:, 1])  # coefficients differ between frames


def test_gat_fused_path_matches_plain_path_with_heads_in_every_gradient(batch):
    torch.manual_seed(0)
    conv = SkeletonGATConv(3, 4, heads=2).double()
    x = batch.x.double()
    outs, grads = [], []
    for fused in (True, False):
        conv.fused = fused
        conv.zero_grad()
        out = conv(x, batch.edge_index)
        out.pow(2).sum().backward()
        outs.append(out)
        grads.append([p.grad.clone() for p in conv.parameters()])  # the attention vectors' too
        if fused:
            assert batch.edge_index in _ATTENTION_PATTERNS  # the block CSR product ran, not the plain path
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-10, atol=1e-12)
    for fused_grad, plain_grad in zip(*grads):
        torch.testing.assert_close(fused_grad, plain_grad, rtol=1e-10, atol=1e-12)


def test_gat_layers_share_one_attention_pattern_per_edge_index_and_drop_it_with_the_batch(batch):
    torch.manual_seed(0)
    first, second = SkeletonGATConv(3, 4), SkeletonGATConv(4, 4)
    gc.collect()
    entries = len(_ATTENTION_PATTERNS)
    edge_index = batch.edge_index.clone()
    second(first(batch.x, edge_index), edge_index)
    assert len(_ATTENTION_PATTERNS) == entries + 1
    version, built = _ATTENTION_PATTERNS[edge_index]
    assert list(built) == [(51, T)]  # one pattern for both layers
    patterns = built[51, T][1]
    assert attention_patterns(edge_index, 51, T)[1] is patterns  # reused, not rebuilt
    edge_index.add_(0)  # an in-place change: rebuilt
    assert attention_patterns(edge_index, 51, T)[1] is not patterns
    del edge_index
    gc.collect()
    assert len(_ATTENTION_PATTERNS) == entries  # gone with its edge_index
