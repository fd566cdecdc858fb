r"""The ``skelgraph`` command line: it parses arguments, calls one library function and prints.

Results go to stdout (a path, a table, a metric); progress and logs go to stderr (a bar on a
terminal, a plain line every few seconds in a log file).

Exit codes (also in ``skelgraph --help`` and the README):

- 0: success;
- 1: an expected failure (a missing or bad input file, a bad layout, label file, config value,
  checkpoint or device...): one line ``Error: <file>: <problem>``, no traceback, and nothing
  already written is lost;
- 2: the command line itself is wrong (an unknown option, a bad option value): click's usage
  message.

Any other exception is a bug and prints its traceback.

Commands that run no model import neither torch nor PyG: expected errors are recognised by
class *name and module* (:data:`USER_ERRORS`) among the modules already loaded, since a module
that was never imported cannot have raised its error.
"""
from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from skelgraph import __version__
from skelgraph.data.sequence import printable
from skelgraph import allocator
from skelgraph.allocator import keep_freed_memory
from skelgraph.nn.conv import CONV_NAMES  # torch-free (the package loads its modules on first use)
from skelgraph.threads import apply_default_threads, current_choice
from skelgraph.train.config import MAX_SEED, PretrainConfig

#: (module, class) of every expected failure; subclasses count too (SourceError, LabelError, ...).
USER_ERRORS = (
    ("skelgraph.data.sequence", "SkeletonError"), ("skelgraph.graph.layouts", "LayoutError"),
    ("skelgraph.data.splits", "SplitFileError"), ("skelgraph.train.config", "ConfigError"),
    ("skelgraph.train.common", "RunDirError"), ("skelgraph.train.common", "CheckpointError"),
    ("skelgraph.train.common", "DeviceError"), ("skelgraph.nn.strl", "PretrainedMismatchError"),
    ("skelgraph.train.evaluate", "EvaluationError"), ("skelgraph.data.files", "WriteError"),
    ("skelgraph.train.compat", "DataMismatchError"), ("skelgraph.train.demo", "DemoDirError"),
    ("skelgraph.curves", "CurvesError"),
)
#: Every --seed: the range the config's rule allows (skelgraph.train.config.VALUE_RULES["seed"]).
SEED = click.IntRange(0, MAX_SEED)


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange that also refuses ``nan`` (it passes every bound: each comparison with
    it is false) and infinities: a usage error, exit 2, like any value out of range."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


EXIT_CODES = "Exit codes: 0 success; 1 an expected failure (one line naming the file and the problem); " \
             "2 a wrong command line (unknown option, bad value)."


def _expected_errors() -> tuple[type[BaseException], ...]:
    loaded = [getattr(sys.modules[module], name, None) for module, name in USER_ERRORS if module in sys.modules]
    return tuple(cls for cls in loaded if isinstance(cls, type))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turns the library's expected errors (bad files, layouts, configs, checkpoints, devices),
    missing files and OS errors into exit 1 with one line."""
    try:
        yield
    except click.ClickException:
        raise
    except Exception as err:  # noqa: BLE001 -- re-raised below unless it is one of ours
        if isinstance(err, _expected_errors()):
            raise click.ClickException(printable(str(err))) from None
        if isinstance(err, OSError):  # a disk, permission or missing-file problem of the machine
            where = f"{err.filename}: " if err.filename else ""
            raise click.ClickException(printable(f"{where}{err.strerror or err}")) from None
        if isinstance(err, KeyError) and err.args and isinstance(err.args[0], str) and " " in err.args[0]:
            raise click.ClickException(printable(err.args[0])) from None  # our KeyErrors carry a sentence
        raise


class InputPath(click.Path):
    """A path that must exist; a missing one is an expected failure (exit 1, one line), not a
    usage error (exit 2): the command line was right, the file is not there."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(exists=False, path_type=Path, **kwargs)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        if not os.path.exists(path):
            raise click.ClickException(f"{path}: no such file or directory")
        if not self.dir_okay and os.path.isdir(path):
            raise click.ClickException(f"{path}: is a directory, expected a file")
        if not self.file_okay and not os.path.isdir(path):
            raise click.ClickException(f"{path}: is a file, expected a directory")
        return path


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="skelgraph")
def main() -> None:
    """Masked graph pre-training (SkeletonMAE) for skeleton action recognition, on PyTorch Geometric."""
    from skelgraph.progress import log_interval

    try:  # an environment value is validated like any option, before any work
        log_interval()
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    threads = apply_default_threads()  # torch threads = the free cores, unless OMP_NUM_THREADS is set (threads.py)
    if threads.ignored is not None:
        click.echo(f"warning: OMP_NUM_THREADS={threads.ignored!r} is not a positive whole number; "
                   f"using {threads.threads} (the default for the free cores)", err=True)
    keep_freed_memory()  # glibc reuses freed memory: no page faults per large tensor (skelgraph/allocator.py)


# ----------------------------------------------------------------------------- preprocess

KINDS = ("ntu", "pyskl", "kinetics", "nwucla", "bvh", "numpy", "table", "mat")  # = data.sources.KINDS (tested)


def _progress(results, total: int, description: str):
    from skelgraph.progress import progress_bar

    return progress_bar(results, total=total, desc=description, unit="file")


@main.command(epilog=EXIT_CODES)
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("src", type=InputPath())
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--layout", "layout_name", default=None,
              help="Layout the data is stored in: ntu25, coco17, openpose18, kinect_v1_20 or a .toml file; "
                   "default: the source's own.")
@click.option("--to-layout", default=None,
              help="Map every sample's joints BY NAME onto this layout (e.g. kinect_v1_20), whatever order "
                   "the source stores them in; a joint without a match is an error naming it.")
@click.option("--joints", default=None,
              help="Names of the stored joints, for sources without names (mat, table without header, numpy): "
                   "utd_mhad, a layout name, a .toml layout, a file of names, or 'a,b,...'.")
