"""How far fine-tuning moved the encoder G_E from its pre-trained weights.

    python experiments/weight_drift.py runs/ucla/mae_bodypart runs/ucla/ft_pretrained runs/ucla/ft_scratch

For every weight matrix of G_E (``embed``, the encoder convs' MLPs) prints the relative change
``|W_ft - W_pre| / |W_pre|`` and the norm ratio ``|W_ft| / |W_pre|`` of each fine-tuning run
against the pre-training run. A run from scratch gives the reference for "unrelated weights"
(~1.4 for independent random matrices of equal norm); a fine-tuned run far below it kept what
pre-training learnt (the lr did not wash it out).
"""
from __future__ import annotations

import sys

import torch

from skelgraph.nn.strl import read_checkpoint


def load_model(path: str) -> dict[str, torch.Tensor]:
    path = path.rstrip("/")
    file = path if path.endswith(".pt") else f"{path}/checkpoint.pt"
    return torch.load(file, map_location="cpu", weights_only=False)["model"]


def main(pretrained: str, runs: list[str]) -> None:
    reference = read_checkpoint(pretrained)["model"]
    keys = [k for k, v in reference.items() if k.startswith(("embed.", "encoder.")) and v.dim() > 1]
    print("| weight | " + " | ".join(f"{r.rstrip('/').rsplit('/', 1)[-1]}: change, norm ratio" for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    models = [load_model(r) for r in runs]
    for key in keys:
        w0 = reference[key]
        cells = [f"{float((m[key] - w0).norm() / w0.norm()):.3f}, {float(m[key].norm() / w0.norm()):.3f}"
                 for m in models]
        print(f"| `{key}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
