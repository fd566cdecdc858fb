r"""Checkpoints: the one file name, the one reader, and the configs saved in them.

Every checkpoint skelgraph reads goes through :func:`load_checkpoint` (training resumes, the
pre-trained encoder of a fine-tune, :func:`~skelgraph.train.pretrain.load_pretrained`,
:func:`~skelgraph.train.finetune.load_finetuned`, evaluation, prediction and
``STRLClassifier.from_pretrained``): a missing, truncated, foreign or wrong-kind file is a
:class:`~skelgraph.train.common.CheckpointError` naming the file, never a traceback. The run
config stored in a checkpoint is rebuilt by :func:`saved_config`, which checks names, types
and values exactly as a config file is checked (:func:`~skelgraph.train.config.make_config`),
so a hand-edited or older checkpoint fails with one line naming the file and the key.

What a checkpoint holds (a dict saved with ``torch.save``): ``model`` (state dict), ``kind``
(``"skeletonmae"``, ``"strl"`` or ``"linear"``), ``config`` (the resolved run config as a dict),
``in_channels``, ``layout`` (JSON), ``preprocessing``, ``epoch`` and the training state
(optimizer, scheduler, scaler, RNG); fine-tuning adds ``num_classes`` and ``pretrained``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Collection
from pathlib import Path
from typing import Any, TypeVar

import torch

from skelgraph.train.common import CheckpointError
from skelgraph.train.config import FinetuneConfig, PretrainConfig, make_config

CHECKPOINT = "checkpoint.pt"  # the file in every run directory
PRETRAIN_KIND = "skeletonmae"
FINETUNE_KINDS = {"finetune": "strl", "linear": "linear"}  # FinetuneConfig.protocol -> kind

C = TypeVar("C")

_KIND_NAMES = {PRETRAIN_KIND: "SkeletonMAE pre-training", "strl": "fine-tuning", "linear": "fine-tuning"}


def checkpoint_file(path: str | Path) -> Path:
    r"""``path`` itself, or :data:`CHECKPOINT` inside it when it is a (run) directory."""
    path = Path(path)
    return path / CHECKPOINT if path.is_dir() else path


def load_checkpoint(path: str | Path, map_location: Any = "cpu", *,
                    kinds: Collection[str] | None = None) -> dict[str, Any]:
    r"""The dict saved in a checkpoint file (or in :data:`CHECKPOINT` inside a run directory),
    with its ``path`` added.

    Args:
        path: A checkpoint file or a run directory.
        map_location: As ``torch.load``'s.
        kinds: The ``kind`` values accepted (``None``: any).

    Raises:
        CheckpointError: the file is missing, or cannot be unpickled (a full disk or a broken copy
            leaves a truncated file; random bytes; another program's file), holds no dict, or is of
            another kind than ``kinds``.
    """
    path = checkpoint_file(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 -- torch.load fails in many ways on a bad file; all mean "unreadable"
        # an OSError's text here ("Invalid argument") is torch's reader, not the disk: leave it out
        reason = "" if isinstance(err, OSError) or not str(err) else f": {str(err).splitlines()[0][:160]}"
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt file?){reason}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a skelgraph checkpoint (it holds a {type(state).__name__})")
    if kinds is not None and state.get("kind") not in kinds:
        wanted = " or ".join(sorted({_KIND_NAMES.get(k, k) for k in kinds}))
        raise CheckpointError(f"{path}: not a {wanted} checkpoint (kind {state.get('kind')!r})")
    state.setdefault("path", str(path))
    return state


def saved_config(state: dict[str, Any], cls: type[C]) -> C:
    r"""The run config saved in ``state`` as a ``cls`` (:class:`PretrainConfig` or
    :class:`FinetuneConfig`), validated as a config file is: wrong types and bad values raise
    :class:`~skelgraph.train.config.ConfigError` naming the checkpoint and the key. Keys that
    ``cls`` no longer has (a checkpoint of an older version) are dropped, and ``None`` values
    keep the default, so old runs still load."""
    config = state.get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{state.get('path', 'checkpoint')}: holds no run config")
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    saved = {k: v for k, v in config.items() if k in known and v is not None}
    return make_config(cls, saved, f"{state.get('path', 'checkpoint')}: saved config")


def load_pretraining(path: str | Path, map_location: Any = "cpu") -> tuple[dict[str, Any], PretrainConfig]:
    r"""A SkeletonMAE pre-training checkpoint and its validated config."""
    state = load_checkpoint(path, map_location, kinds=(PRETRAIN_KIND,))
    return state, saved_config(state, PretrainConfig)


def load_finetuning(path: str | Path, map_location: Any = "cpu") -> tuple[dict[str, Any], FinetuneConfig]:
    r"""A fine-tuning (STRL or linear probe) checkpoint and its validated config."""
    state = load_checkpoint(path, map_location, kinds=tuple(FINETUNE_KINDS.values()))
    return state, saved_config(state, FinetuneConfig)
