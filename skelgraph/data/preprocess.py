r"""The field's standard preprocessing steps, each a plain, optional function over numpy arrays.

All take and return ``keypoint`` float32 ``[M, T, V, C]`` (and ``score`` ``[M, T, V]`` where it
matters) and never modify their input. Which joints are *present* comes from the source when it
says (``present`` bool ``[M, T, V]``, :attr:`SkeletonSequence.present`: a BVH file has every
joint in every frame, even one exactly at the origin); otherwise a joint is present when any of
its coordinates is non-zero, the field's convention for Kinect, NTU, OpenPose and numpy arrays,
which store absent persons and undetected joints as zeros. A person is present in a frame when
any of its joints is. Every step keeps absent joints at zero.

:func:`preprocess_sequence` chains them: :func:`normalize_2d` -> :func:`select_persons` ->
:func:`drop_empty_frames` -> :func:`center` -> :func:`align_3d`.
"""
from __future__ import annotations

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint
from skelgraph.graph.layouts import Layout


def joint_present(keypoint: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """bool ``[M, T, V]``: ``present`` when the source gave it, else True where a joint has a
    non-zero coordinate."""
    return present if present is not None else (keypoint != 0).any(axis=-1)


def person_present(keypoint: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """bool ``[M, T]``: True where a person has any present joint."""
    return joint_present(keypoint, present).any(axis=-1)


def _noisy_by_spread(keypoint: np.ndarray, present: np.ndarray, max_spread_ratio: float) -> np.ndarray:
    """float ``[M]``: fraction of each body's present frames whose x spread exceeds
    ``max_spread_ratio`` times its y spread (a lying object, not a standing person)."""
    x, y = keypoint[..., 0], keypoint[..., 1]
    x_spread = x.max(axis=-1) - x.min(axis=-1)  # [M, T]
    y_spread = y.max(axis=-1) - y.min(axis=-1)
    noisy = (x_spread > max_spread_ratio * y_spread) & present
    return noisy.sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def motion_energy(keypoint: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    r"""float ``[M]``: sum over channels of the standard deviation of each person's coordinates
    over the frames it is present in (ST-GCN's ``get_nonzero_std``); 0 for absent persons."""
    present = person_present(keypoint, present)
    energy = np.zeros(keypoint.shape[0])
    for m in range(keypoint.shape[0]):  # one step per body
        if present[m].any():
            energy[m] = keypoint[m, present[m]].reshape(-1, keypoint.shape[-1]).std(axis=0).sum()
    return energy


def person_ranking(keypoint: np.ndarray, max_persons: int = 2, present: np.ndarray | None = None, *,
                   min_frames: int = 11, max_spread_ratio: float = 0.8, max_noisy_ratio: float = 0.69) -> np.ndarray:
    r"""Indices of the bodies :func:`select_persons` keeps, most active first (at most
    ``max_persons``; the steps are in its docstring)."""
    if max_persons < 1:
        raise ValueError(f"max_persons must be >= 1, got {max_persons}")
    joints = joint_present(keypoint, present)
    body = joints.any(axis=-1)  # [M, T]
    candidates = np.flatnonzero(body.any(axis=1))
    if len(candidates) > 1:
        long_enough = candidates[body[candidates].sum(axis=1) > min_frames]
        if len(long_enough):
            candidates = long_enough
    if len(candidates) > 1 and keypoint.shape[-1] >= 2:
        noisy_ratio = _noisy_by_spread(keypoint[candidates], body[candidates], max_spread_ratio)
        plausible = candidates[noisy_ratio <= max_noisy_ratio]
        if len(plausible):
            candidates = plausible
    energy = motion_energy(keypoint[candidates], joints[candidates])
    return candidates[np.argsort(-energy, kind="stable")][:max_persons]


def _pad_persons(array: np.ndarray | None, keep: np.ndarray, max_persons: int) -> np.ndarray | None:
    """``array[keep]`` padded with zeros (False) to ``max_persons`` along the first axis."""
    if array is None:
        return None
    out = np.zeros((max_persons, *array.shape[1:]), dtype=array.dtype if array.dtype == bool else np.float32)
    out[:len(keep)] = array[keep]
    return out


def select_persons(keypoint: np.ndarray, score: np.ndarray | None = None, max_persons: int = 2, *,
                   min_frames: int = 11, max_spread_ratio: float = 0.8,
                   max_noisy_ratio: float = 0.69) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Drops noisy bodies, keeps the ``max_persons`` most active ones and pads to exactly
    ``max_persons`` (zeros).

    Steps (thresholds of the NTU denoising in CTR-GCN's ``get_raw_denoised_data.py``):

    1. bodies never present are dropped;
    2. with more than one body left, bodies present in ``min_frames`` frames or fewer are
       dropped (tracker flicker), and so are bodies whose x/y spread ratio exceeds
       ``max_spread_ratio`` in more than ``max_noisy_ratio`` of their frames (objects such as
       furniture: wider than tall). A step that would drop every body is skipped;
    3. the rest are ranked by :func:`motion_energy` (ST-GCN's criterion), most active first, and
       the first ``max_persons`` kept, in that order.

    Returns ``(keypoint [max_persons, T, V, C], score [max_persons, T, V] or None)``.

    Example:
        >>> kp = np.zeros((3, 20, 2, 2), np.float32)
        >>> kp[1, :, 1, 1] = np.linspace(1, 2, 20)  # body 1 moves, body 2 stands still
        >>> kp[2, :, 1, 1] = 1.0
        >>> out, _ = select_persons(kp, max_persons=2)
        >>> out.shape, bool((out[0] == kp[1]).all())
        ((2, 20, 2, 2), True)
    """
    keep = person_ranking(keypoint, max_persons, min_frames=min_frames, max_spread_ratio=max_spread_ratio,
                          max_noisy_ratio=max_noisy_ratio)
    return _pad_persons(keypoint, keep, max_persons), _pad_persons(score, keep, max_persons)


def drop_empty_frames(keypoint: np.ndarray, score: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Removes frames in which no person is present (NTU files and detector output have them;
    they carry no motion). May return ``T = 0`` if every frame is empty.

    Example:
        >>> kp = np.zeros((1, 3, 2, 3), np.float32); kp[0, 1] = 1.0
        >>> drop_empty_frames(kp)[0].shape
        (1, 1, 2, 3)
    """
    keep = person_present(keypoint).any(axis=0)
    return keypoint[:, keep], (score[:, keep] if score is not None else None)


def center(keypoint: np.ndarray, layout: Layout, per_frame: bool = True,
           present: np.ndarray | None = None) -> np.ndarray:
    r"""Moves the origin to the layout's centre joint (``layout.center``).

    Convention: with ``per_frame=True`` (default) each frame's origin is the centre joint of
    the first person, as in 2s-AGCN's ``pre_normalization`` (the variant the brief asks for):
    every frame is then translation-free, so masked reconstruction learns pose rather than
    where the subject stands relative to the camera. If the first person (or its centre joint)
    is missing in a frame, the next person whose centre joint is present is used; a frame where
    no person has it is left as is. With ``per_frame=False`` one origin is used for the whole
    sequence, the centre joint of the first person in its first frame with it (PYSKL's
    ``PreNormalize3D``, CTR-GCN), which keeps the global trajectory (walking, falling).

    Only present joints move: absent persons and undetected joints stay exactly zero. A centre
    joint exactly at the origin is present when ``present`` (the source) says so.

    Example:
        >>> from skelgraph.graph.layouts import COCO17
        >>> kp = np.random.default_rng(0).uniform(1, 2, (2, 4, 17, 2)).astype(np.float32)
        >>> bool((center(kp, COCO17)[0, :, COCO17.center] == 0).all())
        True
    """
    m, t, v, c = keypoint.shape
    present = joint_present(keypoint, present)  # [M, T, V]
    has_center = present[:, :, layout.center]  # [M, T]
    origin = np.zeros((t, c), dtype=np.float32)
    found = np.zeros(t, dtype=bool)
    for person in range(m):  # the first person with a centre joint wins, frame by frame
        take = has_center[person] & ~found
        origin[take] = keypoint[person, take, layout.center]
        found |= take
    if not per_frame:
        first = np.flatnonzero(found)
        origin = np.broadcast_to(origin[first[0]] if len(first) else np.zeros(c, np.float32), (t, c))
    return np.where(present[..., None], keypoint - origin[None, :, None, :], 0.0).astype(np.float32)


def rotation_to_layout_axes(keypoint: np.ndarray, layout: Layout,
                            present: np.ndarray | None = None) -> np.ndarray | None:
    r"""The 3x3 rotation :func:`align_3d` applies, from the first frame in which the first
    person's spine and shoulder joints are all present (the centre joint counts as present
    whenever the person is, since :func:`center` makes it zero) and not degenerate; ``None`` if there
    is no such frame (or the layout lacks ``spine``/``shoulders``, or the data is not 3D).

    Rows are the new axes in old coordinates: ``y`` = unit spine (bottom -> top); ``x`` = the
    shoulder vector (left -> right) with its spine component removed, normalised; ``z = x × y``
    (right-handed).
    """
    if keypoint.shape[-1] != 3 or layout.spine is None or layout.shoulders is None:
        return None
    (bottom, top), (left, right) = layout.spine, layout.shoulders
    present = joint_present(keypoint[:1], None if present is None else present[:1])[0].copy()  # [T, V]
    present[:, layout.center] = present.any(axis=1)  # after center() the centre joint is exactly 0
    valid = present[:, [bottom, top, left, right]].all(axis=1)
    for frame in np.flatnonzero(valid):  # usually stops at the first frame
        pose = keypoint[0, frame].astype(np.float64)
        y_axis = pose[top] - pose[bottom]
        shoulders = pose[right] - pose[left]
        if np.linalg.norm(y_axis) < 1e-8:
            continue
        y_axis /= np.linalg.norm(y_axis)
        x_axis = shoulders - shoulders.dot(y_axis) * y_axis
        if np.linalg.norm(x_axis) < 1e-8:
            continue
        x_axis /= np.linalg.norm(x_axis)
        return np.stack([x_axis, y_axis, np.cross(x_axis, y_axis)])
    return None


def align_3d(keypoint: np.ndarray, layout: Layout, present: np.ndarray | None = None) -> np.ndarray:
    r"""Rotates 3D skeletons (about the origin, so centre first) so that, in the first valid
    frame of the first person, the spine (``layout.spine``, bottom -> top) points along +y and
    the shoulders (``layout.shoulders``, left -> right) point along +x as far as they can (their
    component perpendicular to the spine is exactly +x; the part along the spine stays, since
    real shoulders are not exactly perpendicular to the spine). One rotation for the whole
    sequence, so motion is preserved. Like 2s-AGCN's ``pre_normalization``, but with y up.

    Returned unchanged for 2D data, for layouts without ``spine`` or ``shoulders``, or when no
    frame has those joints.

    Example:
        >>> from skelgraph.graph.layouts import NTU25
        >>> kp = np.random.default_rng(0).normal(size=(1, 5, 25, 3)).astype(np.float32)
        >>> spine = align_3d(kp, NTU25)[0, 0, 1] - align_3d(kp, NTU25)[0, 0, 0]
        >>> np.allclose(spine[[0, 2]], 0, atol=1e-5) and bool(spine[1] > 0)
        True
    """
    rotation = rotation_to_layout_axes(keypoint, layout, present)
    if rotation is None:
        return keypoint.copy()
    return (keypoint.astype(np.float64) @ rotation.T).astype(np.float32)  # zeros stay zeros


def normalize_2d(keypoint: np.ndarray, img_shape: tuple[int, int]) -> np.ndarray:
    r"""Maps pixel coordinates to [-1, 1]: ``x' = (x - w/2) / (w/2)``, ``y' = (y - h/2) / (h/2)``
    for ``img_shape = (h, w)`` (PYSKL's ``PreNormalize2D``). Channels after the first two are
    left alone; undetected (all-zero) joints stay zero. Data already normalised to [0, 1], such
    as Kinetics-skeleton, maps to [-1, 1] with ``img_shape=(1, 1)``.

    Example:
        >>> normalize_2d(np.array([[[[0.0, 0.0], [320.0, 120.0], [640.0, 480.0]]]]), (480, 640))[0, 0].tolist()
        [[0.0, 0.0], [0.0, -0.5], [1.0, 1.0]]
    """
    h, w = img_shape
    if h <= 0 or w <= 0:
        raise ValueError(f"img_shape must be positive (h, w), got {img_shape}")
    out = np.array(keypoint, dtype=np.float32)
    scale = np.array([w / 2, h / 2], dtype=np.float32)
    out[..., :2] = (out[..., :2] - scale) / scale
    return np.where(joint_present(keypoint)[..., None], out, 0.0).astype(np.float32)


def scale_unit(keypoint: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    r"""Scales a whole sequence so that its largest present coordinate (in absolute value) is 1:
    every coordinate lands in ``[-1, 1]``, the origin stays where centring put it, and the
    proportions of the body and of its motion are kept (one factor for all axes and frames).
    This is the sequence-wise normalisation of the field's NW-UCLA recipes (CTR-GCN, Predict &
    Cluster scale each sequence to ``[-1, 1]``): subjects far from or near the camera, tall or
    short, give the same range. Absent joints stay zero; a sequence of zeros is returned as is.

    Example:
        >>> kp = np.array([[[[0.0, 2.0, -4.0]]]], np.float32)
        >>> scale_unit(kp).tolist()
        [[[[0.0, 0.5, -1.0]]]]
    """
    mask = joint_present(keypoint, present)  # [M, T, V]
    if not mask.any():
        return keypoint
    extent = float(np.abs(keypoint[mask]).max())
    if extent == 0.0:
        return keypoint
    return np.where(mask[..., None], keypoint / extent, keypoint).astype(np.float32)


_center, _normalize_2d, _scale_unit = center, normalize_2d, scale_unit  # preprocess_sequence's flags shadow the names


def preprocess_sequence(seq: SkeletonSequence, layout: Layout, *, max_persons: int | None = 2,
                        drop_empty: bool = True, center: bool = True, align: bool = True,
                        img_shape: tuple[int, int] | None = None,
                        center_per_frame: bool = True, scale: bool = False) -> SkeletonSequence:
    r"""Runs the standard steps on one sample; each can be switched off.

    1. ``img_shape`` given (2D pixel data): :func:`normalize_2d` to [-1, 1];
    2. ``max_persons`` not ``None``: :func:`select_persons` (denoise, keep the most active,
       pad to exactly ``max_persons``);
    3. ``drop_empty``: :func:`drop_empty_frames`;
    4. ``center``: :func:`center` on ``layout.center`` (per frame unless
       ``center_per_frame=False``);
    5. ``align``: :func:`align_3d` (a no-op for 2D data or layouts without spine/shoulders);
    6. ``scale`` (off by default): :func:`scale_unit`, the sequence into ``[-1, 1]``.

    Returns a new :class:`SkeletonSequence` (name, label and meta copied).

    Raises:
        SkeletonError: the joint count does not match ``layout``, or no frame is left.

    Example:
        >>> from skelgraph.graph.layouts import NTU25
        >>> kp = np.zeros((3, 6, 25, 3), np.float32); kp[0, 2:] = 1 + np.arange(75).reshape(25, 3)
        >>> out = preprocess_sequence(SkeletonSequence("s", kp), NTU25)
        >>> out.keypoint.shape
        (2, 4, 25, 3)
    """
    keypoint = check_keypoint(seq.keypoint, layout.num_joints, seq.name)
    score, present = seq.score, seq.present
    if img_shape is not None:
        keypoint = _normalize_2d(keypoint, img_shape)
    if max_persons is not None:
        keep = person_ranking(keypoint, max_persons, present)
        keypoint, score = _pad_persons(keypoint, keep, max_persons), _pad_persons(score, keep, max_persons)
        present = _pad_persons(present, keep, max_persons)
    if drop_empty:
        frames = person_present(keypoint, present).any(axis=0)
        keypoint, score = keypoint[:, frames], (score[:, frames] if score is not None else None)
        present = present[:, frames] if present is not None else None
        if keypoint.shape[1] == 0:
            raise SkeletonError(f"{seq.name}: no frame with a person in it")
    if center:
        keypoint = _center(keypoint, layout, per_frame=center_per_frame, present=present)
    if align:
        keypoint = align_3d(keypoint, layout, present)
    if scale:
        keypoint = _scale_unit(keypoint, present)
    return SkeletonSequence(name=seq.name, keypoint=np.ascontiguousarray(keypoint, dtype=np.float32),
                            score=None if score is None else np.ascontiguousarray(score, dtype=np.float32),
                            label=seq.label, meta=dict(seq.meta))
