import torch
from torch_geometric.utils import is_undirected

from skelgraph.graph.edges import CENTRIFUGAL, CENTRIPETAL, ROOT, bone_edge_index, hop_distance, node_ids, \
    spatial_partition
from skelgraph.graph.layouts import COCO17, NTU25, Layout


def test_bone_edge_index_is_undirected_and_per_person():
    edge_index = bone_edge_index(NTU25, num_persons=2)
    assert edge_index.shape == (2, 2 * 24 * 2)
    assert is_undirected(edge_index)
    # no edge joins the two persons
    assert torch.equal(edge_index[0] // 25, edge_index[1] // 25)


def test_node_ids_person_major():
    joint, person, part = node_ids(COCO17, 2)
    assert joint.tolist() == list(range(17)) * 2
    assert person.tolist() == [0] * 17 + [1] * 17
    assert part[:17].tolist() == list(COCO17.joint_part)


CHAIN = Layout(name="chain", joints=("a", "b", "c"), bones=((1, 0), (2, 1)),
               parts=(("all", (0, 1, 2)),), center=0)


def test_hop_distance_on_a_chain():
    assert hop_distance(CHAIN).tolist() == [0, 1, 2]


def test_spatial_partition_labels_root_centripetal_centrifugal():
    edge_index, subset = spatial_partition(CHAIN)
    labels = {(int(s), int(d)): int(k) for (s, d), k in zip(edge_index.t(), subset)}
    assert labels[(0, 0)] == ROOT and labels[(1, 1)] == ROOT
    assert labels[(0, 1)] == CENTRIPETAL  # message from the joint nearer the centre
    assert labels[(1, 0)] == CENTRIFUGAL
    assert labels[(1, 2)] == CENTRIPETAL and labels[(2, 1)] == CENTRIFUGAL
