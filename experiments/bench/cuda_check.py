"""The CUDA path against the CPU in float64: every conv's SkeletonMAE pre-training step and STRL
fine-tuning step, same weights, same batch, on both devices; outputs and every gradient.

    python experiments/bench/cuda_check.py                      # on a machine with a GPU
    python experiments/bench/cuda_check.py --device cpu         # a smoke test of the script itself

For each conv of ``skelgraph.nn.conv.CONV_NAMES`` and each model (``skelgraph.bench.build_models``:
SkeletonMAE with 3 encoder + 1 decoder convs, the STRL classifier with 3 STRL layers) one
forward+backward of the fused (default) path on a small random batch (``--batch``, ``--frames``,
V 25, M 2) in float64 on the CPU and on ``--device``; prints the largest difference of the
output (MAE loss, STRL logits) relative to its largest value and of the gradients relative to the
largest gradient entry, and exits 1 if any exceeds ``--tol``. The GPU's kernels (cuSPARSE CSR
products, scatter) sum in other orders than the CPU's, so float64 agreement near 1e-15 says the
two compute the same function.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

from skelgraph.bench import BenchConfig, build_models, make_batches, make_step  # noqa: E402
from skelgraph.nn.conv import CONV_NAMES  # noqa: E402


def run(model: torch.nn.Module, name: str, batch, device: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model = model.to(device)
    step = make_step(name, model, None, [batch.to(device)], None, "fused", "fwd+bwd")
    out = step(0)  # no randomness inside: the mask is the batch's, the STRL dropout is off
    return out.detach().cpu(), [p.grad.detach().cpu() for p in model.parameters() if p.grad is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--tol", type=float, default=1e-10)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("cuda_check: no CUDA device here (use --device cpu for a smoke test)")
    config = BenchConfig(batch=args.batch, frames=args.frames)
    batch = make_batches(config, 1)[0]
    batch.x = batch.x.double()
    worst = 0.0
    for conv in CONV_NAMES:
        models = build_models(conv, config)
        for name, model in models.items():
            if name == "strl":
                model.classifier[2].p = 0.0  # dropout off: the two devices' generators differ
            model = model.double()
            cpu_out, cpu_grads = run(copy.deepcopy(model), name, batch, "cpu")
            dev_out, dev_grads = run(model, name, batch, args.device)
            out_diff = float((cpu_out - dev_out).abs().max() / cpu_out.abs().max())
            scale = max(float(g.abs().max()) for g in cpu_grads)
            grad_diff = max(float((a - b).abs().max()) for a, b in zip(cpu_grads, dev_grads)) / scale
            worst = max(worst, out_diff, grad_diff)
            print(f"{conv:6s} {name:5s} output {out_diff:.1e}  gradients {grad_diff:.1e} (of the largest)", flush=True)
    print(f"largest difference {worst:.1e}: {'ok' if worst <= args.tol else 'DIFFERS'} (tolerance {args.tol:g})")
    sys.exit(0 if worst <= args.tol else 1)


if __name__ == "__main__":
    main()
