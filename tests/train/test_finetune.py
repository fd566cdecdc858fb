import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from skelgraph.cli import main
from skelgraph.data.dataset import SkeletonDataset
from skelgraph.data.synth_file import write_synthetic
from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config
from skelgraph.nn.strl import PretrainedMismatchError, STRLClassifier
from skelgraph.train.finetune import finetune, load_finetuned, param_groups
from skelgraph.train.common import RunDirError
from skelgraph.train.pretrain import pretrain
from skelgraph.train.subset import label_fraction_indices

# lr 0.4 at batch 128 is 0.025 at batch 8 (linear scaling); 1 warm-up epoch
TINY = dict(epochs=2, batch_size=8, base_batch_size=128, lr=0.4, warmup_epochs=1, num_frames=16,
            hidden_channels=16, train_split="train", test_split="test", eval_every=100)
TINY_TOML = ("num_frames = 16\nhidden_channels = 16\nbatch_size = 8\nbase_batch_size = 128\nlr = 0.4\n"
             "warmup_epochs = 1\ntrain_split = \"train\"\ntest_split = \"test\"\n")


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "synth.h5"
    write_synthetic(path, "ntu25", samples=60, classes=5, channels=3, seed=0)
    return path


@pytest.fixture(scope="module")
def pretrained(synth_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "run"
    config = load_config(PretrainConfig, None, epochs=1, batch_size=16, base_batch_size=16, lr=2e-3, num_frames=16,
                         hidden_channels=16, split="train")
    pretrain(config, synth_file, out, progress=False)
    return out


def _config(**changes):
    return load_config(FinetuneConfig, None, **TINY | changes)


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# -- label-fraction subsets ---------------------------------------------------------------------

def test_label_fraction_subset_is_class_balanced():
    labels = np.repeat(np.arange(4), 50)
    chosen = label_fraction_indices(labels, 0.1, seed=0)
    assert np.bincount(labels[chosen]).tolist() == [5, 5, 5, 5]


def test_label_fraction_keeps_at_least_one_per_class():
    labels = np.array([0] * 30 + [1] * 3 + [-1] * 5)
    chosen = label_fraction_indices(labels, 0.01, seed=0)
    assert sorted(labels[chosen].tolist()) == [0, 1]


def test_label_fraction_subset_is_seeded():
    labels = np.repeat(np.arange(5), 40)
    assert np.array_equal(label_fraction_indices(labels, 0.1, 3), label_fraction_indices(labels, 0.1, 3))
    assert not np.array_equal(label_fraction_indices(labels, 0.1, 3), label_fraction_indices(labels, 0.1, 4))


def test_label_fraction_run_trains_on_the_subset(synth_file, tmp_path):
    finetune(_config(epochs=1, init="none", label_fraction=0.1), synth_file, tmp_path / "run", progress=False)
    assert _records(tmp_path / "run")[0]["samples"] == 5  # one per class of 10


# -- training ---------------------------------------------------------------------------------

def test_finetuning_raises_train_accuracy_above_chance(synth_file, pretrained, tmp_path):
    metrics = finetune(_config(epochs=10), synth_file, tmp_path / "run", pretrained=pretrained, progress=False)
    records = _records(tmp_path / "run")
    assert [r["epoch"] for r in records] == list(range(1, 11))
    assert records[-1]["loss"] < records[0]["loss"]
    assert metrics["train_acc"] > 30  # chance: 20 % (5 classes)
    assert "test_top1" in metrics and "test_top1" not in records[0]  # eval at the last epoch only
    report = json.loads((tmp_path / "run" / "load_report.json").read_text())
    assert "embed.weight" in report["loaded"] and "pos_embed" in report["missing"]


def test_resume_equals_uninterrupted(synth_file, pretrained, tmp_path):
    finetune(_config(epochs=4), synth_file, tmp_path / "full", pretrained=pretrained, progress=False)
    finetune(_config(epochs=2), synth_file, tmp_path / "cut", pretrained=pretrained, progress=False)
    finetune(_config(epochs=4), synth_file, tmp_path / "cut", resume=True, progress=False)
    full, cut = load_finetuned(tmp_path / "full"), load_finetuned(tmp_path / "cut")
    assert cut[1]["epoch"] == 4
    for key, value in full[0].state_dict().items():
        assert torch.equal(value, cut[0].state_dict()[key]), key
    assert [r["epoch"] for r in _records(tmp_path / "cut")] == [1, 2, 3, 4]


def test_resume_equals_uninterrupted_with_onednn_products(synth_file, pretrained, tmp_path, monkeypatch):
    # every product through oneDNN, and its one-time check run afresh at each start, as in a new
    # process: a resumed run's first product must not move the random state it restored
    import skelgraph.nn.linear as linear_module

    if not linear_module.onednn_linear_works():
        pytest.skip("this PyTorch build has no working oneDNN linear")
    monkeypatch.setattr(linear_module, "ONEDNN_MIN_ROWS", 1)
    runs = [(4, "full", False), (2, "cut", False), (4, "cut", True)]
    for epochs, name, resume in runs:
        linear_module.onednn_linear_works.cache_clear()
        finetune(_config(epochs=epochs), synth_file, tmp_path / name, pretrained=pretrained, resume=resume,
                 progress=False)
    full, cut = load_finetuned(tmp_path / "full"), load_finetuned(tmp_path / "cut")
    for key, value in full[0].state_dict().items():
        assert torch.equal(value, cut[0].state_dict()[key]), key


def test_linear_probe_keeps_the_encoder_frozen(synth_file, pretrained, tmp_path):
    finetune(_config(protocol="linear"), synth_file, tmp_path / "run", pretrained=pretrained, progress=False)
    model, state = load_finetuned(tmp_path / "run")
    encoder = torch.load(pretrained / "checkpoint.pt", weights_only=False)["model"]
    assert state["kind"] == "linear"
    assert torch.equal(model.encoder[1].mlp[0].weight, encoder["encoder.1.mlp.0.weight"])


def test_encoder_lr_scale_gives_the_encoder_its_own_lr():
    model = STRLClassifier(3, 5, hidden_channels=16)
    groups = param_groups(model, 0.1, encoder_lr_scale=0.25)
    encoder = {id(p) for name, p in model.named_parameters() if name.startswith(("embed.", "encoder"))}
    assert [g["lr"] for g in groups] == [0.025, 0.1]
    assert {id(p) for p in groups[0]["params"]} == encoder
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(model.parameters()))


