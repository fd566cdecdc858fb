import pytest
import torch
import torch_geometric.transforms as T
from torch_geometric.data import Batch, Data

from skelgraph.transforms import BodyPartMask, GroupMask, MaskEdges, RandomJointMask
from skelgraph.transforms.functional import group_mask, random_joint_mask

from .conftest import gen, make_sample, same_as, snapshot


def hidden_groups(data, keep):
    """{(person, part)} of hidden nodes, after checking each group is all hidden or all kept."""
    groups = {}
    for n in range(data.num_nodes):
        groups.setdefault((int(data.person[n]), int(data.part[n])), set()).add(bool(keep[n]))
    assert all(len(v) == 1 for v in groups.values()), "a group is partly hidden"
    return {g for g, v in groups.items() if v == {False}}


def test_body_part_mask_hides_whole_parts(sample):
    keep = BodyPartMask(generator=gen(0))(sample).keep_mask
    assert keep.dtype == torch.bool and keep.shape == (sample.num_nodes,)
    hidden_groups(sample, keep)


def test_body_part_mask_hides_requested_parts_per_person(sample):
    hidden = hidden_groups(sample, BodyPartMask(num_parts=2, generator=gen(1))(sample).keep_mask)
    assert sorted(p for p, _ in hidden) == [0, 0, 1, 1]


def test_body_part_mask_not_per_person_hides_same_parts_of_everyone(sample):
    hidden = hidden_groups(sample, BodyPartMask(num_parts=3, per_person=False, generator=gen(2))(sample).keep_mask)
    assert {part for p, part in hidden if p == 0} == {part for p, part in hidden if p == 1}
    assert len(hidden) == 6


def test_body_part_mask_fixed_parts_by_name(sample):
    keep = BodyPartMask(parts=["head", "left_arm"], layout="ntu25")(sample).keep_mask
    assert torch.equal(~keep, (sample.part == 0) | (sample.part == 2))


def test_body_part_mask_names_need_layout():
    with pytest.raises(ValueError, match="layout"):
        BodyPartMask(parts=["head"])


def test_body_part_mask_per_frame_draws_each_frame(sample):
    keep = BodyPartMask(per_frame=True, generator=gen(3))(sample).keep_mask
    assert keep.shape == (sample.num_nodes, sample.x.size(1))
    for t in range(keep.size(1)):
        assert len(hidden_groups(sample, keep[:, t])) == 4
    assert not all(torch.equal(keep[:, 0], keep[:, t]) for t in range(1, keep.size(1)))


def test_body_part_mask_span_hides_parts_over_whole_spans_of_frames(sample):
    keep = BodyPartMask(per_frame=True, span=3, generator=gen(3))(sample).keep_mask  # T = 8: spans 3, 3, 2
    assert keep.shape == (sample.num_nodes, 8)
    for start, stop in ((0, 3), (3, 6), (6, 8)):
        assert all(torch.equal(keep[:, start], keep[:, t]) for t in range(start, stop))
        assert len(hidden_groups(sample, keep[:, start])) == 4
    assert not (torch.equal(keep[:, 0], keep[:, 3]) and torch.equal(keep[:, 3], keep[:, 6]))


def test_random_joint_mask_span(sample):
    keep = RandomJointMask(0.4, per_frame=True, span=4, generator=gen(1))(sample).keep_mask
    assert torch.equal(keep[:, 0], keep[:, 3]) and torch.equal(keep[:, 4], keep[:, 7])
    assert int((~keep[:, 0]).sum()) == 2 * 10


def test_span_must_be_positive():
    with pytest.raises(ValueError, match="span"):
        BodyPartMask(per_frame=True, span=0)


def test_same_seed_same_mask_different_seed_different(sample):
    def draw(seed):
        return BodyPartMask(generator=gen(seed))(sample).keep_mask
    assert torch.equal(draw(5), draw(5))
    assert any(not torch.equal(draw(5), draw(s)) for s in range(6, 10))


