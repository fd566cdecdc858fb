"""val_split in fine-tuning: a validation set evaluated with the test split, its best epoch kept as best.pt."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from skelgraph.cli import main
from skelgraph.data.dataset import SkeletonDataset
from skelgraph.data.synth_file import write_synthetic
from skelgraph.train.common import RunDirError
from skelgraph.train.config import ConfigError, FinetuneConfig, load_config
from skelgraph.train.finetune import BEST, finetune, load_finetuned
from skelgraph.train.subset import validation_indices

SMALL = dict(init="none", epochs=4, batch_size=8, base_batch_size=8, lr=0.05, warmup_epochs=0, num_frames=8,
             hidden_channels=8, enc_layers=1, strl_layers=1, train_split="train", test_split="test", eval_every=1,
             augment=False)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "synth.h5"
    write_synthetic(path, "ntu25", samples=40, classes=4, seed=0)
    return path


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_validation_indices_are_class_balanced_and_keep_every_class():
    labels = np.array([0] * 10 + [1] * 10 + [2])
    chosen = validation_indices(labels, 0.2, seed=0)
    assert np.bincount(labels[chosen], minlength=3).tolist() == [2, 2, 0]


def test_validation_indices_leave_unlabelled_samples_in_training():
    labels = np.array([0, 0, 0, 0, -1, -1])
    assert set(validation_indices(labels, 0.5, seed=3).tolist()) <= {0, 1, 2, 3}


def test_val_split_must_be_a_name_or_a_fraction():
    with pytest.raises(ConfigError, match="val_split"):
        load_config(FinetuneConfig, None, val_split=1.5)


def test_val_fraction_is_carved_from_training_and_evaluated(synth, tmp_path):
    finetune(load_config(FinetuneConfig, None, val_split=0.25, **SMALL), synth, tmp_path / "run", progress=False)
    records = _records(tmp_path / "run")
    train = len(SkeletonDataset(synth, split="train"))
    carved = len(validation_indices(SkeletonDataset(synth, split="train").labels, 0.25, seed=0))
    assert records[0]["samples"] == train - carved  # the validation samples are not trained on
    assert all("val_top1" in r and "test_top1" in r for r in records)


def test_best_checkpoint_is_the_best_validation_epoch(synth, tmp_path):
    finetune(load_config(FinetuneConfig, None, val_split=0.25, **SMALL), synth, tmp_path / "run", progress=False)
    values = [r["val_top1"] for r in _records(tmp_path / "run")]
    _, best = load_finetuned(tmp_path / "run" / BEST)
    assert best["epoch"] == 1 + int(np.argmax(values))  # the first of equal bests
    assert best["selection"] == {"metric": "val_top1", "value": max(values), "epoch": best["epoch"]}


def test_resumed_run_keeps_choosing_among_the_same_epochs(synth, tmp_path):
    config = load_config(FinetuneConfig, None, val_split=0.25, **SMALL)
    finetune(config, synth, tmp_path / "full", progress=False)
    finetune(load_config(FinetuneConfig, None, val_split=0.25, **SMALL | {"epochs": 2}), synth, tmp_path / "cut",
             progress=False)
    finetune(config, synth, tmp_path / "cut", resume=True, progress=False)
    full, cut = load_finetuned(tmp_path / "full" / BEST), load_finetuned(tmp_path / "cut" / BEST)
    assert full[1]["selection"] == cut[1]["selection"]
    for key, value in full[0].state_dict().items():
        assert torch.equal(value, cut[0].state_dict()[key]), key


def test_no_val_split_writes_no_best_checkpoint(synth, tmp_path):
    finetune(load_config(FinetuneConfig, None, **SMALL | {"epochs": 1}), synth, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / BEST).exists() and "val_top1" not in _records(tmp_path / "run")[0]


def test_val_split_may_not_be_the_test_split(synth, tmp_path):
    with pytest.raises(RunDirError, match="is the test split"):
        finetune(load_config(FinetuneConfig, None, val_split="test", **SMALL), synth, tmp_path / "run", progress=False)


def test_val_split_may_not_overlap_the_training_split(synth, tmp_path):
    with pytest.raises(RunDirError, match="shares"):
        finetune(load_config(FinetuneConfig, None, **SMALL | {"val_split": "train", "test_split": None}), synth,
                 tmp_path / "run", progress=False)


def test_cli_set_val_split_by_name_and_help_says_eval_every_is_the_test_split(synth, tmp_path):
    assert "TEST split" in CliRunner().invoke(main, ["finetune", "--help"]).output
    result = CliRunner().invoke(main, ["finetune", str(synth), "--out", str(tmp_path / "run"), "--init", "none",
                                       "--train-split", "test", "--set", "val_split=train", "--epochs", "1",
                                       "--set", "num_frames=8", "--set", "hidden_channels=8", "--batch-size", "8"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / BEST).exists() and "val top-1" not in result.stdout


def test_evaluate_takes_the_best_checkpoint_and_writes_beside_it(synth, tmp_path):
    from skelgraph.train.evaluate import evaluate

    finetune(load_config(FinetuneConfig, None, val_split=0.25, **SMALL), synth, tmp_path / "run", progress=False)
    last = evaluate(tmp_path / "run", synth, progress=False)
    best = evaluate(tmp_path / "run" / BEST, synth, progress=False)
    _, state = load_finetuned(tmp_path / "run" / BEST)
    assert best["epoch"] == state["epoch"] and last["epoch"] == _records(tmp_path / "run")[-1]["epoch"]
    assert best["metrics_path"] == str(tmp_path / "run" / "eval_best" / "metrics.json")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epoch"] == last["epoch"]  # not replaced