def test_encoder_lr_scale_one_is_a_single_group():
    model = STRLClassifier(3, 5, hidden_channels=16)
    assert len(param_groups(model, 0.1)) == 1


def test_encoder_lr_scale_zero_leaves_the_encoder_where_it_was(synth_file, pretrained, tmp_path):
    finetune(_config(encoder_lr_scale=0.0), synth_file, tmp_path / "run", pretrained=pretrained, progress=False)
    model, _ = load_finetuned(tmp_path / "run")
    encoder = torch.load(pretrained / "checkpoint.pt", weights_only=False)["model"]
    assert torch.equal(model.encoder[1].mlp[0].weight, encoder["encoder.1.mlp.0.weight"])
    assert torch.equal(model.embed.weight, encoder["embed.weight"])


def test_encoder_frozen_epochs_hold_the_encoder_then_release_it(synth_file, pretrained, tmp_path):
    encoder = torch.load(pretrained / "checkpoint.pt", weights_only=False)["model"]["encoder.1.mlp.0.weight"]
    finetune(_config(encoder_frozen_epochs=2), synth_file, tmp_path / "held", pretrained=pretrained, progress=False)
    held, _ = load_finetuned(tmp_path / "held")
    assert torch.equal(held.encoder[1].mlp[0].weight, encoder)
    assert _records(tmp_path / "held")[-1]["lr"] > 0  # the new layers trained meanwhile
    finetune(_config(encoder_frozen_epochs=1), synth_file, tmp_path / "released", pretrained=pretrained,
             progress=False)
    released, _ = load_finetuned(tmp_path / "released")
    assert not torch.equal(released.encoder[1].mlp[0].weight, encoder)


