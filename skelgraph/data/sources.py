r"""What the ``preprocess`` command reads: a :class:`Source` lists the samples of one dataset
location as picklable handles and says how to load one, so a ``multiprocessing.Pool`` can
parse them in parallel (``pool.imap(source.load, source.items)``).

Kinds and what ``src`` may be:

=========  =====================================================================  ==============
kind       src                                                                    default layout
=========  =====================================================================  ==============
ntu        folder of ``*.skeleton`` (samples named in an official                 ``ntu25``
           ``*samples_with_missing_skeletons.txt`` in the folder are left out)
           or one file
pyskl      a PYSKL pickle (``.pkl``); its ``split`` becomes :attr:`Source.splits`  by joint count
kinetics   folder of clip ``*.json``; ``<folder>_label.json`` beside it (or any    ``openpose18``
           ``*_label.json`` in it) gives labels and drops ``has_skeleton: false``
           clips; ``label_name.txt`` in the folder or beside it gives class names
nwucla     folder of ``*.json``, the ``all_sqe.tar.gz`` archive, or one file       ``kinect_v1_20``
bvh        folder of ``*.bvh`` or one file; the layout comes from the first        from the file
           file's hierarchy, named after its skeleton; a file of another
           skeleton is refused (reported)
numpy      folder of ``*.npy``/``*.npz`` or one file                              by joint count
table      folder of delimited text (``*.csv``, ``*.tsv``, ``*.txt``, subfolders    by joint names
           too; files named ``label*``, ``actionLabel*``, ``split*``, ``readme*``
           are not data) or one file; one row per frame
           (:mod:`~skelgraph.data.readers.table`)
mat        folder of MATLAB ``*.mat`` (subfolders too) or one file (needs         by joint names
           scipy); one array per file (:mod:`~skelgraph.data.readers.matlab`),
           joints named by ``joints`` (e.g. ``utd_mhad``)
=========  =====================================================================  ==============

"By joint count" means 25 -> ``ntu25``, 17 -> ``coco17``, 18 -> ``openpose18``,
20 -> ``kinect_v1_20``; otherwise pass ``layout``. "By joint names" means the built-in layout
with the same joints (by :func:`~skelgraph.graph.joint_names.joint_key`), e.g. Kinder-Gator's
``HipCenterX, ...`` header or UTD-MHAD's order give ``kinect_v1_20``.

Joints mapped by name: ``to_layout`` reorders every sample's joints into that layout's order by
joint name (:mod:`skelgraph.graph.joint_names`), whatever order the source stores them in;
``joints`` names the stored joints of a source that has no names (a header-less table, a MATLAB
array, numpy arrays). A name that matches nothing is a one-line error naming it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from skelgraph.data.readers.bvh import read_bvh, read_bvh_layout
from skelgraph.data.readers.matlab import MatFormat, load_scipy_io, read_mat
from skelgraph.data.readers.ntu import NTU120_CLASS_NAMES, read_missing_list, read_ntu_sequence
from skelgraph.data.readers.numpy_io import numpy_num_persons, read_numpy
from skelgraph.data.readers.nwucla import NWUCLA_CLASS_NAMES, list_nwucla_archive, read_nwucla_json, \
    read_nwucla_member
from skelgraph.data.readers.openpose import read_kinetics_json, read_kinetics_labels, read_label_names
from skelgraph.data.readers.pyskl import pyskl_annotations, read_pyskl_item
from skelgraph.data.readers.table import TableFormat, read_table
from skelgraph.data.sequence import SkeletonError, SkeletonSequence
from skelgraph.graph.joint_names import joint_mapping, layout_with_joints, read_joint_map, read_joint_names
from skelgraph.graph.layouts import BUILTIN_LAYOUTS, Layout, LayoutError, get_layout

KINDS = ("ntu", "pyskl", "kinetics", "nwucla", "bvh", "numpy", "table", "mat")
SINGLE_PERSON_KINDS = ("nwucla", "bvh", "table", "mat")  # one person per sample as read

_LAYOUT_BY_JOINTS = {25: "ntu25", 17: "coco17", 18: "openpose18", 20: "kinect_v1_20"}


class SourceError(SkeletonError):
    """A source that cannot be opened (unknown kind, missing or empty location). A
    :class:`SkeletonError`, so callers that report bad input handle it too."""


@dataclass
class Source:
    r"""The samples of one dataset location.

    Attributes:
        kind: ``'ntu' | 'pyskl' | 'kinetics' | 'nwucla' | 'bvh' | 'numpy'``.
        layout: The skeleton format of every sample.
        items: Picklable handles, one per sample (paths, ``(archive, member)`` pairs, indices,
            ``(path, label)`` pairs for Kinetics).
        load: Picklable ``item -> SkeletonSequence`` (module-level function or ``partial``).
        item_name: ``item -> str`` for failure reports.
        class_names: Class names by label, when known.
        splits: Predefined splits, split name -> sample names (PYSKL pickles have them).
        sample_names: The sample name of each item, known before loading (file stems; PYSKL's
            ``frame_dir``); ``None``: the stems of :attr:`item_name`.
        joint_names: Names of the joints as the source stores them, when they differ from the
            layout's (before a mapping by name); for provenance.
        mapped: ``{"to": layout name, "dropped": [joint names]}`` when joints were mapped by name.
        num_persons: The most persons a sample holds, when the source knows it before loading
            (numpy arrays: from their headers); the default ``max_persons`` then keeps them all.
    """

    kind: str
    layout: Layout | None  # None only inside open_source, before a source without names is mapped
    items: list
    load: Callable[[Any], SkeletonSequence]
    item_name: Callable[[Any], str]
    class_names: list[str] | None = None
    splits: dict[str, list[str]] | None = None
    sample_names: list[str] | None = None
    joint_names: tuple[str, ...] | None = None
    mapped: dict[str, Any] | None = None
    num_persons: int | None = None

    def __len__(self) -> int:
        return len(self.items)

    def names(self) -> list[str]:
        """The sample name of each item (see :attr:`sample_names`)."""
        if self.sample_names is not None:
            return list(self.sample_names)
        return [item_stem(self.item_name(item)) for item in self.items]


def item_stem(item_name: str) -> str:
    """Sample name of a file or archive member (``dir/S001...A001.skeleton`` -> ``S001...A001``)."""
    return Path(item_name.split(":")[-1]).stem


def _path_name(item: Path) -> str:
    return str(item)


def _member_name(item: tuple[str, str]) -> str:
    return f"{item[0]}:{item[1]}"


def _load_member(item: tuple[str, str]) -> SkeletonSequence:
    return read_nwucla_member(*item)


def _pyskl_name(path: str, index: int) -> str:
    return f"{path}[{index}]"


def _first_name(item: tuple[Path, int | None]) -> str:
    return str(item[0])


def _load_kinetics(item: tuple[Path, int | None]) -> SkeletonSequence:
    path, label = item
    seq = read_kinetics_json(path)
    if label is not None:  # the label file wins over the clip's own label_index (as in ST-GCN)
        seq.label = label
    return seq


def _files(src: Path, *patterns: str, recursive: bool = False) -> list[Path]:
    if src.is_file():
        return [src]
    find = src.rglob if recursive else src.glob
    return sorted({p for pattern in patterns for p in find(pattern) if p.is_file()})


def _layout(layout: str | Path | Layout | None, default: str | None, num_joints: int | None, where: Path
            ) -> Layout:
    if layout is not None:
        return get_layout(layout)
    if default is not None:
        return BUILTIN_LAYOUTS[default]
    if num_joints in _LAYOUT_BY_JOINTS:
        return BUILTIN_LAYOUTS[_LAYOUT_BY_JOINTS[num_joints]]
    raise SourceError(f"{where}: samples have {num_joints} joints and no built-in layout matches; "
                      f"pass a layout (.toml)")


@dataclass(frozen=True)
class ReadOptions:
    r"""How to read a source beyond its kind (every field optional).

    Args:
        joints: Names of the stored joints, for sources without names (:func:`read_joint_names`:
            ``utd_mhad``, a layout name, a ``.toml`` layout, a file of names, ``"a,b,..."``).
        to_layout: Map every sample's joints by name onto this layout.
        joint_map: Explicit ``source joint -> layout joint`` pairs, applied before the name rule
            (:func:`read_joint_map`).
        drop_unmatched: Leave out source joints that match no joint of the layout (instead of
            an error).
        table: The delimited-text format (kind ``table``).
        mat: The MATLAB variable and dimension order (kind ``mat``).
    """

    joints: str | Path | tuple[str, ...] | None = None
    to_layout: str | Path | Layout | None = None
    joint_map: str | Path | dict[str, str] | None = None
    drop_unmatched: bool = False
    table: TableFormat = TableFormat()
    mat: MatFormat = MatFormat()


def open_source(kind: str, src: str | Path, layout: str | Path | Layout | None = None,
                options: ReadOptions = ReadOptions()) -> Source:
    r"""Lists the samples of ``src`` (see the module docstring for what each kind accepts).

    ``layout`` is the layout the samples are stored in; ``options.to_layout`` maps them by joint
    name onto another (or, with ``options.joints`` or a table's header, onto the built-in layout
    with the same joints).

    Raises:
        SourceError: unknown ``kind``, ``src`` missing, no samples found, joints that cannot be
            mapped by name (naming them).
    """
    src = Path(src)
    if kind not in KINDS:
        raise SourceError(f"unknown source kind {kind!r}; use one of {', '.join(KINDS)}")
    if not src.exists():
        raise SourceError(f"{src}: no such file or folder")
    try:
        stored_names = read_joint_names(options.joints) if options.joints is not None else None
        if kind == "table":
            source = _open_table(src, layout, options.table, stored_names)
        elif kind == "mat":
            source = _open_mat(src, layout, options.mat, stored_names)
        elif kind == "numpy" and stored_names is not None:
            source = _open_numpy(src, layout, num_joints=len(stored_names))
        else:
            source = _OPENERS[kind](src, layout)
        if not source.items:
            raise SourceError(f"{src}: no {kind} samples found")
        return _map_by_name(source, src, stored_names, layout, options)
    except LayoutError as err:
        raise SourceError(str(err)) from None


def _map_by_name(source: Source, src: Path, stored_names: tuple[str, ...] | None, layout: Any,
                 options: ReadOptions) -> Source:
    """``source`` with a load that reorders joints by name, when a mapping is asked for or needed."""
    per_file = source.kind == "table" and source.joint_names is not None  # each file's header names its joints
    names = source.joint_names if per_file else stored_names
    if options.to_layout is not None:
        target = get_layout(options.to_layout)
    elif names is not None and layout is not None:
        target = get_layout(layout)  # the stored joints are named and a layout is given: line them up
    elif names is not None:
        target = layout_with_joints(names)
        if target is None:
            raise SourceError(f"{src}: the joints ({', '.join(names)}) are not those of a built-in layout; "
                              f"map them with a target layout (--to-layout) or give a .toml layout")
    else:
        return source
    if names is None:
        if source.layout is None:
            raise SourceError(f"{src}: the joints have no names; name them (joints) or give a layout")
        names = source.layout.joints
    joint_map = read_joint_map(options.joint_map)
    index = joint_mapping(names, target, joint_map, options.drop_unmatched, where=str(src))
    load = partial(_load_mapped, source.load, target, None if per_file else index,
                   joint_map, options.drop_unmatched)
    kept = set(index.tolist())
    dropped = [n for i, n in enumerate(names) if i not in kept]
    return replace(source, layout=target, load=load, joint_names=tuple(names),
                   mapped={"to": target.name, "dropped": dropped})


def _load_mapped(load: Callable[[Any], SkeletonSequence], layout: Layout, index: Any,
                 joint_map: dict[str, str], drop_unmatched: bool, item: Any) -> SkeletonSequence:
    """Loads ``item`` and puts its joints in ``layout``'s order (``index``, or from the joint
    names the reader found in the file)."""
    seq = load(item)
    names = seq.meta.pop("joints", None)
    if index is None:
        try:
            index = joint_mapping(names, layout, joint_map, drop_unmatched, where=seq.name)
        except LayoutError as err:
            raise SkeletonError(str(err)) from None
    seq.keypoint = seq.keypoint[:, :, index]
    if seq.score is not None:
        seq.score = seq.score[:, :, index]
    return seq


def _open_ntu(src: Path, layout: Any) -> Source:
    files = _files(src, "*.skeleton")
    if src.is_dir():
        missing: set[str] = set()
        for listing in src.glob("*samples_with_missing_skeletons*.txt"):
            missing |= read_missing_list(listing)
        files = [f for f in files if f.name.removesuffix(".skeleton") not in missing]
    return Source("ntu", _layout(layout, "ntu25", None, src), files, read_ntu_sequence, _path_name,
                  class_names=list(NTU120_CLASS_NAMES))


def _open_pyskl(src: Path, layout: Any) -> Source:
    if not src.is_file():
        raise SourceError(f"{src}: a pyskl source is one pickle file")
    try:
        annotations, splits = pyskl_annotations(src)
    except SkeletonError as err:
        raise SourceError(str(err)) from None
    num_joints = None
    if annotations:
        try:
            num_joints = int(annotations[0]["keypoint"].shape[2])
        except (KeyError, TypeError, AttributeError, IndexError):
            raise SourceError(f"{src}[0]: annotation without a [M, T, V, C] 'keypoint' array") from None
    return Source("pyskl", _layout(layout, None, num_joints, src), list(range(len(annotations))),
                  partial(read_pyskl_item, src), partial(_pyskl_name, str(src)), splits=splits or None)


def _open_kinetics(src: Path, layout: Any) -> Source:
    files = [f for f in _files(src, "*.json") if not f.name.endswith("_label.json")]
    labels: dict[str, int] | None = None
    class_names = None
    if src.is_dir():
        label_files = sorted(src.glob("*_label.json")) + [src.parent / f"{src.name}_label.json"]
        for label_file in label_files:
            if label_file.is_file():
                try:
                    info = read_kinetics_labels(label_file)
                except SkeletonError as err:
                    raise SourceError(str(err)) from None
                labels = {**(labels or {}), **{k: int(v.get("label_index", -1)) for k, v in info.items()}}
                files = [f for f in files if info.get(f.stem, {}).get("has_skeleton", True)]
        for names_file in (src / "label_name.txt", src.parent / "label_name.txt"):
            if names_file.is_file():
                class_names = read_label_names(names_file)
                break
    items = [(f, labels.get(f.stem) if labels else None) for f in files]
    return Source("kinetics", _layout(layout, "openpose18", None, src), items, _load_kinetics, _first_name,
                  class_names=class_names)


def _open_nwucla(src: Path, layout: Any) -> Source:
    names = list(NWUCLA_CLASS_NAMES)
    if src.is_file() and src.name.endswith((".tar.gz", ".tgz", ".tar")):
        try:
            members = list_nwucla_archive(src)
        except SkeletonError as err:
            raise SourceError(str(err)) from None
        return Source("nwucla", _layout(layout, "kinect_v1_20", None, src), [(str(src), m) for m in members],
                      _load_member, _member_name, class_names=names)
    return Source("nwucla", _layout(layout, "kinect_v1_20", None, src), _files(src, "*.json"),
                  read_nwucla_json, _path_name, class_names=names)


FIRST_TRIES = 50  # files tried for the layout before the source is declared unreadable


def _first_readable(src: Path, files: list[Path], read: Callable[[Path], Any], what: str) -> Any:
    r"""``read`` of the first file that can be read (bad files are skipped, as every bad file is:
    the run lists them in its report); an error only when none of the first :data:`FIRST_TRIES` can."""
    first_error = None
    for path in files[:FIRST_TRIES]:
        try:
            return read(path)
        except SkeletonError as err:
            first_error = first_error or err
    tried = len(files[:FIRST_TRIES])
    raise SourceError(f"{src}: cannot {what}: none of the {'first ' if tried < len(files) else ''}{tried} file(s) "
                      f"could be read (first: {first_error})")


def _open_bvh(src: Path, layout: Any) -> Source:
    files = _files(src, "*.bvh")
    load: Callable[[Any], SkeletonSequence] = read_bvh
    if layout is None and files:
        layout = _first_readable(src, files, read_bvh_layout, "build a layout")
        load = partial(_load_bvh_of_rig, layout)  # every file must have the first one's skeleton
    return Source("bvh", _layout(layout, None, None, src) if files else get_layout("ntu25"), files, load,
                  _path_name)


def _load_bvh_of_rig(layout: Layout, path: Path) -> SkeletonSequence:
    seq = read_bvh(path)
    if seq.meta.get("skeleton") != layout.name:
        raise SkeletonError(f"{path}: another skeleton ({seq.meta.get('skeleton')}, {seq.keypoint.shape[2]} joints) "
                            f"than the layout's, {layout.name} from {layout.source}; preprocess each rig on its own "
                            f"(or give --layout)")
    return seq


def _open_numpy(src: Path, layout: Any, num_joints: int | None = None) -> Source:
    files = _files(src, "*.npy", "*.npz")
    persons = [m for m in map(numpy_num_persons, files) if m is not None]
    num_persons = max(persons) if persons else None
    if num_joints is not None:  # the joints are named: the layout comes from the mapping by name
        return Source("numpy", None, files, partial(read_numpy, num_joints=num_joints), _path_name,
                      num_persons=num_persons)
    resolved = None
    if files:
        if layout is None:
            num_joints = _first_readable(src, files, lambda f: read_numpy(f).keypoint.shape[2], "infer the layout")
            resolved = _layout(None, None, num_joints, src)
        else:
            resolved = get_layout(layout)
    return Source("numpy", resolved or get_layout("ntu25"), files,
                  partial(read_numpy, num_joints=resolved.num_joints if resolved else None), _path_name,
                  num_persons=num_persons)


def _load_table(fmt: TableFormat, path: Path) -> SkeletonSequence:
    return read_table(path, fmt)


def _open_table(src: Path, layout: Any, fmt: TableFormat, stored_names: tuple[str, ...] | None) -> Source:
    files = _files(src, "*.csv", "*.tsv", "*.txt", recursive=True)
    if src.is_dir():  # label and split files often sit beside the data
        files = [f for f in files if not f.stem.lower().startswith(("label", "actionlabel", "split", "readme"))]
    if stored_names is None and layout is not None:
        stored_names = get_layout(layout).joints
    fmt = replace(fmt, joint_names=stored_names)
    header_names = None
    if files:
        header_names = _first_readable(src, files, lambda f: read_table(f, fmt).meta.get("joints"),
                                       "read the joint names")
    return Source("table", get_layout(layout) if layout is not None else None, files, partial(_load_table, fmt),
                  _path_name, joint_names=tuple(header_names) if header_names else None)


def _load_mat(fmt: MatFormat, path: Path) -> SkeletonSequence:
    return read_mat(path, fmt)


def _open_mat(src: Path, layout: Any, fmt: MatFormat, stored_names: tuple[str, ...] | None) -> Source:
    try:
        load_scipy_io()
    except ImportError as err:
        raise SourceError(str(err)) from None
    files = _files(src, "*.mat", recursive=True)
    if stored_names is None and layout is None:
        raise SourceError(f"{src}: a .mat array does not name its joints; name them (--joints utd_mhad, "
                          f"a layout, or 'name,name,...')")
    return Source("mat", get_layout(layout) if layout is not None else None, files, partial(_load_mat, fmt),
                  _path_name)


_OPENERS: dict[str, Callable[[Path, Any], Source]] = {
    "ntu": _open_ntu, "pyskl": _open_pyskl, "kinetics": _open_kinetics, "nwucla": _open_nwucla,
    "bvh": _open_bvh, "numpy": _open_numpy,
}
