r"""Evaluation: classification metrics, k-NN on frozen features, the confusion matrix, and
:func:`evaluate` of a fine-tuning run (or k-NN of a pre-trained / random encoder).

Metric functions are plain functions of tensors: ``scores`` ``[Q, K]`` (logits or any score,
higher = more likely), ``labels`` ``[Q]``.

Files written by :func:`evaluate` (into the run directory, or ``out``)::

    metrics.json     top1, top5 (in %), per-class accuracy, confusion matrix, what was evaluated
    confusion.png    the row-normalised confusion matrix (needs matplotlib)
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.loader import DataLoader

from skelgraph.data.files import atomic_savefig, atomic_write_text, check_output, make_folder
from skelgraph.progress import progress_bar


class EvaluationError(ValueError):
    """An evaluation that cannot run as asked (one-line reason)."""


# ----------------------------------------------------------------------------- metrics


def topk_accuracy(scores: Tensor, labels: Tensor, k: int = 1) -> float:
    r"""Fraction of rows whose label is among the ``k`` highest scores (``k`` is capped at the
    number of classes). Returns a value in ``[0, 1]`` (``nan`` for no rows).

    Example:
        >>> topk_accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
        0.5
    """
    if labels.numel() == 0:
        return float("nan")
    k = min(k, scores.size(1))
    top = scores.topk(k, dim=1).indices
    return float((top == labels.view(-1, 1)).any(dim=1).double().mean())


def confusion_matrix(pred: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    r"""``[K, K]`` counts, row = true class, column = predicted class.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2).tolist()
        [[1, 1], [0, 1]]
    """
    index = labels.long() * num_classes + pred.long()
    return torch.bincount(index, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_accuracy(confusion: Tensor) -> Tensor:
    r"""Recall of every class, ``[K]`` (diagonal / row sum; ``nan`` for a class with no sample).

    Example:
        >>> per_class_accuracy(torch.tensor([[1, 1], [0, 1]])).tolist()
        [0.5, 1.0]
    """
    totals = confusion.sum(dim=1).double()
    return torch.where(totals > 0, confusion.diagonal().double() / totals.clamp(min=1), torch.nan)


def classification_metrics(scores: Tensor, labels: Tensor, num_classes: int,
                           class_names: list[str] | None = None) -> dict[str, Any]:
    r"""``top1``/``top5`` (percent, 4 decimals; top-5 is top-``K`` when ``K < 5``),
    ``mean_class_accuracy`` (percent, over classes present), ``per_class`` (name -> percent or
    ``None``), ``confusion`` (list of rows), ``class_names`` and
    ``num_samples``."""
    scores, labels = scores.detach().cpu().float(), labels.detach().cpu().long()
    confusion = confusion_matrix(scores.argmax(dim=1), labels, num_classes)
    per_class = per_class_accuracy(confusion)
    names = list(class_names or [])
    names += [str(i) for i in range(len(names), num_classes)]
    present = ~per_class.isnan()
    return {
        "num_samples": int(labels.numel()),
        "top1": round(100 * topk_accuracy(scores, labels, 1), 4),
        "top5": round(100 * topk_accuracy(scores, labels, 5), 4),
        "mean_class_accuracy": round(float(100 * per_class[present].mean()), 4) if present.any() else float("nan"),
        "per_class": {names[i]: None if torch.isnan(a) else round(100 * float(a), 4)
                      for i, a in enumerate(per_class)},
        "confusion": confusion.tolist(),
        "class_names": names[:num_classes],
    }


# ----------------------------------------------------------------------------- k-NN


def knn_scores(train_features: Tensor, train_labels: Tensor, test_features: Tensor, k: int = 20,
               num_classes: int | None = None, weighted: bool = True, temperature: float = 0.07) -> Tensor:
    r"""Class scores ``[Q, K]`` of a k-nearest-neighbour classifier with cosine similarity.

    Each test feature votes with its ``k`` most similar training features (``k`` capped at the
    training set size). ``weighted=True``: a neighbour with similarity ``s`` adds
    ``exp(s / temperature)`` to its class (the instance-discrimination k-NN monitor of Wu et
    al., 2018, used by most skeleton SSL papers); ``weighted=False``: plain majority vote,
    ties broken by the summed similarity. ``argmax`` of the scores is the prediction; top-5
    ranks classes by the same scores.

    Example:
        >>> train = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> knn_scores(train, torch.tensor([0, 0, 1]), torch.tensor([[1.0, 0.2]]), k=2).argmax(1).tolist()
        [0]
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    num_classes = num_classes or int(train_labels.max()) + 1
    train_n = torch.nn.functional.normalize(train_features.float(), dim=1)
    test_n = torch.nn.functional.normalize(test_features.float(), dim=1)
    similarity = test_n @ train_n.T  # [Q, N_train]
    sim, idx = similarity.topk(min(k, train_n.size(0)), dim=1)
    neighbour_labels = train_labels.long()[idx]  # [Q, k]
    if weighted:
        votes = (sim / temperature).exp()
    else:
        votes = 1.0 + 1e-6 * (sim + 1)  # ties -> larger summed similarity (sim + 1 >= 0)
    scores = torch.zeros(test_n.size(0), num_classes)
    return scores.scatter_add_(1, neighbour_labels, votes)