def test_pretrained_init_needs_a_pretraining_run(synth_file, tmp_path):
    with pytest.raises(RunDirError, match="--pretrained"):
        finetune(_config(), synth_file, tmp_path / "run", progress=False)


def test_existing_run_needs_resume(synth_file, tmp_path):
    finetune(_config(epochs=1, init="none"), synth_file, tmp_path / "run", progress=False)
    with pytest.raises(RunDirError, match="--resume"):
        finetune(_config(epochs=1, init="none"), synth_file, tmp_path / "run", progress=False)


# -- command line -----------------------------------------------------------------------------

def test_cli_finetune_then_evaluate(synth_file, pretrained, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    runner = CliRunner()
    run = tmp_path / "run"
    result = runner.invoke(main, ["finetune", str(synth_file), "--config", str(config), "--out", str(run),
                                  "--pretrained", str(pretrained), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["evaluate", str(run), str(synth_file)])
    assert result.exit_code == 0, result.output
    assert "top-1" in result.output and "top-5" in result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["num_samples"] == 10 and len(metrics["confusion"]) == 5
    assert (run / "confusion.png").exists()


@pytest.mark.parametrize("source", ["pretrained", "random"])
def test_cli_knn_of_an_encoder(synth_file, pretrained, tmp_path, source):
    flags = ["--pretrained", str(pretrained)] if source == "pretrained" else ["--init", "none"]
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "knn"), str(synth_file), "--split", "test",
                                       "--train-split", "train", "--knn", "3", *flags])
    assert result.exit_code == 0, result.output
    assert "k-NN (k=3, weighted)" in result.output
    assert json.loads((tmp_path / "knn" / "metrics.json").read_text())["protocol"] == "knn"


def test_knn_with_a_label_fraction_uses_the_finetuning_subset(synth_file, pretrained, tmp_path):
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "knn"), str(synth_file), "--split", "test",
                                       "--train-split", "train", "--knn", "3", "--pretrained", str(pretrained),
                                       "--label-fraction", "0.2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "knn" / "metrics.json").read_text())
    labels = SkeletonDataset(synth_file, split="train").labels
    assert metrics["neighbours"] == len(label_fraction_indices(labels, 0.2, seed=3)) == 10  # 2 of 10 per class


def test_random_encoder_baseline_takes_the_pretrained_architecture(synth_file, tmp_path):
    config = load_config(PretrainConfig, None, epochs=1, batch_size=16, base_batch_size=16, num_frames=16,
                         hidden_channels=8, split="train", features=["position", "motion"], temporal_kernel=3)
    pretrain(config, synth_file, tmp_path / "pre", progress=False)
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "knn"), str(synth_file), "--split", "test",
                                       "--train-split", "train", "--knn", "3", "--init", "none",
                                       "--pretrained", str(tmp_path / "pre")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "knn" / "metrics.json").read_text())
    assert metrics["model"] == "random encoder" and metrics["pretrained"] == str(tmp_path / "pre")


def test_finetune_with_motion_features_from_scratch_and_pretrained(synth_file, tmp_path):
    pre_cfg = load_config(PretrainConfig, None, epochs=1, batch_size=16, base_batch_size=16, num_frames=16,
                          hidden_channels=16, split="train", features=["position", "motion"],
                          targets=["position", "motion"], loss="mse")
    pretrain(pre_cfg, synth_file, tmp_path / "pre", progress=False)
    finetune(_config(epochs=1, features=("position", "motion")), synth_file, tmp_path / "ft",
             pretrained=tmp_path / "pre", progress=False)
    model, _ = load_finetuned(tmp_path / "ft")
    assert model.feature_names == ("position", "motion")
    with pytest.raises(PretrainedMismatchError, match="input features"):
        finetune(_config(epochs=1, features=("position",)), synth_file, tmp_path / "ft2", pretrained=tmp_path / "pre",
                 progress=False)


