r"""Several preprocessed HDF5 files as one: a pre-training corpus pooled from several datasets.

:func:`merge_h5` requires the same layout and channel count in every input (persons are padded
to the largest ``M``; confidences must be in all inputs or in none). What the merged file keeps
of each input, under the input's *source name* (its file stem unless given):

- sample names ``<source>:<name>`` (unique even when two inputs share names);
- classes, kept apart: class names ``<source>:<class>``, labels shifted accordingly (two
  datasets' "walk" need not be the same action);
- splits ``<source>:<split>``, and one split ``<source>`` holding all of the input's samples, so
  ``--split kinder_gator`` (or a split file) selects one input;
- ``meta["source"]`` of every sample;
- provenance: ``{"kind": "merge", "sources": [{name, path, samples, frames, provenance}, ...]}``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from skelgraph.data.h5 import H5Skeletons, write_h5
from skelgraph.data.sequence import SkeletonError, SkeletonSequence


class MergeError(SkeletonError):
    """Inputs that cannot be merged (the message names the file and the difference)."""


def source_name(path: Path) -> str:
    r"""The default source name of an input: its stem with every non-word character as ``_``.

    Example:
        >>> source_name(Path("/data/kinder-gator.h5"))
        'kinder_gator'
    """
    return re.sub(r"\W+", "_", path.stem).strip("_") or "source"


def merge_h5(inputs: Sequence[str | Path], out: str | Path, names: Sequence[str] | None = None) -> int:
    r"""Writes the samples of every input file into ``out``; returns the number of samples.

    Args:
        inputs: Files written by ``skelgraph preprocess`` (or ``merge``), at least one.
        out: The merged file (written to a temporary name and renamed).
        names: Source names, one per input (default: :func:`source_name` of each).

    Raises:
        MergeError: a different layout, channel count or confidence presence; repeated source
            names; ``out`` among the inputs.
    """
    paths = [Path(p) for p in inputs]
    out = Path(out)
    if not paths:
        raise MergeError("merge needs at least one input file")
    names = list(names) if names is not None else [source_name(p) for p in paths]
    if len(names) != len(paths):
        raise MergeError(f"{len(names)} source names for {len(paths)} input files")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise MergeError(f"source name {repeated[0]!r} is used twice; give each input its own name")
    if out.exists() and any(out.resolve() == p.resolve() for p in paths):
        raise MergeError(f"{out}: the output is also an input")
    stores = [H5Skeletons(p) for p in paths]
    first = stores[0]
    for path, store in zip(paths[1:], stores[1:]):
        if store.layout != first.layout:
            raise MergeError(f"{path}: layout {store.layout.name!r} ({store.layout.num_joints} joints) differs from "
                             f"{paths[0]}'s {first.layout.name!r} ({first.layout.num_joints} joints); preprocess "
                             f"both with the same --to-layout")
        if store.num_channels != first.num_channels:
            raise MergeError(f"{path}: {store.num_channels} channels, {paths[0]} has {first.num_channels}")
        if store.has_score != first.has_score:
            with_score = path if store.has_score else paths[0]
            raise MergeError(f"{with_score} has confidence scores and another input has none")
    class_names: list[str] = []
    offsets: list[int] = []
    for name, store in zip(names, stores):
        offsets.append(len(class_names))
        count = max(len(store.class_names), int(store.labels.max()) + 1 if len(store) else 0)
        class_names += [f"{name}:{store.class_names[i] if i < len(store.class_names) else i}" for i in range(count)]
    splits: dict[str, list[str]] = {}
    for name, store in zip(names, stores):
        splits[name] = [f"{name}:{n}" for n in store.names]
        for split, indices in store.splits.items():
            splits[f"{name}:{split}"] = [f"{name}:{store.names[i]}" for i in indices]

    def samples() -> Iterator[SkeletonSequence]:
        for name, store, offset in zip(names, stores, offsets):
            for i in range(len(store)):
                seq = store.read(i)
                seq.name = f"{name}:{seq.name}"
                seq.label = seq.label + offset if seq.label >= 0 else -1
                seq.meta = {**store.meta(i), "source": name}
                yield seq

    provenance: dict[str, Any] = {"kind": "merge", "sources": [
        {"name": name, "path": str(path.resolve()), "samples": len(store), "frames": int(store.offsets[-1]),
         "provenance": store.provenance} for name, path, store in zip(names, paths, stores)]}
    try:
        return write_h5(out, samples(), layout=first.layout, num_persons=max(s.num_persons for s in stores),
                        class_names=class_names, splits=splits, provenance=provenance)
    finally:
        for store in stores:
            store.close()
