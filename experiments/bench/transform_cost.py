"""Cost of each transform for one batch of 64 NTU-sized graphs (V=25, M=2, T=64, C=3).

Two ways of applying a transform, both timed per batch of 64 graphs (median of repeats, µs):
- "Batch": once, to the collated ``Batch`` (masks are drawn per graph inside it);
- "64 x Data": to 64 single ``Data`` objects one by one, as a Dataset ``transform`` does in a
  DataLoader worker.
UniformSample reads 128-frame sources (and writes T=64); every other transform reads T=64.

Timed on one thread by default (what one DataLoader worker uses; also steadier on a shared machine).

Run: python experiments/bench/transform_cost.py [--repeats 15] [--threads 1]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch_geometric
import torch_geometric.transforms as T
from torch_geometric.data import Batch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import NTU25
from skelgraph.transforms import (BodyPartMask, GroupMask, JointToBone, JointToMotion, MaskEdges, RandomJointMask,
                                  RandomRotate, RandomScale, RandomShear, RandomTemporalCrop, UniformSample, Unroll)

NUM_GRAPHS, M, FRAMES, C = 64, 2, 64, 3


def make_graphs(num_frames: int) -> list:
    g = torch.Generator().manual_seed(0)
    return [skeleton_to_data(torch.randn(M, num_frames, NTU25.num_joints, C, generator=g), NTU25, label=i,
                             score=torch.rand(M, num_frames, NTU25.num_joints, generator=g))
            for i in range(NUM_GRAPHS)]


def median_us(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    graphs, long_graphs = make_graphs(FRAMES), make_graphs(2 * FRAMES)
    batch, long_batch = Batch.from_data_list(graphs), Batch.from_data_list(long_graphs)
    transforms = [
        ("BodyPartMask()", BodyPartMask(), False),
        ("BodyPartMask(per_frame=True)", BodyPartMask(per_frame=True), False),
        ("RandomJointMask(0.4)", RandomJointMask(0.4), False),
        ("GroupMask(num_groups=2)", GroupMask(num_groups=2), False),
        ("MaskEdges(0.3)", MaskEdges(0.3), False),
        ("BodyPartMask + MaskEdges('incident')", T.Compose([BodyPartMask(), MaskEdges("incident")]), False),
        ("UniformSample(64) from T=128", UniformSample(64), True),
        ("RandomTemporalCrop((0.5, 1))", RandomTemporalCrop((0.5, 1.0)), False),
        ("RandomRotate(15)", RandomRotate(15), False),
        ("RandomScale()", RandomScale(), False),
        ("RandomShear(0.3)", RandomShear(0.3), False),
        ("JointToBone(NTU25)", JointToBone(NTU25), False),
        ("JointToBone() (from hop)", JointToBone(), False),
        ("JointToMotion()", JointToMotion(), False),
        ("Unroll()", Unroll(), False),
    ]
    print(f"torch {torch.__version__}, torch_geometric {torch_geometric.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"per batch of {NUM_GRAPHS} graphs, V=25 M={M} T={FRAMES} C={C}; median of {args.repeats} runs, µs")
    print(f"{'transform':<40} {'Batch':>10} {'64 x Data':>11}")
    reference_us = median_us(lambda: Batch.from_data_list(graphs), args.repeats)
    print(f"{'Batch.from_data_list (reference)':<40} {reference_us:>10.0f} {'':>11}")
    for name, transform, long in transforms:
        source_batch, source_graphs = (long_batch, long_graphs) if long else (batch, graphs)
        if isinstance(transform, Unroll):
            on_batch = "n/a"
        else:
            on_batch = f"{median_us(lambda: transform(source_batch), args.repeats):.0f}"
        on_singles = median_us(lambda: [transform(d) for d in source_graphs], max(3, args.repeats // 3))
        print(f"{name:<40} {on_batch:>10} {on_singles:>11.0f}")


if __name__ == "__main__":
    main()
