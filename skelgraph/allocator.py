r"""Keep freed memory in the process for reuse (glibc), as a CLI default.

glibc hands allocations above its mmap threshold (at most 32 MiB) to fresh ``mmap``\ s and
unmaps them on ``free``, so every large activation of a training step (``[N, T, D]`` at NTU shape
and batch 64 is 52 MB) is new memory whose every 4 KiB page faults on first touch: measured, a
SkeletonMAE pre-training step at NTU shape (batch 64, one thread) spent 1.39 s of its 2.7 s of
CPU time in the kernel (846k page faults per step). :func:`keep_freed_memory` tells glibc,
through ``mallopt``, to serve every allocation from its heap and never trim the heap, so a step
reuses the memory the previous step freed: the same step then took 1.3 s of CPU time (0.03 s
in the kernel), 2.09x faster; an STRL fine-tuning step at NW-UCLA shape, whose tensors are
small, 1.03x (``experiments/bench/freed_memory.py``; ``experiments/RESULTS.md``). The price is
a higher peak resident size at NTU shape (1.90 GB instead of 1.26 GB): freed blocks stay in the
process for the next step.

Transparent huge pages (PyTorch's ``THP_MEM_ALLOC_ENABLE=1``) cut the faults too but less
(2.6-3.1 s of wall time per step against 2.0 s) and slowed the embedded demo's pre-training
1.4x (CPU time), so they are left to the user. Opt out with ``SKELGRAPH_KEEP_FREED_MEMORY=0``;
glibc's own settings (``MALLOC_MMAP_MAX_``, ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``) win
when set.
"""
from __future__ import annotations

import ctypes
import os
import platform

OPT_OUT = "SKELGRAPH_KEEP_FREED_MEMORY"
GLIBC_VARS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's malloc.h
NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes (an int)

applied: str | None = None  # what keep_freed_memory did in this process (for ``skelgraph env``)


def keep_freed_memory() -> str:
    r"""Sets glibc's ``M_MMAP_MAX`` to 0 and ``M_TRIM_THRESHOLD`` to its maximum unless the user
    opted out or set glibc's variables, or the C library is not glibc; returns (and keeps in
    :data:`applied`) a line saying what was done and why."""
    global applied
    if os.environ.get(OPT_OUT, "1") == "0":
        applied = f"off ({OPT_OUT}=0)"
    elif user := [name for name in GLIBC_VARS if name in os.environ]:
        applied = f"off ({user[0]} set by you: glibc's settings are yours)"
    elif platform.libc_ver()[0] != "glibc":
        applied = "off (the C library is not glibc)"
    else:
        libc = ctypes.CDLL(None)
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) == 1
        applied = ("on (glibc reuses freed memory: no mmap per large tensor, heap never trimmed)" if ok
                   else "off (glibc refused mallopt)")
    return applied
