r"""Using a trained classifier on new recordings: ``skelgraph predict`` and its Python twin
:func:`predict` (also ``skelgraph.predict``).

A recording goes through what the model's training data went through, replayed from the
run's recipe (:mod:`skelgraph.data.recipe`): read as the training source was read (its kind,
joint names and mapping), joints mapped by name when the file's rig differs from the model's
layout, persons selected, empty frames dropped, centred and aligned as the training file was,
sampled to the run's ``num_frames`` as the evaluation split is (the middle frame of each
segment), then the classifier's softmax. So a sample predicted from its raw file gets the
probabilities ``skelgraph evaluate`` computes for it through the preprocessed ``.h5``.

Example (an in-memory array, e.g. straight from a pose estimator)::

    import skelgraph
    pred = skelgraph.predict("runs/ntu_ft", keypoint)    # keypoint [M, T, V, C] or [T, V, C]
    pred.classes[0], pred.probabilities[0]               # the most likely class and its probability

For many calls, load the run once: ``predictor = Predictor.from_run("runs/ntu_ft")`` and call
``predictor(keypoint)``.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from skelgraph.data.dataset import clip_frames, clip_to_data
from skelgraph.data.recipe import RECIPE_FILE, Recipe
from skelgraph.data.sequence import SkeletonError, SkeletonSequence
from skelgraph.graph.layouts import Layout
from skelgraph.train.common import RunDirError, resolve_device
from skelgraph.train.compat import check_data


@dataclass
class Prediction:
    r"""The classifier's answer for one sample.

    Attributes:
        name: The sample's name (file stem, or what the caller named an array).
        classes: The ``top_k`` most likely class names, most likely first.
        probabilities: Their probabilities (softmax of the logits), in the same order.
        scores: float ``[K]``, the probability of every class (index = label).
        label: The true class name when the source names it (e.g. NTU's ``A001``), else None.
        source: The file the sample came from (None for an array).
    """

    name: str
    classes: list[str]
    probabilities: list[float]
    scores: np.ndarray = field(repr=False)
    label: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: name, source, label, and the top classes with their probabilities."""
        return {"name": self.name, "source": self.source, "label": self.label,
                "top": [{"class": c, "probability": round(p, 6)} for c, p in zip(self.classes, self.probabilities)]}


def _recipe_of(state: dict[str, Any]) -> Recipe:
    """The run's recipe: in its checkpoint, else the ``preprocessing.json`` beside it."""
    if "preprocessing" in state:
        return Recipe.from_dict(state["preprocessing"])
    path = Path(state["path"]).parent / RECIPE_FILE
    if path.exists():
        try:
            return Recipe.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError) as err:  # not JSON, not text, not a record
            raise RunDirError(f"{path}: not a readable preprocessing record ({err})") from None
    raise RunDirError(f"{state['path']}: the run records no preprocessing (it was trained before skelgraph "
                      f"recorded it); fine-tune it again to predict on raw recordings")


def recipe_data(recipe: Recipe) -> SimpleNamespace:
    r"""What :func:`~skelgraph.train.compat.check_data` reads of a dataset (layout, channels,
    classes, centring), for the data a recipe makes: new recordings meet the checkpoint through
    the same check as a preprocessed file."""
    steps = recipe.steps or {}
    return SimpleNamespace(layout=recipe.layout, num_channels=recipe.num_channels,
                           class_names=list(recipe.class_names), num_classes=len(recipe.class_names) or None,
                           num_persons=recipe.file_persons,
                           provenance={"center": bool(steps.get("center", False))})


