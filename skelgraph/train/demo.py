r"""The embedded end-to-end demo, in the regime SkeletonMAE exists for: a pool of unlabelled
sequences, a few labels, and a classifier trained from the pre-trained encoder against the same
classifier trained from scratch on the same labels with the same budget.

1. synthetic actions (10 classes, random viewpoints): ``train`` 800 sequences, ``test`` 200;
2. SkeletonMAE pre-training on all 800 training sequences, labels unused;
3. STRL fine-tuning on 5 % of the training labels (40 sequences, 4 per class; the class-balanced
   subset ``--label-fraction 0.05`` draws), from the pre-trained encoder and from scratch;
4. frozen features, fitted on the same 40 labelled sequences: weighted k-NN, 1-NN by cosine and
   a converged logistic-regression probe on the pre-trained network, beside the two baselines
   measured the same way (a random network of the same architecture, and the raw input),
   network features pooled over 4 consecutive time segments with every joint kept
   (:mod:`skelgraph.train.frozen`).

The pre-training recipe is the one our NW-UCLA validation chose (``experiments/RESULTS.md``,
``experiments/ucla_pretrain_strl.toml``): the whole STRL network but its head is pre-trained
(``scope = "strl"``), the encoder reads positions and frame-to-frame motion with a temporal
convolution after each layer, body parts are hidden afresh every 8 frames, hidden joints'
positions and motion are rebuilt under a normalised squared error, and a contrastive term
(weight 0.5) ties the masked sequence to an augmented view of it. Sized to finish in minutes
on 2 CPU cores: a smaller model (D=32, T=32) and shorter schedules than the paper's. Each stage
is an ordinary run directory (``config.toml`` inside), so every number can be reproduced with
the ``skelgraph`` commands the README gives.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skelgraph.data.files import atomic_write_text
from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config

DEMO_SAMPLES, DEMO_CLASSES, DEMO_LAYOUT = 1000, 10, "ntu25"
#: What the demo writes into its folder (one entry per stage) and the record of what it created.
DEMO_ENTRIES = ("synthetic.h5", "pretrain", "finetune", "scratch", "knn", "frozen", "summary.json")  # knn: older demos
DEMO_RECORD = ".skelgraph-demo.json"
DEMO_LABEL_FRACTION, DEMO_KNN, DEMO_SEGMENTS, DEMO_KEEP_JOINTS = 0.05, 10, 4, True
DEMO_PROTOCOLS = ("knn", "1nn", "linear")

# the same values as experiments/demo_pretrain.toml and demo_finetune.toml (a test keeps them equal)
DEMO_PRETRAIN = dict(split="train", num_frames=32, hidden_channels=32, enc_layers=3, dec_layers=1, conv="gin",
                     features=("position", "motion"), targets=("position", "motion"), loss="mse",
                     mask="body-part", num_parts=2, epochs=20, batch_size=32, base_batch_size=32, lr=1e-3,
                     scope="strl", temporal_kernel=9, mask_span=8, contrastive_weight=0.5)
DEMO_FINETUNE = dict(train_split="train", test_split="test", num_frames=32, hidden_channels=32, enc_layers=3,
                     conv="gin", features=("position", "motion"), strl_layers=3, label_fraction=DEMO_LABEL_FRACTION,
                     epochs=30, batch_size=16, base_batch_size=128, lr=0.1, warmup_epochs=2, lr_steps=(24, 28),
                     eval_every=100)


class DemoDirError(ValueError):
    """A ``--out`` folder the demo may not use (one-line reason naming it)."""


def prepare_demo_dir(out: Path) -> list[Path]:
    r"""Makes ``out`` ready for a fresh demo without touching anything the demo did not write.

    A missing or empty folder is used as it is. A folder a demo ran in holds :data:`DEMO_RECORD`,
    the entries that demo created; those (and only those) are removed, so a file a user put
    beside them survives. Any other non-empty folder is refused. Returns the removed paths.

    Raises:
        DemoDirError: ``out`` is a file, or a non-empty folder that is not a demo's.
    """
    import shutil

    if not out.exists():
        return []
    if not out.is_dir():
        raise DemoDirError(f"{out}: exists and is not a directory; choose another --out")
    record = out / DEMO_RECORD
    if not record.exists():
        if any(out.iterdir()):
            raise DemoDirError(f"{out}: not empty and not a demo run (no {DEMO_RECORD}); nothing was removed, "
                               f"choose another --out")
        return []
    try:
        created = json.loads(record.read_text())["created"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DemoDirError(f"{record}: unreadable record of an earlier demo; nothing was removed, choose another "
                           f"--out") from None
    removed = []
    for name in created:
        if name not in DEMO_ENTRIES:  # a record may only name the demo's own entries
            continue
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
    record.unlink()
    return removed


def _claim(out: Path, created: list[str], name: str) -> Path:
    """Records ``name`` as created by this demo (before it is written, so a killed demo's
    partial stage is still known as its own) and returns its path."""
    path = out / name
    if not path.exists() and name not in created:
        created.append(name)
        atomic_write_text(out / DEMO_RECORD, json.dumps({"created": created}) + "\n")
    return path


def run_demo(out: Path, seed: int = 0, echo: Callable[[str], None] = print,
             progress: bool | None = None) -> dict[str, Any]:
    """Runs every stage into ``out`` and returns ``{stage: test top-1}`` and the counts;
    writes ``summary.json``."""
    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.data.info import describe
    from skelgraph.data.synth_file import write_synthetic
    from skelgraph.train.evaluate import evaluate
    from skelgraph.train.finetune import finetune
    from skelgraph.train.frozen import frozen_evaluate
    from skelgraph.train.pretrain import pretrain
    from skelgraph.train.subset import label_fraction_indices

    prepare_demo_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    created: list[str] = []
    data = _claim(out, created, "synthetic.h5")
    start = time.perf_counter()
    n = write_synthetic(data, DEMO_LAYOUT, DEMO_SAMPLES, DEMO_CLASSES, 3, seed)
    pool = SkeletonDataset(data, split="train")
    labelled = len(label_fraction_indices(pool.labels, DEMO_LABEL_FRACTION, seed=seed))
    tested = len(SkeletonDataset(data, split="test"))
    results: dict[str, Any] = {"unlabelled": len(pool), "labelled": labelled, "test": tested}
    echo(f"[1/5] {n} synthetic sequences ({DEMO_CLASSES} actions, random viewpoints) -> {data}")
    echo(describe(data))

    pre_dir = _claim(out, created, "pretrain")
    pre_cfg = load_config(PretrainConfig, None, **DEMO_PRETRAIN, seed=seed)
    pre = pretrain(pre_cfg, data, pre_dir, progress=progress)
    first = json.loads((pre_dir / "metrics.jsonl").read_text().splitlines()[0])["loss"]
    echo(f"[2/5] SkeletonMAE pre-training on {len(pool)} unlabelled sequences: loss {first:.3f} -> "
         f"{pre['loss']:.3f} over {pre['epoch']} epochs")

    for name, init in (("finetune", "pretrained"), ("scratch", "none")):
        cfg = load_config(FinetuneConfig, None, **DEMO_FINETUNE, init=init, seed=seed)
        finetune(cfg, data, _claim(out, created, name), pretrained=pre_dir if init == "pretrained" else None,
                 progress=progress)
        results[name] = evaluate(out / name, data, progress=progress)["top1"]
    echo(f"[3/5] STRL fine-tuned from SkeletonMAE on {labelled} labels: top-1 {results['finetune']:.1f}%")
    echo(f"[4/5] same model, labels and budget from scratch: top-1 {results['scratch']:.1f}%")

    frozen = frozen_evaluate(data, pretrained=pre_dir, train_split="train", split="test",
                             protocols=DEMO_PROTOCOLS, k=DEMO_KNN, segments=DEMO_SEGMENTS,
                             keep_joints=DEMO_KEEP_JOINTS,
                             label_fraction=DEMO_LABEL_FRACTION, seed=seed, out=_claim(out, created, "frozen"),
                             progress=progress)
    for source, row in frozen["results"].items():
        for protocol in DEMO_PROTOCOLS:
            results[f"{protocol}_{source}"] = row[protocol]["top1"]

    def scores(source: str) -> str:
        return " / ".join(f"{results[f'{p}_{source}']:.1f}%" for p in DEMO_PROTOCOLS)
    echo(f"[5/5] frozen features, the {labelled} labelled sequences to fit on (k-NN k={DEMO_KNN} / 1-NN / "
         f"logistic regression): pre-trained {scores('pretrained')}, random network {scores('random')}, "
         f"raw input {scores('raw')}")
    results["seconds"] = round(time.perf_counter() - start, 1)
    atomic_write_text(_claim(out, created, "summary.json"), json.dumps(results, indent=2) + "\n")
    return results


def summary_table(results: dict[str, Any], out: Path) -> str:
    labelled = results["labelled"]
    rows = [(f"STRL fine-tuned from SkeletonMAE ({labelled} labels)", results["finetune"]),
            (f"STRL from scratch ({labelled} labels, same budget)", results["scratch"]),
            ("k-NN, pre-trained network", results["knn_pretrained"]),
            ("k-NN, random network", results["knn_random"]),
            ("k-NN, raw input", results["knn_raw"]),
            ("1-NN cosine, pre-trained network", results["1nn_pretrained"]),
            ("1-NN cosine, random network", results["1nn_random"]),
            ("1-NN cosine, raw input", results["1nn_raw"]),
            ("logistic regression, pre-trained network", results["linear_pretrained"]),
            ("logistic regression, random network", results["linear_random"]),
            ("logistic regression, raw input", results["linear_raw"])]
    width = max(len(r[0]) for r in rows)
    title = f"synthetic test split ({results['test']} samples)"
    lines = [f"pre-trained on {results['unlabelled']} unlabelled sequences; {labelled} of them labelled",
             f"{title:<{width}}  top-1", "-" * (width + 8)]
    lines += [f"{name:<{width}}  {acc:5.1f}%" for name, acc in rows]  # evaluate() reports percent
    lines.append(f"run directory: {out}  ({results['seconds']:.0f} s)")
    return "\n".join(lines)
