r"""The ``skelgraph`` command line.

Results go to stdout (a path, a table, a metric); progress bars and logs go to stderr.
Exit codes: 0 success, 1 an expected failure (one line, no traceback), 2 bad flags.
"""
from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np
from tqdm.auto import tqdm

from skelgraph import __version__
from skelgraph import hugepages
from skelgraph.hugepages import enable_huge_pages
from skelgraph.threads import apply_default_threads, current_choice

KINDS = ("ntu", "pyskl", "kinetics", "nwucla", "bvh", "numpy")
SINGLE_PERSON_KINDS = ("nwucla", "bvh")  # --max-persons defaults to 1 for these, 2 otherwise


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turns the library's expected errors (bad files, layouts, splits) into one-line messages."""
    from skelgraph.data.sample import SkeletonError
    from skelgraph.data.splits import SplitFileError
    from skelgraph.graph.layouts import LayoutError
    from skelgraph.nn.strl import PretrainedMismatchError
    from skelgraph.train.common import RunDirError
    from skelgraph.train.config import ConfigError
    from skelgraph.train.evaluate import EvaluationError

    try:
        yield
    except (SkeletonError, LayoutError, SplitFileError, FileNotFoundError, ConfigError, RunDirError,
            PretrainedMismatchError, EvaluationError) as err:
        raise click.ClickException(str(err)) from None
    except KeyError as err:  # our KeyErrors carry a full sentence (unknown split, part...)
        raise click.ClickException(str(err.args[0]) if err.args else repr(err)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="skelgraph")
def main() -> None:
    """Masked graph pre-training (SkeletonMAE) for skeleton action recognition, on PyTorch Geometric."""
    apply_default_threads()  # torch threads = the free cores, unless OMP_NUM_THREADS is set (skelgraph/threads.py)
    enable_huge_pages()  # 2 MiB pages for large tensors: far fewer page faults (skelgraph/hugepages.py)


# ----------------------------------------------------------------------------- preprocess

def _load_one(item: Any, load, item_name, layout, options: dict[str, Any]) -> tuple[str, Any]:
    """Worker: read and preprocess one item; returns ``(name, sequence)`` or ``(name, error)``.
    Takes the source's pieces, not the source, so a pool does not pickle every item list per task."""
    from skelgraph.data.preprocess import preprocess_sequence
    from skelgraph.data.sample import SkeletonError

    name = item_name(item)
    try:
        return name, preprocess_sequence(load(item), layout, **options)
    except (SkeletonError, OSError, ValueError, KeyError, EOFError, IndexError) as err:
        message = str(err) or type(err).__name__
        return name, f"{type(err).__name__}: {message}" if not isinstance(err, SkeletonError) else message


def _stem(item_name: str) -> str:
    """Sample name of a file or archive member (``dir/S001...A001.skeleton`` -> ``S001...A001``)."""
    return Path(item_name.split(":")[-1]).stem


@main.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--layout", "layout_name", default=None,
              help="Layout name (ntu25, coco17, openpose18, kinect_v1_20) or a .toml file; "
                   "default: the source's own.")
@click.option("--split-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Your own splits: JSON {split: [names]} or CSV lines 'name,split'. "
                   "Replaces the dataset's standard splits.")
@click.option("--max-persons", default=None, type=click.IntRange(1),
              help="Persons kept per sample, the most active ones (default: 1 for nwucla and bvh, else 2).")
@click.option("--max-frames", default=None, type=click.IntRange(1),
              help="Drop frames after this many (default: keep all).")
@click.option("--exclude-list", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File of sample names (file stems) to skip, e.g. NTU's "
                   "NTU_RGBD_samples_with_missing_skeletons.txt.")
@click.option("--center/--no-center", default=True, show_default=True,
              help="Subtract the layout's centre joint.")
@click.option("--align/--no-align", default=True, show_default=True,
              help="3D only: rotate so the spine is vertical and the shoulders parallel to x.")
@click.option("--drop-empty/--keep-empty", default=True, show_default=True,
              help="Drop frames in which nobody is present.")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(0),
              help="Parallel reader processes (0 = read in this process).")
