"""Forward+backward time of one SkeletonMAE pre-training step, per conv and per path.

Batch: 64 NTU-shaped graphs (V=25 joints, M=2 persons, T=64 frames, C=3), D=64, 3 encoder
convs + 1 decoder conv, body-part masking hiding ~1/3 of the joints. For every conv it times
the fused path (one sparse CSR product per layer), the plain path (per-edge messages + scatter)
and the dense reference (the same model and weights, each conv running a batched [V, V] @ X
matmul, i.e. einsum 'vw,bwk->bvk'). Reports the median of --repeats steps after --warmup steps;
the three paths alternate step by step so that other load on the machine affects them alike.

    python experiments/bench/model_step.py                  # all convs
    python experiments/bench/model_step.py --convs gin --repeats 20
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch
import torch_geometric
from torch_geometric.data import Batch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph import NTU25
from skelgraph.nn import SkeletonGINConv, SkeletonMAE, dense_adjacency
from skelgraph.nn.conv import csr_adjacency

PATHS = ("fused", "plain", "dense")


def make_batch(num_graphs: int, frames: int, seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)
    graphs = []
    for _ in range(num_graphs):
        data = skeleton_to_data(rng.standard_normal((2, frames, 25, 3)).astype(np.float32), NTU25)
        keep = torch.ones(NTU25.num_joints, dtype=torch.bool)
        for part in rng.permutation(NTU25.num_parts):  # whole body parts: 8 to 10 of the 25 joints
            joints = list(NTU25.parts[part][1])
            if int((~keep).sum()) + len(joints) <= 10:
                keep[joints] = False
            if int((~keep).sum()) >= 8:
                break
        data.keep_mask = keep[data.joint]
        graphs.append(data)
    return Batch.from_data_list(graphs)


def set_path(model: SkeletonMAE, path: str) -> None:
    for layer in [*model.encoder, *model.decoder]:
        layer.fused = path == "fused"


def time_paths(model: SkeletonMAE, batch: Batch, adj: torch.Tensor, warmup: int, repeats: int) -> dict[str, float]:
    """Median seconds per step of each path; the paths take turns step by step, so load from
    other processes on the machine hits all of them alike."""
    times: dict[str, list[float]] = {path: [] for path in PATHS}
    for i in range(warmup + repeats):
        for path in PATHS:
            set_path(model, path)
            model.zero_grad(set_to_none=True)
            start = time.perf_counter()
            model(batch, adj=adj if path == "dense" else None)["loss"].backward()
            if i >= warmup:
                times[path].append(time.perf_counter() - start)
    return {path: statistics.median(t) for path, t in times.items()}


def time_aggregation(batch: Batch, adj: torch.Tensor, width: int, warmup: int, repeats: int) -> dict[str, float]:
    """Median seconds of one neighbour sum (forward + backward) over [N, T, width] per path:
    what the PyG path changes, without the MLPs that dominate a step."""
    conv = SkeletonGINConv(width, width)
    x = torch.randn(batch.num_nodes, batch.x.size(1), width, requires_grad=True)
    adj_t = csr_adjacency(batch.edge_index, None, (batch.num_nodes,) * 2)
    run = {"fused": lambda: conv.propagate(adj_t, x=x),
           "plain": lambda: conv.propagate(batch.edge_index, x=x),
           "dense": lambda: conv.dense_aggregate(x, adj)}
    times: dict[str, list[float]] = {path: [] for path in PATHS}
    for i in range(warmup + repeats):
        for path in PATHS:
            x.grad = None
            start = time.perf_counter()
            run[path]().sum().backward()
            if i >= warmup:
                times[path].append(time.perf_counter() - start)
    return {path: statistics.median(t) for path, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convs", nargs="+", default=["gin", "gcn", "gat", "stgcn"])
    parser.add_argument("--graphs", type=int, default=64)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--edge-weight", type=float, default=0.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = make_batch(args.graphs, args.frames)
    adj = dense_adjacency(batch.edge_index, NTU25.num_joints)
    print(f"# torch {torch.__version__}, torch_geometric {torch_geometric.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.threads} threads; N={batch.num_nodes} nodes, T={args.frames}, hidden "
          f"{(~batch.keep_mask).float().mean():.2f} of joints, edge_weight={args.edge_weight}")
    print(f"{'conv':6} {'fused ms':>9} {'plain ms':>9} {'dense ms':>9} {'fused/dense':>11} {'plain/dense':>11}")
    agg = {path: 1e3 * t for path, t in time_aggregation(batch, adj, 64, args.warmup, args.repeats).items()}
    print(f"{'sum':6} {agg['fused']:9.1f} {agg['plain']:9.1f} {agg['dense']:9.1f} "
          f"{agg['fused'] / agg['dense']:11.2f} {agg['plain'] / agg['dense']:11.2f}   (neighbour sum only, one layer)")
    for conv in args.convs:
        torch.manual_seed(0)
        model = SkeletonMAE(3, 64, enc_layers=3, dec_layers=1, conv=conv, edge_weight=args.edge_weight)
        result = {path: 1e3 * t for path, t in time_paths(model, batch, adj, args.warmup, args.repeats).items()}
        print(f"{conv:6} {result['fused']:9.1f} {result['plain']:9.1f} {result['dense']:9.1f} "
              f"{result['fused'] / result['dense']:11.2f} {result['plain'] / result['dense']:11.2f}", flush=True)


if __name__ == "__main__":
    main()
