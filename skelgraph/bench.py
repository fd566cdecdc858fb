r"""``skelgraph bench``: the PyG message-passing path against dense references of the same models.

For every conv of :data:`~skelgraph.nn.conv.CONVS` it times

- ``mae``: a SkeletonMAE pre-training step (body-part-masked batch, reconstruction loss);
- ``strl``: the STRL classifier (inference forward; training forward + cross-entropy + backward);
- ``aggregate``: one layer's neighbour sum alone (what the PyG path changes, without the MLPs);

each through these paths, all with the same weights:

==============  ================================================================================
path            what runs
==============  ================================================================================
``fused``       PyG ``message_and_aggregate``: one sparse CSR product per layer over ``[N, T*F]``
``plain``       PyG ``message`` on ``[E, T, F]`` edge tensors, then scatter-sum
``dense``       our convs' reference path: ``[V, V] @ X`` per ``V``-joint block, selected by
                passing a float ``[V, V]`` adjacency. Of the dense formulations we tried on these
                shapes (``torch.matmul`` broadcasting the adjacency over ``[B*M, V, T*F]``
                blocks, ``einsum('vw,bwk->bvk')``, one GEMM on a joints-first copy, the
                transposed product), the first was fastest forward and backward by 2-3x and is
                what runs (``experiments/RESULTS.md``); it needs no copy of the features
``pyg-dense``   PyG's own dense layers (``DenseGINConv``, ``DenseGCNConv``, ``DenseGATConv``) on
                the ``[B*M*T, V, F]`` layout (see :class:`PyGDenseConv`); ST-GCN has none
``*-noscatter`` ``fused``/``plain`` with torch-scatter switched off (only when it is installed)
==============  ================================================================================

**How it times.** Every row is measured on ``warmup + repeats`` different batches (new
tensors, new masks, new ``edge_index``: the per-batch caches of the fused path are rebuilt
each step, as in training). In each round every path of the row runs once on that round's
batch, the order rotating from round to round (:func:`skelgraph.timing.paired_times`); the
``warmup`` rounds are untimed. The speed of a path against ``dense`` is the median over rounds
of the per-round ratio ``dense seconds / path seconds`` with a bootstrap 95 % interval: other
load on the machine hits both sides of a round alike. The thread count is set explicitly
(``threads``) and recorded; so is the CPU time other processes used while the bench ran
(``/proc/stat`` minus this process), which is what the "machine busy" note is based on.

**Agreement.** Before timing, every path runs once on the same weights and batch (its first
4 graphs, in float64) and is compared with the fused path: outputs (MAE loss and ``x_hat``,
STRL logits) in ``fwd`` mode, and the loss and every parameter's gradient in ``fwd+bwd`` mode.

**Peak memory** is the largest amount of tensor memory a step allocates on top of what was
live before it (weights, the batch). On CUDA it is ``torch.cuda.max_memory_allocated`` after
``reset_peak_memory_stats``, minus the allocation before the step. On the CPU there is no
resettable peak counter: ``tracemalloc`` sees only Python's allocator, not tensor storage, and
the resident set (RSS) keeps freed memory in malloc's arenas, so its delta after a warm-up step
is close to zero. We therefore run one extra, untimed step (after the warm-up rounds, so the
profiler never sees a first call) under ``torch.profiler`` with ``profile_memory=True`` and
sum the CPU allocator's allocation/free events in time order; the maximum of that running sum
is the step's peak. It is exact for tensors and leaves out allocator overhead.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import importlib.util
import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Identity, Module
from torch_geometric.data import Batch

from skelgraph import allocator
from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import Layout, get_layout
from skelgraph.nn.conv import CONVS, SkeletonGATConv, SkeletonGCNConv, SkeletonGINConv, csr_adjacency, dense_adjacency
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.nn.strl import STRLClassifier
from skelgraph.threads import available_cores
from skelgraph.timing import RatioSummary, paired_times
from skelgraph.transforms.masking import BodyPartMask

NTU60_XSUB_TRAIN = 40_091  # training sequences of NTU RGB+D 60, cross-subject
LAYOUT_BY_JOINTS = {25: "ntu25", 17: "coco17", 18: "openpose18", 20: "kinect_v1_20"}
CHANNELS = {"ntu25": 3, "kinect_v1_20": 3, "coco17": 2, "openpose18": 2}  # 3D sensors vs 2D pose estimators
MODELS = ("mae", "strl", "aggregate")
MODES = ("fwd", "fwd+bwd")
NUM_CLASSES = 60
TARGETS = {("mae", "fwd+bwd", "gin"): 1.3}  # issue 13: lower end of the interval, fused over dense
DEFAULT_TARGET = 1.0  # every other fwd+bwd row of mae and strl


# ----------------------------------------------------------------------------- settings and results

@dataclass(frozen=True)
class BenchConfig:
    r"""What one ``skelgraph bench`` run measures (CLI flags map one to one). ``repeats`` is the
    number of timed rounds (paired steps) per row."""

    joints: int = 25
    persons: int = 2
    frames: int = 64
    width: int = 64
    batch: int = 64
    warmup: int = 2
    repeats: int = 15
    threads: int = 1
    device: str = "cpu"
    convs: tuple[str, ...] = tuple(CONVS)
    paths: tuple[str, ...] = ()  # () = every path; "dense" is always measured (the reference)
    memory: bool = True
    read_samples: int = 512  # samples read per worker setting
    workers: tuple[int, ...] = (0, 2)
    seed: int = 0

    @property
    def layout_name(self) -> str:
        if self.joints not in LAYOUT_BY_JOINTS:
            raise ValueError(f"--joints {self.joints}: choose one of {', '.join(map(str, LAYOUT_BY_JOINTS))}")
        return LAYOUT_BY_JOINTS[self.joints]

    @property
    def channels(self) -> int:
        return CHANNELS[self.layout_name]


@dataclass
class Timing:
    r"""Seconds per batch over ``repeats`` rounds (wall clock), and the median CPU seconds."""

    median_s: float
    q25_s: float
    q75_s: float
    min_s: float
    max_s: float
    repeats: int
    cpu_median_s: float | None = None

    @classmethod
    def of(cls, seconds: list[float], cpu: list[float] | None = None) -> Timing:
        q25, q75 = np.percentile(seconds, [25, 75])
        return cls(statistics.median(seconds), float(q25), float(q75), min(seconds), max(seconds), len(seconds),
                   statistics.median(cpu) if cpu else None)


@dataclass
class Row:
    r"""One measured (model, mode, conv, path); ``vs_dense``: speed over the ``dense`` path of
    the same row, median of per-round ratios with its bootstrap interval (wall clock;
    ``vs_dense_cpu`` the same on CPU time)."""

    model: str
    mode: str
    conv: str
    path: str
    timing: Timing
    samples_per_s: float
    peak_mb: float | None
    params: int
    vs_dense: RatioSummary | None = None
    vs_dense_cpu: RatioSummary | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("timing", "vs_dense", "vs_dense_cpu")}
        out.update(asdict(self.timing))
        for key in ("vs_dense", "vs_dense_cpu"):
            value = getattr(self, key)
            out[key] = value.to_dict() if value is not None else None
        return out


@dataclass
class BenchResult:
    r"""Everything ``skelgraph bench`` prints; :meth:`to_dict` is the ``--json`` document."""

    config: BenchConfig
    environment: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    agreement: list[dict[str, Any]] = field(default_factory=list)
    read: list[dict[str, Any]] = field(default_factory=list)
    read_source: str = ""
    notes: list[str] = field(default_factory=list)

    def find(self, model: str, mode: str, conv: str, path: str) -> Row | None:
        return next((r for r in self.rows if (r.model, r.mode, r.conv, r.path) == (model, mode, conv, path)), None)

    def ratios(self) -> list[dict[str, Any]]:
        r"""Speed of each path over the ``dense`` reference, per model, mode and conv: median of
        per-round ratios (``> 1``: faster than dense) and the 95 % interval."""
        out = []
        for (model, mode, conv), _ in itertools.groupby(self.rows, key=lambda r: (r.model, r.mode, r.conv)):
            if self.find(model, mode, conv, "dense") is None:
                continue
            entry: dict[str, Any] = {"model": model, "mode": mode, "conv": conv}
            for path in ("fused", "plain", "pyg-dense"):
                row = self.find(model, mode, conv, path)
                key = path.replace("-", "_") + "_over_dense"
                entry[key] = row.vs_dense.median if row and row.vs_dense else None
                entry[key + "_ci"] = [row.vs_dense.low, row.vs_dense.high] if row and row.vs_dense else None
            out.append(entry)
        return out

    def targets(self) -> list[dict[str, Any]]:
        r"""Issue 13's targets: the lower end of the fused/dense interval of every ``fwd+bwd``
        row of ``mae`` and ``strl`` against its target (1.3 for the GIN pre-training step, else 1.0)."""
        out = []
        for r in self.rows:
            if r.mode == "fwd+bwd" and r.model in ("mae", "strl") and r.path == "fused" and r.vs_dense is not None:
                target = TARGETS.get((r.model, r.mode, r.conv), DEFAULT_TARGET)
                out.append({"model": r.model, "conv": r.conv, "target": target, "low": r.vs_dense.low,
                            "median": r.vs_dense.median, "met": r.vs_dense.low >= target})
        return out

    def pretrain_memory_per_sample_mb(self) -> dict[str, float]:
        r"""Peak memory of a pre-training step (fused path) ÷ batch size, per conv."""
        return {r.conv: r.peak_mb / self.config.batch for r in self.rows
                if (r.model, r.mode, r.path) == ("mae", "fwd+bwd", "fused") and r.peak_mb is not None}

    def epoch_projection(self, num_samples: int = NTU60_XSUB_TRAIN) -> dict[str, Any]:
        r"""Projected NTU-60 x-sub pre-training epoch from the measured rates (see
        :func:`project_epoch`)."""
        compute = {r.conv: project_epoch(r.samples_per_s, num_samples) for r in self.rows
                   if (r.model, r.mode, r.path) == ("mae", "fwd+bwd", "fused")}
        load = {str(r["workers"]): project_epoch(r["samples_per_s"], num_samples) for r in self.read}
        best_load = min(load.values()) if load else None
        bound = {conv: ("loading" if best_load is not None and best_load > s else "compute")
                 for conv, s in compute.items()}
        return {"num_samples": num_samples, "compute_s": compute, "load_s": load, "bound_by": bound}

    def to_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "environment": self.environment,
                "rows": [r.to_dict() for r in self.rows], "ratios": self.ratios(), "targets": self.targets(),
                "agreement": self.agreement, "read": {"source": self.read_source, "rates": self.read},
                "pretrain_memory_per_sample_mb": self.pretrain_memory_per_sample_mb(),
                "epoch_projection": self.epoch_projection(), "notes": self.notes}


def project_epoch(samples_per_s: float, num_samples: int = NTU60_XSUB_TRAIN) -> float:
    r"""Seconds for one pass over ``num_samples`` at ``samples_per_s``.

    Example:
        >>> project_epoch(100.0, 40_091)
        400.91
    """
    if samples_per_s <= 0:
        raise ValueError(f"samples_per_s must be > 0, got {samples_per_s}")
    return num_samples / samples_per_s


# ----------------------------------------------------------------------------- environment

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
            "freed_memory": allocator.applied or "glibc defaults (not via the CLI)"}


class OtherLoad:
    r"""CPU time other processes used while the bench ran: the machine's busy time from
    ``/proc/stat`` minus this process's own CPU time, in cores (``None`` without ``/proc``)."""

    def __init__(self) -> None:
        from skelgraph.threads import _cpu_jiffies

        self._read = _cpu_jiffies
        self._start = (_cpu_jiffies(), time.perf_counter(), time.process_time())

    def cores(self) -> float | None:
        jiffies, wall, cpu = self._start
        now = self._read()
        if jiffies is None or now is None:
            return None
        busy, total = now[0] - jiffies[0], now[1] - jiffies[1]
        elapsed = time.perf_counter() - wall
        if total <= 0 or elapsed <= 0:
            return None
        machine = (os.cpu_count() or 1) * busy / total  # cores busy on average, this process included
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


