import pytest
import torch
import torch_geometric.transforms as T
from torch_geometric.data import Batch

from skelgraph.transforms import BodyPartMask, MaskEdges, Unroll

from .conftest import make_sample, same_as, snapshot

M, V, FRAMES, B = 2, 25, 8, 24


def test_unroll_counts(sample):
    out = Unroll()(sample)
    assert out.num_nodes == FRAMES * M * V and out.x.shape == (FRAMES * M * V, 3)
    assert int((out.edge_type == 0).sum()) == 2 * B * M * FRAMES
    assert int((out.edge_type == 1).sum()) == 2 * M * V * (FRAMES - 1)
    assert out.edge_type.size(0) == out.edge_index.size(1)


def test_unroll_node_order_and_ids(sample):
    out = Unroll()(sample)
    n, t = 30, 5
    node = t * M * V + n
    assert torch.equal(out.x[node], sample.x[n, t]) and float(out.score[node]) == float(sample.score[n, t])
    assert (int(out.frame[node]), int(out.joint[node]), int(out.person[node]), int(out.part[node])) == (
        t, int(sample.joint[n]), int(sample.person[n]), int(sample.part[n]))


def test_unroll_time_edges_join_same_joint_in_next_frame(sample):
    out = Unroll()(sample)
    src, dst = out.edge_index[:, out.edge_type == 1]
    assert torch.equal(out.joint[src], out.joint[dst]) and torch.equal(out.person[src], out.person[dst])
    assert bool(((out.frame[src] - out.frame[dst]).abs() == 1).all())
    bone_src, bone_dst = out.edge_index[:, out.edge_type == 0]
    assert torch.equal(out.frame[bone_src], out.frame[bone_dst])


def test_unroll_carries_masks(sample):
    out = T.Compose([BodyPartMask(), MaskEdges("incident"), Unroll()])(sample)
    masked = MaskEdges("incident")(BodyPartMask(generator=None)(sample))
    assert out.keep_mask.shape == (FRAMES * M * V,)
    assert out.masked_edge_index.size(1) % FRAMES == 0
    assert bool((~out.keep_mask[out.masked_edge_index[0]] | ~out.keep_mask[out.masked_edge_index[1]]).all())
    assert masked.masked_edge_index.size(1) > 0


def test_unroll_per_frame_mask(sample):
    masked = BodyPartMask(per_frame=True)(sample)
    out = Unroll()(masked)
    assert torch.equal(out.keep_mask.view(FRAMES, M * V), masked.keep_mask.t())


def test_unrolled_graphs_batch():
    batch = Batch.from_data_list([Unroll()(make_sample(s)) for s in range(2)])
    assert batch.num_nodes == 2 * FRAMES * M * V and int(batch.edge_index.max()) == batch.num_nodes - 1


def test_unroll_rejects_batch():
    with pytest.raises(ValueError, match="single"):
        Unroll()(Batch.from_data_list([make_sample(0)]))


def test_unroll_leaves_input_unchanged(sample):
    before = snapshot(sample)
    Unroll()(sample)
    assert same_as(sample, before)
