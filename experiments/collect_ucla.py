"""Prints the NW-UCLA tables of experiments/RESULTS.md from a run_ucla.sh directory.

    python experiments/collect_ucla.py runs/ucla

Time columns: training time is the sum of the per-epoch seconds in the run's metrics.jsonl
(what the process spent training, not the wall clock of the script).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

MAIN = [
    ("fine-tune STRL from SkeletonMAE", "ft_pretrained"),
    ("fine-tune STRL from scratch (same budget)", "ft_scratch"),
    ("10% labels, from SkeletonMAE", "ft10_pretrained"),
    ("10% labels, from scratch", "ft10_scratch"),
    ("linear probe, SkeletonMAE encoder", "linear_mae_bodypart"),
    ("linear probe, random encoder", "linear_random_encoder"),
    ("k-NN (k=20, cosine), SkeletonMAE encoder", "knn_mae_bodypart"),
    ("k-NN (k=20, cosine), random encoder", "knn_random_encoder"),
]
ABLATION = [("body-part masking (the paper's)", "bodypart", "ft_pretrained"),
            ("random-joint masking", "random", "ft_random_mask"),
            ("body-part + edge reconstruction (weight 0.5)", "edge", "ft_edge")]


def top1(root: Path, run: str) -> str:
    path = root / run / "metrics.json"
    return f"{json.loads(path.read_text())['top1']:.1f}" if path.exists() else "not run"


def train_minutes(root: Path, run: str) -> str:
    log = root / run / "metrics.jsonl"
    if not log.exists():
        return "—"
    return f"{sum(json.loads(line)['seconds'] for line in log.read_text().splitlines()) / 60:.1f}"


def main(root: Path) -> None:
    print("| protocol | top-1 (%) | top-5 (%) | training time (min) |")
    print("|---|---|---|---|")
    for label, run in MAIN:
        path = root / run / "metrics.json"
        top5 = f"{json.loads(path.read_text())['top5']:.1f}" if path.exists() else ""
        print(f"| {label} | {top1(root, run)} | {top5} | {train_minutes(root, run)} |")
    print("\n| pre-training | final loss | k-NN top-1 | linear top-1 | fine-tune top-1 | pre-training time (min) |")
    print("|---|---|---|---|---|---|")
    for label, mae, ft in ABLATION:
        log = root / f"mae_{mae}" / "metrics.jsonl"
        loss = json.loads(log.read_text().splitlines()[-1])["loss"] if log.exists() else float("nan")
        print(f"| {label} | {loss:.4f} | {top1(root, f'knn_mae_{mae}')} | {top1(root, f'linear_mae_{mae}')} | "
              f"{top1(root, ft)} | {train_minutes(root, f'mae_{mae}')} |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/ucla"))