@click.option("--strict", is_flag=True, help="Fail if any file cannot be read (default: skip and report it).")
def preprocess(kind: str, src: Path, out: Path, layout_name: str | None, split_file: Path | None,
               max_persons: int | None, max_frames: int | None, exclude_list: Path | None, center: bool,
               align: bool, drop_empty: bool, workers: int, strict: bool) -> None:
    """Read a KIND dataset at SRC (a folder, or a file/archive) into one HDF5 file OUT.

    \b
    KIND    SRC
    ntu     folder of NTU RGB+D *.skeleton files (CRLF or LF)
    pyskl   a PYSKL-style .pkl (2D pose datasets: NTU-2D HRNet, FineGym, ...)
    kinetics  folder of Kinetics-skeleton / OpenPose *.json (+ *_label.json, label_name.txt)
    nwucla  NW-UCLA all_sqe folder of *.json, or all_sqe.tar.gz as it is
    bvh     folder of *.bvh motion-capture files (or one file)
    numpy   folder of *.npy ([M,T,V,C] or [T,V,C]) / *.npz (keypoint, score, label)

    Files that cannot be read are skipped and listed, with the reason, in OUT.report.txt
    (use --strict to stop at the first one). The standard splits (NTU x-sub/x-view/x-set,
    NW-UCLA cross-view, PYSKL's own) are stored in the file.
    """
    from skelgraph.data.h5 import write_h5
    from skelgraph.data.sample import SkeletonError
    from skelgraph.data.sources import open_source
    from skelgraph.data.splits import STANDARD_SPLITS, read_split_file

    if max_persons is None:
        max_persons = 1 if kind in SINGLE_PERSON_KINDS else 2
    with user_errors():
        source = open_source(kind, src, layout=layout_name)
        if not source.items:
            raise click.ClickException(f"{src}: no {kind} samples found")
        splits: Any = source.splits or STANDARD_SPLITS.get(kind)
        if split_file is not None:
            splits = read_split_file(split_file)
        excluded: set[str] = set()
        if exclude_list is not None:
            excluded = {line.strip() for line in exclude_list.read_text().splitlines() if line.strip()}
        items = [it for it in source.items if _stem(source.item_name(it)) not in excluded]
        options = dict(max_persons=max_persons, drop_empty=drop_empty, center=center, align=align)
        failures: list[tuple[str, str]] = []

        def good_samples() -> Iterator[Any]:
            load = functools.partial(_load_one, load=source.load, item_name=source.item_name,
                                     layout=source.layout, options=options)
            with contextlib.ExitStack() as stack:
                if workers > 0:
                    pool = stack.enter_context(mp.get_context("spawn").Pool(workers))
                    results = pool.imap(load, items, chunksize=8)
                else:
                    results = map(load, items)
                for name, result in tqdm(results, total=len(items), desc=f"preprocess {kind}", unit="file",
                                         disable=None, file=sys.stderr):
                    if isinstance(result, str):
                        if strict:
                            raise SkeletonError(f"{name}: {result}" if not result.startswith(name) else result)
                        failures.append((name, result))
                        continue
                    if max_frames is not None:
                        result.keypoint = result.keypoint[:, :max_frames]
                        if result.score is not None:
                            result.score = result.score[:, :max_frames]
                    yield result

        start = time.perf_counter()
        provenance = dict(source=str(src.resolve()), kind=kind, command=" ".join(sys.argv),
                          max_persons=max_persons, center=center, align=align, drop_empty=drop_empty,
                          max_frames=max_frames, excluded=len(source.items) - len(items))
        n = write_h5(out, good_samples(), layout=source.layout, num_persons=max_persons,
                     class_names=source.class_names, splits=splits, provenance=provenance)
        seconds = time.perf_counter() - start
    report = out.with_name(out.name + ".report.txt")
    lines = [f"# skelgraph preprocess {kind} {src}: {n} written, {len(failures)} failed, "
             f"{len(source.items) - len(items)} excluded, {seconds:.1f} s"]
    lines += [f"{name}\t{reason.removeprefix(name + ': ')}" for name, reason in failures]
    report.write_text("\n".join(lines) + "\n")
    if failures:
        click.echo(f"{len(failures)} file(s) could not be read; see {report}", err=True)
    click.echo(f"wrote {n} samples to {out} ({seconds:.1f} s)")


# ----------------------------------------------------------------------------- info