@click.option("--joint-map", default=None,
              help="Explicit pairs 'source=target,...' (or a .toml/.csv file of them), applied before the "
                   "name rule (datasets/README.md).")
@click.option("--drop-unmatched", is_flag=True, help="Leave out source joints that match no joint of the layout.")
@click.option("--label-from-name", "label_pattern", default=None, metavar="REGEX",
              help="Classes from sample names: a regular expression with a (?P<class>...) group, searched in "
                   "each name (file stem); other named groups go to the sample's meta.")
@click.option("--label-file", type=InputPath(dir_okay=False), default=None,
              help="Classes from a file: 'name,class' lines (whole samples), 'name,class,first,last' lines "
                   "(segments by frame id), JSON {name: class}, or UTKinect's actionLabel.txt format.")
@click.option("--split-file", type=InputPath(dir_okay=False), default=None,
              help="Your own splits: JSON {split: [names]} or CSV lines 'name,split'. "
                   "Replaces the dataset's standard splits.")
@click.option("--max-persons", default=None, type=click.IntRange(1),
              help="Persons kept per sample, the most active ones (default: numpy keeps what its arrays "
                   "hold; 1 for nwucla, bvh, table and mat; else 2).")
@click.option("--max-frames", default=None, type=click.IntRange(1),
              help="Drop frames after this many (default: keep all).")
@click.option("--exclude-list", type=InputPath(dir_okay=False), default=None,
              help="File of sample names (file stems) to skip, e.g. NTU's "
                   "NTU_RGBD_samples_with_missing_skeletons.txt.")
@click.option("--center/--no-center", default=True, show_default=True,
              help="Subtract the layout's centre joint, frame by frame (per-frame centring: each frame's "
                   "origin is its own centre joint, so global translation is removed).")
@click.option("--center-per-frame/--center-first-frame", default=True, show_default=True,
              help="With --center: each frame's own centre joint as its origin, or one origin per sequence, "
                   "the first frame's centre joint (CTR-GCN's NW-UCLA recipe; keeps the global trajectory).")
@click.option("--align/--no-align", default=True, show_default=True,
              help="3D only: rotate so the spine is vertical and the shoulders parallel to x.")
@click.option("--scale/--no-scale", default=False, show_default=True,
              help="Scale each sequence into [-1, 1] by its largest coordinate (one factor per sequence, "
                   "after centring and alignment), as the field's NW-UCLA recipes do.")
@click.option("--drop-empty/--keep-empty", default=True, show_default=True,
              help="Drop frames in which nobody is present.")
@click.option("--delimiter", default=None,
              help="table: field separator (default: a comma if the first line has one, else whitespace).")
@click.option("--header/--no-header", default=None,
              help="table: the first row names the columns (default: yes when it holds a non-number).")
@click.option("--axes", default="xyz", show_default=True,
              help="table: axis letters of the coordinate columns, in channel order (xy for 2D).")
@click.option("--frame-column", default=None,
              help="table: the column of frame ids (a header name or a 0-based index); labelled segments "
                   "select frames by this id.")
@click.option("--skip-columns", default=0, show_default=True, type=click.IntRange(0),
              help="table without header: leading columns that are not coordinates.")
@click.option("--long", "long_table", is_flag=True,
              help="table: one row per joint (frame, joint, x, y, z[, score]; joint by name or index into "
                   "--joints); without a frame column, fixed blocks of joint rows per frame.")
@click.option("--joint-column", default=None,
              help="table --long: the column of joint names or indices (a header name or a 0-based index; "
                   "default: a column named joint, joint_id, keypoint...).")
@click.option("--mat-variable", default="d_skel", show_default=True,
              help="mat: the variable holding the skeleton array.")
@click.option("--mat-dims", default="VCT", show_default=True,
              help="mat: its dimension order (V joints, C coordinates, T frames, M persons).")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(0),
              help="Parallel reader processes (0 = read in this process; at most one per core and per file).")
@click.option("--strict", is_flag=True, help="Fail if any file cannot be read (default: skip and report it).")
@click.option("--decimals", default=None, type=click.IntRange(0, 9),
              help="LOSSY: keep N decimal digits of each coordinate (HDF5 scale-offset filter; every value "
                   "within 10^-N of the original). NW-UCLA in metres: 7.7 MB at 5 decimals, 11.3 MB exact, "
                   "14.0 MB of raw float32 coordinates.  [default: exact]")
