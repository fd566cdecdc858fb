"""Prints the NW-UCLA tables of experiments/RESULTS.md from a run_ucla.sh directory, or (with
--validation) the tables of a validate_ucla.sh directory.

    python experiments/collect_ucla.py runs/ucla
    python experiments/collect_ucla.py --validation runs/xval

Accuracies are the last epoch's (never the best epoch's): a fine-tuning run's last evaluation in
its metrics.jsonl, or the metrics.json that `skelgraph evaluate` wrote (k-NN). Means are over the
seeds that ran; "—" marks a run that is missing. Time columns: the sum of the per-epoch seconds
in a run's metrics.jsonl (what the process spent training, not the script's wall clock), taken
with two or more runs sharing the 2 cores.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def records(root: Path, run: str) -> list[dict]:
    path = root / run / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def top1(root: Path, run: str) -> float | None:
    """Top-1 (%) of a run: its metrics.json (evaluate), else its last logged test accuracy."""
    path = root / run / "metrics.json"
    if path.exists():
        return json.loads(path.read_text())["top1"]
    tests = [r["test_top1"] for r in records(root, run) if "test_top1" in r]
    return tests[-1] if tests else None


def minutes(root: Path, run: str) -> str:
    rows = records(root, run)
    return f"{sum(r['seconds'] for r in rows) / 60:.1f}" if rows else "—"


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def seeds_row(root: Path, label: str, pattern: str, seeds: list[int]) -> tuple[str, float | None]:
    """A table row of ``pattern.format(s=seed)`` runs: each seed's top-1, their mean."""
    values = [top1(root, pattern.format(s=s)) for s in seeds]
    done = [v for v in values if v is not None]
    mean = statistics.fmean(done) if done else None
    return f"| {label} | " + " | ".join(fmt(v) for v in values) + f" | {fmt(mean)} |", mean


def seeds_table(root: Path, title: str, rows: list[tuple[str, str]], seeds: list[int]) -> dict[str, float | None]:
    print(f"\n| {title} | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |")
    print("|---|" + "---|" * (len(seeds) + 1))
    means = {}
    for label, pattern in rows:
        line, means[pattern] = seeds_row(root, label, pattern, seeds)
        print(line)
    return means


def test_protocol(root: Path) -> None:
    seeds = sorted({int(p.name.rsplit("_s", 1)[1]) for p in root.glob("ft_motion_s*")}) or [0, 1]
    seeds_table(root, "all labels (1,020 sequences), top-1 on view 3", [
        ("fine-tuned from SkeletonMAE, position+motion recipe", "ft_motion_s{s}"),
        ("... pre-trained with the Kinect v1 corpus too", "ft_corpus_s{s}"),
        ("from scratch, same model (position+motion input)", "ft_scratch_motion_s{s}"),
        ("fine-tuned from SkeletonMAE, the paper's configuration", "ft_paper_s{s}"),
        ("from scratch, same model (position input)", "ft_scratch_s{s}"),
    ], seeds)
    seeds10 = sorted({int(p.name.rsplit("_s", 1)[1]) for p in root.glob("ft10_motion_s*")}) or seeds
    seeds_table(root, "10 % of the labels (102 sequences)", [
        ("fine-tuned from SkeletonMAE, position+motion recipe", "ft10_motion_s{s}"),
        ("... + contrastive term (weight 0.5)", "ft10_contrast_s{s}"),
        ("... pre-trained with the Kinect v1 corpus too", "ft10_corpus_s{s}"),
        ("from scratch, same model (position+motion input)", "ft10_scratch_motion_s{s}"),
        ("fine-tuned from SkeletonMAE, the paper's configuration", "ft10_paper_s{s}"),
        ("from scratch, same model (position input)", "ft10_scratch_s{s}"),
    ], seeds10)
    print("\n| frozen encoder | k-NN (k=20) | linear probe | pre-training loss | pre-training time (min) |")
    print("|---|---|---|---|---|")
    for label, mae in (("SkeletonMAE, position+motion recipe", "motion"),
                       ("... + contrastive term (weight 0.5)", "contrast"), ("... with the Kinect v1 corpus", "corpus"),
                       ("random encoder, position+motion input", "random_motion"),
                       ("SkeletonMAE, the paper's configuration", "paper"),
                       ("... + edge reconstruction (fixed), weight 0.5", "edge"),
                       ("... random-joint masking instead of body parts", "random"),
                       ("random encoder, position input", "random_paper")):
        rows = records(root, f"mae_{mae}")
        loss = f"{rows[-1]['loss']:.4f}" if rows else "—"
        print(f"| {label} | {fmt(top1(root, f'knn_{mae}'))} | {fmt(top1(root, f'linear_{mae}'))} | {loss} | "
              f"{minutes(root, f'mae_{mae}') if rows else '—'} |")
    print("\n| the paper's configuration, one seed | fine-tuned top-1 |")
    print("|---|---|")
    for label, run in (("body-part masking", "ft_paper_s0"),
                       ("+ edge reconstruction (fixed), weight 0.5", "ft_edge_s0"),
                       ("random-joint masking", "ft_random_s0")):
        print(f"| {label} | {fmt(top1(root, run))} |")


