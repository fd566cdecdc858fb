r"""``skelgraph preprocess`` as a library call: read a source, label it, preprocess every sample,
write one HDF5 file and a report of what could not be read.

:func:`preprocess_to_h5` runs, per item of the :class:`~skelgraph.data.sources.Source` (in this
process or a pool of reader processes): load (joints mapped by name if asked) -> labels
(:mod:`skelgraph.data.labels`: the class, or one sample per labelled segment) ->
:func:`~skelgraph.data.preprocess.preprocess_sequence` -> cut to ``max_frames``. Items that fail
are skipped and listed with the reason in ``OUT.report.txt`` (written in every case: also when
nothing could be read, the source is damaged or ``strict`` stops the run; a failed run never
replaces the report of a good ``OUT`` from an earlier run: it writes ``OUT.failed.report.txt``).
"""
from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skelgraph.data.files import atomic_write_text
from skelgraph.data.h5 import write_h5
from skelgraph.data.labels import LabelTable, apply_labels, labels_from_names, read_label_file
from skelgraph.data.preprocess import preprocess_sequence
from skelgraph.data.recipe import read_options_record
from skelgraph.data.sequence import SkeletonError, SkeletonSequence, printable
from skelgraph.data.sources import SINGLE_PERSON_KINDS, ReadOptions, Source, item_stem, open_source
from skelgraph.data.splits import STANDARD_SPLITS, read_split_file
from skelgraph.graph.layouts import Layout
from skelgraph.threads import available_cores

NUM_FAILURES_SHOWN = 3  # failures named in the error when nothing could be read


@dataclass(frozen=True)
class PreprocessOptions:
    r"""What :func:`preprocess_to_h5` does besides reading (every field has the CLI's default).

    Args:
        max_persons: Persons kept per sample; ``None``: the most any sample has when the source
            knows it beforehand (numpy), else 1 for single-person kinds and 2 for the others.
        max_frames: Frames kept per sample (after the other steps); ``None``: all.
        center, center_per_frame, align, drop_empty, scale: The steps of :func:`preprocess_sequence`.
        exclude: Sample names (file stems) to skip.
        split_file: Your own splits (replaces the dataset's standard ones).
        label_pattern: A regular expression with a ``(?P<class>...)`` group on sample names.
        label_file: A label file (sample name -> class, or segments).
        workers: Reader processes (0: read in this process).
        strict: Stop at the first file that cannot be read.
        decimals: ``None``: coordinates stored exactly (lossless compression); an integer keeps
            that many decimal digits (LOSSY, HDF5's scale-offset filter: every value within
            ``10**-decimals`` of the original; see :func:`~skelgraph.data.h5.write_h5`).
    """

    max_persons: int | None = None
    max_frames: int | None = None
    center: bool = True
    center_per_frame: bool = True  # False: one origin per sequence, its first frame's centre joint
    align: bool = True
    scale: bool = False  # each sequence into [-1, 1] (one factor per sequence)
    drop_empty: bool = True
    exclude: frozenset[str] = frozenset()
    split_file: Path | None = None
    label_pattern: str | None = None
    label_file: Path | None = None
    workers: int = 0
    strict: bool = False
    decimals: int | None = None


@dataclass
class PreprocessReport:
    r"""What a run did. ``failures`` are ``(item or sample name, reason)`` pairs; ``notes`` are
    lines about the whole run (labels not used, joints dropped...)."""

    out: Path
    report_path: Path
    written: int
    failures: list[tuple[str, str]] = field(default_factory=list)
    excluded: int = 0
    unlabelled: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # why a failed run stopped (then nothing was written)


def _load_one(item: Any, load: Callable[[Any], SkeletonSequence], item_name: Callable[[Any], str],
              layout: Layout, options: dict[str, Any], labels: LabelTable | None,
              max_frames: int | None) -> list[tuple[str, SkeletonSequence | str]]:
    r"""Worker: read, label and preprocess one item; ``(name, sequence)`` or ``(name, error)`` per
    sample it gives. Takes the source's pieces, not the source, so a pool does not pickle every
    item list per task."""
    name = item_name(item)
    try:
        seq = load(item)
        pieces = apply_labels(seq, labels) if labels is not None else [seq]
    except (SkeletonError, OSError, ValueError, KeyError, EOFError, IndexError) as err:
        return [(name, _reason(err))]
    out: list[tuple[str, SkeletonSequence | str]] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append((name, piece))
            continue
        try:
            result = preprocess_sequence(piece, layout, **options)
        except (SkeletonError, ValueError, IndexError) as err:
            out.append((name, _reason(err)))
            continue
        if max_frames is not None:
            result.keypoint = result.keypoint[:, :max_frames]
            if result.score is not None:
                result.score = result.score[:, :max_frames]
        out.append((name, result))
    return out


