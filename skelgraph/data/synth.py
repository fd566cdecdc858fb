r"""Synthetic labelled skeleton actions on any layout, for the embedded demo and tests.

Each class is a distinct motion of one or more body parts (waving an arm, kicking a leg,
nodding, squatting, turning, ...). Every sample draws its own speed, amplitude, phase,
body size, viewpoint (rotation about the vertical axis) and joint noise, so a classifier
has to learn the motion rather than memorise coordinates.

The rest pose comes from joint names (``left_elbow``, ``head``, ...) for the built-in
layouts; joints with unfamiliar names are placed along the bone tree from the centre joint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from skelgraph.data.sample import SkeletonSequence
from skelgraph.graph.edges import hop_distance
from skelgraph.graph.layouts import Layout

# (height in m, lateral offset in m) by name keyword, first match wins; side from "left"/"right".
_REST = (
    ("tip", (0.80, 0.30)), ("thumb", (0.84, 0.27)), ("hand", (0.86, 0.28)), ("wrist", (0.90, 0.27)),
    ("elbow", (1.15, 0.24)), ("spine_shoulder", (1.45, 0.0)), ("shoulder_center", (1.45, 0.0)),
    ("shoulder", (1.42, 0.19)), ("neck", (1.52, 0.0)), ("nose", (1.62, 0.0)), ("eye", (1.66, 0.035)),
    ("ear", (1.64, 0.075)), ("head", (1.65, 0.0)), ("spine_mid", (1.20, 0.0)), ("spine_base", (0.95, 0.0)),
    ("hip_center", (0.95, 0.0)), ("spine", (1.20, 0.0)), ("hip", (0.93, 0.10)), ("knee", (0.52, 0.11)),
    ("ankle", (0.10, 0.11)), ("foot", (0.03, 0.13)),
)


def rest_pose(layout: Layout, rng: np.random.Generator | None = None) -> np.ndarray:
    r"""A standing pose ``[V, 3]`` (x right, y up, z towards the camera), in metres."""
    pose = np.full((layout.num_joints, 3), np.nan)
    for j, name in enumerate(layout.joints):
        low = name.lower()
        side = 1.0 if "left" in low or low.startswith("l_") else -1.0 if "right" in low or low.startswith("r_") else 0.0
        for key, (height, lateral) in _REST:
            if key in low:
                pose[j] = (side * lateral, height, 0.05 if key == "foot" else 0.0)
                break
    missing = np.isnan(pose[:, 0])
    if missing.any():  # place unknown joints one bone-length away from an already placed neighbour
        rng = rng or np.random.default_rng(0)
        hops = hop_distance(layout).numpy()
        if np.isnan(pose[layout.center, 0]):
            pose[layout.center] = (0.0, 1.0, 0.0)
        for j in np.argsort(np.where(hops < 0, 10**6, hops), kind="stable"):
            if not np.isnan(pose[j, 0]):
                continue
            nbrs = [b if a == j else a for a, b in layout.bones if j in (a, b)]
            placed = [n for n in nbrs if not np.isnan(pose[n, 0])]
            anchor = pose[placed[0]] if placed else np.zeros(3)
            direction = rng.normal(size=3)
            pose[j] = anchor + 0.15 * direction / np.linalg.norm(direction)
    return pose


def _rot_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_axis(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues rotation matrices ``[T, 3, 3]`` about a unit ``axis`` by ``angle [T]``."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


@dataclass(frozen=True)
class Motion:
    """One synthetic action: swing ``parts`` about their attachment joints."""

    name: str
    parts: tuple[str, ...]  # part names swung (empty: whole-body motion only)
    axis: tuple[float, float, float]  # rotation axis in the body frame
    amplitude: float  # radians
    cycles: float  # oscillations over the sequence
    antiphase: bool = False  # alternate parts (walking)
    bounce: float = 0.0  # vertical body oscillation, metres
    turn: float = 0.0  # whole-body yaw over the sequence, radians


MOTIONS = (
    Motion("wave left arm", ("left_arm",), (0, 0, 1), 1.2, 3.0),
    Motion("wave right arm", ("right_arm",), (0, 0, -1), 1.2, 3.0),
    Motion("raise both arms", ("left_arm", "right_arm"), (0, 0, 1), 1.4, 1.0, antiphase=True),
    Motion("kick left leg", ("left_leg",), (1, 0, 0), 0.9, 2.0),
    Motion("kick right leg", ("right_leg",), (1, 0, 0), 0.9, 2.0),
    Motion("nod", ("head",), (1, 0, 0), 0.5, 4.0),
    Motion("walk in place", ("left_leg", "right_leg"), (1, 0, 0), 0.6, 3.0, antiphase=True),
    Motion("jump", (), (1, 0, 0), 0.0, 3.0, bounce=0.15),
    Motion("turn around", (), (1, 0, 0), 0.0, 1.0, turn=math.pi),
    Motion("punch forward", ("left_arm", "right_arm"), (1, 0, 0), 1.3, 4.0, antiphase=True),
)


def _attachment(layout: Layout, members: tuple[int, ...]) -> int:
    """The joint a part rotates about: the neighbour (outside the part) of its joint nearest
    the centre, or that joint itself."""
    hops = hop_distance(layout).numpy()
    first = min(members, key=lambda j: (hops[j] < 0, hops[j]))
    outside = [b if a == first else a for a, b in layout.bones if first in (a, b)]
    outside = [j for j in outside if j not in members and hops[j] < hops[first]]
    return outside[0] if outside else first


def synthesize(layout: Layout, motion: Motion, rng: np.random.Generator, num_frames: int,
               num_channels: int = 3, noise: float = 0.01, yaw: float = 0.0) -> np.ndarray:
    r"""One sample ``[1, T, V, C]`` of ``motion`` with random speed, amplitude, size and noise,
    centred on the first frame's centre joint, seen from ``yaw`` radians about the vertical axis.
    ``C = 2`` projects onto the image plane (x, y)."""
    pose = rest_pose(layout, rng) * rng.uniform(0.85, 1.15)
    t = np.linspace(0.0, 1.0, num_frames)
    phase = rng.uniform(0, 2 * math.pi)
    cycles = motion.cycles * rng.uniform(0.8, 1.25)
    wave = np.sin(2 * math.pi * cycles * t + phase)
    frames = np.repeat(pose[None], num_frames, axis=0)  # [T, V, 3]
    amplitude = motion.amplitude * rng.uniform(0.75, 1.25)
    for k, part in enumerate(motion.parts):
        if part not in layout.part_names:
            continue
        members = layout.parts[layout.part_id(part)][1]
        pivot = _attachment(layout, members)
        sign = -1.0 if motion.antiphase and k % 2 else 1.0
        axis = np.asarray(motion.axis, float)
        rot = _rot_axis(axis / np.linalg.norm(axis), sign * amplitude * (0.5 + 0.5 * wave))
        idx = list(members)
        rel = frames[:, idx] - frames[:, pivot:pivot + 1]
        frames[:, idx] = frames[:, pivot:pivot + 1] + np.einsum("tij,tvj->tvi", rot, rel)
    if motion.bounce:
        frames[..., 1] += motion.bounce * rng.uniform(0.8, 1.2) * np.abs(wave)[:, None]
    if motion.turn:
        centre = frames[:, layout.center:layout.center + 1]
        angles = motion.turn * rng.uniform(0.8, 1.2) * t
        rot = np.stack([_rot_y(a) for a in angles])
        frames = centre + np.einsum("tij,tvj->tvi", rot, frames - centre)
    frames = frames @ _rot_y(yaw).T
    frames += rng.normal(scale=noise, size=frames.shape)
    # centred on the first frame's centre joint, i.e. preprocess.center(per_frame=False): unlike
    # the per-frame default for real data, this keeps the global motion that tells jump and turn apart
    frames -= frames[0, layout.center]
    return frames[None, :, :, :num_channels].astype(np.float32)


def make_synthetic(layout: Layout, num_samples: int = 600, num_classes: int = len(MOTIONS),
                   min_frames: int = 40, max_frames: int = 80, num_channels: int = 3,
                   seed: int = 0) -> tuple[list[SkeletonSequence], list[str]]:
    r"""``num_samples`` labelled sequences (classes balanced, in order ``i % num_classes``) and
    the class names. Each sample's ``meta['view']`` is 1-3 (its viewpoint bin), so the set can
    be split by view like NW-UCLA.

    Example:
        >>> from skelgraph.graph.layouts import COCO17
        >>> seqs, names = make_synthetic(COCO17, num_samples=4, num_channels=2)
        >>> seqs[0].keypoint.shape[::2], names[1]
        ((1, 17), 'wave right arm')
    """
    if not 1 <= num_classes <= len(MOTIONS):
        raise ValueError(f"num_classes must be in 1..{len(MOTIONS)}, got {num_classes}")
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_samples):
        label = i % num_classes
        yaw_bin = int(rng.integers(0, 3))  # three viewpoint bins, like three cameras
        frames = int(rng.integers(min_frames, max_frames + 1))
        yaw = (yaw_bin - 1) * math.pi / 6 + rng.uniform(-math.pi / 12, math.pi / 12)  # bins 30 deg apart
        keypoint = synthesize(layout, MOTIONS[label], rng, frames, num_channels, yaw=yaw)
        samples.append(SkeletonSequence(name=f"synth_{i:05d}", keypoint=keypoint, label=label,
                                        meta={"view": yaw_bin + 1, "motion": MOTIONS[label].name}))
    return samples, [m.name for m in MOTIONS[:num_classes]]


def synthetic_splits(samples: list[SkeletonSequence], test_ratio: float = 0.2,
                     seed: int = 0) -> dict[str, list[str]]:
    """A seeded, class-stratified ``train``/``test`` split."""
    rng = np.random.default_rng(seed)
    splits: dict[str, list[str]] = {"train": [], "test": []}
    for label in sorted({s.label for s in samples}):
        names = [s.name for s in samples if s.label == label]
        rng.shuffle(names)
        n_test = max(1, round(test_ratio * len(names)))
        splits["test"] += names[:n_test]
        splits["train"] += names[n_test:]
    return splits
