r"""SkeletonMAE pre-training: masked joints (and, optionally, bones) rebuilt from the rest.

One process, or several under ``torchrun`` (DDP with a ``DistributedSampler``; NCCL on GPUs,
Gloo on the CPU). Every epoch draws its data order, frame sampling and masks from
``(seed, epoch)`` alone, and checkpoints hold model, optimiser, scheduler, epoch and RNG
states, so a run killed and resumed ends with the same weights as one never interrupted.

Run directory::

    config.toml       the resolved config (pass it back with --config to repeat the run)
    metrics.jsonl     one line per epoch: loss, joint_loss, edge_loss, contrastive_loss, lr, samples/s,
                      peak memory
    checkpoint.pt     the latest checkpoint (written atomically)
    README.md         the model card, written when the run ends (skelgraph.train.card)
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch_geometric.loader import DataLoader
from torch_geometric.transforms import BaseTransform, Compose

from skelgraph.data.dataset import SkeletonDataset
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.train.common import (
    DistInfo, MetricsLog, build_augment, check_masking, check_not_empty, cleanup_distributed, describe_split,
    epoch_loader, lr_factor, prepare_run_dir, resolve_device, restore_training_state, scaled_lr, seed_everything,
    setup_distributed,
)
from skelgraph.train.card import invocation, write_model_card
from skelgraph.train.checkpoints import CHECKPOINT, PRETRAIN_KIND, load_checkpoint, load_pretraining
from skelgraph.train.compat import check_data, check_features_data
from skelgraph.train.config import PretrainConfig
from skelgraph.train.loop import Step, autocast, run_epochs
from skelgraph.train.rundir import RunDir, check_resume_config, write_run_files
from skelgraph.transforms.augment import spatial_augment
from skelgraph.transforms.masking import BodyPartMask, RandomJointMask
from skelgraph.transforms.sampling import RandomTemporalCrop

LOSSES = ("loss", "joint_loss", "edge_loss", "contrastive_loss")  # what metrics.jsonl records per epoch


def build_model(config: PretrainConfig, in_channels: int) -> SkeletonMAE:
    """The model a config describes (one visible call; no registry)."""
    return SkeletonMAE(in_channels=in_channels, hidden_channels=config.hidden_channels,
                       enc_layers=config.enc_layers, dec_layers=config.dec_layers, conv=config.conv,
                       edge_weight=config.edge_weight, beta=config.beta, features=config.features,
                       targets=config.targets, loss=config.loss, temporal_kernel=config.temporal_kernel,
                       temporal_block=config.temporal_block,
                       contrastive_weight=config.contrastive_weight, temperature=config.temperature,
                       scope=config.scope, strl_layers=config.strl_layers, max_frames=config.num_frames,
                       temporal=config.temporal)


def build_mask(config: PretrainConfig, generator: torch.Generator) -> BaseTransform:
    """Node masking: body parts or random joints, the same in every frame or redrawn every
    ``mask_span`` frames.

    Bones are never removed from ``edge_index``: hidden joints are rebuilt from their visible
    neighbours, and with ``edge_weight > 0`` the model scores the bones of hidden joints itself
    (:meth:`SkeletonMAE.edge_pairs`). Removing them (``MaskEdges("incident")``) would leave every
    hidden joint without a neighbour, so its reconstruction would be one constant."""
    span = config.mask_span or None
    if config.mask == "body-part":
        return BodyPartMask(num_parts=config.num_parts, per_frame=span is not None, span=span or 1,
                            generator=generator, motion_tau=config.mask_motion_tau)
    return RandomJointMask(mask_ratio=config.mask_ratio, per_frame=span is not None, span=span or 1,
                           generator=generator, motion_tau=config.mask_motion_tau)


def build_contrast_view(config: PretrainConfig, generator: torch.Generator) -> BaseTransform | None:
    """The second view of the contrastive loss (``contrastive_weight > 0``): the unmasked batch
    rotated, scaled and sheared within the ``aug_*`` bounds and cropped in time to a random
    ``[contrast_crop, 1]`` of its frames (stretched back), one draw per graph; else None."""
    if config.contrastive_weight <= 0:
        return None
    steps = [spatial_augment(config.aug_rotate, config.aug_scale, config.aug_shear, generator)]
    if config.contrast_crop < 1.0:
        steps.append(RandomTemporalCrop((config.contrast_crop, 1.0), generator=generator))
    return Compose([step for step in steps if step is not None])


def make_loader(dataset: SkeletonDataset, config: PretrainConfig, dist_info: DistInfo, epoch: int) -> DataLoader:
    return epoch_loader(dataset, batch_size=config.batch_size, workers=config.workers, seed=config.seed,
                        epoch=epoch, dist_info=dist_info)


def pretrain(config: PretrainConfig, data_path: str | Path, out_dir: str | Path, resume: bool = False,
             progress: bool | None = None) -> dict[str, Any]:
    r"""Pre-trains SkeletonMAE on ``data_path`` (an HDF5 file) into ``out_dir``.

    Returns the last epoch's metrics. ``progress=None``: a bar on a terminal, a line every few
    seconds in a log (:mod:`skelgraph.progress`); ``False``: silent.
    """
    out_dir = Path(out_dir)
    device = resolve_device(config.device)
    dist_info, device = setup_distributed(device)
    try:
        with RunDir(out_dir, CHECKPOINT, resume, dist_info):  # one process per run directory
            return _pretrain(config, Path(data_path), out_dir, resume, progress, device, dist_info)
    finally:
        cleanup_distributed()


def _pretrain(config: PretrainConfig, data_path: Path, out_dir: Path, resume: bool, progress: bool | None,
              device: torch.device, dist_info: DistInfo) -> dict[str, Any]:
    started = time.perf_counter()
    checkpoint_path = prepare_run_dir(out_dir, CHECKPOINT, resume, dist_info)
    seed_everything(config.seed)
    dataset = SkeletonDataset(data_path, split=config.split, num_frames=config.num_frames, train=True,
                              num_persons=config.num_persons)
    check_not_empty(dataset, data_path, config.split)
    check_masking(dataset.layout, config.mask, config.num_parts, config.mask_ratio)
    check_features_data(config.features, dataset.store)
    in_channels = dataset.store.num_channels
    model = build_model(config, in_channels).to(device)
    lr = scaled_lr(config.lr, config.batch_size, config.base_batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=config.weight_decay)
    steps_per_epoch = len(make_loader(dataset, config, dist_info, 0))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(
        step / steps_per_epoch, warmup_epochs=config.warmup_epochs, schedule=config.schedule, epochs=config.epochs))
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")
    start_epoch = 0
    log = MetricsLog(out_dir / "metrics.jsonl", enabled=dist_info.is_main, tensorboard=config.tensorboard)
    if resume:
        state = load_checkpoint(checkpoint_path, map_location=device)
        check_resume_config(config, state, out_dir)  # the weights hold the run's settings: no others
        check_data(state, dataset, data=data_path)
        start_epoch = restore_training_state(state, model, optimizer, scheduler, scaler)
        log.truncate_after(start_epoch)
    recipe = write_run_files(out_dir, dataset, config, f"skelgraph pretrain {data_path} (resolved config; "
                             f"effective lr {lr:g})", write=dist_info.is_main)
    train_model: torch.nn.Module = model
    if dist_info.enabled:
        train_model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True)

    def begin_epoch(epoch: int, seed: int) -> tuple[Any, Step]:
        mask = build_mask(config, torch.Generator().manual_seed(seed))
        # its own stream (seed + 1), so switching augmentation on leaves the masks as they were
        augment = build_augment(config, torch.Generator().manual_seed(seed + 1))
        contrast = build_contrast_view(config, torch.Generator().manual_seed(seed + 2))

        def step(batch: Any) -> tuple[torch.Tensor, list[float], int]:
            other_view = None if contrast is None else contrast(batch.clone()).to(device)
            if augment is not None:
                batch = augment(batch)
            batch = mask(batch).to(device)
            with autocast(device, config.amp):
                out = train_model(batch, other_view=other_view)
            n = batch.num_graphs
            return out["loss"], [float(out[k].detach()) * n for k in LOSSES], n

        return make_loader(dataset, config, dist_info, epoch), step

    metrics = run_epochs(
        desc="pretrain", epochs=config.epochs, start_epoch=start_epoch, seed=config.seed, metric_names=LOSSES,
        begin_epoch=begin_epoch, model=model, train_model=train_model, optimizer=optimizer, scheduler=scheduler,
        scaler=scaler, device=device, dist_info=dist_info, log=log, progress=progress,
        checkpoint_path=checkpoint_path, checkpoint_every=config.checkpoint_every,
        checkpoint_extras={"config": dataclasses.asdict(config), "in_channels": in_channels,
                           "layout": dataset.layout.to_json(), "kind": PRETRAIN_KIND,
                           "preprocessing": recipe.to_dict()},
        summary=lambda m: f"loss {m['loss']:.4f}")
    if dist_info.is_main:
        write_model_card(out_dir, kind=PRETRAIN_KIND, data_path=data_path, provenance=dataset.store.provenance,
                         config=config, metrics=metrics, wall_seconds=time.perf_counter() - started,
                         command=invocation(), split=describe_split(config.split))
    return metrics


def load_pretrained(path: str | Path, map_location: str | torch.device = "cpu",
                    data: Any = None) -> tuple[SkeletonMAE, dict[str, Any]]:
    """A pre-trained SkeletonMAE and its checkpoint dict, from a run dir or a checkpoint file
    (read and its config validated by :func:`~skelgraph.train.checkpoints.load_pretraining`).
    With ``data`` (a dataset or its store), the data is checked to fit the model first
    (:func:`~skelgraph.train.compat.check_data`)."""
    state, config = load_pretraining(path, map_location)
    if data is not None:
        check_data(state, data)
    model = build_model(config, state["in_channels"])
    model.load_state_dict(state["model"])
    return model, state
