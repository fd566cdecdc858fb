r"""Writing files so that nothing is lost: a temporary name beside the target, renamed at the end,
and the temporaries of killed writers cleaned up by the next one.

A writer of ``out.h5`` writes ``.out.h5.tmp-<pid>`` and renames it to ``out.h5`` when done, so an
interrupted run never leaves a half file and never destroys an existing one. A ``kill -9`` leaves
the temporary behind; :func:`remove_stale_temporaries` (called before each write) removes those
whose process no longer runs on this machine.

:func:`atomic_path` is the one writer every file goes through (:func:`atomic_write_text`,
:func:`atomic_write_bytes` for small files, :func:`atomic_savefig` for plots; checkpoints and
HDF5 files use the path it yields): a failed write raises :class:`WriteError`, one line naming the file and the cause
(``No space left on device``), and removes its temporary.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


def temporary_path(path: Path) -> Path:
    """Where this process writes ``path`` before renaming it (``.NAME.tmp-PID`` beside it)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    r"""Removes ``.NAME.tmp-PID`` files beside ``path`` whose writer process is gone; returns them.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "data.h5"
        >>> stale = out.with_name(".data.h5.tmp-999999999")  # no such process
        >>> _ = stale.write_bytes(b"half a file")
        >>> [p.name for p in remove_stale_temporaries(out)], stale.exists()
        (['.data.h5.tmp-999999999'], False)
    """
    pattern = re.compile(rf"\.{re.escape(path.name)}\.tmp-(\d+)")
    removed = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.glob(f".{path.name}.tmp-*"):
        match = pattern.fullmatch(candidate.name)
        if match and int(match.group(1)) != os.getpid() and not _running(int(match.group(1))):
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:  # gone already, or not ours to remove
                pass
    return removed


class WriteError(OSError):
    r"""A file that could not be written (full disk, no permission, a vanished folder); the
    message names the target and the cause, and says that nothing was replaced. An
    :class:`OSError`, so code that catches those still does."""


def check_output(path: str | Path, *, folder: bool = False) -> Path:
    r"""Refuses, before any work is done, an output that cannot be written where it is asked for:
    a folder on its way that is a file, a file where a folder is wanted, a folder where a file
    is. Missing folders are fine (the writer makes them). Returns ``path``.

    Raises:
        WriteError: naming ``path`` and what is in the way.

    Example:
        >>> import tempfile
        >>> blocker = Path(tempfile.mkdtemp()) / "notes.txt"
        >>> _ = blocker.write_text("x")
        >>> check_output(blocker / "plot.png")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        skelgraph.data.files.WriteError: .../plot.png: cannot write there, .../notes.txt is a file, not a folder
    """
    path = Path(path)
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise WriteError(f"{path}: cannot write there, {blocker} is a file, not a folder")
    if folder and path.exists() and not path.is_dir():
        raise WriteError(f"{path}: is a file, not a folder; choose another output folder")
    if not folder and path.is_dir():
        raise WriteError(f"{path}: is a directory; give a file name")
    return path


def check_replaceable(path: str | Path, ours: Callable[[Path], bool], what: str,
                      inputs: Iterable[str | Path] = ()) -> None:
    r"""Refuses to write over a file skelgraph did not make: an existing ``path`` must be one of
    its own outputs of this kind (``ours(path)``, e.g. a dataset for ``synth``) and none of the
    command's ``inputs``; a missing ``path`` is fine. Call it before any work.

    Raises:
        WriteError: naming ``path`` and what it is; nothing is touched.

    Example:
        >>> import tempfile
        >>> notes = Path(tempfile.mkdtemp()) / "notes.txt"
        >>> _ = notes.write_text("mine")
        >>> check_replaceable(notes, lambda p: False, "a skelgraph dataset")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        skelgraph.data.files.WriteError: .../notes.txt: exists and is not a skelgraph dataset; nothing was replaced ...
    """
    path = Path(path)
    if not path.is_file():
        return
    for source in inputs:
        source = Path(source)
        if source.exists() and os.path.samefile(source, path):
            raise WriteError(f"{path}: is also an input of this command; nothing was replaced, choose another "
                             f"output")
    if not ours(path):
        raise WriteError(f"{path}: exists and is not {what}; nothing was replaced (skelgraph writes over its own "
                         f"files only: choose another output, or remove it yourself)")


