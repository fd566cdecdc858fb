"""The temporal conv's shifted copies (``skelgraph.nn.temporal.frame_shifts``) against the
construction it replaced (``F.pad``, ``k`` slices, ``torch.cat``, autograd's own backward),
forward + backward, paired in one process, one thread.

    python experiments/bench/frame_shifts.py --nodes 3200 --frames 64 --channels 16 --pairs 15

The default shape is one dilated branch of the STRL step at NTU shape (batch 64 x 2 persons x
25 joints, T 64, D 64 split over 4 branches). Prints per dilation ``old CPU s / new CPU s``
(median of paired ratios [bootstrap 95 % interval]; > 1: the helper is faster) and checks
that both give equal outputs and gradients.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.allocator import keep_freed_memory  # noqa: E402
from skelgraph.bench import paired_times  # noqa: E402
from skelgraph.nn.temporal import frame_shifts, frame_shifts_reference  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3200)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--kernel", type=int, default=5)
    parser.add_argument("--dilations", default="1,2")
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    keep_freed_memory()  # as the CLI does
    torch.set_num_threads(1)
    x = torch.randn(args.nodes, args.frames, args.channels, requires_grad=True)
    grad = torch.randn(args.nodes, args.frames, args.kernel * args.channels)
    for d in map(int, args.dilations.split(",")):
        def step(fn, d=d):
            return lambda i: torch.autograd.grad(fn(x, args.kernel, d), x, grad)[0]
        sides = {"old": step(frame_shifts_reference), "new": step(frame_shifts)}
        assert torch.equal(frame_shifts_reference(x, args.kernel, d), frame_shifts(x, args.kernel, d))
        torch.testing.assert_close(sides["old"](0), sides["new"](0))
        times = paired_times(sides, args.pairs, warmup=2)
        print(f"[{args.nodes}, {args.frames}, {args.channels}] k {args.kernel} dilation {d}: old/new "
              f"{times.summary('old', 'new', 'cpu')} (new {1e3 * times.median('new', 'cpu'):.1f} ms, "
              f"old {1e3 * times.median('old', 'cpu'):.1f} ms CPU, fwd+bwd)", flush=True)


if __name__ == "__main__":
    main()