def test_finetune_takes_unset_features_from_the_pretraining_run(synth_file, tmp_path):
    pre_cfg = load_config(PretrainConfig, None, epochs=1, batch_size=16, base_batch_size=16, num_frames=16,
                          hidden_channels=16, split="train", features=["position", "motion"], temporal_kernel=3)
    pretrain(pre_cfg, synth_file, tmp_path / "pre", progress=False)
    finetune(_config(epochs=1), synth_file, tmp_path / "ft", pretrained=tmp_path / "pre", progress=False)
    model, state = load_finetuned(tmp_path / "ft")
    assert model.feature_names == ("position", "motion")
    assert state["config"]["features"] == ("position", "motion") and state["config"]["temporal_kernel"] == 3
    assert 'features = ["position", "motion"]' in (tmp_path / "ft" / "config.toml").read_text()  # recorded as used


def test_cli_width_mismatch_is_one_line(synth_file, pretrained, tmp_path):
    result = CliRunner().invoke(main, ["finetune", str(synth_file), "--out", str(tmp_path / "run"),
                                       "--pretrained", str(pretrained), "--train-split", "train",
                                       "--set", "hidden_channels=64"])  # unset, it would be the run's 16
    assert result.exit_code == 1
    assert "hidden_channels=16, but 64 was asked for" in result.output and "Traceback" not in result.output


def test_cli_set_reaches_the_config_and_flags_win(synth_file, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["finetune", str(synth_file), "--config", str(config), "--out", str(run),
                                       "--init", "none", "--set", "encoder_lr_scale=0.5", "--set", "lr_steps=[1]",
                                       "--set", "epochs=3", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    resolved = (run / "config.toml").read_text()
    assert "encoder_lr_scale = 0.5" in resolved and "lr_steps = [1]" in resolved and "epochs = 1\n" in resolved


def test_cli_set_unknown_key_is_one_line(synth_file, tmp_path):
    result = CliRunner().invoke(main, ["finetune", str(synth_file), "--out", str(tmp_path / "run"), "--init", "none",
                                       "--set", "learning_rate=0.1"])
    assert result.exit_code == 1
    assert "learning_rate" in result.output and "Traceback" not in result.output


def test_cli_evaluate_without_a_run_is_one_line(synth_file, tmp_path):
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "nothing"), str(synth_file)])
    assert result.exit_code == 1 and "no checkpoint.pt" in result.output


@pytest.mark.slow
def test_two_process_gloo_run(synth_file, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "skelgraph", "finetune", str(synth_file), "--config", str(config), "--out", str(tmp_path / "ddp"),
           "--init", "none", "--epochs", "2", "--device", "cpu"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    # the children's own errors, not only the launcher's summary that ends stderr
    assert result.returncode == 0, "\n".join(line for line in result.stderr.splitlines() if "Error" in line)[-3000:]
    records = _records(tmp_path / "ddp")
    assert [r["epoch"] for r in records] == [1, 2]  # only rank 0 writes
    assert records[0]["samples"] == 50 and records[1]["test_top1"] is not None  # both ranks, reduced


def test_finetune_takes_the_temporal_block_from_the_pretraining_run(synth_file, tmp_path):
    pre_cfg = load_config(PretrainConfig, None, epochs=1, batch_size=16, base_batch_size=16, num_frames=16,
                          hidden_channels=16, split="train", temporal_kernel=3, temporal_block="bottleneck",
                          mask_span=4)
    pretrain(pre_cfg, synth_file, tmp_path / "pre", progress=False)
    finetune(_config(epochs=1), synth_file, tmp_path / "ft", pretrained=tmp_path / "pre", progress=False)
    model, state = load_finetuned(tmp_path / "ft")
    assert model.temporal_block == "bottleneck" and state["config"]["temporal_block"] == "bottleneck"
    load_report = json.loads((tmp_path / "ft" / "load_report.json").read_text())
    assert any(name.startswith("encoder_temporal.") for name in load_report["loaded"])
    assert not any(name.startswith("encoder_temporal.") for name in load_report["missing"])