# ----------------------------------------------------------------------------- the batch and the dense layers

def make_batch(config: BenchConfig, layout: Layout | None = None, seed: int | None = None) -> Batch:
    r"""``config.batch`` random skeleton graphs (``M`` persons, ``T`` frames, ``V`` joints) with
    labels ``y`` and a SkeletonMAE body-part mask (2 parts per person, :class:`BodyPartMask`);
    ``seed`` (default ``config.seed``) picks the data and the mask."""
    layout = layout or get_layout(config.layout_name)
    seed = config.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    graphs = [skeleton_to_data(rng.standard_normal((config.persons, config.frames, layout.num_joints,
                                                    config.channels)).astype(np.float32),
                               layout, label=int(rng.integers(NUM_CLASSES)))
              for _ in range(config.batch)]
    batch = Batch.from_data_list(graphs)
    return BodyPartMask(2, generator=torch.Generator().manual_seed(seed))(batch)


def make_batches(config: BenchConfig, count: int, device: torch.device | str = "cpu") -> list[Batch]:
    r"""``count`` different batches (:func:`make_batch` with seeds ``seed, seed + 1, ...``), each
    with its own tensors, so a path that caches per ``edge_index`` rebuilds every step."""
    layout = get_layout(config.layout_name)
    return [make_batch(config, layout, config.seed + i).to(device) for i in range(count)]


