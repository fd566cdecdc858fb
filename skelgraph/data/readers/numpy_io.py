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
    magic = {".npy": b"\x93NUMPY", ".npz": b"PK"}.get(path.suffix)
    try:
        with path.open("rb") as f:
            head = f.read(6)
    except OSError as err:
        raise SkeletonError(f"{where}: cannot read: {err.strerror}") from None
    if magic is not None and not head.startswith(magic):
        raise SkeletonError(f"{where}: not a {path.suffix} file (it does not start like one)")
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


def numpy_num_persons(path: str | Path) -> int | None:
    r"""Persons ``M`` of a ``.npy``/``.npz`` sample from its array header alone (no data read):
    ``shape[0]`` of a ``[M, T, V, C]`` array, 1 for ``[T, V, C]``; ``None`` if unreadable (the
    reader then reports the file).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "two.npz")
        >>> np.savez(path, keypoint=np.zeros((2, 5, 17, 2)))
        >>> numpy_num_persons(path)
        2
    """
    path = Path(path)
    try:
        if path.suffix == ".npz":
            with zipfile.ZipFile(path) as archive, archive.open("keypoint.npy") as f:
                shape = _npy_shape(f)
        else:
            with path.open("rb") as f:
                shape = _npy_shape(f)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    return {3: 1, 4: shape[0]}.get(len(shape))


def _npy_shape(f) -> tuple[int, ...]:
    version = np.lib.format.read_magic(f)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return reader(f)[0]