def describe(path: Path) -> str:
    """The text ``skelgraph info`` prints."""
    from skelgraph.data.h5 import H5Skeletons

    store = H5Skeletons(path)
    lengths = store.num_frames
    kp = store.file["keypoint"]
    labels = store.labels
    labelled = labels[labels >= 0]
    lines = [
        f"file        {path}",
        f"samples     {len(store)}",
        f"layout      {store.layout.name} ({store.layout.num_joints} joints, {len(store.layout.bones)} bones, "
        f"parts: {', '.join(store.layout.part_names)})",
        f"shape       persons M={store.num_persons}, channels C={kp.shape[3]}, "
        f"scores {'yes' if store.has_score else 'no'}",
        f"frames      total {int(lengths.sum())}; per sample min {lengths.min()}, median "
        f"{int(np.median(lengths))}, mean {lengths.mean():.1f}, max {lengths.max()}",
    ]
    if len(labelled):
        counts = np.bincount(labelled)
        names = store.class_names or [str(i) for i in range(len(counts))]
        lines.append(f"classes     {len(names)} ({len(labelled)} labelled samples; per class min "
                     f"{counts.min()}, max {counts.max()})")
        shown = ", ".join(f"{i}:{names[i] if i < len(names) else i}" for i in range(min(len(names), 12)))
        lines.append(f"            {shown}{', ...' if len(names) > 12 else ''}")
    else:
        lines.append("classes     none (unlabelled)")
    for split, idx in sorted(store.splits.items()):
        lines.append(f"split       {split}: {len(idx)}")
    prov = store.provenance
    if prov:
        lines.append(f"made by     skelgraph {prov.get('skelgraph', '?')} on {prov.get('created', '?')}"
                     f" from {prov.get('kind', prov.get('source', '?'))}")
    return "\n".join(lines)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def info(file: Path) -> None:
    """Print counts, classes, frame statistics, splits and layout of a dataset FILE (.h5)."""
    with user_errors():
        click.echo(describe(file))


# ----------------------------------------------------------------------------- synth

@main.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--layout", "layout_name", default="ntu25", show_default=True,
              help="Layout name or .toml file.")
@click.option("--samples", default=600, show_default=True, type=click.IntRange(1), help="Number of sequences.")
@click.option("--classes", default=10, show_default=True, type=click.IntRange(1, 10), help="Number of actions.")
@click.option("--channels", default=3, show_default=True, type=click.Choice(["2", "3"]),
              help="3D positions or their 2D projection.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same file).")
def synth(out: Path, layout_name: str, samples: int, classes: int, channels: str, seed: int) -> None:
    """Write a synthetic labelled skeleton dataset (distinct motions + noise + random viewpoint) to OUT."""
    with user_errors():
        n = write_synthetic(out, layout_name, samples, classes, int(channels), seed)
    click.echo(f"wrote {n} samples to {out}")


def write_synthetic(out: Path, layout_name: str = "ntu25", samples: int = 600, classes: int = 10,
                    channels: int = 3, seed: int = 0) -> int:
    from skelgraph.data.h5 import write_h5
    from skelgraph.data.synth import make_synthetic, synthetic_splits
    from skelgraph.graph.layouts import get_layout

    layout = get_layout(layout_name)
    seqs, class_names = make_synthetic(layout, samples, classes, num_channels=channels, seed=seed)
    return write_h5(out, seqs, layout=layout, num_persons=1, class_names=class_names,
                    splits=synthetic_splits(seqs, seed=seed),
                    provenance=dict(kind="synthetic", seed=seed, samples=samples, classes=classes))


# ----------------------------------------------------------------------------- show

@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("index", type=click.IntRange(0), default=0)
@click.option("--mask", "mask_kind", type=click.Choice(["body-part", "random-joint", "none"]), default="body-part",
              show_default=True, help="Masking to draw (hidden joints red, masked bones dashed).")
@click.option("--num-parts", default=2, show_default=True, type=click.IntRange(1), help="Parts hidden (body-part).")
@click.option("--mask-ratio", default=0.4, show_default=True, type=float, help="Joints hidden (random-joint).")
@click.option("--checkpoint", type=click.Path(exists=True, path_type=Path), default=None,
              help="Pre-training run dir (or checkpoint.pt): also draw its reconstruction of the hidden joints.")
@click.option("--frames", default=4, show_default=True, type=click.IntRange(1),
              help="Frames drawn side by side (a .gif animates all sampled frames).")
@click.option("--num-frames", default=64, show_default=True, type=click.IntRange(1),
              help="Frames the sample is uniformly sampled to first (the model's T).")
