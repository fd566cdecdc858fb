r"""Spatial augmentations and input modalities over the ``[N, T, C]`` form.

The random ones draw one transformation per graph (per graph of a ``Batch`` when ``data.batch``
is present) and apply it to ``x`` about the origin (centre the skeleton first); all-zero rows
(absent persons) stay zero.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform, Compose

from skelgraph.graph.layouts import Layout
from skelgraph.transforms.functional import (joint_to_bone, joint_to_motion, layout_parents, parent_nodes,
                                             parent_nodes_from_hops, random_rotate, random_scale, random_shear)


def _batch(data: Data) -> Tensor | None:
    return data.batch if "batch" in data else None


class RandomRotate(BaseTransform):
    r"""Rotates the skeleton by random angles, uniform in ``[-d, d]`` degrees about x, y and z
    (twin: :func:`~skelgraph.transforms.functional.random_rotate`). 2D input (``C = 2``) turns in the
    image plane by the z angle. Bone lengths are preserved.

    Args:
        degrees (float | tuple[float, float, float]): Bound per axis (one value for all). (default: ``15``)
        generator (torch.Generator, optional): Source of randomness.
    """

    def __init__(self, degrees: float | tuple[float, float, float] = 15.0,
                 generator: torch.Generator | None = None) -> None:
        self.degrees, self.generator = degrees, generator

    def forward(self, data: Data) -> Data:
        data.x = random_rotate(data.x, self.degrees, _batch(data), self.generator)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(degrees={self.degrees})"


class RandomScale(BaseTransform):
    r"""Multiplies coordinates by factors uniform in ``scales``, one per channel (or one for all with
    ``per_axis=False``) (twin: :func:`~skelgraph.transforms.functional.random_scale`).

    Args:
        scales (tuple[float, float]): Range of the factor. (default: ``(0.9, 1.1)``)
        per_axis (bool): A factor per channel. (default: ``True``)
        generator (torch.Generator, optional): Source of randomness.
    """

    def __init__(self, scales: tuple[float, float] = (0.9, 1.1), per_axis: bool = True,
                 generator: torch.Generator | None = None) -> None:
        self.scales, self.per_axis, self.generator = tuple(scales), per_axis, generator

    def forward(self, data: Data) -> Data:
        data.x = random_scale(data.x, self.scales, self.per_axis, _batch(data), self.generator)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scales={self.scales}, per_axis={self.per_axis})"


class RandomShear(BaseTransform):
    r"""Shears coordinates: ``x @ S^T``, ``S`` with unit diagonal and off-diagonal entries uniform in
    ``[-shear, shear]`` (twin: :func:`~skelgraph.transforms.functional.random_shear`; the
    2s-AGCN / CTR-GCN augmentation).

    Args:
        shear (float): Bound of the off-diagonal entries. (default: ``0.3``)
        generator (torch.Generator, optional): Source of randomness.
    """

    def __init__(self, shear: float = 0.3, generator: torch.Generator | None = None) -> None:
        self.shear, self.generator = shear, generator

    def forward(self, data: Data) -> Data:
        data.x = random_shear(data.x, self.shear, _batch(data), self.generator)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shear={self.shear})"


def spatial_augment(rotate: float = 0.0, scale: float = 0.0, shear: float = 0.0,
                    generator: torch.Generator | None = None) -> BaseTransform | None:
    r"""The training augmentation of the fine-tuning and pre-training commands:
    :class:`RandomRotate` (``rotate`` degrees), :class:`RandomScale` (factors in
    ``[1 - scale, 1 + scale]``), :class:`RandomShear` (``shear``), in that order, all drawing
    from ``generator``; steps with a zero bound are left out, and ``None`` when all are.

    Example:
        >>> spatial_augment(10.0, 0.0, 0.1)
        Compose([
          RandomRotate(degrees=10.0),
          RandomShear(shear=0.1)
        ])
    """
    steps: list[BaseTransform] = []
    if rotate > 0:
        steps.append(RandomRotate(rotate, generator=generator))
    if scale > 0:
        steps.append(RandomScale((1 - scale, 1 + scale), generator=generator))
    if shear > 0:
        steps.append(RandomShear(shear, generator=generator))
    return Compose(steps) if steps else None


class JointToBone(BaseTransform):
    r"""Bone modality: ``x[i] - x[parent(i)]`` for every node (root: zeros) (twin:
    :func:`~skelgraph.transforms.functional.joint_to_bone`).

    The parent of each joint comes from, in order of precedence:

    - ``parents``: a :class:`~skelgraph.graph.layouts.Layout` (its bones are ``(child, parent)``;
      the joint that is no bone's child is the root; for NTU-25 this is CTR-GCN's bone pairing,
      root ``spine_shoulder``), or a parent joint id per joint id ``[V]`` (root: itself). Needs
      ``joint`` and person-major node numbering (as ``skeleton_to_data`` makes).
    - otherwise the graph: the neighbour in ``edge_index`` one bone nearer the centre joint,
      read from ``hop`` (root: the layout's centre joint). Works on any graph with ``hop``.

    Args:
        parents (Layout | Sequence[int] | Tensor, optional): See above.
        cat (bool): Append the bone vectors to ``x`` (``[N, T, 2C]``) instead of replacing it.
            (default: ``False``)
    """

    def __init__(self, parents: Layout | Sequence[int] | Tensor | None = None, cat: bool = False) -> None:
        if isinstance(parents, Layout):
            self.parents: Tensor | None = layout_parents(parents)
        else:
            self.parents = None if parents is None else torch.as_tensor(parents, dtype=torch.long)
        self.cat = cat

    def forward(self, data: Data) -> Data:
        if self.parents is not None:
            parent = parent_nodes(data.joint, self.parents)
        elif "hop" in data:
            parent = parent_nodes_from_hops(data.edge_index, data.hop)
        else:
            raise ValueError("JointToBone needs parents (a Layout or a parent per joint) or a 'hop' node attribute")
        bone = joint_to_bone(data.x, parent)
        data.x = torch.cat([data.x, bone], dim=-1) if self.cat else bone
        return data

    def __repr__(self) -> str:
        source = "hop" if self.parents is None else self.parents.tolist()
        return f"{type(self).__name__}(parents={source}, cat={self.cat})"


class JointToMotion(BaseTransform):
    r"""Motion modality: ``x[:, t + 1] - x[:, t]``, zeros in the last frame (twin:
    :func:`~skelgraph.transforms.functional.joint_to_motion`).

    Args:
        cat (bool): Append the motion to ``x`` (``[N, T, 2C]``) instead of replacing it.
            (default: ``False``)
    """

    def __init__(self, cat: bool = False) -> None:
        self.cat = cat

    def forward(self, data: Data) -> Data:
        motion = joint_to_motion(data.x)
        data.x = torch.cat([data.x, motion], dim=-1) if self.cat else motion
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cat={self.cat})"
