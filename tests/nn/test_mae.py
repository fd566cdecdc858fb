import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph import COCO17
from skelgraph.nn import SkeletonMAE, dense_adjacency
from skelgraph.nn.encoder import graph_parents
from skelgraph.nn.mae import hidden_end_negatives

T, D = 4, 16


def sample(num_persons: int, seed: int = 0) -> Data:
    rng = np.random.default_rng(seed)
    data = skeleton_to_data(rng.standard_normal((num_persons, T, 17, 2)).astype(np.float32), COCO17)
    data.keep_mask = data.part != COCO17.part_id("left_arm")  # hide a body part
    return data


@pytest.fixture
def batch() -> Batch:  # 1 and 2 persons: N = 51
    return Batch.from_data_list([sample(1, 0), sample(2, 1)])


def model(**kwargs) -> SkeletonMAE:
    torch.manual_seed(0)
    return SkeletonMAE(2, D, **kwargs)


def test_forward_on_batch_with_different_person_counts(batch):
    out = model()(batch)
    assert out["x_hat"].shape == (51, T, 2)
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    assert out["edge_loss"].item() == 0.0  # edge_weight = 0: off


def test_mask_token_replaces_exactly_hidden_nodes(batch):
    mae = model()
    seen = {}
    mae.encoder[0].register_forward_pre_hook(lambda m, args: seen.update(h=args[0]))
    mae(batch)
    hidden = ~batch.keep_mask
    assert torch.equal(seen["h"][hidden], mae.mask_token.expand(int(hidden.sum()), T, D))
    torch.testing.assert_close(seen["h"][~hidden], mae.embed(batch.x[~hidden]))


def test_remask_zeroes_hidden_nodes_before_decoder(batch):
    mae = model()
    seen = {}
    mae.decoder[0].register_forward_pre_hook(lambda m, args: seen.update(z=args[0]))
    mae(batch)
    assert seen["z"][~batch.keep_mask].abs().sum() == 0
    assert seen["z"][batch.keep_mask].abs().sum() > 0


def test_per_frame_mask(batch):
    keep = torch.ones(51, T, dtype=torch.bool)
    keep[::3, 1:3] = False  # every third joint hidden in frames 1 and 2
    batch.keep_mask = keep
    mae = model()
    h = mae.embed_masked(batch.x, keep)
    assert torch.equal(h[0, 1], mae.mask_token) and not torch.equal(h[0, 0], mae.mask_token)
    assert torch.isfinite(mae(batch)["loss"])


@pytest.mark.parametrize("conv", ["gcn", "gat", "stgcn"])
def test_other_convs(batch, conv):
    assert torch.isfinite(model(conv=conv)(batch)["loss"])


