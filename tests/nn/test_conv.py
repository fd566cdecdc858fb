import gc

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph import COCO17, spatial_partition
from skelgraph.nn.conv import (
    CONVS, SkeletonGATConv, SkeletonGCNConv, SkeletonGINConv, SkeletonSTGCNConv, attention_product, block_csr,
    csr_adjacency, dense_adjacency, make_conv, sparse_matmul, stgcn_partition, transpose_csr,
)
from skelgraph.nn.conv import _ATTENTION_PATTERNS, attention_patterns
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.transforms.masking import BodyPartMask

T = 4


@pytest.fixture
def batch() -> Batch:  # two COCO-17 graphs, 1 and 2 persons: N = 51 nodes, each a 4-frame track
    rng = np.random.default_rng(0)
    return Batch.from_data_list([skeleton_to_data(rng.standard_normal((m, T, 17, 3)).astype(np.float32), COCO17)
                                 for m in (1, 2)])


def build(name: str, fused: bool = True):
    torch.manual_seed(0)
    return make_conv(name, 3, 8, fused=fused)


@pytest.mark.parametrize("name", list(CONVS))
def test_conv_output_shape(batch, name):
    out = build(name)(batch.x, batch.edge_index, batch.hop)
    assert out.shape == (51, T, 8)


@pytest.mark.parametrize("name", list(CONVS))
def test_fused_path_matches_plain_path(batch, name):
    conv = build(name)
    fused = conv(batch.x, batch.edge_index, batch.hop)
    conv.fused = False
    plain = conv(batch.x, batch.edge_index, batch.hop)
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(CONVS))
def test_fused_path_gradient_matches_plain_path(batch, name):
    conv = build(name)
    grads = []
    for fused in (True, False):
        conv.fused = fused
        x = batch.x.clone().requires_grad_()
        conv(x, batch.edge_index, batch.hop).pow(2).sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list(CONVS))
def test_sparse_path_matches_dense_reference(batch, name):
    conv = build(name)
    adj = dense_adjacency(batch.edge_index, 17)  # [V, V], adj[target, source]
    torch.testing.assert_close(conv(batch.x, batch.edge_index, batch.hop), conv(batch.x, adj, batch.hop),
                               rtol=1e-5, atol=1e-5)


def test_gin_with_eps_agrees_on_fused_plain_and_dense_paths(batch):
    torch.manual_seed(0)
    conv = SkeletonGINConv(3, 8, eps=0.5)  # fused: (1 + eps) I + A as one CSR matrix
    fused = conv(batch.x, batch.edge_index)
    conv.fused = False
    torch.testing.assert_close(fused, conv(batch.x, batch.edge_index), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fused, conv(batch.x, dense_adjacency(batch.edge_index, 17)), rtol=1e-5, atol=1e-5)


