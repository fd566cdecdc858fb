r"""BVH (Biovision Hierarchy) motion capture: the hierarchy becomes a :class:`Layout`, the motion
becomes world joint positions by forward kinematics.

Conventions (those of Blender's importer and D. Holden's ``BVH.py``):

- A joint's local transform is ``T(t) @ R``: ``t`` is its ``OFFSET``, except that position
  channels (``Xposition``...), where present, *replace* the matching offset component; ``R`` is
  the product of its rotation channels **in the order listed** (``Zrotation Xrotation
  Yrotation`` gives ``Rz @ Rx @ Ry``), angles in degrees.
- World position of a joint: ``p = p_parent + R_parent_world @ t``; ``R_world = R_parent_world @ R``.
- ``End Site`` blocks are joints too (named ``<parent>_end``), so finger tips and the top of
  the head are kept; pass ``include_end_sites=False`` to drop them.
- Units are the file's (often centimetres); nothing is rescaled.

Layout built from the hierarchy (:func:`bvh_layout`): bones are the parent links ``(child,
parent)``; the centre is the root. Body parts come from the usual humanoid joint names
(:func:`humanoid_parts`: ``Hips``/``Spine``/``Chest``/``Neck``/``Head``, ``Left``/``Right`` +
``Shoulder``, ``Arm``, ``ForeArm``, ``Hand``, fingers, ``UpLeg``, ``Leg``, ``Foot``, ``Toe``, and
common variants such as ``LHipJoint``, ``lhumerus``, ``mixamorig:LeftArm``, ``l_knee``): head,
torso, left/right arm, left/right leg, plus ``spine`` (root -> neck) and ``shoulders`` (the top
joints of the two arms), so 3D alignment works too. A rig whose names give fewer than four parts
falls back to one ``"root"`` part plus one part per branch leaving the root (named after the
branch's first joint), with no spine/shoulders (alignment is then skipped, and said so).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint, read_text
from skelgraph.graph.layouts import Layout

_AXES = {"X": 0, "Y": 1, "Z": 2}


@dataclass
class BVHSkeleton:
    r"""A parsed BVH file. Joints are in file order (parents before children).

    Attributes:
        names: joint names (end sites as ``<parent>_end``).
        parents: parent id per joint, ``-1`` for the root.
        offsets: float64 ``[J, 3]``.
        channels: per joint, the channel names (``[]`` for end sites).
        motion: float64 ``[T, sum of channels]``.
        frame_time: seconds per frame.
        end_site: per joint, True for an ``End Site``.
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[list[str]]
    motion: np.ndarray
    frame_time: float
    end_site: list[bool]


