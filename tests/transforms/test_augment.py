import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.graph.layouts import NTU25
from skelgraph.transforms import JointToBone, JointToMotion, RandomRotate, RandomScale, RandomShear
from skelgraph.transforms.functional import layout_parents, parent_nodes_from_hops

from .conftest import gen, make_sample, same_as, snapshot


def bone_lengths(data):
    src, dst = data.edge_index
    return (data.x[src] - data.x[dst]).norm(dim=-1)


@pytest.mark.parametrize("transform", [RandomRotate(30, generator=gen(0)), RandomScale(generator=gen(0)),
                                       RandomShear(generator=gen(0)), JointToBone(NTU25), JointToBone(),
                                       JointToMotion()])
def test_augment_preserves_shapes(sample, transform):
    out = transform(sample)
    assert out.x.shape == sample.x.shape and out.edge_index.shape == sample.edge_index.shape


def test_rotation_preserves_bone_lengths(sample):
    out = RandomRotate((30, 30, 30), generator=gen(0))(sample)
    assert not torch.allclose(out.x, sample.x)
    assert torch.allclose(bone_lengths(out), bone_lengths(sample), atol=1e-5)


def test_rotation_2d(sample):
    flat = make_sample(0, channels=2)
    out = RandomRotate(45, generator=gen(0))(flat)
    assert out.x.shape == flat.x.shape
    assert torch.allclose(bone_lengths(out), bone_lengths(flat), atol=1e-5)


def test_batch_rotation_per_graph():
    batch = Batch.from_data_list([make_sample(0) for _ in range(4)])
    x = RandomRotate(30, generator=gen(0))(batch).x.view(4, -1)
    assert not torch.allclose(x[0], x[1])


def test_absent_person_stays_zero(sample):
    sample.x = sample.x.clone()
    sample.x[25:] = 0
    for transform in (RandomRotate(30), RandomScale(), RandomShear()):
        assert bool((transform(sample).x[25:] == 0).all())


def test_scale_within_range(sample):
    ratio = RandomScale((0.8, 1.2), per_axis=False, generator=gen(0))(sample).x / sample.x
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), atol=1e-4)
    assert 0.8 <= float(ratio.flatten()[0]) <= 1.2


def test_shear_zero_is_identity(sample):
    assert torch.allclose(RandomShear(0.0)(sample).x, sample.x)


def test_joint_to_bone_layout_parents(sample):
    bone = JointToBone(NTU25)(sample).x
    parents = layout_parents(NTU25)
    assert bool((bone[20] == 0).all())  # spine_shoulder is CTR-GCN's root
    assert torch.allclose(bone[25 + 3], sample.x[25 + 3] - sample.x[25 + int(parents[3])])


def test_joint_to_bone_from_hops_uses_neighbour_nearer_centre(sample):
    bone = JointToBone()(sample).x
    parent = parent_nodes_from_hops(sample.edge_index, sample.hop)
    edges = {tuple(e) for e in sample.edge_index.t().tolist()}
    for n in range(sample.num_nodes):
        if int(sample.hop[n]) == 0:
            assert int(parent[n]) == n and bool((bone[n] == 0).all())
        else:
            assert (int(parent[n]), n) in edges and int(sample.hop[parent[n]]) == int(sample.hop[n]) - 1
            assert torch.allclose(bone[n], sample.x[n] - sample.x[parent[n]])


def test_joint_to_bone_cat(sample):
    assert JointToBone(NTU25, cat=True)(sample).x.shape == (50, 8, 6)


def test_joint_to_bone_without_parents_or_hop(sample):
    del sample.hop
    with pytest.raises(ValueError, match="parents"):
        JointToBone()(sample)


def test_joint_to_motion(sample):
    motion = JointToMotion()(sample).x
    assert bool((motion[:, -1] == 0).all())
    assert torch.allclose(motion[:, 0], sample.x[:, 1] - sample.x[:, 0])


@pytest.mark.parametrize("transform", [RandomRotate(), RandomScale(), RandomShear(), JointToBone(), JointToMotion()])
def test_augment_leaves_input_unchanged(sample, transform):
    before = snapshot(sample)
    transform(sample)
    assert same_as(sample, before)
