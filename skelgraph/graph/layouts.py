r"""Skeleton layouts: joint names, bones, body parts and the centre joint, as data.

A :class:`Layout` is everything the rest of the library needs to know about a
skeleton format. Built-ins cover the formats the field uses; users describe their
own in a small TOML file (see :func:`load_layout`)::

    name = "my-rig"
    joints = ["pelvis", "chest", "head", "l_hand", "r_hand"]
    bones = [["chest", "pelvis"], ["head", "chest"], ["l_hand", "chest"], ["r_hand", "chest"]]
    center = "chest"
    spine = ["pelvis", "chest"]       # bottom, top: 3D alignment makes it vertical (optional)
    shoulders = ["l_hand", "r_hand"]  # left, right: and this parallel to x (optional)
    [parts]
    torso = ["pelvis", "chest"]
    head = ["head"]
    arms = ["l_hand", "r_hand"]

Bones and parts may name joints or give 0-based indices. Every joint must belong to exactly one
part (masking hides whole parts, so a joint in no part could never be hidden and one in two
parts would be ambiguous) and be connected to the centre by bones. Without ``spine`` and
``shoulders``, 3D alignment is skipped (``preprocess`` says so and records it).
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class LayoutError(ValueError):
    """An invalid layout description (the message names the file and the problem)."""


@dataclass(frozen=True)
class Layout:
    r"""A skeleton format.

    Args:
        name (str): Short identifier (``"ntu25"``, ``"coco17"``...).
        joints (tuple[str, ...]): Joint names; position = joint id (0-based).
        bones (tuple[tuple[int, int], ...]): Undirected bones as ``(child, parent)``
            joint ids; each listed once.
        parts (tuple[tuple[str, tuple[int, ...]], ...]): Body parts, ``(name, joint ids)``;
            every joint is in exactly one part. The order fixes the part ids.
        center (int): Joint the skeleton is centred on and the root of the ST-GCN
            spatial partition.
        spine (tuple[int, int] | None): ``(bottom, top)`` joints; 3D alignment makes
            this bone vertical (+y).
        shoulders (tuple[int, int] | None): ``(left, right)`` joints; 3D alignment makes
            this bone parallel to the x-axis.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    parts: tuple[tuple[str, tuple[int, ...]], ...]
    center: int
    spine: tuple[int, int] | None = None
    shoulders: tuple[int, int] | None = None
    source: str = field(default="built-in", compare=False)

    def __post_init__(self) -> None:
        validate_layout(self)

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def num_parts(self) -> int:
        return len(self.parts)

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.parts)

    @property
    def joint_part(self) -> tuple[int, ...]:
        """Part id of each joint, ``[V]``."""
        part_of = [0] * self.num_joints
        for part_id, (_, members) in enumerate(self.parts):
            for joint in members:
                part_of[joint] = part_id
        return tuple(part_of)

    def part_id(self, name: str) -> int:
        try:
            return self.part_names.index(name)
        except ValueError:
            raise KeyError(f"layout {self.name!r} has no part {name!r}; parts: {', '.join(self.part_names)}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON/TOML-friendly description (joint ids, not names)."""
        return {
            "name": self.name,
            "joints": list(self.joints),
            "bones": [list(b) for b in self.bones],
            "parts": {name: list(members) for name, members in self.parts},
            "center": self.center,
            "spine": list(self.spine) if self.spine else None,
            "shoulders": list(self.shoulders) if self.shoulders else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def validate_layout(layout: Layout) -> None:
    """Raises :class:`LayoutError` naming the first inconsistency."""
    where = f"layout {layout.name!r} ({layout.source})"
    num_joints = len(layout.joints)
    if num_joints == 0:
        raise LayoutError(f"{where}: no joints")
    if len(set(layout.joints)) != num_joints:
        dup = sorted({j for j in layout.joints if layout.joints.count(j) > 1})
        raise LayoutError(f"{where}: joint names repeat: {', '.join(dup)}")

    def check_joint(joint: int, what: str) -> None:
        if not isinstance(joint, int) or not 0 <= joint < num_joints:
            raise LayoutError(f"{where}: {what} refers to joint {joint!r}, outside 0..{num_joints - 1}")

    seen_bones: set[frozenset[int]] = set()
    for child, parent in layout.bones:
        check_joint(child, "a bone")
        check_joint(parent, "a bone")
        if child == parent:
            raise LayoutError(f"{where}: bone ({child}, {parent}) joins a joint to itself")
        key = frozenset((child, parent))
        if key in seen_bones:
            raise LayoutError(f"{where}: bone ({child}, {parent}) is listed twice")
        seen_bones.add(key)
    owner: dict[int, str] = {}
    for name, members in layout.parts:
        if not members:
            raise LayoutError(f"{where}: part {name!r} is empty")
        for joint in members:
            check_joint(joint, f"part {name!r}")
            if joint in owner:
                raise LayoutError(
                    f"{where}: joint {layout.joints[joint]!r} is in two parts ({owner[joint]!r} and {name!r})")
            owner[joint] = name
    missing = [layout.joints[j] for j in range(num_joints) if j not in owner]
    if missing:
        raise LayoutError(f"{where}: joints in no part: {', '.join(missing)}")
    check_joint(layout.center, "center")
    unreachable = _unreachable(num_joints, layout.bones, layout.center)
    if unreachable:
        raise LayoutError(f"{where}: joint(s) {', '.join(layout.joints[j] for j in unreachable)} have no path of bones "
                          f"to the centre joint {layout.joints[layout.center]!r} (add the missing bones)")
    for what, pair in (("spine", layout.spine), ("shoulders", layout.shoulders)):
        if pair is not None:
            if len(pair) != 2:
                raise LayoutError(f"{where}: {what} must be two joints, got {pair!r}")
            check_joint(pair[0], what)
            check_joint(pair[1], what)


def _unreachable(num_joints: int, bones: tuple[tuple[int, int], ...], center: int) -> list[int]:
    """Joints no chain of bones connects to ``center`` (they would get no graph neighbours and
    no hop distance)."""
    neighbours: list[list[int]] = [[] for _ in range(num_joints)]
    for a, b in bones:
        neighbours[a].append(b)
        neighbours[b].append(a)
    seen, stack = {center}, [center]
    while stack:
        for other in neighbours[stack.pop()]:
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return [j for j in range(num_joints) if j not in seen]


def _one_based(pairs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((a - 1, b - 1) for a, b in pairs)


NTU25 = Layout(
    name="ntu25",
    joints=("spine_base", "spine_mid", "neck", "head",
            "left_shoulder", "left_elbow", "left_wrist", "left_hand",
            "right_shoulder", "right_elbow", "right_wrist", "right_hand",
            "left_hip", "left_knee", "left_ankle", "left_foot",
            "right_hip", "right_knee", "right_ankle", "right_foot",
            "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb"),
    # CTR-GCN graph/ntu_rgb_d.py, 1-based (child, parent)
    bones=_one_based([(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
                      (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
                      (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12)]),
    # The paper's six COCO-17 groups carried over: shoulders and hips belong to the torso.
    parts=(("head", (2, 3)),
           ("torso", (0, 1, 20, 4, 8, 12, 16)),
           ("left_arm", (5, 6, 7, 21, 22)),
           ("right_arm", (9, 10, 11, 23, 24)),
           ("left_leg", (13, 14, 15)),
           ("right_leg", (17, 18, 19))),
    center=1,  # spine_mid, as in the 2s-AGCN / CTR-GCN NTU preprocessing
    spine=(0, 1),
    shoulders=(4, 8),
)

COCO17 = Layout(
    name="coco17",
    joints=("nose", "left_eye", "right_eye", "left_ear", "right_ear",
            "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
            "left_wrist", "right_wrist", "left_hip", "right_hip",
            "left_knee", "right_knee", "left_ankle", "right_ankle"),
    # PYSKL graph 'coco' inward edges
    bones=((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5),
           (10, 8), (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)),
    # SkeletonMAE (arXiv 2307.08476), Sec. 3: the six body-part groups of COCO-17.
    parts=(("head", (0, 1, 2, 3, 4)),
           ("torso", (5, 6, 11, 12)),
           ("left_arm", (7, 9)),
           ("right_arm", (8, 10)),
           ("left_leg", (13, 15)),
           ("right_leg", (14, 16))),
    center=0,  # PYSKL's choice for 'coco'
    spine=None,
    shoulders=(5, 6),
)

OPENPOSE18 = Layout(
    name="openpose18",
    joints=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
            "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee",
            "right_ankle", "left_hip", "left_knee", "left_ankle",
            "right_eye", "left_eye", "right_ear", "left_ear"),
    # st-gcn net/utils/graph.py, layout 'openpose'
    bones=((4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5),
           (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)),
    parts=(("head", (0, 14, 15, 16, 17)),
           ("torso", (1, 2, 5, 8, 11)),
           ("left_arm", (6, 7)),
           ("right_arm", (3, 4)),
           ("left_leg", (12, 13)),
           ("right_leg", (9, 10))),
    center=1,  # neck, as in st-gcn
    spine=None,
    shoulders=(5, 2),
)

KINECT_V1_20 = Layout(
    name="kinect_v1_20",
    joints=("hip_center", "spine", "shoulder_center", "head",
            "left_shoulder", "left_elbow", "left_wrist", "left_hand",
            "right_shoulder", "right_elbow", "right_wrist", "right_hand",
            "left_hip", "left_knee", "left_ankle", "left_foot",
            "right_hip", "right_knee", "right_ankle", "right_foot"),
    # CTR-GCN graph/ucla.py, 1-based
    bones=_one_based([(1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9),
                      (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17),
                      (19, 18), (20, 19)]),
    parts=(("head", (3,)),
           ("torso", (0, 1, 2, 4, 8, 12, 16)),
           ("left_arm", (5, 6, 7)),
           ("right_arm", (9, 10, 11)),
           ("left_leg", (13, 14, 15)),
           ("right_leg", (17, 18, 19))),
    center=1,  # spine
    spine=(0, 1),
    shoulders=(4, 8),
)

BUILTIN_LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (NTU25, COCO17, OPENPOSE18, KINECT_V1_20)
}


def get_layout(name_or_path: str | Path | Layout) -> Layout:
    """A built-in layout by name (``ntu25``, ``coco17``, ``openpose18``, ``kinect_v1_20``)
    or a user layout from a ``.toml`` file.

    Example:
        >>> get_layout("coco17").num_joints
        17
    """
    if isinstance(name_or_path, Layout):
        return name_or_path
    key = str(name_or_path)
    if key in BUILTIN_LAYOUTS:
        return BUILTIN_LAYOUTS[key]
    path = Path(key)
    if path.suffix == ".toml" or path.exists():
        return load_layout(path)
    raise LayoutError(f"unknown layout {key!r}: use one of {', '.join(BUILTIN_LAYOUTS)} or a .toml file")


def layout_from_dict(spec: dict[str, Any], source: str = "dict") -> Layout:
    """Builds a layout from a TOML/JSON-style dict whose bones and parts name joints or
    give 0-based ids."""
    unknown = set(spec) - {"name", "joints", "bones", "parts", "center", "spine", "shoulders"}
    if unknown:
        raise LayoutError(f"{source}: unknown keys: {', '.join(sorted(unknown))}")
    for key in ("name", "joints", "bones", "parts", "center"):
        if key not in spec:
            raise LayoutError(f"{source}: missing key {key!r}")
    joints = tuple(str(j) for j in spec["joints"])
    ids = {name: i for i, name in enumerate(joints)}

    def joint_id(ref: Any, what: str) -> int:
        if isinstance(ref, bool):
            raise LayoutError(f"{source}: {what} refers to {ref!r}, not a joint")
        if isinstance(ref, int):
            return ref  # range-checked by validate_layout
        if ref not in ids:
            raise LayoutError(f"{source}: {what} refers to unknown joint {ref!r}")
        return ids[ref]

    bones = []
    for bone in spec["bones"]:
        if not isinstance(bone, (list, tuple)) or len(bone) != 2:
            raise LayoutError(f"{source}: a bone must be a pair of joints, got {bone!r}")
        bones.append((joint_id(bone[0], "a bone"), joint_id(bone[1], "a bone")))
    if not isinstance(spec["parts"], dict):
        raise LayoutError(f"{source}: 'parts' must be a table of part name -> joints")
    parts = tuple((str(name), tuple(joint_id(j, f"part {name!r}") for j in members))
                  for name, members in spec["parts"].items())

    def pair(key: str) -> tuple[int, int] | None:
        value = spec.get(key)
        if value is None:
            return None
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise LayoutError(f"{source}: {key} must be a pair of joints, got {value!r}")
        return (joint_id(value[0], key), joint_id(value[1], key))

    return Layout(name=str(spec["name"]), joints=joints, bones=tuple(bones), parts=parts,
                  center=joint_id(spec["center"], "center"), spine=pair("spine"),
                  shoulders=pair("shoulders"), source=source)


def load_layout(path: str | Path) -> Layout:
    """Reads a user layout from a TOML file (format in the module docstring)."""
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise LayoutError(f"{path}: layout file not found") from None
    except UnicodeDecodeError:  # as skelgraph.data.files.read_text_file says it (graph imports no data module)
        raise LayoutError(f"{path}: not a text file (binary content), expected a layout .toml") from None
    except OSError as err:
        raise LayoutError(f"{path}: cannot read the layout file ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise LayoutError(f"{path}: not valid TOML: {err}") from err
    return layout_from_dict(spec, source=str(path))


def layout_from_json(text: str, source: str = "json") -> Layout:
    """Inverse of :meth:`Layout.to_json` (used for the layout stored in HDF5 files)."""
    spec = json.loads(text)
    if spec.get("spine") is None:
        spec.pop("spine", None)
    if spec.get("shoulders") is None:
        spec.pop("shoulders", None)
    return layout_from_dict(spec, source=source)
