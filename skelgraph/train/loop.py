r"""The one epoch loop of pre-training and fine-tuning.

A training command builds its model, optimizer, schedule and data, then hands
:func:`run_epochs` a ``begin_epoch`` function; the loop does the rest the same way for every
command: per-epoch seeding (so a resumed run replays the epochs it continues bit for bit), the
progress bar (a line every few seconds in a log), the optimizer step, graph-weighted epoch
metrics summed over every process, ``metrics.jsonl``, the summary line, an optional evaluation
and the checkpoint cadence. :func:`autocast` is the one place mixed precision is chosen (bf16
on the CPU, fp16 on CUDA).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from skelgraph.progress import progress_bar, progress_enabled
from skelgraph.train.common import (DistInfo, MetricsLog, atomic_save, epoch_seed, optimizer_step, peak_memory_mb,
                                    training_state)

#: ``step(batch) -> (loss, sums, n)``: the loss to minimise, per-batch sums of the epoch's metrics
#: (each a value times the batch's ``n`` graphs, so the epoch metric is ``sum / graphs``), and ``n``
Step = Callable[[Any], tuple[Tensor, Sequence[float], int]]


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    r"""Mixed precision for a model's forward pass: bf16 on the CPU, fp16 on CUDA (with a
    ``GradScaler``); a no-op when not ``enabled``."""
    return torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16,
                          enabled=enabled)


@dataclass
class Selection:
    r"""Keeps the checkpoint of the epoch with the highest ``metric`` (an evaluation metric, e.g.
    ``val_top1``) at ``path`` (``best.pt``) beside the last one. ``best`` and ``epoch`` (1-based)
    are the best so far; the checkpoints record them (``selection``), so a resumed run goes on
    choosing among the same epochs."""

    metric: str
    path: Path
    best: float | None = None
    epoch: int | None = None

    def update(self, metrics: dict[str, Any]) -> bool:
        """Takes the epoch's metrics; True when they beat the best so far (ties keep the earlier)."""
        value = metrics.get(self.metric)
        if value is None or (self.best is not None and value <= self.best):
            return False
        self.best, self.epoch = float(value), int(metrics["epoch"])
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "value": self.best, "epoch": self.epoch}

    def restore(self, record: dict[str, Any] | None) -> None:
        """Continues from a checkpoint's ``selection`` record (none: nothing chosen yet)."""
        if record and record.get("metric") == self.metric:
            self.best, self.epoch = record.get("value"), record.get("epoch")


def run_epochs(*, desc: str, epochs: int, start_epoch: int, seed: int, metric_names: Sequence[str],
               begin_epoch: Callable[[int, int], tuple[Iterable[Any], Step]], model: torch.nn.Module,
               train_model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, scaler: Any,
               device: torch.device, dist_info: DistInfo, log: MetricsLog, progress: bool | None,
               checkpoint_path: Path, checkpoint_every: int, checkpoint_extras: dict[str, Any],
               summary: Callable[[dict[str, Any]], str], lr_group: int = 0,
               evaluate: Callable[[int, bool], dict[str, Any]] | None = None,
               select: Selection | None = None) -> dict[str, Any]:
    r"""Trains epochs ``start_epoch .. epochs - 1``; returns the last epoch's metrics.

    Args:
        desc: The progress bar's label (``pretrain``, ``finetune``, ``linear``).
        seed: The run's seed; epoch ``e`` of rank ``r`` seeds torch with
            :func:`~skelgraph.train.common.epoch_seed` and passes that seed to ``begin_epoch``.
        metric_names: Names of the sums a step returns, in order (``metrics.jsonl`` keys).
        begin_epoch: ``(epoch, seed) -> (loader, step)``: the epoch's batches and what one batch
            does (transforms from generators seeded with ``seed``, the forward pass under
            :func:`autocast`); called after ``torch.manual_seed(seed)``.
        model, train_model: The model whose state is saved, and what trains (itself or its DDP
            wrapper).
        lr_group: The optimizer parameter group whose lr ``metrics.jsonl`` records.
        evaluate: ``(epoch, last) -> metrics`` added to the epoch's (e.g. test accuracy).
        summary: The epoch's summary line after ``epoch e/E`` (printed to stderr with progress).
        checkpoint_extras: What the checkpoint holds besides the training state (config, kind...).
        select: Keeps the checkpoint of the best epoch by one of ``evaluate``'s metrics beside the
            last (:class:`Selection`).
    """
    metrics: dict[str, Any] = {}
    show = progress_enabled(progress) and dist_info.is_main  # a bar on a terminal, lines in a log
    for epoch in range(start_epoch, epochs):
        epoch_rng = epoch_seed(seed, epoch, dist_info.rank)
        torch.manual_seed(epoch_rng)  # frame sampling (workers=0), dropout
        loader, step = begin_epoch(epoch, epoch_rng)
        train_model.train()
        totals = torch.zeros(len(metric_names) + 1, dtype=torch.float64)  # graph-weighted sums, graphs
        start = time.perf_counter()
        bar = progress_bar(loader, desc=f"{desc} {epoch + 1}/{epochs}", unit="batch",
                           enabled=progress if show else False)
        for batch in bar:
            loss, sums, n = step(batch)
            optimizer_step(loss, optimizer, scaler, scheduler)
            totals += torch.tensor([*sums, n], dtype=torch.float64)
            elapsed = time.perf_counter() - start
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}", samples_s=f"{totals[-1] / elapsed:.0f}")
        if dist_info.enabled:
            torch.distributed.all_reduce(totals)
        seconds = time.perf_counter() - start
        graphs = max(float(totals[-1]), 1.0)
        metrics = dict(epoch=epoch + 1, **{k: float(v) / graphs for k, v in zip(metric_names, totals)},
                       lr=optimizer.param_groups[lr_group]["lr"], samples=int(totals[-1]), seconds=round(seconds, 3),
                       samples_per_s=round(float(totals[-1]) / seconds, 1),
                       peak_memory_mb=round(peak_memory_mb(device), 1))
        last = epoch + 1 == epochs
        if evaluate is not None:
            metrics.update(evaluate(epoch, last))
        log.write(**metrics)
        if show:
            tqdm.write(f"epoch {epoch + 1}/{epochs}  {summary(metrics)}  ({metrics['samples_per_s']:.0f} samples/s)",
                       file=sys.stderr)
        improved = select is not None and select.update(metrics)
        due = (epoch + 1) % checkpoint_every == 0 or last
        if dist_info.is_main and (due or improved):
            state = training_state(model, optimizer, scheduler, scaler, epoch + 1) | checkpoint_extras
            if select is not None:
                state["selection"] = select.to_dict()
            if improved:
                atomic_save(state, select.path)
            if due:
                atomic_save(state, checkpoint_path)
    return metrics
