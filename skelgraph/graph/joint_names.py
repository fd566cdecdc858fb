r"""Joint names across datasets and SDKs, and mapping one joint order onto a layout by name.

Every source names the same joints differently (``HipCenter``, ``hip_center``, ``SpineBase``,
``ShoulderLeft``, ``left_shoulder``, ``l_shoulder``...). :func:`joint_key` reduces a name to one
key, and :func:`joint_mapping` uses the keys to reorder (and, if asked, drop) a source's joints
so that they line up with a layout's.

The rule (:func:`joint_key`), step by step:

1. split the name into words at ``_ - . : /``, spaces, lower->upper case changes and
   letter<->digit changes (``ShoulderLeft`` -> ``shoulder left``, ``l_hand`` -> ``l hand``,
   ``Spine1`` -> ``spine 1``), lower-case them, and spell ``centre`` as ``center``;
2. take out one side word, ``left``/``l`` or ``right``/``r``, wherever it is;
3. join the remaining words (``hand tip`` -> ``handtip``) and replace a synonym by its
   canonical word with :data:`BODY_SYNONYMS`;
4. the key is ``left_<body>``, ``right_<body>`` or ``<body>``.

So ``ShoulderLeft``, ``left_shoulder``, ``LeftShoulder``, ``l_shoulder``, ``shoulder.L`` and
``Shoulder_Left`` all have the key ``left_shoulder``; ``HipCenter``, ``hip_center``,
``SpineBase`` (Kinect v2) and ``pelvis`` have the key ``hipcenter``.

:data:`BODY_SYNONYMS` (what counts as the same joint):

=================  ============================================================================
canonical          also accepted
=================  ============================================================================
``hipcenter``      ``spinebase`` (Kinect v2), ``pelvis``, ``midhip`` (OpenPose BODY_25),
                   ``hips`` (BVH root), ``hip`` without a side
``spine``          ``spinemid`` (Kinect v2), ``midspine``
``shouldercenter`` ``spineshoulder`` (Kinect v2), ``centershoulder``
=================  ============================================================================

Kinect v1 (``ShoulderCenter``) and v2 (``SpineShoulder``) name one joint differently and v2 adds a
``Neck`` above it, so ``neck`` is its own joint (OpenPose's ``Neck``, which sits between the
shoulders, is *not* renamed: give such a mapping explicitly). Motion-capture rigs name bones rather
than joints (a BVH ``LeftArm`` starts at the shoulder): map those with an explicit joint map
(``--joint-map``), which is applied before the rule.

Named joint orders (:data:`JOINT_ORDERS`) describe sources that store joints without names
(a MATLAB array, a header-less text file): every built-in layout's order, and ``utd_mhad``
(UTD-MHAD's documented order, which differs from the Kinect SDK's).
"""
from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from skelgraph.graph.layouts import BUILTIN_LAYOUTS, Layout, LayoutError, get_layout


class JointMapError(LayoutError):
    """Joints that cannot be matched by name (the message names them)."""


BODY_SYNONYMS: dict[str, str] = {
    "spinebase": "hipcenter", "pelvis": "hipcenter", "midhip": "hipcenter", "hips": "hipcenter",
    "spinemid": "spine", "midspine": "spine",
    "spineshoulder": "shouldercenter", "centershoulder": "shouldercenter",
}

_SIDES = {"left": "left", "l": "left", "right": "right", "r": "right"}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

#: Joint orders of sources that store no names (20 joints each for ``utd_mhad``).
JOINT_ORDERS: dict[str, tuple[str, ...]] = {
    **{name: layout.joints for name, layout in BUILTIN_LAYOUTS.items()},
    # UTD-MHAD, data/Skeleton/Skeleton_joint_order.txt of the dataset (1-based there)
    "utd_mhad": ("head", "shoulder_center", "spine", "hip_center",
                 "left_shoulder", "left_elbow", "left_wrist", "left_hand",
                 "right_shoulder", "right_elbow", "right_wrist", "right_hand",
                 "left_hip", "left_knee", "left_ankle", "left_foot",
                 "right_hip", "right_knee", "right_ankle", "right_foot"),
}


def joint_key(name: str) -> str:
    r"""The key two names of the same joint share (the rule is in the module docstring).

    Example:
        >>> [joint_key(n) for n in ("ShoulderLeft", "l_shoulder", "HipCenter", "SpineBase", "hand_tip_R")]
        ['left_shoulder', 'left_shoulder', 'hipcenter', 'hipcenter', 'right_handtip']
    """
    words = [w.lower() for part in re.split(r"[\s_\-.:/]+", name) for w in _WORD.findall(part)]
    words = ["center" if w == "centre" else w for w in words]
    sides = [w for w in words if w in _SIDES]
    side = _SIDES[sides[0]] if len(sides) == 1 and len(words) > 1 else ""
    body = "".join(w for w in words if not (side and w in _SIDES))
    if body == "hip" and not side:
        body = "hipcenter"
    body = BODY_SYNONYMS.get(body, body)
    return f"{side}_{body}" if side else body