def test_gin_fused_path_counts_a_self_loop_edge_as_a_neighbour(batch):
    conv = build("gin")
    edge_index = torch.cat([batch.edge_index, torch.tensor([[3], [3]])], dim=1)  # node 3 its own neighbour
    fused = conv(batch.x, edge_index)
    conv.fused = False
    torch.testing.assert_close(fused, conv(batch.x, edge_index), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(fused[3], conv(batch.x, batch.edge_index)[3])


@pytest.mark.parametrize("name", list(CONVS))
def test_reset_parameters_changes_weights(name):
    conv = build(name)
    before = [p.detach().clone() for p in conv.parameters()]
    conv.reset_parameters()
    changed = [not torch.equal(a, b) for a, b in zip(before, conv.parameters()) if a.numel() > 1 and a.abs().sum() > 0]
    assert changed and all(changed)


def test_make_conv_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown conv"):
        make_conv("sage", 3, 8)


def test_make_conv_gat_splits_channels_over_heads(batch):
    conv = make_conv("gat", 3, 8, heads=2)
    assert conv.out_channels == 4 and conv(batch.x, batch.edge_index).shape == (51, T, 8)


def test_stgcn_partition_three_joint_chain():
    # chain 0 - 1 - 2 with the centre at joint 1: hop = [1, 0, 1]
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    ei, subset, norm = stgcn_partition(edge_index, torch.tensor([1, 0, 1]), 3)
    labels = {(s, d): k for (s, d), k in zip(ei.t().tolist(), subset.tolist())}
    assert labels == {(0, 0): 0, (1, 1): 0, (2, 2): 0,  # root: self loops
                      (1, 0): 1, (1, 2): 1,  # centripetal: the source is nearer the centre
                      (0, 1): 2, (2, 1): 2}  # centrifugal: farther
    weights = {(s, d): w for (s, d), w in zip(ei.t().tolist(), norm.tolist())}
    assert weights[(0, 1)] == weights[(2, 1)] == 0.5  # joint 1 averages its two centrifugal messages
    assert weights[(1, 0)] == weights[(1, 2)] == weights[(1, 1)] == 1.0


def test_stgcn_partition_agrees_with_graph_module():
    ei_graph, subset_graph = spatial_partition(COCO17, 2)
    data = skeleton_to_data(np.zeros((2, 1, 17, 2), np.float32), COCO17)
    ei, subset, _ = stgcn_partition(data.edge_index, data.hop, data.num_nodes)
    as_set = lambda e, s: set(zip(e[0].tolist(), e[1].tolist(), s.tolist()))  # noqa: E731
    assert as_set(ei, subset) == as_set(ei_graph, subset_graph)


def test_stgcn_needs_hop(batch):
    with pytest.raises(ValueError, match="hop"):
        SkeletonSTGCNConv(3, 8)(batch.x, batch.edge_index)


def test_gat_attention_sums_to_one_over_incoming_edges_per_frame(batch):
    torch.manual_seed(0)
    conv = SkeletonGATConv(3, 4, heads=2)
    _, (ei, alpha) = conv(batch.x, batch.edge_index, return_attention_weights=True)
    assert alpha.shape == (ei.size(1), T, 2)
    sums = torch.zeros(51, T, 2).index_add_(0, ei[1], alpha)
    torch.testing.assert_close(sums, torch.ones(51, T, 2))
    assert not torch.allclose(alpha[:, 0], alpha[:, 1])  # coefficients differ between frames


def test_normalisation_is_cached_per_edge_index(batch):
    conv = SkeletonGCNConv(3, 8)
    conv(batch.x, batch.edge_index)
    adj = conv._csr_cache.value
    conv(batch.x, batch.edge_index)
    assert conv._csr_cache.value is adj  # same edge_index: reused
    conv(batch.x, batch.edge_index.clone())
    assert conv._csr_cache.value is not adj  # another edge_index: rebuilt


@pytest.mark.parametrize("name", list(CONVS))
@pytest.mark.parametrize("path", ["fused", "plain", "dense"])
def test_bfloat16_autocast_on_every_path(batch, name, path):
    conv = build(name, fused=path == "fused")
    graph = dense_adjacency(batch.edge_index, 17) if path == "dense" else batch.edge_index
    x = batch.x.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = torch.nn.functional.linear(x, torch.eye(3))  # bfloat16 input, as inside a model
        out = conv(conv(h, graph, batch.hop) if conv.in_channels == conv.out_channels else h, graph, batch.hop)
    out.float().sum().backward()
    reference = conv(batch.x, graph, batch.hop)
    assert out.shape == reference.shape and torch.isfinite(x.grad).all()
    torch.testing.assert_close(out.float(), reference, rtol=0.05, atol=0.05)  # bfloat16: 3 significant digits


@pytest.mark.parametrize("name", list(CONVS))
def test_bfloat16_autocast_trains_skeletonmae(batch, name):
    torch.manual_seed(0)
    model = SkeletonMAE(3, 8, conv=name)
    batch = BodyPartMask(2, generator=torch.Generator().manual_seed(0))(batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(batch)["loss"]
    loss.float().backward()
    assert torch.isfinite(loss.float()) and all(torch.isfinite(p.grad).all() for p in model.encoder.parameters())


def test_gcn_cache_follows_the_propagated_dtype(batch):
    conv = build("gcn")
    conv(batch.x, batch.edge_index)
    assert conv._csr_cache.value.dtype == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the same edge_index, now a bfloat16 product
        conv(batch.x, batch.edge_index)
    assert conv._csr_cache.value.dtype == torch.bfloat16  # rebuilt for the product's dtype, not x's


def test_sparse_matmul_with_cached_transpose_has_torchs_gradient(batch):
    n = batch.num_nodes
    adj_t = csr_adjacency(batch.edge_index, torch.rand(batch.edge_index.size(1)), (n, n))
    grads = []
    for adj in (None, transpose_csr(adj_t)):
        x = torch.randn(n, T, 5, generator=torch.Generator().manual_seed(0)).requires_grad_()
        sparse_matmul(adj_t, x, adj).square().sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.parametrize("name", ["gcn", "stgcn"])
def test_normalisation_in_the_input_precision(batch, name):
    conv = build(name).double()
    x = batch.x.double()
    adj = dense_adjacency(batch.edge_index, 17).double()
    torch.testing.assert_close(conv(x, batch.edge_index, batch.hop), conv(x, adj, batch.hop), rtol=1e-12, atol=1e-12)


def test_attention_product_gradients_by_finite_differences():
    # a duplicate edge (2 -> 0 twice) and a node with no incoming edge (3)
    source, target = torch.tensor([1, 2, 2, 0, 3, 0]), torch.tensor([0, 0, 0, 1, 2, 2])
    slots = 3 * 2  # T = 3 frames, H = 2 heads
    patterns = block_csr(target, source, 4, slots), block_csr(source, target, 4, slots)
    generator = torch.Generator().manual_seed(0)
    alpha = torch.rand(6, 3, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 3, 2, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, v: attention_product(a, v, patterns), (alpha, x))
    messages = x[source] * alpha.unsqueeze(-1)  # [E, T, H, F], what the plain path builds
    expected = torch.zeros_like(x).index_add(0, target, messages)
    torch.testing.assert_close(attention_product(alpha, x, patterns), expected)
    assert attention_product(alpha, x, patterns)[3].abs().sum() == 0  # nothing flows into node 3


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
