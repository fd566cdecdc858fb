import json
import os
import subprocess
import sys
import time

import pytest
import torch

from skelgraph.data.synth_file import write_synthetic
from skelgraph.train.config import PretrainConfig, load_config
from skelgraph.train.common import RunDirError
from skelgraph.train.pretrain import load_pretrained, pretrain

TINY = dict(epochs=3, batch_size=16, base_batch_size=16, lr=2e-3, num_frames=16, hidden_channels=16,
            split="train")


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "synth.h5"
    write_synthetic(path, "ntu25", samples=60, classes=5, channels=3, seed=0)
    return path


def test_loss_falls_and_run_dir_is_complete(synth_file, tmp_path):
    config = load_config(PretrainConfig, None, **TINY | {"epochs": 4})
    pretrain(config, synth_file, tmp_path / "run", progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert records[-1]["loss"] < records[0]["loss"]
    assert records[0]["samples"] == 50  # the train split
    model, state = load_pretrained(tmp_path / "run")
    assert state["epoch"] == 4 and model.hidden_channels == 16
    assert (tmp_path / "run" / "config.toml").read_text().count("hidden_channels = 16") == 1


def test_edge_reconstruction_is_trained_when_weighted(synth_file, tmp_path):
    config = load_config(PretrainConfig, None, **TINY | {"epochs": 1, "edge_weight": 0.5})
    metrics = pretrain(config, synth_file, tmp_path / "run", progress=False)
    assert metrics["edge_loss"] > 0


def test_random_joint_masking_runs(synth_file, tmp_path):
    config = load_config(PretrainConfig, None, **TINY | {"epochs": 1, "mask": "random-joint"})
    assert pretrain(config, synth_file, tmp_path / "run", progress=False)["joint_loss"] > 0


def test_augmentation_changes_what_the_model_sees(synth_file, tmp_path):
    plain = pretrain(load_config(PretrainConfig, None, **TINY | {"epochs": 1}), synth_file, tmp_path / "a",
                     progress=False)
    config = load_config(PretrainConfig, None, **TINY | {"epochs": 1, "augment": True, "aug_rotate": 45.0})
    augmented = pretrain(config, synth_file, tmp_path / "b", progress=False)
    again = pretrain(config, synth_file, tmp_path / "c", progress=False)
    assert augmented["loss"] != plain["loss"]
    assert augmented["loss"] == again["loss"]  # seeded


def test_existing_run_needs_resume(synth_file, tmp_path):
    config = load_config(PretrainConfig, None, **TINY | {"epochs": 1})
    pretrain(config, synth_file, tmp_path / "run", progress=False)
    with pytest.raises(RunDirError, match="--resume"):
        pretrain(config, synth_file, tmp_path / "run", progress=False)


def _cli(*args):
    return [sys.executable, "-m", "skelgraph", "pretrain", *map(str, args)]


FLAGS = ["--epochs", "4", "--batch-size", "8", "--seed", "3", "--split", "train"]


def _run(cmd):
    result = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def _tiny_config(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text("num_frames = 16\nhidden_channels = 16\nbase_batch_size = 8\nlr = 2e-3\n")
    return path


@pytest.mark.slow
def test_resume_after_kill_equals_uninterrupted_run(synth_file, tmp_path):
    config = _tiny_config(tmp_path)
    _run(_cli(synth_file, "--config", config, "--out", tmp_path / "full", *FLAGS))
    killed = subprocess.Popen(_cli(synth_file, "--config", config, "--out", tmp_path / "cut", *FLAGS), env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "cut" / "checkpoint.pt"
    deadline = time.time() + 120
    while not checkpoint.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    killed.kill()
    killed.wait()
    reached = torch.load(checkpoint, weights_only=False)["epoch"]
    assert reached < 4, "the run finished before it could be killed: nothing was resumed"
    _run(_cli(synth_file, "--config", config, "--out", tmp_path / "cut", *FLAGS, "--resume"))
    full = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=False)["model"]
    resumed = torch.load(checkpoint, weights_only=False)
    assert resumed["epoch"] == 4
    for key, value in full.items():
        assert torch.equal(value, resumed["model"][key]), key
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3, 4]


@pytest.mark.slow
def test_two_process_gloo_run(synth_file, tmp_path):
    config = _tiny_config(tmp_path)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "skelgraph", "pretrain", str(synth_file), "--config", str(config), "--out", str(tmp_path / "ddp"),
           "--epochs", "2", "--batch-size", "8", "--split", "train", "--device", "cpu"]
    result = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]  # only rank 0 writes
    assert records[0]["samples"] == 50  # both ranks' samples, reduced
    assert torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=False)["epoch"] == 2


def test_cli_split_repeated_pretrains_on_the_union(synth_file, tmp_path):
    from click.testing import CliRunner

    from skelgraph.cli import main

    result = CliRunner().invoke(main, ["pretrain", str(synth_file), "--out", str(tmp_path / "run"), "--split", "train",
                                       "--split", "test", "--epochs", "1", "--batch-size", "32", "--set",
                                       "num_frames=8", "--set", "hidden_channels=8"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert record["samples"] == 60  # train (50) + test (10)
    assert 'split = ["train", "test"]' in (tmp_path / "run" / "config.toml").read_text()


def test_contrastive_pretraining_trains_the_pooled_features(synth_file, tmp_path):
    config = load_config(PretrainConfig, None, **TINY | {"epochs": 2, "contrastive_weight": 1.0,
                                                         "features": ["position", "motion"]})
    pretrain(config, synth_file, tmp_path / "run", progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["contrastive_loss"] > 0 for r in records)
    assert records[-1]["contrastive_loss"] < records[0]["contrastive_loss"]
    model, _ = load_pretrained(tmp_path / "run")
    assert model.projector is not None


def test_contrastive_forward_needs_the_other_view(synth_file):
    from torch_geometric.loader import DataLoader

    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.train.pretrain import build_mask, build_model

    config = PretrainConfig(contrastive_weight=1.0, hidden_channels=8, num_frames=8)
    batch = build_mask(config, torch.Generator().manual_seed(0))(
        next(iter(DataLoader(SkeletonDataset(synth_file, num_frames=8), batch_size=4))))
    with pytest.raises(ValueError, match="other_view"):
        build_model(config, 3)(batch)
