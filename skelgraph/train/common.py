r"""What every training command shares: device choice, the distributed set-up, seeding,
RNG state for exact resumption, atomic checkpoints, the metrics log, the lr rule."""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from skelgraph.transforms.augment import spatial_augment


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cpu``/``cuda``/``cuda:1`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is available")
    return device


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a (possibly one-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: torch.device) -> tuple[DistInfo, torch.device]:
    r"""Joins the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1): NCCL on
    GPUs, Gloo on the CPU. A plain run needs none of torchrun's variables."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world_size, local_rank), device


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every RNG a run draws from, for a checkpoint that resumes exactly."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary name, then rename: a kill never leaves a half checkpoint."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def scaled_lr(lr: float, batch_size: int, base_batch_size: int) -> float:
    r"""The linear scaling rule (Goyal et al., 2017): the learning rate grows with the global
    batch, ``lr * batch_size / base_batch_size``.

    Example:
        >>> scaled_lr(1.5e-4, 256, 1024)
        3.75e-05
    """
    return lr * batch_size / base_batch_size


def lr_factor(epoch: float, *, warmup_epochs: int, schedule: str, epochs: int,
              steps: tuple[int, ...] = (), gamma: float = 0.1) -> float:
    r"""Multiplier of the base lr at (fractional) ``epoch``: linear warm-up, then ``constant``,
    ``cosine`` (to zero at ``epochs``) or ``step`` (× ``gamma`` at each epoch in ``steps``).

    Example:
        >>> lr_factor(95, warmup_epochs=5, schedule="step", epochs=110, steps=(90, 100))
        0.1
    """
    if warmup_epochs and epoch < warmup_epochs:
        return (epoch + 1) / (warmup_epochs + 1) if epoch >= 0 else 0.0
    if schedule == "cosine":
        span = max(1, epochs - warmup_epochs)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (epoch - warmup_epochs) / span)))
    if schedule == "step":
        return gamma ** sum(epoch >= s for s in steps)
    return 1.0


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Every random draw of an epoch derives from this, so an epoch redone after a resume is
    the same epoch."""
    return (seed * 1_000_003 + epoch * 1009 + rank) % 2**62


def build_augment(config: Any, generator: torch.Generator) -> Any:
    """The training augmentation a config asks for (its ``augment``, ``aug_rotate``,
    ``aug_scale``, ``aug_shear`` fields; one draw per graph), or None when off."""
    if not config.augment:
        return None
    return spatial_augment(config.aug_rotate, config.aug_scale, config.aug_shear, generator)


def epoch_loader(dataset: Any, *, batch_size: int, workers: int, seed: int, epoch: int,
                 dist_info: DistInfo) -> Any:
    r"""The shuffled training loader of one epoch: its order (and the seeds of its workers)
    follow from ``(seed, epoch)``; under DDP a ``DistributedSampler`` gives each process its
    share of the global ``batch_size``."""
    from torch.utils.data import DistributedSampler, RandomSampler
    from torch_geometric.loader import DataLoader

    generator = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    if dist_info.enabled:
        sampler = DistributedSampler(dataset, num_replicas=dist_info.world_size, rank=dist_info.rank,
                                     shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
    else:
        sampler = RandomSampler(dataset, generator=generator)
    return DataLoader(dataset, batch_size=max(1, batch_size // dist_info.world_size), sampler=sampler,
                      num_workers=workers, generator=generator)


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: Any, scheduler: Any) -> None:
    """Backward (through the AMP grad scaler, a no-op when disabled), optimiser step, lr step."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()


class RunDirError(ValueError):
    """A run directory that cannot be used as asked (the message says why)."""


def prepare_run_dir(out_dir: Path, checkpoint: str, resume: bool, dist_info: DistInfo) -> Path:
    """Creates ``out_dir`` (main process) and refuses to overwrite a run, or to resume none.
    Returns the checkpoint path."""
    path = out_dir / checkpoint
    if dist_info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        if path.exists() and not resume:
            raise RunDirError(f"{out_dir} already holds a run ({checkpoint}); pass --resume to continue it "
                              f"or choose another --out")
        if resume and not path.exists():
            raise RunDirError(f"{out_dir}: nothing to resume ({checkpoint} is missing)")
    return path


def training_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, scaler: Any,
                   epoch: int) -> dict[str, Any]:
    """What a checkpoint needs to resume exactly (callers add their own metadata)."""
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(), "epoch": epoch, "rng": rng_state()}


def restore_training_state(state: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                           scheduler: Any, scaler: Any) -> int:
    """Inverse of :func:`training_state`; returns the number of finished epochs."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return int(state["epoch"])


class MetricsLog:
    """One JSON object per line (``metrics.jsonl``); appends, so a resumed run continues it."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path, self.enabled = path, enabled

    def write(self, **record: Any) -> None:
        if not self.enabled:
            return
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def truncate_after(self, epoch: int) -> None:
        """Drops records of epochs after ``epoch`` (written before a kill, redone on resume)."""
        if not self.enabled or not self.path.exists():
            return
        keep = [line for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("epoch", 0) <= epoch]
        self.path.write_text("".join(line + "\n" for line in keep))


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process: CUDA max allocated, or the CPU's max resident set."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