def test_random_joint_mask_count_per_person(sample):
    keep = RandomJointMask(0.4, generator=gen(0))(sample).keep_mask
    assert [int((~keep[sample.person == p]).sum()) for p in (0, 1)] == [10, 10]


def test_random_joint_mask_per_frame(sample):
    keep = RandomJointMask(0.2, per_frame=True, generator=gen(0))(sample).keep_mask
    assert keep.shape == (50, 8) and bool(((~keep).view(2, 25, 8).sum(1) == 5).all())


def test_random_joint_mask_rejects_ratio_one():
    with pytest.raises(ValueError):
        random_joint_mask(torch.arange(25), 1.0)


def test_group_mask_ratio_rounds_per_unit():
    group = torch.arange(10).repeat(2)
    unit = torch.arange(2).repeat_interleave(10)
    keep = group_mask(group, ratio=0.3, unit=unit, generator=gen(0))
    assert (~keep).view(2, 10).sum(1).tolist() == [3, 3]


def test_group_mask_clamps_to_available_groups():
    keep = group_mask(torch.tensor([0, 0, 1]), num_groups=5, generator=gen(0))
    assert not bool(keep.any())


def test_batch_each_graph_gets_its_own_draw():
    graphs = [make_sample(0) for _ in range(8)]  # identical inputs
    batch = Batch.from_data_list(graphs)
    keep = BodyPartMask(generator=gen(0))(batch).keep_mask.view(8, -1)
    assert bool(((~keep).view(8, 2, 25).sum(-1) > 0).all())
    assert len({tuple(k.tolist()) for k in keep}) > 1
    for g, graph in enumerate(graphs):  # still whole parts, two per person, inside every graph
        assert len(hidden_groups(graph, keep[g])) == 4


def test_random_joint_mask_on_batch_counts_per_graph_and_person():
    batch = Batch.from_data_list([make_sample(s) for s in range(4)])
    keep = RandomJointMask(0.4, generator=gen(0))(batch).keep_mask
    assert bool(((~keep).view(4, 2, 25).sum(-1) == 10).all())


def test_group_mask_in_compose_on_non_skeleton_graph():
    # a molecule-like graph: 7 atoms in 3 fragments, no skeleton attributes at all
    data = Data(x=torch.randn(7, 4), edge_index=torch.tensor([[0, 1, 1, 2, 3, 4, 5, 6], [1, 0, 2, 1, 4, 3, 6, 5]]),
                fragment=torch.tensor([0, 0, 0, 1, 1, 2, 2]))
    out = T.Compose([T.AddSelfLoops(), GroupMask(num_groups=1, attr="fragment", generator=gen(0)),
                     MaskEdges("incident")])(data)
    hidden = set(out.fragment[~out.keep_mask].tolist())
    assert len(hidden) == 1 and int((~out.keep_mask).sum()) == int((data.fragment == hidden.pop()).sum())
    assert bool(out.keep_mask[out.edge_index].all())


def test_group_mask_needs_exactly_one_amount():
    with pytest.raises(ValueError):
        GroupMask()
    with pytest.raises(ValueError):
        GroupMask(num_groups=1, ratio=0.5)


def test_mask_edges_incident_removes_exactly_bones_of_hidden_joints(sample):
    out = MaskEdges("incident")(BodyPartMask(generator=gen(0))(sample))
    hidden = ~out.keep_mask
    src, dst = sample.edge_index
    touches = hidden[src] | hidden[dst]
    assert torch.equal(out.masked_edge_index, sample.edge_index[:, touches])
    assert torch.equal(out.edge_index, sample.edge_index[:, ~touches])
    pairs = {tuple(e) for e in out.masked_edge_index.t().tolist()}
    assert pairs == {(b, a) for a, b in pairs}  # both directions of every masked bone


def test_mask_edges_incident_with_per_frame_mask_uses_any_frame(sample):
    out = MaskEdges("incident")(BodyPartMask(per_frame=True, generator=gen(0))(sample))
    hidden = ~out.keep_mask.all(1)
    assert bool((hidden[out.masked_edge_index[0]] | hidden[out.masked_edge_index[1]]).all())
    assert not bool((hidden[out.edge_index[0]] | hidden[out.edge_index[1]]).any())


