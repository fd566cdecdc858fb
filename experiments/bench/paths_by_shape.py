"""The fused (default) path against the dense reference at the shapes users run, one process,
the two sides alternating on the same fresh batch each round (``skelgraph.bench.paired_times``).

    python experiments/bench/paths_by_shape.py --convs gin,gcn --shapes 8x25x32,8x17x32 --pairs 15
    python experiments/bench/paths_by_shape.py --convs gin,gcn --shapes 32x20x64,16x25x300,128x25x64 --pairs 7

A shape is ``batch x V x T`` (M = 2 persons, D = 64). Prints, per shape, conv, model (``mae``,
``strl``) and mode (``--modes``, default both), the median over rounds of ``dense CPU seconds /
fused CPU seconds`` with its bootstrap 95 % interval (> 1: the fused path is faster). One thread.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.allocator import keep_freed_memory  # noqa: E402
from skelgraph.bench import BenchConfig, build_models, make_batches, make_step, paired_times  # noqa: E402
from skelgraph.nn.conv import dense_adjacency  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convs", default="gin,gcn")
    parser.add_argument("--shapes", default="8x25x32,8x17x32", help="batch x V x T, comma-separated")
    parser.add_argument("--models", default="mae,strl")
    parser.add_argument("--modes", default="fwd,fwd+bwd")
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    keep_freed_memory()  # as the CLI does
    torch.set_num_threads(1)
    shapes = [tuple(map(int, s.split("x"))) for s in args.shapes.split(",")]
    grid = itertools.product(shapes, args.convs.split(","), args.models.split(","), args.modes.split(","))
    for (b, v, t), conv, model_name, mode in grid:
        config = BenchConfig(batch=b, joints=v, frames=t, convs=(conv,))
        batches = make_batches(config, args.pairs + args.warmup)
        adj = dense_adjacency(batches[0].edge_index, v)
        model = build_models(conv, config)[model_name]
        steps = {path: make_step(model_name, model, None, batches, adj, path, mode) for path in ("fused", "dense")}
        times = paired_times(steps, args.pairs, args.warmup)
        print(f"batch {b} V {v} T {t} {conv} {model_name} {mode}: fused/dense {times.summary('dense', 'fused', 'cpu')} "
              f"(fused {1e3 * times.median('fused', 'cpu'):.0f} ms CPU)", flush=True)


if __name__ == "__main__":
    main()
