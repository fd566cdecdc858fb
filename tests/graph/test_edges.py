import numpy as np
import torch
from torch_geometric.utils import is_undirected

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.edges import CENTRIFUGAL, CENTRIPETAL, ROOT, bone_edge_index, hop_distance, node_ids, \
    spatial_partition, stgcn_partition
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
