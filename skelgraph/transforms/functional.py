r"""Plain tensor functions behind the transforms (the functional twins).

Each transform class in :mod:`skelgraph.transforms` has a twin here with the same name in
snake_case. The functions take tensors and plain arguments, never a ``Data``, and return new
tensors (they never write into their inputs). Every random function takes an optional
``torch.Generator`` so a draw can be reproduced.

Shape symbols: N nodes (a node is one person's joint), T frames, C channels, V joints,
M persons, E edges.
"""
from __future__ import annotations

import torch
from torch import Tensor


def uniform_sample_indices(num_frames: int, clip_len: int, train: bool,
                           generator: torch.Generator | None = None) -> Tensor:
    r"""Frame indices of one clip, long ``[clip_len]``, as PYSKL's ``UniformSampleFrames``
    (one clip).

    The sequence is split into ``clip_len`` segments ``[i*n//L, (i+1)*n//L)``. Training takes a
    random frame of each segment; testing takes the middle one (PYSKL tests with random draws
    under a fixed seed; the middle is deterministic without a seed). When
    ``clip_len <= num_frames < 2 * clip_len`` training follows PYSKL exactly: a random
    ``num_frames - clip_len`` of the ``clip_len`` steps skip one frame. When
    ``num_frames < clip_len`` the sequence is looped in order, ``(start + arange(L)) % n``,
    with a random ``start`` for training and ``start = 0`` for testing.

    Example:
        >>> uniform_sample_indices(10, 5, train=False).tolist()
        [1, 3, 5, 7, 9]
        >>> uniform_sample_indices(3, 5, train=False).tolist()
        [0, 1, 2, 0, 1]
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    if clip_len < 1:
        raise ValueError(f"clip_len must be positive, got {clip_len}")
    if num_frames < clip_len:
        start = int(torch.randint(num_frames, (1,), generator=generator)) if train else 0
        return (start + torch.arange(clip_len)) % num_frames
    if train and num_frames < 2 * clip_len:
        skip = torch.zeros(clip_len + 1, dtype=torch.long)
        skip[torch.randperm(clip_len + 1, generator=generator)[:num_frames - clip_len]] = 1
        return torch.arange(clip_len) + skip.cumsum(0)[:-1]
    bounds = torch.arange(clip_len + 1) * num_frames // clip_len  # segment starts, and the end
    start, size = bounds[:-1], bounds.diff()
    if train:
        return start + (torch.rand(clip_len, generator=generator) * size).long().clamp_max(size - 1)
    return start + size // 2


def take_frames(value: Tensor, index: Tensor) -> Tensor:
    r"""Selects frames along dim 1 of ``value`` ``[N, T, ...]``: ``index`` long ``[T']`` (same
    frames for every node) or ``[N, T']`` (one row per node, e.g. per graph of a batch)."""
    if index.dim() == 1:
        return value.index_select(1, index)
    index = index.view(*index.shape, *([1] * (value.dim() - 2))).expand(*index.shape, *value.shape[2:])
    return value.gather(1, index)


def interpolate_frames(value: Tensor, position: Tensor) -> Tensor:
    r"""Reads ``value`` ``[N, T, ...]`` at fractional frame positions (float ``[T']`` or
    ``[N, T']``), linearly between neighbouring frames; bool and integer values take the nearest
    frame. Positions are clamped to ``[0, T - 1]``."""
    position = position.clamp(0, value.size(1) - 1)
    if not value.is_floating_point():
        return take_frames(value, position.round().long())
    low = position.floor().long()
    high = (low + 1).clamp_max(value.size(1) - 1)
    weight = (position - low).to(value.dtype)
    weight = weight.view(*weight.shape, *([1] * (value.dim() - 2)))
    return take_frames(value, low) * (1 - weight) + take_frames(value, high) * weight


def uniform_sample(x: Tensor, clip_len: int, train: bool, generator: torch.Generator | None = None) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.UniformSample` for one sample: ``x`` ``[N, T, ...]``
    to ``[N, clip_len, ...]`` with :func:`uniform_sample_indices`."""
    return take_frames(x, uniform_sample_indices(x.size(1), clip_len, train, generator))


def temporal_crop_positions(num_frames: int, size: int, ratio: tuple[float, float], num_graphs: int = 1,
                            generator: torch.Generator | None = None) -> Tensor:
    r"""Frame positions, float ``[num_graphs, size]``, that read a random crop of
    ``round(r * num_frames)`` frames (``r`` uniform in ``ratio``, random start, one draw per graph)
    stretched to ``size`` frames; linear interpolation at these positions is
    ``F.interpolate(mode="linear", align_corners=False)`` of the crop."""
    low, high = ratio
    if not 0.0 < low <= high <= 1.0:
        raise ValueError(f"crop ratio must satisfy 0 < low <= high <= 1, got {ratio}")
    r = low + (high - low) * torch.rand(num_graphs, 1, generator=generator, dtype=torch.float64)
    length = (r * num_frames).round().clamp(1, num_frames)  # [B, 1]
    start = (torch.rand(num_graphs, 1, generator=generator, dtype=torch.float64) * (num_frames - length + 1)).floor()
    step = (torch.arange(size, dtype=torch.float64) + 0.5) * length / size - 0.5
    return (start + step.clamp_min(0).minimum(length - 1)).float()


def random_temporal_crop(x: Tensor, ratio: tuple[float, float] = (0.5, 1.0), size: int | None = None,
                         generator: torch.Generator | None = None) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.RandomTemporalCrop` for one sample: crops
    ``x`` ``[N, T, ...]`` in time and resizes it to ``size`` (default ``T``) frames."""
    position = temporal_crop_positions(x.size(1), size or x.size(1), ratio, 1, generator)[0]
    return interpolate_frames(x, position)


# --- masking -------------------------------------------------------------------------------------

def combine_ids(first: Tensor, second: Tensor) -> Tensor:
    r"""One id per distinct ``(first, second)`` pair of non-negative integer ids (e.g. graph and
    person), long, same shape."""
    return first * (int(second.max()) + 1 if second.numel() else 1) + second


def node_motion(x: Tensor) -> Tensor:
    r"""How far each node moves at each frame, ``[N, T]`` from ``x`` ``[N, T, C]``: the length of
    its displacement to the next frame (the last frame repeats the one before; a single frame
    has none). A step into or out of an all-zero (absent) frame counts as no motion, so padded
    frames do not read as the largest movements.

    Example:
        >>> node_motion(torch.tensor([[[1.0, 1.0], [4.0, 5.0], [4.0, 5.0]]])).tolist()
        [[5.0, 0.0, 0.0]]
        >>> node_motion(torch.tensor([[[0.0, 0.0], [4.0, 5.0], [4.0, 5.0]]])).tolist()  # frame 0 absent
        [[0.0, 0.0, 0.0]]
    """
    if x.size(1) < 2:
        return x.new_zeros(x.shape[:2])
    present = (x != 0).any(dim=-1)  # [N, T]
    step = (x[:, 1:] - x[:, :-1]).norm(dim=-1) * (present[:, 1:] & present[:, :-1])  # [N, T - 1]
    return torch.cat([step, step[:, -1:]], dim=1)


def group_mask(group: Tensor, num_groups: int | None = None, ratio: float | None = None,
               unit: Tensor | None = None, num_frames: int | None = None, span: int = 1,
               generator: torch.Generator | None = None, motion: Tensor | None = None,
               motion_tau: float = 0.0) -> Tensor:
    r"""Hides whole groups of nodes. Returns bool ``keep_mask`` ``[N]`` (or ``[N, num_frames]`` with a
    new draw every ``span`` frames): True = kept, False = hidden.

    Args:
        group (Tensor): Group id of every node, integer ``[N]`` (any values).
        num_groups (int, optional): Groups to hide in every unit (clamped to the groups it has).
        ratio (float, optional): Fraction of each unit's groups to hide, ``round(ratio * count)``.
            Give exactly one of ``num_groups`` and ``ratio``.
        unit (Tensor, optional): Integer ``[N]``: the scope of one draw (the graph of each node in a
            batch, or graph and person). Groups are ``(unit, group)`` pairs, so equal group ids in
            two units are two groups, drawn independently. (default: one unit)
        num_frames (int, optional): Draw independently for each of ``num_frames`` frames, or
            for each run of ``span`` frames.
        span (int): Frames sharing one draw (with ``num_frames``): every group is hidden over
            whole spans of frames. (default: ``1``)
        generator (torch.Generator, optional): Source of randomness.
        motion (Tensor, optional): ``[N, T]`` (:func:`node_motion`), with ``motion_tau > 0``:
            motion-aware masking (as MAMP's, arXiv:2308.09836). Each group's motion is its nodes'
            mean over the frames of a draw, divided by the mean over its unit's groups (so the
            scale of the data does not matter), and groups are hidden in turn, without
            replacement, with probability proportional to ``exp(relative motion / motion_tau)``:
            moving body parts are hidden more often, so rebuilding them needs the motion around
            them. ``T`` must be ``num_frames`` (or, with ``num_frames=None``, any: one draw over all).
        motion_tau (float): The temperature; ``0`` = uniform draws (the same draws as without
            ``motion``). (default: ``0``)

    Example:
        >>> part = torch.tensor([0, 0, 1, 1, 2, 2])
        >>> keep = group_mask(part, num_groups=1, generator=torch.Generator().manual_seed(0))
        >>> int((~keep).sum()), bool((keep.view(3, 2)[:, 0] == keep.view(3, 2)[:, 1]).all())
        (2, True)
    """
    if (num_groups is None) == (ratio is None):
        raise ValueError("give exactly one of num_groups and ratio")
    if num_groups is not None and num_groups < 0:
        raise ValueError(f"num_groups must be >= 0, got {num_groups}")
    if ratio is not None and not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be in [0, 1], got {ratio}")
    if span < 1:
        raise ValueError(f"span must be >= 1, got {span}")
    draws = 1 if num_frames is None else -(-num_frames // span)
    if group.numel() == 0:
        keep = torch.ones(0, draws, dtype=torch.bool, device=group.device)
        return keep[:, 0] if num_frames is None else keep
    group = group - group.min()
    group_range = int(group.max()) + 1  # its own name: ``span`` is the frames per draw, used below
    if unit is None:
        key = group
    else:
        unit = torch.unique(unit, return_inverse=True)[1]  # 0..U-1
        key = unit * group_range + group
    uniq, inverse = torch.unique(key, return_inverse=True)  # sorted: groups ordered by unit
    group_unit = uniq // group_range  # [G], ascending
    count = torch.bincount(group_unit)  # groups per unit
    first = count.cumsum(0) - count
    if num_groups is not None:
        hide = count.clamp_max(num_groups)
    else:
        hide = (count.double() * ratio).round().long()
    num = uniq.numel()
    score = torch.rand(num, draws, generator=generator, dtype=torch.float64).to(group.device)
    if motion is not None and motion_tau > 0:
        score = _motion_scores(score, motion, inverse, group_unit, num, draws, span, motion_tau)
    order = (score + group_unit.unsqueeze(1)).argsort(dim=0)  # by unit, random within a unit
    rank_sorted = (torch.arange(num, device=group.device) - first[group_unit]).unsqueeze(1).expand(num, draws)
    rank = torch.empty_like(order).scatter_(0, order, rank_sorted)
    keep = (rank >= hide[group_unit].unsqueeze(1))[inverse]  # [N, draws]
    if num_frames is None:
        return keep[:, 0]
    return keep if span == 1 else keep.repeat_interleave(span, dim=1)[:, :num_frames]


def _motion_scores(uniform: Tensor, motion: Tensor, inverse: Tensor, group_unit: Tensor, num: int, draws: int,
                   span: int, tau: float) -> Tensor:
    r"""Scores ``[G, draws]`` whose ascending order is a draw without replacement with
    probability proportional to ``w = exp(relative motion / tau)`` (Efraimidis-Spirakis: the
    ``k`` smallest ``Exp(1) / w`` are such a draw), from the uniform ``[G, draws]`` scores."""
    motion = motion.to(torch.float64).view(motion.size(0), -1)
    frames = motion.size(1)
    if draws > 1 or frames == draws:  # one column per draw: the mean over its span of frames
        pad = draws * span - frames
        if pad > 0:
            motion = torch.cat([motion, motion[:, -1:].expand(-1, pad)], dim=1)
        per_draw = motion[:, :draws * span].view(motion.size(0), draws, -1).mean(dim=2)  # [N, draws]
    else:
        per_draw = motion.mean(dim=1, keepdim=True)
    per_draw = per_draw.to(uniform.device)
    sums = torch.zeros(num, draws, dtype=torch.float64, device=uniform.device).index_add_(0, inverse, per_draw)
    sizes = torch.bincount(inverse, minlength=num).clamp_min(1).to(torch.float64).unsqueeze(1)
    group_motion = sums / sizes  # [G, draws]
    units = int(group_unit.max()) + 1
    unit_sum = torch.zeros(units, draws, dtype=torch.float64, device=uniform.device).index_add_(
        0, group_unit, group_motion)
    unit_mean = unit_sum / torch.bincount(group_unit, minlength=units).clamp_min(1).unsqueeze(1)
    relative = group_motion / unit_mean[group_unit].clamp_min(1e-12)
    return -torch.log1p(-uniform) * torch.exp(-relative / tau)  # Exp(1) / w


def body_part_mask(part: Tensor, num_parts: int = 2, unit: Tensor | None = None,
                   parts: Tensor | list[int] | None = None, num_frames: int | None = None, span: int = 1,
                   generator: torch.Generator | None = None, motion: Tensor | None = None,
                   motion_tau: float = 0.0) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.BodyPartMask`: hides ``num_parts`` random body parts
    in every unit (pass ``unit`` = graph and person ids for the paper's per-person choice), or
    the fixed part ids ``parts``. Returns ``keep_mask`` ``[N]`` (``[N, num_frames]`` with a draw
    every ``span`` frames). ``motion``, ``motion_tau``: motion-aware draws (:func:`group_mask`)."""
    if parts is not None:
        keep = ~torch.isin(part, torch.as_tensor(parts, dtype=part.dtype, device=part.device))
        return keep if num_frames is None else keep.unsqueeze(1).expand(-1, num_frames).clone()
    return group_mask(part, num_groups=num_parts, unit=unit, num_frames=num_frames, span=span, generator=generator,
                      motion=motion, motion_tau=motion_tau)


def random_joint_mask(joint: Tensor, mask_ratio: float = 0.4, unit: Tensor | None = None,
                      num_frames: int | None = None, span: int = 1,
                      generator: torch.Generator | None = None, motion: Tensor | None = None,
                      motion_tau: float = 0.0) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.RandomJointMask`: in every unit (one person of one
    graph; pass ``unit``) exactly ``round(mask_ratio * V)`` joints are False (hidden).
    ``motion``, ``motion_tau``: motion-aware draws (:func:`group_mask`).

    Example:
        >>> keep = random_joint_mask(torch.arange(25), 0.4, generator=torch.Generator().manual_seed(0))
        >>> keep.dtype, int((~keep).sum())
        (torch.bool, 10)
    """
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
    return group_mask(joint, ratio=mask_ratio, unit=unit, num_frames=num_frames, span=span, generator=generator,
                      motion=motion, motion_tau=motion_tau)


def undirected_pair(edge_index: Tensor, num_nodes: int | None = None) -> Tensor:
    r"""Id of the undirected pair ``{i, j}`` of every edge, long ``[E]``: an edge and its reverse
    share an id."""
    num_nodes = int(edge_index.max()) + 1 if num_nodes is None and edge_index.numel() else (num_nodes or 1)
    low, high = edge_index.min(dim=0).values, edge_index.max(dim=0).values
    return torch.unique(low * num_nodes + high, return_inverse=True)[1]


def mask_edges(edge_index: Tensor, ratio: float | str, keep_mask: Tensor | None = None,
               batch: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.MaskEdges`. Returns bool ``[E]``: True = the edge
    stays in ``edge_index``, False = masked (moved to ``masked_edge_index``). An edge and its
    reverse are always decided together.

    Args:
        ratio: A fraction of each graph's undirected edges to mask (``round(ratio * pairs)``), or
            ``"incident"``: mask exactly the edges touching a hidden node of ``keep_mask``
            (``[N]``, or ``[N, T]``: a node hidden in any frame counts as hidden).
        batch: Graph id per node, to draw per graph in a batch.

    Example:
        >>> edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        >>> mask_edges(edge_index, "incident", keep_mask=torch.tensor([True, True, False])).tolist()
        [True, True, False, False]
    """
    if isinstance(ratio, str):
        if ratio != "incident":
            raise ValueError(f"ratio must be a float or 'incident', got {ratio!r}")
        if keep_mask is None:
            raise ValueError("MaskEdges('incident') needs keep_mask: apply a node mask first")
        hidden = ~keep_mask if keep_mask.dim() == 1 else ~keep_mask.all(dim=1)
        return ~(hidden[edge_index[0]] | hidden[edge_index[1]])
    pair = undirected_pair(edge_index)
    unit = None if batch is None else batch[edge_index[0]]
    return group_mask(pair, ratio=ratio, unit=unit, generator=generator)


# --- augmentation --------------------------------------------------------------------------------

def rotation_matrix(angles: Tensor) -> Tensor:
    r"""Rotation matrices ``[B, 3, 3]`` from angles in radians ``[B, 3]`` about x, y, z:
    ``R = Rz @ Ry @ Rx``."""
    cos, sin = angles.cos(), angles.sin()
    one, zero = torch.ones_like(cos[:, 0]), torch.zeros_like(cos[:, 0])

    def mat(*rows: Tensor) -> Tensor:
        return torch.stack(rows, dim=1).view(-1, 3, 3)

    rx = mat(one, zero, zero, zero, cos[:, 0], -sin[:, 0], zero, sin[:, 0], cos[:, 0])
    ry = mat(cos[:, 1], zero, sin[:, 1], zero, one, zero, -sin[:, 1], zero, cos[:, 1])
    rz = mat(cos[:, 2], -sin[:, 2], zero, sin[:, 2], cos[:, 2], zero, zero, zero, one)
    return rz @ ry @ rx


def apply_matrix(x: Tensor, matrix: Tensor, batch: Tensor | None = None) -> Tensor:
    r"""``x`` ``[N, T, C]`` times ``matrix^T``: ``matrix`` ``[C, C]``, or ``[B, C, C]`` with one
    matrix per graph (``batch`` gives the graph of each node; without it ``matrix[0]``)."""
    if matrix.dim() == 2:
        return x @ matrix.t()
    if batch is None:
        return x @ matrix[0].t()
    return torch.bmm(x, matrix[batch].transpose(1, 2))


def _per_axis(value: float | tuple[float, ...], num: int, what: str) -> Tensor:
    values = (float(value),) * num if isinstance(value, (int, float)) else tuple(float(v) for v in value)
    if len(values) != num:
        raise ValueError(f"{what} needs 1 or {num} values, got {value!r}")
    return torch.tensor(values, dtype=torch.float64)


def random_rotation(num_channels: int, degrees: float | tuple[float, float, float], num_graphs: int = 1,
                    generator: torch.Generator | None = None) -> Tensor:
    r"""Random rotations ``[num_graphs, C, C]``: angles uniform in ``[-d, d]`` degrees about x, y, z
    (``C = 3``); for ``C = 2`` a rotation in the image plane by the z angle."""
    if num_channels not in (2, 3):
        raise ValueError(f"rotation needs 2 or 3 channels, got {num_channels}")
    bound = _per_axis(degrees, 3, "degrees").deg2rad()
    angles = (2 * torch.rand(num_graphs, 3, generator=generator, dtype=torch.float64) - 1) * bound
    if num_channels == 2:  # only the in-plane angle: the top-left block of Rz alone is a rotation
        angles = angles * torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    matrix = rotation_matrix(angles).float()
    return matrix if num_channels == 3 else matrix[:, :2, :2]


def random_rotate(x: Tensor, degrees: float | tuple[float, float, float] = 15.0, batch: Tensor | None = None,
                  generator: torch.Generator | None = None) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.RandomRotate`: rotates ``x`` ``[N, T, C]`` about the
    origin, one rotation per graph."""
    num_graphs = 1 if batch is None else int(batch.max()) + 1
    return apply_matrix(x, random_rotation(x.size(-1), degrees, num_graphs, generator).to(x), batch)


def random_scale(x: Tensor, scales: tuple[float, float] = (0.9, 1.1), per_axis: bool = True,
                 batch: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.RandomScale`: multiplies each channel (or all, with
    ``per_axis=False``) by a factor uniform in ``scales``, one draw per graph."""
    num_graphs, c = (1 if batch is None else int(batch.max()) + 1), x.size(-1)
    low, high = scales
    factor = low + (high - low) * torch.rand(num_graphs, c if per_axis else 1, generator=generator)
    factor = factor.expand(num_graphs, c).to(x)
    return x * (factor[0] if batch is None else factor[batch].unsqueeze(1))


def random_shear(x: Tensor, shear: float = 0.3, batch: Tensor | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.RandomShear`: ``x @ S^T`` with ``S`` unit diagonal
    and off-diagonal entries uniform in ``[-shear, shear]``, one draw per graph."""
    num_graphs, c = (1 if batch is None else int(batch.max()) + 1), x.size(-1)
    matrix = (2 * torch.rand(num_graphs, c, c, generator=generator) - 1) * shear
    matrix = matrix * (1 - torch.eye(c)) + torch.eye(c)
    return apply_matrix(x, matrix.to(x), batch)


def layout_parents(layout) -> Tensor:
    r"""Parent joint of every joint, long ``[V]``, from a layout's ``(child, parent)`` bones; a joint
    that is no bone's child (the root) is its own parent.

    Example:
        >>> from skelgraph.graph.layouts import NTU25
        >>> layout_parents(NTU25)[[0, 20, 21]].tolist()  # spine_base -> spine_mid; root; hand_tip -> thumb
        [1, 20, 22]
    """
    parents = torch.arange(layout.num_joints)
    seen: set[int] = set()
    for child, parent in layout.bones:
        if child in seen:
            raise ValueError(f"layout {layout.name!r}: joint {child} is the child of two bones; "
                             "pass parents explicitly")
        seen.add(child)
        parents[child] = parent
    return parents


def parent_nodes(joint: Tensor, parents: Tensor) -> Tensor:
    r"""Parent node of every node, long ``[N]``, from each node's ``joint`` id and a parent joint per
    joint id (``[V]``). Nodes must be numbered person-major (``offset + person * V + joint``), as
    :func:`~skelgraph.data.sample.skeleton_to_data` does, also inside a batch."""
    parents = parents.to(joint.device)
    return torch.arange(joint.numel(), device=joint.device) - joint + parents[joint]


def parent_nodes_from_hops(edge_index: Tensor, hop: Tensor) -> Tensor:
    r"""Parent node of every node, long ``[N]``, from the graph: the neighbour one bone nearer the
    centre joint (``hop`` = bones from the centre). The centre, and nodes with no such neighbour,
    are their own parents. On graphs with cycles one of several candidates is taken."""
    parent = torch.arange(hop.numel(), device=hop.device)
    src, dst = edge_index
    toward_centre = hop[src] == hop[dst] - 1
    return parent.scatter(0, dst[toward_centre], src[toward_centre])


def joint_to_bone(x: Tensor, parent: Tensor) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.JointToBone`: ``x[i] - x[parent[i]]`` for ``x``
    ``[N, T, C]`` (root: zeros)."""
    return x - x[parent]


def joint_to_motion(x: Tensor) -> Tensor:
    r"""Twin of :class:`~skelgraph.transforms.JointToMotion`: ``x[:, t + 1] - x[:, t]``, zeros in the
    last frame, for ``x`` ``[N, T, ...]``."""
    motion = torch.zeros_like(x)
    motion[:, :-1] = x[:, 1:] - x[:, :-1]
    return motion


def unroll_edges(edge_index: Tensor, num_nodes: int, num_frames: int) -> tuple[Tensor, Tensor]:
    r"""Twin of :class:`~skelgraph.transforms.Unroll`: edges of the unrolled graph, where node
    ``t * num_nodes + n`` is node ``n`` in frame ``t``. Returns ``(edge_index [2, T*E + 2*N*(T-1)],
    edge_type [.])``: ``edge_index`` copied into every frame (type 0), then edges between a node
    and itself in the next frame, both directions (type 1)."""
    frame_offset = torch.arange(num_frames, device=edge_index.device).view(1, -1, 1) * num_nodes
    spatial = (edge_index.unsqueeze(1) + frame_offset).reshape(2, -1)
    forward = torch.arange(num_nodes * (num_frames - 1), device=edge_index.device)
    temporal = torch.stack([torch.cat([forward, forward + num_nodes]), torch.cat([forward + num_nodes, forward])])
    edge_type = torch.cat([torch.zeros(spatial.size(1), dtype=torch.long, device=edge_index.device),
                           torch.ones(temporal.size(1), dtype=torch.long, device=edge_index.device)])
    return torch.cat([spatial, temporal], dim=1), edge_type
