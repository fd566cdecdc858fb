"""Issue 12: every bad input and fault ends in one clear line (exit 1) naming the file and the
cause, and nothing already written is lost or left behind. One test per case; the case number
is the issue's."""
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch

from skelgraph.data.h5 import H5Skeletons
from skelgraph.data.synth_file import write_synthetic
from tests.conftest import REPO, shared_file
from tests.fault_helpers import TINY, one_line_error, run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "s.h5"
    write_synthetic(path, "ntu25", samples=12, classes=3, channels=3, seed=0)
    return path


@pytest.fixture(scope="module")
def pretrained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "pre"
    assert run("pretrain", data, "--out", out, *TINY).exit_code == 0
    return out


@pytest.fixture(scope="module")
def finetuned(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ft"
    result = run("finetune", data, "--out", out, "--init", "none", "--train-split", "train", "--test-split", "test",
                 *TINY, "--set", "warmup_epochs=0", "--set", "lr_steps=[]")
    assert result.exit_code == 0, result.output
    return out


# ----------------------------------------------------------------------------- 1 corrupt checkpoints

def corrupt_copy(run_dir, tmp_path, how):
    bad = tmp_path / "bad_run"
    bad.mkdir()
    original = (run_dir / "checkpoint.pt").read_bytes()
    data = original[: len(original) // 2] if how == "truncated" else np.random.default_rng(0).bytes(4096)
    (bad / "checkpoint.pt").write_bytes(data)
    (bad / "config.toml").write_text((run_dir / "config.toml").read_text())
    return bad


@pytest.mark.parametrize("how", ["truncated", "random"])
def test_evaluate_with_a_corrupt_checkpoint(finetuned, data, tmp_path, how):
    bad = corrupt_copy(finetuned, tmp_path, how)
    one_line_error(run("evaluate", bad, data), "checkpoint.pt: not a readable checkpoint")


def test_resume_from_a_corrupt_checkpoint_keeps_it(pretrained, data, tmp_path):
    bad = corrupt_copy(pretrained, tmp_path, "truncated")
    before = (bad / "checkpoint.pt").read_bytes()
    one_line_error(run("pretrain", data, "--out", bad, "--resume", *TINY), "checkpoint.pt: not a readable checkpoint")
    assert (bad / "checkpoint.pt").read_bytes() == before


def test_finetune_from_a_corrupt_pretraining_checkpoint(pretrained, data, tmp_path):
    bad = corrupt_copy(pretrained, tmp_path, "random")
    one_line_error(run("finetune", data, "--out", tmp_path / "ft", "--pretrained", bad, *TINY),
                   "checkpoint.pt: not a readable checkpoint")
    assert not (tmp_path / "ft").exists()


# ----------------------------------------------------------------------------- 2 every file fails

def test_when_every_file_fails_the_report_is_written_and_the_error_names_them(tmp_path):
    src = tmp_path / "raw"
    src.mkdir()
    (src / "S001C001P001R001A001.skeleton").write_text("2\n1\n")
    (src / "S001C001P001R001A002.skeleton").write_text("x\n")
    out = tmp_path / "o.h5"
    error = one_line_error(run("preprocess", "ntu", src, out), "o.h5: no sample could be read (2 failed",
                           "S001C001P001R001A001: truncated", "S001C001P001R001A002: line 1")
    assert "o.h5.report.txt" in error and not out.exists()
    report = (tmp_path / "o.h5.report.txt").read_text().splitlines()
    assert "0 written, 2 failed" in report[0] and report[1].startswith("# stopped: ") and len(report) == 4


# ----------------------------------------------------------------------------- 3, 4 metrics.jsonl

def test_resume_drops_a_torn_metrics_line(data, tmp_path):
    out = tmp_path / "run"
    assert run("pretrain", data, "--out", out, *TINY).exit_code == 0
    with (out / "metrics.jsonl").open("a") as f:
        f.write('{"time": "2026-11-30T12:00:00", "epoch": 2, "lo')  # killed during the append
    result = run("pretrain", data, "--out", out, "--resume", *TINY[:-2], "--epochs", "2", "--device", "cpu")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]


def test_fresh_run_refuses_a_stale_metrics_log(data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"epoch": 1, "loss": 0.5}\n')
    one_line_error(run("pretrain", data, "--out", out, *TINY), "holds metrics.jsonl of an earlier run")
    assert (out / "metrics.jsonl").read_text() == '{"epoch": 1, "loss": 0.5}\n'


# ----------------------------------------------------------------------------- 5 temporaries of killed runs

def test_a_killed_writers_temporary_is_removed(tmp_path):
    stale = tmp_path / ".o.h5.tmp-999999999"  # no such process
    stale.write_bytes(b"half an HDF5 file")
    src = shared_file("ntu_samples", "S001C001P001R001A001.skeleton")
    assert run("preprocess", "ntu", src, tmp_path / "o.h5").exit_code == 0
    assert not stale.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_killed_preprocess_leaves_nothing_after_the_next_run(tmp_path):
    """kill -9 of a real preprocess (workers), then a new run: only the new file and its report."""
    src = shared_file("nw_ucla", "all_sqe.tar.gz")
    out = tmp_path / "ucla.h5"
    proc = subprocess.Popen([sys.executable, "-m", "skelgraph", "preprocess", "nwucla", str(src), str(out)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1200):  # until the temporary exists (the samples are read after it is created)
        if list(tmp_path.glob(".ucla.h5.tmp-*")) or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no clean-up runs
    proc.wait()
    assert list(tmp_path.glob(".ucla.h5.tmp-*")) and not out.exists()  # killed while writing
    shared = shared_file("ntu_samples", "S001C001P001R001A001.skeleton")
    assert run("preprocess", "ntu", shared, out).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ucla.h5", "ucla.h5.report.txt"]


# ----------------------------------------------------------------------------- 6 config values

def test_negative_learning_rate_on_the_command_line(data, tmp_path):
    one_line_error(run("pretrain", data, "--out", tmp_path / "r", *TINY, "--lr", "-0.1"),
                   "command line: lr must be > 0, got -0.1")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("line, message", [("epochs = 0", "epochs must be >= 1"),
                                           ("batch_size = -4", "batch_size must be >= 1"),
                                           ("mask_ratio = 1.5", "mask_ratio must be in [0, 1)")])
def test_bad_value_in_a_config_file_names_file_and_key(data, tmp_path, line, message):
    config = tmp_path / "c.toml"
    config.write_text(line + "\n")
    one_line_error(run("pretrain", data, "--out", tmp_path / "r", "--config", config), "c.toml: " + message)
    assert not (tmp_path / "r").exists()


def test_label_fraction_out_of_range(data, tmp_path):
    one_line_error(run("finetune", data, "--out", tmp_path / "r", "--init", "none", *TINY,
                       "--set", "label_fraction=0"), "label_fraction must be in (0, 1]")
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- 7 device

@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu(data, tmp_path):
    one_line_error(run("pretrain", data, "--out", tmp_path / "r", *TINY[:-2], "--device", "cuda"),
                   "device 'cuda' was asked for, but no CUDA device is available")
    assert not (tmp_path / "r").exists()


def test_not_a_device_name(data, tmp_path):
    one_line_error(run("evaluate", tmp_path / "r", data, "--init", "none", "--knn", "3", "--device", "gpu0"),
                   "device 'gpu0': not a device name")


# ----------------------------------------------------------------------------- 8 layout connectivity

def test_layout_with_a_joint_no_bone_reaches(tmp_path):
    layout = tmp_path / "rig.toml"
    layout.write_text('name = "rig"\njoints = ["a", "b", "c"]\nbones = [["b", "a"]]\ncenter = "a"\n'
                      '[parts]\nx = ["a", "b"]\ny = ["c"]\n')
    np.save(tmp_path / "s.npy", np.ones((4, 3, 3), np.float32))
    one_line_error(run("preprocess", "numpy", tmp_path / "s.npy", tmp_path / "o.h5", "--layout", layout),
                   "rig.toml", "joint(s) c have no path of bones to the centre joint 'a'")


# ----------------------------------------------------------------------------- 9 no empty run directories

@pytest.mark.parametrize("args", [["--split", "no_such_split"], ["--config", "missing.toml"]])
def test_a_failed_pretrain_leaves_no_run_directory(data, tmp_path, args):
    result = run("pretrain", data, "--out", tmp_path / "r", *TINY, *args)
    assert result.exit_code == 1 and not (tmp_path / "r").exists()


def test_a_failed_finetune_leaves_no_run_directory(data, tmp_path):
    result = run("finetune", data, "--out", tmp_path / "r", "--init", "none", "--train-split", "nope", *TINY)
    one_line_error(result, "no split 'nope'")
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- 10 exit codes

@pytest.mark.parametrize("args", [["info", "missing.h5"], ["preprocess", "ntu", "missing_dir", "o.h5"],
                                  ["pretrain", "missing.h5", "--out", "r"], ["merge", "a.h5", "b.h5", "o.h5"]])
def test_a_missing_input_is_one_line_with_exit_1(tmp_path, args):
    os.chdir(tmp_path)
    one_line_error(run(*args), "missing" if "missing" in " ".join(args) else "a.h5", "no such file or directory")


def test_a_wrong_command_line_is_exit_2(data):
    assert run("info", data, "--no-such-flag").exit_code == 2
    assert run("preprocess", "nosuchkind", data, "o.h5").exit_code == 2


def test_help_states_the_exit_codes():
    for args in (["--help"], ["preprocess", "--help"], ["pretrain", "--help"]):
        assert "Exit codes: 0 success; 1 an expected failure" in " ".join(run(*args).output.split())


# ----------------------------------------------------------------------------- 11 the user's words

def test_binary_garbage_is_not_echoed(tmp_path):
    src = tmp_path / "raw"
    src.mkdir()
    (src / "S001C001P001R001A001.skeleton").write_bytes(np.random.default_rng(1).bytes(3000))
    error = one_line_error(run("preprocess", "ntu", src, tmp_path / "o.h5"), "binary content (not a text file)")
    assert error.isprintable() and "\\x" not in error and "b'" not in error


def test_foreign_hdf5_file(tmp_path):
    foreign = tmp_path / "other.h5"
    with h5py.File(foreign, "w") as f:
        f["images"] = np.zeros((2, 2))
    one_line_error(run("info", foreign), "other.h5: not a skelgraph dataset (missing keypoint")


def test_truncated_dataset_file(data, tmp_path):
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data.read_bytes()[:50_000])
    error = one_line_error(run("info", cut), "cut.h5: not a readable HDF5 file (truncated: was it written completely?)")
    assert "sblock" not in error


def test_unwritable_output_place(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    src = shared_file("ntu_samples", "S001C001P001R001A001.skeleton")
    one_line_error(run("preprocess", "ntu", src, blocker / "o.h5"), "o.h5: cannot write there",
                   "is a file, not a folder")


def test_output_that_is_a_directory(tmp_path):
    src = shared_file("ntu_samples", "S001C001P001R001A001.skeleton")
    one_line_error(run("preprocess", "ntu", src, tmp_path), "is a directory")


# ----------------------------------------------------------------------------- 12 masks that hide all or nothing

def test_pretrain_refuses_a_mask_that_hides_every_part(tmp_path):
    layout = tmp_path / "two.toml"
    layout.write_text('name = "two"\njoints = ["a", "b", "c"]\nbones = [["b", "a"], ["c", "a"]]\ncenter = "a"\n'
                      '[parts]\nx = ["a"]\ny = ["b", "c"]\n')
    np.save(tmp_path / "s.npy", np.random.default_rng(0).normal(size=(12, 3, 3)).astype(np.float32))
    data = tmp_path / "two.h5"
    assert run("preprocess", "numpy", tmp_path / "s.npy", data, "--layout", layout).exit_code == 0
    one_line_error(run("pretrain", data, "--out", tmp_path / "r", *TINY),
                   "layout 'two' has 2 body part(s) (x, y) and num_parts = 2 hides them all")
    assert not (tmp_path / "r").exists()
    one_line_error(run("pretrain", data, "--out", tmp_path / "r", *TINY, "--mask", "random-joint",
                       "--set", "mask_ratio=0.1"), "hides 0 of the 3 joints")


# ----------------------------------------------------------------------------- 14 alignment skipped

def test_layout_without_spine_says_alignment_was_skipped(tmp_path):
    layout = tmp_path / "rig.toml"
    layout.write_text('name = "rig"\njoints = ["a", "b", "c"]\nbones = [["b", "a"], ["c", "a"]]\ncenter = "a"\n'
                      '[parts]\nx = ["a"]\ny = ["b"]\nz = ["c"]\n')
    np.save(tmp_path / "s.npy", np.ones((4, 3, 3), np.float32))
    out = tmp_path / "o.h5"
    result = run("preprocess", "numpy", tmp_path / "s.npy", out, "--layout", layout)
    assert result.exit_code == 0 and "3D alignment skipped: layout 'rig' has no spine/shoulders" in result.output
    assert H5Skeletons(out).provenance["align"] is False


# ----------------------------------------------------------------------------- 15 numpy persons

def test_numpy_single_person_arrays_store_one_person(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((1, 5, 25, 3), np.float32))
    np.save(tmp_path / "b.npy", np.ones((5, 25, 3), np.float32))
    out = tmp_path / "o.h5"
    assert run("preprocess", "numpy", tmp_path, out).exit_code == 0
    assert H5Skeletons(out).num_persons == 1


def test_numpy_keeps_two_persons_when_a_file_has_them(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((1, 5, 25, 3), np.float32))
    np.savez(tmp_path / "b.npz", keypoint=np.ones((2, 5, 25, 3), np.float32))
    out = tmp_path / "o.h5"
    assert run("preprocess", "numpy", tmp_path, out, "--no-center", "--no-align").exit_code == 0
    store = H5Skeletons(out)
    assert store.num_persons == 2 and store.read(store.names.index("b")).keypoint[1].all()


# ----------------------------------------------------------------------------- 16 labels for every reader

BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 3 Xposition Yposition Zposition
  JOINT Spine
  {
    OFFSET 0 1 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
0 0 0 0 0 0
1 0 0 0 0 0
"""


def test_bvh_labelled_by_a_label_file(tmp_path):
    for name in ("walk_01", "jump_01", "walk_02"):
        (tmp_path / f"{name}.bvh").write_text(BVH)
    labels = tmp_path / "labels.csv"
    labels.write_text("walk_01,walk\njump_01,jump\nwalk_02,walk\n")
    out = tmp_path / "o.h5"
    result = run("preprocess", "bvh", tmp_path, out, "--label-file", labels)
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    assert store.class_names == ["jump", "walk"] and store.labels.tolist() == [0, 1, 1]


def test_numpy_class_names_from_a_label_file(tmp_path):
    for name in ("a", "b"):
        np.save(tmp_path / f"{name}.npy", np.ones((5, 25, 3), np.float32))
    labels = tmp_path / "l.json"
    labels.write_text('{"a": "sit", "b": "stand"}')
    out = tmp_path / "o.h5"
    assert run("preprocess", "numpy", tmp_path, out, "--label-file", labels).exit_code == 0
    assert "0:sit, 1:stand" in run("info", out).output


def test_label_pattern_by_name_for_bvh(tmp_path):
    for name in ("subj1_walk", "subj2_run"):
        (tmp_path / f"{name}.bvh").write_text(BVH)
    out = tmp_path / "o.h5"
    assert run("preprocess", "bvh", tmp_path, out, "--label-from-name", r"subj(?P<subject>\d+)_(?P<class>\w+)"
               ).exit_code == 0
    store = H5Skeletons(out)
    assert store.class_names == ["run", "walk"] and store.meta(store.names.index("subj2_run"))["subject"] == 2


def test_bad_label_file_is_one_line(tmp_path):
    (tmp_path / "a.bvh").write_text(BVH)
    labels = tmp_path / "labels.csv"
    labels.write_text("a,walk,1\n")
    one_line_error(run("preprocess", "bvh", tmp_path / "a.bvh", tmp_path / "o.h5", "--label-file", labels),
                   "labels.csv: line 1: expected 'name,class' or 'name,class,first,last'")


# ----------------------------------------------------------------------------- 17 all samples without editing TOML

def test_all_samples_whatever_split_the_config_names(data, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('split = "xview_train"\n')  # a split this file does not have
    one_line_error(run("pretrain", data, "--out", tmp_path / "r0", "--config", config, *TINY), "no split 'xview_train'")
    for flag in (["--all-samples"], ["--set", 'split=""']):
        out = tmp_path / f"r{len(flag)}"
        assert run("pretrain", data, "--out", out, "--config", config, *TINY, *flag).exit_code == 0
        assert "split" not in (out / "config.toml").read_text().split("\n", 1)[1]


# ----------------------------------------------------------------------------- 18 progress in a log

def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv("SKELGRAPH_PROGRESS_S", "0")
    result = run("preprocess", "ntu", shared_file("ntu_samples"), tmp_path / "o.h5")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.startswith("preprocess ntu: ")]
    assert lines[0].startswith("preprocess ntu: 1/15 file (7%)") and lines[-1].startswith("preprocess ntu: 15/15")


# ----------------------------------------------------------------------------- 19 centring in --help

def test_help_says_centring_is_per_frame():
    assert "frame by frame" in " ".join(run("preprocess", "--help").output.split())


# ----------------------------------------------------------------------------- a thin CLI

def test_no_library_module_imports_the_cli():
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "skelgraph").rglob("*.py")
                 if p.name not in ("cli.py", "__main__.py") and "skelgraph.cli" in p.read_text()]
    assert offenders == []


def test_preprocess_imports_neither_torch_nor_pyg(tmp_path):
    code = ("import sys; from skelgraph.cli import main; "
            f"main(['preprocess', 'ntu', {str(shared_file('ntu_samples'))!r}, {str(tmp_path / 'o.h5')!r}], "
            "standalone_mode=False); "
            "print(sorted(m for m in ('torch', 'torch_geometric') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
