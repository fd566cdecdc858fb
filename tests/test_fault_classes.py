"""Issue 21's classes of fault, beyond its listed cases: every write goes through the one atomic
writer, every checkpoint meets data through the one check, every value through one validator.
One test per behaviour; experiments/fault_cases.py runs the same cases as a user would."""
import errno
import os

import pytest

from skelgraph.data.synth_file import write_synthetic
from tests.test_cli_faults_21 import FT, TINY, one_line_error, run


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
