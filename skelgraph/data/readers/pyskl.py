r"""PYSKL-style annotation pickles (the field's de-facto exchange format).

The pickle holds ``{'split': {split name: [frame_dir, ...]}, 'annotations': [ann, ...]}`` where
each ``ann`` has ``frame_dir`` (sample name), ``label`` (int), ``total_frames``, ``img_shape``
``(h, w)``, ``keypoint`` ``[M, T, V, C]`` and, for 2D sets, ``keypoint_score`` ``[M, T, V]``.
"""
from __future__ import annotations

import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint


def _load_pickle(path: Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    try:
        with path.open("rb") as f:
            content = pickle.load(f)
    except OSError as err:
        raise SkeletonError(f"{path}: cannot read: {err.strerror}") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as err:
        raise SkeletonError(f"{path}: not a readable pickle: {err}") from None
    if not isinstance(content, dict) or not isinstance(content.get("annotations"), list):
        raise SkeletonError(f"{path}: expected a dict with an 'annotations' list (PYSKL format)")
    split = content.get("split", {})
    if not isinstance(split, dict):
        raise SkeletonError(f"{path}: 'split' must be a dict of split name -> sample names")
    return content["annotations"], {str(k): [str(n) for n in v] for k, v in split.items()}


def annotation_to_sequence(ann: dict[str, Any], where: str) -> SkeletonSequence:
    r"""One PYSKL annotation dict as a :class:`SkeletonSequence` (meta: ``img_shape``,
    ``original_shape`` and ``total_frames`` where present)."""
    if not isinstance(ann, dict) or "keypoint" not in ann:
        raise SkeletonError(f"{where}: an annotation must be a dict with a 'keypoint' array")
    name = str(ann.get("frame_dir", where))
    where = f"{where}: {name}"
    keypoint = check_keypoint(ann["keypoint"], None, where)
    score = ann.get("keypoint_score")
    if score is not None:
        score = np.ascontiguousarray(score, dtype=np.float32)
        if score.shape != keypoint.shape[:3]:
            raise SkeletonError(f"{where}: keypoint_score has shape {score.shape}, expected "
                                f"{keypoint.shape[:3]}")
        if not np.isfinite(score).all():
            raise SkeletonError(f"{where}: non-finite value (NaN or inf) in keypoint_score")
    meta = {key: tuple(ann[key]) if key.endswith("shape") else ann[key]
            for key in ("img_shape", "original_shape", "total_frames") if key in ann}
    return SkeletonSequence(name=name, keypoint=keypoint, score=score, label=int(ann.get("label", -1)),
                            meta=meta)


def read_pyskl(path: str | Path) -> tuple[list[SkeletonSequence], dict[str, list[str]]]:
    r"""All samples of a PYSKL pickle and its predefined splits (split name -> sample names).

    Raises:
        SkeletonError: ``"<path>: <problem>"`` for a file that is not such a pickle or a bad
            sample (named after the path).
    """
    path = Path(path)
    annotations, split = _load_pickle(path)
    return [annotation_to_sequence(ann, f"{path}[{i}]") for i, ann in enumerate(annotations)], split


@lru_cache(maxsize=2)
def _cached(path: str, mtime: float) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    return _load_pickle(Path(path))


def pyskl_annotations(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    r"""The raw annotation dicts and splits of a PYSKL pickle, cached per process (keyed by path
    and modification time). Treat them as read-only."""
    path = Path(path)
    try:
        mtime = path.stat().st_mtime
    except OSError as err:
        raise SkeletonError(f"{path}: cannot read: {err.strerror}") from None
    return _cached(str(path), mtime)


def read_pyskl_item(path: str | Path, index: int) -> SkeletonSequence:
    r"""Sample ``index`` of a PYSKL pickle. The unpickled file is cached per process, so a
    worker pool that loads sample after sample reads it once per worker."""
    path = Path(path)
    annotations, _ = pyskl_annotations(path)
    return annotation_to_sequence(annotations[index], f"{path}[{index}]")