def preprocess(kind: str, src: Path, out: Path, layout_name: str | None, to_layout: str | None,
               joints: str | None, joint_map: str | None, drop_unmatched: bool, label_pattern: str | None,
               label_file: Path | None, split_file: Path | None, max_persons: int | None, max_frames: int | None,
               exclude_list: Path | None, center: bool, center_per_frame: bool, align: bool, scale: bool,
               drop_empty: bool, delimiter: str | None,
               header: bool | None, axes: str, frame_column: str | None, skip_columns: int, long_table: bool,
               joint_column: str | None, mat_variable: str,
               mat_dims: str, workers: int, strict: bool, decimals: int | None) -> None:
    """Read a KIND dataset at SRC (a folder, or a file/archive) into one HDF5 file OUT.

    \b
    KIND      SRC
    ntu       folder of NTU RGB+D *.skeleton files (CRLF or LF)
    pyskl     a PYSKL-style .pkl (2D pose datasets: NTU-2D HRNet, FineGym, ...)
    kinetics  folder of Kinetics-skeleton / OpenPose *.json (+ *_label.json, label_name.txt)
    nwucla    NW-UCLA all_sqe folder of *.json, or all_sqe.tar.gz as it is
    bvh       folder of *.bvh motion-capture files (or one file)
    numpy     folder of *.npy ([M,T,V,C] or [T,V,C]) / *.npz (keypoint, score, label)
    table     folder of delimited text (*.csv, *.tsv, *.txt), one row per frame: named columns
              (HeadX, head_x, head.x, ...) or, with --joints, columns in order; with --long,
              one row per joint (frame, joint, x, y, z[, score])
    mat       folder of MATLAB *.mat, one array per file (needs scipy), e.g. UTD-MHAD:
              --joints utd_mhad --to-layout kinect_v1_20

    Files that cannot be read are skipped and listed, with the reason, in OUT.report.txt
    (use --strict to stop at the first one). The standard splits (NTU x-sub/x-view/x-set,
    NW-UCLA cross-view, PYSKL's own) are stored in the file. Preprocessing: persons selected,
    empty frames dropped, centred on the layout's centre joint frame by frame, rotated to
    the layout's spine and shoulders; a flag turns each step off.
    """
    from skelgraph.data.pipeline import PreprocessOptions, preprocess_to_h5
    from skelgraph.data.readers.matlab import MatFormat
    from skelgraph.data.readers.table import TableFormat
    from skelgraph.data.sources import ReadOptions

    with user_errors():
        excluded: frozenset[str] = frozenset()
        if exclude_list is not None:
            from skelgraph.data.files import read_text_file
            from skelgraph.data.sequence import SkeletonError

            text = read_text_file(exclude_list, "list of sample names", SkeletonError)
            excluded = frozenset(line.strip() for line in text.splitlines() if line.strip())
        try:
            table = TableFormat(delimiter=delimiter.replace("\\t", "\t") if delimiter else None, header=header,
                                axes=axes, skip_columns=skip_columns,
                                frame_column=int(frame_column) if frame_column and frame_column.isdigit()
                                else frame_column, long=long_table,
                                joint_column=int(joint_column) if joint_column and joint_column.isdigit()
                                else joint_column)
            mat = MatFormat(variable=mat_variable, dims=mat_dims.upper())
        except ValueError as err:
            raise click.BadParameter(str(err)) from None
        read = ReadOptions(joints=joints, to_layout=to_layout, joint_map=joint_map, drop_unmatched=drop_unmatched,
                           table=table, mat=mat)
        options = PreprocessOptions(max_persons=max_persons, max_frames=max_frames, center=center,
                                    center_per_frame=center_per_frame, scale=scale, align=align,
                                    drop_empty=drop_empty, exclude=excluded, split_file=split_file,
                                    label_pattern=label_pattern, label_file=label_file, workers=workers,
                                    strict=strict, decimals=decimals)
        report = preprocess_to_h5(kind, src, out, layout=layout_name, read=read, options=options,
                                  progress=_progress, command=" ".join(sys.argv))
    if report.failures:
        click.echo(f"{len(report.failures)} file(s) or segment(s) could not be read; see {report.report_path}",
                   err=True)
    for note in report.notes:
        click.echo(note, err=True)
    click.echo(f"wrote {report.written} samples to {out} ({report.seconds:.1f} s)")


# ----------------------------------------------------------------------------- merge

@main.command(epilog=EXIT_CODES)
@click.argument("inputs", nargs=-1, required=True, type=InputPath(dir_okay=False))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--name", "names", multiple=True,
              help="Source name of each input, in order (repeat once per input; default: the file stems).")
def merge(inputs: tuple[Path, ...], out: Path, names: tuple[str, ...]) -> None:
    """Pool the dataset files INPUTS (same layout and channels) into one file OUT, e.g. a
    pre-training corpus.

    Samples are renamed SOURCE:NAME, classes SOURCE:CLASS (kept apart), splits SOURCE:SPLIT, and
    a split SOURCE holds each input's samples, so `skelgraph pretrain --split SOURCE` selects one input again.
    """
    from skelgraph.data.merge import merge_h5

    with user_errors():
        n = merge_h5(inputs, out, names=names or None)
    click.echo(f"wrote {n} samples to {out}")


# ----------------------------------------------------------------------------- info

@main.command(epilog=EXIT_CODES)
@click.argument("file", type=InputPath(dir_okay=False))
def info(file: Path) -> None:
    """Print counts, classes, frame statistics, splits and layout of a dataset FILE (.h5)."""
    with user_errors():
        from skelgraph.data.info import describe

        click.echo(describe(file))


# ----------------------------------------------------------------------------- synth

@main.command(epilog=EXIT_CODES)
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--layout", "layout_name", default="ntu25", show_default=True,
              help="Layout name or .toml file.")
@click.option("--samples", default=600, show_default=True, type=click.IntRange(1), help="Number of sequences.")
@click.option("--classes", default=10, show_default=True, type=click.IntRange(1, 10), help="Number of actions.")
@click.option("--channels", default=3, show_default=True, type=click.Choice(["2", "3"]),
              help="3D positions or their 2D projection.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed (same seed, same file).")
def synth(out: Path, layout_name: str, samples: int, classes: int, channels: str, seed: int) -> None:
    """Write a synthetic labelled skeleton dataset (distinct motions + noise + random viewpoint) to OUT."""
    with user_errors():
        from skelgraph.data.synth_file import write_synthetic

        n = write_synthetic(out, layout_name, samples, classes, int(channels), seed)
    click.echo(f"wrote {n} samples to {out}")


# ----------------------------------------------------------------------------- show

def _writable(value: Path, ours: Any = None, what: str = "") -> None:
    """An output file that can be written where asked (no file on the way, not a folder) and, with
    ``ours``, replaces only a file of its own kind: checked before any work, exit 1, one line."""
    from skelgraph.data.files import WriteError, check_output, check_replaceable

    try:
        check_output(value)
        if ours is not None:
            check_replaceable(value, ours, what)
    except WriteError as err:
        raise click.ClickException(printable(str(err))) from None


def _folder(value: Path | None) -> Path | None:
    """An output folder that can be made where asked (no file there or on the way), checked
    before any work: exit 1, one line."""
    if value is not None:
        from skelgraph.data.files import WriteError, check_output

        try:
            check_output(value, folder=True)
        except WriteError as err:
            raise click.ClickException(printable(str(err))) from None
    return value


