r"""Delimited text with one row per frame: the CSV/TSV/space-separated exports of Kinect recorders,
motion-capture tools and pose estimators. One file is one sequence of one person.

Two shapes of file are read (:class:`TableFormat` says which):

- **Named columns** (a header row): a column is a joint coordinate when its name is
  ``<joint><sep><axis>``, ``<sep>`` one of nothing, ``_``, ``.``, ``-``, ``:`` or a space, and
  ``<axis>`` one of :attr:`TableFormat.axes` in either case. So ``HipCenterX``, ``hip_center_x``,
  ``hip_center.x``, ``Hip Center X`` and ``hipcenter:X`` all give joint ``HipCenter``/... axis x.
  A joint counts only when it has a column for every axis; joints keep the order of their first
  column. Every other column (``Timestamp``, ``User-ID``, ``Action``, a trailing empty column) is
  ignored, except the frame-id column if one is named.
- **Columns in order** (no header, as UTKinect's rows): but for ``skip_columns`` leading columns
  and the frame-id column, every column is a coordinate: joint 0's axes, then joint 1's...
  (``joint_names`` says which joints, in that order).

A frame-id column (``frame_column``) gives each row the source's frame id (kept as
:attr:`SkeletonSequence.frame_id`, for cutting labelled segments by id). Rows whose frame id
repeats the previous row's are dropped (recorders re-send a frame; the first row is kept).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint, read_text

_SEPARATORS = ("", "_", ".", "-", ":", " ")


@dataclass(frozen=True)
class TableFormat:
    r"""How a delimited text file holds joints.

    Args:
        delimiter (str | None): Field separator (``","``, ``"\t"``, ``";"``...); ``None``: a comma
            if the first line has one, else runs of whitespace. (default: ``None``)
        header (bool | None): The first row names the columns; ``None``: yes when it holds a
            field that is not a number. (default: ``None``)
        axes (str): Axis letters, in channel order. (default: ``"xyz"``)
        joint_names (tuple[str, ...] | None): Joints of a file without header, in column order.
        skip_columns (int): Leading columns that are not coordinates (no header); the frame-id
            column may be one of them or come on top. (default: ``0``)
        frame_column (str | int | None): Column of the frame ids: a header name, or a 0-based
            index. (default: ``None``: row numbers)
    """

    delimiter: str | None = None
    header: bool | None = None
    axes: str = "xyz"
    joint_names: tuple[str, ...] | None = None
    skip_columns: int = 0
    frame_column: str | int | None = None

    def __post_init__(self) -> None:
        if not self.axes or len(set(self.axes.lower())) != len(self.axes):
            raise ValueError(f"axes must be distinct letters, got {self.axes!r}")
        if self.skip_columns < 0:
            raise ValueError(f"skip_columns must be >= 0, got {self.skip_columns}")


def named_joint_columns(header: list[str], axes: str = "xyz") -> tuple[list[str], np.ndarray]:
    r"""Joints named in a header row and their columns (the rule in the module docstring).

    Returns ``(joint names, columns)``: columns int ``[V, len(axes)]``, the column of each axis of
    each joint.

    Example:
        >>> named_joint_columns(["Timestamp", "HeadX", "HeadY", "hand_l.x", "hand_l.y", "Index"], "xy")
        (['Head', 'hand_l'], array([[1, 2],
               [3, 4]]))
    """
    axes_lower = axes.lower()
    found: dict[str, dict[int, int]] = {}
    for column, raw in enumerate(header):
        name = raw.strip()
        if len(name) < 2 or name[-1].lower() not in axes_lower:
            continue
        joint = name[:-1]
        for sep in _SEPARATORS[1:]:
            if joint.endswith(sep):
                joint = joint[:-len(sep)]
                break
        if joint:
            found.setdefault(joint, {}).setdefault(axes_lower.index(name[-1].lower()), column)
    joints = [j for j, cols in found.items() if len(cols) == len(axes)]
    columns = np.array([[found[j][a] for a in range(len(axes))] for j in joints], dtype=np.int64)
    return joints, columns.reshape(len(joints), len(axes))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None or delimiter.isspace():
        return line.split()
    return next(csv.reader([line], delimiter=delimiter))


def read_table(path: str | Path, fmt: TableFormat = TableFormat()) -> SkeletonSequence:
    r"""One delimited text file as keypoint float32 ``[1, T, V, len(axes)]``.

    Joint order: the header's (named columns; the names go to ``meta["joints"]``) or
    ``fmt.joint_names`` (columns in order). ``frame_id`` is the frame-id column, or ``None``.

    Raises:
        SkeletonError: ``"<path>: <problem>"``: unreadable or binary file, no rows, no joint
            columns in the header, a column count that does not fit, a non-number, NaN or inf.
    """
    path = Path(path)
    text = read_text(path)
    if "\x00" in text:
        raise SkeletonError(f"{path}: not a text file (binary content)")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise SkeletonError(f"{path}: empty file")
    delimiter = fmt.delimiter
    if delimiter is None:
        delimiter = "," if "," in lines[0] else None
    first = _split(lines[0], delimiter)
    header = fmt.header if fmt.header is not None else not all(_is_number(f) for f in first if f.strip())
    frame_col = fmt.frame_column
    if header:
        joints, columns = named_joint_columns(first, fmt.axes)
        if not joints:
            raise SkeletonError(f"{path}: no joint columns in the header (expected names like HeadX, head_x, "
                                f"head.x for axes {fmt.axes!r})")
        if isinstance(frame_col, str):
            names = [f.strip() for f in first]
            if frame_col not in names:
                raise SkeletonError(f"{path}: no column {frame_col!r} for the frame ids")
            frame_col = names.index(frame_col)
        rows = lines[1:]
    else:
        if fmt.joint_names is None:
            raise SkeletonError(f"{path}: no header row, so the joints must be named (joint names / a layout)")
        if isinstance(frame_col, str):
            raise SkeletonError(f"{path}: no header row, so the frame column must be an index, got {frame_col!r}")
        joints = list(fmt.joint_names)
        taken = set(range(fmt.skip_columns)) | ({frame_col} if frame_col is not None else set())
        coordinate_cols = [c for c in range(len(first)) if c not in taken]
        expected = len(joints) * len(fmt.axes)
        if len(coordinate_cols) != expected:
            raise SkeletonError(f"{path}: {len(first)} columns, expected {expected} coordinates ({len(joints)} joints"
                                f" x {len(fmt.axes)} axes) + {len(taken)} other column(s)")
        columns = np.array(coordinate_cols, dtype=np.int64).reshape(len(joints), len(fmt.axes))
        rows = lines
    if not rows:
        raise SkeletonError(f"{path}: empty sequence (a header but no rows)")
    use = columns.reshape(-1).tolist() + ([frame_col] if frame_col is not None else [])
    try:
        values = np.loadtxt(io.StringIO("\n".join(rows)), delimiter=delimiter, usecols=use, dtype=np.float64,
                            ndmin=2, comments=None, quotechar=None if delimiter is None else '"')
    except ValueError as err:
        reason = str(err).splitlines()[0][:200]
        raise SkeletonError(f"{path}: not a table of numbers in the joint columns: {reason}") from None
    frame_id = None
    if frame_col is not None:
        raw_ids = values[:, -1]
        if not np.isfinite(raw_ids).all() or np.any(raw_ids != np.round(raw_ids)):
            raise SkeletonError(f"{path}: frame ids (column {frame_col}) must be integers")
        frame_id = raw_ids.astype(np.int64)
        keep = np.ones(len(frame_id), dtype=bool)
        keep[1:] = frame_id[1:] != frame_id[:-1]  # a re-sent frame: keep its first row
        values, frame_id = values[keep], frame_id[keep]
        values = values[:, :-1]
    keypoint = values.reshape(len(values), len(joints), len(fmt.axes))[None]
    keypoint = check_keypoint(keypoint, None, str(path))
    return SkeletonSequence(name=path.stem, keypoint=keypoint, label=-1, meta={"joints": joints} if header else {},
                            frame_id=frame_id)
