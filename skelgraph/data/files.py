r"""Writing files so that nothing is lost: a temporary name beside the target, renamed at the end,
and the temporaries of killed writers cleaned up by the next one.

A writer of ``out.h5`` writes ``.out.h5.tmp-<pid>`` and renames it to ``out.h5`` when done, so an
interrupted run never leaves a half file and never destroys an existing one. A ``kill -9`` leaves
the temporary behind; :func:`remove_stale_temporaries` (called before each write) removes those
whose process no longer runs on this machine.
"""
from __future__ import annotations

import os
import re
from pathlib import Path


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