class Predictor:
    r"""A trained classifier with the preprocessing of its training data.

    Args:
        model: The classifier (:class:`~skelgraph.nn.strl.STRLClassifier` or
            :class:`~skelgraph.nn.strl.LinearProbe`), outputs logits ``[B, K]``.
        recipe: How its training data was made.
        class_names: Name of each of the ``K`` outputs.
        device: Where the model runs.
    """

    def __init__(self, model: Module, recipe: Recipe, class_names: Sequence[str], device: torch.device) -> None:
        self.model, self.recipe, self.device = model.to(device).eval(), recipe, device
        self.class_names = list(class_names) + [str(i) for i in range(len(class_names), model.num_classes)]
        self.layout: Layout = recipe.model_layout

    @classmethod
    def from_run(cls, run: str | Path, device: str = "auto") -> Predictor:
        r"""Loads a fine-tuning run directory (or one of its checkpoint files)."""
        from skelgraph.train.checkpoints import CHECKPOINT
        from skelgraph.train.finetune import load_finetuned

        run = Path(run)
        if run.is_dir() and not (run / CHECKPOINT).exists():
            raise RunDirError(f"{run}: no {CHECKPOINT} (not a training run directory)")
        dev = resolve_device(device)
        try:
            model, state = load_finetuned(run, map_location=dev)
        except RunDirError as err:
            if "skeletonmae" in str(err):
                raise RunDirError(f"{run}: a pre-training run has no classifier; fine-tune it first, or export "
                                  f"its features with `skelgraph embed`") from None
            raise
        recipe = _recipe_of(state)
        where = "its preprocessing record" if "preprocessing" in state else Path(state["path"]).parent / RECIPE_FILE
        check_data(state, recipe_data(recipe), data=where, classes=True)  # the one check evaluate makes
        return cls(model, recipe, state.get("class_names") or [], dev)

    # -- graphs ----------------------------------------------------------------------------------

    def graph(self, seq: SkeletonSequence) -> Data:
        r"""A raw sequence (in the model's layout) as the graph the model sees: preprocessed by
        the recipe, sampled to its ``num_frames`` like the evaluation split."""
        seq = self.recipe.preprocess(seq)
        length = seq.keypoint.shape[1]
        frames = clip_frames(length, self.recipe.num_frames)
        if frames is not None:
            seq.keypoint = seq.keypoint[:, frames]
            seq.score = None if seq.score is None else seq.score[:, frames]
        label, seq.label = seq.label, -1
        data = clip_to_data(seq, self.layout, self.recipe.num_persons or self.recipe.file_persons, length)
        seq.label = label
        return data

    @torch.no_grad()
    def probabilities(self, graphs: Sequence[Data], batch_size: int = 64) -> Tensor:
        r"""Softmax ``[B, K]`` of the model on ``graphs`` (run as ``skelgraph evaluate`` runs it)."""
        from skelgraph.train.evaluate import predict as run_model

        if not graphs:
            return torch.zeros(0, len(self.class_names))
        logits, _ = run_model(self.model, DataLoader(list(graphs), batch_size=batch_size, shuffle=False),
                              self.device)
        return logits.double().softmax(dim=1)

    def predict_sequences(self, sequences: Iterable[SkeletonSequence], top_k: int = 5, batch_size: int = 64,
                          source: str | None = None) -> list[Prediction]:
        r"""One :class:`Prediction` per raw sequence (each in the model's layout)."""
        seqs = list(sequences)
        probs = self.probabilities([self.graph(s) for s in seqs], batch_size)
        k = max(1, min(top_k, probs.size(1)))
        out = []
        for seq, p in zip(seqs, probs):
            top = p.topk(k)
            label = self.class_names[seq.label] if 0 <= seq.label < len(self.class_names) else None
            out.append(Prediction(seq.name, [self.class_names[i] for i in top.indices.tolist()],
                                  [float(v) for v in top.values], p.numpy(), label,
                                  source or seq.meta.get("source")))
        return out

    def read(self, src: str | Path, kind: str | None = None) -> list[SkeletonSequence]:
        r"""Every sample at ``src`` (a file or a folder), raw, in the model's layout.

        Raises:
            SkeletonError: naming the file that cannot be read or mapped onto the model's layout.
        """
        source = self.recipe.open(src, kind)
        seqs = []
        for item in source.items:
            try:
                seq = source.load(item)
            except (SkeletonError, OSError, ValueError, KeyError, EOFError, IndexError) as err:
                what = str(err) if isinstance(err, SkeletonError) else f"{type(err).__name__}: {err}"
                where = source.item_name(item)
                raise SkeletonError(what if what.startswith(where) else f"{where}: {what}") from None
            seq.meta["source"] = source.item_name(item)
            seqs.append(seq)
        return seqs

    def __call__(self, sequence_or_path: Any, *, kind: str | None = None, layout: str | Path | Layout | None = None,
                 score: Any = None, name: str = "array", top_k: int = 5,
                 batch_size: int = 64) -> Prediction | list[Prediction]:
        r"""Predicts a path (-> a list, one per sample it holds), a
        :class:`~skelgraph.data.sequence.SkeletonSequence` or an array ``[M, T, V, C]`` /
        ``[T, V, C]`` (-> one :class:`Prediction`). ``layout``: the array's joint order when it is
        not the model's; ``score``: its ``[M, T, V]`` confidences."""
        if isinstance(sequence_or_path, (str, Path)):
            return self.predict_sequences(self.read(sequence_or_path, kind), top_k, batch_size)
        if isinstance(sequence_or_path, SkeletonSequence):
            seq = sequence_or_path
            if layout is not None:
                seq = SkeletonSequence(seq.name, self.recipe.from_array(seq.keypoint, score=seq.score, layout=layout,
                                                                        name=seq.name).keypoint, label=seq.label)
        else:
            value = sequence_or_path
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            seq = self.recipe.from_array(value, score=score, layout=layout, name=name)
        return self.predict_sequences([seq], top_k, batch_size)[0]


