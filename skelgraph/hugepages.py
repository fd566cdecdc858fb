r"""Transparent huge pages for PyTorch's large CPU tensors, as a CLI default.

glibc serves allocations above 32 MiB with fresh ``mmap``s, so every large activation of a
training step (``[N, T, D]`` at NTU shape and batch 64 is 52 MB) is new memory whose first
touch costs one page fault per 4 KiB page. On the machine of ``experiments/RESULTS.md`` that
cost a SkeletonMAE pre-training step (NTU shape, batch 64, one thread) about 0.9 s of its 2.9 s.
PyTorch can ask the kernel for 2 MiB pages instead (``THP_MEM_ALLOC_ENABLE=1``: its CPU
allocator aligns allocations of 2 MiB or more and ``madvise``\ s them ``MADV_HUGEPAGE``), 512x
fewer faults; the step then took 2.05 s instead of 2.94 s of CPU time (1.43x; medians of 5
steps, three processes each way, alternating).

:func:`enable_huge_pages` sets that variable for the CLI when the user has not set it, torch is
not imported yet, and the kernel's transparent-huge-page mode is ``madvise`` (with ``always``
the kernel already does it; with ``never`` PyTorch would only warn). Tensors of less than
2 MiB are unaffected, and so is a program that uses the library without the CLI.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "THP_MEM_ALLOC_ENABLE"
MODE_FILE = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def kernel_mode(path: Path = MODE_FILE) -> str | None:
    r"""The kernel's transparent-huge-page mode (``always``, ``madvise`` or ``never``: the one in
    brackets), or ``None`` where the file does not exist (not Linux, or no THP).

    Example:
        >>> import tempfile
        >>> f = Path(tempfile.mkdtemp()) / "enabled"
        >>> _ = f.write_text("always [madvise] never\n")
        >>> kernel_mode(f)
        'madvise'
    """
    try:
        text = path.read_text()
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1:end] if 0 <= start < end else None


def enable_huge_pages() -> str:
    r"""Sets ``THP_MEM_ALLOC_ENABLE=1`` when the module docs' conditions hold; returns (and keeps
    in :data:`applied`, for ``skelgraph env``) a line saying what was done and why."""
    global applied
    if ENV_VAR in os.environ:
        applied = f"{ENV_VAR}={os.environ[ENV_VAR]} (set by you)"
    elif (mode := kernel_mode()) != "madvise":
        applied = f"off (kernel mode {mode or 'unknown'}" + (": it uses them already)" if mode == "always" else ")")
    elif "torch" in sys.modules:
        applied = "off (torch was imported before the CLI could ask for them)"
    else:
        os.environ[ENV_VAR] = "1"
        applied = f"on ({ENV_VAR}=1: PyTorch allocations of 2 MiB and more use 2 MiB pages)"
    return applied


applied: str | None = None  # what enable_huge_pages did in this process
