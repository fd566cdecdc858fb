r"""How a bench measures: paired timing rounds, peak memory, counted FLOPs against a GEMM measured
in the same run, and the HDF5 read rate."""
from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelgraph.bench.config import NUM_CLASSES, BenchConfig
from skelgraph.bench.report import Timing
from skelgraph.bench.steps import Step
from skelgraph.bench.timing import RatioSummary, paired_times
from skelgraph.graph.layouts import get_layout


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


Speeds = dict[str, tuple[RatioSummary, RatioSummary]]


def time_steps(steps: dict[str, Step], warmup: int, repeats: int, device: torch.device, memory: bool = False,
               reference: str = "dense") -> tuple[dict[str, Timing], dict[str, float | None], Speeds]:
    r"""Times the ``steps`` of one row in paired rounds (:func:`skelgraph.bench.timing.paired_times`):
    ``warmup`` untimed rounds, then (with ``memory``) one untimed call of each step under the
    memory measurement of :func:`peak_step_memory_mb`, then ``repeats`` timed rounds; round
    ``i`` calls every step with ``i``, i.e. on the same batch. Returns ``(timings, peak MiB,
    {path: (speed over reference, wall; the same on CPU time)})``."""
    peaks: dict[str, float | None] = {name: None for name in steps}
    sync = functools.partial(synchronize, device)
    if warmup:
        paired_times(steps, 0, warmup, sync)  # untimed rounds, the profiler not running
    if memory:
        for name, step in steps.items():
            peaks[name] = peak_step_memory_mb(lambda: step(warmup), device)
    shifted = {name: (lambda i, step=step: step(warmup + 1 + i)) for name, step in steps.items()}
    times = paired_times(shifted, repeats, 0, sync)
    timings = {name: Timing.of(times.wall[name], times.cpu[name]) for name in steps}
    speed = {}
    if reference in steps:
        for name in steps:
            speed[name] = (times.summary(reference, name), times.summary(reference, name, "cpu"))
    return timings, peaks, speed


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Sends file descriptor 2 to /dev/null for a moment: the profiler's C++ side prints a
    'USDT: profiler_start/stop' line per use, which would bury the progress output."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def peak_step_memory_mb(step: Callable[[], Any], device: torch.device) -> float | None:
    r"""MiB a step allocates at its peak on top of what was live before it (see the module docs
    for how, on CPU and on CUDA). ``None`` if the profiler gives no memory events."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    from torch.profiler import ProfilerActivity, profile

    with _native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    try:
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    except AttributeError:  # the profiler's internals moved: no number rather than a wrong one
        return None
    events.sort(key=lambda e: e.start_ns())
    sizes = [e.nbytes() for e in events if str(e.device_type()).endswith("CPU")]
    return max(itertools.accumulate(sizes, initial=0)) / 2**20 if sizes else None


def _sparse_mm_flops(adj: torch.Tensor, dense: torch.Tensor, *args: Any, out_val: Any = None, **kwargs: Any) -> int:
    return 2 * adj._nnz() * (dense.size(-1) if dense.dim() > 1 else 1)  # a multiply and an add per entry and column


def _sampled_addmm_flops(mask: torch.Tensor, mat1: torch.Tensor, *args: Any, out_val: Any = None, **kwargs: Any) -> int:
    return 2 * mask._nnz() * mat1.size(-1)  # one length-K dot product per stored entry


def _onednn_linear_flops(x: torch.Tensor, weight: torch.Tensor, *args: Any, **kwargs: Any) -> int:
    return 2 * x.numel() * weight.size(0)  # x [M, C_in] W^T: as FlopCounterMode's addmm (the bias not counted)


_sparse_mm_flops._get_raw = True  # type: ignore[attr-defined]  # FlopCounterMode passes the tensors, not shapes
_sampled_addmm_flops._get_raw = True  # type: ignore[attr-defined]
_onednn_linear_flops._get_raw = True  # type: ignore[attr-defined]
SPARSE_FLOP_FORMULAS = {torch.ops.aten._sparse_mm_reduce_impl: _sparse_mm_flops,
                        torch.ops.aten.sparse_sampled_addmm: _sampled_addmm_flops}
# skelgraph.nn.linear's oneDNN products, which FlopCounterMode does not know (a dense count)
DENSE_FLOP_FORMULAS = {}
with contextlib.suppress(AttributeError, RuntimeError):  # a build without oneDNN lacks the op
    DENSE_FLOP_FORMULAS[torch.ops.mkldnn._linear_pointwise] = _onednn_linear_flops


def count_flops(step: Callable[[], Any]) -> tuple[int, int]:
    r"""``(all, sparse)`` floating-point operations of one call of ``step``, counted by
    ``torch.utils.flop_counter.FlopCounterMode``: its formulas for dense products (``mm``,
    ``bmm``, ``addmm``, convolutions; 2 per multiply-add), ours for oneDNN's linear (the same
    count as ``addmm``; :mod:`skelgraph.nn.linear` sends large float32 products there), and ours
    for the sparse products it leaves at zero (the fused path's CSR products
    ``torch.sparse.mm(adj, x, "sum")`` and GAT's sampled products: 2 per stored entry and output
    column), which make up ``sparse``.
    Gathers, scatters, softmax and other element-wise work are not counted by either.

    Example:
        >>> count_flops(lambda: torch.ones(4, 8) @ torch.ones(8, 2))
        (128, 0)
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False, custom_mapping={**SPARSE_FLOP_FORMULAS, **DENSE_FLOP_FORMULAS}) as counter:
        step()
    counts = counter.get_flop_counts().get("Global", {})
    sparse = sum(v for op, v in counts.items() if op in SPARSE_FLOP_FORMULAS)
    return counter.get_total_flops(), sparse


