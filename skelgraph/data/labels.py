r"""Class labels for any source: one table of *sample name -> class (and optionally the frames
of a segment)*, filled either from the sample names with a regular expression or from a label
file. ``skelgraph preprocess --label-from-name`` / ``--label-file`` build it for every reader.

**From names** (:func:`labels_from_names`): a regular expression with a named group ``class``
is searched in each sample name (the file stem); the group's text is the class. Other named
groups are stored in the sample's ``meta`` (as integers when they are digits), e.g. a
``subject`` for your own splits. Examples:

- Kinder-Gator ``POSE-p103_05-Bow-1455370188098``:
  ``POSE-p(?P<subject>\d+)_(?P<order>\d+)-(?P<class>.+?)-+\d+$`` (the class is the motion name;
  ``<order>`` is only the order it was performed in);
- UTD-MHAD ``a11_s3_t2_skeleton``: ``(?P<class>a\d+)_s(?P<subject>\d+)_t(?P<trial>\d+)``.

**From a file** (:func:`read_label_file`), one of:

- CSV, TSV or space-separated lines ``name,class`` (the whole sample) or
  ``name,class,first,last`` (one segment: the frames whose id is in ``first..last``, inclusive);
  an optional header line ``name,class[,first,last]``; ``#`` starts a comment line;
- JSON ``{"name": "class", ...}``;
- grouped lines, as UTKinect-Action3D's ``actionLabel.txt``: a line holding only a sample name,
  then one line ``class: first last`` per segment of it. ``NaN`` as a frame id marks a segment
  without frames; it is skipped and reported.

A row names a sample by its full name or by a suffix of it after ``_``, ``-``, ``.`` or a space
(``s01_e01`` names ``joints_s01_e01``); the full name wins. Frame ids are the source's own when
it has them (a table's frame-id column), else row numbers from 0. Segments become samples
named ``<sample>_<class>`` (``_2``, ``_3``... when a class repeats in one sample).

Classes are numbered in *natural* order of their names (numbers inside compare as numbers:
``a2`` < ``a10``, ``2`` < ``10``), whichever way they were given; the names are stored in the
HDF5 file. A sample the table does not name is kept unlabelled (``-1``) and counted.
"""
from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence


class LabelError(SkeletonError):
    """A label file or name pattern that cannot be used (the message names it)."""


@dataclass(frozen=True)
class Segment:
    r"""The class of a sample, or of a part of it.

    Attributes:
        class_name: The class.
        frames: ``(first, last)`` frame ids, inclusive; ``None`` = the whole sample.
        no_frames: The label file gave no frame range (``NaN``): nothing to cut, reported.
    """

    class_name: str
    frames: tuple[int, int] | None = None
    no_frames: bool = False


@dataclass(frozen=True)
class LabelTable:
    r"""Sample name -> segments, and the class names in label order.

    Attributes:
        entries: Name (or name suffix) -> its segments.
        class_names: Label ``i`` is ``class_names[i]`` (natural order).
        meta: Name -> extra facts (the pattern's other named groups).
        source: Where the table came from, for messages (``label file x.csv``...).
    """

    entries: dict[str, tuple[Segment, ...]]
    class_names: tuple[str, ...]
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "labels"

    @property
    def class_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.class_names)}

    def key_for(self, name: str) -> str | None:
        r"""The entry that names sample ``name``: itself, else its longest suffix after a
        separator that is an entry.

        Example:
            >>> table = LabelTable({"s01_e01": (Segment("walk"),)}, ("walk",))
            >>> table.key_for("joints_s01_e01"), table.key_for("joints_s01_e02")
            ('s01_e01', None)
        """
        if name in self.entries:
            return name
        for match in re.finditer(r"[_\-. ]", name):
            suffix = name[match.end():]
            if suffix in self.entries:
                return suffix
        return None


def natural_key(text: str) -> list[Any]:
    r"""Sort key that compares the numbers inside names as numbers.

    Example:
        >>> sorted(["a10", "a2", "a1"], key=natural_key)
        ['a1', 'a2', 'a10']
    """
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", text)]


def _ordered(classes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(classes), key=natural_key))


def labels_from_names(pattern: str, names: Iterable[str]) -> LabelTable:
    r"""A table from sample ``names`` by a regular expression with a ``class`` group (searched,
    not anchored); names it does not match stay out of the table.

    Raises:
        LabelError: the pattern is not a regular expression, has no ``class`` group, or matches
            no name at all.

    Example:
        >>> table = labels_from_names(r"(?P<class>a\d+)_s(?P<subject>\d+)", ["a10_s1_t1", "a2_s3_t1", "x"])
        >>> table.class_names, table.meta["a2_s3_t1"], table.key_for("x")
        (('a2', 'a10'), {'subject': 3}, None)
    """
    try:
        regex = re.compile(pattern)
    except re.error as err:
        raise LabelError(f"label pattern {pattern!r}: not a regular expression ({err})") from None
    if "class" not in regex.groupindex:
        raise LabelError(f"label pattern {pattern!r}: needs a named group (?P<class>...) for the class")
    entries: dict[str, tuple[Segment, ...]] = {}
    meta: dict[str, dict[str, Any]] = {}
    names = list(names)
    for name in names:
        match = regex.search(name)
        if match is None or not match.group("class"):
            continue
        entries[name] = (Segment(match.group("class")),)
        meta[name] = {key: int(value) if value.isdigit() else value
                      for key, value in match.groupdict().items() if key != "class" and value is not None}
    if names and not entries:
        raise LabelError(f"label pattern {pattern!r} matches no sample name (e.g. {names[0]!r})")
    return LabelTable(entries, _ordered(s.class_name for segs in entries.values() for s in segs), meta,
                      source=f"label pattern {pattern!r}")


