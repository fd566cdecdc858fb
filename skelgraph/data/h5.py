r"""HDF5 storage of a preprocessed skeleton dataset.

One file holds every sample, all frames concatenated (the layout DESIGN.md gives)::

    keypoint   float32 [sum T, M, V, C]   chunked, compressed
    score      float32 [sum T, M, V]      only when the source has confidences
    offsets    int64   [N + 1]            sample i is frames offsets[i]:offsets[i+1]
    label      int64   [N]                -1 = unlabelled
    name       str     [N]
    meta       str     [N]                JSON of source facts (subject, view, ...)
    split/<s>  int64   [n_s]              sample indices of split s (sorted)
    attrs: format_version, layout (JSON), class_names (JSON), num_persons, provenance (JSON)

Files are written under a temporary name beside the target and renamed at the end, so an
interrupted run never leaves a half-written file and never destroys an existing one; the
temporaries of killed runs are removed by the next write (:mod:`skelgraph.data.files`).
"""
from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from skelgraph.data.files import GuardedFile, check_replaceable, remove_stale_temporaries, temporary_path
from skelgraph.data.sequence import SkeletonError, SkeletonSequence
from skelgraph.graph.layouts import Layout, LayoutError, layout_from_json

FORMAT_VERSION = 1
# ~ 256*2*25*3*4 B = 150 KiB per chunk for NTU, 60 KiB for NW-UCLA: one to a few samples per chunk. 1024-frame
# chunks compressed 2 % better and read 1.6x slower (experiments/bench/storage.py)
_CHUNK_FRAMES = 256
GZIP_LEVEL = 4  # level 9 saves under 1 % more, writes 3x slower


SplitRule = Callable[[list[tuple[str, dict[str, Any]]]], dict[str, list[str]]]


class H5FormatError(SkeletonError):
    """The file is not a readable skelgraph HDF5 file (corrupt, truncated or foreign)."""


#: What every skelgraph dataset file holds.
DATASET_KEYS = ("keypoint", "offsets", "label", "name")


def is_dataset_file(path: str | Path) -> bool:
    """Whether ``path`` is an HDF5 file holding a skelgraph dataset (what ``write_h5`` may replace)."""
    try:
        with h5py.File(path, "r") as f:
            return all(key in f for key in DATASET_KEYS)
    except (OSError, ValueError):
        return False