def parse_bvh(text: str, where: str) -> BVHSkeleton:
    r"""Parses BVH text; ``where`` names the source in errors."""
    head, sep, motion_text = text.partition("MOTION")
    if not sep:
        raise SkeletonError(f"{where}: no MOTION section (not a BVH file or truncated)")
    tokens = head.split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise SkeletonError(f"{where}: does not start with HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    end_site: list[bool] = []
    stack: list[int] = []
    pending: tuple[str, bool] | None = None  # joint declared, waiting for its "{"
    i = 1
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                if (tok == "ROOT") != (not stack) or (tok == "ROOT" and names):
                    raise SkeletonError(f"{where}: {tok} {tokens[i + 1]} in the wrong place")
                pending = (tokens[i + 1], False)
                i += 2
            elif tok == "End":
                if not stack or tokens[i + 1] != "Site":
                    raise SkeletonError(f"{where}: misplaced 'End' (expected 'End Site' inside a joint)")
                pending = (f"{names[stack[-1]]}_end", True)
                i += 2
            elif tok == "{":
                if pending is None:
                    raise SkeletonError(f"{where}: '{{' without a ROOT/JOINT/End Site")
                names.append(pending[0])
                end_site.append(pending[1])
                parents.append(stack[-1] if stack else -1)
                offsets.append([0.0, 0.0, 0.0])
                channels.append([])
                stack.append(len(names) - 1)
                pending = None
                i += 1
            elif tok == "}":
                if not stack:
                    raise SkeletonError(f"{where}: unbalanced '}}'")
                stack.pop()
                i += 1
            elif tok == "OFFSET":
                offsets[stack[-1]] = [float(v) for v in tokens[i + 1:i + 4]]
                if len(offsets[stack[-1]]) != 3:
                    raise IndexError
                i += 4
            elif tok == "CHANNELS":
                count = int(tokens[i + 1])
                names_ = tokens[i + 2:i + 2 + count]
                bad = [c for c in names_ if len(c) != 9 or c[0] not in _AXES or c[1:] not in ("position", "rotation")]
                if len(names_) != count or bad:
                    raise SkeletonError(f"{where}: joint {names[stack[-1]]}: bad CHANNELS {' '.join(names_)}")
                channels[stack[-1]] = names_
                i += 2 + count
            else:
                raise SkeletonError(f"{where}: unexpected token {tok!r} in HIERARCHY")
    except (IndexError, ValueError) as err:
        if isinstance(err, SkeletonError):
            raise
        raise SkeletonError(f"{where}: malformed HIERARCHY near token {i} ({tokens[min(i, len(tokens) - 1)]!r})") \
            from None
    if stack or pending is not None:
        raise SkeletonError(f"{where}: unbalanced braces in HIERARCHY")
    if not names:
        raise SkeletonError(f"{where}: no ROOT in HIERARCHY")
    seen: dict[str, int] = {}
    for j, name in enumerate(names):  # end sites of joints with several may repeat a name
        if name in seen:
            seen[name] += 1
            names[j] = f"{name}{seen[name]}"
        seen.setdefault(names[j], 0)
    # MOTION: "Frames: n", "Frame Time: dt", then n lines of numbers
    lines = motion_text.strip().split("\n", 2)
    try:
        if len(lines) < 2 or not lines[0].strip().startswith("Frames:") or "Frame Time:" not in lines[1]:
            raise ValueError
        num_frames = int(lines[0].split(":")[1])
        frame_time = float(lines[1].split(":")[1])
    except ValueError:
        raise SkeletonError(f"{where}: MOTION must start with 'Frames: n' and 'Frame Time: dt'") from None
    if num_frames <= 0:
        raise SkeletonError(f"{where}: empty sequence (Frames: {num_frames})")
    num_channels = sum(len(c) for c in channels)
    try:
        values = np.array(lines[2].split() if len(lines) > 2 else [], dtype=np.float64)
    except ValueError as err:
        raise SkeletonError(f"{where}: non-numeric value in MOTION: {err}") from None
    if values.size < num_frames * num_channels:
        raise SkeletonError(f"{where}: truncated: expected {num_frames} frames of {num_channels} channels, "
                            f"file ends in frame {values.size // max(num_channels, 1) + 1}")
    if values.size > num_frames * num_channels:
        raise SkeletonError(f"{where}: {values.size} motion values, expected {num_frames} x {num_channels}")
    return BVHSkeleton(names=names, parents=parents, offsets=np.asarray(offsets, dtype=np.float64),
                       channels=channels, motion=values.reshape(num_frames, num_channels),
                       frame_time=frame_time, end_site=end_site)


def _axis_rotation(axis: int, degrees: np.ndarray) -> np.ndarray:
    """``[T, 3, 3]`` rotations about one axis."""
    rad = np.deg2rad(degrees)
    c, s = np.cos(rad), np.sin(rad)
    rot = np.zeros((len(rad), 3, 3))
    a, b = [(1, 2), (2, 0), (0, 1)][axis]  # the plane the rotation acts in, right-handed
    rot[:, axis, axis] = 1.0
    rot[:, a, a], rot[:, a, b], rot[:, b, a], rot[:, b, b] = c, -s, s, c
    return rot


def forward_kinematics(skel: BVHSkeleton) -> np.ndarray:
    r"""World positions of every joint, float64 ``[T, J, 3]`` (loops over joints; each step is
    vectorised over frames)."""
    num_frames, num_joints = skel.motion.shape[0], len(skel.names)
    positions = np.zeros((num_frames, num_joints, 3))
    world_rot = np.zeros((num_frames, num_joints, 3, 3))
    column = 0
    for j in range(num_joints):
        local_t = np.broadcast_to(skel.offsets[j], (num_frames, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        for name in skel.channels[j]:
            axis, values = _AXES[name[0]], skel.motion[:, column]
            if name.endswith("position"):
                local_t[:, axis] = values
            else:
                local_r = local_r @ _axis_rotation(axis, values)
            column += 1
        parent = skel.parents[j]
        if parent < 0:
            positions[:, j], world_rot[:, j] = local_t, local_r
        else:
            positions[:, j] = positions[:, parent] + np.einsum("tij,tj->ti", world_rot[:, parent], local_t)
            world_rot[:, j] = world_rot[:, parent] @ local_r
    return positions


_BODY_WORDS = {
    "head": {"head", "headtop", "neck", "nose", "eye", "ear", "jaw", "skull", "face"},
    "torso": {"hips", "hip", "pelvis", "root", "spine", "chest", "back", "abdomen", "torso", "waist", "thorax",
              "shoulder", "clavicle", "collar", "body"},
    "leg": {"leg", "upleg", "thigh", "knee", "shin", "calf", "ankle", "foot", "toe", "femur", "tibia", "heel"},
    "arm": {"arm", "forearm", "elbow", "wrist", "hand", "palm", "finger", "thumb", "index", "middle", "ring",
            "pinky", "little", "humerus", "radius", "ulna"},
}
_PART_ORDER = ("head", "torso", "left_arm", "right_arm", "left_leg", "right_leg")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _body_word(name: str) -> tuple[str | None, str]:
    """``(category, side)`` of a joint name from its first body word (``("arm", "left")`` for
    ``LeftForeArm``, ``lhumerus``, ``mixamorig:LeftArm``); ``(None, side)`` if it has none."""
    words = [w.lower() for part in re.split(r"[\s_\-.:/|]+", name) for w in _WORDS.findall(part)]
    side = next((("left" if w in ("left", "l") else "right") for w in words if w in ("left", "l", "right", "r")), "")
    for word in words:
        for candidate, glued in ((word, ""), (word[1:], word[:1])):  # "lhumerus" = l + humerus
            if glued and glued not in "lr":
                continue
            for category, names in _BODY_WORDS.items():
                if candidate in names:
                    return category, side or {"l": "left", "r": "right"}.get(glued, "")
    return None, side


HumanoidParts = tuple[dict[str, list[int]], int | None, tuple[int, int] | None]


def humanoid_parts(names: list[str], parents: list[int]) -> HumanoidParts | None:
    r"""Body parts of a humanoid hierarchy from its joint names (``parents[j] < j``, root first):
    ``({part: joint ids}, neck joint or None, (left, right) top arm joints or None)``, or ``None``
    when fewer than four of head, torso, left/right arm, left/right leg are found. A joint whose
    name has no body word (or an arm/leg word without side) joins its parent's part; the root is
    torso.

    Example:
        >>> parts, neck, shoulders = humanoid_parts(
        ...     ["Hips", "Spine", "Neck", "Head", "LeftArm", "LeftHand", "RightArm", "RightHand",
        ...      "LeftUpLeg", "LeftFoot", "RightUpLeg", "RightFoot"], [-1, 0, 1, 2, 1, 4, 1, 6, 0, 8, 0, 10])
        >>> parts["left_arm"], parts["head"], neck, shoulders
        ([4, 5], [2, 3], 2, (4, 6))
    """
    part_of: list[str] = []
    for j, name in enumerate(names):
        category, side = _body_word(name)
        inherited = part_of[parents[j]] if parents[j] >= 0 else "torso"
        if parents[j] < 0:
            part = "torso"
        elif category in ("head", "torso"):
            part = category
        elif category in ("arm", "leg") and side:
            part = f"{side}_{category}"
        else:
            part = inherited
        part_of.append(part)
    parts = {p: [j for j, q in enumerate(part_of) if q == p] for p in _PART_ORDER}
    parts = {p: members for p, members in parts.items() if members}
    if len(parts) < 4:
        return None

    def top(part: str) -> int | None:  # the first joint of a part whose parent is outside it
        return next((j for j in parts.get(part, []) if parents[j] < 0 or part_of[parents[j]] != part), None)

    left, right = top("left_arm"), top("right_arm")
    return parts, top("head"), (left, right) if left is not None and right is not None else None


def skeleton_name(joints: tuple[str, ...], bones: tuple[tuple[int, int], ...]) -> str:
    r"""A layout name that belongs to a skeleton, not to a file: ``bvh-<root>-<V>j-<hash>``, the
    root joint's name (a namespace such as ``mixamorig:`` in front when every joint has it), the
    joint count and 6 hex digits of a hash of the joint names and bones. Files with the same
    hierarchy get the same name; another hierarchy gets another.

    Example:
        >>> skeleton_name(("Hips", "Spine", "Head"), ((1, 0), (2, 1))).rsplit("-", 1)[0]
        'bvh-hips-3j'
    """
    digest = hashlib.sha1(json.dumps([list(joints), [list(b) for b in bones]]).encode()).hexdigest()[:6]
    namespace = joints[0].split(":")[0] if ":" in joints[0] else ""
    if namespace and not all(j.startswith(namespace + ":") for j in joints):
        namespace = ""
    root = re.sub(r"[^a-z0-9]+", "-", joints[0].split(":")[-1].lower()).strip("-") or "root"
    return "-".join(p for p in ("bvh", re.sub(r"[^a-z0-9]+", "-", namespace.lower()).strip("-"), root,
                                f"{len(joints)}j", digest) if p)


def _kept(skel: BVHSkeleton, include_end_sites: bool) -> tuple[list[int], dict[int, int], tuple[str, ...],
                                                               tuple[tuple[int, int], ...]]:
    """The joints a layout keeps (old ids, old -> new id, names) and its bones (child, parent)."""
    keep = [j for j in range(len(skel.names)) if include_end_sites or not skel.end_site[j]]
    new_id = {old: new for new, old in enumerate(keep)}
    bones = tuple((new_id[j], new_id[skel.parents[j]]) for j in keep if skel.parents[j] >= 0)
    return keep, new_id, tuple(skel.names[j] for j in keep), bones


def bvh_layout(skel: BVHSkeleton, name: str | None = None, include_end_sites: bool = True) -> Layout:
    r"""The :class:`Layout` of a parsed hierarchy (bones = parent links, centre = root, parts from
    humanoid names or else one per branch leaving the root; see the module docstring), named
    ``name`` or, by default, after its skeleton (:func:`skeleton_name`)."""
    keep, new_id, joints, bones = _kept(skel, include_end_sites)
    name = name or skeleton_name(joints, bones)
    named = humanoid_parts(list(joints), [new_id[skel.parents[j]] if skel.parents[j] >= 0 else -1 for j in keep])
    if named is not None:
        parts, neck, shoulders = named
        return Layout(name=name, joints=joints, bones=bones, parts=tuple((p, tuple(m)) for p, m in parts.items()),
                      center=0, spine=(0, neck) if neck not in (None, 0) else None, shoulders=shoulders,
                      source=name)
    branch_of: dict[int, int] = {}
    for j in keep:  # parents come first, so the branch of the parent is known
        parent = skel.parents[j]
        if parent == 0:
            branch_of[j] = j
        elif parent > 0:
            branch_of[j] = branch_of[parent]
    branches = [j for j in keep if skel.parents[j] == 0]
    root_part = "root" if "root" not in {skel.names[b] for b in branches} else "root_joint"
    parts = ((root_part, (0,)),) + tuple(
        (skel.names[b], tuple(new_id[j] for j in keep if branch_of.get(j) == b)) for b in branches)
    return Layout(name=name, joints=tuple(skel.names[j] for j in keep), bones=bones, parts=parts, center=0,
                  source=name)


def read_bvh(path: str | Path, include_end_sites: bool = True) -> SkeletonSequence:
    r"""A BVH file as keypoint float32 ``[1, T, J, 3]`` (world positions by forward kinematics),
    every joint present, label ``-1``, meta ``{"frame_time": seconds, "skeleton": name}`` (the
    :func:`skeleton_name` of its hierarchy). Joint order is that of :func:`read_bvh_layout`.

    Raises:
        SkeletonError: ``"<path>: <problem>"`` for a malformed hierarchy, truncated motion,
            no frames or non-finite values.
    """
    path = Path(path)
    skel = parse_bvh(read_text(path), str(path))
    positions = forward_kinematics(skel)
    if not include_end_sites:
        positions = positions[:, [j for j, end in enumerate(skel.end_site) if not end]]
    keypoint = check_keypoint(positions[None], None, str(path))
    # every joint exists in every frame (a root exactly at the origin too): presence is not "non-zero"
    skeleton = skeleton_name(*_kept(skel, include_end_sites)[2:])
    return SkeletonSequence(name=path.stem, keypoint=keypoint, label=-1,
                            meta={"frame_time": skel.frame_time, "skeleton": skeleton},
                            present=np.ones(keypoint.shape[:3], dtype=bool))


def read_bvh_layout(path: str | Path, include_end_sites: bool = True) -> Layout:
    r"""The :class:`Layout` of a BVH file's hierarchy, named after its skeleton
    (:func:`skeleton_name`: the same for every file of one rig), its source the file."""
    path = Path(path)
    layout = bvh_layout(parse_bvh(read_text(path), str(path)), include_end_sites=include_end_sites)
    return dataclasses.replace(layout, source=str(path.name))
