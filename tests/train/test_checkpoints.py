import dataclasses

import pytest
import torch

from skelgraph.nn.strl import STRLClassifier
from skelgraph.train.checkpoints import CHECKPOINT, load_checkpoint, load_finetuning, load_pretraining, saved_config
from skelgraph.train.common import CheckpointError
from skelgraph.train.config import ConfigError, FinetuneConfig, PretrainConfig
from skelgraph.train.pretrain import load_pretrained


def _save(path, **state):
    torch.save(state, path)
    return path


def test_from_pretrained_on_a_corrupt_file_is_a_checkpoint_error_naming_it(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a pickle at all")
    with pytest.raises(CheckpointError, match="bad.pt: not a readable checkpoint"):
        STRLClassifier.from_pretrained(bad, 5)


def test_from_pretrained_on_a_missing_run_directory_names_the_file(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(CheckpointError, match=f"run/{CHECKPOINT}: no such checkpoint"):
        STRLClassifier.from_pretrained(tmp_path / "run", 5)


def test_a_checkpoint_of_another_kind_is_refused(tmp_path):
    path = _save(tmp_path / "c.pt", kind="skeletonmae", config={})
    with pytest.raises(CheckpointError, match="c.pt: not a fine-tuning checkpoint"):
        load_finetuning(path)
    assert load_checkpoint(path)["kind"] == "skeletonmae"  # any kind without kinds=


def test_saved_config_is_validated_like_a_config_file(tmp_path):
    path = _save(tmp_path / "c.pt", kind="skeletonmae", config={"hidden_channels": "64"}, in_channels=3)
    with pytest.raises(ConfigError, match="c.pt: saved config: hidden_channels must be int"):
        load_pretrained(path)


def test_saved_config_checks_values_as_a_config_file_does(tmp_path):
    path = _save(tmp_path / "c.pt", kind="skeletonmae", config={"conv": "sage"})
    with pytest.raises(ConfigError, match="c.pt: saved config: conv must be one of"):
        load_pretraining(path)


def test_saved_config_drops_keys_of_older_versions():
    state = {"config": {"hidden_channels": 32, "a_removed_setting": 1}, "path": "c.pt"}
    assert saved_config(state, PretrainConfig).hidden_channels == 32


@pytest.mark.parametrize("cls", [PretrainConfig, FinetuneConfig])
def test_saved_config_round_trips_the_resolved_config(cls):
    config = dataclasses.replace(cls(), seed=3)
    assert saved_config({"config": dataclasses.asdict(config), "path": "c.pt"}, cls) == config
