r"""Single-sample numpy files: ``.npy`` holding ``[M, T, V, C]`` (or ``[T, V, C]``, one person) and
``.npz`` with the keys ``keypoint`` (same shapes), optional ``score`` (``[M, T, V]`` / ``[T, V]``)
and optional ``label`` (int). The sample name is the file stem."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint


def read_numpy(path: str | Path, num_joints: int | None = None) -> SkeletonSequence:
    r"""Reads a ``.npy`` or ``.npz`` sample; ``num_joints`` (if given) is checked.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "walk.npy")
        >>> np.save(path, np.ones((8, 17, 2)))
        >>> seq = read_numpy(path)
        >>> seq.name, seq.keypoint.shape, seq.keypoint.dtype, seq.label
        ('walk', (1, 8, 17, 2), dtype('float32'), -1)
    """
    path = Path(path)
    where = str(path)
    score, label = None, -1
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if "keypoint" not in archive.files:
                    raise SkeletonError(f"{where}: no 'keypoint' array (keys: {', '.join(archive.files)})")
                keypoint = archive["keypoint"]
                if "score" in archive.files:
                    score = archive["score"]
                if "label" in archive.files:
                    label = int(archive["label"])
        elif path.suffix == ".npy":
            keypoint = np.load(path, allow_pickle=False)
        else:
            raise SkeletonError(f"{where}: expected a .npy or .npz file")
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        if isinstance(err, SkeletonError):
            raise
        raise SkeletonError(f"{where}: cannot read: {err}") from None
    if keypoint.ndim == 3:
        keypoint = keypoint[None]
        if score is not None and score.ndim == 2:
            score = score[None]
    keypoint = check_keypoint(keypoint, num_joints, where)
    if score is not None:
        score = np.ascontiguousarray(score, dtype=np.float32)
        if score.shape != keypoint.shape[:3]:
            raise SkeletonError(f"{where}: score has shape {score.shape}, expected {keypoint.shape[:3]}")
        if not np.isfinite(score).all():
            raise SkeletonError(f"{where}: non-finite value (NaN or inf) in score")
    return SkeletonSequence(name=path.stem, keypoint=keypoint, score=score, label=label)