# ----------------------------------------------------------------------------- running a model


@torch.no_grad()
def collect(extract: Callable[[Any], Tensor], loader: DataLoader, device: torch.device, desc: str = "evaluate",
            progress: bool | None = False) -> tuple[Tensor, Tensor]:
    r"""``(outputs [Q, F], labels [Q])`` of every sample of ``loader``, ``extract(batch)`` giving
    the outputs of one batch (moved to ``device``); outputs come back as float32 on the CPU."""
    outputs, labels = [], []
    for batch in progress_bar(loader, desc=desc, unit="batch", enabled=progress):
        batch = batch.to(device)
        outputs.append(extract(batch).float().cpu())
        labels.append(batch.y.view(-1).cpu())
    if not outputs:
        return torch.zeros(0, 0), torch.zeros(0, dtype=torch.long)
    return torch.cat(outputs), torch.cat(labels)


def predict(model: Module, loader: DataLoader, device: torch.device, features: bool = False,
            desc: str = "evaluate", progress: bool | None = False) -> tuple[Tensor, Tensor]:
    r"""``(outputs, labels)`` of every sample of ``loader``: logits ``[Q, K]``, or pooled
    features ``[Q, D]`` with ``features=True``; the model is put in eval mode."""
    model.eval()
    return collect(model.pooled_features if features else model, loader, device, desc, progress)