def test_edge_loss_is_finite_and_reaches_decoder(batch):
    mae = model(edge_weight=1.0)
    out = mae(batch)
    assert torch.isfinite(out["edge_loss"]) and out["edge_loss"] > 0
    out["edge_loss"].backward()
    grads = [p.grad for p in mae.decoder.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    assert mae.head.weight.grad is None  # the edge head reads the decoder embedding, not x_hat


def test_edge_loss_uses_masked_edge_index(batch):
    mae = model(edge_weight=1.0)
    keep = batch.edge_index[0] < batch.edge_index[1]  # pretend the "forward" half was masked out
    batch.masked_edge_index, batch.edge_index = batch.edge_index[:, ~keep], batch.edge_index[:, keep]
    pos, neg = mae.edge_pairs(batch, batch.keep_mask)
    assert sorted(map(sorted, pos.t().tolist())) == sorted(map(sorted, batch.masked_edge_index.t().tolist()))
    hidden = ~batch.keep_mask
    assert torch.equal(hidden[pos[0]], hidden[pos[0]] | hidden[pos[1]])  # the hidden end comes first
    bones = set(map(tuple, torch.cat([batch.edge_index, batch.masked_edge_index], 1).t().tolist()))
    assert neg.size(1) > 0 and not bones & set(map(tuple, neg.t().tolist()))  # no bone sampled as negative
    assert torch.equal(batch.batch[neg[0]], batch.batch[neg[1]])  # negatives stay within a graph


def test_adam_steps_reduce_loss(batch):
    mae = model(edge_weight=0.5)
    opt = torch.optim.Adam(mae.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = mae(batch)["joint_loss"]
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_encode_shape_and_no_masking(batch):
    mae = model()
    h = mae.encode(batch)
    assert h.shape == (51, T, D)
    del batch.keep_mask
    torch.testing.assert_close(mae.encode(batch), h)  # encode never reads keep_mask


def test_forward_needs_keep_mask(batch):
    del batch.keep_mask
    with pytest.raises(ValueError, match="keep_mask"):
        model()(batch)


def test_dense_adjacency_gives_the_same_loss(batch):
    mae = model()
    adj = dense_adjacency(batch.edge_index, 17)
    torch.testing.assert_close(mae(batch)["loss"], mae(batch, adj=adj)["loss"])


def test_edge_negatives_share_the_hidden_end_of_their_positive(batch):
    mae = model(edge_weight=1.0)
    pos, neg = mae.edge_pairs(batch, batch.keep_mask)
    hidden = ~batch.keep_mask
    assert pos.size(1) > 0 and bool(hidden[pos[0]].all())
    assert neg.size(1) == pos.size(1) and bool(hidden[neg[0]].all())  # "touches a [MASK]" is no shortcut


def test_hidden_end_negatives_never_return_a_bone_and_stay_in_the_graph(batch):
    torch.manual_seed(0)
    anchors = torch.arange(batch.num_nodes).repeat(20)
    neg = hidden_end_negatives(anchors, batch.edge_index, batch.batch, batch.num_nodes)
    bones = set(map(tuple, batch.edge_index.t().tolist()))
    assert not bones & set(map(tuple, neg.t().tolist()))
    assert bool((neg[0] != neg[1]).all()) and torch.equal(batch.batch[neg[0]], batch.batch[neg[1]])
    assert neg.size(1) == anchors.numel()  # 8 rounds: no anchor left without a partner here


def test_hidden_end_negatives_are_uniform_over_allowed_partners():
    bones = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # path 0 - 1 - 2 in a graph of 6 nodes
    torch.manual_seed(0)
    neg = hidden_end_negatives(torch.zeros(6000, dtype=torch.long), bones, None, 6)
    counts = torch.bincount(neg[1], minlength=6)
    assert counts[:2].sum() == 0  # itself and its bone neighbour
    assert counts[2:].min() > 1350 and counts[2:].max() < 1650  # ~1500 each (4 allowed partners)


def test_bone_feature_never_gives_a_hidden_joint_away(batch):
    generator = torch.Generator().manual_seed(0)
    batch.keep_mask = torch.rand(51, generator=generator) > 0.4
    parents = graph_parents(batch, ["bone"])
    assert bool((batch.keep_mask & ~batch.keep_mask[parents]).any())  # visible joints with a hidden parent
    mae = model(features=["position", "bone"]).eval()
    x_hat = mae(batch)["x_hat"]
    moved = batch.clone()
    moved.x = torch.where(batch.keep_mask.view(-1, 1, 1), batch.x, batch.x + 5.0)  # hidden joints moved
    torch.testing.assert_close(mae(moved)["x_hat"], x_hat)


def test_bone_parents_include_the_bones_a_transform_moved_out(batch):
    full = graph_parents(batch, ["bone"])
    touches = torch.isin(batch.edge_index, torch.tensor([3, 9, 20])).any(dim=0)  # as MaskEdges does
    batch.masked_edge_index, batch.edge_index = batch.edge_index[:, touches], batch.edge_index[:, ~touches]
    assert torch.equal(graph_parents(batch, ["bone"]), full)
    assert not torch.equal(graph_parents(Batch(edge_index=batch.edge_index, hop=batch.hop), ["bone"]), full)
