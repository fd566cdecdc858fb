r"""Supervised training on top of SkeletonMAE: fine-tuning with STRL, the linear probe, and
training from scratch (the baseline).

Protocols (``config.protocol`` / ``config.init``):

- ``finetune`` + ``init = "pretrained"``: :class:`~skelgraph.nn.strl.STRLClassifier` whose
  encoder ``G_E`` comes from a pre-training run; everything is trained (the paper's SSL).
- ``finetune`` + ``init = "none"``: the same model from random weights (the from-scratch
  baseline).
- ``linear``: :class:`~skelgraph.nn.strl.LinearProbe`, a linear classifier on the frozen
  encoder's pooled features (``init = "none"``: on a random encoder).
- ``label_fraction < 1``: the semi-supervised protocol; training uses a class-balanced,
  seeded subset of the training labels (:func:`~skelgraph.train.subset.label_fraction_indices`).

k-NN needs no training: see :func:`skelgraph.train.evaluate.evaluate`.

SGD (momentum, Nesterov, weight decay), the lr scaled linearly with the global batch from
``base_batch_size``, linear warm-up then ×``lr_gamma`` at each of ``lr_steps`` (stepped per
batch), cross-entropy with label smoothing. Training batches get light augmentation (rotate,
scale, shear) drawn from a per-epoch generator. As in :mod:`skelgraph.train.pretrain`, every
epoch draws from ``(seed, epoch)`` alone and checkpoints hold every state, so a resumed run
ends with the same weights as an uninterrupted one. DDP under ``torchrun``.

Run directory::

    config.toml       the resolved config
    metrics.jsonl     per epoch: loss, train_acc, lr, samples/s, peak memory; test_top1/top5
                      (and val_top1/top5 with a val_split) every eval_every epochs and at the last
    checkpoint.pt     the latest checkpoint (atomic)
    best.pt           with a val_split: the checkpoint of the epoch with the best val_top1 (the
                      test split is only reported, never used to choose)
    load_report.json  which pre-trained weights were loaded, missing, unexpected
    README.md         the model card, written when the run ends (skelgraph.train.card)
"""
from __future__ import annotations

import dataclasses
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import Module
from torch.nn.parallel import DistributedDataParallel
from torch_geometric.loader import DataLoader

from skelgraph.data.dataset import SkeletonDataset
from skelgraph.data.files import atomic_write_text
from skelgraph.nn.encoder import ENCODER_PREFIXES
from skelgraph.nn.strl import TRUNK_PREFIXES, LinearProbe, LoadReport, STRLClassifier
from skelgraph.train.common import (
    DistInfo, MetricsLog, RunDirError, build_augment, check_not_empty, cleanup_distributed, describe_split,
    epoch_loader, lr_factor, prepare_run_dir, resolve_device, restore_training_state, scaled_lr,
    seed_everything, setup_distributed,
)
from skelgraph.train.card import invocation, write_model_card
from skelgraph.train.checkpoints import CHECKPOINT, FINETUNE_KINDS, load_checkpoint, load_finetuning, load_pretraining
from skelgraph.train.compat import check_data, check_features_data
from skelgraph.train.config import FinetuneConfig
from skelgraph.train.loop import Selection, Step, autocast, run_epochs
from skelgraph.train.rundir import RunDir, check_resume_config, write_run_files
from skelgraph.train.subset import label_fraction_indices, validation_indices

KINDS = FINETUNE_KINDS  # protocol -> the checkpoint's kind
BEST = "best.pt"  # the best validation epoch's checkpoint, beside CHECKPOINT


def build_model(config: FinetuneConfig, in_channels: int, num_classes: int, pretrained: dict[str, Any] | None = None,
                layout_json: str | None = None) -> tuple[Module, LoadReport | None]:
    """The model a config describes, with the pre-trained encoder when ``pretrained`` (a
    pre-training checkpoint dict) is given; returns ``(model, load report or None)``."""
    config = resolve_encoder_inputs(config, pretrained)
    arch = dict(hidden_channels=config.hidden_channels, enc_layers=config.enc_layers, conv=config.conv,
                features=config.features, temporal_kernel=config.temporal_kernel,
                temporal_block=config.temporal_block)
    if config.protocol == "linear":
        if pretrained is not None:
            return LinearProbe.from_pretrained(pretrained, num_classes, layout=layout_json, in_channels=in_channels,
                                               **arch)
        return LinearProbe(in_channels, num_classes, **arch), None
    extra = dict(strl_layers=config.strl_layers, max_frames=config.num_frames, dropout=config.dropout,
                 temporal=config.temporal)
    if pretrained is not None:
        return STRLClassifier.from_pretrained(pretrained, num_classes, layout=layout_json, in_channels=in_channels,
                                              **arch, **extra)
    return STRLClassifier(in_channels, num_classes, **arch, **extra), None