def _image_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A picture's path that can be written, in a format matplotlib writes (else a usage error,
    exit 2), checked before any work; without matplotlib the command says what to install when
    it draws."""
    if value is None:
        return value
    _writable(value)
    try:
        from skelgraph.viz import check_image_path

        check_image_path(value)
    except ImportError:
        pass
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    return value


def _is_json(path: Path) -> bool:
    import json

    try:
        json.loads(path.read_text())
        return True
    except (OSError, ValueError):
        return False


def _json_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A JSON output: writable, and never over a file that is not JSON (a dataset, a checkpoint)."""
    if value is not None:
        _writable(value, _is_json, "a JSON file")
    return value


@main.command(epilog=EXIT_CODES)
@click.argument("file", type=InputPath(dir_okay=False))
@click.argument("index", type=click.IntRange(0), default=0)
@click.option("--mask", "mask_kind", type=click.Choice(["body-part", "random-joint", "none"]), default="body-part",
              show_default=True, help="Masking to draw (hidden joints red, masked bones dashed).")
@click.option("--num-parts", default=2, show_default=True, type=click.IntRange(1), help="Parts hidden (body-part).")
@click.option("--mask-ratio", default=0.4, show_default=True, type=FiniteFloatRange(0, 1, max_open=True),
              help="Fraction of the joints hidden (random-joint).")
@click.option("--checkpoint", type=InputPath(), default=None,
              help="Pre-training run dir (or checkpoint.pt): also draw its reconstruction of the hidden joints.")
@click.option("--frames", default=4, show_default=True, type=click.IntRange(1),
              help="Frames drawn side by side (a .gif animates all sampled frames).")
@click.option("--num-frames", default=None, type=click.IntRange(1),
              help="Frames the sample is uniformly sampled to first: the model's T (default: the --checkpoint "
                   "run's num_frames, else 64).")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed of the mask.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("skeleton.png"),
              show_default=True, callback=_image_path,
              help="Output .png/.pdf/.svg (frames side by side) or .gif (animation).")
def show(file: Path, index: int, mask_kind: str, num_parts: int, mask_ratio: float, checkpoint: Path | None,
         frames: int, num_frames: int | None, seed: int, out: Path) -> None:
    """Draw sample INDEX of FILE with its mask and, with --checkpoint, the model's reconstruction.

    Hidden joints are drawn where the model puts them. A model trained with the cosine loss
    (`loss = "sce"`, the paper's) fixes only the direction of each rebuilt joint from the centre,
    not its length: its reconstructions are drawn at the true joint's distance along the
    predicted direction.
    """
    import torch

    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.data.sample import data_to_keypoint
    from skelgraph.transforms.masking import BodyPartMask, MaskEdges, RandomJointMask

    with user_errors():
        if num_frames is None:  # the model's own T: a pre-trained STRL trunk holds no more frames
            num_frames = 64
            if checkpoint is not None:
                from skelgraph.train.checkpoints import load_pretraining

                num_frames = load_pretraining(checkpoint)[1].num_frames
        dataset = SkeletonDataset(file, num_frames=num_frames)
        if index >= len(dataset):
            raise click.ClickException(f"{file}: index {index} out of range (0..{len(dataset) - 1})")
        data = dataset[index]
        if mask_kind != "none":  # the rule pre-training applies: a mask hiding every joint, or none, is refused
            from skelgraph.train.common import check_masking

            check_masking(dataset.layout, mask_kind, num_parts, mask_ratio)
        generator = torch.Generator().manual_seed(seed)
        if mask_kind == "body-part":
            data = BodyPartMask(num_parts, generator=generator)(data)
        elif mask_kind == "random-joint":
            data = RandomJointMask(mask_ratio, generator=generator)(data)
        # the bones of hidden joints, drawn dashed; the model itself sees every bone
        drawn = MaskEdges("incident")(data.clone()) if mask_kind != "none" else data
        reconstruction = None
        if checkpoint is not None:
            if mask_kind == "none":
                raise click.ClickException("--checkpoint needs a mask: there is nothing to reconstruct")
            from skelgraph.train.pretrain import load_pretrained

            model, state = load_pretrained(checkpoint, data=dataset)  # refuses another layout, channels
            if model.scope == "strl" and num_frames > model.max_frames:
                raise click.ClickException(f"{checkpoint} pre-trained the STRL network on {model.max_frames} frames: "
                                           f"--num-frames {num_frames} is more than its position embedding holds")
            if "position" not in model.target_names:
                raise click.ClickException(f"{checkpoint}: rebuilds {', '.join(model.target_names)}, not positions: "
                                           "nothing to draw")
            model.eval()
            c = data.x.size(-1)
            with torch.no_grad():
                i = model.target_names.index("position")
                x_hat = model(data)["x_hat"][..., i * c:(i + 1) * c]
            if model.loss == "sce":  # direction only: take the true length (see --help)
                x_hat = x_hat / x_hat.norm(dim=-1, keepdim=True).clamp_min(1e-8) * data.x.norm(dim=-1, keepdim=True)
            reconstruction = data_to_keypoint(data.clone().update({"x": x_hat}), dataset.store.num_persons)
        try:
            from skelgraph.viz import draw_skeleton

            path = draw_skeleton(
                data_to_keypoint(data, dataset.store.num_persons), dataset.layout,
                frames=None if out.suffix == ".gif" else frames, keep_mask=data.get("keep_mask"),
                masked_edges=drawn.get("masked_edge_index"), reconstruction=reconstruction, out=out,
                title=f"{data.name}  ({mask_kind} mask{', reconstruction' if reconstruction is not None else ''})")
        except ImportError as err:
            raise click.ClickException(str(err)) from None
    click.echo(str(path))


# ----------------------------------------------------------------------------- pretrain

def _with_assignments(assignments: tuple[str, ...], flags: dict[str, Any]) -> dict[str, Any]:
    """``--set KEY=VALUE`` values, then the dedicated flags that were given (they win)."""
    from skelgraph.train.config import parse_assignments

    return parse_assignments(assignments) | {k: v for k, v in flags.items() if v is not None}


