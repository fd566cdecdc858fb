r"""What a bench found (:class:`Row`, :class:`BenchResult`, its ``--json`` form) and how it is shown
(the terminal table, the bar chart)."""
from __future__ import annotations

import itertools
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skelgraph.bench.config import MODELS, MODES, NTU60_XSUB_TRAIN, BenchConfig
from skelgraph.bench.timing import RatioSummary
from skelgraph.data.files import atomic_savefig


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
    ``vs_dense_cpu`` the same on CPU time). ``gflop``: floating-point operations of one step
    counted by ``torch.utils.flop_counter.FlopCounterMode`` (dense products, convolutions), plus
    the sparse products it does not count (``sparse_gflop`` of them, 2 per stored entry and
    column; :func:`~skelgraph.bench.measurement.count_flops`); ``None`` where not counted."""

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
    gflop: float | None = None
    sparse_gflop: float | None = None

    @property
    def gflops_per_s(self) -> float | None:
        r"""Counted GFLOP per step over the median step time."""
        return self.gflop / self.timing.median_s if self.gflop is not None else None

    def gemm_fraction(self, gemm_gflops: float | None) -> float | None:
        r""":attr:`gflops_per_s` as a fraction of a float32 GEMM's rate measured in the same run
        with the same threads (the limit of the machine for this kind of work)."""
        rate = self.gflops_per_s
        return rate / gemm_gflops if rate is not None and gemm_gflops else None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("timing", "vs_dense", "vs_dense_cpu")}
        out["gflops_per_s"] = self.gflops_per_s
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

    @property
    def gemm_gflops(self) -> float | None:
        r"""The float32 GEMM rate (GFLOP/s) measured in this run with its threads (``environment``)."""
        gemm = self.environment.get("gemm")
        return gemm["gflops_per_s"] if gemm else None

    def to_dict(self) -> dict[str, Any]:
        rows = [r.to_dict() | {"gemm_fraction": r.gemm_fraction(self.gemm_gflops)} for r in self.rows]
        return {"config": asdict(self.config), "environment": self.environment,
                "rows": rows, "ratios": self.ratios(),
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


def _ratio_cell(summary: RatioSummary | None, width: int = 18) -> str:
    return f"{str(summary):>{width}}" if summary is not None else f"{'':{width}}"


def format_table(result: BenchResult) -> str:
    r"""The terminal report: every row (with its speed over dense and the 95 % interval, its
    counted GFLOP and the fraction of the GEMM limit it reaches), agreement, loading and the
    epoch projection."""
    c, env = result.config, result.environment
    other = env.get("other_busy_cores")
    lines = [f"# skelgraph bench: torch {env['torch']}, torch_geometric {env['torch_geometric']}, torch_scatter "
             f"{env['torch_scatter']}, {env['device']} ({env['device_name']}), {env['threads']} thread(s) of "
             f"{env.get('cores_available', env['cpu_count'])} cores"
             + (f"; other processes kept {other:.1f} cores busy meanwhile" if other is not None else ""),
             f"# shape: batch {c.batch}, V={c.joints} ({c.layout_name}), M={c.persons}, T={c.frames}, D={c.width}; "
             f"{c.warmup} warm-up + {c.repeats} timed rounds per row, a new batch each round, paths alternating",
             _gemm_line(result.environment.get("gemm")),
             f"{'model':9} {'mode':7} {'conv':6} {'path':16} {'ms/batch':>9} {'IQR ms':>13} {'samples/s':>10} "
             f"{'peak MB':>8} {'params':>8} {'vs dense [95% CI]':>18} {'GFLOP':>7} {'GFLOP/s':>8} {'of GEMM':>7}"]
    for r in result.rows:
        peak = f"{r.peak_mb:8.1f}" if r.peak_mb is not None else f"{'-':>8}"
        iqr = f"{1e3 * r.timing.q25_s:.1f}-{1e3 * r.timing.q75_s:.1f}"
        ratio = _ratio_cell(r.vs_dense if r.path != "dense" else None)
        fraction = r.gemm_fraction(result.gemm_gflops)
        share = f"{fraction:7.0%}" if fraction is not None else f"{'-':>7}"
        flops = (f" {r.gflop:7.2f} {r.gflops_per_s:8.1f} {share}" if r.gflop is not None
                 else f" {'-':>7} {'-':>8} {'-':>7}")
        lines.append(f"{r.model:9} {r.mode:7} {r.conv:6} {r.path:16} {1e3 * r.timing.median_s:9.1f} {iqr:>13} "
                     f"{r.samples_per_s:10.1f} {peak} {r.params:8d} {ratio}{flops}")
    lines += ["", "speed over dense = median over rounds of (dense seconds / path seconds), bootstrap 95 % interval "
              "(> 1: faster than the dense reference)",
              f"{'model':9} {'mode':7} {'conv':6} {'fused':>18} {'plain':>18} {'pyg-dense':>18}"]
    for (model, mode, conv), _ in itertools.groupby(result.rows, key=lambda r: (r.model, r.mode, r.conv)):
        cells = [_ratio_cell(row.vs_dense if row else None) for row in
                 (result.find(model, mode, conv, p) for p in ("fused", "plain", "pyg-dense"))]
        lines.append(f"{model:9} {mode:7} {conv:6} {' '.join(cells)}")
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


def _gemm_line(gemm: dict | None) -> str:
    if not gemm:
        return "# GEMM limit: not measured"
    return (f"# GFLOP: counted per step by torch's FlopCounterMode (dense products, convolutions), plus the "
            f"oneDNN linear products and sparse products it skips (2 per multiply-add; sparse: per stored entry "
            f"and column); gathers, scatters and element-wise ops are not counted. 'of GEMM': GFLOP/s over a "
            f"{gemm['size']}^3 float32 GEMM measured in this run with the same threads, the fastest library's "
            f"({_gemm_rates(gemm)})")


def _gemm_rates(gemm: dict) -> str:
    rates = gemm.get("by_library") or {gemm.get("library", "torch.mm"): gemm["gflops_per_s"]}
    return ", ".join(f"{name} {rate:.1f} GFLOP/s" for name, rate in rates.items())


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
    return atomic_savefig(fig, path, dpi=100)  # a failed write leaves no partial picture