@click.option("--seed", default=0, show_default=True, help="Seed of the mask.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("skeleton.png"),
              show_default=True, help="Output .png/.pdf/.svg (frames side by side) or .gif (animation).")
def show(file: Path, index: int, mask_kind: str, num_parts: int, mask_ratio: float, checkpoint: Path | None,
         frames: int, num_frames: int, seed: int, out: Path) -> None:
    """Draw sample INDEX of FILE with its mask and, with --checkpoint, the model's reconstruction.

    SkeletonMAE's cosine loss fixes the direction of each rebuilt joint vector, not its length:
    reconstructions are drawn at the true joint's distance from the centre along the predicted
    direction.
    """
    import torch

    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.data.sample import data_to_keypoint
    from skelgraph.transforms.masking import BodyPartMask, MaskEdges, RandomJointMask

    with user_errors():
        dataset = SkeletonDataset(file, num_frames=num_frames)
        if index >= len(dataset):
            raise click.ClickException(f"{file}: index {index} out of range (0..{len(dataset) - 1})")
        data = dataset[index]
        generator = torch.Generator().manual_seed(seed)
        if mask_kind == "body-part":
            data = MaskEdges("incident")(BodyPartMask(num_parts, generator=generator)(data))
        elif mask_kind == "random-joint":
            data = MaskEdges("incident")(RandomJointMask(mask_ratio, generator=generator)(data))
        reconstruction = None
        if checkpoint is not None:
            if mask_kind == "none":
                raise click.ClickException("--checkpoint needs a mask: there is nothing to reconstruct")
            from skelgraph.train.pretrain import load_pretrained

            model, state = load_pretrained(checkpoint)
            if state["layout"] != dataset.layout.to_json():
                raise click.ClickException(f"{checkpoint}: trained on another layout than {file}")
            model.eval()
            with torch.no_grad():
                x_hat = model(data)["x_hat"]
            # cosine loss: keep the predicted direction, take the true length (see --help)
            x_hat = x_hat / x_hat.norm(dim=-1, keepdim=True).clamp_min(1e-8) * data.x.norm(dim=-1, keepdim=True)
            reconstruction = data_to_keypoint(data.clone().update({"x": x_hat}), dataset.store.num_persons)
        try:
            from skelgraph.viz import draw_skeleton

            path = draw_skeleton(
                data_to_keypoint(data, dataset.store.num_persons), dataset.layout,
                frames=None if out.suffix == ".gif" else frames, keep_mask=data.get("keep_mask"),
                masked_edges=data.get("masked_edge_index"), reconstruction=reconstruction, out=out,
                title=f"{data.name}  ({mask_kind} mask{', reconstruction' if reconstruction is not None else ''})")
        except ImportError as err:
            raise click.ClickException(str(err)) from None
    click.echo(str(path))


# ----------------------------------------------------------------------------- pretrain

def _with_assignments(assignments: tuple[str, ...], flags: dict[str, Any]) -> dict[str, Any]:
    """``--set KEY=VALUE`` values, then the dedicated flags that were given (they win)."""
    from skelgraph.train.config import parse_assignments

    return parse_assignments(assignments) | {k: v for k, v in flags.items() if v is not None}


