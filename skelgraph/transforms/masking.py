r"""Masking transforms: which nodes the encoder sees and which edges it must rebuild.

Every transform here is a :class:`torch_geometric.transforms.BaseTransform` with a functional twin
in :mod:`skelgraph.transforms.functional`, and works on a single ``Data`` and on a ``Batch``
(graphs concatenated by PyG): when ``data.batch`` is present, every graph gets its own draw.

Attribute conventions (the one place they are written down):

=====================  ==========================  ===============================================
attribute              type, shape                 meaning
=====================  ==========================  ===============================================
``keep_mask``          bool ``[N]`` or ``[N, T]``  True = the encoder sees the node, False = hidden
                                                   (to be reconstructed). ``[N]``: same choice in
                                                   every frame; ``[N, T]``: a choice per frame
                                                   (``per_frame=True``). PyG's own convention
                                                   (True = kept).
``masked_edge_index``  long ``[2, E_m]``           edges removed from ``edge_index`` (an edge and
                                                   its reverse always together): the targets of
                                                   edge reconstruction. "index" in the name makes
                                                   PyG offset it when batching, like
                                                   ``edge_index``.
``edge_index``         long ``[2, E]``             after :class:`MaskEdges`: the remaining edges.
=====================  ==========================  ===============================================

Masks only describe; ``x`` is left alone (the model swaps hidden rows for its [MASK] token). No
transform edits its input: ``BaseTransform.__call__`` copies ``data`` shallowly and the transforms
assign new tensors.

Reproducibility: each transform takes an optional ``generator``; the draws of successive calls
then follow from its seed. A DataLoader with ``num_workers > 0`` copies the transform, generator
state included, into every worker, so every worker would repeat the same sequence; for training
leave ``generator=None`` (torch seeds each worker differently).

Masks are computed on a ``Batch`` as on a single graph, but PyG's bookkeeping for splitting a
batch back (``to_data_list``) does not know attributes added after batching; mask single graphs
(as a dataset ``transform``) when you need that.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from skelgraph.graph.layouts import Layout, get_layout
from skelgraph.transforms.functional import (body_part_mask, combine_ids, group_mask, mask_edges, node_motion,
                                             random_joint_mask)


def _graph_ids(data: Data) -> torch.Tensor | None:
    """Graph id per node in a batch; ``None`` for a single graph."""
    return data.batch if "batch" in data else None


def _person_units(data: Data) -> torch.Tensor:
    """One id per (graph, person)."""
    batch = _graph_ids(data)
    return data.person if batch is None else combine_ids(batch, data.person)


class GroupMask(BaseTransform):
    r"""Hides every node of randomly chosen groups, groups given by an integer node attribute
    (twin: :func:`~skelgraph.transforms.functional.group_mask`). Works on any PyG graph having
    the attribute; in a batch each graph draws its own groups.

    Reads ``attr`` ``[N]``; writes ``keep_mask`` ``[N]``.

    Args:
        num_groups (int, optional): Groups to hide per graph (clamped to the groups it has).
        ratio (float, optional): Fraction of each graph's groups to hide, ``round(ratio * count)``.
            Give exactly one of the two.
        attr (str): Node attribute holding the group id. (default: ``"part"``)
        generator (torch.Generator, optional): Source of randomness.

    Example:
        >>> data = Data(x=torch.zeros(6, 1), fragment=torch.tensor([0, 0, 1, 1, 2, 2]))
        >>> int((~GroupMask(num_groups=1, attr="fragment")(data).keep_mask).sum())
        2
    """

    def __init__(self, num_groups: int | None = None, ratio: float | None = None, attr: str = "part",
                 generator: torch.Generator | None = None) -> None:
        if (num_groups is None) == (ratio is None):
            raise ValueError("give exactly one of num_groups and ratio")
        self.num_groups, self.ratio, self.attr, self.generator = num_groups, ratio, attr, generator

    def forward(self, data: Data) -> Data:
        if self.attr not in data:
            raise KeyError(f"GroupMask needs the node attribute {self.attr!r}")
        data.keep_mask = group_mask(data[self.attr], self.num_groups, self.ratio, unit=_graph_ids(data),
                                    generator=self.generator)
        return data

    def __repr__(self) -> str:
        amount = f"num_groups={self.num_groups}" if self.num_groups is not None else f"ratio={self.ratio}"
        return f"{type(self).__name__}({amount}, attr={self.attr!r})"


class BodyPartMask(BaseTransform):
    r"""SkeletonMAE's masking: hides every joint of randomly chosen body parts (twin:
    :func:`~skelgraph.transforms.functional.body_part_mask`). Default: 2 of the 6 parts, drawn for
    each person of each graph.

    Reads ``part`` (and ``person`` with ``per_person``) ``[N]``; writes ``keep_mask`` ``[N]``, or
    ``[N, T]`` with ``per_frame`` (``T`` = ``x.size(1)``).

    Args:
        num_parts (int): Parts to hide per draw. (default: ``2``)
        parts (list[int | str], optional): Always hide these parts instead (ids, or names
            resolved with ``layout``); no randomness.
        per_person (bool): Draw per person; otherwise one draw per graph hides the same parts of
            every person. (default: ``True``)
        per_frame (bool): A new draw in every frame (every ``span`` frames). (default: ``False``)
        span (int): With ``per_frame``, frames sharing one draw: each part is then hidden over
            whole spans of ``span`` frames (masking in time as well as space). (default: ``1``)
        layout (Layout | str, optional): Resolves part names in ``parts``.
        generator (torch.Generator, optional): Source of randomness.
        motion_tau (float): ``> 0``: motion-aware masking (MAMP's idea, for body parts): parts
            that move more within a draw's frames are hidden more often, with probability
            proportional to ``exp(relative motion / motion_tau)`` (reads ``x``;
            :func:`~skelgraph.transforms.functional.group_mask`). ``0``: uniform, the paper's.
            (default: ``0``)
    """

    def __init__(self, num_parts: int = 2, parts: Sequence[int | str] | None = None, per_person: bool = True,
                 per_frame: bool = False, span: int = 1, layout: Layout | str | None = None,
                 generator: torch.Generator | None = None, motion_tau: float = 0.0) -> None:
        if span < 1:
            raise ValueError(f"span must be >= 1, got {span}")
        if motion_tau < 0:
            raise ValueError(f"motion_tau must be >= 0, got {motion_tau}")
        self.num_parts, self.per_person, self.per_frame, self.generator = num_parts, per_person, per_frame, generator
        self.span, self.motion_tau = span, motion_tau
        self.parts: tuple[int, ...] | None = None
        if parts is not None:
            if any(isinstance(p, str) for p in parts) and layout is None:
                raise ValueError("part names need a layout: BodyPartMask(parts=[...], layout='ntu25')")
            resolved = get_layout(layout) if layout is not None else None
            self.parts = tuple(resolved.part_id(p) if isinstance(p, str) else int(p) for p in parts)

    def forward(self, data: Data) -> Data:
        unit = _person_units(data) if self.per_person else _graph_ids(data)
        num_frames = data.x.size(1) if self.per_frame else None
        motion = node_motion(data.x) if self.motion_tau > 0 else None
        data.keep_mask = body_part_mask(data.part, self.num_parts, unit=unit, parts=self.parts,
                                        num_frames=num_frames, span=self.span, generator=self.generator,
                                        motion=motion, motion_tau=self.motion_tau)
        return data

    def __repr__(self) -> str:
        choice = f"parts={list(self.parts)}" if self.parts is not None else f"num_parts={self.num_parts}"
        span = f", span={self.span}" if self.span != 1 else ""
        span += f", motion_tau={self.motion_tau}" if self.motion_tau else ""
        return (f"{type(self).__name__}({choice}, per_person={self.per_person}, "
                f"per_frame={self.per_frame}{span})")


class RandomJointMask(BaseTransform):
    r"""The random-masking baseline: hides exactly ``round(mask_ratio * V)`` random joints of every
    person of every graph (twin: :func:`~skelgraph.transforms.functional.random_joint_mask`).

    Reads ``joint``, ``person`` ``[N]``; writes ``keep_mask`` ``[N]`` (``[N, T]`` with
    ``per_frame``).

    Args:
        mask_ratio (float): Fraction of the V joints to hide. (default: ``0.4``)
        per_frame (bool): A new draw in every frame (every ``span`` frames). (default: ``False``)
        span (int): With ``per_frame``, frames sharing one draw. (default: ``1``)
        generator (torch.Generator, optional): Source of randomness.
        motion_tau (float): ``> 0``: motion-aware masking, joints that move more hidden more often
            (as :class:`BodyPartMask`). (default: ``0``)
    """

    def __init__(self, mask_ratio: float = 0.4, per_frame: bool = False, span: int = 1,
                 generator: torch.Generator | None = None, motion_tau: float = 0.0) -> None:
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
        if span < 1:
            raise ValueError(f"span must be >= 1, got {span}")
        if motion_tau < 0:
            raise ValueError(f"motion_tau must be >= 0, got {motion_tau}")
        self.mask_ratio, self.per_frame, self.span, self.generator = mask_ratio, per_frame, span, generator
        self.motion_tau = motion_tau

    def forward(self, data: Data) -> Data:
        num_frames = data.x.size(1) if self.per_frame else None
        motion = node_motion(data.x) if self.motion_tau > 0 else None
        data.keep_mask = random_joint_mask(data.joint, self.mask_ratio, unit=_person_units(data),
                                           num_frames=num_frames, span=self.span, generator=self.generator,
                                           motion=motion, motion_tau=self.motion_tau)
        return data

    def __repr__(self) -> str:
        span = f", span={self.span}" if self.span != 1 else ""
        span += f", motion_tau={self.motion_tau}" if self.motion_tau else ""
        return f"{type(self).__name__}(mask_ratio={self.mask_ratio}, per_frame={self.per_frame}{span})"


class MaskEdges(BaseTransform):
    r"""Removes edges from ``edge_index`` and stores them as ``masked_edge_index``, the targets of
    edge reconstruction (twin: :func:`~skelgraph.transforms.functional.mask_edges`). An edge and
    its reverse are removed together. Other edge attributes (``edge_attr``, ``edge_type``...) are
    filtered alike; an existing ``masked_edge_index`` is replaced.

    Args:
        ratio (float | str): Fraction of each graph's undirected edges to remove, or
            ``"incident"``: exactly the edges touching a hidden node of ``keep_mask`` (run a node
            mask first; with a ``[N, T]`` mask a node hidden in any frame counts as hidden).
        generator (torch.Generator, optional): Source of randomness (float ``ratio``).
    """

    def __init__(self, ratio: float | str = "incident", generator: torch.Generator | None = None) -> None:
        if isinstance(ratio, str) and ratio != "incident":
            raise ValueError(f"ratio must be a float or 'incident', got {ratio!r}")
        if not isinstance(ratio, str) and not 0.0 <= ratio <= 1.0:
            raise ValueError(f"ratio must be in [0, 1], got {ratio}")
        self.ratio, self.generator = ratio, generator

    def forward(self, data: Data) -> Data:
        edge_index = data.edge_index
        edge_keys = [key for key in data.keys() if key not in ("edge_index", "masked_edge_index")
                     and not key.startswith("masked_") and data.is_edge_attr(key)]
        keep = mask_edges(edge_index, self.ratio, keep_mask=data.get("keep_mask"), batch=_graph_ids(data),
                          generator=self.generator)
        kept = keep.nonzero().view(-1)
        for key in edge_keys:
            value = data[key]
            data[key] = value.index_select(data.__cat_dim__(key, value), kept)
        data.masked_edge_index = edge_index[:, ~keep]
        data.edge_index = edge_index[:, kept]
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ratio={self.ratio!r})"
