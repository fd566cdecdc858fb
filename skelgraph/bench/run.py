r""":func:`run_bench`, everything ``skelgraph bench`` measures in one run."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import torch

from skelgraph.bench.config import MODELS, MODES, BenchConfig
from skelgraph.bench.environment import OtherLoad, busy_warning, environment
from skelgraph.bench.measurement import count_flops, measure_gemm, measure_read_rate, time_steps, write_read_file
from skelgraph.bench.report import BenchResult, Row
from skelgraph.bench.steps import (build_models, check_agreement, make_aggregate_step, make_batches, make_step,
                                   paths_for, pyg_dense_model)
from skelgraph.graph.layouts import get_layout
from skelgraph.nn.conv import dense_adjacency


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

    echo(f"timing a float32 GEMM with {config.threads} thread(s): the limit each row is read against")
    gemm_before = measure_gemm(config.threads, device)

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
                    flop, sparse = count_flops(lambda: steps[path](0))  # one more, untimed call
                    result.rows.append(Row(model_name, mode, conv, path, timing, config.batch / timing.median_s,
                                           peaks[path], params, wall, cpu, flop / 1e9, sparse / 1e9))
    gemm_after = measure_gemm(config.threads, device)
    # the faster of the two: other load on a shared machine only ever slows a GEMM down
    result.environment["gemm"] = max(gemm_before, gemm_after, key=lambda g: g["gflops_per_s"]) | {
        "gflops_per_s_start": gemm_before["gflops_per_s"], "gflops_per_s_end": gemm_after["gflops_per_s"]}
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
