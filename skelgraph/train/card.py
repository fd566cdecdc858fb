r"""The model card: a short ``README.md`` that every training run writes into its run directory
when it ends (and rewrites when a resumed run ends), so a run found months later says what it is.

It names the data file and its provenance (how ``skelgraph preprocess`` made it), the command,
the seed and the resolved config (``config.toml`` beside it), the wall time, the final metrics
(and the best validation epoch, with a ``val_split``), and how to use the run: ``skelgraph
predict`` / ``evaluate`` / ``embed`` for a fine-tuning run, ``finetune --pretrained`` / ``embed``
for a pre-training run. Written through the atomic writer; plain text, no torch.
"""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from skelgraph import __version__
from skelgraph.data.files import atomic_write_text

CARD = "README.md"
#: Metrics the card lists, in this order, when the last epoch has them.
SHOWN = ("loss", "train_acc", "val_top1", "val_top5", "test_top1", "test_top5", "recon_loss", "edge_loss",
         "contrast_loss", "lr", "samples_per_s", "peak_memory_mb")


def invocation() -> str:
    r"""How this process was started, as a shell line: ``skelgraph ...`` for the command line,
    else the Python program (a library call says so)."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    if program.name == "skelgraph" or (program.name == "__main__.py" and program.parent.name == "skelgraph"):
        return shlex.join(["skelgraph", *sys.argv[1:]])
    return f"{shlex.join(sys.argv) if sys.argv else 'python'} (a Python program calling skelgraph)"


def training_seconds(metrics_path: Path) -> float:
    r"""Sum of the epochs' ``seconds`` in ``metrics.jsonl`` (all sessions of a resumed run)."""
    total = 0.0
    if metrics_path.exists():
        for line in metrics_path.read_text(errors="replace").splitlines():
            try:
                total += float(json.loads(line).get("seconds", 0.0))
            except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
                continue
    return total


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-2 and value else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def model_card(*, kind: str, out_dir: Path, data_path: Path, provenance: dict[str, Any], config: Any,
               metrics: dict[str, Any], wall_seconds: float, command: str, split: str,
               selection: dict[str, Any] | None = None, pretrained: str | None = None) -> str:
    r"""The card's Markdown text (see the module docstring)."""
    import dataclasses

    cfg = dataclasses.asdict(config)
    run = shlex.quote(str(out_dir))
    data = shlex.quote(str(data_path))
    title = {"skeletonmae": "SkeletonMAE pre-training", "strl": "STRL classifier", "linear": "linear probe"}
    lines = [f"# {out_dir.name}: {title.get(kind, kind)}", "",
             f"Written by skelgraph {__version__} when the run ended (epoch {metrics.get('epoch', '?')} of "
             f"{cfg.get('epochs', '?')}).", "",
             "## Data", "", f"- file: `{data_path}` ({split})"]
    if pretrained:
        lines.append(f"- initialised from the pre-training run `{pretrained}`")
    source = {k: provenance[k] for k in ("kind", "source", "command", "created") if k in provenance}
    for key, value in source.items():
        lines.append(f"- {key}: `{value}`")
    if not source and provenance:
        lines.append(f"- provenance: `{json.dumps(provenance)[:300]}`")
    lines += ["- preprocessing replayed by `predict`: `preprocessing.json`", "",
              "## Run", "", f"- command: `{command}`", f"- seed: {cfg.get('seed')}",
              f"- wall time: {wall_seconds:.1f} s this session; {training_seconds(out_dir / 'metrics.jsonl'):.1f} s "
              f"of training epochs in all (`metrics.jsonl`)",
              "- config: `config.toml` (resolved; pass it back with `--config` to repeat the run); the main settings:",
              ""]
    keys = ("protocol", "init", "label_fraction", "val_split", "conv", "hidden_channels", "enc_layers", "features",
            "targets", "loss", "mask", "num_parts", "num_frames", "epochs", "batch_size", "lr")
    lines += [f"  - `{k} = {cfg[k]!r}`" for k in keys if cfg.get(k) is not None]
    lines += ["", "## Final metrics (last epoch)", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(metrics[k])} |" for k in SHOWN if k in metrics]
    if selection and selection.get("epoch") is not None:
        lines += ["", f"Best validation epoch: {selection['epoch']} ({selection['metric']} "
                      f"{_fmt(selection['value'])}), kept as `best.pt`."]
    lines += ["", "## Using it", "", "```bash"]
    if kind == "skeletonmae":
        lines += [f"skelgraph finetune {data} --pretrained {run} --out runs/finetuned   # a classifier from it",
                  f"skelgraph embed {run} {data} features.npz                        # its frozen features"]
    else:
        lines += [f"skelgraph predict {run} new_recordings/        # top-k classes of raw recordings",
                  f"skelgraph evaluate {run} {data}",
                  f"skelgraph embed {run} {data} features.npz"]
        if selection:
            lines.append(f"skelgraph predict {shlex.quote(str(out_dir / 'best.pt'))} new_recordings/   "
                         f"# the best validation epoch")
    lines.append(f"skelgraph plot {run} --out curves.png")
    lines += ["```", ""]
    if kind != "skeletonmae":
        lines += [f"From Python: `skelgraph.predict({str(out_dir)!r}, keypoint)` with `keypoint` `[M, T, V, C]`.", ""]
    return "\n".join(lines)


def write_model_card(out_dir: Path, **kwargs: Any) -> Path:
    r"""Writes :func:`model_card` to ``out_dir / README.md`` (atomically)."""
    return atomic_write_text(out_dir / CARD, model_card(out_dir=out_dir, **kwargs))