def plot_confusion(confusion: list[list[int]] | Tensor, class_names: list[str], path: Path,
                   title: str = "") -> Path:
    r"""Writes the row-normalised confusion matrix as a PNG (raises ``ImportError`` without
    matplotlib)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: the caller's global backend stays as it is

    counts = np.asarray(confusion, dtype=np.float64)
    rows = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    k = len(counts)
    size = min(16.0, max(4.0, 0.35 * k + 2))
    fig = Figure(figsize=(size, size))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(rows, vmin=0, vmax=1, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    if k <= 40:
        ax.set_xticks(range(k), class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(k), class_names, fontsize=7)
        if k <= 15:
            for i in range(k):
                for j in range(k):
                    if counts[i, j]:
                        ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                                color="white" if rows[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return atomic_savefig(fig, path, dpi=120)  # a full disk leaves no 0-byte picture, and says which file


# ----------------------------------------------------------------------------- evaluate command


def evaluate(run_dir: str | Path, data_path: str | Path, split: str | None = None, *, out: str | Path | None = None,
             knn: int | None = None, pretrained: str | Path | None = None, init: str | None = None,
             train_split: str | None = None, weighted: bool = True, label_fraction: float = 1.0,
             batch_size: int = 64, device: str = "auto", workers: int = 0, seed: int = 0,
             progress: bool | None = None) -> dict[str, Any]:
    r"""Evaluates on ``split`` of ``data_path`` and writes ``metrics.json`` and
    ``confusion.png`` into ``out`` (default ``run_dir``). Returns the metrics.

    - A fine-tuning run (``run_dir`` holds its ``checkpoint.pt``; or a checkpoint file such as
      the run's ``best.pt``, whose files then go to ``eval_best/`` beside it): the classifier's
      predictions; with ``knn=K``, k-NN on its pooled features (``pooled_features``) instead.
    - ``pretrained=PRETRAIN_RUN`` (or ``init="none"``: a random encoder seeded with ``seed``,
      the k-NN baseline; with both, the random encoder has the pre-training run's architecture:
      features, width, depth, conv, temporal kernel): k-NN (``knn`` required) on the pooled
      features of the bare encoder; ``run_dir`` is then only where the files go.

    k-NN fits on ``train_split`` (default: the run's train split), or on the class-balanced
    ``label_fraction`` of its labels that ``finetune --label-fraction`` with the same ``seed``
    trains on (the few-label regime). ``split`` defaults to the
    run's test split. Frames and persons follow the run's (or pre-training run's) config.
    """
    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.nn.strl import LinearProbe, check_compatible, checkpoint_trunk
    from skelgraph.train.checkpoints import CHECKPOINT, load_pretraining
    from skelgraph.train.common import resolve_device
    from skelgraph.train.compat import check_data
    from skelgraph.train.finetune import load_finetuned
    from skelgraph.train.subset import label_fraction_indices

    run_dir = Path(run_dir)
    checkpoint = run_dir  # a run directory, or one of its checkpoint files (best.pt beside checkpoint.pt)
    if run_dir.is_file():
        run_dir = run_dir.parent / f"eval_{run_dir.stem}"  # never the run's own metrics.json for another epoch
    out_dir = check_output(Path(out) if out is not None else run_dir, folder=True)  # before any work
    dev = resolve_device(device)
    show = progress  # None: a bar on a terminal, a line every few seconds in a log
    info: dict[str, Any] = {"data": str(data_path)}
    state = ft_state = None
    if pretrained is not None or init == "none":
        if knn is None:
            raise EvaluationError("a pre-trained or random encoder has no classifier: pass --knn K")
        state = load_pretraining(pretrained)[0] if pretrained is not None else None
        cfg = state["config"] if state else {}
        num_frames, num_persons = cfg.get("num_frames", 64), cfg.get("num_persons")
        test_split = split
        fit_split = train_split if train_split is not None else cfg.get("split")
        random_encoder = init == "none"
        info.update(model="random encoder" if random_encoder else "pretrained encoder",
                    pretrained=str(pretrained) if pretrained else None)
    else:
        if not checkpoint.is_file() and not (checkpoint / CHECKPOINT).exists():
            raise FileNotFoundError(f"{checkpoint}: no {CHECKPOINT} (pass a fine-tuning run or one of its checkpoint "
                                    f"files, or --pretrained / --init none for k-NN of an encoder)")
        model, ft_state = load_finetuned(checkpoint)
        cfg = ft_state["config"]
        num_frames, num_persons = cfg["num_frames"], cfg.get("num_persons")
        test_split = split if split is not None else cfg.get("test_split")
        fit_split = train_split if train_split is not None else cfg.get("train_split")
        info.update(model=ft_state["kind"], run_dir=str(checkpoint), epoch=ft_state["epoch"])
    if test_split is None:
        raise EvaluationError("no split to evaluate on: pass --split")
    test_set = SkeletonDataset(data_path, split=test_split, num_frames=num_frames, num_persons=num_persons)
    in_channels = test_set.store.num_channels
    num_classes = test_set.num_classes
    checked = ft_state if state is None else state
    # layout, channels, features (and classes, for the classifier) must be the run's
    if checked is not None and init != "none":
        check_data(checked, test_set, data=data_path, classes=state is None and knn is None)
    if pretrained is not None or init == "none":
        if state is not None:
            model, _ = LinearProbe.from_pretrained(state, num_classes, layout=test_set.layout.to_json(),
                                                   in_channels=in_channels)
        if random_encoder:  # the baseline: the same architecture (the pre-training run's, if given), random weights
            arch = {} if state is None else check_compatible(state, in_channels=in_channels) | (
                checkpoint_trunk(state) or {})
            torch.manual_seed(seed)
            model = LinearProbe(**(arch | {"in_channels": in_channels}), num_classes=num_classes)
    elif model.num_classes != num_classes and knn is None:
        raise EvaluationError(f"the run's classifier has {model.num_classes} classes, {data_path} has {num_classes}")
    model = model.to(dev)

    def loader(dataset):
        return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers)

    if knn is not None:
        if fit_split is None or fit_split == test_split:
            raise EvaluationError(f"k-NN needs a split to fit on other than the evaluated {test_split!r}: "
                                  "pass --train-split")
        fit_set = SkeletonDataset(data_path, split=fit_split, num_frames=num_frames, num_persons=num_persons)
        if not 0.0 < label_fraction <= 1.0:
            raise EvaluationError(f"label_fraction must be in (0, 1], got {label_fraction}")
        if label_fraction < 1.0:
            fit_set = fit_set.index_select(label_fraction_indices(fit_set.labels, label_fraction, seed=seed).tolist())
        train_feats, train_labels = predict(model, loader(fit_set), dev, features=True, desc="features (fit)",
                                            progress=show)
        keep = train_labels >= 0
        test_feats, labels = predict(model, loader(test_set), dev, features=True, desc="features (test)",
                                     progress=show)
        scores = knn_scores(train_feats[keep], train_labels[keep], test_feats, k=knn, num_classes=num_classes,
                            weighted=weighted)
        info.update(protocol="knn", k=knn, weighted=weighted, train_split=fit_split, label_fraction=label_fraction,
                    neighbours=int(keep.sum()))
    else:
        scores, labels = predict(model, loader(test_set), dev, desc="evaluate", progress=show)
        info.update(protocol="classifier")
    keep = labels >= 0
    metrics = {**info, "split": test_split,
               **classification_metrics(scores[keep], labels[keep], num_classes, test_set.class_names)}
    make_folder(out_dir)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    metrics["metrics_path"] = str(out_dir / "metrics.json")
    try:
        title = f"{info['model']} {info['protocol']} on {test_split}: top-1 {metrics['top1']:.2f}%"
        metrics["confusion_path"] = str(plot_confusion(metrics["confusion"], metrics["class_names"],
                                                       out_dir / "confusion.png", title))
    except ImportError:
        metrics["confusion_path"] = None
        print("matplotlib is not installed: confusion.png not written (pip install 'skelgraph[plot]')",
              file=sys.stderr)
    return metrics