def _reason(err: BaseException) -> str:
    message = str(err) or type(err).__name__
    return printable(message if isinstance(err, SkeletonError) else f"{type(err).__name__}: {message}")


def build_labels(source: Source, names: list[str], options: PreprocessOptions) -> LabelTable | None:
    """The label table a run uses (pattern on the sample names, or a label file), or None."""
    if options.label_pattern is not None and options.label_file is not None:
        raise SkeletonError("give labels by a name pattern or by a label file, not both")
    if options.label_pattern is not None:
        if source.kind == "pyskl":
            raise SkeletonError("a pyskl pickle names its samples inside the file: label it with a label file")
        return labels_from_names(options.label_pattern, names)
    if options.label_file is not None:
        return read_label_file(options.label_file)
    return None


def preprocess_to_h5(kind: str, src: str | Path, out: str | Path, *, layout: str | Path | Layout | None = None,
                     read: ReadOptions = ReadOptions(), options: PreprocessOptions = PreprocessOptions(),
                     progress: Callable[[Iterable[Any], int, str], Iterable[Any]] | None = None,
                     command: str | None = None) -> PreprocessReport:
    r"""Reads the ``kind`` dataset at ``src`` into the HDF5 file ``out`` (see the module docstring).

    ``progress(iterable, total, description)`` wraps the per-item results (e.g. a tqdm bar);
    ``command`` is recorded in the provenance.

    Raises:
        SkeletonError: the source cannot be opened, labels cannot be read, a file fails with
            ``strict``, or no sample could be written (the report is written first and the
            message names the first failures).
    """
    src, out = Path(src), Path(out)
    report = PreprocessReport(out=out, report_path=report_path(out), written=0)
    try:
        _preprocess(kind, src, out, report, layout, read, options, progress, command)
    except SkeletonError as err:  # the report is written in every case, and only beside its own output
        report.report_path = report_path(out, failed=True)
        report.error = str(err)
        try:
            write_report(report, kind, src)
        except OSError:  # where OUT cannot go, its report cannot either: the first error is the one to tell
            raise SkeletonError(str(err)) from None
        raise SkeletonError(f"{err}; see {report.report_path}") from None
    earlier_failure = report_path(out, failed=True)
    if earlier_failure != report.report_path and _written_by_us(earlier_failure):
        earlier_failure.unlink()  # an earlier failed run's report, now out of date
    return report


def report_path(out: Path, failed: bool = False) -> Path:
    r"""Where the report of a run into ``out`` goes: ``OUT.report.txt``; for a failed run, the
    same unless ``out`` exists (a good dataset from an earlier run, whose report it would replace):
    then ``OUT.failed.report.txt``."""
    if failed and out.exists():
        return out.with_name(out.name + ".failed.report.txt")
    return out.with_name(out.name + ".report.txt")


def _written_by_us(path: Path) -> bool:
    try:
        with path.open() as f:
            return f.readline().startswith("# skelgraph preprocess ")
    except OSError:
        return False


