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