def measure_gemm(threads: int, device: torch.device, size: int = 2048, repeats: int = 5) -> dict[str, Any]:
    r"""The float32 GEMM rate ``size^3`` with ``threads`` torch threads: the machine's limit for
    dense arithmetic, against which a step's counted GFLOP/s is read. Median of ``repeats``
    products (one untimed first) of each library PyTorch can use here (``torch.mm``, i.e. MKL
    or OpenBLAS; on a CPU also oneDNN's matmul, which :mod:`skelgraph.nn.linear` uses, when
    this build has it, even where the user opted out of it), the fastest kept: ``{"size",
    "threads", "seconds", "gflops_per_s", "library", "by_library"}`` (``by_library``: GFLOP/s of
    each)."""
    from skelgraph.nn.linear import _onednn, onednn_linear_works

    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=gen).to(device) for _ in range(2))
    products: dict[str, Callable[[], Any]] = {"torch.mm": lambda: a @ b}
    if device.type == "cpu" and onednn_linear_works():  # the machine's limit, whether or not linear uses it
        b_t = b.t().contiguous()
        products["oneDNN"] = lambda: _onednn(a, b_t, None)  # a (b^T)^T = a b
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    medians = {}
    try:
        for name, product in products.items():
            product()
            seconds = []
            for _ in range(repeats):
                synchronize(device)
                start = time.perf_counter()
                product()
                synchronize(device)
                seconds.append(time.perf_counter() - start)
            medians[name] = float(np.median(seconds))
    finally:
        torch.set_num_threads(saved)
    library = min(medians, key=medians.__getitem__)
    rate = {name: 2 * size ** 3 / median / 1e9 for name, median in medians.items()}
    return {"size": size, "threads": threads, "seconds": medians[library], "gflops_per_s": rate[library],
            "library": library, "by_library": rate}


def measure_read_rate(path: str | Path, workers: int, batch_size: int, num_frames: int, num_samples: int,
                      seed: int = 0) -> dict[str, Any]:
    r"""Samples/s of :class:`~skelgraph.data.dataset.SkeletonDataset` (training-mode frame
    sampling) through a PyG ``DataLoader`` with ``workers`` worker processes, over
    ``num_samples`` random samples of the file (all of them if it has fewer); worker start-up
    is included, as in every epoch."""
    from torch_geometric.loader import DataLoader

    from skelgraph.data.dataset import SkeletonDataset

    dataset = SkeletonDataset(path, num_frames=num_frames, train=True)
    if num_samples < len(dataset):
        dataset = dataset[torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:num_samples]]
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    count = sum(batch.num_graphs for batch in loader)
    seconds = time.perf_counter() - start
    return {"workers": workers, "samples": count, "seconds": seconds, "samples_per_s": count / seconds}


def write_read_file(path: str | Path, config: BenchConfig, num_samples: int, seed: int = 0) -> Path:
    r"""An HDF5 file of ``num_samples`` random sequences shaped like the bench's batch (its layout,
    ``M = config.persons`` persons, all present), 40-300 frames long (NTU's range), for the read
    rate when no real file is given: reading must be measured on as many persons as the models
    compute on."""
    from skelgraph.data.h5 import write_h5
    from skelgraph.data.sample import SkeletonSequence

    layout = get_layout(config.layout_name)
    rng = np.random.default_rng(seed)
    samples = (SkeletonSequence(name=f"bench_{i:05d}", label=int(rng.integers(NUM_CLASSES)),
                                keypoint=rng.standard_normal((config.persons, int(rng.integers(40, 301)),
                                                              layout.num_joints, config.channels)).astype(np.float32))
               for i in range(num_samples))
    write_h5(path, samples, layout=layout, num_persons=config.persons)
    return Path(path)
