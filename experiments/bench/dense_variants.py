"""Which dense formulation of the neighbour sum ``A X`` is fastest on our ``[N, T, F]`` layout:
the candidates for ``skelgraph bench``'s ``dense`` reference.

    python experiments/bench/dense_variants.py [--batch 64] [--rounds 15]

NTU shape (B*M = 2 * batch skeleton graphs of V = 25 joints, T = 64, F = 64), forward + backward
of ``A X`` for a random 25 x 25 adjacency, the formulations taking turns round by round on new
inputs (``skelgraph.bench.timing.paired_times``). Prints each one's median time and its speed over
``torch.matmul`` (the one ``skelgraph.nn.conv`` uses) with the bootstrap 95 % interval.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.bench.timing import paired_times  # noqa: E402


def formulations(adj: torch.Tensor, blocks: int, v: int, k: int) -> dict:
    """``x`` ``[B*V, T, F]`` (node-major, as in skelgraph) -> ``A X`` of the same shape."""
    return {
        "matmul (skelgraph)": lambda x: torch.matmul(adj, x.view(blocks, v, k)).view_as(x),
        "einsum vw,bwk->bvk": lambda x: torch.einsum("vw,bwk->bvk", adj, x.view(blocks, v, k)).reshape(x.shape),
        "one GEMM, joints-first copy": lambda x: (adj @ x.view(blocks, v, k).transpose(0, 1).reshape(v, -1))
        .view(v, blocks, k).transpose(0, 1).reshape(x.shape),
        "transposed X^T A^T": lambda x: torch.matmul(x.view(blocks, v, k).transpose(1, 2), adj.t())
        .transpose(1, 2).reshape(x.shape),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    v, t, f = 25, 64, 64
    blocks = 2 * args.batch
    gen = torch.Generator().manual_seed(0)
    adj = (torch.rand(v, v, generator=gen) < 0.08).float()
    xs = [torch.randn(blocks * v, t, f, generator=gen) for _ in range(3)]
    grad = torch.randn(blocks * v, t, f, generator=gen)
    forms = formulations(adj, blocks, v, t * f)
    reference = forms["matmul (skelgraph)"](xs[0])
    for name, form in forms.items():  # all compute the same thing
        torch.testing.assert_close(form(xs[0]), reference, msg=name)

    def step(form):
        def run(i: int) -> None:
            x = xs[i % len(xs)].requires_grad_(True)
            form(x).backward(grad)
            x.grad = None
        return run

    times = paired_times({name: step(form) for name, form in forms.items()}, args.rounds, warmup=1)
    print(f"# A X forward + backward, x [{blocks * v}, {t}, {f}], {args.threads} thread(s), {args.rounds} rounds")
    print(f"{'formulation':30} {'ms':>8} {'speed over matmul [95% CI]':>28}")
    for name in forms:
        ratio = "" if name.startswith("matmul") else str(times.summary("matmul (skelgraph)", name))
        print(f"{name:30} {1e3 * times.median(name):8.1f} {ratio:>28}")


if __name__ == "__main__":
    main()
