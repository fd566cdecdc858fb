r"""The canonical skeleton sample as readers return it, with numpy alone (no torch), so reading and
preprocessing a dataset never imports the training stack.

On disk and in every reader a sample is ``keypoint`` float32 ``[M, T, V, C]`` (persons,
frames, joints, channels), optional ``score`` float32 ``[M, T, V]`` and an integer label.
A person absent in a frame has all-zero coordinates there (the field's convention).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


MAX_MESSAGE = 400  # characters of an error message shown (one quoting file content can be long)


class SkeletonError(ValueError):
    """Bad skeleton input; the message names the file (or sample) and the problem."""


def printable(message: str) -> str:
    r"""``message`` as one printable line: line breaks become spaces, control characters and
    raw bytes (binary file content quoted by a parser, as ``\x00``) become ``?``, and it is cut
    at :data:`MAX_MESSAGE` characters.

    Example:
        >>> printable("bad.skeleton: could not convert 'x\x00\\xff' to float\nline 2")
        "bad.skeleton: could not convert 'x??' to float line 2"
    """
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]", "?", message.replace("\n", " ").replace("\t", " "))
    text = re.sub(r"\\x[0-9a-fA-F]{2}", "?", text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def read_text(path: Path) -> str:
    r"""The text of a source file; :class:`SkeletonError` naming the file when it cannot be read
    or is not text."""
    try:
        return path.read_text()
    except OSError as err:
        raise SkeletonError(f"{path}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise SkeletonError(f"{path}: not a text file (binary content)") from None


@dataclass
class SkeletonSequence:
    r"""One sample as readers return it.

    Attributes:
        name (str): Sample name (file stem for file-based datasets).
        keypoint (np.ndarray): float32 ``[M, T, V, C]``; zeros where a person is absent.
        score (np.ndarray | None): float32 ``[M, T, V]`` detection confidences, if the source
            has them.
        label (int): Class id, 0-based; ``-1`` when unknown/unlabelled.
        meta (dict): Source-specific facts used for splits (``subject``, ``camera``,
            ``view``, ``setup``...).
        frame_id (np.ndarray | None): int64 ``[T]``, the source's id of each frame (a frame-id
            column), for cutting labelled segments by id; ``None`` = row numbers ``0..T-1``.
            Not stored in HDF5 files.
        present (np.ndarray | None): bool ``[M, T, V]``, which joints the source has, when its
            format says (a BVH file: all); ``None`` = the field's convention, present = non-zero.
            Used by preprocessing; not stored.
    """

    name: str
    keypoint: np.ndarray
    score: np.ndarray | None = None
    label: int = -1
    meta: dict[str, Any] = field(default_factory=dict)
    frame_id: np.ndarray | None = None
    present: np.ndarray | None = None

    @property
    def num_persons(self) -> int:
        return self.keypoint.shape[0]

    @property
    def num_frames(self) -> int:
        return self.keypoint.shape[1]


def check_keypoint(keypoint: np.ndarray, num_joints: int | None, where: str) -> np.ndarray:
    r"""Validates a ``[M, T, V, C]`` array and returns it as contiguous float32.

    Raises :class:`SkeletonError` (naming ``where``) for a wrong rank, no frames, no persons,
    a wrong joint count, or non-finite values.
    """
    keypoint = np.asarray(keypoint)
    if keypoint.ndim != 4:
        raise SkeletonError(f"{where}: keypoint must be [M, T, V, C], got shape {keypoint.shape}")
    m, t, v, c = keypoint.shape
    if m == 0:
        raise SkeletonError(f"{where}: no persons")
    if t == 0:
        raise SkeletonError(f"{where}: empty sequence (0 frames)")
    if num_joints is not None and v != num_joints:
        raise SkeletonError(f"{where}: {v} joints per person, the layout has {num_joints}")
    if c == 0:
        raise SkeletonError(f"{where}: no coordinate channels")
    keypoint = np.ascontiguousarray(keypoint, dtype=np.float32)
    if not np.isfinite(keypoint).all():
        bad = np.argwhere(~np.isfinite(keypoint))[0]
        raise SkeletonError(f"{where}: non-finite value (NaN or inf) at person {bad[0]}, frame {bad[1]}, "
                            f"joint {bad[2]}")
    return keypoint
