r"""Kinetics-skeleton (ST-GCN) / OpenPose JSON, one clip per file::

    {"data": [{"frame_index": 1, "skeleton": [{"pose": [x0, y0, ..., x17, y17],
                                               "score": [s0, ..., s17]}, ...]}, ...],
     "label": "tying tie", "label_index": 370}

``pose`` holds the 18 OpenPose keypoints normalised by the frame size (values in about
[0, 1]); an undetected keypoint has score 0 (and x = y = 0). ``frame_index`` is 1-based.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint

NUM_JOINTS = 18


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as err:
        raise SkeletonError(f"{path}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise SkeletonError(f"{path}: not a text file (binary content)") from None
    except json.JSONDecodeError as err:
        raise SkeletonError(f"{path}: not valid JSON: {err}") from None


def read_kinetics_json(path: str | Path, max_persons: int = 2, max_persons_in: int = 5,
                       num_joints: int = NUM_JOINTS) -> SkeletonSequence:
    r"""A Kinetics-skeleton clip, with the ST-GCN feeder's person handling.

    Per frame, the first ``max_persons_in`` detections fill person slots in file order; then,
    per frame, the slots are sorted by summed keypoint score (highest first) and the first
    ``max_persons`` kept. So slot 0 is the most confident person of each frame, not one tracked
    identity, exactly as in ST-GCN (``feeder_kinetics.py``). Unlike the feeder, coordinates stay
    in [0, 1] (centring is preprocessing's job) and frame ``k`` (1-based) goes to row ``k - 1``.
    Coordinates are zeroed where the score is 0 (undetected).

    Returns:
        :class:`SkeletonSequence` with keypoint float32 ``[max_persons, T, 18, 2]`` (``T`` = the
        largest ``frame_index``), score ``[max_persons, T, 18]``, label = ``label_index`` (``-1``
        when absent), meta ``{"label_name": ...}``.

    Raises:
        SkeletonError: ``"<path>: <problem>"`` for invalid JSON, a wrong structure, no frames,
            a wrong keypoint count or non-finite values.
    """
    path = Path(path)
    content = _load_json(path)
    if not isinstance(content, dict) or not isinstance(content.get("data"), list):
        raise SkeletonError(f"{path}: expected an object with a 'data' list of frames (Kinetics-skeleton)")
    frames = content["data"]
    if not frames:
        raise SkeletonError(f"{path}: empty sequence (no frames in 'data')")
    rows: list[int] = []  # (frame row, slot) of every kept detection
    slots: list[int] = []
    poses: list[Any] = []
    scores: list[Any] = []
    num_frames = 0
    for k, frame in enumerate(frames):
        try:
            row = int(frame["frame_index"]) - 1
            skeletons = frame["skeleton"]
        except (TypeError, KeyError, ValueError):
            raise SkeletonError(f"{path}: frame {k}: expected {{'frame_index': int, 'skeleton': [...]}}") from None
        if row < 0 or not isinstance(skeletons, list):
            raise SkeletonError(f"{path}: frame {k}: bad frame_index or 'skeleton' is not a list")
        num_frames = max(num_frames, row + 1)
        for m, person in enumerate(skeletons[:max_persons_in]):
            if not isinstance(person, dict) or "pose" not in person or "score" not in person:
                raise SkeletonError(f"{path}: frame {k}: a person must have 'pose' and 'score'")
            rows.append(row)
            slots.append(m)
            poses.append(person["pose"])
            scores.append(person["score"])
    keypoint = np.zeros((max_persons_in, num_frames, num_joints, 2), dtype=np.float32)
    score = np.zeros((max_persons_in, num_frames, num_joints), dtype=np.float32)
    if poses:
        try:
            pose_arr = np.asarray(poses, dtype=np.float32)
            score_arr = np.asarray(scores, dtype=np.float32)
        except (ValueError, TypeError):
            raise SkeletonError(f"{path}: 'pose'/'score' lists of different lengths or non-numbers") from None
        if pose_arr.shape[1:] != (2 * num_joints,) or score_arr.shape[1:] != (num_joints,):
            raise SkeletonError(f"{path}: {pose_arr.shape[-1] // 2} keypoints per person, expected {num_joints} "
                                f"(pose has {2 * num_joints} numbers, score {num_joints})")
        keypoint[slots, rows] = pose_arr.reshape(-1, num_joints, 2)
        score[slots, rows] = score_arr
    if not np.isfinite(score).all():
        raise SkeletonError(f"{path}: non-finite value (NaN or inf) in a score")
    keypoint[score == 0] = 0.0
    # ST-GCN: per frame, order the slots by summed score, highest first (stable for ties)
    order = np.argsort(-score.sum(axis=2), axis=0, kind="stable")  # [P, T]
    keypoint = np.take_along_axis(keypoint, order[:, :, None, None], axis=0)[:max_persons]
    score = np.take_along_axis(score, order[:, :, None], axis=0)[:max_persons]
    if keypoint.shape[0] < max_persons:
        pad = max_persons - keypoint.shape[0]
        keypoint = np.concatenate([keypoint, np.zeros((pad, *keypoint.shape[1:]), np.float32)])
        score = np.concatenate([score, np.zeros((pad, *score.shape[1:]), np.float32)])
    keypoint = check_keypoint(keypoint, num_joints, str(path))
    label = content.get("label_index", -1)
    meta = {"label_name": content["label"]} if "label" in content else {}
    return SkeletonSequence(name=path.stem, keypoint=keypoint, score=np.ascontiguousarray(score),
                            label=int(label) if label is not None else -1, meta=meta)


def read_kinetics_labels(path: str | Path) -> dict[str, dict[str, Any]]:
    r"""A ``kinetics_{train,val}_label.json`` file: video id -> ``{has_skeleton, label,
    label_index}``."""
    path = Path(path)
    content = _load_json(path)
    if not isinstance(content, dict) or not all(isinstance(v, dict) for v in content.values()):
        raise SkeletonError(f"{path}: expected an object of video id -> {{has_skeleton, label, label_index}}")
    return content


def read_label_names(path: str | Path) -> list[str]:
    r"""Class names, one per line (line ``i`` names label ``i``), e.g. Kinetics' ``label_name.txt``."""
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
