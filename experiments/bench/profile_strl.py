"""Where two paths of one ``skelgraph bench`` row spend different time: per-operator CPU time of
each path over the same fresh batches, and the operators that make up the difference.

    python experiments/bench/profile_strl.py --model strl --conv gin [--batch 64] [--steps 3]
    python experiments/bench/profile_strl.py --model mae --conv gat --paths fused dense

Each path runs ``--warmup`` untimed steps first (outside the profiler), then ``--steps`` steps
under ``torch.profiler``, on the same ``--steps`` new batches (NTU shape: V 25, M 2, T 64, D 64;
the caches of the fused path are rebuilt per batch, as in training). Prints, per path, the step
time the profiler saw and the top operators by self CPU time; then, per operator, the time of
the second path minus the first: the operators where the paths differ, and how much of a step
the ones the paths share take (which bounds what any aggregation can gain).
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.bench import BenchConfig, build_models, make_batches, make_step, pyg_dense_model  # noqa: E402
from skelgraph.nn.conv import dense_adjacency  # noqa: E402


def operator_times(step, rounds: range) -> tuple[dict[str, float], float]:
    """Self CPU seconds per operator name over ``rounds`` calls, and their total."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in rounds:
            step(i)
    times: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        times[event.key] += event.self_cpu_time_total / 1e6
    return times, sum(times.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mae", "strl"], default="strl")
    parser.add_argument("--conv", default="gin")
    parser.add_argument("--mode", choices=["fwd", "fwd+bwd"], default="fwd+bwd")
    parser.add_argument("--paths", nargs=2, default=["fused", "dense"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = BenchConfig(batch=args.batch, convs=(args.conv,))
    batches = make_batches(config, args.warmup + args.steps)
    adj = dense_adjacency(batches[0].edge_index, config.joints)
    model = build_models(args.conv, config)[args.model]
    twin = pyg_dense_model(model)
    results = {}
    for path in args.paths:
        step = make_step(args.model, model, twin, batches, adj, path, args.mode)
        for i in range(args.warmup):
            step(i)
        results[path] = operator_times(step, range(args.warmup, args.warmup + args.steps))
    print(f"# {args.model} {args.conv} {args.mode}, batch {args.batch} (NTU shape), {args.threads} thread(s), "
          f"{args.steps} profiled steps after {args.warmup} warm-up, per step:")
    for path, (times, total) in results.items():
        print(f"\n== {path}: {1e3 * total / args.steps:.0f} ms of operator self time per step")
        for name, seconds in sorted(times.items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"  {name:48} {1e3 * seconds / args.steps:9.1f} ms  {100 * seconds / total:5.1f} %")
    (first, (a, total_a)), (second, (b, total_b)) = results.items()
    diff = {name: b.get(name, 0.0) - a.get(name, 0.0) for name in set(a) | set(b)}
    print(f"\n== {second} minus {first}: {1e3 * (total_b - total_a) / args.steps:+.0f} ms per step "
          f"({total_b / total_a:.2f}x the time of {first}); the operators that differ most:")
    for name, seconds in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:args.top]:
        print(f"  {name:48} {1e3 * seconds / args.steps:+9.1f} ms")
    shared = sum(min(a.get(n, 0.0), b.get(n, 0.0)) for n in set(a) | set(b))
    print(f"\noperator time common to both paths: {100 * shared / total_b:.0f} % of a {second} step; even a free "
          f"{first} aggregation could make it at most {total_b / shared:.2f}x faster than {second}")


if __name__ == "__main__":
    main()