class PyGDenseConv(Module):
    r"""A PyG dense layer (``DenseGINConv``, ``DenseGCNConv``, ``DenseGATConv``) called like our convs.

    PyG's dense layers take ``x`` ``[B, V, F]`` and a ``[V, V]`` (or ``[B, V, V]``) adjacency. Our
    features are ``[N, T, F]`` with ``N = B*M*V`` (node ``n`` is joint ``n % V``), and a spatial
    conv treats every (sample, person, frame) as its own ``V``-joint graph, so the layout that
    fits every dense layer is ``[B*M*T, V, F]``: ``x.view(B*M, V, T, F).transpose(1, 2)`` (one
    copy in, one out per layer), with the ``[V, V]`` adjacency broadcast over the batch. GIN and
    GCN alone could use ``[B*M, V, T*F]`` (no copy), but GAT's attention is per frame and
    DenseGCNConv's weight acts on the last axis, so T must sit in the batch axis.

    Shapes:
        - input: x ``[N, T, F_in]``, adj ``[V, V]`` float (``adj[target, source] = 1``), hop ignored
        - output: ``[N, T, F_out]``
    """

    def __init__(self, layer: Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor, adj: Tensor, hop: Tensor | None = None) -> Tensor:
        n, t, f = x.shape
        v = adj.size(-1)
        blocks = x.view(n // v, v, t, f).transpose(1, 2).reshape(-1, v, f)  # [B*M*T, V, F]
        out = self.layer(blocks, adj)
        return out.view(n // v, t, v, -1).transpose(1, 2).reshape(n, t, -1)

    def dense_forward(self, x: Tensor, adj: Tensor, hop: Tensor | None = None) -> Tensor:
        r"""What the models call on their convs for the dense path (``adj=``): :meth:`forward`."""
        return self(x, adj, hop)


def to_pyg_dense(conv: Module) -> Module | None:
    r"""PyG's dense layer computing what ``conv`` computes, sharing its weights (copied), or
    ``None`` where PyG has none (ST-GCN's partitioned conv)."""
    from torch_geometric.nn import DenseGATConv, DenseGCNConv, DenseGINConv

    if isinstance(conv, SkeletonGINConv):
        dense = DenseGINConv(copy.deepcopy(conv.mlp), eps=conv.eps)
        dense.nn.load_state_dict(conv.mlp.state_dict())  # DenseGINConv re-initialises its nn
        return dense
    if isinstance(conv, SkeletonGCNConv):
        dense = DenseGCNConv(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
        with torch.no_grad():
            dense.lin.weight.copy_(conv.lin.weight)
            if conv.bias is not None:
                dense.bias.copy_(conv.bias)
        return dense
    if isinstance(conv, SkeletonGATConv):
        dense = DenseGATConv(conv.in_channels, conv.out_channels, heads=conv.heads, concat=conv.concat,
                             negative_slope=conv.negative_slope, dropout=conv.dropout, bias=conv.bias is not None)
        with torch.no_grad():
            dense.lin.weight.copy_(conv.lin.weight)
            dense.att_src.copy_(conv.att_src.view_as(dense.att_src))
            dense.att_dst.copy_(conv.att_dst.view_as(dense.att_dst))
            if conv.bias is not None:
                dense.bias.copy_(conv.bias)
        return dense
    return None


def pyg_dense_model(model: Module) -> Module | None:
    r"""A copy of ``model`` whose convs (in ``encoder``/``decoder``) are PyG dense layers with the
    same weights; call it with ``adj=`` the ``[V, V]`` adjacency. ``None`` if a conv has no
    PyG dense twin."""
    twin = copy.deepcopy(model)
    for name in ("encoder", "decoder"):
        layers = getattr(twin, name, None)
        for i, conv in enumerate(layers or []):
            dense = to_pyg_dense(conv)
            if dense is None:
                return None
            layers[i] = PyGDenseConv(dense)
    return twin


def set_fused(model: Module, fused: bool) -> None:
    for module in model.modules():
        if hasattr(module, "fused") and module is not model:
            module.fused = fused


def build_models(conv: str, config: BenchConfig) -> dict[str, Module]:
    r"""Seeded SkeletonMAE (3 encoder convs, 1 decoder conv) and STRLClassifier (3 encoder convs,
    3 STRL layers) of width ``config.width``; ``conv`` picks the conv of both."""
    torch.manual_seed(config.seed)
    mae = SkeletonMAE(config.channels, config.width, enc_layers=3, dec_layers=1, conv=conv)
    torch.manual_seed(config.seed)
    strl = STRLClassifier(config.channels, NUM_CLASSES, config.width, enc_layers=3, conv=conv, strl_layers=3,
                          max_frames=config.frames)
    for norm in strl.strl_norm:  # zero at init makes every STRL layer the identity, hiding the encoder
        torch.nn.init.ones_(norm.weight)
    return {"mae": mae, "strl": strl}


# ----------------------------------------------------------------------------- building the steps

PATHS = ("fused", "plain", "dense", "pyg-dense", "fused-noscatter", "plain-noscatter")


def paths_for(conv: str, only: tuple[str, ...] = ()) -> list[str]:
    r"""The paths measured: ``only`` (plus ``dense``, the reference) or all; the ``-noscatter``
    paths only when torch-scatter is installed."""
    paths = [p for p in PATHS if not only or p in only or p == "dense"]
    return [p for p in paths if not p.endswith("-noscatter") or torch_scatter_version() is not None]


Step = Callable[[int], Tensor]


def make_step(model_name: str, model: Module, twin: Module | None, batches: Batch | list[Batch], adj: Tensor,
              path: str, mode: str) -> Step | None:
    r"""``step(i)``: one call of ``model`` on batch ``i`` (modulo the list) through ``path`` in
    ``mode``; returns the output (STRL: logits; MAE: the loss, and in ``fwd`` mode the loss
    followed by the flattened ``x_hat``); in ``fwd+bwd`` mode the parameters' ``.grad`` hold
    this call's gradients afterwards. ``None`` if the path does not exist."""
    batches = batches if isinstance(batches, list) else [batches]
    train = mode == "fwd+bwd"
    target = twin if path == "pyg-dense" else model
    if target is None:
        return None
    dense = path in ("dense", "pyg-dense")
    scatter_off = path.endswith("-noscatter")
    fused = path.startswith("fused")

    def forward(batch: Batch) -> Tensor:
        if model_name == "mae":
            out = target(batch, adj=adj if dense else None)
            return out["loss"] if train else torch.cat([out["loss"].view(1), out["x_hat"].flatten()])
        return target(batch, adj=adj if dense else None)

    def step(i: int = 0) -> Tensor:
        batch = batches[i % len(batches)]
        if not dense:
            set_fused(target, fused)
        target.train(train)
        with torch_scatter_disabled() if scatter_off else contextlib.nullcontext():
            if not train:
                with torch.no_grad():
                    return forward(batch)
            target.zero_grad(set_to_none=True)
            out = forward(batch)
            loss = out if model_name == "mae" else F.cross_entropy(out, batch.y.view(-1))
            loss.backward()
            return out.detach()

    return step


def make_aggregate_step(batches: Batch | list[Batch], adj: Tensor, width: int, path: str,
                        mode: str) -> Step | None:
    r"""One GIN neighbour sum over ``[N, T, width]`` (no MLP): the part of a layer each path
    implements differently. The fused path builds its CSR adjacency from each batch's
    ``edge_index`` inside the step, as a layer does for a new batch."""
    from torch_geometric.nn import DenseGINConv

    batches = batches if isinstance(batches, list) else [batches]
    conv = SkeletonGINConv(width, width).to(adj.device)
    gen = torch.Generator(device="cpu").manual_seed(0)
    first = batches[0]
    xs = [torch.randn(b.num_nodes, first.x.size(1), width, generator=gen).to(adj.device) for b in batches]
    dense_sum = PyGDenseConv(DenseGINConv(Identity(), eps=-1.0))  # (1 + eps) x + A x = A x

    def fused_sum(batch: Batch, x: Tensor) -> Tensor:
        n = batch.num_nodes
        return conv.propagate(csr_adjacency(batch.edge_index, None, (n, n), x.dtype), x=x)

    runs: dict[str, Callable[[Batch, Tensor], Tensor]] = {
        "fused": fused_sum, "plain": lambda b, x: conv.propagate(b.edge_index, x=x),
        "dense": lambda b, x: conv.dense_aggregate(x, adj, eps=-1.0),  # (1 + eps) I + A = A
        "pyg-dense": lambda b, x: dense_sum(x, adj)}
    if path.endswith("-noscatter"):
        base = runs.get(path.removesuffix("-noscatter"))
        if base is not None:
            runs[path] = lambda b, x: _without_scatter(lambda: base(b, x))
    if path not in runs:
        return None
    run = runs[path]

    def step(i: int = 0) -> Tensor:
        batch, x = batches[i % len(batches)], xs[i % len(xs)]
        if mode == "fwd":
            with torch.no_grad():
                return run(batch, x)
        x.requires_grad_(True)
        x.grad = None
        out = run(batch, x)
        out.sum().backward()
        return out.detach()

    return step


def _without_scatter(run: Callable[[], Tensor]) -> Tensor:
    with torch_scatter_disabled():
        return run()


# ----------------------------------------------------------------------------- measuring

def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


Speeds = dict[str, tuple[RatioSummary, RatioSummary]]


def time_steps(steps: dict[str, Step], warmup: int, repeats: int, device: torch.device, memory: bool = False,
               reference: str = "dense") -> tuple[dict[str, Timing], dict[str, float | None], Speeds]:
    r"""Times the ``steps`` of one row in paired rounds (:func:`skelgraph.timing.paired_times`):
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


def _gradients(model: Module) -> list[Tensor]:
    r"""Every parameter's gradient, flattened, in registration order (zeros where unused): the
    order is the same in a model and its PyG-dense twin (whose convs wrap the same layers)."""
    return [p.grad.flatten() if p.grad is not None else torch.zeros(p.numel(), device=p.device)
            for p in model.parameters()]


def check_agreement(config: BenchConfig, device: torch.device | str = "cpu", batch: Batch | None = None,
                    rtol: float = 1e-7, atol: float = 1e-9, dtype: torch.dtype = torch.float64,
                    max_graphs: int = 4) -> list[dict[str, Any]]:
    r"""Runs every conv's MAE and STRL classifier through every path (those of ``config.paths``,
    or all) on the same weights and batch and compares each with the ``fused`` path: in ``fwd``
    mode (eval) the outputs (MAE loss and ``x_hat``, STRL logits), in ``fwd+bwd`` mode (train)
    the loss or logits and every parameter's gradient. One entry per (model, mode, conv, path)
    with ``max_abs_diff`` (outputs), ``grad_rel_diff`` (gradients, relative to the largest fused
    gradient) and ``ok`` (``torch.allclose`` with ``rtol``, ``atol``; for gradients ``atol``
    scaled by the largest gradient). It runs in ``dtype``, float64 by default, on a copy of
    ``batch`` or (without one) a batch of at most ``max_graphs`` graphs of the bench's shape: the
    paths compute the same function, so float64 makes them agree near 1e-15, while float32
    rounding through the STRL stack reaches 1e-4 of the largest gradient and would need a
    tolerance loose enough to hide a real error."""
    device = torch.device(device)
    # a copy (clone, or a new batch of at most max_graphs graphs): the caller's batch stays as it is
    batch = batch.clone() if batch is not None else make_batch(replace(config, batch=min(config.batch, max_graphs)))
    batch = batch.to(device)
    batch.x = batch.x.to(dtype)
    adj = dense_adjacency(batch.edge_index, config.joints).to(device, dtype)
    out = []
    for conv in config.convs:
        for model_name, model in build_models(conv, config).items():
            model = model.to(device, dtype)
            twin = pyg_dense_model(model)
            twin = twin.to(device, dtype) if twin is not None else None  # PyG's dense layers start in float32
            for mode in MODES:
                results: dict[str, tuple[Tensor, list[Tensor]]] = {}
                for path in paths_for(conv, config.paths and (*config.paths, "fused")):
                    step = make_step(model_name, model, twin, batch, adj, path, mode)
                    if step is not None:
                        value = step()
                        owner = twin if path == "pyg-dense" else model
                        results[path] = (value, _gradients(owner) if mode == "fwd+bwd" else [])
                ref, ref_grads = results["fused"]
                for path, (value, grads) in results.items():
                    if path != "fused":
                        entry = compare_runs(value, ref, grads if mode == "fwd+bwd" else None, ref_grads, rtol, atol)
                        out.append({"model": model_name, "mode": mode, "conv": conv, "path": path, **entry})
    return out


def compare_runs(value: Tensor, ref: Tensor, grads: list[Tensor] | None, ref_grads: list[Tensor],
                 rtol: float = 1e-7, atol: float = 1e-9) -> dict[str, Any]:
    r"""``max_abs_diff`` of two outputs and ``ok`` (``torch.allclose``); with ``grads`` also
    ``grad_rel_diff``, the largest gradient difference relative to the largest reference
    gradient entry, and ``ok`` requires the gradients to match (``atol`` scaled by that entry).

    Example:
        >>> g = [torch.tensor([1.0, 2.0])]
        >>> compare_runs(torch.zeros(1), torch.zeros(1), [torch.tensor([1.0, 2.5])], g)["ok"]
        False
    """
    entry: dict[str, Any] = {"max_abs_diff": float((value - ref).abs().max()),
                             "ok": bool(torch.allclose(value, ref, rtol=rtol, atol=atol))}
    if grads is not None:
        scale = max((float(g.abs().max()) for g in ref_grads if g.numel()), default=1.0) or 1.0
        same_shape = len(grads) == len(ref_grads) and all(a.shape == b.shape for a, b in zip(grads, ref_grads))
        diff = max((float((a - b).abs().max()) for a, b in zip(grads, ref_grads)), default=0.0) if same_shape \
            else float("inf")
        entry["grad_rel_diff"] = diff / scale
        entry["ok"] = entry["ok"] and same_shape and all(
            torch.allclose(a, b, rtol=rtol, atol=atol * scale) for a, b in zip(grads, ref_grads))
    return entry


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


def run_bench(config: BenchConfig, data: str | Path | None = None, read: bool = True,
              echo: Callable[[str], None] = lambda line: None) -> BenchResult:
    r"""Measures everything of the module docs with ``config.threads`` torch threads; ``data`` is
    the HDF5 file for the read rate (``None`` with ``read``: a random file with the bench's
    shape, see :func:`write_read_file`). ``echo`` receives progress lines."""
    from skelgraph.train.common import resolve_device

    device = resolve_device(config.device)
    torch.set_num_threads(config.threads)
    other = OtherLoad()
    result = BenchResult(config=config, environment=environment(device))
    layout = get_layout(config.layout_name)
    batches = make_batches(config, config.warmup + config.repeats + 1, device)
    adj = dense_adjacency(batches[0].edge_index, config.joints).to(device)
    echo(f"batches: {len(batches)} x {config.batch} samples, N={batches[0].num_nodes} nodes, T={config.frames}, "
         f"D={config.width}, {layout.name}, {config.threads} thread(s); hidden "
         f"{float((~batches[0].keep_mask).float().mean()):.2f} of the joints")

    echo("checking that the paths agree (float64, outputs; gradients for fwd+bwd)")
    result.agreement = check_agreement(config, device)
    if not all(a["ok"] for a in result.agreement):
        result.notes.append("some paths disagree with the fused path: see 'agreement'")

    for model_name in MODELS:
        for conv in (config.convs if model_name != "aggregate" else ("sum",)):
            if model_name == "aggregate":
                model, twin, params = None, None, 0
            else:
                model = build_models(conv, config)[model_name].to(device)
                twin = pyg_dense_model(model)
                params = sum(p.numel() for p in model.parameters())
            for mode in MODES:
                steps = {}
                for path in paths_for(conv, config.paths):
                    step = (make_aggregate_step(batches, adj, config.width, path, mode) if model is None
                            else make_step(model_name, model, twin, batches, adj, path, mode))
                    if step is not None:
                        steps[path] = step
                echo(f"{model_name} {conv} {mode}: {', '.join(steps)}")
                timings, peaks, speed = time_steps(steps, config.warmup, config.repeats, device, config.memory)
                for path, timing in timings.items():
                    wall, cpu = speed.get(path, (None, None))
                    result.rows.append(Row(model_name, mode, conv, path, timing, config.batch / timing.median_s,
                                           peaks[path], params, wall, cpu))
    result.environment["other_busy_cores"] = other.cores()
    busy = busy_warning(result.environment)
    if busy:
        echo(f"warning: {busy}")
        result.notes.append(busy)
    if "stgcn" in config.convs:
        result.notes.append("stgcn has no pyg-dense row: PyG has no dense ST-GCN (partitioned) layer")
    if "gat" in config.convs:
        result.notes.append("gat: fused = one block CSR product of the per-frame, per-head attention "
                            "(CPU, float32/64); plain elsewhere")

    if read:
        with contextlib.ExitStack() as stack:
            if data is None:
                import tempfile

                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                data = write_read_file(tmp / "bench.h5", config, config.read_samples, config.seed)
                result.read_source = (f"random {layout.name} file, {config.read_samples} samples of 40-300 frames, "
                                      f"{config.persons} person(s)")
            else:
                result.read_source = str(data)
            measure_read_rate(data, 0, config.batch, config.frames, min(config.read_samples, 2 * config.batch))
            for workers in config.workers:
                echo(f"reading {result.read_source} with {workers} workers")
                result.read.append(measure_read_rate(data, workers, config.batch, config.frames,
                                                     config.read_samples, config.seed))
    if (config.joints, config.persons, config.frames) != (25, 2, 64):
        result.notes.append(f"epoch projection uses rates measured at V={config.joints}, M={config.persons}, "
                            f"T={config.frames}, not NTU-60's V=25, M=2, T=64")
    return result


# ----------------------------------------------------------------------------- output

def _ratio_cell(summary: RatioSummary | None, width: int = 18) -> str:
    return f"{str(summary):>{width}}" if summary is not None else f"{'':{width}}"


def format_table(result: BenchResult) -> str:
    r"""The terminal report: every row (with its speed over dense and the 95 % interval), the
    targets, agreement, loading and the epoch projection."""
    c, env = result.config, result.environment
    other = env.get("other_busy_cores")
    lines = [f"# skelgraph bench: torch {env['torch']}, torch_geometric {env['torch_geometric']}, torch_scatter "
             f"{env['torch_scatter']}, {env['device']} ({env['device_name']}), {env['threads']} thread(s) of "
             f"{env.get('cores_available', env['cpu_count'])} cores"
             + (f"; other processes kept {other:.1f} cores busy meanwhile" if other is not None else ""),
             f"# shape: batch {c.batch}, V={c.joints} ({c.layout_name}), M={c.persons}, T={c.frames}, D={c.width}; "
             f"{c.warmup} warm-up + {c.repeats} timed rounds per row, a new batch each round, paths alternating",
             f"{'model':9} {'mode':7} {'conv':6} {'path':16} {'ms/batch':>9} {'IQR ms':>13} {'samples/s':>10} "
             f"{'peak MB':>8} {'params':>8} {'vs dense [95% CI]':>18}"]
    for r in result.rows:
        peak = f"{r.peak_mb:8.1f}" if r.peak_mb is not None else f"{'-':>8}"
        iqr = f"{1e3 * r.timing.q25_s:.1f}-{1e3 * r.timing.q75_s:.1f}"
        ratio = _ratio_cell(r.vs_dense if r.path != "dense" else None)
        lines.append(f"{r.model:9} {r.mode:7} {r.conv:6} {r.path:16} {1e3 * r.timing.median_s:9.1f} {iqr:>13} "
                     f"{r.samples_per_s:10.1f} {peak} {r.params:8d} {ratio}")
    lines += ["", "speed over dense = median over rounds of (dense seconds / path seconds), bootstrap 95 % interval "
              "(> 1: faster than the dense reference)",
              f"{'model':9} {'mode':7} {'conv':6} {'fused':>18} {'plain':>18} {'pyg-dense':>18}"]
    for (model, mode, conv), _ in itertools.groupby(result.rows, key=lambda r: (r.model, r.mode, r.conv)):
        cells = [_ratio_cell(row.vs_dense if row else None) for row in
                 (result.find(model, mode, conv, p) for p in ("fused", "plain", "pyg-dense"))]
        lines.append(f"{model:9} {mode:7} {conv:6} {' '.join(cells)}")
    targets = result.targets()
    if targets:
        missed = [t for t in targets if not t["met"]]
        lines += ["", f"targets (issue 13: lower end of fused/dense >= 1.3 for the GIN pre-training step, >= 1.0 for "
                  f"every other fwd+bwd row): {len(targets) - len(missed)}/{len(targets)} met"]
        lines += [f"  missed: {t['model']} {t['conv']}: {t['median']:.2f}, lower end {t['low']:.2f} < {t['target']}"
                  for t in missed]
    worst = max(result.agreement, key=lambda a: a["max_abs_diff"], default=None)
    worst_grad = max((a for a in result.agreement if "grad_rel_diff" in a), key=lambda a: a["grad_rel_diff"],
                     default=None)
    bad = [a for a in result.agreement if not a["ok"]]
    lines += ["", f"agreement with the fused path in float64 (fwd: MAE loss and x_hat, STRL logits; fwd+bwd: and "
              f"every parameter's gradient): {len(result.agreement) - len(bad)}/{len(result.agreement)} ok"
              + (f"; largest output difference {worst['max_abs_diff']:.2e} ({worst['model']} {worst['mode']} "
                 f"{worst['conv']} {worst['path']})" if worst else "")
              + (f"; largest gradient difference {worst_grad['grad_rel_diff']:.2e} of the largest gradient "
                 f"({worst_grad['model']} {worst_grad['conv']} {worst_grad['path']})" if worst_grad else "")]
    lines += [f"  DISAGREES: {a['model']} {a['mode']} {a['conv']} {a['path']} max |diff| {a['max_abs_diff']:.2e}"
              for a in bad]
    if result.read:
        lines += ["", f"HDF5 read rate ({result.read_source}):"]
        lines += [f"  {r['workers']} workers: {r['samples_per_s']:8.1f} samples/s ({r['samples']} samples)"
                  for r in result.read]
    memory = result.pretrain_memory_per_sample_mb()
    if memory:
        lines += ["", "pre-training memory per sample (fused, fwd+bwd peak / batch): "
                  + ", ".join(f"{k} {v:.2f} MB" for k, v in memory.items())]
    proj = result.epoch_projection()
    if proj["compute_s"]:
        lines += ["", f"projected NTU-60 x-sub pre-training epoch ({proj['num_samples']} sequences):"]
        for conv, seconds in proj["compute_s"].items():
            lines.append(f"  {conv:6} compute {_duration(seconds):>9}  -> bound by {proj['bound_by'][conv]}")
        for workers, seconds in proj["load_s"].items():
            lines.append(f"  loading alone with {workers} workers: {_duration(seconds)}")
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def plot(result: BenchResult, path: str | Path) -> Path:
    r"""Bar chart of samples/s per conv and path, one panel per (model, mode). Needs matplotlib
    (``ImportError`` with the install hint otherwise)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("--plot needs matplotlib: pip install 'skelgraph[plot]'") from err
    panels = [(m, mode) for m in MODELS for mode in MODES if any(r.model == m and r.mode == mode for r in result.rows)]
    fig = Figure(figsize=(5 * len(MODES), 3.2 * len(MODELS)), layout="constrained")
    axes = fig.subplots(len(MODELS), len(MODES), squeeze=False).ravel()
    for ax, (model, mode) in zip(axes, panels):
        rows = [r for r in result.rows if r.model == model and r.mode == mode]
        convs = list(dict.fromkeys(r.conv for r in rows))
        paths = list(dict.fromkeys(r.path for r in rows))
        width = 0.8 / len(paths)
        for j, p in enumerate(paths):
            xs, ys = zip(*[(i + j * width, r.samples_per_s) for i, conv in enumerate(convs) for r in rows
                           if r.conv == conv and r.path == p]) if any(r.path == p for r in rows) else ((), ())
            ax.bar(xs, ys, width, label=p)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(convs))], convs)
        ax.set_title(f"{model} {mode}")
        ax.set_ylabel("samples/s")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize="small")
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path