#: The encoder's settings a fine-tuning run takes from its pre-training checkpoint when unset,
#: with the paper's values for a run without one.
ENCODER_DEFAULTS = {"hidden_channels": 64, "enc_layers": 3, "conv": "gin", "features": ("position",),
                    "temporal_kernel": 0, "temporal_block": "depthwise"}


def resolve_encoder_inputs(config: FinetuneConfig, pretrained: dict[str, Any] | None) -> FinetuneConfig:
    r"""``config`` with its unset encoder settings (``None``: width, depth, conv, features,
    temporal kernel and block) taken from the pre-training checkpoint ``pretrained`` (else the paper's,
    :data:`ENCODER_DEFAULTS`), so the run records what it used; a value that was set stays (and
    must match, :func:`~skelgraph.nn.strl.check_compatible`)."""
    saved = (pretrained or {}).get("config", {}) or {}
    values = {key: getattr(config, key) if getattr(config, key) is not None else saved.get(key, default)
              for key, default in ENCODER_DEFAULTS.items()}
    values["features"] = tuple(values["features"])
    if pretrained is None:  # from scratch (refused in _check if set), or resumed: the run's own value
        return dataclasses.replace(config, **values, pretrained_trunk=bool(config.pretrained_trunk))
    holds_trunk = saved.get("scope") == "strl"
    if config.pretrained_trunk is not None and config.pretrained_trunk != holds_trunk:
        raise RunDirError(f"pretrained_trunk = {str(config.pretrained_trunk).lower()}, but the pre-training "
                          f"checkpoint {'holds' if holds_trunk else 'does not hold'} the STRL trunk "
                          f"(scope {saved.get('scope', 'none')!r}); leave pretrained_trunk unset")
    values["pretrained_trunk"] = holds_trunk
    return dataclasses.replace(config, **values)


def param_groups(model: Module, lr: float, encoder_lr_scale: float = 1.0, split: bool = False,
                 pretrained_prefixes: tuple[str, ...] = ENCODER_PREFIXES) -> list[dict[str, Any]]:
    """Trainable parameters as SGD groups: the pre-trained layers (names starting with
    ``pretrained_prefixes``: the encoder ``G_E`` by default, plus :data:`~skelgraph.nn.strl.TRUNK_PREFIXES`
    when the STRL trunk was pre-trained) at ``lr * encoder_lr_scale``, then the rest at ``lr``; one
    group when the scale is 1 and ``split`` is not asked for (the schedule then treats them apart)."""
    if encoder_lr_scale < 0:
        raise RunDirError(f"encoder_lr_scale must be >= 0, got {encoder_lr_scale}")
    encoder, rest = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (encoder if name.startswith(pretrained_prefixes) else rest).append(p)
    if (encoder_lr_scale == 1.0 and not split) or not encoder:
        return [{"params": encoder + rest, "lr": lr}]
    return [{"params": encoder, "lr": lr * encoder_lr_scale}, {"params": rest, "lr": lr}]


def make_train_loader(dataset: SkeletonDataset, config: FinetuneConfig, dist_info: DistInfo,
                      epoch: int) -> DataLoader:
    return epoch_loader(dataset, batch_size=config.batch_size, workers=config.workers, seed=config.seed,
                        epoch=epoch, dist_info=dist_info)