def _frame(value: str, path: Path, lineno: int) -> int | None:
    """A frame id of a label file; ``None`` for NaN."""
    try:
        number = float(value)
    except ValueError:
        raise LabelError(f"{path}: line {lineno}: frame id {value!r} is not a number") from None
    if math.isnan(number):
        return None
    if number != int(number):
        raise LabelError(f"{path}: line {lineno}: frame id {value!r} is not an integer")
    return int(number)


def _segment(class_name: str, first: str, last: str, path: Path, lineno: int) -> Segment:
    a, b = _frame(first, path, lineno), _frame(last, path, lineno)
    if a is None or b is None:
        return Segment(class_name, None, no_frames=True)
    if b < a:
        raise LabelError(f"{path}: line {lineno}: last frame {b} before first frame {a}")
    return Segment(class_name, (a, b))


def read_label_file(path: str | Path) -> LabelTable:
    r"""A label file in one of the formats of the module docstring.

    Raises:
        LabelError: unreadable file, a line that fits no format, a bad frame id, no rows.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "actionLabel.txt")
        >>> _ = open(path, "w").write("s01_e01\nwalk: 252 390\nsitDown: 572 686\n")
        >>> table = read_label_file(path)
        >>> table.class_names, table.entries["s01_e01"][1].frames
        (('sitDown', 'walk'), (572, 686))
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise LabelError(f"{path}: cannot read the label file ({err.strerror})") from None
    except UnicodeDecodeError:
        raise LabelError(f"{path}: the label file is not text (binary content)") from None
    rows: dict[str, list[Segment]] = {}
    if path.suffix == ".json":
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as err:
            raise LabelError(f"{path}: not valid JSON: {err}") from None
        if not isinstance(spec, dict) or not all(isinstance(v, (str, int)) for v in spec.values()):
            raise LabelError(f"{path}: expected an object of sample name -> class name")
        rows = {str(k): [Segment(str(v))] for k, v in spec.items()}
    else:
        current: str | None = None
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if ":" in line and "," not in line and "\t" not in line:  # grouped: "class: first last"
                class_name, _, frames = line.partition(":")
                bounds = frames.split()
                if current is None or len(bounds) != 2 or not class_name.strip():
                    raise LabelError(f"{path}: line {lineno}: expected 'class: first last' after a sample name, "
                                     f"got {line!r}")
                rows[current].append(_segment(class_name.strip(), *bounds, path, lineno))
                continue
            fields = [f.strip() for f in (next(csv.reader([line])) if "," in line else line.split("\t")
                                          if "\t" in line else line.split())]
            if len(fields) == 1:  # grouped: a sample name heads its segments
                current = fields[0]
                rows.setdefault(current, [])
                continue
            if [f.lower() for f in fields[:2]] == ["name", "class"]:
                continue
            if len(fields) == 2:
                rows.setdefault(fields[0], []).append(Segment(fields[1]))
            elif len(fields) == 4:
                rows.setdefault(fields[0], []).append(_segment(fields[1], fields[2], fields[3], path, lineno))
            else:
                raise LabelError(f"{path}: line {lineno}: expected 'name,class' or 'name,class,first,last', "
                                 f"got {len(fields)} fields")
    entries = {name: tuple(segments) for name, segments in rows.items() if segments}
    if not entries:
        raise LabelError(f"{path}: no labels in the file")
    for name, segments in entries.items():
        if len(segments) > 1 and any(s.frames is None and not s.no_frames for s in segments):
            raise LabelError(f"{path}: sample {name!r} has a whole-sample label and other labels")
    return LabelTable(entries, _ordered(s.class_name for segs in entries.values() for s in segs),
                      source=f"label file {path}")


def apply_labels(seq: SkeletonSequence, table: LabelTable) -> list[SkeletonSequence | str]:
    r"""The labelled samples of ``seq``: itself with its class, or one sample per segment (frames
    chosen by frame id), or ``seq`` unlabelled (``label = -1``) when the table does not name it.
    A segment that cannot be cut gives an error message (a ``str`` naming it) instead.
    """
    key = table.key_for(seq.name)
    if key is None:
        seq.label = -1
        return [seq]
    index = table.class_index
    segments = table.entries[key]
    extra = table.meta.get(key, {})
    if len(segments) == 1 and segments[0].frames is None and not segments[0].no_frames:
        seq.label, seq.meta = index[segments[0].class_name], {**seq.meta, **extra}
        return [seq]
    ids = seq.frame_id if seq.frame_id is not None else np.arange(seq.num_frames)
    out: list[SkeletonSequence | str] = []
    seen: dict[str, int] = {}
    for segment in segments:
        seen[segment.class_name] = seen.get(segment.class_name, 0) + 1
        count = seen[segment.class_name]
        name = f"{seq.name}_{segment.class_name}" + (f"_{count}" if count > 1 else "")
        if segment.no_frames or segment.frames is None:
            out.append(f"{name}: segment without frames in the {table.source} (NaN)")
            continue
        first, last = segment.frames
        keep = (ids >= first) & (ids <= last)
        if not keep.any():
            out.append(f"{name}: no frame with an id in {first}..{last} (the sample's ids are "
                       f"{int(ids.min())}..{int(ids.max())})")
            continue
        out.append(SkeletonSequence(
            name=name, keypoint=seq.keypoint[:, keep],
            score=None if seq.score is None else seq.score[:, keep], label=index[segment.class_name],
            meta={**seq.meta, **extra, "segment_of": seq.name, "first_frame": first, "last_frame": last},
            frame_id=ids[keep]))
    return out
