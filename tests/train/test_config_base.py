"""Config inheritance: base = "other.toml" (relative to the file), the file's keys override the base's."""
import pytest
from click.testing import CliRunner

from skelgraph.cli import main
from skelgraph.data.synth_file import write_synthetic
from skelgraph.train.config import ConfigError, FinetuneConfig, PretrainConfig, load_config, read_config_values
from tests.conftest import REPO


def test_file_overrides_its_base(tmp_path):
    (tmp_path / "base.toml").write_text("lr = 0.5\nepochs = 7\n")
    (tmp_path / "child.toml").write_text('base = "base.toml"\nlr = 0.2\n')
    config = load_config(FinetuneConfig, tmp_path / "child.toml")
    assert (config.lr, config.epochs) == (0.2, 7)


def test_base_is_relative_to_the_file_not_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "configs" / "shared").mkdir(parents=True)
    (tmp_path / "configs" / "shared" / "paper.toml").write_text("epochs = 3\n")
    (tmp_path / "configs" / "mine.toml").write_text('base = "shared/paper.toml"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(FinetuneConfig, "configs/mine.toml").epochs == 3


def test_bases_chain(tmp_path):
    (tmp_path / "a.toml").write_text("epochs = 3\nlr = 0.5\nseed = 1\n")
    (tmp_path / "b.toml").write_text('base = "a.toml"\nlr = 0.2\n')
    (tmp_path / "c.toml").write_text('base = "b.toml"\nseed = 9\n')
    assert read_config_values(tmp_path / "c.toml") == {"epochs": 3, "lr": 0.2, "seed": 9}


def test_a_cycle_is_an_error_naming_the_files(tmp_path):
    (tmp_path / "a.toml").write_text('base = "b.toml"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\n')
    with pytest.raises(ConfigError, match="cycle .*a.toml -> b.toml -> a.toml"):
        load_config(FinetuneConfig, tmp_path / "a.toml")


def test_a_missing_base_names_both_files(tmp_path):
    (tmp_path / "a.toml").write_text('base = "gone.toml"\n')
    with pytest.raises(ConfigError, match="gone.toml: config file not found .the base of .*a.toml"):
        load_config(FinetuneConfig, tmp_path / "a.toml")


def test_experiment_configs_inherit_the_papers():
    motion = load_config(PretrainConfig, REPO / "experiments" / "ucla_pretrain_motion.toml")
    paper = load_config(PretrainConfig, REPO / "experiments" / "ucla_pretrain.toml")
    assert motion.loss == "mse" and (motion.epochs, motion.lr, motion.split) == (paper.epochs, paper.lr, paper.split)
    assert 'base = "ucla_pretrain.toml"' in (REPO / "experiments" / "ucla_pretrain_motion.toml").read_text()


def test_run_writes_the_resolved_config_without_base(tmp_path):
    data = tmp_path / "s.h5"
    write_synthetic(data, "ntu25", samples=12, classes=2, seed=0)
    (tmp_path / "base.toml").write_text('split = "train"\nnum_frames = 8\nhidden_channels = 8\nenc_layers = 1\n'
                                        "batch_size = 8\nbase_batch_size = 8\n")
    (tmp_path / "child.toml").write_text('base = "base.toml"\nepochs = 1\nlr = 0.002\n')
    result = CliRunner().invoke(main, ["pretrain", str(data), "--config", str(tmp_path / "child.toml"),
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "run" / "config.toml").read_text()
    assert "base" not in read_config_values(tmp_path / "run" / "config.toml")
    assert "hidden_channels = 8" in written and "lr = 0.002" in written


def test_a_bad_key_in_a_base_names_the_base(tmp_path):
    (tmp_path / "base.toml").write_text("lr = -1.0\n")
    (tmp_path / "child.toml").write_text('base = "base.toml"\nepochs = 2\n')
    with pytest.raises(ConfigError, match=r"base.toml: lr must be > 0"):
        load_config(FinetuneConfig, tmp_path / "child.toml")


def test_a_broken_base_is_an_error_even_when_overridden(tmp_path):
    (tmp_path / "base.toml").write_text("lr = -1.0\n")
    (tmp_path / "child.toml").write_text('base = "base.toml"\nlr = 0.1\n')
    with pytest.raises(ConfigError, match="base.toml: lr must be > 0"):
        load_config(FinetuneConfig, tmp_path / "child.toml")


def test_ucla_finetune_configs_take_the_encoder_from_the_pre_training_run():
    # a D = 128 checkpoint fine-tunes with these files and no --set (unset = the run's width)
    for name in ("ucla_finetune.toml", "ucla_finetune_motion.toml"):
        config = load_config(FinetuneConfig, REPO / "experiments" / name)
        assert config.hidden_channels is None and config.enc_layers is None and config.conv is None
