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

**Long format** (``long=True``, :func:`read_long_table`): one row per joint, the common export of
pose estimators and mocap tools, ``frame, joint, x, y, z[, score]``:

- with a header, the columns are found by name (any case): the frame (``frame``, ``frame_id``,
  ``frame_index``, ``frame_number``, or ``frame_column``), the joint (``joint``, ``joint_name``,
  ``joint_id``, ``keypoint``, ``landmark``, or ``joint_column``), one column per axis named by its
  letter (``x``, ``y``, ``z``), and an optional ``score`` (``confidence``, ``visibility``,
  ``likelihood``); other columns are ignored;
- without a header, the columns are in this order after ``skip_columns``: the frame (when
  ``frame_column`` is given, at that index), the joint (``joint_column``), the axes, and a score
  when one more column follows.

The joint is a name (joints in order of first appearance, names kept for mapping by name) or a
0-based index into ``joint_names``. Rows of one frame id form one frame, frames in increasing id;
a joint missing from a frame is left at zero with score 0; a repeated ``(frame, joint)`` keeps
its first row. **Without a frame column**, every frame has the same number of joint rows in a
fixed order (``len(joint_names)``, or the number of distinct joints in the joint column), and
consecutive blocks of that many rows are the frames.
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
            index. (default: ``None``: row numbers; in the long format, a column named ``frame``...)
        long (bool): One row per joint (:func:`read_long_table`) instead of one per frame.
            (default: ``False``)
        joint_column (str | int | None): Long format: the column of joint names or indices, a
            header name or a 0-based index. (default: ``None``: a column named ``joint``...; without
            a header, none: rows in the joints' order)
    """

    delimiter: str | None = None
    header: bool | None = None
    axes: str = "xyz"
    joint_names: tuple[str, ...] | None = None
    skip_columns: int = 0
    frame_column: str | int | None = None
    long: bool = False
    joint_column: str | int | None = None

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


def _lines(path: Path, fmt: TableFormat) -> tuple[list[str], str | None, list[str], bool]:
    """The non-empty lines of a text file, its delimiter, its first row split, and whether it is a header."""
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
    return lines, delimiter, first, header


def read_table(path: str | Path, fmt: TableFormat = TableFormat()) -> SkeletonSequence:
    r"""One delimited text file as keypoint float32 ``[1, T, V, len(axes)]``.

    Joint order: the header's (named columns; the names go to ``meta["joints"]``) or
    ``fmt.joint_names`` (columns in order). ``frame_id`` is the frame-id column, or ``None``.

    Raises:
        SkeletonError: ``"<path>: <problem>"``: unreadable or binary file, no rows, no joint
            columns in the header, a column count that does not fit, a non-number, NaN or inf.
    """
    path = Path(path)
    if fmt.long:
        return read_long_table(path, fmt)
    lines, delimiter, first, header = _lines(path, fmt)
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


#: Header names (compared in lower case, with spaces and dashes as ``_``) of the long format's columns.
FRAME_NAMES = ("frame", "frame_id", "frame_index", "frame_number", "frame_no", "frameid")
JOINT_NAMES = ("joint", "joint_name", "joint_id", "joint_index", "jointname", "keypoint", "landmark")
SCORE_NAMES = ("score", "confidence", "visibility", "likelihood")


def _column(names: list[str], asked: str | int | None, defaults: tuple[str, ...], what: str,
            path: Path) -> int | None:
    """Index of a long-format column: the one asked for (a name or an index), else the first
    header name among ``defaults``, else None."""
    if isinstance(asked, int):
        if not 0 <= asked < len(names):
            raise SkeletonError(f"{path}: no column {asked} for the {what} ({len(names)} columns)")
        return asked
    keys = [n.strip().lower().replace(" ", "_").replace("-", "_") for n in names]
    if asked is not None:
        if asked.strip().lower() not in keys:
            raise SkeletonError(f"{path}: no column {asked!r} for the {what}")
        return keys.index(asked.strip().lower())
    return next((keys.index(d) for d in defaults if d in keys), None)


def read_long_table(path: str | Path, fmt: TableFormat = TableFormat(long=True)) -> SkeletonSequence:
    r"""One long-format file (one row per joint; the rules in the module docstring) as keypoint
    float32 ``[1, T, V, len(axes)]`` (and ``score`` ``[1, T, V]`` when the file has one).

    Raises:
        SkeletonError: ``"<path>: <problem>"``: no axis or joint columns, a joint index without
            ``joint_names`` or out of range, frames of different sizes (no frame column), a
            non-number, NaN or inf.
    """
    path = Path(path)
    lines, delimiter, first, header = _lines(path, fmt)
    axes = fmt.axes.lower()
    rows = [_split(line, delimiter) for line in (lines[1:] if header else lines)]
    if not rows:
        raise SkeletonError(f"{path}: empty sequence (a header but no rows)")
    if header:
        names = [f.strip() for f in first]
        frame_col = _column(names, fmt.frame_column, FRAME_NAMES, "frame ids", path)
        joint_col = _column(names, fmt.joint_column, JOINT_NAMES, "joints", path)
        lower = [n.lower() for n in names]
        missing = [a for a in axes if a not in lower]
        if missing:
            raise SkeletonError(f"{path}: no column for axis {missing[0]!r} (the long format names one column per "
                                f"axis: {', '.join(axes)})")
        axis_cols = [lower.index(a) for a in axes]
        score_col = _column(names, None, SCORE_NAMES, "scores", path)
    else:
        if isinstance(fmt.frame_column, str) or isinstance(fmt.joint_column, str):
            raise SkeletonError(f"{path}: no header row, so the frame and joint columns must be indices")
        frame_col, joint_col = fmt.frame_column, fmt.joint_column
        taken = set(range(fmt.skip_columns)) | {c for c in (frame_col, joint_col) if c is not None}
        rest = [c for c in range(len(first)) if c not in taken]
        if len(rest) not in (len(axes), len(axes) + 1):
            raise SkeletonError(f"{path}: {len(first)} columns; the long format without a header needs the "
                                f"{len(axes)} axes ({axes}) and at most a score besides {len(taken)} other column(s)")
        axis_cols = rest[:len(axes)]
        score_col = rest[len(axes)] if len(rest) > len(axes) else None
    width = max([*axis_cols, *(c for c in (frame_col, joint_col, score_col) if c is not None)]) + 1
    short = next((i for i, r in enumerate(rows) if len(r) < width), None)
    if short is not None:
        raise SkeletonError(f"{path}: row {short + 1 + header} has {len(rows[short])} fields, expected {width}")
    try:
        coords = np.array([[float(r[c]) for c in axis_cols] for r in rows], dtype=np.float64)
        score = None if score_col is None else np.array([float(r[score_col]) for r in rows], dtype=np.float64)
        frames = None if frame_col is None else np.array([float(r[frame_col]) for r in rows])
    except ValueError as err:
        raise SkeletonError(f"{path}: not a number in a coordinate, score or frame column: {err}") from None
    if frames is not None and (not np.isfinite(frames).all() or np.any(frames != np.round(frames))):
        raise SkeletonError(f"{path}: frame ids (column {frame_col}) must be integers")
    joint_of, joint_names, named = _joint_ids(rows, joint_col, fmt.joint_names, path)
    v = len(joint_names)
    if frames is None:  # fixed joint rows per frame, in order
        if len(rows) % v:
            raise SkeletonError(f"{path}: {len(rows)} rows is not a whole number of frames of {v} joint rows "
                                f"(no frame column)")
        frame_of = np.arange(len(rows)) // v
        if joint_of is None:
            joint_of = np.arange(len(rows)) % v
        frame_id = None
    else:
        frame_id, frame_of = np.unique(frames.astype(np.int64), return_inverse=True)
        if joint_of is None:
            raise SkeletonError(f"{path}: a frame column but no joint column: name the joint of each row "
                                f"(a column named joint, or joint_column)")
    t = int(frame_of.max()) + 1
    keypoint = np.zeros((t, v, len(axes)), dtype=np.float64)
    scores = np.zeros((t, v), dtype=np.float64)
    seen = np.zeros((t, v), dtype=bool)
    for row in range(len(rows)):  # the first row of a (frame, joint) wins
        f, j = frame_of[row], joint_of[row]
        if not seen[f, j]:
            seen[f, j] = True
            keypoint[f, j] = coords[row]
            if score is not None:
                scores[f, j] = score[row]
    keypoint = check_keypoint(keypoint[None], None, str(path))
    out_score = None
    if score is not None:
        if not np.isfinite(scores).all():
            raise SkeletonError(f"{path}: non-finite score (NaN or inf)")
        out_score = scores[None].astype(np.float32)
    return SkeletonSequence(name=path.stem, keypoint=keypoint, score=out_score, label=-1,
                            meta={"joints": joint_names} if named else {}, frame_id=frame_id)


def _joint_ids(rows: list[list[str]], joint_col: int | None, joint_names: tuple[str, ...] | None,
               path: Path) -> tuple[np.ndarray | None, list[str], bool]:
    """``(joint id of each row or None, joint names, whether the names come from the file)``."""
    if joint_col is None:
        if joint_names is None:
            raise SkeletonError(f"{path}: no joint column, so the joints must be named in order (joint names / "
                                f"a layout)")
        return None, list(joint_names), False
    keys = [r[joint_col].strip() for r in rows]
    if all(k.lstrip("-").isdigit() for k in keys):  # indices into the named joints
        if joint_names is None:
            raise SkeletonError(f"{path}: the joints are given by index, so they must be named (joint names / a "
                                f"layout)")
        ids = np.array([int(k) for k in keys], dtype=np.int64)
        bad = ids[(ids < 0) | (ids >= len(joint_names))]
        if len(bad):
            raise SkeletonError(f"{path}: joint index {int(bad[0])} is outside the {len(joint_names)} named joints")
        return ids, list(joint_names), False
    order = list(dict.fromkeys(keys))
    position = {name: i for i, name in enumerate(order)}
    return np.array([position[k] for k in keys], dtype=np.int64), order, True
