"""How fast the matrix products inside one training step run, against a 2048^3 float32 GEMM timed
in the same process: what bounds a step's fraction of the GEMM limit even with no other work.

    python experiments/bench/gemm_shapes.py --model strl --batch 64
    python experiments/bench/gemm_shapes.py --model strl --batch 32 --joints 20 --persons 1 --frames 32   # NW-UCLA

Runs one untimed step, measures the GEMM (``skelgraph.bench.measure_gemm``), then one step under
a ``TorchDispatchMode`` that times every ``aten::mm``/``aten::addmm`` and oneDNN linear
(``mkldnn::_linear_pointwise``, :mod:`skelgraph.nn.linear`) with an operand of more than a
million entries and groups them by shapes and strides. Prints per group the seconds, calls and
the fraction of the GEMM rate, and the total over all of them. One thread.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.allocator import keep_freed_memory  # noqa: E402
from skelgraph.bench import BenchConfig, build_models, make_batches, make_step, measure_gemm  # noqa: E402

PRODUCTS = (torch.ops.aten.mm.default, torch.ops.aten.addmm.default)
ONEDNN = torch.ops.mkldnn._linear_pointwise.default  # skelgraph.nn.linear's products: x [M, K] @ w [N, K]^T


class TimeProducts(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])  # calls, seconds, flop

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in PRODUCTS and func is not ONEDNN:
            return func(*args, **kwargs)
        a, b = args[-2:] if func is torch.ops.aten.addmm.default else args[:2]
        if func is ONEDNN:
            b = b.t()  # as a [K, N] operand (its strides show the transposed weight)
        if max(a.numel(), b.numel()) <= 1_000_000:
            return func(*args, **kwargs)
        start = time.perf_counter()
        out = func(*args, **kwargs)
        name = "onednn_linear" if func is ONEDNN else func.__name__.split(".")[0]
        group = self.groups[(name, tuple(a.shape), a.stride(), tuple(b.shape), b.stride())]
        group[0] += 1
        group[1] += time.perf_counter() - start
        group[2] += 2 * a.size(0) * a.size(1) * b.size(1)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mae", "strl"], default="strl")
    parser.add_argument("--conv", default="gin")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--joints", type=int, default=25)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--persons", type=int, default=2)
    args = parser.parse_args()
    keep_freed_memory()
    torch.set_num_threads(1)
    config = BenchConfig(batch=args.batch, joints=args.joints, persons=args.persons, frames=args.frames,
                         convs=(args.conv,))
    batches = make_batches(config, 2)
    step = make_step(args.model, build_models(args.conv, config)[args.model], None, batches, None, "fused",
                     "fwd+bwd")
    step(0)
    gemm = measure_gemm(1, torch.device("cpu"))["gflops_per_s"]  # the faster of MKL's and oneDNN's
    timer = TimeProducts()
    with timer:
        step(1)
    print(f"{args.model} {args.conv} fwd+bwd, batch {args.batch}, V {args.joints}, M {args.persons}, T {args.frames}; "
          f"2048^3 GEMM {gemm:.1f} GFLOP/s")
    total_s = total_flop = 0.0
    for (name, sa, ta, sb, tb), (calls, seconds, flop) in sorted(timer.groups.items(), key=lambda kv: -kv[1][1]):
        total_s, total_flop = total_s + seconds, total_flop + flop
        print(f"{seconds:6.2f} s x{calls:<3} {flop / seconds / 1e9 / gemm:5.0%} of GEMM  {name} {list(sa)} "
              f"strides {ta} @ {list(sb)} strides {tb}")
    print(f"all: {total_flop / 1e9:.1f} GFLOP in {total_s:.2f} s = {total_flop / total_s / 1e9:.1f} GFLOP/s, "
          f"{total_flop / total_s / 1e9 / gemm:.0%} of the GEMM")


if __name__ == "__main__":
    main()
