r"""How many CPU threads a ``skelgraph`` command gives torch when the user did not say.

PyTorch starts one intra-op thread per core. When other jobs already use those cores, its
threads wait for each other at every parallel region (a thread that lost its core holds up
the rest), and a job slows down several-fold rather than sharing the machine: a GIN
pre-training step took 29 s at 2 threads against 8.2 s at 1 thread on 2 cores with another job
running (issue 13). So the CLI picks the default from what is free:

``threads = max(1, round(cores - taken))`` where

- ``cores``: the cores this process may run on (CPU affinity, and a cgroup CPU quota when the
  process runs in a container that has one);
- ``taken``: the larger of (a) the cores other processes kept busy over a short sample of
  ``/proc/stat`` (Linux; elsewhere the 1-minute load average), and (b) the number of other
  ``skelgraph`` processes, counted even while they are still starting up (two jobs launched
  together both see an idle machine, but each sees the other).

The user's choice always wins: ``OMP_NUM_THREADS`` in the environment (torch reads it
itself), a command's ``--threads``, or ``torch.set_num_threads`` in a program that uses the
library (the library never sets a thread count; only the CLI applies this default).
:func:`apply_default_threads` sets ``OMP_NUM_THREADS`` before torch is imported, so it also
reaches MKL and torch's first parallel region; ``skelgraph env`` prints the choice and why.
The choice is made once, at start: a job does not adapt when others start later, so start
the long jobs of a shared machine with ``OMP_NUM_THREADS`` set (1 each, on 2 cores, for two).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "OMP_NUM_THREADS"
SAMPLE_SECONDS = 0.1  # 10+ scheduler ticks per core: enough to tell busy from idle, short for a CLI


@dataclass(frozen=True)
class ThreadChoice:
    r"""A thread count and the facts it came from."""

    threads: int
    source: str  # "OMP_NUM_THREADS" (the user's) or "default"
    cores: int
    busy: float | None = None  # cores other processes used during the sample
    other_jobs: int = 0  # other skelgraph processes
    ignored: str | None = None  # an OMP_NUM_THREADS that is not a positive whole number (replaced)

    def describe(self) -> str:
        r"""One line for ``skelgraph env`` and logs.

        Example:
            >>> ThreadChoice(1, "default", 2, 1.2, 1).describe()
            '1 (default: 2 cores, 1.2 busy with other processes, 1 other skelgraph job)'
        """
        if self.source != "default":
            return f"{self.threads} ({self.source})"
        jobs = f", {self.other_jobs} other skelgraph job{'s' * (self.other_jobs != 1)}" if self.other_jobs else ""
        busy = f", {self.busy:.1f} busy with other processes" if self.busy is not None else ""
        ignored = f"; {ENV_VAR}={self.ignored!r} ignored: not a positive whole number" if self.ignored else ""
        return f"{self.threads} (default: {self.cores} cores{busy}{jobs}{ignored})"


def available_cores() -> int:
    r"""Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def _cgroup_quota() -> float | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def cpu_jiffies() -> tuple[int, int] | None:
    r"""``(busy, total)`` jiffies of all cores since boot, from the first line of ``/proc/stat``
    (``None`` without it); two readings give :func:`busy_between`."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def busy_cores(seconds: float = SAMPLE_SECONDS, cores: int | None = None) -> float | None:
    r"""Cores kept busy by other processes over ``seconds`` (this process sleeps meanwhile);
    the 1-minute load average where ``/proc/stat`` is missing; ``None`` if neither exists."""
    cores = cores or os.cpu_count() or 1
    first = cpu_jiffies()
    if first is None:
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):
            return None
    time.sleep(seconds)
    return busy_between(first, cpu_jiffies(), cores)


def busy_between(first: tuple[int, int], second: tuple[int, int] | None, cores: int | None = None) -> float | None:
    r"""Cores kept busy on average between two :func:`cpu_jiffies` readings, by every process
    (the caller included); ``None`` if a reading is missing.

    Example:
        >>> busy_between((100, 400), (100, 500))  # no busy jiffies among the last 100
        0.0
    """
    if second is None:
        return None
    busy, total = second[0] - first[0], second[1] - first[1]
    return (os.cpu_count() or cores or 1) * busy / total if total > 0 else 0.0


def _is_skelgraph(argv: list[bytes]) -> bool:
    r"""``skelgraph ...`` (console script, run as ``python .../bin/skelgraph``) or ``python -m skelgraph``."""
    return any(Path(a.decode(errors="replace")).name == "skelgraph" for a in argv[:2]) or \
        (len(argv) > 2 and argv[1] == b"-m" and argv[2] == b"skelgraph")


def other_skelgraph_jobs() -> int:
    r"""Other ``skelgraph`` jobs running: processes whose command is ``skelgraph`` (the console
    script or ``python -m skelgraph``), each counted once: its DataLoader workers (children
    with the same command) and this process and its children are left out."""
    me = os.getpid()
    parents: dict[int, int] = {}  # pid -> parent pid, of skelgraph processes
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if _is_skelgraph(argv):
            parents[int(entry.name)] = ppid
    return sum(1 for pid, ppid in parents.items() if pid != me and ppid != me and ppid not in parents)


def default_threads(sample_seconds: float = SAMPLE_SECONDS) -> ThreadChoice:
    r"""The thread count of the module docs: the user's ``OMP_NUM_THREADS`` if set, else what
    the free cores allow (at least 1). A value that is not a positive whole number is recorded
    in ``ignored`` (the CLI warns) and the default is taken."""
    cores = available_cores()
    user = os.environ.get(ENV_VAR, "").strip()
    if user.isdigit() and int(user) > 0:
        return ThreadChoice(int(user), f"{ENV_VAR}={user}", cores)
    ignored = os.environ.get(ENV_VAR) if user else None
    busy = busy_cores(sample_seconds, cores)
    jobs = other_skelgraph_jobs() if Path("/proc").is_dir() else 0
    taken = max(busy or 0.0, float(jobs))
    return ThreadChoice(max(1, min(cores, round(cores - taken))), "default", cores, busy, jobs, ignored)


def apply_default_threads(sample_seconds: float = SAMPLE_SECONDS) -> ThreadChoice:
    r"""Sets ``OMP_NUM_THREADS`` to :func:`default_threads` when the user has not and torch is
    not imported yet (once imported, torch's thread count is the program's to set: this never
    overrides a ``torch.set_num_threads``). Returns the choice."""
    import sys

    global applied
    if "torch" in sys.modules and ENV_VAR not in os.environ:
        threads = sys.modules["torch"].get_num_threads()
        applied = ThreadChoice(threads, "torch.set_num_threads (torch was imported first)", available_cores())
        return applied
    applied = default_threads(sample_seconds)
    if applied.source == "default":
        os.environ[ENV_VAR] = str(applied.threads)
    return applied


applied: ThreadChoice | None = None  # what apply_default_threads chose in this process


def current_choice() -> ThreadChoice:
    r"""What :func:`apply_default_threads` chose in this process (what it would choose, if it
    has not run)."""
    return applied or default_threads()