def predict(run: str | Path | Predictor, sequence_or_path: Any, **kwargs: Any) -> Prediction | list[Prediction]:
    r"""Classifies a recording with a fine-tuning run (see :meth:`Predictor.__call__` for what
    ``sequence_or_path`` may be and the keyword arguments; ``device`` picks where the model runs
    when ``run`` is a path).

    Returns one :class:`Prediction` for an array or a sequence, a list (one per sample) for a path.
    """
    if not isinstance(run, Predictor):
        run = Predictor.from_run(run, device=kwargs.pop("device", "auto"))
    return run(sequence_or_path, **kwargs)


def format_table(predictions: Sequence[Prediction]) -> str:
    r"""The predictions as a text table: one row per sample, the top classes with probabilities."""
    if not predictions:
        return "no samples"
    k = max(len(p.classes) for p in predictions)
    width = max(6, *(len(p.name) for p in predictions))
    cls_width = min(32, max(5, *(len(c) for p in predictions for c in p.classes)))
    head = f"{'sample':<{width}}" + "".join(f"  {f'top-{i + 1}':<{cls_width}} {'prob':>6}" for i in range(k))
    if any(p.label is not None for p in predictions):
        head += "  true"
    lines = [head]
    for p in predictions:
        row = f"{p.name:<{width}}" + "".join(f"  {c[:cls_width]:<{cls_width}} {v:6.3f}"
                                             for c, v in zip(p.classes, p.probabilities))
        if p.label is not None:
            row += "  " + " " * (k - len(p.classes)) * (cls_width + 9) + p.label
        lines.append(row)
    return "\n".join(lines)


def format_csv(predictions: Sequence[Prediction]) -> str:
    r"""One CSV row per sample and rank: ``name,source,rank,class,probability,label``."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "source", "rank", "class", "probability", "label"])
    for p in predictions:
        for rank, (c, v) in enumerate(zip(p.classes, p.probabilities), start=1):
            writer.writerow([p.name, p.source or "", rank, c, f"{v:.6f}", p.label or ""])
    return buffer.getvalue()