def _run_config(cls: type, out: Path, resume: bool, config_path: Path | None, values: dict[str, Any]) -> Any:
    """The config of a new run (the file, then the flags), or of a resumed one: the run's own
    settings, where a flag or file may change only how long and where it runs."""
    from skelgraph.train.config import load_config

    if not resume:
        return load_config(cls, config_path, **values)
    from skelgraph.train.pretrain import CHECKPOINT
    from skelgraph.train.rundir import resume_config

    return resume_config(cls, out, CHECKPOINT, config_path, values)


@main.command(epilog=EXIT_CODES)
@click.argument("data", type=InputPath(dir_okay=False))
@click.option("--config", "config_path", type=InputPath(dir_okay=False),
              default=None, help="TOML config (experiments/*.toml); flags below override it.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Run directory: config.toml, metrics.jsonl, checkpoint.pt.")
@click.option("--split", multiple=True,
              help="Split of DATA to train on (default: the config's, else all); repeat it to train on the union.")
@click.option("--all-samples", is_flag=True,
              help="Train on every sample of DATA, whatever split the config names (= --set split=\"\").")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Epochs (paper: 50).")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Global batch size (paper: 1024); the lr scales linearly with it.")
@click.option("--lr", type=float, default=None, help="Learning rate at the config's base_batch_size (paper: 1.5e-4).")
@click.option("--mask", type=click.Choice(["body-part", "random-joint"]), default=None, help="Masking strategy.")
@click.option("--conv", type=click.Choice(CONV_NAMES), default=None, help="Graph convolution.")
@click.option("--edge-weight", type=float, default=None, help="Weight of edge reconstruction (0 = off).")
@click.option("--device", default=None, help="auto (CUDA when present), cpu or cuda.")
@click.option("--amp/--no-amp", default=None, help="Mixed precision (bf16 on CPU, fp16 on CUDA).")
@click.option("--workers", type=click.IntRange(0), default=None, help="DataLoader worker processes.")
@click.option("--seed", type=SEED, default=None, help="Random seed.")
@click.option("--tensorboard", default=None, metavar="DIR",
              help="Also log the metrics.jsonl numbers as TensorBoard scalars in DIR (needs: pip install tensorboard).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Set any config field (repeatable), e.g. --set mask_ratio=0.5; flags above win.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last checkpoint, with its own settings (config.toml); "
                   "only --epochs, --workers, --device, --tensorboard and checkpoint_every/eval_every may change.")
def pretrain(data: Path, config_path: Path | None, out: Path, resume: bool, assignments: tuple[str, ...],
             all_samples: bool, **flags: Any) -> None:
    """Pre-train SkeletonMAE on DATA (an HDF5 file from `preprocess` or `synth`).

    Launch on several processes with `torchrun --nproc_per_node N -m skelgraph pretrain ...`
    (DDP; NCCL on GPUs, Gloo on CPU). Prints the run directory when done.
    """
    from skelgraph.train.config import PretrainConfig
    from skelgraph.train.pretrain import pretrain as run_pretrain

    splits = flags.pop("split")
    flags["split"] = None if not splits else splits[0] if len(splits) == 1 else splits
    if all_samples:
        if flags["split"] is not None:
            raise click.UsageError("--all-samples and --split exclude each other")
        flags["split"] = ""  # an empty optional name is None: every sample
    with user_errors():
        config = _run_config(PretrainConfig, out, resume, config_path, _with_assignments(assignments, flags))
        metrics = run_pretrain(config, data, out, resume=resume)
    click.echo(f"final loss {metrics.get('loss', float('nan')):.4f}", err=True)
    click.echo(str(out))


# ----------------------------------------------------------------------------- finetune / evaluate

@main.command(epilog=EXIT_CODES)
@click.argument("data", type=InputPath(dir_okay=False))
@click.option("--config", "config_path", type=InputPath(dir_okay=False),
              default=None, help="TOML config (experiments/*_finetune.toml); flags below override it.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Run directory: config.toml, metrics.jsonl, checkpoint.pt, load_report.json.")
@click.option("--pretrained", type=InputPath(), default=None,
              help="Pre-training run dir (or its checkpoint.pt) whose encoder initialises the model.")
@click.option("--init", type=click.Choice(["pretrained", "none"]), default=None,
              help="none: random weights (the from-scratch baseline). Implied 'pretrained' by --pretrained.")
@click.option("--protocol", type=click.Choice(["finetune", "linear"]), default=None,
              help="finetune: train encoder + STRL; linear: a linear classifier on the frozen encoder.")
