r"""What a new recording needs to be preprocessed exactly as a model's training data was: the
*recipe* every training run records (``preprocessing.json`` in the run directory, and the
``preprocessing`` entry of its checkpoint), and its replay on raw files or in-memory arrays.

A training file's preprocessing lives in its HDF5 provenance (written by
:func:`~skelgraph.data.pipeline.preprocess_to_h5`); a run copies what matters into the recipe,
so the run directory alone is enough, wherever it is moved:

================  ============================================================================
key               meaning
================  ============================================================================
layout            the model's layout (JSON): joint order, bones, parts, centre joint
class_names       class name of each label the classifier outputs
num_channels      C of the coordinates (2 or 3)
file_persons      M stored per sample in the training file (samples are padded to it)
num_frames        T the model sees (uniform sampling, the middle frame of each segment)
num_persons       persons the model sees (the first of the file's ``file_persons``)
features          the encoder's input features (``position``, ``motion``, ``trajectory``)
kind              the ``preprocess`` kind of the training data (``ntu``, ``bvh``, ...)
read              how that source was read: ``layout`` (JSON of ``--layout``), ``joints`` (the
                  stored joints' names), ``to_layout`` (joints mapped by name), ``joint_map``,
                  ``drop_unmatched``, ``table`` and ``mat`` formats
steps             :func:`~skelgraph.data.preprocess.preprocess_sequence`'s flags
                  (``max_persons``, ``drop_empty``, ``center``, ``center_per_frame``,
                  ``align``, ``scale``) and ``max_frames``; ``None`` when the file says nothing (synthetic
                  data: nothing is replayed but the padding to ``file_persons``)
data              the training file, its creation time and the skelgraph version that wrote it
================  ============================================================================

Replaying a file of another rig (another layout) maps its joints by name onto the model's
(:mod:`skelgraph.graph.joint_names`); a joint of the model's layout that matches none is a
one-line :class:`~skelgraph.data.sequence.SkeletonError` naming the file and the joint.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelgraph.data.preprocess import preprocess_sequence
from skelgraph.data.readers.matlab import MatFormat
from skelgraph.data.readers.table import TableFormat
from skelgraph.data.sequence import SkeletonError, SkeletonSequence
from skelgraph.data.sources import KINDS, ReadOptions, Source, SourceError, open_source
from skelgraph.graph.joint_names import joint_mapping, read_joint_map, read_joint_names
from skelgraph.graph.layouts import Layout, LayoutError, get_layout, layout_from_json

RECIPE_VERSION = 1
RECIPE_FILE = "preprocessing.json"
STEP_KEYS = ("max_persons", "drop_empty", "center", "center_per_frame", "align", "scale", "max_frames")


def read_options_record(read: ReadOptions, layout: str | Path | Layout | None) -> dict[str, Any]:
    r"""``read`` and the ``--layout`` of a preprocess run as plain JSON values, resolved (a
    ``.toml`` layout or joint-name file is stored by content, so the record outlives the file)."""
    return {
        "layout": get_layout(layout).to_json() if layout is not None else None,
        "joints": list(read_joint_names(read.joints)) if read.joints is not None else None,
        "to_layout": read.to_layout is not None,
        "joint_map": read_joint_map(read.joint_map) or None,
        "drop_unmatched": read.drop_unmatched,
        "table": dataclasses.asdict(read.table),
        "mat": dataclasses.asdict(read.mat),
    }


def _read_options(record: dict[str, Any], model_layout: Layout) -> tuple[Layout | None, ReadOptions]:
    """Inverse of :func:`read_options_record`: ``(layout, ReadOptions)`` for :func:`open_source`."""
    table = {k: tuple(v) if isinstance(v, list) else v for k, v in (record.get("table") or {}).items()}
    layout = layout_from_json(record["layout"], source="recipe") if record.get("layout") else None
    return layout, ReadOptions(
        joints=tuple(record["joints"]) if record.get("joints") else None,
        to_layout=model_layout if record.get("to_layout") else None,
        joint_map=record.get("joint_map") or None, drop_unmatched=bool(record.get("drop_unmatched")),
        table=TableFormat(**table), mat=MatFormat(**(record.get("mat") or {})))


def _steps(provenance: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None, dict[str, Any] | None]:
    """``(kind, steps, read)`` of a training file's provenance; a merged file's when its sources
    agree (else ``steps`` is None: raw files cannot be replayed)."""
    kind = provenance.get("kind")
    if kind == "merge":
        found = [_steps(s.get("provenance") or {}) for s in provenance.get("sources", [])]
        if found and all(f == found[0] for f in found):
            return found[0]
        return "merge", None, None
    if kind not in KINDS:  # synthetic data (or a foreign file): nothing recorded to replay
        return kind, None, None
    steps = {key: provenance.get(key) for key in STEP_KEYS}
    steps["center_per_frame"] = provenance.get("center_per_frame", True)
    return kind, steps, provenance.get("read")


@dataclass(frozen=True)
class Recipe:
    r"""How a model's training data was made (the table in the module docstring)."""

    layout: str
    class_names: tuple[str, ...]
    num_channels: int
    file_persons: int
    num_frames: int | None
    num_persons: int | None
    features: tuple[str, ...] = ("position",)
    kind: str | None = None
    read: dict[str, Any] | None = None
    steps: dict[str, Any] | None = None
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    version: int = RECIPE_VERSION

    @property
    def model_layout(self) -> Layout:
        return layout_from_json(self.layout, source="recipe")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Recipe:
        fields = {f.name for f in dataclasses.fields(cls)}
        clean = {k: tuple(v) if k in ("class_names", "features") else v for k, v in values.items() if k in fields}
        return cls(**clean)

    def write(self, run_dir: str | Path) -> Path:
        """Writes :data:`RECIPE_FILE` into ``run_dir`` (the atomic writer: temporary name, then
        rename; a full disk is one line naming the file)."""
        from skelgraph.data.files import atomic_write_text

        return atomic_write_text(Path(run_dir) / RECIPE_FILE, json.dumps(self.to_dict(), indent=1) + "\n")

    # -- replay --------------------------------------------------------------------------------

    def preprocess(self, seq: SkeletonSequence) -> SkeletonSequence:
        r"""``seq`` (raw, in the model's layout) through the training file's steps: persons
        selected and padded to ``file_persons``, empty frames dropped, centred, aligned, cut to
        ``max_frames``. Returns keypoint ``[file_persons, T', V, C]``."""
        layout = self.model_layout
        if seq.keypoint.ndim != 4 or seq.keypoint.shape[2] != layout.num_joints:
            raise SkeletonError(f"{seq.name}: keypoint {tuple(seq.keypoint.shape)} is not [M, T, "
                                f"{layout.num_joints}, C] for the model's layout {layout.name!r}")
        if seq.keypoint.shape[3] != self.num_channels:
            raise SkeletonError(f"{seq.name}: {seq.keypoint.shape[3]} channels per joint, the model was trained "
                                f"on {self.num_channels}")
        if self.steps is None:  # nothing recorded (synthetic data): only the padding to the file's persons
            m = min(seq.keypoint.shape[0], self.file_persons)
            kp = np.zeros((self.file_persons, *seq.keypoint.shape[1:]), np.float32)
            kp[:m] = seq.keypoint[:m]
            score = None
            if seq.score is not None:
                score = np.zeros((self.file_persons, *seq.score.shape[1:]), np.float32)
                score[:m] = seq.score[:m]
            return SkeletonSequence(name=seq.name, keypoint=kp, score=score, label=seq.label, meta=dict(seq.meta))
        steps = self.steps
        out = preprocess_sequence(seq, layout, max_persons=self.file_persons,
                                  drop_empty=bool(steps.get("drop_empty", False)),
                                  center=bool(steps.get("center", False)), align=bool(steps.get("align", False)),
                                  center_per_frame=bool(steps.get("center_per_frame", True)),
                                  scale=bool(steps.get("scale", False)))
        if steps.get("max_frames"):
            out.keypoint = out.keypoint[:, :steps["max_frames"]]
            out.score = None if out.score is None else out.score[:, :steps["max_frames"]]
        return out

    def from_array(self, keypoint: Any, *, score: Any = None, layout: str | Path | Layout | None = None,
                   name: str = "array") -> SkeletonSequence:
        r"""An in-memory ``[M, T, V, C]`` (or one person's ``[T, V, C]``) as a raw sequence in the
        model's layout; ``layout`` names the array's joint order when it is not the model's
        (its joints are then mapped by name)."""
        kp = np.asarray(keypoint, dtype=np.float32)
        if kp.ndim == 3:
            kp = kp[None]
        sc = None if score is None else np.asarray(score, dtype=np.float32)
        if sc is not None and sc.ndim == 2:
            sc = sc[None]
        if kp.ndim != 4:
            raise SkeletonError(f"{name}: expected keypoint [M, T, V, C] or [T, V, C], got shape {kp.shape}")
        target = self.model_layout
        if layout is not None:
            source = get_layout(layout)
            if source.num_joints != kp.shape[2]:
                raise SkeletonError(f"{name}: {kp.shape[2]} joints, layout {source.name!r} has {source.num_joints}")
            if source.joints != target.joints:
                try:
                    index = joint_mapping(source.joints, target, where=f"{name} (layout {source.name!r})")
                except LayoutError as err:
                    raise SkeletonError(f"{err} (the model's layout is {target.name!r})") from None
                kp = kp[:, :, index]
                sc = None if sc is None else sc[:, :, index]
        elif kp.shape[2] != target.num_joints:
            raise SkeletonError(f"{name}: {kp.shape[2]} joints, the model's layout {target.name!r} has "
                                f"{target.num_joints}; pass the array's layout to map it by joint name")
        return SkeletonSequence(name=name, keypoint=kp, score=sc)

    def open(self, src: str | Path, kind: str | None = None) -> Source:
        r"""The raw recordings at ``src`` (a file or folder ``preprocess`` reads) as a
        :class:`~skelgraph.data.sources.Source` in the model's layout, read as the training data
        was (``kind`` defaults to the training data's).

        Raises:
            SkeletonError: no kind to read with, a source that cannot be opened, or a rig whose
                joints cannot be mapped onto the model's layout (naming the file and the joint).
        """
        if self.kind == "merge" and self.steps is None:
            raise SkeletonError(f"{src}: the model's training file merges sources preprocessed differently from "
                                f"each other: there is no single preprocessing to replay")
        kind = kind or self.kind
        if kind not in KINDS:
            raise SkeletonError(f"{src}: the model was trained on {kind or 'data of unknown origin'} data, which is "
                                f"not read from files: pass the kind of {src} (--kind: {', '.join(KINDS)})")
        target = self.model_layout
        layout, options = (None, ReadOptions())
        if kind == self.kind and self.read is not None:
            layout, options = _read_options(self.read, target)
        try:
            source = open_source(kind, src, layout=layout, options=options)
            if source.layout is not None and source.layout.joints != target.joints:
                rig = source.layout
                try:  # another rig: map its joints by name onto the model's
                    source = open_source(kind, src, layout=layout, options=dataclasses.replace(options,
                                                                                               to_layout=target))
                except SourceError as err:
                    raise SkeletonError(f"{src}: its skeleton ({rig.name!r}, {rig.num_joints} joints) cannot be "
                                        f"mapped onto the model's layout {target.name!r}: "
                                        f"{str(err).removeprefix(f'{src}: ')}") from None
        except LayoutError as err:
            raise SkeletonError(str(err)) from None
        return source


def recipe_from_store(store: Any, *, num_frames: int | None, num_persons: int | None,
                      features: tuple[str, ...] = ("position",)) -> Recipe:
    r"""The recipe of a model trained on ``store`` (an open
    :class:`~skelgraph.data.h5.H5Skeletons`) with a config's ``num_frames``, ``num_persons``
    and ``features``."""
    kind, steps, read = _steps(store.provenance)
    return Recipe(layout=store.layout.to_json(), class_names=tuple(store.class_names),
                  num_channels=store.num_channels, file_persons=store.num_persons, num_frames=num_frames,
                  num_persons=num_persons, features=tuple(features), kind=kind, read=read, steps=steps,
                  data={"path": str(Path(store.path).resolve()), "created": store.provenance.get("created"),
                        "skelgraph": store.provenance.get("skelgraph"),
                        "command": store.provenance.get("command")})
