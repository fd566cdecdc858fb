r"""Progress of long loops on stderr: a tqdm bar on a terminal, and plain lines every few seconds
when stderr is a file or a pipe (a job run under ``nohup`` and watched with ``tail -f`` must not
stay silent for 40 minutes).

``progress_bar`` is a drop-in for ``tqdm(iterable, ...)`` as the commands use it (iteration,
``set_postfix``, ``close``). ``enabled``: ``None`` = the default above; ``False`` = silent;
``True`` = a bar even when stderr is not a terminal. The seconds between two lines are
``SKELGRAPH_PROGRESS_S`` from the environment (default 5).
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

LOG_INTERVAL_S = 5.0  # seconds between two plain progress lines (SKELGRAPH_PROGRESS_S overrides it)


def log_interval() -> float:
    r"""Seconds between two plain progress lines: ``SKELGRAPH_PROGRESS_S`` (a number >= 0) or
    :data:`LOG_INTERVAL_S`.

    Raises:
        ValueError: one line naming the variable and its value (the CLI checks it at start).
    """
    raw = os.environ.get("SKELGRAPH_PROGRESS_S")
    if raw is None or not raw.strip():
        return LOG_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"SKELGRAPH_PROGRESS_S={raw!r}: must be a number of seconds >= 0 (or unset: "
                         f"{LOG_INTERVAL_S:g})")
    return value


def progress_enabled(enabled: bool | None) -> bool:
    """Whether anything is shown: a bar or log lines (``None``: always; ``False``: never)."""
    return enabled is not False


class LogProgress:
    r"""Iterates ``iterable`` and writes ``desc: n/total unit (p%), s elapsed, ~s left, postfix``
    to ``file`` every ``interval`` seconds, and once at the end if it wrote before (a loop shorter
    than ``interval`` stays quiet)."""

    def __init__(self, iterable: Iterable[Any], total: int | None = None, desc: str = "", unit: str = "it",
                 interval: float | None = None, file: TextIO | None = None) -> None:
        if interval is None:
            interval = log_interval()
        self.iterable, self.desc, self.unit, self.interval = iterable, desc, unit, interval
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.file = file if file is not None else sys.stderr
        self.postfix = ""
        self.n = 0

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def line(self, elapsed: float) -> str:
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        left = ""
        if self.total and 0 < self.n < self.total:
            left = f", ~{elapsed / self.n * (self.total - self.n):.0f} s left"
        return f"{self.desc}: {done} {self.unit}{share}, {elapsed:.0f} s{left}" + \
            (f", {self.postfix}" if self.postfix else "")

    def __iter__(self) -> Iterator[Any]:
        start = last = time.monotonic()
        wrote = False
        for item in self.iterable:
            yield item
            self.n += 1
            now = time.monotonic()
            if now - last >= self.interval:
                print(self.line(now - start), file=self.file, flush=True)
                last, wrote = now, True
        if wrote:
            print(self.line(time.monotonic() - start), file=self.file, flush=True)

    def close(self) -> None:
        """Nothing to close (tqdm compatibility)."""


class _Silent:
    def __init__(self, iterable: Iterable[Any]) -> None:
        self.iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        return iter(self.iterable)

    def set_postfix(self, **values: Any) -> None:
        """Nothing shown."""

    def close(self) -> None:
        """Nothing to close."""


def progress_bar(iterable: Iterable[Any], total: int | None = None, desc: str = "", unit: str = "it",
                 enabled: bool | None = None, leave: bool = False) -> Any:
    r"""A tqdm bar (terminal), :class:`LogProgress` lines (not a terminal) or nothing (``enabled``
    False), over ``iterable``."""
    if enabled is False:
        return _Silent(iterable)
    if enabled or sys.stderr.isatty():
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave)
    return LogProgress(iterable, total=total, desc=desc, unit=unit)
