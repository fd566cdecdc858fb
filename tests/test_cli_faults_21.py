"""Issue 21, the second blind fault set: nothing a user owns is deleted, nothing wrong is silent.
One test per case; experiments/fault_cases.py runs the same cases as a user would."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from skelgraph.data.synth_file import write_synthetic
from tests.conftest import REPO
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


@pytest.fixture(scope="module")
def pretrained_wide(data, tmp_path_factory):
    """A pre-training run with a non-default width and conv (what --resume must keep)."""
    out = tmp_path_factory.mktemp("runs") / "pre"
    result = run("pretrain", data, "--out", out, *TINY, "--conv", "gcn", "--set", "hidden_channels=12")
    assert result.exit_code == 0, result.output
    return out


# ----------------------------------------------------------------------------- 1 demo --out

def test_demo_refuses_a_users_folder_and_leaves_it_whole(data, tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    shutil.copy(data, out / "synthetic.h5")  # looks like a demo's, but no demo recorded it
    (out / "notes.txt").write_text("x")
    one_line_error(run("demo", "--out", out), "not a demo run", "nothing was removed")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "synthetic.h5"]


def test_demo_rerun_removes_only_what_the_earlier_demo_recorded(tmp_path):
    from skelgraph.train.demo import DEMO_RECORD, prepare_demo_dir

    out = tmp_path / "d"
    (out / "pretrain").mkdir(parents=True)
    (out / "pretrain" / "checkpoint.pt").write_text("demo's")
    (out / "summary.json").write_text("{}")
    (out / DEMO_RECORD).write_text(json.dumps({"created": ["pretrain", "summary.json", "../elsewhere"]}))
    (out / "notes.txt").write_text("the user's")
    removed = prepare_demo_dir(out)
    assert sorted(p.name for p in removed) == ["pretrain", "summary.json"]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


# ----------------------------------------------------------------------------- 2 a checkpoint meets other data

@pytest.mark.parametrize("layout, channels, message", [
    ("kinect_v1_20", 3, "layout 'kinect_v1_20' (20 joints) instead of 'ntu25' (25 joints)"),
    ("ntu25", 2, "trained on 3-D coordinates (3 channels), the data has 2"),
])
def test_evaluate_refuses_data_of_another_skeleton(finetuned, tmp_path, layout, channels, message):
    other = tmp_path / "other.h5"
    write_synthetic(other, layout, samples=12, classes=3, channels=channels, seed=1)
    one_line_error(run("evaluate", finetuned, other), "cannot be used on", message)
    assert not (finetuned / "metrics.json").exists() or "other.h5" not in (finetuned / "metrics.json").read_text()


def test_evaluate_refuses_data_with_other_classes(finetuned, tmp_path):
    other = tmp_path / "five.h5"
    write_synthetic(other, "ntu25", samples=12, classes=5, channels=3, seed=1)
    one_line_error(run("evaluate", finetuned, other), "its classifier has 3 classes, the data has 5")


def test_finetune_from_a_pretrained_encoder_refuses_another_layout(pretrained_wide, tmp_path):
    other = tmp_path / "ucla.h5"
    write_synthetic(other, "kinect_v1_20", samples=12, classes=3, channels=3, seed=1)
    one_line_error(run("finetune", other, "--out", tmp_path / "ft", "--pretrained", pretrained_wide,
                       "--train-split", "train", *TINY), "layout 'kinect_v1_20'")
    assert not (tmp_path / "ft").exists()


# ----------------------------------------------------------------------------- 4 one process per run directory

def test_a_live_run_holds_its_directory(data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'pid %d' % os.getpid()); print('locked', flush=True); "
        "time.sleep(60)"), str(out / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        one_line_error(run("pretrain", data, "--out", out, *TINY), "is in use by another run", f"pid {holder.pid}")
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written beside the holder's
    finally:
        holder.kill()
        holder.wait()


def test_a_dead_runs_lock_does_not_keep_the_directory(data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text("pid 999999999 since 2026-01-01T00:00:00\n")  # its process is gone
    assert run("pretrain", data, "--out", out, *TINY).exit_code == 0
    assert (out / "checkpoint.pt").exists() and not (out / ".lock").exists()


def test_two_runs_started_together_one_refused(data, tmp_path):
    """Two real processes on one --out: exactly one runs, the other stops with one line."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "skelgraph", "pretrain", str(data), "--out", str(tmp_path / "run"), *TINY]
    procs = [subprocess.Popen(command + ["--seed", str(seed)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 1], results
    refused = next(err for code, err in results if code == 1)
    assert "is in use by another run" in refused or "already holds a run" in refused, refused
    records = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(records) == 1  # one run's log, not two interleaved


def test_a_failed_fresh_run_takes_back_its_files(tmp_path):
    bad = tmp_path / "bad.h5"
    write_synthetic(bad, "ntu25", samples=12, classes=3, channels=3, seed=0)
    result = run("pretrain", bad, "--out", tmp_path / "run", *TINY, "--split", "nope")
    assert result.exit_code == 1 and not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- 5 --resume keeps the run's settings

def test_resume_takes_the_runs_own_architecture(data, pretrained_wide, tmp_path):
    run_dir = tmp_path / "pre"
    shutil.copytree(pretrained_wide, run_dir)
    result = run("pretrain", data, "--out", run_dir, "--resume", "--epochs", "2")  # no --set, no --conv
    assert result.exit_code == 0, result.output
    config = (run_dir / "config.toml").read_text()
    assert "hidden_channels = 12" in config and 'conv = "gcn"' in config and "epochs = 2" in config
    assert [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_resume_refuses_a_contradicting_flag_in_one_line(pretrained_wide, data, tmp_path):
    run_dir = tmp_path / "pre"
    shutil.copytree(pretrained_wide, run_dir)
    before = (run_dir / "config.toml").read_text()
    line = one_line_error(run("pretrain", data, "--out", run_dir, "--resume", "--epochs", "2", "--lr", "0.01",
                              "--conv", "gin"), "--resume continues the run with its own settings")
    assert "lr = 0.01" in line and "conv = 'gin' (the run's: 'gcn')" in line
    assert (run_dir / "config.toml").read_text() == before  # not rewritten to what did not run


def test_finetune_resume_takes_the_runs_settings(finetuned, data, tmp_path):
    run_dir = tmp_path / "ft"
    shutil.copytree(finetuned, run_dir)
    result = run("finetune", data, "--out", run_dir, "--resume", "--epochs", "2")  # no TINY: the run's own
    assert result.exit_code == 0, result.output
    assert "hidden_channels = 8" in (run_dir / "config.toml").read_text()


def test_library_resume_with_another_config_is_refused(pretrained_wide, data, tmp_path):
    from skelgraph.train.common import RunDirError
    from skelgraph.train.config import PretrainConfig, load_config
    from skelgraph.train.pretrain import pretrain

    run_dir = tmp_path / "pre"
    shutil.copytree(pretrained_wide, run_dir)
    config = load_config(PretrainConfig, run_dir / "config.toml", hidden_channels=16, epochs=2)
    with pytest.raises(RunDirError, match=r"hidden_channels = 16 \(the run's: 12\)"):
        pretrain(config, data, run_dir, resume=True, progress=False)


def test_resume_refuses_data_of_another_layout(pretrained_wide, tmp_path):
    run_dir = tmp_path / "pre"
    shutil.copytree(pretrained_wide, run_dir)
    other = tmp_path / "ucla.h5"
    write_synthetic(other, "kinect_v1_20", samples=12, classes=3, channels=3, seed=1)
    one_line_error(run("pretrain", other, "--out", run_dir, "--resume", "--epochs", "2"), "layout 'kinect_v1_20'")


# ----------------------------------------------------------------------------- disk full

def small_filesystem_available():
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_small_fs = pytest.mark.skipif(not small_filesystem_available(),
                                    reason="no unprivileged mount namespace (unshare -rm) for a tiny filesystem")


def on_full_disk(tmp_path, size, *args):
    """Runs `skelgraph ARGS` in a private mount namespace where tmp_path/small is a tmpfs of
    ``size``; returns (exit code, stderr, files left in small/)."""
    small = tmp_path / "small"
    small.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    command = " ".join(["mount -t tmpfs -o size=" + size, "tmpfs", str(small), "&&", sys.executable, "-m",
                        "skelgraph", *map(str, args), "; code=$?; find", str(small), "-mindepth 1", "; exit $code"])
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", command], env=env, capture_output=True, text=True,
                          cwd=tmp_path)
    left = [line for line in proc.stdout.splitlines() if line.startswith(str(small))]
    return proc.returncode, proc.stderr, left


def assert_one_clean_line(code, stderr, *parts):
    assert code == 1, (code, stderr)
    assert "Traceback" not in stderr and "HDF5-DIAG" not in stderr, stderr
    last = [line for line in stderr.splitlines() if line.strip()][-1]
    assert last.startswith("Error: "), stderr
    for part in parts:
        assert part in last, last


@needs_small_fs
def test_preprocess_on_a_full_disk(tmp_path):
    for i in range(40):
        np.save(tmp_path / f"a{i:02d}.npy", np.random.default_rng(i).normal(size=(1, 60, 25, 3)))
    code, stderr, left = on_full_disk(tmp_path, "48k", "preprocess", "numpy", tmp_path, tmp_path / "small/o.h5",
                                      "--no-align")
    assert_one_clean_line(code, stderr, "small/o.h5", "No space left on device", "nothing was replaced")
    assert not any(".tmp-" in p or p.endswith("o.h5") for p in left), left  # no half file, no temporary


@needs_small_fs
def test_pretrain_on_a_full_disk(data, tmp_path):
    code, stderr, left = on_full_disk(tmp_path, "20k", "pretrain", data, "--out", tmp_path / "small/run", *TINY)
    assert_one_clean_line(code, stderr, "checkpoint.pt: cannot write (No space left on device)")
    assert left == [], left  # the failed fresh run took back its config.toml, metrics.jsonl and folder


@needs_small_fs
def test_evaluate_on_a_full_disk(finetuned, data, tmp_path):
    code, stderr, left = on_full_disk(tmp_path, "8k", "evaluate", finetuned, data, "--out", tmp_path / "small/ev")
    assert_one_clean_line(code, stderr, "small/ev/", "No space left on device")
    assert not any(p.endswith(".png") or ".tmp-" in p for p in left), left  # no 0-byte picture, no temporary


def test_a_write_that_fails_on_purpose_names_the_file(tmp_path, monkeypatch):
    """Without a tiny filesystem: the atomic writer's own error, a short write refused."""
    import errno

    from skelgraph.data import files

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    target = tmp_path / "config.toml"
    target.write_text("old")
    with pytest.raises(files.WriteError, match=r"config.toml: cannot write \(No space left on device\); nothing "
                                               r"was replaced"):
        files.atomic_write_text(target, "new")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_hdf5_never_sees_a_failed_write(tmp_path):
    """A full disk reaches HDF5 only through GuardedFile: a clean error and a process that ends
    normally (HDF5 that saw the failure crashed at exit, 139)."""
    script = (
        "import errno, os, sys; from pathlib import Path; import numpy as np\n"
        "from skelgraph.data import files, h5\n"
        "from skelgraph.data.sequence import SkeletonError, SkeletonSequence\n"
        "from skelgraph.graph.layouts import get_layout\n"
        "real = files.GuardedFile.write\n"
        "def write(self, data):\n"
        "    if self._f.tell() > 20000 and self.error is None: self.error = OSError(errno.ENOSPC, 'full')\n"
        "    return real(self, data)\n"
        "files.GuardedFile.write = write\n"
        "seqs = (SkeletonSequence(keypoint=np.random.rand(1, 300, 25, 3).astype('f4'), label=0, name=f's{i}')"
        " for i in range(50))\n"
        "try:\n"
        "    h5.write_h5(Path(sys.argv[1]), seqs, layout=get_layout('ntu25'), num_persons=1)\n"
        "except SkeletonError as err:\n"
        "    print(err)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "o.h5")], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1"), timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert "o.h5: cannot write (No space left on device); nothing was replaced" in proc.stdout
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- 3 damaged archives

@pytest.fixture(scope="module")
def ucla_archive():
    from tests.conftest import shared_file

    return shared_file("nw_ucla", "all_sqe.tar.gz")


@pytest.mark.parametrize("damage, message", [
    ("flip", "damaged archive, read"), ("cut", "(truncated: Compressed file ended"),
])
def test_a_damaged_archive_is_an_error_naming_it(ucla_archive, tmp_path, damage, message):
    raw = bytearray(ucla_archive.read_bytes())
    middle = len(raw) // 2
    if damage == "flip":
        raw[middle:middle + 64] = bytes(b ^ 0xFF for b in raw[middle:middle + 64])
    else:
        raw = raw[:middle]
    bad = tmp_path / "copy.tar.gz"
    bad.write_bytes(bytes(raw))
    line = one_line_error(run("preprocess", "nwucla", bad, tmp_path / "o.h5"), "copy.tar.gz: ", message)
    assert "Aborted" not in line and "see " in line
    assert not (tmp_path / "o.h5").exists()
    assert "# stopped: " in (tmp_path / "o.h5.report.txt").read_text()  # the report, in this case too


# ----------------------------------------------------------------------------- 6 split files

def numpy_folder(path, good=4, bad_first=False):
    path.mkdir()
    if bad_first:
        (path / "a0.npy").write_bytes(b"not numpy")
    for i in range(1, good + 1):
        np.save(path / f"a{i}.npy", np.random.default_rng(i).normal(size=(1, 10, 25, 3)))
    return path


def test_a_split_file_naming_no_sample_is_refused(tmp_path):
    src = numpy_folder(tmp_path / "np")
    (tmp_path / "split.json").write_text(json.dumps({"train": ["nope1", "nope2"], "test": ["a1"]}))
    one_line_error(run("preprocess", "numpy", src, tmp_path / "o.h5", "--split-file", tmp_path / "split.json"),
                   "split.json: split 'train' names 2 sample(s), none of them in the data")
    assert not (tmp_path / "o.h5").exists()


def test_split_file_names_that_match_no_sample_are_reported(tmp_path):
    src = numpy_folder(tmp_path / "np")
    (tmp_path / "split.json").write_text(json.dumps({"train": ["nope1", "a2"], "test": ["a1"]}))
    assert run("preprocess", "numpy", src, tmp_path / "o.h5", "--split-file", tmp_path / "split.json").exit_code == 0
    assert "1 of its 2 names match no sample written: nope1" in (tmp_path / "o.h5.report.txt").read_text()


def test_training_on_an_empty_split_names_it(tmp_path):
    import h5py

    data = tmp_path / "s.h5"
    write_synthetic(data, "ntu25", samples=12, classes=3, channels=3, seed=0)
    with h5py.File(data, "a") as f:  # an empty split, as older versions stored for unknown names
        f["split"].create_dataset("empty", data=np.zeros(0, np.int64))
    one_line_error(run("pretrain", data, "--out", tmp_path / "run", *TINY, "--split", "empty"),
                   "split 'empty' holds no sample to train on")


def test_no_labelled_sample_says_the_whole_file(tmp_path):
    src = numpy_folder(tmp_path / "np")
    assert run("preprocess", "numpy", src, tmp_path / "o.h5").exit_code == 0  # no labels at all
    one_line_error(run("finetune", tmp_path / "o.h5", "--out", tmp_path / "run", "--init", "none", *TINY),
                   "the whole file (no split given) has no labelled sample")


# ----------------------------------------------------------------------------- 7 reports

def test_a_failed_run_keeps_the_good_datasets_report(tmp_path):
    src = numpy_folder(tmp_path / "np")
    out = tmp_path / "o.h5"
    assert run("preprocess", "numpy", src, out).exit_code == 0
    good = (tmp_path / "o.h5.report.txt").read_text()
    (tmp_path / "np" / "a0.npy").write_bytes(b"broken")
    line = one_line_error(run("preprocess", "numpy", src, out, "--strict"), "a0.npy", "o.h5.failed.report.txt")
    assert (tmp_path / "o.h5.report.txt").read_text() == good and out.exists()
    failed = (tmp_path / "o.h5.failed.report.txt").read_text()
    assert "# stopped: " in failed and "a0.npy" in failed, (line, failed)


def test_a_bad_first_file_is_skipped_like_any_bad_file(tmp_path):
    src = numpy_folder(tmp_path / "np", bad_first=True)
    result = run("preprocess", "numpy", src, tmp_path / "o.h5")
    assert result.exit_code == 0 and "wrote 4 samples" in result.output, result.output
    assert "a0.npy" in (tmp_path / "o.h5.report.txt").read_text()


def test_no_3d_hint_for_2d_data(tmp_path):
    from tests.conftest import shared_file

    src = shared_file("kinetics_samples", "kinetics_val")
    result = run("preprocess", "kinetics", src, tmp_path / "k.h5")
    assert result.exit_code == 0 and "3D alignment" not in result.output, result.output
    assert "3D alignment" not in (tmp_path / "k.h5.report.txt").read_text()


# ----------------------------------------------------------------------------- values and devices

@pytest.mark.parametrize("args", [
    ["synth", "x.h5", "--seed", "-1"],
    ["pretrain", "DATA", "--out", "run", "--seed", "-5"],
    ["pretrain", "DATA", "--out", "run", "--seed", "99999999999999999999"],
    ["evaluate", "run", "DATA", "--seed", "-1"],
])
def test_a_seed_out_of_range_is_a_usage_error(data, tmp_path, args):
    result = run(*[str(data) if a == "DATA" else str(tmp_path / a) if a in ("x.h5", "run") else a for a in args])
    assert result.exit_code == 2 and "'--seed'" in result.output and "Traceback" not in result.output, result.output


def test_a_seed_out_of_range_in_a_config_file(data, tmp_path):
    (tmp_path / "c.toml").write_text("seed = -5\n")
    one_line_error(run("pretrain", data, "--out", tmp_path / "run", "--config", tmp_path / "c.toml"),
                   "c.toml: seed must be in [0, 4294967295], got -5")


@pytest.mark.parametrize("device", ["mps", "xpu", "meta"])
def test_a_device_this_torch_cannot_use(data, tmp_path, device):
    import torch

    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    one_line_error(run("pretrain", data, "--out", tmp_path / "run", *TINY[:-2], "--device", device),
                   f"device {device!r}")
    assert not (tmp_path / "run").exists()


def test_unset_features_come_from_the_pretraining_run(data, tmp_path):
    pre = tmp_path / "pre"
    assert run("pretrain", data, "--out", pre, *TINY, "--set", 'features=["position","motion"]').exit_code == 0
    result = run("finetune", data, "--out", tmp_path / "ft", "--pretrained", pre, "--train-split", "train", *TINY)
    assert result.exit_code == 0, result.output
    assert 'features = ["position", "motion"]' in (tmp_path / "ft" / "config.toml").read_text()