@click.option("--label-fraction", type=FiniteFloatRange(0, 1, min_open=True), default=None,
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
@click.option("--seed", type=SEED, default=None, help="Random seed (also picks the label-fraction subset).")
@click.option("--tensorboard", default=None, metavar="DIR",
              help="Also log the metrics.jsonl numbers as TensorBoard scalars in DIR (needs: pip install tensorboard).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Set any config field (repeatable), e.g. --set lr_steps=[45,55]; flags above win.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last checkpoint, with its own settings (config.toml); "
                   "only --epochs, --workers, --device, --tensorboard and checkpoint_every/eval_every may change.")
def finetune(data: Path, config_path: Path | None, out: Path, pretrained: Path | None, resume: bool,
             assignments: tuple[str, ...], **flags: Any) -> None:
    """Train an action classifier on DATA: STRL fine-tuning of a pre-trained encoder, a linear
    probe, or training from scratch (--init none).

    eval_every (config) reports top-1/top-5 on the TEST split every N epochs and at the last:
    for monitoring only, nothing is chosen on it. To choose a checkpoint, set a validation split,
    e.g. --set val_split=0.1 (a class-balanced fraction carved from the training split) or
    --set val_split=NAME (a split of DATA): it is evaluated at the same epochs and its best epoch
    is kept as best.pt beside checkpoint.pt.

    Launch on several processes with `torchrun --nproc_per_node N -m skelgraph finetune ...`
    (DDP). Prints the run directory when done; evaluate it with `skelgraph evaluate`.
    """
    from skelgraph.train.config import FinetuneConfig
    from skelgraph.train.finetune import finetune as run_finetune

    if pretrained is not None and flags["init"] is None:
        flags["init"] = "pretrained"
    with user_errors():
        config = _run_config(FinetuneConfig, out, resume, config_path, _with_assignments(assignments, flags))
        metrics = run_finetune(config, data, out, pretrained=pretrained, resume=resume)
    test = f", test top-1 {metrics['test_top1']:.2f}%" if "test_top1" in metrics else ""
    click.echo(f"final loss {metrics.get('loss', float('nan')):.4f}, train acc "
               f"{metrics.get('train_acc', float('nan')):.1f}%{test}", err=True)
    click.echo(str(out))


@main.command(epilog=EXIT_CODES)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("data", type=InputPath(dir_okay=False))
@click.option("--split", default=None, help="Split to evaluate (default: the run's test split).")
@click.option("--knn", type=click.IntRange(1), default=None,
              help="k-NN with this K on pooled features (cosine) instead of the classifier.")
@click.option("--train-split", default=None, help="Split the k-NN neighbours come from (default: the run's).")
@click.option("--majority", is_flag=True,
              help="k-NN by plain majority vote (default: votes weighted by exp(similarity / 0.07)).")
@click.option("--label-fraction", type=FiniteFloatRange(0, 1, min_open=True), default=1.0, show_default=True,
              help="k-NN neighbours from this class-balanced fraction of the labels (the subset "
                   "`finetune --label-fraction` trains on with the same --seed).")
@click.option("--pretrained", type=InputPath(), default=None,
              help="k-NN of this pre-training run's encoder (RUN_DIR is then only where files go).")
@click.option("--init", type=click.Choice(["none"]), default=None,
              help="none: k-NN of a random encoder (the baseline; RUN_DIR is only where files go); with "
                   "--pretrained, a random encoder of that run's architecture.")
@click.option("--out", type=click.Path(path_type=Path), default=None, callback=lambda ctx, param, value: _folder(value),
              help="Where metrics.json and confusion.png go (default: RUN_DIR).")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True, help="Samples per batch.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda.")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True, help="DataLoader worker processes.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the random encoder (--init none) and of the --label-fraction subset.")
@click.option("--protocol", "protocols", multiple=True, type=click.Choice(["linear", "1nn", "knn"]),
              help="Frozen-feature protocol (repeatable): linear = converged logistic regression on standardised "
                   "features (C by CV on the fit split; needs scikit-learn), 1nn = nearest neighbour by cosine, "
                   "knn = weighted k-NN (k from --knn, default 20). Each is run on the --pretrained encoder, a "
                   "random encoder of its architecture and the raw input; writes frozen_metrics.json.")
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="With --protocol: also the random-encoder and raw-input rows.")
@click.option("--segments", type=click.IntRange(1), default=1, show_default=True,
              help="With --protocol: pool encoder features over this many consecutive time segments "
                   "(concatenated in order; 1 = mean over all frames).")
@click.option("--keep-joints", is_flag=True,
              help="With --protocol: keep every joint's pooled features (no mean over joints).")
@click.option("--all-layers", is_flag=True,
              help="With --protocol and a scope = 'strl' run: features of every STRL layer, concatenated "
                   "(default: the trunk's last output).")
@click.option("--fit-copies", type=click.IntRange(0), default=0, show_default=True,
              help="With --protocol: add this many augmented copies of every fit sample to the fit set (rotated, "
                   "scaled, sheared within --fit-augment; the same draws for every source; the scored split is "
                   "never augmented).")
@click.option("--fit-augment", type=(FiniteFloatRange(0), FiniteFloatRange(0), FiniteFloatRange(0)),
              default=(PretrainConfig.aug_rotate, PretrainConfig.aug_scale, PretrainConfig.aug_shear),
              show_default=True, metavar="DEGREES SCALE SHEAR",
              help="With --fit-copies: the bounds of the copies' rotation (degrees about each axis), scale "
                   "(factors in [1 - s, 1 + s]) and shear.")
@click.option("--probe-c", type=FiniteFloatRange(0, min_open=True), default=None,
              help="With --protocol linear: the logistic regression's C (default: chosen by 3-fold CV on the fit "
                   "split).")
@click.option("--frames", type=click.IntRange(1), default=None,
              help="With --protocol: frames per sample (default: the pre-training run's).")
