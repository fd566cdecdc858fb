r"""Graph structure of a skeleton sample: ``edge_index`` over bones, per-node ids, and the
ST-GCN spatial-configuration partition (the one definition; ``SkeletonSTGCNConv`` uses it).

Nodes are numbered person-major: node ``n = person * V + joint`` for ``M`` persons of
``V`` joints, so ``x[n]`` is one person's joint and ``x.view(M, V, ...)`` recovers persons.
"""
from __future__ import annotations

from collections import deque

import torch
from torch import Tensor

from skelgraph.graph.layouts import Layout


def bone_edge_index(layout: Layout, num_persons: int = 1) -> Tensor:
    r"""Bones of every person, both directions, as ``edge_index`` ``[2, 2 * B * M]``
    (``B`` bones, ``M`` persons). Persons are not connected to each other.

    Example:
        >>> from skelgraph.graph.layouts import COCO17
        >>> bone_edge_index(COCO17, num_persons=2).shape
        torch.Size([2, 64])
    """
    bones = torch.tensor(layout.bones, dtype=torch.long).t()  # [2, B]
    one = torch.cat([bones, bones.flip(0)], dim=1)  # [2, 2B]
    offsets = torch.arange(num_persons, dtype=torch.long) * layout.num_joints
    return (one.unsqueeze(0) + offsets.view(-1, 1, 1)).permute(1, 0, 2).reshape(2, -1)


def node_ids(layout: Layout, num_persons: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    r"""``(joint, person, part)``, each long ``[M * V]``: the joint id in the layout, the
    person id and the body-part id of every node.

    Example:
        >>> from skelgraph.graph.layouts import COCO17
        >>> joint, person, part = node_ids(COCO17, 2)
        >>> joint[17].item(), person[17].item(), part[7].item()
        (0, 1, 2)
    """
    v = layout.num_joints
    joint = torch.arange(v, dtype=torch.long).repeat(num_persons)
    person = torch.arange(num_persons, dtype=torch.long).repeat_interleave(v)
    part = torch.tensor(layout.joint_part, dtype=torch.long).repeat(num_persons)
    return joint, person, part


def hop_distance(layout: Layout) -> Tensor:
    r"""Shortest number of bones from the centre joint to each joint, long ``[V]``
    (``-1`` for joints not connected to the centre)."""
    neighbours: list[list[int]] = [[] for _ in range(layout.num_joints)]
    for a, b in layout.bones:
        neighbours[a].append(b)
        neighbours[b].append(a)
    dist = [-1] * layout.num_joints
    dist[layout.center] = 0
    queue = deque([layout.center])
    while queue:
        joint = queue.popleft()
        for other in neighbours[joint]:
            if dist[other] < 0:
                dist[other] = dist[joint] + 1
                queue.append(other)
    return torch.tensor(dist, dtype=torch.long)


ROOT, CENTRIPETAL, CENTRIFUGAL = 0, 1, 2  # ST-GCN's subsets of the spatial-configuration partition


def stgcn_partition(edge_index: Tensor, hop: Tensor, num_nodes: int,
                    dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor, Tensor]:
    r"""ST-GCN's spatial-configuration partition (Yan et al., AAAI 2018) of a graph.

    Args:
        edge_index: ``[2, E]`` bones, both directions (self loops are dropped).
        hop: ``[N]`` long, bones from the centre joint.
        num_nodes: ``N``.
        dtype: Of ``norm`` (the model's floating type, so float64 models get exact coefficients).

    Returns:
        ``(edge_index [2, N + E], subset [N + E], norm [N + E])``: a self loop per node first,
        then the bones; ``subset`` is ``0`` root (self loop), ``1`` centripetal
        (``hop[src] < hop[dst]``: the neighbour is nearer the centre) or ``2`` centrifugal
        (otherwise); ``norm`` is ``1 / in-degree`` of the target within its subset, so each
        subset averages its messages.

    Example:
        >>> ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # chain 0 - 1 - 2, centre 0
        >>> stgcn_partition(ei, torch.tensor([0, 1, 2]), 3)[1].tolist()
        [0, 0, 0, 1, 2, 1, 2]
    """
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]  # as torch_geometric's remove_self_loops
    loops = torch.arange(num_nodes, device=edge_index.device).repeat(2, 1)
    src, dst = edge_index
    subset = torch.where(hop[src] < hop[dst], CENTRIPETAL, CENTRIFUGAL)
    subset = torch.cat([torch.full((num_nodes,), ROOT, dtype=torch.long, device=edge_index.device), subset])
    edge_index = torch.cat([loops, edge_index], dim=1)
    key = subset * num_nodes + edge_index[1]  # (subset, target) pairs
    count = torch.zeros(3 * num_nodes, device=edge_index.device, dtype=dtype).index_add_(
        0, key, torch.ones_like(key, dtype=dtype))
    return edge_index, subset, count[key].reciprocal()


def spatial_partition(layout: Layout, num_persons: int = 1) -> tuple[Tensor, Tensor]:
    r"""ST-GCN's spatial-configuration partition (Yan et al., AAAI 2018) of a layout's bones
    (:func:`stgcn_partition` of :func:`bone_edge_index` with the layout's hops).

    Returns ``(edge_index [2, E'], subset [E'])``: every bone in both directions plus a self
    loop per node; ``subset`` is ``0`` (root: the self loop), ``1`` (centripetal: the source
    joint is nearer the centre than the target) or ``2`` (centrifugal: farther, or as far).
    Messages flow ``edge_index[0] -> edge_index[1]``.
    """
    num_nodes = layout.num_joints * num_persons
    edge_index, subset, _ = stgcn_partition(bone_edge_index(layout, num_persons),
                                            hop_distance(layout).repeat(num_persons), num_nodes)
    return edge_index, subset
