r"""A run directory belongs to one process at a time, and a run that fails before its first
checkpoint takes back only what it wrote.

:class:`RunDir` holds an exclusive ``flock`` on ``OUT/.lock`` for the whole run. The kernel drops
the lock when its process ends, however it ends (``kill -9`` too), so a dead run never keeps a
directory: the stale ``.lock`` file is simply locked again by the next run. Two runs started on
one ``--out`` at once: one gets the lock, the other stops with one line naming the holder's pid.

The checks of :func:`~skelgraph.train.common.prepare_run_dir` (no run to overwrite, a run to
resume) are made again once the lock is held, so they cannot race with another process.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Any

from skelgraph.data.files import atomic_write_text
from skelgraph.train.common import DistInfo, RunDirError, make_run_dir, prepare_run_dir
from skelgraph.train.config import config_to_toml

LOCK = ".lock"
#: Files a run writes beside its checkpoint; a fresh run that fails before its first checkpoint
#: removes those it created (nothing to resume from, and a next run would refuse to append to them).
RUN_FILES = ("config.toml", "metrics.jsonl", "load_report.json", "preprocessing.json", "best.pt")


class RunDir(contextlib.AbstractContextManager):
    r"""``with RunDir(out_dir, "checkpoint.pt", resume, dist_info):`` around a training run.

    On entry (main process only; the others hold nothing): creates ``out_dir`` if needed, takes
    the lock, checks the directory as :func:`prepare_run_dir` does. On exit: a fresh run that
    left no checkpoint removes the run files it created (:data:`RUN_FILES`) and, if it created
    the directory and nothing else is in it, the directory; then it releases the lock.

    Raises:
        RunDirError: another live process holds the directory, or the checks fail.
    """

    def __init__(self, out_dir: str | Path, checkpoint: str, resume: bool, dist_info: DistInfo = DistInfo()) -> None:
        self.out_dir, self.checkpoint, self.resume, self.dist_info = Path(out_dir), checkpoint, resume, dist_info
        self._fd: int | None = None
        self._created_dir = False
        self._before: set[str] = set()

    def __enter__(self) -> Path:
        path = self.out_dir / self.checkpoint
        if not self.dist_info.is_main:
            return path
        prepare_run_dir(self.out_dir, self.checkpoint, self.resume, self.dist_info)  # before creating anything
        if not self.out_dir.exists():
            try:
                self.out_dir.mkdir(parents=True)
                self._created_dir = True
            except FileExistsError:  # another run made it just now: the lock decides
                pass
            except OSError as err:
                raise RunDirError(f"{self.out_dir}: cannot create the run directory ({err.strerror})") from None
        self._lock()
        try:
            prepare_run_dir(self.out_dir, self.checkpoint, self.resume, self.dist_info)  # again, under the lock
        except BaseException:
            self._release(failed=True)
            raise
        self._before = {p.name for p in self.out_dir.iterdir()}
        return path

    def _lock(self) -> None:
        lock = self.out_dir / LOCK
        while True:
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                self._release(failed=True)
                raise RunDirError(f"{self.out_dir}: cannot lock the run directory ({err.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_holder(fd)
                os.close(fd)
                self._release(failed=True)
                raise RunDirError(f"{self.out_dir} is in use by another run ({holder}); wait for it to end or "
                                  f"choose another --out") from None
            try:  # the holder may have removed the file between our open and our lock: lock the new one
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        self._fd = fd

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.dist_info.is_main:
            self._release(failed=exc_type is not None)

    def _release(self, failed: bool) -> None:
        checkpoint = self.out_dir / self.checkpoint
        fresh_failure = failed and not self.resume and not checkpoint.exists()
        if fresh_failure and self._fd is not None:
            for name in RUN_FILES:  # only files this run created: they were not there when it started
                if name not in self._before and (self.out_dir / name).exists():
                    (self.out_dir / name).unlink()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.out_dir / LOCK)  # while still held, so no one locks a file about to go
            os.close(self._fd)
            self._fd = None
        if self._created_dir and fresh_failure:
            with contextlib.suppress(OSError):
                self.out_dir.rmdir()  # only when empty: anything else in it stays


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "pid unknown"


# ----------------------------------------------------------------------------- resuming

#: Settings a resumed run may change: how long it runs and where, not what it computes. Every
#: other setting is the run's own; asking for another value is refused.
RESUMABLE = ("epochs", "workers", "device", "checkpoint_every", "eval_every", "tensorboard")


def _saved_config(cls: type, state: dict[str, Any]) -> Any:
    """The config a checkpoint was written with, as ``cls`` (keys of older versions dropped)."""
    from skelgraph.train.checkpoints import saved_config

    return saved_config(state, cls)


def contradictions(run: Any, asked: Any, keys: Any = None) -> list[str]:
    r"""``key = asked (the run's: value)`` for every setting (of ``keys``, default all) where
    ``asked`` differs from the resumed ``run`` and that a resume cannot change."""
    import dataclasses

    names = [f.name for f in dataclasses.fields(run)] if keys is None else list(keys)
    return [f"{k} = {getattr(asked, k)!r} (the run's: {getattr(run, k)!r})" for k in names
            if k not in RESUMABLE and getattr(asked, k) != getattr(run, k)]


def check_resume_config(config: Any, state: dict[str, Any], out_dir: Path) -> None:
    r"""Refuses to resume ``state`` with a ``config`` that differs from the run's own in a
    setting a resume cannot change (the model's shape, the data, the optimiser, the schedule):
    the checkpoint's weights and optimiser state hold the run's values, so the run would crash
    on a shape mismatch or go on with other settings than its ``config.toml`` says.

    Raises:
        RunDirError: one line naming the settings.
    """
    bad = contradictions(_saved_config(type(config), state), config)
    if bad:
        raise RunDirError(f"{out_dir}: --resume continues the run with its own settings, and {'; '.join(bad)} "
                          f"contradicts them; drop that setting, or start a new run with another --out")


def resume_config(cls: type, out_dir: str | Path, checkpoint: str, config_path: str | Path | None,
                  overrides: dict[str, Any]) -> Any:
    r"""The config to resume ``out_dir`` with: the run's own (from its checkpoint), with those of
    :data:`RESUMABLE` that ``config_path`` or ``overrides`` (the flags given, ``None`` = not
    given) set. Anything else they set must equal the run's value.

    Raises:
        RunDirError: a setting that contradicts the run (one line naming them all), or no run.
        CheckpointError: the checkpoint cannot be read.
    """
    from skelgraph.train.checkpoints import load_checkpoint
    from skelgraph.train.config import load_config, read_config_values

    out_dir = Path(out_dir)
    if not (out_dir / checkpoint).exists():
        raise RunDirError(f"{out_dir}: nothing to resume ({checkpoint} is missing)")
    run = _saved_config(cls, load_checkpoint(out_dir / checkpoint))
    asked = load_config(cls, config_path, **overrides)  # validates the file and the flags
    keys = {k for k, v in overrides.items() if v is not None}
    if config_path is not None:
        keys |= set(read_config_values(config_path))
    bad = contradictions(run, asked, sorted(keys))
    if bad:
        raise RunDirError(f"{out_dir}: --resume continues the run with its own settings, and {'; '.join(bad)} "
                          f"contradicts them; drop it, or start a new run with another --out")
    import dataclasses

    return dataclasses.replace(run, **{k: getattr(asked, k) for k in keys if k in RESUMABLE})


def write_run_files(out_dir: Path, dataset: Any, config: Any, comment: str, write: bool = True) -> Any:
    r"""What a run records before its first epoch: the run directory, ``preprocessing.json`` (how
    a new recording is preprocessed for ``predict``/``embed``: :func:`~skelgraph.data.recipe.recipe_from_store`
    of ``dataset``) and the resolved ``config.toml`` headed by ``comment``; only with ``write``
    (the main process). Returns the recipe (every process stores it in its checkpoints)."""
    from skelgraph.data.recipe import recipe_from_store  # readers and preprocessing: only when a run starts

    recipe = recipe_from_store(dataset.store, num_frames=config.num_frames, num_persons=dataset.num_persons,
                               features=config.features)
    if write:
        make_run_dir(out_dir)
        recipe.write(out_dir)
        atomic_write_text(out_dir / "config.toml", config_to_toml(config, comment))
    return recipe
