"""Where two paths of one ``skelgraph bench`` row spend different time: per-operator CPU time of
each path over the same fresh batches, and the operators that make up the difference.

    python experiments/bench/profile_strl.py --model strl --conv gin [--batch 64] [--steps 7]
    python experiments/bench/profile_strl.py --model mae --conv gat --paths fused dense

Each path runs ``--warmup`` untimed steps first (outside the profiler), then ``--steps`` steps,
each under its own ``torch.profiler``, on the same new batches (NTU shape: V 25, M 2, T 64, D 64;
the caches of the fused path are rebuilt per batch, as in training); the paths take turns step
by step, the order alternating, so a slow spell of the machine falls on both (one profile per
path, taken one after the other, moved a path's step by 1.6x between two runs). Prints, per
path, the median step time the profiler saw and the top operators by median self CPU time per
step; then, per operator, the time of
the second path minus the first: the operators where the paths differ, and how much of a step
the ones the paths share take (which bounds what any aggregation can gain). The process runs as
``skelgraph bench`` does: glibc keeps freed memory (``skelgraph.allocator``), so page faults on
fresh memory do not land on whichever operator touches it first (``--glibc-defaults`` to see them).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.allocator import keep_freed_memory  # noqa: E402
from skelgraph.bench import BenchConfig, build_models, make_batches, make_step, pyg_dense_model  # noqa: E402
from skelgraph.nn.conv import dense_adjacency  # noqa: E402


def operator_times(step, i: int) -> dict[str, float]:
    """Self CPU seconds per operator name of one call ``step(i)``."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(i)
    times: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        times[event.key] += event.self_cpu_time_total / 1e6
    return times


def median_times(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Per operator, the median over rounds of its seconds (0 in a round where it did not run)."""
    names = set().union(*rounds)
    return {name: statistics.median(r.get(name, 0.0) for r in rounds) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mae", "strl"], default="strl")
    parser.add_argument("--conv", default="gin")
    parser.add_argument("--mode", choices=["fwd", "fwd+bwd"], default="fwd+bwd")
    parser.add_argument("--paths", nargs=2, default=["fused", "dense"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="leave glibc's allocator settings alone (the skelgraph command changes them)")
    args = parser.parse_args()
    freed_memory = "glibc defaults" if args.glibc_defaults else keep_freed_memory()
    torch.set_num_threads(args.threads)
    config = BenchConfig(batch=args.batch, convs=(args.conv,))
    batches = make_batches(config, args.warmup + args.steps)
    adj = dense_adjacency(batches[0].edge_index, config.joints)
    model = build_models(args.conv, config)[args.model]
    twin = pyg_dense_model(model)
    steps = {path: make_step(args.model, model, twin, batches, adj, path, args.mode) for path in args.paths}
    for i in range(args.warmup):
        for step in steps.values():
            step(i)
    rounds: dict[str, list[dict[str, float]]] = {path: [] for path in args.paths}
    for i in range(args.warmup, args.warmup + args.steps):  # the paths take turns, the order rotating
        order = args.paths if i % 2 else args.paths[::-1]
        for path in order:
            rounds[path].append(operator_times(steps[path], i))
    results = {}
    for path, per_round in rounds.items():
        medians = median_times(per_round)
        results[path] = (medians, statistics.median(sum(r.values()) for r in per_round))
    print(f"# {args.model} {args.conv} {args.mode}, batch {args.batch} (NTU shape), {args.threads} thread(s), "
          f"{args.steps} profiled steps per path after {args.warmup} warm-up, the paths taking turns; per step, "
          f"medians over the steps; freed memory: {freed_memory}")
    for path, (times, total) in results.items():
        print(f"\n== {path}: {1e3 * total:.0f} ms of operator self time per step")
        for name, seconds in sorted(times.items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"  {name:48} {1e3 * seconds:9.1f} ms  {100 * seconds / total:5.1f} %")
    (first, (a, total_a)), (second, (b, total_b)) = results.items()
    diff = {name: b.get(name, 0.0) - a.get(name, 0.0) for name in set(a) | set(b)}
    print(f"\n== {second} minus {first}: {1e3 * (total_b - total_a):+.0f} ms per step "
          f"({total_b / total_a:.2f}x the time of {first}); the operators that differ most:")
    for name, seconds in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:args.top]:
        print(f"  {name:48} {1e3 * seconds:+9.1f} ms")
    shared = sum(min(a.get(n, 0.0), b.get(n, 0.0)) for n in set(a) | set(b))
    print(f"\noperator time common to both paths: {100 * shared / total_b:.0f} % of a {second} step; even a free "
          f"{first} aggregation could make it at most {total_b / shared:.2f}x faster than {second}")


if __name__ == "__main__":
    main()
