r"""The embedded end-to-end demo: synthetic data -> SkeletonMAE pre-training -> STRL fine-tuning,
a from-scratch baseline with the same budget, and k-NN of the pre-trained vs a random encoder.

Sized to finish in a few minutes on 2 CPU cores: a smaller model (D=32, T=32) and short
schedules than the paper's. Each stage is an ordinary run directory (``config.toml`` inside),
so every number can be reproduced with the ``skelgraph`` commands it prints.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config

DEMO_SAMPLES, DEMO_CLASSES, DEMO_LAYOUT = 600, 10, "ntu25"

# the same values as experiments/demo_pretrain.toml and demo_finetune.toml (a test keeps them equal)
DEMO_PRETRAIN = dict(split="train", num_frames=32, hidden_channels=32, enc_layers=3, dec_layers=1, conv="gin",
                     mask="body-part", num_parts=2, epochs=12, batch_size=32, base_batch_size=32, lr=1e-3)
DEMO_FINETUNE = dict(train_split="train", test_split="test", num_frames=32, hidden_channels=32, enc_layers=3,
                     conv="gin", strl_layers=3, epochs=15, batch_size=32, base_batch_size=128, lr=0.1,
                     warmup_epochs=2, lr_steps=(11, 14), eval_every=5)


def run_demo(out: Path, seed: int = 0, echo: Callable[[str], None] = print,
             progress: bool | None = None) -> dict[str, Any]:
    """Runs every stage into ``out`` and returns ``{stage: test top-1}``; writes ``summary.json``."""
    from skelgraph.data.info import describe
    from skelgraph.data.synth_file import write_synthetic
    from skelgraph.train.evaluate import evaluate
    from skelgraph.train.finetune import finetune
    from skelgraph.train.pretrain import pretrain

    out.mkdir(parents=True, exist_ok=True)
    data = out / "synthetic.h5"
    start = time.perf_counter()
    n = write_synthetic(data, DEMO_LAYOUT, DEMO_SAMPLES, DEMO_CLASSES, 3, seed)
    echo(f"[1/5] {n} synthetic sequences ({DEMO_CLASSES} actions, random viewpoints) -> {data}")
    echo(describe(data))

    pre_dir = out / "pretrain"
    pre_cfg = load_config(PretrainConfig, None, **DEMO_PRETRAIN, seed=seed)
    pre = pretrain(pre_cfg, data, pre_dir, progress=progress)
    first = json.loads((pre_dir / "metrics.jsonl").read_text().splitlines()[0])["loss"]
    echo(f"[2/5] SkeletonMAE pre-training: loss {first:.3f} -> {pre['loss']:.3f} over {pre['epoch']} epochs")

    results: dict[str, Any] = {}
    for name, init in (("finetune", "pretrained"), ("scratch", "none")):
        cfg = load_config(FinetuneConfig, None, **DEMO_FINETUNE, init=init, seed=seed)
        finetune(cfg, data, out / name, pretrained=pre_dir if init == "pretrained" else None, progress=progress)
        metrics = evaluate(out / name, data, progress=progress)
        results[name] = metrics["top1"]
    echo(f"[3/5] STRL fine-tuning from SkeletonMAE: top-1 {results['finetune']:.1f}%")
    echo(f"[4/5] same model and budget from scratch: top-1 {results['scratch']:.1f}%")

    knn_dir = out / "knn"
    results["knn_pretrained"] = evaluate(knn_dir / "pretrained", data, knn=10, pretrained=pre_dir,
                                         train_split="train", split="test", progress=progress)["top1"]
    results["knn_random"] = evaluate(knn_dir / "random", data, knn=10, init="none", pretrained=None,
                                     train_split="train", split="test", progress=progress)["top1"]
    echo(f"[5/5] k-NN (k=10) on frozen features: pre-trained {results['knn_pretrained']:.1f}%, "
         f"random encoder {results['knn_random']:.1f}%")
    results["seconds"] = round(time.perf_counter() - start, 1)
    (out / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def summary_table(results: dict[str, Any], out: Path) -> str:
    rows = [("STRL fine-tuned from SkeletonMAE", results["finetune"]),
            ("STRL from scratch (same budget)", results["scratch"]),
            ("k-NN, pre-trained encoder", results["knn_pretrained"]),
            ("k-NN, random encoder", results["knn_random"])]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'synthetic test split (120 samples)':<{width}}  top-1", "-" * (width + 8)]
    lines += [f"{name:<{width}}  {acc:5.1f}%" for name, acc in rows]  # evaluate() reports percent
    lines.append(f"run directory: {out}  ({results['seconds']:.0f} s)")
    return "\n".join(lines)