@torch.no_grad()
def evaluate_accuracy(model: Module, dataset: SkeletonDataset, config: FinetuneConfig, dist_info: DistInfo,
                      device: torch.device, prefix: str = "test") -> dict[str, float]:
    """Top-1/top-5 (percent) on ``dataset`` as ``{prefix}_top1`` / ``{prefix}_top5``; each process
    takes every world_size-th sample (no padding, so the counts are exact) and the counts are summed."""
    shard = dataset.index_select(list(range(dist_info.rank, len(dataset), dist_info.world_size)))
    loader = DataLoader(shard, batch_size=max(1, config.batch_size // dist_info.world_size), shuffle=False,
                        num_workers=config.workers)
    model.eval()
    counts = torch.zeros(3, dtype=torch.float64)  # top-1 hits, top-5 hits, samples
    for batch in loader:
        batch = batch.to(device)
        with autocast(device, config.amp):
            logits = model(batch).float()
        y = batch.y.view(-1)
        top = logits.topk(min(5, logits.size(1)), dim=1).indices
        counts += torch.tensor([float((top[:, 0] == y).sum()), float((top == y[:, None]).any(1).sum()), len(y)],
                               dtype=torch.float64)
    if dist_info.enabled:
        torch.distributed.all_reduce(counts)
    n = max(float(counts[2]), 1.0)
    return {f"{prefix}_top1": round(100 * float(counts[0]) / n, 3),
            f"{prefix}_top5": round(100 * float(counts[1]) / n, 3)}


def finetune(config: FinetuneConfig, data_path: str | Path, out_dir: str | Path,
             pretrained: str | Path | None = None, resume: bool = False,
             progress: bool | None = None) -> dict[str, Any]:
    r"""Trains a classifier on ``data_path`` (an HDF5 file) into ``out_dir`` by
    ``config.protocol``; ``pretrained`` is a pre-training run directory or checkpoint (needed
    when ``config.init == "pretrained"``, unless resuming). Returns the last epoch's metrics.
    ``progress=None``: a bar on a terminal, a line every few seconds in a log."""
    device = resolve_device(config.device)
    dist_info, device = setup_distributed(device)
    try:
        with RunDir(out_dir, CHECKPOINT, resume, dist_info):  # one process per run directory
            return _finetune(config, Path(data_path), Path(out_dir), pretrained, resume, progress, device, dist_info)
    finally:
        cleanup_distributed()


def _check(config: FinetuneConfig, pretrained: str | Path | None, resume: bool) -> None:
    if config.init == "none" and pretrained is not None:
        raise RunDirError("init = 'none' trains from scratch: drop --pretrained (or use --init pretrained)")
    if config.init == "pretrained" and pretrained is None and not resume:
        raise RunDirError("init = 'pretrained' needs a pre-training run: pass --pretrained RUN_DIR "
                          "(or --init none to train from scratch)")
    if not 0.0 < config.label_fraction <= 1.0:
        raise RunDirError(f"label_fraction must be in (0, 1], got {config.label_fraction}")
    if config.pretrained_trunk and pretrained is None and not resume:
        raise RunDirError("pretrained_trunk = true needs a pre-training run whose scope was 'strl': pass "
                          "--pretrained RUN_DIR, or leave pretrained_trunk unset")


def _check_resumed_source(pretrained: str | Path | None, state: dict[str, Any], out_dir: Path) -> None:
    """A resumed run's encoder is in its checkpoint: a ``--pretrained`` naming another run than the
    one it started from would be ignored, so it is refused (the same one is fine)."""
    if pretrained is None:
        return
    recorded = state.get("pretrained")
    if recorded is None or Path(recorded).resolve() != Path(pretrained).resolve():
        raise RunDirError(f"{out_dir}: --resume continues from the run's own checkpoint, whose encoder came from "
                          f"{recorded or 'no pre-training run'}, and --pretrained {pretrained} contradicts it; drop "
                          f"--pretrained, or start a new run with another --out")


def _finetune(config: FinetuneConfig, data_path: Path, out_dir: Path, pretrained: str | Path | None, resume: bool,
              progress: bool | None, device: torch.device, dist_info: DistInfo) -> dict[str, Any]:
    _check(config, pretrained, resume)
    started = time.perf_counter()
    checkpoint_path = prepare_run_dir(out_dir, CHECKPOINT, resume, dist_info)
    seed_everything(config.seed)
    train_set = SkeletonDataset(data_path, split=config.train_split, num_frames=config.num_frames, train=True,
                                num_persons=config.num_persons)
    test_set = None
    if config.test_split is not None:
        test_set = SkeletonDataset(data_path, split=config.test_split, num_frames=config.num_frames,
                                   num_persons=config.num_persons)
    check_not_empty(train_set, data_path, config.train_split)
    in_channels = train_set.store.num_channels
    num_classes = train_set.num_classes
    labels = train_set.labels
    val_set, pool = validation_set(config, data_path, train_set)
    subset = pool[label_fraction_indices(labels[pool], config.label_fraction, seed=config.seed)]
    if len(subset) == 0:
        raise RunDirError(f"{data_path}: {describe_split(config.train_split)} has no labelled sample to train on")
    if len(subset) < len(train_set):
        train_set = train_set.index_select(subset.tolist())
    pretrained_state = None
    if pretrained is not None and not resume:
        pretrained_state, _ = load_pretraining(pretrained)  # read, kind and saved config checked
        check_data(pretrained_state, train_set, data=data_path, features=config.features)
    config = resolve_encoder_inputs(config, pretrained_state)
    check_features_data(config.features, train_set.store)
    model, report = build_model(config, in_channels, num_classes, pretrained_state, train_set.layout.to_json())
    model = model.to(device)
    lr = scaled_lr(config.lr, config.batch_size, config.base_batch_size)
    pretrained_prefixes = ENCODER_PREFIXES + (TRUNK_PREFIXES if config.pretrained_trunk else ())
    groups = param_groups(model, lr, config.encoder_lr_scale, split=config.encoder_frozen_epochs > 0,
                          pretrained_prefixes=pretrained_prefixes)
    optimizer = torch.optim.SGD(groups, lr=lr, momentum=config.momentum, weight_decay=config.weight_decay,
                                nesterov=config.nesterov and config.momentum > 0)
    steps_per_epoch = len(make_train_loader(train_set, config, dist_info, 0))

    def schedule(step: int) -> float:
        return lr_factor(step / steps_per_epoch, warmup_epochs=config.warmup_epochs, schedule="step",
                         epochs=config.epochs, steps=tuple(config.lr_steps), gamma=config.lr_gamma)

    def encoder_schedule(step: int) -> float:  # lr 0 while the encoder is held frozen
        return 0.0 if step / steps_per_epoch < config.encoder_frozen_epochs else schedule(step)

    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, schedule if len(groups) == 1 else [encoder_schedule, schedule])
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    start_epoch, pretrained_source = 0, str(pretrained) if pretrained is not None else None
    log = MetricsLog(out_dir / "metrics.jsonl", enabled=dist_info.is_main, tensorboard=config.tensorboard)
    if resume:
        state = load_checkpoint(checkpoint_path, map_location=device)
        check_resume_config(config, state, out_dir)  # the weights hold the run's settings: no others
        check_data(state, train_set, data=data_path, classes=True)
        _check_resumed_source(pretrained, state, out_dir)
        if state.get("kind") != KINDS[config.protocol]:
            raise RunDirError(f"{checkpoint_path} is a {state.get('kind')!r} run, the config asks for protocol "
                              f"{config.protocol!r}")
        start_epoch = restore_training_state(state, model, optimizer, scheduler, scaler)
        pretrained_source = state.get("pretrained")
        log.truncate_after(start_epoch)
    recipe = write_run_files(out_dir, train_set, config, f"skelgraph finetune {data_path} (resolved config; "
                             f"effective lr {lr:g}; pretrained {pretrained_source or 'none'})", write=dist_info.is_main)
    if dist_info.is_main:
        if report is not None:
            atomic_write_text(out_dir / "load_report.json", json.dumps(report.to_dict(), indent=2) + "\n")
            print(str(report), file=sys.stderr)
    train_model: Module = model
    if dist_info.enabled:
        train_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def begin_epoch(epoch: int, seed: int) -> tuple[Any, Step]:
        augment = build_augment(config, torch.Generator().manual_seed(seed))

        def step(batch: Any) -> tuple[torch.Tensor, list[float], int]:
            if augment is not None:
                batch = augment(batch)
            batch = batch.to(device)
            y = batch.y.view(-1)
            with autocast(device, config.amp):
                logits = train_model(batch)
            loss = criterion(logits.float(), y)
            n = len(y)
            return loss, [float(loss.detach()) * n, 100 * float((logits.detach().argmax(dim=1) == y).sum())], n

        return make_train_loader(train_set, config, dist_info, epoch), step

    def evaluate(epoch: int, last: bool) -> dict[str, Any]:
        if not ((epoch + 1) % config.eval_every == 0 or last):
            return {}
        out = {} if val_set is None else evaluate_accuracy(model, val_set, config, dist_info, device, "val")
        if test_set is not None:
            out |= evaluate_accuracy(model, test_set, config, dist_info, device)
        return out

    def summary(m: dict[str, Any]) -> str:
        val = f"  val top-1 {m['val_top1']:.2f}%" if "val_top1" in m else ""
        test = f"  test top-1 {m['test_top1']:.2f}%" if "test_top1" in m else ""
        return f"loss {m['loss']:.4f}  train acc {m['train_acc']:.1f}%{val}{test}"

    select = None if val_set is None else Selection("val_top1", out_dir / BEST)
    if select is not None and resume:
        select.restore(state.get("selection"))

    metrics = run_epochs(
        desc=config.protocol, epochs=config.epochs, start_epoch=start_epoch, seed=config.seed,
        metric_names=("loss", "train_acc"), begin_epoch=begin_epoch, model=model, train_model=train_model,
        optimizer=optimizer, scheduler=scheduler, scaler=scaler, device=device, dist_info=dist_info, log=log,
        progress=progress, checkpoint_path=checkpoint_path, checkpoint_every=config.checkpoint_every,
        checkpoint_extras={"config": dataclasses.asdict(config), "in_channels": in_channels,
                           "num_classes": num_classes, "class_names": train_set.class_names,
                           "layout": train_set.layout.to_json(), "pretrained": pretrained_source,
                           "kind": KINDS[config.protocol], "preprocessing": recipe.to_dict()},
        summary=summary, lr_group=-1, evaluate=evaluate, select=select)
    if dist_info.is_main:
        write_model_card(out_dir, kind=KINDS[config.protocol], data_path=data_path,
                         provenance=train_set.store.provenance, config=config, metrics=metrics,
                         wall_seconds=time.perf_counter() - started,
                         command=invocation(), split=describe_split(config.train_split),
                         selection=None if select is None else select.to_dict(), pretrained=pretrained_source)
    return metrics