def read_joint_names(spec: str | Path | Sequence[str]) -> tuple[str, ...]:
    r"""Joint names in a source's stored order, from: a list; a name in :data:`JOINT_ORDERS`
    (every built-in layout, ``utd_mhad``); a layout ``.toml`` file; a text file with one name per
    line; or a comma-separated string (``"head,neck,..."``).

    Example:
        >>> read_joint_names("utd_mhad")[:2], read_joint_names("a, b")
        (('head', 'shoulder_center'), ('a', 'b'))
    """
    if not isinstance(spec, (str, Path)):
        return tuple(str(n) for n in spec)
    text = str(spec)
    if text in JOINT_ORDERS:
        return JOINT_ORDERS[text]
    path = Path(text)
    if path.suffix == ".toml":
        return get_layout(path).joints
    if path.is_file():
        try:
            names = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
        except UnicodeDecodeError:
            raise LayoutError(f"{path}: not a text file (binary content), expected joint names") from None
        except OSError as err:
            raise LayoutError(f"{path}: cannot read joint names ({err.strerror})") from None
        if not names:
            raise LayoutError(f"{path}: no joint names in the file")
        return names
    if "," in text:
        return tuple(n.strip() for n in text.split(",") if n.strip())
    raise LayoutError(f"joint names {text!r}: not a joint order ({', '.join(JOINT_ORDERS)}), a .toml layout, "
                      f"a file of names or a comma-separated list")


def read_joint_map(spec: str | Path | Mapping[str, str] | None) -> dict[str, str]:
    r"""Explicit ``source joint -> layout joint`` pairs: a dict; a TOML file of ``source =
    "target"`` lines; a CSV/text file of ``source,target`` lines; or inline ``"A=B,C=D"``.

    Example:
        >>> read_joint_map("Hips=hip_center, LeftArm=left_shoulder")
        {'Hips': 'hip_center', 'LeftArm': 'left_shoulder'}
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {str(k): str(v) for k, v in spec.items()}
    path = Path(spec)
    if path.is_file():
        try:
            text = path.read_text()
            if path.suffix == ".toml":
                return {str(k): str(v) for k, v in tomllib.loads(text).items()}
        except UnicodeDecodeError:
            raise LayoutError(f"{path}: not a text file (binary content), expected a joint map") from None
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise LayoutError(f"{path}: cannot read the joint map: {getattr(err, 'strerror', None) or err}") from None
        rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
        if any(len(r) != 2 for r in rows):
            raise LayoutError(f"{path}: a joint map has 'source,target' lines")
        return {r[0].strip(): r[1].strip() for r in rows}
    pairs = [p.split("=") for p in str(spec).split(",") if p.strip()]
    if not pairs or any(len(p) != 2 for p in pairs):
        raise LayoutError(f"joint map {str(spec)!r}: not a file and not 'source=target,...' pairs")
    return {a.strip(): b.strip() for a, b in pairs}


def joint_mapping(source_joints: Sequence[str], layout: Layout, joint_map: Mapping[str, str] | None = None,
                  drop_unmatched: bool = False, where: str = "source") -> np.ndarray:
    r"""For each joint of ``layout``, the index of the source joint with the same name key.

    ``keypoint[..., joint_mapping(names, layout), :]`` reorders ``[M, T, V_src, C]`` into the
    layout's order. ``joint_map`` names pairs explicitly (``source name -> layout joint name``)
    and wins over the rule.

    Raises:
        JointMapError: a layout joint no source joint matches; a source joint that matches no
            layout joint (unless ``drop_unmatched``); two source joints with the same key.

    Example:
        >>> from skelgraph.graph.layouts import KINECT_V1_20
        >>> order = joint_mapping(read_joint_names("utd_mhad"), KINECT_V1_20)
        >>> order[:4].tolist()  # hip_center, spine, shoulder_center, head of UTD-MHAD's order
        [3, 2, 1, 0]
    """
    joint_map = dict(joint_map or {})
    target_key = {joint_key(name): j for j, name in enumerate(layout.joints)}
    target_id = {name: j for j, name in enumerate(layout.joints)}
    unknown = [t for t in joint_map.values() if t not in target_id and joint_key(t) not in target_key]
    if unknown:
        raise JointMapError(f"{where}: joint map names {', '.join(unknown)}, not joints of layout "
                            f"{layout.name!r} ({', '.join(layout.joints)})")
    index = np.full(layout.num_joints, -1, dtype=np.int64)
    unmatched: list[str] = []
    for i, name in enumerate(source_joints):
        if name in joint_map:
            target = joint_map[name]
            j = target_id[target] if target in target_id else target_key[joint_key(target)]
        else:
            j = target_key.get(joint_key(name), -1)
        if j < 0:
            unmatched.append(name)
            continue
        if index[j] >= 0:
            raise JointMapError(f"{where}: joints {source_joints[index[j]]!r} and {name!r} both match "
                                f"{layout.joints[j]!r} of layout {layout.name!r}")
        index[j] = i
    missing = [layout.joints[j] for j in np.flatnonzero(index < 0)]
    if missing:
        raise JointMapError(f"{where}: layout {layout.name!r} joint(s) {', '.join(missing)} match no source joint "
                            f"(source joints: {', '.join(source_joints)})")
    if unmatched and not drop_unmatched:
        raise JointMapError(f"{where}: joint(s) {', '.join(unmatched)} match no joint of layout {layout.name!r}; "
                            f"name the pairs with a joint map or leave them out (drop unmatched)")
    return index


def layout_with_joints(source_joints: Sequence[str]) -> Layout | None:
    r"""The built-in layout whose joints are exactly ``source_joints`` by key (any order), or
    ``None``: how a source that names its joints but has no bones finds its layout.

    Example:
        >>> layout_with_joints(read_joint_names("utd_mhad")).name
        'kinect_v1_20'
    """
    keys = sorted(joint_key(n) for n in source_joints)
    for layout in BUILTIN_LAYOUTS.values():
        if sorted(joint_key(n) for n in layout.joints) == keys:
            return layout
    return None
