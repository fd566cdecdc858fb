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
           file's hierarchy
numpy      folder of ``*.npy``/``*.npz`` or one file                              by joint count
=========  =====================================================================  ==============

"By joint count" means 25 -> ``ntu25``, 17 -> ``coco17``, 18 -> ``openpose18``,
20 -> ``kinect_v1_20``; otherwise pass ``layout``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from skelgraph.data.readers.bvh import read_bvh, read_bvh_layout
from skelgraph.data.readers.ntu import NTU120_CLASS_NAMES, read_missing_list, read_ntu_sequence
from skelgraph.data.readers.numpy_io import read_numpy
from skelgraph.data.readers.nwucla import NWUCLA_CLASS_NAMES, list_nwucla_archive, read_nwucla_json, \
    read_nwucla_member
from skelgraph.data.readers.openpose import read_kinetics_json, read_kinetics_labels, read_label_names
from skelgraph.data.readers.pyskl import pyskl_annotations, read_pyskl_item
from skelgraph.data.sample import SkeletonError, SkeletonSequence
from skelgraph.graph.layouts import BUILTIN_LAYOUTS, Layout, get_layout

KINDS = ("ntu", "pyskl", "kinetics", "nwucla", "bvh", "numpy")

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
    """

    kind: str
    layout: Layout
    items: list
    load: Callable[[Any], SkeletonSequence]
    item_name: Callable[[Any], str]
    class_names: list[str] | None = None
    splits: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return len(self.items)


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


def _files(src: Path, *patterns: str) -> list[Path]:
    if src.is_file():
        return [src]
    return sorted({p for pattern in patterns for p in src.glob(pattern) if p.is_file()})


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


def open_source(kind: str, src: str | Path, layout: str | Path | Layout | None = None) -> Source:
    r"""Lists the samples of ``src`` (see the module docstring for what each kind accepts).

    Raises:
        SourceError: unknown ``kind``, ``src`` missing, or no samples found.
    """
    src = Path(src)
    if kind not in KINDS:
        raise SourceError(f"unknown source kind {kind!r}; use one of {', '.join(KINDS)}")
    if not src.exists():
        raise SourceError(f"{src}: no such file or folder")
    source = _OPENERS[kind](src, layout)
    if not source.items:
        raise SourceError(f"{src}: no {kind} samples found")
    return source


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


def _open_bvh(src: Path, layout: Any) -> Source:
    files = _files(src, "*.bvh")
    if layout is None and files:
        try:
            layout = read_bvh_layout(files[0])
        except SkeletonError as err:
            raise SourceError(f"cannot build a layout from the first file: {err}") from None
    return Source("bvh", _layout(layout, None, None, src) if files else get_layout("ntu25"), files, read_bvh,
                  _path_name)


def _open_numpy(src: Path, layout: Any) -> Source:
    files = _files(src, "*.npy", "*.npz")
    resolved = None
    if files:
        if layout is None:
            try:
                num_joints = read_numpy(files[0]).keypoint.shape[2]
            except SkeletonError as err:
                raise SourceError(f"cannot infer the layout from the first file: {err}") from None
            resolved = _layout(None, None, num_joints, src)
        else:
            resolved = get_layout(layout)
    return Source("numpy", resolved or get_layout("ntu25"), files,
                  partial(read_numpy, num_joints=resolved.num_joints if resolved else None), _path_name)


_OPENERS: dict[str, Callable[[Path, Any], Source]] = {
    "ntu": _open_ntu, "pyskl": _open_pyskl, "kinetics": _open_kinetics, "nwucla": _open_nwucla,
    "bvh": _open_bvh, "numpy": _open_numpy,
}