def evaluate(run_dir: Path, data: Path, split: str | None, knn: int | None, train_split: str | None, majority: bool,
             label_fraction: float, pretrained: Path | None, init: str | None, out: Path | None, batch_size: int,
             device: str, workers: int, seed: int, protocols: tuple[str, ...], baselines: bool, segments: int,
             keep_joints: bool, all_layers: bool, fit_copies: int, fit_augment: tuple[float, float, float],
             probe_c: float | None, frames: int | None) -> None:
    """Evaluate RUN_DIR (a `finetune` run, or one of its checkpoints such as RUN/best.pt, whose
    files then go to RUN/eval_best/) on DATA: top-1, top-5, per-class accuracy, confusion
    matrix. Writes metrics.json and confusion.png; prints a short table.

    With --protocol, evaluate frozen features instead (RUN_DIR is then only where
    frozen_metrics.json goes): every protocol on the pre-trained encoder, a random encoder of the
    same architecture and the raw input, fitted on --train-split and scored on --split, e.g.

    \b
        skelgraph evaluate runs/frozen ucla.h5 --pretrained runs/pre --protocol linear \\
            --protocol 1nn --train-split xview_train --split xview_test --segments 4
    """
    from skelgraph.train.evaluate import evaluate as run_evaluate

    if protocols:
        from skelgraph.train.frozen import format_table, frozen_evaluate

        if init is not None or majority:
            raise click.UsageError("--init and --majority are not used with --protocol (the random encoder is a "
                                   "baseline row; k-NN votes are weighted)")
        if pretrained is None and not baselines:
            raise click.UsageError("--no-baselines leaves nothing to evaluate without --pretrained")
        sources = (["pretrained"] if pretrained is not None else []) + (["random", "raw"] if baselines else [])
        with user_errors():
            summary = frozen_evaluate(data, pretrained=pretrained, split=split, train_split=train_split,
                                      protocols=protocols, sources=sources, segments=segments,
                                      keep_joints=keep_joints, all_layers=all_layers, k=knn or 20,
                                      fit_copies=fit_copies, fit_augment=fit_augment, probe_c=probe_c,
                                      label_fraction=label_fraction, num_frames=frames, out=out or run_dir,
                                      batch_size=batch_size, device=device, workers=workers, seed=seed)
        click.echo(f"fit {summary['fit_samples']} ({summary['train_split']}), score {summary['test_samples']} "
                   f"({summary['split']}); top-1 %")
        click.echo(format_table(summary))
        click.echo(f"wrote {summary['metrics_path']}", err=True)
        return
    with user_errors():
        metrics = run_evaluate(run_dir, data, split, out=out, knn=knn, pretrained=pretrained, init=init,
                               train_split=train_split, weighted=not majority, label_fraction=label_fraction,
                               batch_size=batch_size, device=device, workers=workers, seed=seed)
    how = f"k-NN (k={knn}, {'majority' if majority else 'weighted'})" if knn else "classifier"
    rows = [("model", f"{metrics['model']}, {how}"), ("split", metrics["split"]),
            ("samples", str(metrics["num_samples"])), ("top-1", f"{metrics['top1']:.2f}"),
            ("top-5", f"{metrics['top5']:.2f}"), ("mean class", f"{metrics['mean_class_accuracy']:.2f}")]
    click.echo("\n".join(f"{name:<11} {value}" for name, value in rows))
    confusion = f" and {metrics['confusion_path']}" if metrics["confusion_path"] else ""
    click.echo(f"wrote {metrics['metrics_path']}{confusion}", err=True)


# ----------------------------------------------------------------------------- predict

@main.command(epilog=EXIT_CODES)
@click.argument("run_dir", type=InputPath())
@click.argument("sources", nargs=-1, required=True, type=InputPath())
@click.option("--kind", type=click.Choice(KINDS), default=None,
              help="How to read SOURCES (default: the kind of the run's training data).")
@click.option("--top-k", type=click.IntRange(1), default=5, show_default=True, help="Classes shown per sample.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per sample) instead of a table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV rows (name,source,rank,class,probability,label).")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True, help="Samples per batch.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda.")
def predict(run_dir: Path, sources: tuple[Path, ...], kind: str | None, top_k: int, as_json: bool, as_csv: bool,
            batch_size: int, device: str) -> None:
    """Classify raw recordings SOURCES (files or folders in any format `preprocess` reads) with the
    fine-tuning run RUN_DIR (or one of its checkpoint files).

    Each recording is preprocessed as the run's training data was (read the same way, joints
    mapped by name onto the model's layout, persons selected, centred, aligned, sampled to the
    run's frames), from what the run recorded in preprocessing.json: the run directory alone is
    enough. Prints, per sample, the top-k classes by name with their probabilities.
    """
    import json

    from skelgraph.train.predict import Predictor, format_csv, format_table

    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    with user_errors():
        predictor = Predictor.from_run(run_dir, device=device)
        predictions = []
        for src in sources:
            predictions += predictor(src, kind=kind, top_k=top_k, batch_size=batch_size)
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in predictions], indent=1))
    elif as_csv:
        click.echo(format_csv(predictions), nl=False)
    else:
        click.echo(format_table(predictions))


# ----------------------------------------------------------------------------- embed