VARIANTS = [  # validate_ucla.sh: name, what it is, scratch architecture it compares with
    ("paper", "the paper's: position in, position out, cosine error", "P"),
    ("edge", "... + edge reconstruction (fixed), weight 0.5", "P"),
    ("mse", "position in and out, normalised MSE", "P"),
    ("l1", "position in and out, normalised L1", "P"),
    ("pm_mse", "position+motion in and out, normalised MSE (the recipe)", "PM"),
    ("pm_sce", "position+motion in and out, cosine error", "PM"),
    ("pmt_mse", "... + the centre's trajectory as input", "PMT"),
    ("tk_pm", "... + temporal conv (k=5) in the encoder, span masking (4 frames)", "PMtk5"),
    ("tk_p", "position in, position+motion out, temporal conv (k=5), span masking", "Ptk5"),
    ("pmc", "the recipe + contrastive term (weight 0.5)", "PM"),
    ("pmc2", "the recipe + contrastive term (weight 2.0)", "PM"),
    ("pmc1c5", "the recipe + contrastive term (weight 1.0, crops of 50-100 % of the frames)", "PM"),
    ("cpm_mse", "the recipe, pre-trained on the Kinect v1 corpus + view 1", "PM"),
]


def validation(root: Path) -> None:
    print("| pre-training | loss | k-NN | k-NN, random enc. | linear | linear, random enc. | "
          "fine-tuned s0 | s1 | scratch s0 | s1 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, label, arch in VARIANTS:
        rows = records(root, f"pre_{name}")
        if not rows:
            continue
        cells = [top1(root, run) for run in (f"knn_{name}", f"knnrand_{name}", f"lin_{name}", f"linrand_{name}",
                                             f"ft_{name}_s0", f"ft_{name}_s1", f"ftscratch_{arch}_s0",
                                             f"ftscratch_{arch}_s1")]
        print(f"| {label} | {rows[-1]['loss']:.4f} | " + " | ".join(fmt(c) for c in cells) + " |")
    seeds_table(root, "10 % of view 1's labels, 110 epochs", [
        ("position+motion recipe", "ft10_pm_mse_s{s}"),
        ("... pre-trained with the Kinect v1 corpus", "ft10_cpm_mse_s{s}"),
        ("scratch, position+motion input", "ft10scratch_PM_s{s}"), ("the paper's configuration", "ft10_paper_s{s}"),
        ("scratch, position input", "ft10scratch_P_s{s}")], [0, 1, 2])


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--validation"]:
        validation(Path(args[1] if len(args) > 1 else "runs/xval"))
    else:
        test_protocol(Path(args[0] if args else "runs/ucla"))
