r"""How fast could any neighbour aggregation make a step? Times the step with the aggregation free.

    OMP_NUM_THREADS=1 python experiments/bench/free_aggregation.py [--model mae strl] [--conv gin gcn gat stgcn]
                                                                   [--rounds 15] [--batch 64] [--json OUT]

The fused and dense paths of ``skelgraph bench`` differ only in the neighbour aggregation; the
rest of a step (MLPs, linear maps, temporal convolutions, the loss, their backward) is the same
code. This script adds a third side, ``free``: the dense path with the aggregation replaced by
the cheapest shape-correct stand-in, so it costs (almost) nothing:

- GIN, GCN: ``dense_aggregate`` returns its input;
- ST-GCN: the first of the three stacked partition products, a view (no sum over subsets);
- GAT: ``_dense`` returns the projected features (no attention logits, softmax or weighted sum).

``dense seconds / free seconds`` is then the most any aggregation (fused, torch-scatter, a
hand-written kernel) could make the step faster than dense, measured rather than read off a
profile (the profiler's own overhead moved operator times between runs). Each row: a training
step (forward, loss, backward) at NTU shape (V 25, M 2, T 64, D 64), a new batch every round,
the three sides taking turns in one process, the order rotating (``skelgraph.bench.timing``); ratios
are medians of per-round ratios with a bootstrap 95 % interval. The free side computes a
different function, so no agreement check is made against it. The process runs as
``skelgraph bench`` does (glibc keeps freed memory, ``skelgraph.allocator``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.allocator import keep_freed_memory  # noqa: E402
from skelgraph.bench import BenchConfig, build_models, make_batches, make_step  # noqa: E402
from skelgraph.nn import conv as convs  # noqa: E402
from skelgraph.nn.conv import dense_adjacency  # noqa: E402
from skelgraph.bench.timing import paired_times  # noqa: E402


def _stgcn_first_subset(cls, h, adj, hop):
    return h[:h.size(0) // cls.num_subsets]  # [N, T, F] of the stacked [3N, T, F]: a view


#: the stand-ins, per conv: (class, attribute, replacement)
FREE = {
    "gin": (convs.SkeletonGINConv, "dense_aggregate", staticmethod(lambda x, adj, eps=0.0: x)),
    "gcn": (convs.SkeletonGCNConv, "dense_aggregate", classmethod(lambda cls, x, adj: x)),
    "stgcn": (convs.SkeletonSTGCNConv, "dense_aggregate", classmethod(_stgcn_first_subset)),
    "gat": (convs.SkeletonGATConv, "_dense", lambda self, h, a_src, a_dst, adj: h),
}


@contextlib.contextmanager
def free_aggregation(conv: str) -> Iterator[None]:
    """Within the block, ``conv``'s dense aggregation is the stand-in of :data:`FREE`."""
    cls, name, stand_in = FREE[conv]
    original = cls.__dict__[name]
    setattr(cls, name, stand_in)
    try:
        yield
    finally:
        setattr(cls, name, original)


def measure(model_name: str, conv: str, rounds: int, batch: int, warmup: int = 2) -> dict:
    config = BenchConfig(batch=batch, convs=(conv,))
    batches = make_batches(config, warmup + rounds)
    adj = dense_adjacency(batches[0].edge_index, config.joints)
    model = build_models(conv, config)[model_name]
    fused = make_step(model_name, model, None, batches, adj, "fused", "fwd+bwd")
    dense = make_step(model_name, model, None, batches, adj, "dense", "fwd+bwd")

    def free(i: int):
        with free_aggregation(conv):
            return dense(i)

    if torch.equal(dense(0), free(0)):  # a stand-in that no longer engages would time dense twice
        raise SystemExit(f"{model_name} {conv}: the free stand-in did not change the step; is {FREE[conv][1]} "
                         "still what the dense path calls?")
    times = paired_times({"dense": dense, "fused": fused, "free": free}, rounds, warmup)
    return {"model": model_name, "conv": conv, "batch": batch, "rounds": rounds,
            "seconds": {side: times.median(side) for side in ("dense", "fused", "free")},
            "fused_over_dense": times.summary("dense", "fused").to_dict(),
            "free_over_dense": times.summary("dense", "free").to_dict(),
            "free_over_fused": times.summary("fused", "free").to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", choices=["mae", "strl"], default=["mae", "strl"])
    parser.add_argument("--conv", nargs="+", choices=sorted(FREE), default=["gin", "gcn", "gat", "stgcn"])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    freed = keep_freed_memory()
    print(f"# fwd+bwd steps, NTU shape, batch {args.batch}, {torch.get_num_threads()} thread(s), "
          f"{args.rounds} rounds, sides alternating; freed memory: {freed}")
    print(f"{'model':6}{'conv':7}{'dense s':>9}{'fused s':>9}{'free s':>9}  {'fused over dense':>20}  "
          f"{'free over dense (ceiling)':>26}")
    rows = []
    for model_name in args.model:
        for conv in args.conv:
            row = measure(model_name, conv, args.rounds, args.batch)
            rows.append(row)
            s = row["seconds"]

            def fmt(key):
                r = row[key]
                return f"{r['median']:.2f} [{r['low']:.2f}, {r['high']:.2f}]"
            print(f"{model_name:6}{conv:7}{s['dense']:9.3f}{s['fused']:9.3f}{s['free']:9.3f}  "
                  f"{fmt('fused_over_dense'):>20}  {fmt('free_over_dense'):>26}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"freed_memory": freed, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