def write_h5(path: str | Path, samples: Iterable[SkeletonSequence], *, layout: Layout,
             num_persons: int, class_names: list[str] | None = None,
             splits: dict[str, list[str]] | SplitRule | None = None, provenance: dict[str, Any] | None = None,
             compression: str | None = "gzip", shuffle: bool = True, decimals: int | None = None) -> int:
    r"""Streams ``samples`` into one HDF5 file and returns how many were written.

    Args:
        path: Target file; replaced atomically at the end.
        samples: Sequences whose ``keypoint`` is ``[M', T, V, C]`` with ``M' <= num_persons``
            (padded with zeros to ``num_persons``); all with the same ``V`` and ``C``.
        layout: Skeleton format (``V`` must match); stored as JSON so user layouts travel
            with the data.
        num_persons: ``M`` stored per frame.
        class_names: Optional names, index = label.
        splits: Split name -> sample names (names not among the samples are ignored), or a
            function of the written ``(name, meta)`` pairs returning that dict.
        provenance: Free-form facts (source, command, preprocessing flags); a time stamp and
            the skelgraph version are added.
        compression: ``"gzip"`` (level :data:`GZIP_LEVEL`), ``"lzf"`` (faster, larger) or
            ``None``, for the frame datasets (``keypoint``, ``score``).
        shuffle: HDF5's byte-shuffle filter before compression: the bytes of the float32 values
            grouped by significance, so the slowly varying sign/exponent bytes compress
            together (lossless; 1.3x instead of 1.2x smaller on NW-UCLA with gzip).
        decimals: ``None`` (default) stores values exactly. An integer keeps that many decimal
            digits (HDF5's scale-offset filter): LOSSY, every value within ``10**-decimals`` of
            the original. For coordinates in metres, ``decimals=5`` (10 micrometres, far below
            any depth sensor's noise) makes NW-UCLA 1.9x smaller than raw float32 instead of 1.3x.
    """
    from skelgraph import __version__

    if compression not in ("gzip", "lzf", None):
        raise ValueError(f"compression must be 'gzip', 'lzf' or None, got {compression!r}")
    filters: dict[str, Any] = {"compression": compression, "shuffle": shuffle and compression is not None}
    if compression == "gzip":
        filters["compression_opts"] = GZIP_LEVEL
    if decimals is not None:
        filters["scaleoffset"] = decimals
    path = Path(path)
    if path.is_dir():
        raise SkeletonError(f"{path}: is a directory; give a file name for the output")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise SkeletonError(f"{path}: cannot write there, {blocker} is a file, not a folder")
    check_replaceable(path, is_dataset_file, "a skelgraph dataset")  # a user's file (or a source) is never replaced
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SkeletonError(f"{path}: cannot create its folder ({err.strerror})") from None
    remove_stale_temporaries(path)
    tmp = temporary_path(path)
    names: list[str] = []
    guard: GuardedFile | None = None
    try:
        try:
            # HDF5 writes through a guard: a full disk must not reach HDF5, which crashes the
            # process later when it has seen a failed write (GuardedFile); the guard's error is raised below
            guard = GuardedFile(tmp)
            f = h5py.File(guard, "w")
        except OSError as err:  # h5py's message is HDF5 jargon; errno says what the user can act on
            reason = os.strerror(err.errno) if err.errno else "cannot create the file"
            raise SkeletonError(f"{path}: cannot write here ({reason})") from None
        with f:
            kp_ds = score_ds = None
            offsets, labels, metas = [0], [], []
            seen: set[str] = set()
            for seq in samples:
                if seq.name in seen:  # names index splits and label files: they must be unique
                    raise SkeletonError(f"{path}: two samples are named {seq.name!r} (same file name in two "
                                        f"folders?); rename one or exclude it")
                seen.add(seq.name)
                kp = np.asarray(seq.keypoint, dtype=np.float32)
                m, t, v, c = kp.shape
                if v != layout.num_joints:
                    raise SkeletonError(f"{seq.name}: {v} joints per person, layout {layout.name!r} has "
                                        f"{layout.num_joints}")
                if m > num_persons:
                    raise SkeletonError(f"{seq.name}: {m} persons, the file stores at most {num_persons}")
                if kp_ds is None:
                    kp_ds = f.create_dataset(
                        "keypoint", shape=(0, num_persons, v, c), maxshape=(None, num_persons, v, c),
                        dtype="float32", chunks=(_CHUNK_FRAMES, num_persons, v, c), **filters)
                    if seq.score is not None:
                        score_ds = f.create_dataset(
                            "score", shape=(0, num_persons, v), maxshape=(None, num_persons, v),
                            dtype="float32", chunks=(_CHUNK_FRAMES, num_persons, v), **filters)
                elif kp_ds.shape[3] != c:
                    raise SkeletonError(f"{seq.name}: {c} channels, earlier samples have {kp_ds.shape[3]}")
                frames = np.zeros((t, num_persons, v, c), np.float32)
                frames[:, :m] = kp.transpose(1, 0, 2, 3)
                start = kp_ds.shape[0]
                kp_ds.resize(start + t, axis=0)
                kp_ds[start:] = frames
                if score_ds is not None:
                    scores = np.zeros((t, num_persons, v), np.float32)
                    if seq.score is not None:
                        scores[:, :m] = np.asarray(seq.score, np.float32).transpose(1, 0, 2)
                    score_ds.resize(start + t, axis=0)
                    score_ds[start:] = scores
                offsets.append(start + t)
                labels.append(int(seq.label))
                names.append(seq.name)
                metas.append(json.dumps(seq.meta, default=str))
                if guard.error is not None:  # the disk is full: stop now, not after reading every file
                    raise guard.error
            if kp_ds is None:
                raise SkeletonError(f"{path}: no samples to write")
            strings = h5py.string_dtype()
            f.create_dataset("offsets", data=np.asarray(offsets, np.int64))
            f.create_dataset("label", data=np.asarray(labels, np.int64))
            f.create_dataset("name", data=np.asarray(names, dtype=object), dtype=strings)
            f.create_dataset("meta", data=np.asarray(metas, dtype=object), dtype=strings)
            if callable(splits):
                splits = splits([(n, json.loads(m)) for n, m in zip(names, metas)])
            index_of = {name: i for i, name in enumerate(names)}
            group = f.create_group("split")
            for split, members in (splits or {}).items():
                if not split or "/" in split:  # HDF5 would read "a/b" as a path
                    raise SkeletonError(f"{path}: split name {split!r} must be non-empty and without '/'")
                idx = sorted(index_of[n] for n in set(members) if n in index_of)
                group.create_dataset(split, data=np.asarray(idx, np.int64))
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["layout"] = layout.to_json()
            f.attrs["class_names"] = json.dumps(list(class_names) if class_names else [])
            f.attrs["num_persons"] = num_persons
            f.attrs["provenance"] = json.dumps(
                {**(provenance or {}), "skelgraph": __version__,
                 "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, default=str)
        guard.close()
        if guard.error is not None:
            raise guard.error
        os.replace(tmp, path)
    except OSError as err:  # a full disk or a vanished folder while writing
        if guard is not None and guard.error is not None:
            err = guard.error  # the disk's error, not what HDF5 made of the bytes that never arrived
        reason = os.strerror(err.errno) if err.errno else str(err).splitlines()[0]
        raise SkeletonError(f"{path}: cannot write ({reason}); nothing was replaced") from None
    finally:
        if guard is not None:
            guard.close()
        if tmp.exists():
            tmp.unlink()
    return len(names)


class H5Skeletons:
    r"""Lazy reader of a file written by :func:`write_h5`.

    Opening only reads the small index arrays; :meth:`read` reads one sample's frames.
    The h5py handle is opened on first use and re-opened in a new process (DataLoader
    workers must not share one).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file")
        self._file: h5py.File | None = None
        self._pid = -1
        f = self.file
        missing = [k for k in DATASET_KEYS if k not in f]
        if missing:
            raise H5FormatError(f"{self.path}: not a skelgraph dataset (missing {', '.join(missing)})")
        try:
            self.offsets = f["offsets"][()].astype(np.int64)
            self.labels = f["label"][()].astype(np.int64)
            self.names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["name"][()]]
            self.layout = layout_from_json(f.attrs["layout"], source=f"{self.path}:layout")
            self.class_names: list[str] = json.loads(f.attrs.get("class_names", "[]"))
            self.num_persons = int(f.attrs.get("num_persons", f["keypoint"].shape[1]))
            self.provenance: dict[str, Any] = json.loads(f.attrs.get("provenance", "{}"))
            self.splits = {name: ds[()].astype(np.int64) for name, ds in f.get("split", {}).items()}
        except (OSError, KeyError, ValueError, LayoutError) as err:
            raise H5FormatError(f"{self.path}: unreadable index ({err})") from err
        n = len(self.names)
        if self.offsets.shape != (n + 1,) or self.labels.shape != (n,) or \
                self.offsets[-1] != f["keypoint"].shape[0] or np.any(np.diff(self.offsets) <= 0):
            raise H5FormatError(f"{self.path}: inconsistent index (offsets/labels/names do not match "
                                f"{f['keypoint'].shape[0]} stored frames)")

    @property
    def file(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            try:
                self._file = h5py.File(self.path, "r")
            except OSError as err:  # h5py's text is HDF5 internals; keep only what a user can act on
                text = str(err)
                what = "truncated: was it written completely?" if "truncated" in text else \
                    "not an HDF5 file" if "signature" in text else "corrupt or truncated"
                raise H5FormatError(f"{self.path}: not a readable HDF5 file ({what})") from None
            self._pid = os.getpid()
            # dataset handles looked up once: a lookup costs as much as reading a small sample
            self._keypoint = self._file.get("keypoint")
            self._score = self._file.get("score")
        return self._file

    @property
    def keypoint(self) -> h5py.Dataset:
        """``[sum T, M, V, C]`` (lazy h5py dataset)."""
        self.file  # noqa: B018 -- (re)opens in a new process
        return self._keypoint

    def __getstate__(self) -> dict[str, Any]:  # picklable for spawn-started workers
        return {**self.__dict__, "_file": None, "_pid": -1, "_keypoint": None, "_score": None}

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._keypoint = self._score = None

    def __len__(self) -> int:
        return len(self.names)

    @property
    def has_score(self) -> bool:
        return "score" in self.file

    @functools.cached_property
    def num_frames(self) -> np.ndarray:
        """Frames per sample, ``[N]`` (computed once: the dataset reads it for every item)."""
        return np.diff(self.offsets)

    @property
    def num_channels(self) -> int:
        """``C`` of the stored keypoints."""
        return int(self.keypoint.shape[3])

    def split_indices(self, split: str | Sequence[str] | None) -> np.ndarray:
        """Sample indices of ``split`` (all samples for ``None``); several splits give their
        union, in file order (e.g. an external corpus plus a dataset's training split)."""
        if split is None:
            return np.arange(len(self), dtype=np.int64)
        names = [split] if isinstance(split, str) else list(split)
        for name in names:
            if name not in self.splits:
                known = ", ".join(sorted(self.splits)) or "none"
                raise KeyError(f"{self.path}: no split {name!r} (splits in the file: {known})")
        if len(names) == 1:
            return self.splits[names[0]]
        return np.unique(np.concatenate([self.splits[name] for name in names])).astype(np.int64)

    def meta(self, idx: int) -> dict[str, Any]:
        if "meta" not in self.file:
            return {}
        raw = self.file["meta"][idx]
        return json.loads(raw.decode() if isinstance(raw, bytes) else raw)

    def read(self, idx: int, frames: np.ndarray | None = None) -> SkeletonSequence:
        r"""Sample ``idx`` as ``[M, T, V, C]`` (``frames``: optional indices into its T frames,
        which reads only what is needed)."""
        start, stop = int(self.offsets[idx]), int(self.offsets[idx + 1])
        keypoint, score_ds = self.keypoint, self._score
        try:
            if frames is None:
                kp = keypoint[start:stop]
                score = score_ds[start:stop] if score_ds is not None else None
            else:
                # read the covering range once, then index (h5py fancy indexing is slow)
                lo, hi = int(frames.min()), int(frames.max()) + 1
                kp = keypoint[start + lo:start + hi][frames - lo]
                score = score_ds[start + lo:start + hi][frames - lo] if score_ds is not None else None
        except OSError as err:
            raise H5FormatError(f"{self.path}: cannot read sample {idx} ({self.names[idx]}): {err}") from None
        return SkeletonSequence(
            name=self.names[idx], keypoint=kp.transpose(1, 0, 2, 3),
            score=None if score is None else score.transpose(1, 0, 2), label=int(self.labels[idx]))
