"""The STRL fine-tuning step (fwd+bwd, the bench's STRL row) eager against ``torch.compile``'d, in one
process, the sides alternating round by round on the same fresh batch, and each side's fraction of a
2048^3 float32 GEMM timed in the same run (issue 20).

    python experiments/bench/compile_strl.py --shape ntu --pairs 7
    python experiments/bench/compile_strl.py --shape ucla --pairs 11
    python experiments/bench/compile_strl.py --shape ucla --variants eager,parts,model --check

Sides (``--variants``): ``eager``; ``parts`` (:func:`skelgraph.nn.compile.compile_parts`: the dense
modules compiled in place, what ``compile = true`` does); ``model`` (``Module.compile()`` of the
whole classifier, graph breaks and all). The first call of a compiled side compiles its forward
and backward: reported apart (wall seconds), then ``--warmup`` untimed rounds. Timing: CPU seconds
per step (one thread), the median of per-round ratios eager / side with a bootstrap 95 % interval
(``skelgraph.bench.timing``). FLOPs: the eager step counted by ``skelgraph.bench.count_flops``
(the same function on every side). The GEMM (``skelgraph.bench.measure_gemm``) is timed before and
after the rounds, the faster kept.

``--check``: before timing, each compiled side against eager in float64 on a batch of 4 graphs
of the shape (logits and every parameter's gradient, ``skelgraph.bench.compare_runs`` at the
bench's tolerance, rtol 1e-7, atol 1e-9 scaled by the largest gradient), and the graph breaks
TorchDynamo reported. Shapes: the bench's NTU row (batch 64, V 25, M 2, T 64, D 64, GIN) and
NW-UCLA (batch 32, V 20, M 1, T 32).
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.allocator import keep_freed_memory  # noqa: E402
from skelgraph.bench import BenchConfig, build_models, count_flops, make_batches, make_step, measure_gemm  # noqa: E402
from skelgraph.bench.steps import _gradients, compare_runs, make_batch  # noqa: E402
from skelgraph.bench.timing import paired_times, time_call  # noqa: E402
from skelgraph.nn.compile import compile_parts  # noqa: E402

SHAPES = {"ntu": dict(batch=64, joints=25, persons=2, frames=64),
          "ucla": dict(batch=32, joints=20, persons=1, frames=32)}


def make_side(name: str, model: torch.nn.Module) -> torch.nn.Module:
    model = copy.deepcopy(model)
    if name in ("parts", "parts+temporal"):
        compile_parts(model, temporal=name == "parts+temporal")
    elif name == "model":
        model.compile(dynamic=False)
    return model


def graph_breaks() -> int:
    return sum(torch._dynamo.utils.counters["graph_break"].values())


def check(config: BenchConfig, model: torch.nn.Module, variants: list[str]) -> list[dict]:
    """Each compiled side against eager in float64 on a 4-graph batch (its own compile)."""
    batch = make_batch(replace(config, batch=min(4, config.batch)))
    batch.x = batch.x.double()
    ref_model = copy.deepcopy(model).double()
    ref_step = make_step("strl", ref_model, None, batch, None, "fused", "fwd+bwd")
    ref = ref_step(0)
    ref_grads = _gradients(ref_model)
    out = []
    for name in variants:
        if name == "eager":
            continue
        torch._dynamo.reset()
        before = graph_breaks()
        side = make_side(name, model).double()
        value = make_step("strl", side, None, batch, None, "fused", "fwd+bwd")(0)
        entry = {"side": name, **compare_runs(value, ref, _gradients(side), ref_grads),
                 "graph_breaks": graph_breaks() - before}
        out.append(entry)
        print(f"float64 check {name}: {entry}", flush=True)
    torch._dynamo.reset()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="ntu")
    parser.add_argument("--variants", default="eager,parts")
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    keep_freed_memory()
    torch.set_num_threads(1)
    variants = args.variants.split(",")
    config = BenchConfig(**SHAPES[args.shape], convs=("gin",))
    model = build_models("gin", config)["strl"]
    result: dict = {"shape": args.shape, **SHAPES[args.shape], "torch": torch.__version__}
    if args.check:
        result["check"] = check(config, model, variants)
    batches = make_batches(config, args.pairs + args.warmup + 1)
    sides = {name: make_side(name, model) for name in variants}
    steps = {name: make_step("strl", side, None, batches, None, "fused", "fwd+bwd") for name, side in sides.items()}
    compile_s = {}
    for name, step in steps.items():  # first calls: the compile (eager: its own first call)
        before = graph_breaks()
        wall, _ = time_call(lambda: step(0))
        compile_s[name] = wall
        print(f"{name}: first step {wall:.1f} s wall, graph breaks {graph_breaks() - before}", flush=True)
    flop, _ = count_flops(lambda: steps["eager"](0)) if "eager" in steps else (float("nan"), 0)
    gemm = [measure_gemm(1, torch.device("cpu"))["gflops_per_s"]]
    times = paired_times({name: (lambda i, s=s: s(i + 1)) for name, s in steps.items()}, args.pairs, args.warmup)
    gemm.append(measure_gemm(1, torch.device("cpu"))["gflops_per_s"])
    gemm_rate = max(gemm)
    result.update(gflop=flop / 1e9, gemm_gflops=gemm, first_step_s=compile_s, sides={})
    print(f"{args.shape}: {flop / 1e9:.2f} GFLOP per step; GEMM {gemm[0]:.1f} / {gemm[1]:.1f} GFLOP/s "
          f"(before / after), {args.pairs} pairs after {args.warmup} warm-up")
    for name in variants:
        cpu, wall = times.median(name, "cpu"), times.median(name)
        entry = {"cpu_s": cpu, "wall_s": wall, "of_gemm_cpu": flop / cpu / 1e9 / gemm_rate,
                 "of_gemm_wall": flop / wall / 1e9 / gemm_rate}
        if name != "eager" and "eager" in steps:
            entry["eager_over_side_cpu"] = times.summary("eager", name, "cpu").to_dict()
            entry["eager_over_side_wall"] = times.summary("eager", name).to_dict()
        result["sides"][name] = entry
        ratio = (f"  eager/{name} CPU {times.summary('eager', name, 'cpu')}, wall {times.summary('eager', name)}"
                 if "eager_over_side_cpu" in entry else "")
        print(f"{name:6s} {cpu:.3f} s CPU ({wall:.3f} wall), {entry['of_gemm_cpu']:.0%} of GEMM (CPU time)"
              f"{ratio}", flush=True)
    result["cpu_s_all"] = {k: list(map(float, v)) for k, v in times.cpu.items()}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
