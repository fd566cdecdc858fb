r"""Input features computed from joint coordinates inside the model: position, motion, the
body's trajectory and bones.

SkeletonMAE's encoder is frame-wise (weights shared over frames, no mixing between frames), so
with positions alone it can only learn static pose. Frame-to-frame displacements ("motion", the
second stream of two-stream skeleton models) give every frame how each joint moves, and the
centre joint's track relative to the first frame ("trajectory") gives what per-frame centring
removes (walking, sitting down). Bones (a joint minus its parent joint, the second stream of
2s-AGCN-style models) give limb directions and lengths directly. Computing them in the model
rather than in the data keeps pre-training and fine-tuning consistent by construction: a
checkpoint stores its ``features`` and every model built from it computes the same ones.

Shapes: N nodes (a node is one person's joint), T frames, C coordinate channels. A person is
absent in a frame when all its joints are exactly zero there (the data model's convention for
padding); its features are zero in that frame.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

FEATURES = ("position", "motion", "trajectory", "bone")


def check_features(features: Sequence[str], what: str = "features") -> tuple[str, ...]:
    r"""``features`` as a tuple, checked: known names, no repeats, at least one.

    Example:
        >>> check_features(["position", "motion"])
        ('position', 'motion')
    """
    features = tuple(features)
    unknown = [f for f in features if f not in FEATURES]
    if unknown or not features or len(set(features)) != len(features):
        raise ValueError(f"{what} must be distinct names from {', '.join(FEATURES)}; got {list(features)}")
    return features


def center_nodes(joint: Tensor, hop: Tensor) -> Tensor:
    r"""Node of each node's centre joint, long ``[N]`` (the node of the same person with
    ``hop == 0``). Nodes are numbered person-major (``offset + person * V + joint``), as
    :func:`~skelgraph.data.sample.skeleton_to_data` numbers them, also inside a batch.

    Example:
        >>> center_nodes(torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([1, 0, 1, 1, 0, 1])).tolist()
        [1, 1, 1, 4, 4, 4]
    """
    roots = joint[hop == 0]
    if roots.numel() == 0:
        raise ValueError("no centre joint (hop == 0) in the graph")
    return torch.arange(joint.numel(), device=joint.device) - joint + roots[0]


def frame_present(x: Tensor, center: Tensor) -> Tensor:
    r"""bool ``[N, T]``: the node's person has a non-zero joint in that frame (absent persons and
    padded frames are all zero)."""
    nonzero = (x != 0).any(dim=-1).to(x.dtype)  # [N, T]
    per_person = torch.zeros_like(nonzero).index_add_(0, center, nonzero)  # summed at the centre node
    return per_person[center] > 0


def skeleton_features(x: Tensor, features: Sequence[str], center: Tensor | None = None,
                      parent: Tensor | None = None) -> Tensor:
    r"""Concatenates the asked-for features along the channel axis: ``[N, T, C]`` ->
    ``[N, T, C * len(features)]``.

    - ``position``: ``x`` minus the centre joint's position in the same frame (per-frame
      centring; a no-op on data centred that way by ``skelgraph preprocess``);
    - ``motion``: frame-to-frame displacement of that position, ``p[t + 1] - p[t]`` (zero in the
      last frame and next to frames where the person is absent);
    - ``trajectory``: the centre joint's displacement from its position in the first frame,
      the same for every joint of a person. It is zero for data already centred per frame: it
      needs files preprocessed with ``--no-center``;
    - ``bone``: the position minus the parent joint's position in the same frame (zero at the
      centre joint, which is its own parent, and where the person is absent).

    Args:
        x: Coordinates ``[N, T, C]``.
        features: Names from :data:`FEATURES`, in the order they are concatenated.
        center: Centre node of every node ``[N]`` (:func:`center_nodes`); ``None`` = ``x`` is
            already centred per frame (``position`` is ``x``) and ``trajectory`` is not allowed.
        parent: Parent node of every node ``[N]`` (the centre is its own parent;
            :func:`~skelgraph.transforms.functional.parent_nodes_from_hops`); needed by ``bone``.

    Example:
        >>> x = torch.tensor([[[1.0], [2.0], [4.0]], [[0.0], [1.0], [1.0]]])  # joint 1 is the centre
        >>> skeleton_features(x, ["position", "motion", "trajectory"], torch.tensor([1, 1]))[0].tolist()
        [[1.0, 0.0, 0.0], [1.0, 2.0, 1.0], [3.0, 0.0, 1.0]]
    """
    features = check_features(features)
    if "bone" in features and parent is None:
        raise ValueError("the bone feature needs the parent joints (pass parent)")
    if features == ("position",) and center is None:
        return x
    present = frame_present(x, center) if center is not None else (x != 0).any(dim=-1)
    keep = present.unsqueeze(-1).to(x.dtype)
    origin = x[center] if center is not None else torch.zeros_like(x)
    position = (x - origin) * keep
    out = []
    for name in features:
        if name == "position":
            out.append(position)
        elif name == "motion":
            motion = torch.zeros_like(position)
            both = (present[:, 1:] & present[:, :-1]).unsqueeze(-1).to(x.dtype)
            motion[:, :-1] = (position[:, 1:] - position[:, :-1]) * both
            out.append(motion)
        elif name == "bone":
            # positions are already zero where the person is absent, so the difference is too
            out.append(position - position[parent])
        else:  # trajectory
            if center is None:
                raise ValueError("the trajectory feature needs the centre joint (pass center)")
            first = present.to(torch.long).argmax(dim=1)  # first frame the person is present
            start = origin.gather(1, first.view(-1, 1, 1).expand(-1, 1, origin.size(-1)))
            out.append((origin - start) * keep)
    return torch.cat(out, dim=-1)


def hide_bones_of_hidden_parents(inputs: Tensor, features: Sequence[str], keep_mask: Tensor,
                                 parent: Tensor) -> Tensor:
    r"""``inputs`` ``[N, T, C * len(features)]`` with the ``bone`` channels zeroed where the
    node's parent is hidden: a visible joint's bone ``x_i - x_p`` would give a hidden parent's
    position away (``x_p = x_i - bone_i``), and masked pre-training would learn to subtract
    instead of to infer. A no-op without ``bone`` in ``features``.

    Args:
        inputs: Output of :func:`skeleton_features` for ``features``.
        keep_mask: bool ``[N]`` or ``[N, T]``, True = seen by the encoder.
        parent: Parent node of every node ``[N]``.

    Example:
        >>> inputs = torch.ones(3, 1, 2)  # position and bone, one channel each
        >>> keep = torch.tensor([True, False, True])  # node 1 hidden; parents: 0 <- 1 <- 2
        >>> hide_bones_of_hidden_parents(inputs, ["position", "bone"], keep, torch.tensor([0, 0, 1]))[:, 0].tolist()
        [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
    """
    features = tuple(features)
    if "bone" not in features:
        return inputs
    channels = inputs.size(-1) // len(features)
    start = features.index("bone") * channels
    is_bone = torch.zeros(inputs.size(-1), dtype=torch.bool, device=inputs.device)
    is_bone[start:start + channels] = True
    parent_hidden = ~keep_mask.view(keep_mask.size(0), -1)[parent].unsqueeze(-1)  # [N, T or 1, 1]
    return inputs.masked_fill(parent_hidden & is_bone, 0.0)
