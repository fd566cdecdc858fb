"""Prints the NW-UCLA tables of experiments/RESULTS.md from a run_ucla.sh directory, or (with
--validation) the table of a validate_ucla.sh directory.

    python experiments/collect_ucla.py runs/ucla
    python experiments/collect_ucla.py --validation runs/xval

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
    ("1% labels, from SkeletonMAE", "ft01_pretrained"),
    ("1% labels, from scratch", "ft01_scratch"),
    ("linear probe, SkeletonMAE encoder", "linear_mae_bodypart"),
    ("linear probe, random encoder", "linear_random_encoder"),
    ("k-NN (k=20, cosine), SkeletonMAE encoder", "knn_mae_bodypart"),
    ("k-NN (k=20, cosine), random encoder", "knn_random_encoder"),
]
ABLATION = [("body-part masking (the paper's)", "bodypart", "ft_pretrained"),
            ("random-joint masking", "random", "ft_random_mask"),
            ("body-part + edge reconstruction (weight 0.5)", "edge", "ft_edge")]


def top1(root: Path, run: str, key: str = "top1") -> str:
    """``key`` (top1 or top5) of a run's evaluation (metrics.json), or "not run"."""
    path = root / run / "metrics.json"
    return f"{json.loads(path.read_text())[key]:.1f}" if path.exists() else "not run"


def train_minutes(root: Path, run: str) -> str:
    log = root / run / "metrics.jsonl"
    if not log.exists():
        return "—"
    return f"{sum(json.loads(line)['seconds'] for line in log.read_text().splitlines()) / 60:.1f}"


def main(root: Path) -> None:
    print("| protocol | top-1 (%) | top-5 (%) | training time (min) |")
    print("|---|---|---|---|")
    for label, run in MAIN:
        top5 = top1(root, run, "top5")
        print(f"| {label} | {top1(root, run)} | {'' if top5 == 'not run' else top5} | {train_minutes(root, run)} |")
    seeds = sorted({p.name.rsplit("_s", 1)[1] for p in root.glob("ft_pretrained_s*")})
    if seeds:
        print("\n| fine-tuning seed | " + " | ".join(["0"] + seeds) + " | mean |")
        print("|---|" + "---|" * (len(seeds) + 2))
        for label, run in (("from SkeletonMAE", "ft_pretrained"), ("from scratch", "ft_scratch")):
            values = [top1(root, run)] + [top1(root, f"{run}_s{s}") for s in seeds]
            done = [float(v) for v in values if v != "not run"]
            mean = f"{sum(done) / len(done):.1f}" if len(done) == len(values) else "—"
            print(f"| {label} | " + " | ".join(values) + f" | {mean} |")
    print("\n| pre-training | final loss | k-NN top-1 | linear top-1 | fine-tune top-1 | pre-training time (min) |")
    print("|---|---|---|---|---|---|")
    for label, mae, ft in ABLATION:
        log = root / f"mae_{mae}" / "metrics.jsonl"
        loss = json.loads(log.read_text().splitlines()[-1])["loss"] if log.exists() else float("nan")
        print(f"| {label} | {loss:.4f} | {top1(root, f'knn_mae_{mae}')} | {top1(root, f'linear_mae_{mae}')} | "
              f"{top1(root, ft)} | {train_minutes(root, f'mae_{mae}')} |")


def records(root: Path, run: str) -> list[dict]:
    return [json.loads(line) for line in (root / run / "metrics.jsonl").read_text().splitlines()]


def validation(root: Path) -> None:
    """Every run of a validate_ucla.sh directory: pre-training runs with their last loss,
    fine-tuning runs with the validation top-1 at their last epoch (no best-epoch picking)."""
    print("| pre-training run | epochs | final loss | time (min) |")
    print("|---|---|---|---|")
    logs = {p.parent.name: records(root, p.parent.name) for p in sorted(root.glob("*/metrics.jsonl"))}
    for run, rows in logs.items():
        if "joint_loss" in rows[-1]:
            print(f"| {run} | {rows[-1]['epoch']} | {rows[-1]['loss']:.4f} | {train_minutes(root, run)} |")
    print("\n| fine-tuning run | epochs | train acc (%) | val top-1 (%) | time (min) |")
    print("|---|---|---|---|---|")
    for run, rows in logs.items():
        if "train_acc" in rows[-1]:
            val = f"{rows[-1]['test_top1']:.1f}" if "test_top1" in rows[-1] else "—"
            print(f"| {run} | {rows[-1]['epoch']} | {rows[-1]['train_acc']:.1f} | {val} | {train_minutes(root, run)} |")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--validation"]:
        validation(Path(args[1] if len(args) > 1 else "runs/xval"))
    else:
        main(Path(args[0] if args else "runs/ucla"))
