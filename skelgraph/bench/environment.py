r"""The machine a bench ran on: versions, threads, torch-scatter, and the load of other processes."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import time
from collections.abc import Iterator
from typing import Any

import torch

from skelgraph import allocator
from skelgraph.nn.linear import onednn_linear_status
from skelgraph.threads import available_cores, busy_between, cpu_jiffies


def torch_scatter_version() -> str | None:
    r"""torch-scatter's version, or ``None`` when it is not installed."""
    if importlib.util.find_spec("torch_scatter") is None:
        return None
    try:
        import torch_scatter
    except (ImportError, OSError):  # installed but broken (e.g. built for another torch)
        return None
    return getattr(torch_scatter, "__version__", "unknown")


@contextlib.contextmanager
def torch_scatter_disabled() -> Iterator[None]:
    r"""PyG falls back to PyTorch's own scatter ops inside the block (it reads the flag per call)."""
    import torch_geometric.typing as pyg_typing

    saved = pyg_typing.WITH_TORCH_SCATTER
    pyg_typing.WITH_TORCH_SCATTER = False
    try:
        yield
    finally:
        pyg_typing.WITH_TORCH_SCATTER = saved


def environment(device: torch.device) -> dict[str, Any]:
    import torch_geometric

    return {"load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "cpu_count": os.cpu_count(), "cores_available": available_cores(), "torch": torch.__version__,
            "torch_geometric": torch_geometric.__version__,
            "torch_scatter": torch_scatter_version() or "not installed", "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else
            (platform.processor() or platform.machine()), "threads": torch.get_num_threads(),
            "python": platform.python_version(), "huge_pages": os.environ.get("THP_MEM_ALLOC_ENABLE", "unset"),
            "freed_memory": allocator.applied or "glibc defaults (not via the CLI)",
            "onednn_linear": onednn_linear_status()}


class OtherLoad:
    r"""CPU time other processes used while the bench ran: the machine's busy time from
    ``/proc/stat`` minus this process's own CPU time, in cores (``None`` without ``/proc``)."""

    def __init__(self) -> None:
        self._start = (cpu_jiffies(), time.perf_counter(), time.process_time())

    def cores(self) -> float | None:
        jiffies, wall, cpu = self._start
        elapsed = time.perf_counter() - wall
        machine = busy_between(jiffies, cpu_jiffies()) if jiffies is not None else None  # this process included
        if machine is None or elapsed <= 0:
            return None
        return max(0.0, machine - (time.process_time() - cpu) / elapsed)


def busy_warning(env: dict[str, Any]) -> str | None:
    r"""A warning when other processes (not this bench) kept so many cores busy that the
    bench's threads had fewer free cores than it has threads: timings are then stretched by
    waiting, and only the paired ratios stay meaningful.

    Example:
        >>> busy_warning({"device": "cpu", "other_busy_cores": 1.5, "cores_available": 2, "threads": 1})[:12]
        'machine busy'
    """
    other, cores = env.get("other_busy_cores"), env.get("cores_available") or env.get("cpu_count")
    if env["device"] != "cpu" or other is None or not cores or other + env["threads"] <= cores + 0.25:
        return None
    return (f"machine busy: other processes kept {other:.1f} of {cores} cores busy during the run, besides this "
            f"bench's {env['threads']} thread(s); times per batch are stretched, the paired ratios remain valid")