def validation_set(config: FinetuneConfig, data_path: Path,
                   train_set: SkeletonDataset) -> tuple[SkeletonDataset | None, np.ndarray]:
    r"""The run's validation set (evaluation sampling) and the positions of ``train_set`` left to
    train on: ``val_split`` a split name (disjoint from the training split and not the test
    split), or a fraction carved from ``train_set`` (:func:`~skelgraph.train.subset.validation_indices`);
    ``None``: no validation, every position.

    Raises:
        RunDirError: the validation split is the test split, overlaps the training split, or is empty.
    """
    everything = np.arange(len(train_set))
    if config.val_split is None:
        return None, everything
    make = functools.partial(SkeletonDataset, data_path, num_frames=config.num_frames, num_persons=config.num_persons)
    if isinstance(config.val_split, str):
        if config.val_split == config.test_split:
            raise RunDirError(f"val_split {config.val_split!r} is the test split: a checkpoint chosen on it would "
                              f"make the test number optimistic; name another split or a fraction (val_split = 0.1)")
        val_set = make(split=config.val_split)
        shared = np.intersect1d(val_set.indices_in_file, train_set.indices_in_file)
        if len(shared):
            raise RunDirError(f"{data_path}: val_split {config.val_split!r} shares {len(shared)} sample(s) with "
                              f"{describe_split(config.train_split)}; use disjoint splits or a fraction")
        if len(val_set) == 0:
            raise RunDirError(f"{data_path}: val_split {config.val_split!r} holds no sample to validate on")
        return val_set, everything
    chosen = validation_indices(train_set.labels, config.val_split, seed=config.seed)
    if len(chosen) == 0:
        raise RunDirError(f"{data_path}: val_split = {config.val_split} of {describe_split(config.train_split)} "
                          f"is no sample (too few per class); use a larger fraction or a split name")
    val_set = make(split=config.train_split).index_select(chosen.tolist())
    return val_set, np.setdiff1d(everything, chosen)


def load_finetuned(path: str | Path, map_location: str | torch.device = "cpu",
                   data: Any = None) -> tuple[Module, dict[str, Any]]:
    """A trained classifier (:class:`STRLClassifier` or :class:`LinearProbe`) and its checkpoint
    dict, from a fine-tuning run directory or checkpoint file (read and its config validated by
    :func:`~skelgraph.train.checkpoints.load_finetuning`). With ``data`` (a dataset or its store),
    the data is checked to fit the classifier first (:func:`~skelgraph.train.compat.check_data`)."""
    state, config = load_finetuning(path, map_location)
    if data is not None:
        check_data(state, data, classes=True)
    model, _ = build_model(config, state["in_channels"], state["num_classes"])
    model.load_state_dict(state["model"])
    return model, state