@main.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="TOML config (experiments/*.toml); flags below override it.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory: config.toml, metrics.jsonl, checkpoint.pt.")
@click.option("--split", default=None, help="Split of DATA to train on (default: the config's, else all).")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Epochs (paper: 50).")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Global batch size (paper: 1024); the lr scales linearly with it.")
@click.option("--lr", type=float, default=None, help="Learning rate at the config's base_batch_size (paper: 1.5e-4).")
@click.option("--mask", type=click.Choice(["body-part", "random-joint"]), default=None, help="Masking strategy.")
@click.option("--conv", type=click.Choice(["gin", "gcn", "gat", "stgcn"]), default=None, help="Graph convolution.")
@click.option("--edge-weight", type=float, default=None, help="Weight of edge reconstruction (0 = off).")
@click.option("--device", default=None, help="auto (CUDA when present), cpu or cuda.")
@click.option("--amp/--no-amp", default=None, help="Mixed precision (bf16 on CPU, fp16 on CUDA).")
@click.option("--workers", type=click.IntRange(0), default=None, help="DataLoader worker processes.")
@click.option("--seed", type=int, default=None, help="Random seed.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Set any config field (repeatable), e.g. --set lr_steps=[45,55]; flags above win.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
def pretrain(data: Path, config_path: Path | None, out: Path, resume: bool, assignments: tuple[str, ...],
             **flags: Any) -> None:
    """Pre-train SkeletonMAE on DATA (an HDF5 file from `preprocess` or `synth`).

    Launch on several processes with `torchrun --nproc_per_node N -m skelgraph pretrain ...`
    (DDP; NCCL on GPUs, Gloo on CPU). Prints the run directory when done.
    """
    from skelgraph.train.config import PretrainConfig, load_config
    from skelgraph.train.pretrain import pretrain as run_pretrain

    with user_errors():
        config = load_config(PretrainConfig, config_path, **_with_assignments(assignments, flags))
        metrics = run_pretrain(config, data, out, resume=resume)
    click.echo(f"final loss {metrics.get('loss', float('nan')):.4f}", err=True)
    click.echo(str(out))


# ----------------------------------------------------------------------------- finetune / evaluate

@main.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="TOML config (experiments/*_finetune.toml); flags below override it.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory: config.toml, metrics.jsonl, checkpoint.pt, load_report.json.")
@click.option("--pretrained", type=click.Path(exists=True, path_type=Path), default=None,
              help="Pre-training run dir (or its checkpoint.pt) whose encoder initialises the model.")
@click.option("--init", type=click.Choice(["pretrained", "none"]), default=None,
              help="none: random weights (the from-scratch baseline). Implied 'pretrained' by --pretrained.")
@click.option("--protocol", type=click.Choice(["finetune", "linear"]), default=None,
              help="finetune: train encoder + STRL; linear: a linear classifier on the frozen encoder.")
@click.option("--label-fraction", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Train on this class-balanced, seeded fraction of the labels (semi-supervised: 0.01, 0.1).")
@click.option("--temporal", type=click.Choice(["head", "per-layer"]), default=None,
              help="Multi-scale temporal conv once after the STRL layers, or after each (default: the config's).")
@click.option("--train-split", default=None, help="Split of DATA to train on (default: the config's).")
@click.option("--test-split", default=None, help="Split to report test accuracy on (default: the config's).")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Epochs (paper: 110).")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Global batch size (paper: 128); the lr scales linearly with it.")
@click.option("--lr", type=float, default=None, help="Learning rate at the config's base_batch_size (paper: 0.1).")
@click.option("--device", default=None, help="auto (CUDA when present), cpu or cuda.")
@click.option("--amp/--no-amp", default=None, help="Mixed precision (bf16 on CPU, fp16 on CUDA).")
@click.option("--workers", type=click.IntRange(0), default=None, help="DataLoader worker processes.")
@click.option("--seed", type=int, default=None, help="Random seed (also picks the label-fraction subset).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Set any config field (repeatable), e.g. --set lr_steps=[45,55]; flags above win.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
def finetune(data: Path, config_path: Path | None, out: Path, pretrained: Path | None, resume: bool,
             assignments: tuple[str, ...], **flags: Any) -> None:
    """Train an action classifier on DATA: STRL fine-tuning of a pre-trained encoder, a linear
    probe, or training from scratch (--init none).

    Launch on several processes with `torchrun --nproc_per_node N -m skelgraph finetune ...`
    (DDP). Prints the run directory when done; evaluate it with `skelgraph evaluate`.
    """
    from skelgraph.train.config import FinetuneConfig, load_config
    from skelgraph.train.finetune import finetune as run_finetune

    if pretrained is not None and flags["init"] is None:
        flags["init"] = "pretrained"
    with user_errors():
        config = load_config(FinetuneConfig, config_path, **_with_assignments(assignments, flags))
        metrics = run_finetune(config, data, out, pretrained=pretrained, resume=resume)
    test = f", test top-1 {metrics['test_top1']:.2f}%" if "test_top1" in metrics else ""
    click.echo(f"final loss {metrics.get('loss', float('nan')):.4f}, train acc "
               f"{metrics.get('train_acc', float('nan')):.1f}%{test}", err=True)
    click.echo(str(out))


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--split", default=None, help="Split to evaluate (default: the run's test split).")
@click.option("--knn", type=click.IntRange(1), default=None,
              help="k-NN with this K on pooled features (cosine) instead of the classifier.")
@click.option("--train-split", default=None, help="Split the k-NN neighbours come from (default: the run's).")
@click.option("--majority", is_flag=True,
              help="k-NN by plain majority vote (default: votes weighted by exp(similarity / 0.07)).")
@click.option("--pretrained", type=click.Path(exists=True, path_type=Path), default=None,
              help="k-NN of this pre-training run's encoder (RUN_DIR is then only where files go).")
@click.option("--init", type=click.Choice(["none"]), default=None,
              help="none: k-NN of a random encoder (the baseline; RUN_DIR is only where files go).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where metrics.json and confusion.png go (default: RUN_DIR).")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True, help="Samples per batch.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda.")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True, help="DataLoader worker processes.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random encoder (--init none).")
