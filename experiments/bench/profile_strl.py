"""Where an STRL training step spends its time, PyG fused path vs dense reference (same weights).

    python experiments/bench/profile_strl.py [--batch 16] [--conv gin]

Prints torch.profiler's top operators (self CPU time) over 3 steps after 2 warm-up steps.
"""
from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from skelgraph.bench import BenchConfig, build_models, make_batch, make_step
from skelgraph.nn.conv import dense_adjacency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--conv", default="gin")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = BenchConfig(batch=args.batch)
    batch = make_batch(config)
    adj = dense_adjacency(batch.edge_index, config.joints)
    model = build_models(args.conv, config)["strl"]
    for path in ("fused", "dense"):
        step = make_step("strl", model, None, batch, adj, path, "fwd+bwd")
        step(), step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                step()
        print(f"== {path}")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10, max_name_column_width=40))


if __name__ == "__main__":
    main()