def read_text_file(path: str | Path, what: str, error: type[Exception]) -> str:
    r"""The text of a file a user names (a config, a split file, a list of names): ``error``
    (the caller's class, so the command reports it as its own) naming the file and what it was
    expected to be when it is missing, a folder, unreadable or not text.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "c.toml"
        >>> _ = path.write_bytes(b"\xff\xfe binary")
        >>> read_text_file(path, "config file", ValueError)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: .../c.toml: not a text file (binary content), expected a config file
    """
    path = Path(path)
    try:
        return path.read_text()
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a {what}") from None
    except OSError as err:
        raise error(f"{path}: cannot read {what} ({err.strerror})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a text file (binary content), expected a {what}") from None


def write_failure(path: Path, err: BaseException) -> WriteError:
    """The :class:`WriteError` for ``err`` raised while writing ``path`` (errno's text: what a
    user can act on, not a library's internals)."""
    errno = getattr(err, "errno", None)
    reason = os.strerror(errno) if errno else (str(err).splitlines() or [type(err).__name__])[0]
    error = WriteError(f"{path}: cannot write ({reason}); nothing was replaced")
    error.errno = errno  # set after: as an argument, str() would start "[Errno N]"
    return error


def make_folder(path: str | Path) -> Path:
    """Creates the folder ``path`` (and its parents) unless it exists; a failure (a full disk, no
    permission) is the :class:`WriteError` of :func:`write_failure`, naming it. Returns ``path``."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_failure(path, err) from None
    return path


class GuardedFile(io.RawIOBase):
    r"""A binary file that never lets a write error reach the library writing through it.

    HDF5 left in a failed write (ENOSPC) crashes the process when its objects are freed later
    (exit 139 after a clean message). Through this object (``h5py.File(GuardedFile(...))``)
    HDF5 never sees the failure: the first error is kept in :attr:`error`, later writes are
    dropped, and the caller raises it once HDF5 has closed normally.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._f = open(path, "w+b")  # noqa: SIM115 -- closed in close()
        self.error: OSError | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._f.readinto(buffer)

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self.error is None:
            try:
                self._f.write(data)
            except OSError as err:
                self.error = err
        return size

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def truncate(self, size: int | None = None) -> int:
        try:
            return self._f.truncate(size)
        except OSError as err:
            self.error = self.error or err
            return self._f.tell() if size is None else size

    def flush(self) -> None:
        if self.error is None and not self._f.closed:
            try:
                self._f.flush()
            except OSError as err:
                self.error = err

    def close(self) -> None:
        if not self._f.closed:
            self.flush()
            if self.error is None:
                try:  # once, at the end: a disk that accepted buffered bytes may still refuse them here
                    os.fsync(self._f.fileno())
                except OSError as err:
                    self.error = err
            self._f.close()
        super().close()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    r"""The one way skelgraph writes a file: yields a temporary path beside ``path`` to write to;
    on success it is renamed to ``path`` (an existing file is replaced only then), on any error
    it is removed. An :class:`OSError` while writing (full disk, permissions) becomes a
    :class:`WriteError` naming ``path``; other exceptions pass unchanged.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_path(out) as tmp:
        ...     _ = tmp.write_text("done")
        >>> out.read_text(), sorted(p.name for p in out.parent.iterdir())
        ('done', ['a.txt'])
    """
    path = Path(path)
    remove_stale_temporaries(path)
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except WriteError:
        raise
    except OSError as err:
        raise write_failure(path, err) from None
    finally:
        try:
            if tmp.exists():
                tmp.unlink()
        except OSError:
            pass


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Writes ``data`` to ``path`` through :func:`atomic_path` (flushed to disk before the
    rename, so a full disk is reported here, not found later as a short file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    return atomic_write_bytes(path, text.encode())


def atomic_savefig(fig: Any, path: str | Path, **kwargs: Any) -> Path:
    r"""Saves a matplotlib figure through :func:`atomic_path` (a failed write leaves no partial
    or 0-byte picture and raises :class:`WriteError`); the suffix picks the format (none: ``.png``,
    added to the returned path). ``kwargs`` go to ``fig.savefig`` (``dpi``...)."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    with atomic_path(path) as tmp:  # the temporary's name has no image suffix: say the format
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower(), **kwargs)
    return path