def evaluate(run_dir: Path, data: Path, split: str | None, knn: int | None, train_split: str | None, majority: bool,
             pretrained: Path | None, init: str | None, out: Path | None, batch_size: int, device: str, workers: int,
             seed: int) -> None:
    """Evaluate RUN_DIR (a `finetune` run) on DATA: top-1, top-5, per-class accuracy, confusion
    matrix. Writes metrics.json and confusion.png; prints a short table."""
    from skelgraph.train.evaluate import evaluate as run_evaluate

    with user_errors():
        metrics = run_evaluate(run_dir, data, split, out=out, knn=knn, pretrained=pretrained, init=init,
                               train_split=train_split, weighted=not majority, batch_size=batch_size,
                               device=device, workers=workers, seed=seed)
    how = f"k-NN (k={knn}, {'majority' if majority else 'weighted'})" if knn else "classifier"
    rows = [("model", f"{metrics['model']}, {how}"), ("split", metrics["split"]),
            ("samples", str(metrics["num_samples"])), ("top-1", f"{metrics['top1']:.2f}"),
            ("top-5", f"{metrics['top5']:.2f}"), ("mean class", f"{metrics['mean_class_accuracy']:.2f}")]
    click.echo("\n".join(f"{name:<11} {value}" for name, value in rows))
    click.echo(f"wrote {metrics['metrics_path']}" + (f" and {metrics['confusion_path']}"
                                                      if metrics["confusion_path"] else ""), err=True)


# ----------------------------------------------------------------------------- bench

@main.command()
@click.option("--joints", default="25", show_default=True, type=click.Choice(["25", "17", "18", "20"]),
              help="V: 25 ntu25, 17 coco17, 18 openpose18, 20 kinect_v1_20.")
@click.option("--persons", default=2, show_default=True, type=click.IntRange(1), help="M, persons per sample.")
@click.option("--frames", default=None, type=click.IntRange(1), help="T.  [default: 64; 32 with --quick]")
@click.option("--width", default=64, show_default=True, type=click.IntRange(1), help="D, hidden channels.")
@click.option("--batch", default=None, type=click.IntRange(1), help="Samples per batch.  [default: 64; 8 with --quick]")
@click.option("--warmup", default=None, type=click.IntRange(0),
              help="Untimed rounds first.  [default: 2; 1 with --quick]")
@click.option("--repeats", default=None, type=click.IntRange(1),
              help="Timed rounds per row (each path once per round, new batch).  [default: 15; 3 with --quick]")
@click.option("--conv", "convs", multiple=True, help="Conv to measure (repeatable).  [default: every conv]")
@click.option("--path", "paths", multiple=True,
              type=click.Choice(["fused", "plain", "dense", "pyg-dense", "fused-noscatter", "plain-noscatter"]),
              help="Path to time (repeatable; dense, the reference, always).  [default: all]")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", default=None, type=click.IntRange(1),
              help="torch threads, recorded.  [default: the CLI's choice (skelgraph env); 1 with --quick]")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="HDF5 file for the read rate.  [default: a random file of the bench's shape, in a temp dir]")
@click.option("--read-samples", default=None, type=click.IntRange(1),
              help="Samples read per worker setting.  [default: 512; 64 with --quick]")
@click.option("--no-read", is_flag=True, help="Skip the HDF5 read measurement.")
@click.option("--no-memory", is_flag=True, help="Skip the peak-memory pass (one profiled step per row).")
@click.option("--quick", is_flag=True,
              help="Batch 8, T 32, 3 repeats, 1 thread: under a minute on 2 busy CPU cores.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every number as JSON here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw a bar chart (.png) of samples/s here (needs matplotlib).")
