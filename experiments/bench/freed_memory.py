r"""What ``skelgraph.allocator.keep_freed_memory`` (the CLI's default) buys: training steps with
glibc's default allocator against glibc keeping freed memory, in fresh processes that alternate
(the setting is process-wide and cannot be undone inside one process).

    python experiments/bench/freed_memory.py [--pairs 3] [--steps 4]

Shapes: a SkeletonMAE pre-training step (GIN, fused path) at NTU shape (batch 64, V=25, M=2,
T=64, D=64) and an STRL fine-tuning step at NW-UCLA shape (batch 32, V=20, M=1, T=32, D=64);
one thread each. Per process: wall, user and system CPU seconds per step (after one warm-up
step), minor page faults per step and the peak resident size. Ratios: median over pairs of
(default / kept) of per-step wall and CPU time. The page-fault and system-time columns do not
depend on other load; wall times do.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, resource, sys, time
from skelgraph.allocator import keep_freed_memory
line = keep_freed_memory()
import torch
torch.set_num_threads(1)
from skelgraph.bench import BenchConfig, build_models, make_batches, make_step
shape, steps = sys.argv[1], int(sys.argv[2])
if shape == "ntu-mae":
    cfg = BenchConfig(joints=25, persons=2, frames=64, width=64, batch=64)
    model = "mae"
else:
    cfg = BenchConfig(joints=20, persons=1, frames=32, width=64, batch=32)
    model = "strl"
models = build_models("gin", cfg)
batches = make_batches(cfg, 3)
step = make_step(model, models[model], None, batches, None, "fused", "fwd+bwd")
step(0)
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for i in range(steps):
    step(i + 1)
r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
print(json.dumps({"allocator": line.split()[0], "wall": (t1 - t0) / steps, "user": (r1.ru_utime - r0.ru_utime) / steps,
                  "sys": (r1.ru_stime - r0.ru_stime) / steps, "faults": (r1.ru_minflt - r0.ru_minflt) / steps,
                  "maxrss_mb": r1.ru_maxrss / 1024}))
"""


def run(shape: str, steps: int, keep: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SKELGRAPH_KEEP_FREED_MEMORY", "THP_MEM_ALLOC_ENABLE")}
    env |= {"OMP_NUM_THREADS": "1", "SKELGRAPH_KEEP_FREED_MEMORY": "1" if keep else "0"}
    out = subprocess.run([sys.executable, "-c", CHILD, shape, str(steps)], env=env, cwd=REPO, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    print(f"# load average {os.getloadavg()[0]:.1f}; {args.pairs} pairs of processes, {args.steps} timed steps each")
    print(f"{'shape':10s} {'allocator':9s} {'wall s':>7s} {'user s':>7s} {'sys s':>6s} {'faults':>9s} {'peak MB':>8s}")
    for shape in ("ntu-mae", "ucla-strl"):
        pairs = []
        for i in range(args.pairs):
            order = (False, True) if i % 2 == 0 else (True, False)  # sides alternate who goes first
            pair = {keep: run(shape, args.steps, keep) for keep in order}
            pairs.append(pair)
            for keep in (False, True):
                r = pair[keep]
                print(f"{shape:10s} {'kept' if keep else 'default':9s} {r['wall']:7.2f} {r['user']:7.2f} "
                      f"{r['sys']:6.2f} {r['faults']:9.0f} {r['maxrss_mb']:8.0f}")
        wall = statistics.median(p[False]["wall"] / p[True]["wall"] for p in pairs)
        cpu = statistics.median((p[False]["user"] + p[False]["sys"]) / (p[True]["user"] + p[True]["sys"])
                                for p in pairs)
        print(f"{shape}: kept freed memory is {wall:.2f}x (wall) and {cpu:.2f}x (CPU time) the default's speed")


if __name__ == "__main__":
    main()
