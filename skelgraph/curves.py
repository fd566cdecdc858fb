r"""Training curves from run directories: ``skelgraph plot RUN [RUN...] --out curves.png``.

Reads each run's ``metrics.jsonl`` (one JSON object per epoch, :class:`~skelgraph.train.common.MetricsLog`)
and draws, per epoch, the training loss, the learning rate, the training accuracy and the
evaluation accuracies (``test_top1`` every ``eval_every`` epochs; ``val_top1`` when the run has a
validation split), one colour per run, so several runs (pre-trained against scratch) compare on
one figure. A pre-training run has loss and lr only; its accuracy panels stay empty.

Torch-free; matplotlib is imported only to draw (``pip install 'skelgraph[plot]'``), on an Agg
canvas without pyplot (no global backend is changed); the file goes through the atomic writer.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skelgraph.data.files import atomic_savefig

METRICS = "metrics.jsonl"
#: (panel title, y label, [(metric key, line style)]) of the figure's four panels.
PANELS = (("loss", "training loss", [("loss", "-")]),
          ("learning rate", "lr", [("lr", "-")]),
          ("training accuracy", "top-1 (%)", [("train_acc", "-")]),
          ("evaluation accuracy", "top-1 (%)", [("test_top1", "-"), ("val_top1", "--")]))


class CurvesError(ValueError):
    """A run without readable metrics (the message names the file)."""


def read_metrics(run: str | Path) -> list[dict[str, Any]]:
    r"""The per-epoch records of a run directory (or of a ``metrics.jsonl`` file), one per
    epoch in epoch order (a line repeated by a resume counts once, the last one wins; a half
    line left by a kill is skipped).

    Raises:
        CurvesError: no such file, or no epoch record in it.
    """
    run = Path(run)
    path = run / METRICS if run.is_dir() else run
    if not path.exists():
        raise CurvesError(f"{path}: no such file (not a training run directory?)")
    by_epoch: dict[int, dict[str, Any]] = {}
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("epoch"), int):
            by_epoch[record["epoch"]] = record
    if not by_epoch:
        raise CurvesError(f"{path}: holds no epoch record")
    return [by_epoch[e] for e in sorted(by_epoch)]


def series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    r"""``(epochs, values)`` of ``key`` over the records that have it.

    Example:
        >>> series([{"epoch": 1, "loss": 2.0}, {"epoch": 2}, {"epoch": 3, "loss": 1.0}], "loss")
        ([1, 3], [2.0, 1.0])
    """
    pairs = [(r["epoch"], float(r[key])) for r in records if isinstance(r.get(key), (int, float))]
    return [e for e, _ in pairs], [v for _, v in pairs]


def plot_curves(runs: Sequence[str | Path], out: str | Path, labels: Sequence[str] | None = None,
                title: str | None = None) -> Path:
    r"""Draws the curves of ``runs`` (run directories or ``metrics.jsonl`` files) into ``out``
    (``.png``, ``.pdf``, ``.svg``...; no suffix: ``.png``); ``labels`` name the runs in the legend (default: their
    folder names). Returns ``out``.

    Raises:
        CurvesError: a run without metrics, or as many labels as runs not given.
        ImportError: matplotlib is not installed.
    """
    if labels and len(labels) != len(runs):
        raise CurvesError(f"{len(labels)} label(s) for {len(runs)} run(s): give one --label per run")
    records = [read_metrics(r) for r in runs]
    names = list(labels) if labels else [_run_name(r) for r in runs]
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'skelgraph[plot]'") from None
    fig = Figure(figsize=(10, 7))
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for ax, (panel, ylabel, keys) in zip(axes, PANELS):
        drawn = False
        for recs, name, colour in zip(records, names, colours):
            for key, style in keys:
                epochs, values = series(recs, key)
                if not epochs:
                    continue
                label = name if len(keys) == 1 else f"{name} ({key.split('_')[0]})"
                ax.plot(epochs, values, style, color=colour, label=label, marker="o" if len(epochs) < 3 else None,
                        markersize=4)
                drawn = True
        ax.set_title(panel, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if panel == "learning rate" and drawn:
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes, color="grey")
    for ax in axes[2:]:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole (shared by the panels above)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return atomic_savefig(fig, out, dpi=110)


def _run_name(run: str | Path) -> str:
    run = Path(run)
    return (run.parent if run.name == METRICS else run).name or str(run)
