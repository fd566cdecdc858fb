"""The training and inference steps with :mod:`skelgraph.nn.linear`'s oneDNN products against
the same steps on PyTorch's default (MKL) products, one process, the two sides alternating on the
same fresh batch each round (``skelgraph.bench.paired_times``).

    python experiments/bench/onednn_linear.py --shapes 32x20x32x1,64x25x64x2 --pairs 9
    python experiments/bench/onednn_linear.py --shapes 8x17x32,8x25x32,32x20x64,64x25x64,16x25x300,128x25x64 \
        --modes fwd+bwd --pairs 7

A shape is ``batch x V x T [x M]`` (M persons, default 2; D = 64). The MKL side is the same code
with ``skelgraph.nn.linear.ONEDNN_MIN_ROWS`` set above every product's rows, so nothing else
changes. Before timing, each cell checks that the two sides' outputs (loss or logits) and every
gradient agree (largest difference relative to the largest value; 0 when both libraries round
alike). Prints per cell the median over rounds of ``MKL CPU seconds / oneDNN CPU seconds`` with
its bootstrap 95 % interval (> 1: oneDNN is faster). One thread.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

import skelgraph.nn.linear as linear_module  # noqa: E402
from skelgraph.allocator import keep_freed_memory  # noqa: E402
from skelgraph.bench import BenchConfig, build_models, make_batches, make_step, paired_times  # noqa: E402

NEVER = 2**62


def on_library(step, min_rows: int):
    """``step`` run with :data:`skelgraph.nn.linear.ONEDNN_MIN_ROWS` = ``min_rows``."""
    def run(i: int):
        saved, linear_module.ONEDNN_MIN_ROWS = linear_module.ONEDNN_MIN_ROWS, min_rows
        try:
            return step(i)
        finally:
            linear_module.ONEDNN_MIN_ROWS = saved
    return run


def agreement(model: torch.nn.Module, steps: dict) -> float:
    """Largest difference of the step's output and parameter gradients between the two sides,
    relative to the largest value of each (same weights, same batch)."""
    results = []
    for step in steps.values():  # a fwd+bwd step: it zeroes the gradients, returns the loss or logits
        torch.manual_seed(0)  # the same dropout
        out = step(0).detach().clone()
        results.append((out, [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    (a, ga), (b, gb) = results
    scale = max(float(g.abs().max()) for g in ga)
    return max(float((a - b).abs().max() / a.abs().max().clamp_min(1e-30)),
               max(float((x - y).abs().max()) for x, y in zip(ga, gb)) / scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convs", default="gin")
    parser.add_argument("--shapes", default="32x20x32x1,64x25x64x2", help="batch x V x T [x M], comma-separated")
    parser.add_argument("--models", default="mae,strl")
    parser.add_argument("--modes", default="fwd,fwd+bwd")
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    keep_freed_memory()  # as the CLI does
    torch.set_num_threads(1)
    print("oneDNN linear:", linear_module.onednn_linear_status(), flush=True)
    shapes = [tuple(map(int, s.split("x"))) for s in args.shapes.split(",")]
    grid = itertools.product(shapes, args.convs.split(","), args.models.split(","), args.modes.split(","))
    for shape, conv, model_name, mode in grid:
        b, v, t, m = shape if len(shape) == 4 else (*shape, 2)
        config = BenchConfig(batch=b, joints=v, frames=t, persons=m, convs=(conv,))
        batches = make_batches(config, args.pairs + args.warmup)
        model = build_models(conv, config)[model_name]
        step = make_step(model_name, model, None, batches, None, "fused", mode)
        steps = {"mkl": on_library(step, NEVER), "onednn": on_library(step, linear_module.ONEDNN_MIN_ROWS)}
        diff = agreement(model, steps) if mode == "fwd+bwd" else None
        times = paired_times(steps, args.pairs, args.warmup)
        check = f"; sides differ by {diff:.1e}" if diff is not None else ""
        print(f"batch {b} V {v} T {t} M {m} {conv} {model_name} {mode}: MKL/oneDNN "
              f"{times.summary('mkl', 'onednn', 'cpu')} (oneDNN {1e3 * times.median('onednn', 'cpu'):.0f} ms CPU"
              f"{check})", flush=True)


if __name__ == "__main__":
    main()
