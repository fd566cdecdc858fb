r"""What sharing GAT's block CSR pattern across layers buys: a fused fwd+bwd step with the pattern
shared (as the layer does) against the same step rebuilding it at every layer call.

    OMP_NUM_THREADS=1 python experiments/bench/gat_shared_patterns.py [--model mae] [--rounds 15]

NTU shape, batch 64, a new batch every round, the two sides alternating in one process
(``skelgraph.bench.timing.paired_times``), glibc keeping freed memory as under the CLI. For
SkeletonMAE (every GAT layer called once per step) "rebuild at every call" is what one pattern
per layer cost before the patterns were shared; for STRL, whose encoder runs three times a
step, it overstates that cost.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.allocator import keep_freed_memory  # noqa: E402
from skelgraph.bench import BenchConfig, build_models, make_batches, make_step  # noqa: E402
from skelgraph.nn.conv import block_sparse, gat  # noqa: E402
from skelgraph.nn.conv import dense_adjacency  # noqa: E402
from skelgraph.bench.timing import paired_times  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mae", "strl"], default="mae")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    keep_freed_memory()
    config = BenchConfig(batch=args.batch, convs=("gat",))
    batches = make_batches(config, args.rounds + 2)
    adj = dense_adjacency(batches[0].edge_index, config.joints)
    model = build_models("gat", config)[args.model]
    step = make_step(args.model, model, None, batches, adj, "fused", "fwd+bwd")
    shared = gat.attention_patterns  # the name GAT's forward calls

    def rebuilt(edge_index, num_nodes, slots):
        block_sparse._ATTENTION_PATTERNS.pop(edge_index, None)
        return shared(edge_index, num_nodes, slots)

    def step_rebuilding(i: int) -> torch.Tensor:
        gat.attention_patterns = rebuilt
        try:
            return step(i)
        finally:
            gat.attention_patterns = shared

    times = paired_times({"shared": step, "rebuilt per call": step_rebuilding}, args.rounds, 2)
    print(f"# {args.model} gat fwd+bwd, batch {args.batch}, {torch.get_num_threads()} thread(s), {args.rounds} rounds")
    print(f"shared {times.median('shared'):.3f} s, rebuilt per call {times.median('rebuilt per call'):.3f} s; "
          f"shared faster by {times.summary('rebuilt per call', 'shared')}")


if __name__ == "__main__":
    main()