@main.command(epilog=EXIT_CODES)
@click.argument("run_dir", type=InputPath())
@click.argument("data", type=InputPath(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--split", default=None, help="Split to export (default: every sample of DATA).")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True, help="Samples per batch.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda.")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True, help="DataLoader worker processes.")
def embed(run_dir: Path, data: Path, out: Path, split: str | None, batch_size: int, device: str,
          workers: int) -> None:
    """Export the pooled features of every sample of DATA computed by RUN_DIR (a pre-training or
    fine-tuning run) to OUT: .npz or .h5 by its suffix, with arrays features [N, D], name [N],
    label [N] (-1 = unlabelled) and class_names, ready for scikit-learn or UMAP.

    \b
    Example:
      skelgraph embed runs/ucla_mae ucla.h5 --split xview_test features.npz
    """
    from skelgraph.train.embed import embed as run_embed

    with user_errors():
        emb = run_embed(run_dir, data, split, out=out, batch_size=batch_size, device=device, workers=workers,
                        progress=None)
    click.echo(f"{len(emb.names)} samples x {emb.features.shape[1] if emb.features.ndim == 2 else 0} features "
               f"({emb.kind})", err=True)
    click.echo(str(out))


# ----------------------------------------------------------------------------- plot

@main.command("plot", epilog=EXIT_CODES)
@click.argument("runs", nargs=-1, required=True, type=InputPath())
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("curves.png"),
              show_default=True, callback=_image_path, help="The figure (.png, .pdf, .svg).")
@click.option("--label", "labels", multiple=True,
              help="Legend name of each run, in order (repeat once per run; default: the run folders' names).")
@click.option("--title", default=None, help="Figure title.")
def plot_command(runs: tuple[Path, ...], out: Path, labels: tuple[str, ...], title: str | None) -> None:
    """Draw the training curves of RUNS (run directories or their metrics.jsonl) on one figure:
    loss, learning rate, training accuracy and test (and validation) accuracy per epoch, one
    colour per run (needs matplotlib).

    \b
    Example:
      skelgraph plot runs/demo/finetune runs/demo/scratch --out curves.png
    """
    from skelgraph.curves import plot_curves

    with user_errors():
        try:
            out = plot_curves(runs, out, labels=labels or None, title=title)
        except ImportError as err:
            raise click.ClickException(str(err)) from None
    click.echo(str(out))


# ----------------------------------------------------------------------------- bench

@main.command(epilog=EXIT_CODES)
@click.option("--joints", default="25", show_default=True, type=click.Choice(["25", "17", "18", "20"]),
              help="V: 25 ntu25, 17 coco17, 18 openpose18, 20 kinect_v1_20.")
@click.option("--persons", default=2, show_default=True, type=click.IntRange(1), help="M, persons per sample.")
@click.option("--frames", default=None, type=click.IntRange(1), help="T.  [default: 64; 32 with --quick]")
@click.option("--width", default=64, show_default=True, type=click.IntRange(1), help="D, hidden channels.")
@click.option("--batch", default=None, type=click.IntRange(1),
              help="Samples per batch.  [default: 64; 8 with --quick]")
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
@click.option("--data", type=InputPath(dir_okay=False), default=None,
              help="HDF5 file for the read rate.  [default: a random file of the bench's shape, in a temp dir]")
@click.option("--read-samples", default=None, type=click.IntRange(1),
              help="Samples read per worker setting.  [default: 512; 64 with --quick]")
@click.option("--no-read", is_flag=True, help="Skip the HDF5 read measurement.")
@click.option("--no-memory", is_flag=True, help="Skip the peak-memory pass (one profiled step per row).")
@click.option("--quick", is_flag=True,
              help="Batch 8, T 32, 3 repeats, 1 thread: under a minute on 2 busy CPU cores.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              callback=_json_path, help="Also write every number as JSON here.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              callback=_image_path, help="Also draw a bar chart (.png) of samples/s here (needs matplotlib).")
def bench(joints: str, persons: int, frames: int | None, width: int, batch: int | None, warmup: int | None,
          repeats: int | None, convs: tuple[str, ...], paths: tuple[str, ...], device: str, threads: int | None,
          data: Path | None,
          read_samples: int | None, no_read: bool, no_memory: bool, quick: bool, json_path: Path | None,
          plot_path: Path | None) -> None:
    """Time every conv in SkeletonMAE pre-training and the STRL classifier: the PyG path against dense code.

    Prints per model, mode (fwd, fwd+bwd), conv and path (fused, plain, dense einsum, PyG dense
    layers) the time per batch, samples/s, peak memory and parameters; the ratio sparse/dense
    (> 1: the PyG path is faster); counted GFLOP per step, GFLOP/s and its fraction of a float32
    GEMM timed in the same run; whether all paths agree; the HDF5 read rate and a projected
    NTU-60 x-sub epoch. See experiments/bench/README.md for every column.
    """
    import json

    import torch

    from skelgraph.bench import BenchConfig, format_table, plot, run_bench

    unknown = [c for c in convs if c not in CONV_NAMES]
    if unknown:
        raise click.ClickException(f"unknown conv {unknown[0]!r}; choose from {', '.join(CONV_NAMES)}")
    config = BenchConfig(threads=threads or (1 if quick else torch.get_num_threads()),
                         joints=int(joints), persons=persons, frames=frames or (32 if quick else 64), width=width,
                         batch=batch or (8 if quick else 64),
                         warmup=warmup if warmup is not None else (1 if quick else 2),
                         repeats=repeats or (3 if quick else 15), device=device, convs=convs or CONV_NAMES,
                         paths=paths,
                         memory=not no_memory, read_samples=read_samples or (64 if quick else 512))
    echo = functools.partial(click.echo, err=True)
    try:
        result = run_bench(config, data, read=not no_read, echo=echo)
    except ValueError as err:  # e.g. --device cuda without CUDA
        raise click.ClickException(str(err)) from None
    click.echo(format_table(result))
    with user_errors():  # through the atomic writer: a failed write is one line, no partial file
        from skelgraph.data.files import atomic_write_text

        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            echo(f"wrote {atomic_write_text(json_path, json.dumps(result.to_dict(), indent=1))}")
        if plot_path is not None:
            try:
                plot_path.parent.mkdir(parents=True, exist_ok=True)
                echo(f"wrote {plot(result, plot_path)}")
            except ImportError as err:
                raise click.ClickException(str(err)) from None


# ----------------------------------------------------------------------------- demo

@main.command(epilog=EXIT_CODES)
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/demo"),
              show_default=True,
              help="Directory for the demo's data and run directories: new, empty, or an earlier demo's "
                   "(only what that demo wrote is replaced).")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed.")
def demo(out: Path, seed: int) -> None:
    """Run the whole pipeline on an embedded synthetic set: no download, a few minutes on 2 CPU cores.

    The regime SkeletonMAE is for: pre-trains on 800 unlabelled synthetic sequences, fine-tunes
    the STRL classifier on 40 of them labelled (5 %) from the pre-trained encoder and from
    scratch with the same budget, compares k-NN with those 40 as neighbours on the pre-trained
    and a random encoder, and prints a table of test accuracies (200 test sequences).
    """
    from skelgraph.train.demo import prepare_demo_dir, run_demo, summary_table

    with user_errors():
        prepare_demo_dir(out)  # before torch loads: a foreign folder is refused at once, and never emptied
        results = run_demo(out, seed=seed, echo=lambda line: click.echo(line, err=True))
    click.echo(summary_table(results, out))


# ----------------------------------------------------------------------------- env

@main.command(epilog=EXIT_CODES)
def env() -> None:
    """Print versions and devices, for bug reports."""
    from importlib import metadata

    import h5py
    import numpy as np
    import torch
    import torch_geometric

    from skelgraph.nn.linear import onednn_linear_status

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
                       ("freed memory", allocator.applied or keep_freed_memory()),
                       ("oneDNN linear", onednn_linear_status())):
        click.echo(f"{key:16s}{value}")


if __name__ == "__main__":
    main()