def bench(joints: str, persons: int, frames: int | None, width: int, batch: int | None, warmup: int | None,
          repeats: int | None, convs: tuple[str, ...], paths: tuple[str, ...], device: str, threads: int | None,
          data: Path | None,
          read_samples: int | None, no_read: bool, no_memory: bool, quick: bool, json_path: Path | None,
          plot_path: Path | None) -> None:
    """Time every conv in SkeletonMAE pre-training and the STRL classifier: the PyG path against dense code.

    Prints per model, mode (fwd, fwd+bwd), conv and path (fused, plain, dense einsum, PyG dense
    layers) the time per batch, samples/s, peak memory and parameters; the ratio sparse/dense
    (> 1: the PyG path is faster); whether all paths agree; the HDF5 read rate and a projected
    NTU-60 x-sub epoch. See experiments/bench/README.md for every column.
    """
    import json

    import torch

    from skelgraph.bench import BenchConfig, format_table, plot, run_bench
    from skelgraph.nn.conv import CONVS

    unknown = [c for c in convs if c not in CONVS]
    if unknown:
        raise click.ClickException(f"unknown conv {unknown[0]!r}; choose from {', '.join(CONVS)}")
    config = BenchConfig(threads=threads or (1 if quick else torch.get_num_threads()),
                         joints=int(joints), persons=persons, frames=frames or (32 if quick else 64), width=width,
                         batch=batch or (8 if quick else 64),
                         warmup=warmup if warmup is not None else (1 if quick else 2),
                         repeats=repeats or (3 if quick else 15), device=device, convs=convs or tuple(CONVS),
                         paths=paths,
                         memory=not no_memory, read_samples=read_samples or (64 if quick else 512))
    echo = functools.partial(click.echo, err=True)
    try:
        result = run_bench(config, data, read=not no_read, echo=echo)
    except ValueError as err:  # e.g. --device cuda without CUDA
        raise click.ClickException(str(err)) from None
    click.echo(format_table(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result.to_dict(), indent=1))
        echo(f"wrote {json_path}")
    if plot_path is not None:
        try:
            echo(f"wrote {plot(result, plot_path)}")
        except ImportError as err:
            raise click.ClickException(str(err)) from None


# ----------------------------------------------------------------------------- demo

@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"),
              show_default=True, help="Directory for the demo's data and run directories (replaced).")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
def demo(out: Path, seed: int) -> None:
    """Run the whole pipeline on an embedded synthetic set: no download, a few minutes on 2 CPU cores.

    Writes synthetic labelled actions, pre-trains SkeletonMAE, fine-tunes the STRL classifier
    from it and from scratch with the same budget, compares k-NN on pre-trained and random
    encoders, and prints a table of test accuracies.
    """
    import shutil

    from skelgraph.train.demo import run_demo, summary_table

    if out.exists():  # each demo starts fresh; only a directory a demo wrote is removed
        if not (out / "synthetic.h5").exists():
            raise click.ClickException(f"{out} exists and is not a demo directory; choose another --out")
        shutil.rmtree(out)
    with user_errors():
        results = run_demo(out, seed=seed, echo=lambda line: click.echo(line, err=True))
    click.echo(summary_table(results, out))


# ----------------------------------------------------------------------------- env

@main.command()
def env() -> None:
    """Print versions and devices, for bug reports."""
    from importlib import metadata

    import h5py
    import torch
    import torch_geometric

    try:
        import torch_scatter
        scatter = torch_scatter.__version__
    except ImportError:
        scatter = "not installed (optional accelerator: pip install 'skelgraph[scatter]')"
    try:
        import matplotlib
        mpl = matplotlib.__version__
    except ImportError:
        mpl = "not installed (plots need: pip install 'skelgraph[plot]')"
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    for key, value in (("skelgraph", __version__), ("python", platform.python_version()),
                       ("platform", platform.platform()), ("torch", torch.__version__),
                       ("torch_geometric", torch_geometric.__version__), ("torch_scatter", scatter),
                       ("numpy", np.__version__), ("h5py", h5py.__version__), ("click", metadata.version("click")),
                       ("matplotlib", mpl), ("cuda device", cuda),
                       ("cpu threads", f"{torch.get_num_threads()}; chosen {current_choice().describe()}"),
                       ("huge pages", hugepages.applied or enable_huge_pages())):
        click.echo(f"{key:16s}{value}")


if __name__ == "__main__":
    main()
