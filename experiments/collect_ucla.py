"""Prints the NW-UCLA table of experiments/RESULTS.md from a finished run_ucla.sh directory.

    python experiments/collect_ucla.py runs/ucla
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = [
    ("fine-tune STRL from SkeletonMAE (body-part masking)", "ft_pretrained", "mae_bodypart"),
    ("fine-tune STRL from scratch (same budget)", "ft_scratch", None),
    ("10% labels, from SkeletonMAE", "ft10_pretrained", "mae_bodypart"),
    ("10% labels, from scratch", "ft10_scratch", None),
    ("linear probe, pre-trained encoder", "linear_pretrained", "mae_bodypart"),
    ("linear probe, random encoder", "linear_random", None),
    ("k-NN (k=20), pre-trained encoder", "knn_pretrained", "mae_bodypart"),
    ("k-NN (k=20), random encoder", "knn_random", None),
    ("ablation: fine-tune from random-joint masking", "ft_random_mask", "mae_random"),
    ("ablation: fine-tune from body-part + edge reconstruction (w=0.5)", "ft_edge", "mae_edge"),
]


def main(root: Path) -> None:
    times = {}
    for line in (root / "times.tsv").read_text().splitlines():
        name, seconds, _ = line.split("\t", 2)
        times[name] = int(seconds)
    print("| protocol | top-1 | top-5 | wall time (train + eval) | pre-training run |")
    print("|---|---|---|---|---|")
    for label, run, pre in ROWS:
        metrics_path = root / run / "metrics.json"
        if not metrics_path.exists():
            print(f"| {label} | not run | | | |")
            continue
        metrics = json.loads(metrics_path.read_text())
        seconds = times.get(run, 0) + times.get(f"eval_{run}", 0)
        pre_time = f"{pre} ({times[pre] / 60:.1f} min)" if pre and pre in times else "—"
        print(f"| {label} | {metrics['top1']:.1f} | {metrics['top5']:.1f} | {seconds / 60:.1f} min | {pre_time} |")
    for pre in ("mae_bodypart", "mae_random", "mae_edge"):
        log = root / pre / "metrics.jsonl"
        if log.exists():
            records = [json.loads(x) for x in log.read_text().splitlines()]
            print(f"\n{pre}: loss {records[0]['loss']:.4f} (epoch 1) -> {records[-1]['loss']:.4f} "
                  f"(epoch {records[-1]['epoch']}), {records[-1]['samples_per_s']:.0f} samples/s")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/ucla"))
