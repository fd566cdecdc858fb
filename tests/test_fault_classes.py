"""Issue 21's classes of fault, beyond its listed cases: every write goes through the one atomic
writer, every checkpoint meets data through the one check, every value through one validator.
One test per behaviour; experiments/fault_cases.py runs the same cases as a user would."""
import errno
import os

import pytest

from skelgraph.data.synth_file import write_synthetic
from tests.fault_helpers import FT, TINY, one_line_error, run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "s.h5"
    write_synthetic(path, "ntu25", samples=12, classes=3, channels=3, seed=0)
    return path


@pytest.fixture(scope="module")
def finetuned(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ft"
    result = run("finetune", data, "--out", out, *FT, *TINY)
    assert result.exit_code == 0, result.output
    return out


def full_disk_after(nbytes):
    """A write that stops after ``nbytes`` with ENOSPC, as a full disk does: the half file is
    on disk when the error comes."""
    def write(target):
        with open(target, "wb") as f:
            f.write(b"\x89PNG half a picture"[:nbytes])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return write


# ----------------------------------------------------------------------------- one atomic writer: plots

@pytest.mark.parametrize("name", ["drawn.png", "drawn.gif"])
def test_show_on_a_full_disk_leaves_no_partial_picture(data, tmp_path, monkeypatch, name):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    from PIL import Image

    half = full_disk_after(8)
    monkeypatch.setattr(Figure, "savefig", lambda self, target, **kw: half(target))
    monkeypatch.setattr(Image.Image, "save", lambda self, target, **kw: half(target))
    out = tmp_path / name
    out.write_bytes(b"the user's earlier picture")
    one_line_error(run("show", data, "--out", out), f"{name}: cannot write (No space left on device)")
    assert out.read_bytes() == b"the user's earlier picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary either


def test_bench_plot_on_a_full_disk_leaves_no_partial_picture(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    monkeypatch.setattr(Figure, "savefig", lambda self, target, **kw: full_disk_after(8)(target))
    result = run("bench", "--quick", "--batch", "2", "--frames", "8", "--width", "8", "--warmup", "0", "--repeats",
                 "1", "--conv", "gcn", "--path", "fused", "--no-read", "--no-memory", "--plot", tmp_path / "b.png")
    one_line_error(result, "b.png: cannot write (No space left on device)")
    assert list(tmp_path.iterdir()) == []


def test_show_checks_its_output_before_drawing(data, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    one_line_error(run("show", data, "--out", tmp_path / "notes.txt" / "drawn.png"),
                   "notes.txt is a file, not a folder")


def test_bench_checks_its_outputs_before_measuring(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    result = run("bench", "--quick", "--json", tmp_path / "notes.txt" / "b.json")
    one_line_error(result, "notes.txt is a file, not a folder")
    assert "samples/s" not in result.output  # refused before the first measurement


def test_evaluate_checks_its_output_folder_before_running(finetuned, data, tmp_path):
    (tmp_path / "ev").write_text("x")
    one_line_error(run("evaluate", finetuned, data, "--out", tmp_path / "ev"), "ev: is a file, not a folder")
    assert (tmp_path / "ev").read_text() == "x"


# ----------------------------------------------------------------------------- one validator: show's values

def test_show_mask_ratio_out_of_range_is_a_usage_error(data, tmp_path):
    result = run("show", data, "--mask", "random-joint", "--mask-ratio", "1.5", "--out", tmp_path / "a.png")
    assert result.exit_code == 2 and "'--mask-ratio'" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_show_unknown_picture_format_is_a_usage_error(data, tmp_path):
    pytest.importorskip("matplotlib")
    result = run("show", data, "--out", tmp_path / "a.xyz")
    assert result.exit_code == 2 and "cannot draw a .xyz file" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_show_refuses_a_mask_hiding_every_joint_as_pretraining_does(data, tmp_path):
    one_line_error(run("show", data, "--num-parts", "6", "--out", tmp_path / "a.png"), "hides them all")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- a checkpoint meets data: the encoder

@pytest.fixture(scope="module")
def pretrained_gcn12(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "pre"
    result = run("pretrain", data, "--out", out, *TINY, "--conv", "gcn", "--set", "hidden_channels=12",
                 "--set", "enc_layers=2")
    assert result.exit_code == 0, result.output
    return out


NO_WIDTH = ["--epochs", "1", "--batch-size", "4", "--set", "num_frames=8", "--set", "base_batch_size=4",
            "--device", "cpu"]  # TINY without its width


@pytest.mark.parametrize("protocol", ["finetune", "linear"])
def test_unset_width_depth_conv_come_from_the_pretraining_run(data, pretrained_gcn12, tmp_path, protocol):
    result = run("finetune", data, "--out", tmp_path / "ft", "--pretrained", pretrained_gcn12, "--protocol", protocol,
                 "--train-split", "train", *NO_WIDTH)
    assert result.exit_code == 0, result.output
    saved = (tmp_path / "ft" / "config.toml").read_text()
    assert "hidden_channels = 12" in saved and "enc_layers = 2" in saved and 'conv = "gcn"' in saved, saved


def test_a_width_contradicting_the_pretraining_run_is_refused(data, pretrained_gcn12, tmp_path):
    one_line_error(run("finetune", data, "--out", tmp_path / "ft", "--pretrained", pretrained_gcn12,
                       "--train-split", "train", *NO_WIDTH, "--set", "hidden_channels=64"),
                   "hidden_channels=12, but 64 was asked for")
    assert not (tmp_path / "ft").exists()


def test_from_scratch_the_encoder_is_the_papers(data, tmp_path):
    result = run("finetune", data, "--out", tmp_path / "ft", *FT, *NO_WIDTH)
    assert result.exit_code == 0, result.output
    saved = (tmp_path / "ft" / "config.toml").read_text()
    assert "hidden_channels = 64" in saved and "enc_layers = 3" in saved and 'conv = "gin"' in saved, saved


@pytest.mark.parametrize("change, message", [
    ({"num_channels": 2}, "trained on 3-D coordinates (3 channels), the data has 2"),
    ({"layout": "kinect_v1_20"}, "layout 'kinect_v1_20' (20 joints) instead of 'ntu25'"),
    ({"class_names": ["a", "b"]}, "its classifier has 3 classes, the data has 2"),
])
def test_predict_meets_its_checkpoint_through_the_one_check(finetuned, data, tmp_path, change, message):
    """A checkpoint without its own preprocessing record (an older run) and a preprocessing.json
    beside it that does not fit it (another run's): predict refuses, as evaluate does."""
    import json
    import shutil

    import torch

    from skelgraph.graph.layouts import get_layout

    moved = tmp_path / "run"
    shutil.copytree(finetuned, moved)
    state = torch.load(moved / "checkpoint.pt", weights_only=False)
    recipe = state.pop("preprocessing")
    torch.save(state, moved / "checkpoint.pt")
    if "layout" in change:
        change = {"layout": get_layout(change["layout"]).to_json()}
    (moved / "preprocessing.json").write_text(json.dumps(recipe | change))
    one_line_error(run("predict", moved, data, "--kind", "numpy"), "preprocessing.json", message)


# ----------------------------------------------------------------------------- one reader of the user's text files

@pytest.mark.parametrize("option, expected", [
    ("--exclude-list", "a list of sample names"), ("--split-file", "a split file"), ("--joints", "joint names"),
    ("--joint-map", "a joint map"), ("--layout", "a layout .toml"),
])
def test_a_binary_file_where_text_is_expected_is_one_line(tmp_path, option, expected):
    import numpy as np

    np.save(tmp_path / "a.npy", np.ones((1, 5, 25, 3)))
    (tmp_path / "given.txt").write_bytes(bytes(range(256)) * 4)
    one_line_error(run("preprocess", "numpy", tmp_path / "a.npy", tmp_path / "o.h5", option, tmp_path / "given.txt"),
                   "given.txt: not a text file (binary content), expected " + expected)
    assert not (tmp_path / "o.h5").exists()


def test_a_binary_config_file_is_one_line(data, tmp_path):
    (tmp_path / "c.toml").write_bytes(bytes(range(256)) * 4)
    one_line_error(run("pretrain", data, "--out", tmp_path / "run", "--config", tmp_path / "c.toml"),
                   "c.toml: not a text file (binary content), expected a config file")


# ----------------------------------------------------------------------------- one validator: numbers are finite

@pytest.mark.parametrize("args, message", [
    (["--lr", "inf"], "command line: lr must be a finite number, got inf"),
    (["--set", "mask_ratio=nan"], "command line: mask_ratio must be a finite number, got nan"),
    (["--config", "CONFIG"], "c.toml: beta must be a finite number, got inf"),
])
def test_a_number_that_is_not_finite_is_refused(data, tmp_path, args, message):
    (tmp_path / "c.toml").write_text("beta = inf\n")  # TOML has inf and nan
    args = [tmp_path / "c.toml" if a == "CONFIG" else a for a in args]
    one_line_error(run("pretrain", data, "--out", tmp_path / "run", *TINY, *args), message)
    assert not (tmp_path / "run").exists()  # before: --lr inf trained to loss nan and exited 0


@pytest.mark.parametrize("args", [
    ["show", "DATA", "--mask", "random-joint", "--mask-ratio", "nan"],
    ["finetune", "DATA", "--out", "run", "--label-fraction", "nan"],
    ["evaluate", "run", "DATA", "--knn", "2", "--label-fraction", "nan"],
])
def test_nan_for_a_ranged_option_is_a_usage_error(data, tmp_path, args):
    """nan passes click's FloatRange (every comparison with it is false): FiniteFloatRange refuses it."""
    result = run(*[data if a == "DATA" else tmp_path / a if a == "run" else a for a in args])
    assert result.exit_code == 2 and "is not a finite number" in result.output, result.output


# ----------------------------------------------------------------------------- nothing a user owns is replaced

def test_synth_never_writes_over_a_users_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    one_line_error(run("synth", tmp_path / "notes.txt", "--samples", "4"),
                   "notes.txt: exists and is not a skelgraph dataset; nothing was replaced")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_preprocess_never_writes_over_its_own_source(tmp_path):
    import numpy as np

    np.save(tmp_path / "a.npy", np.ones((1, 5, 25, 3)))
    one_line_error(run("preprocess", "numpy", tmp_path / "a.npy", tmp_path / "a.npy"), "is not a skelgraph dataset")
    assert np.load(tmp_path / "a.npy").shape == (1, 5, 25, 3)


def test_a_dataset_is_replaced_by_a_new_one(data, tmp_path):
    import shutil

    shutil.copy(data, tmp_path / "s.h5")
    assert run("synth", tmp_path / "s.h5", "--samples", "4").exit_code == 0
    from skelgraph.data.h5 import H5Skeletons
    assert len(H5Skeletons(tmp_path / "s.h5")) == 4


def test_embed_never_writes_over_its_data(finetuned, data, tmp_path):
    import shutil

    shutil.copy(data, tmp_path / "s.h5")
    before = (tmp_path / "s.h5").read_bytes()
    one_line_error(run("embed", finetuned, tmp_path / "s.h5", tmp_path / "s.h5"), "s.h5: is also an input")
    assert (tmp_path / "s.h5").read_bytes() == before


def test_embed_never_writes_over_a_dataset_given_as_output(finetuned, data, tmp_path):
    import shutil

    shutil.copy(data, tmp_path / "other.h5")
    one_line_error(run("embed", finetuned, data, tmp_path / "other.h5"), "other.h5: exists and is not an embeddings")


def test_embed_replaces_its_own_earlier_output(finetuned, data, tmp_path):
    for _ in range(2):
        result = run("embed", finetuned, data, tmp_path / "e.h5")
        assert result.exit_code == 0, result.output


def test_embed_on_a_full_disk_leaves_no_file(finetuned, data, tmp_path, monkeypatch):
    from skelgraph.data import files

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    one_line_error(run("embed", finetuned, data, tmp_path / "e.h5"), "e.h5: cannot write (No space left on device)")
    assert list(tmp_path.iterdir()) == []


def test_bench_json_never_writes_over_a_file_that_is_not_json(data, tmp_path):
    import shutil

    shutil.copy(data, tmp_path / "s.h5")
    result = run("bench", "--quick", "--json", tmp_path / "s.h5")
    one_line_error(result, "s.h5: exists and is not a JSON file; nothing was replaced")
    assert "samples/s" not in result.output  # refused before measuring


# ----------------------------------------------------------------------------- one rule for the layout

def renamed_ntu25(path):
    """The NTU-25 skeleton under another name and other body parts: the same graph."""
    from skelgraph.graph.layouts import NTU25

    def q(x):
        return '"' + x + '"'

    joints = NTU25.joints
    lines = ['name = "my_kinect"', "joints = [" + ", ".join(q(j) for j in joints) + "]",
             "bones = [" + ", ".join(f"[{q(joints[a])}, {q(joints[b])}]" for a, b in NTU25.bones) + "]",
             f"center = {q(joints[NTU25.center])}", "[parts]", "upper = [" + ", ".join(q(j) for j in joints[:12]) + "]",
             "lower = [" + ", ".join(q(j) for j in joints[12:]) + "]"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pretrained_encoder_on_the_same_graph_under_another_name(data, tmp_path):
    """check_data and the encoder's own check agree: joints and bones count, names and parts do not
    (the encoder refused what evaluate of a fine-tuned run accepted, naming two 25-joint layouts)."""
    pre = tmp_path / "pre"
    assert run("pretrain", data, "--out", pre, *TINY).exit_code == 0
    other = tmp_path / "my.h5"
    write_synthetic(other, str(renamed_ntu25(tmp_path / "my.toml")), samples=12, classes=3, channels=3, seed=1)
    result = run("finetune", other, "--out", tmp_path / "ft", "--pretrained", pre, "--train-split", "train", *TINY)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_a_bad_progress_interval_in_the_environment_is_one_line(data, value):
    from click.testing import CliRunner

    from skelgraph.cli import main

    result = CliRunner().invoke(main, ["info", str(data)], env={"SKELGRAPH_PROGRESS_S": value})
    one_line_error(result, f"SKELGRAPH_PROGRESS_S={value!r}: must be a number of seconds >= 0")


def test_frozen_evaluation_checks_its_output_folder_before_running(data, tmp_path):
    (tmp_path / "ev").write_text("x")
    result = run("evaluate", tmp_path / "ev", data, "--protocol", "1nn", "--train-split", "train", "--split", "test",
                 "--out", tmp_path / "ev")
    one_line_error(result, "ev: is a file, not a folder")
    assert (tmp_path / "ev").read_text() == "x"


def test_num_persons_beyond_the_files_is_one_line(data, tmp_path):
    one_line_error(run("finetune", data, "--out", tmp_path / "run", *FT, *TINY, "--set", "num_persons=3"),
                   "s.h5: num_persons = 3, but the file stores 1 person(s) per sample")
    assert not (tmp_path / "run").exists()


def test_resume_refuses_a_pretrained_run_it_did_not_start_from(data, pretrained_gcn12, finetuned, tmp_path):
    out = tmp_path / "ft"
    args = ["finetune", data, "--out", out, "--train-split", "train", *NO_WIDTH]
    assert run(*args, "--pretrained", pretrained_gcn12).exit_code == 0
    one_line_error(run(*args[:-10], "--resume", "--epochs", "2", "--pretrained", finetuned),
                   "--resume continues from the run's own checkpoint", "contradicts it")
    assert run(*args[:-10], "--resume", "--epochs", "2", "--pretrained", pretrained_gcn12).exit_code == 0


@pytest.fixture(scope="module")
def two_slots(tmp_path_factory):
    """The synthetic samples of ``data`` stored with 2 person slots instead of 1."""
    from skelgraph.data.h5 import write_h5
    from skelgraph.data.synth import make_synthetic, synthetic_splits
    from skelgraph.graph.layouts import get_layout

    path = tmp_path_factory.mktemp("two") / "two.h5"
    layout = get_layout("ntu25")
    seqs, class_names = make_synthetic(layout, 12, 3, num_channels=3, seed=0)
    write_h5(path, seqs, layout=layout, num_persons=2, class_names=class_names,
             splits=synthetic_splits(seqs, seed=0), provenance={"kind": "synthetic"})
    return path


def test_a_classifier_refuses_data_with_other_person_slots(finetuned, two_slots, tmp_path):
    """The classifier pools over every person slot (zero-padded ones too): the same samples stored
    with 2 slots instead of its training file's 1 gave other features, silently."""
    one_line_error(run("evaluate", finetuned, two_slots, "--out", tmp_path / "ev"),
                   "trained on 1 person slot(s) per sample, the data has 2", "--max-persons 1")


def test_embed_refuses_data_with_other_person_slots(finetuned, two_slots, tmp_path):
    one_line_error(run("embed", finetuned, two_slots, tmp_path / "e.npz"),
                   "trained on 1 person slot(s) per sample, the data has 2")
    assert not (tmp_path / "e.npz").exists()


def test_a_tensorboard_folder_that_is_a_file_is_refused_before_training(data, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    one_line_error(run("pretrain", data, "--out", tmp_path / "run", *TINY, "--tensorboard", tmp_path / "notes.txt"),
                   "notes.txt: is a file, not a folder")
    assert not (tmp_path / "run").exists() and (tmp_path / "notes.txt").read_text() == "x"
