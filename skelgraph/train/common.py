r"""What every training command shares: device choice, the distributed set-up, seeding,
RNG state for exact resumption, atomic checkpoints and reading them back, the run directory,
the metrics log, the lr rule, and the check that a mask hides some joints but not all."""
from __future__ import annotations

import io
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
from torch_geometric import seed_everything  # noqa: F401  (random, numpy, torch and CUDA; re-exported for train/)

from skelgraph.data.files import atomic_write_bytes, atomic_write_text, check_output, write_failure
from skelgraph.transforms.augment import spatial_augment


class DeviceError(ValueError):
    """A device that is not there or not a device name (the message says which)."""


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cpu``/``cuda``/``cuda:1`` as given.

    Raises:
        DeviceError: not a device name, or CUDA (that index) is not available here.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise DeviceError(f"device {name!r}: not a device name (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {name!r} was asked for, but no CUDA device is available here (use --device auto "
                          f"or cpu)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if device.type == "meta":
        raise DeviceError(f"device {name!r} holds no data (shapes only): use auto, cpu or cuda")
    if device.type not in ("cpu", "cuda"):
        try:  # another back end (mps, xpu, ...): usable only where this build of torch has it and it is present
            torch.empty(1, device=device)
        except Exception:  # noqa: BLE001 -- each back end fails its own way (RuntimeError, AssertionError, ...)
            raise DeviceError(f"device {name!r}: this build of torch ({torch.__version__}) cannot use it here "
                              f"(use auto, cpu or cuda)") from None
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
    """``torch.save`` into memory, then :func:`~skelgraph.data.files.atomic_write_bytes`: a kill
    never leaves a half checkpoint, and a full disk is a :class:`~skelgraph.data.files.WriteError`
    naming the file (torch's own writer would fail with its C++ internals) with the previous
    checkpoint unchanged."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getbuffer())


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


def describe_split(split: str | tuple[str, ...] | list[str] | None) -> str:
    """How a message names the samples a run uses.

    Example:
        >>> describe_split(None), describe_split("train"), describe_split(("a", "b"))
        ('the whole file (no split given)', "split 'train'", "splits 'a' + 'b'")
    """
    if split is None:
        return "the whole file (no split given)"
    if isinstance(split, str):
        return f"split {split!r}"
    return "splits " + " + ".join(map(repr, split))


def check_not_empty(dataset: Any, data_path: Any, split: Any, what: str = "sample") -> None:
    """Refuses to train on no sample (a split stored empty, e.g. by a split file naming none of the samples).

    Raises:
        RunDirError: naming the file and the split.
    """
    if len(dataset) == 0:
        raise RunDirError(f"{data_path}: {describe_split(split)} holds no {what} to train on (`skelgraph info "
                          f"{data_path}` lists the splits and their sizes)")


class CheckpointError(RunDirError):
    """A checkpoint file that cannot be read (truncated, corrupt, foreign): the message names it."""


def prepare_run_dir(out_dir: Path, checkpoint: str, resume: bool, dist_info: DistInfo) -> Path:
    """Refuses to overwrite a run, to resume none, or to append to an earlier run's
    ``metrics.jsonl``; returns the checkpoint path. Creates nothing: the run directory is made
    when its first file is written, once the inputs have been read (:func:`make_run_dir`), so a
    command that fails on its inputs leaves no empty directory behind."""
    path = out_dir / checkpoint
    if dist_info.is_main:
        if out_dir.exists() and not out_dir.is_dir():
            raise RunDirError(f"{out_dir}: exists and is not a directory; choose another --out")
        if path.exists() and not resume:
            raise RunDirError(f"{out_dir} already holds a run ({checkpoint}); pass --resume to continue it "
                              f"or choose another --out")
        if resume and not path.exists():
            raise RunDirError(f"{out_dir}: nothing to resume ({checkpoint} is missing)")
        if not resume and (out_dir / "metrics.jsonl").exists():
            raise RunDirError(f"{out_dir} holds metrics.jsonl of an earlier run but no {checkpoint}: remove it or "
                              f"choose another --out (a new run would append to it)")
    return path


def make_run_dir(out_dir: Path) -> None:
    """Creates the run directory (call it once the inputs are known good, before the first write)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunDirError(f"{out_dir}: cannot create the run directory ({err.strerror})") from None


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


def check_masking(layout: Any, mask: str, num_parts: int, mask_ratio: float) -> None:
    r"""Refuses a mask that would hide every joint of a person (nothing left to rebuild them from)
    or none (nothing to learn), e.g. the default 2-part mask on a layout with only 2 parts.

    Raises:
        ConfigError: naming the layout, its parts and the setting to change.
    """
    from skelgraph.train.config import ConfigError

    if mask == "body-part":
        if num_parts >= layout.num_parts:
            raise ConfigError(f"layout {layout.name!r} has {layout.num_parts} body part(s) "
                              f"({', '.join(layout.part_names)}) and num_parts = {num_parts} hides them all: every "
                              f"joint would be hidden; lower num_parts, use mask = 'random-joint', or give the "
                              f"layout more parts")
    else:
        hidden = round(mask_ratio * layout.num_joints)
        if hidden == 0 or hidden >= layout.num_joints:
            what = "no joint" if hidden == 0 else "every joint"
            raise ConfigError(f"mask_ratio = {mask_ratio} hides {hidden} of the {layout.num_joints} joints of layout "
                              f"{layout.name!r}: {what} would be hidden; choose a ratio in between")


class MetricsLog:
    """One JSON object per line (``metrics.jsonl``); appends, so a resumed run continues it.

    ``tensorboard``: a folder where the same numbers also go as TensorBoard scalars (tag = key,
    step = epoch), through ``torch.utils.tensorboard`` (needs ``pip install tensorboard``; asking
    for it without is a :class:`RunDirError` at once, before any training)."""

    def __init__(self, path: Path, enabled: bool = True, tensorboard: str | Path | None = None) -> None:
        self.path, self.enabled = path, enabled
        self.tensorboard, self._writer = (Path(tensorboard) if tensorboard else None), None
        if self.tensorboard is not None and enabled:
            check_output(self.tensorboard, folder=True)  # a file there (or on the way) is refused before any training
            try:
                from torch.utils.tensorboard import SummaryWriter  # noqa: F401 -- checked now, used at the first write
            except ImportError:
                raise RunDirError(f"tensorboard = {str(self.tensorboard)!r} needs the tensorboard package: pip install "
                                  f"tensorboard (or leave tensorboard unset; metrics.jsonl has the same numbers)") \
                    from None

    def write(self, **record: Any) -> None:
        if not self.enabled:
            return
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}
        try:
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as err:  # a full disk: name the file, as every other write does
            raise write_failure(self.path, err) from None
        if self.tensorboard is not None:
            self._scalars(record)

    def _scalars(self, record: dict[str, Any]) -> None:
        """The record's numbers as scalars at step ``epoch`` (the time stamp and ``epoch`` itself left out)."""
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.tensorboard))
        step = int(record.get("epoch", 0))
        for key, value in record.items():
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def truncate_after(self, epoch: int) -> None:
        """Drops records of epochs after ``epoch`` (written before a kill, redone on resume) and
        lines that do not parse (a kill during an append leaves half a line): the checkpoint is
        the truth."""
        if not self.enabled or not self.path.exists():
            return
        keep = []
        for line in self.path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("epoch", 0) <= epoch:
                keep.append(line)
        atomic_write_text(self.path, "".join(line + "\n" for line in keep))


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process: CUDA max allocated, or the CPU's max resident set."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