def test_mask_edges_incident_needs_keep_mask(sample):
    with pytest.raises(ValueError, match="keep_mask"):
        MaskEdges("incident")(sample)


def test_mask_edges_ratio_removes_pairs_together(sample):
    out = MaskEdges(0.25, generator=gen(0))(sample)
    assert out.masked_edge_index.size(1) == 2 * round(0.25 * 48)
    assert out.edge_index.size(1) + out.masked_edge_index.size(1) == sample.edge_index.size(1)
    pairs = {tuple(e) for e in out.masked_edge_index.t().tolist()}
    assert pairs == {(b, a) for a, b in pairs}


def test_mask_edges_ratio_per_graph_in_batch():
    batch = Batch.from_data_list([make_sample(s) for s in range(3)])
    out = MaskEdges(0.5, generator=gen(0))(batch)
    graph_of_edge = batch.batch[out.masked_edge_index[0]]
    assert torch.bincount(graph_of_edge).tolist() == [48, 48, 48]
    assert torch.equal(batch.batch[out.masked_edge_index[0]], batch.batch[out.masked_edge_index[1]])


def test_mask_edges_filters_edge_attributes(sample):
    sample.edge_attr = torch.arange(sample.edge_index.size(1)).float().unsqueeze(1)
    out = MaskEdges(0.5, generator=gen(0))(sample)
    assert out.edge_attr.size(0) == out.edge_index.size(1)


def test_masked_edge_index_is_offset_when_batching():
    graphs = [MaskEdges("incident")(BodyPartMask(generator=gen(s))(make_sample(s))) for s in range(3)]
    batch = Batch.from_data_list(graphs)
    offsets = [0, graphs[0].num_nodes, graphs[0].num_nodes + graphs[1].num_nodes]
    expected = torch.cat([g.masked_edge_index + o for g, o in zip(graphs, offsets)], dim=1)
    assert torch.equal(batch.masked_edge_index, expected)
    assert torch.equal(batch.to_data_list()[2].masked_edge_index, graphs[2].masked_edge_index)


def test_empty_masked_edge_index_batches(sample):
    out = MaskEdges(0.0)(sample)
    assert out.masked_edge_index.shape == (2, 0)
    assert Batch.from_data_list([out, out]).masked_edge_index.shape == (2, 0)


@pytest.mark.parametrize("transform", [
    GroupMask(num_groups=2), BodyPartMask(), BodyPartMask(per_frame=True), RandomJointMask(),
    MaskEdges(0.3), T.Compose([BodyPartMask(), MaskEdges("incident")]),
])
def test_masking_leaves_input_unchanged(sample, transform):
    before = snapshot(sample)
    transform(sample)
    assert same_as(sample, before)


def test_reprs():
    assert repr(BodyPartMask()) == "BodyPartMask(num_parts=2, per_person=True, per_frame=False)"
    assert repr(GroupMask(ratio=0.5, attr="fragment")) == "GroupMask(ratio=0.5, attr='fragment')"
    assert repr(MaskEdges("incident")) == "MaskEdges(ratio='incident')"
    assert repr(RandomJointMask(0.4)) == "RandomJointMask(mask_ratio=0.4, per_frame=False)"


def test_group_mask_span_does_not_depend_on_the_number_of_groups():
    # 5 groups, span 2 over 7 frames: draws at frames 0, 2, 4, 6 (the span once read the group count)
    part = torch.arange(5).repeat_interleave(2)
    keep = group_mask(part, num_groups=2, num_frames=7, span=2, generator=gen(0))
    assert keep.shape == (10, 7)
    for start in (0, 2, 4):
        assert torch.equal(keep[:, start], keep[:, start + 1])
    assert all(int((~keep[:, t]).sum()) == 4 for t in range(7))
    draws = [keep[:, t] for t in (0, 2, 4, 6)]
    assert not all(torch.equal(draws[0], d) for d in draws[1:])