def _preprocess(kind: str, src: Path, out: Path, report: PreprocessReport, layout: Any, read: ReadOptions,
                options: PreprocessOptions, progress: Any, command: str | None) -> None:
    start = time.perf_counter()
    source = open_source(kind, src, layout=layout, options=read)
    names = source.names()
    keep = [i for i, name in enumerate(names) if name not in options.exclude]
    items = [source.items[i] for i in keep]
    labels = build_labels(source, [names[i] for i in keep], options)
    splits: Any = source.splits or STANDARD_SPLITS.get(kind)
    if options.split_file is not None:
        splits = functools.partial(_checked_splits, read_split_file(options.split_file), options.split_file,
                                   report)
    max_persons = options.max_persons or source.num_persons or (1 if kind in SINGLE_PERSON_KINDS else 2)
    # align_3d is a no-op without spine/shoulders or for 2D data
    steps = dict(max_persons=max_persons, drop_empty=options.drop_empty, center=options.center,
                 center_per_frame=options.center_per_frame, align=options.align, scale=options.scale)
    report.excluded = len(source.items) - len(items)
    if labels is not None:
        report.notes += _label_notes(labels, [names[i] for i in keep])
    align = options.align
    no_frame = align and (source.layout.spine is None or source.layout.shoulders is None)
    if no_frame:
        align = False  # recorded as not done: nothing to align to (said once the data is known to be 3-D)
    if source.mapped and source.mapped["dropped"]:
        report.notes.append(f"joints left out (no match in {source.mapped['to']}): "
                            f"{', '.join(source.mapped['dropped'])}")

    # more reader processes than files or cores only costs start-ups (each spawn imports numpy and h5py)
    cores = available_cores()
    workers = min(options.workers, len(items), cores)
    if workers < options.workers:
        report.notes.append(f"--workers {options.workers}: {workers} reader processes used "
                            f"({len(items)} files, {cores} cores)")

    seen_channels: list[int] = []

    def good_samples() -> Iterator[SkeletonSequence]:
        load = functools.partial(_load_one, load=source.load, item_name=source.item_name, layout=source.layout,
                                 options=steps, labels=labels, max_frames=options.max_frames)
        with contextlib.ExitStack() as stack:
            if workers > 0:
                pool = stack.enter_context(mp.get_context("spawn").Pool(workers))
                results: Iterable[Any] = pool.imap(load, items, chunksize=8)
            else:
                results = map(load, items)
            if progress is not None:
                results = progress(results, len(items), f"preprocess {kind}")
            for pieces in results:
                for name, result in pieces:
                    if isinstance(result, str):
                        if options.strict:
                            report.failures.append((name, result))  # in the report too
                            raise SkeletonError(result if result.startswith(name) else f"{name}: {result}")
                        report.failures.append((name, result))
                        continue
                    if result.label < 0 and labels is not None:
                        report.unlabelled += 1
                    if not seen_channels:  # 3-D alignment concerns 3-D data only: no hint for 2-D data
                        seen_channels.append(result.keypoint.shape[-1])
                        if result.keypoint.shape[-1] != 3:
                            provenance["align"] = False  # written by write_h5 at the end
                        elif no_frame:
                            report.notes.append(
                                f"3D alignment skipped: layout {source.layout.name!r} has no spine/shoulders (add "
                                f"spine = [bottom, top] and shoulders = [left, right] to a layout .toml)")
                    yield result

    provenance = dict(
        source=str(src.resolve()), kind=kind, command=command or " ".join(sys.argv), max_persons=max_persons,
        center=options.center, center_per_frame=options.center_per_frame, align=align, scale=options.scale,
        drop_empty=options.drop_empty,
        max_frames=options.max_frames, excluded=report.excluded, decimals=options.decimals,
        labels=labels.source if labels is not None else None,
        joints_mapped=source.mapped, source_joints=list(source.joint_names) if source.joint_names else None,
        read=read_options_record(read, layout))  # what skelgraph predict replays on a new recording
    try:
        report.written = write_h5(out, good_samples(), layout=source.layout, num_persons=max_persons,
                                  class_names=list(labels.class_names) if labels is not None else source.class_names,
                                  splits=splits, provenance=provenance, decimals=options.decimals)
    except SkeletonError as err:
        report.seconds = time.perf_counter() - start
        if report.written == 0 and report.failures and "no samples to write" in str(err):
            shown = "; ".join(f"{item_stem(n)}: {r.removeprefix(n + ': ')}"
                              for n, r in report.failures[:NUM_FAILURES_SHOWN])
            raise SkeletonError(f"{out}: no sample could be read ({len(report.failures)} failed; "
                                f"first: {shown})") from None
        raise
    report.seconds = time.perf_counter() - start
    write_report(report, kind, src)


def _checked_splits(splits: dict[str, list[str]], split_file: Path, report: PreprocessReport,
                    samples: list[tuple[str, Any]]) -> dict[str, list[str]]:
    r"""A user's splits against the samples written: a split that names none of them is an
    error (a split file for another dataset, or names spelled otherwise); names that match no
    sample are listed in the report."""
    names = {name for name, _ in samples}
    for split, members in splits.items():
        missing = [n for n in members if n not in names]
        if len(missing) == len(members):
            shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
            example = next(iter(sorted(names)), "none")
            raise SkeletonError(f"{split_file}: split {split!r} names {len(members)} sample(s), none of them in "
                                f"the data ({shown}; the data's names look like {example!r})")
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            report.notes.append(f"split {split!r} of {split_file}: {len(missing)} of its {len(members)} names match "
                                f"no sample written: {shown}")
    return splits


def _label_notes(labels: LabelTable, names: list[str]) -> list[str]:
    """Report lines about label rows that name no sample (a typo, or the wrong folder)."""
    used = {labels.key_for(n) for n in names}
    unused = [key for key in labels.entries if key not in used]
    if not unused:
        return []
    shown = ", ".join(unused[:5]) + (", ..." if len(unused) > 5 else "")
    return [f"{len(unused)} name(s) in the {labels.source} match no sample: {shown}"]


def write_report(report: PreprocessReport, kind: str, src: Path) -> None:
    r"""``OUT.report.txt``: a summary line, one ``name<TAB>reason`` line per failure, ``#`` notes;
    for a failed run, a ``# error:`` line with why it stopped."""
    lines = [f"# skelgraph preprocess {kind} {src}: {report.written} written, {len(report.failures)} failed, "
             f"{report.excluded} excluded, {report.unlabelled} unlabelled, {report.seconds:.1f} s"]
    if report.error is not None:
        lines.append(f"# stopped: {report.error}")
    lines += [f"{name}\t{reason.removeprefix(name + ': ')}" for name, reason in report.failures]
    lines += [f"# {note}" for note in report.notes]
    atomic_write_text(report.report_path, "\n".join(lines) + "\n")
