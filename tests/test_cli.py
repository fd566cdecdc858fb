import json

import pytest
from click.testing import CliRunner

from skelgraph.cli import main


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize("command", ["preprocess", "merge", "info", "synth", "demo", "env", "show", "pretrain",
                                     "finetune", "evaluate"])
def test_every_subcommand_has_help(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_synth_then_info(runner, tmp_path):
    out = tmp_path / "s.h5"
    result = runner.invoke(main, ["synth", str(out), "--samples", "20", "--layout", "coco17", "--channels", "2"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["info", str(out)])
    assert result.exit_code == 0
    assert "samples     20" in result.output and "coco17 (17 joints" in result.output
    assert "split       train: 10" in result.output


def test_info_on_a_corrupt_file_is_one_line(runner, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    result = runner.invoke(main, ["info", str(bad)])
    assert result.exit_code == 1
    assert "bad.h5: not a readable HDF5 file" in result.output and "Traceback" not in result.output


def test_synth_with_unknown_layout_fails_cleanly(runner, tmp_path):
    result = runner.invoke(main, ["synth", str(tmp_path / "s.h5"), "--layout", "smpl"])
    assert result.exit_code == 1 and "unknown layout 'smpl'" in result.output


def test_env_prints_versions(runner):
    result = runner.invoke(main, ["env"])
    assert result.exit_code == 0 and "torch_geometric" in result.output


def test_show_draws_mask_and_reconstruction(runner, tmp_path):
    pytest.importorskip("matplotlib")
    from skelgraph.train.config import PretrainConfig, load_config
    from skelgraph.train.pretrain import pretrain

    data = tmp_path / "s.h5"
    runner.invoke(main, ["synth", str(data), "--samples", "10"])
    config = load_config(PretrainConfig, None, epochs=1, batch_size=8, num_frames=8, hidden_channels=8)
    pretrain(config, data, tmp_path / "run", progress=False)
    png, gif = tmp_path / "f.png", tmp_path / "a.gif"
    result = runner.invoke(main, ["show", str(data), "2", "--checkpoint", str(tmp_path / "run"), "--out", str(png),
                                  "--num-frames", "8"])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    result = runner.invoke(main, ["show", str(data), "2", "--mask", "random-joint", "--out", str(gif),
                                  "--num-frames", "8"])
    assert result.exit_code == 0 and gif.read_bytes()[:3] == b"GIF"


def test_show_draws_a_position_and_motion_model(runner, tmp_path):
    pytest.importorskip("matplotlib")
    from skelgraph.train.config import PretrainConfig, load_config
    from skelgraph.train.pretrain import pretrain

    data = tmp_path / "s.h5"
    runner.invoke(main, ["synth", str(data), "--samples", "10"])
    config = load_config(PretrainConfig, None, epochs=1, batch_size=8, num_frames=8, hidden_channels=8, loss="mse",
                         features=["position", "motion"], targets=["position", "motion"], contrastive_weight=0.5)
    pretrain(config, data, tmp_path / "run", progress=False)
    result = runner.invoke(main, ["show", str(data), "2", "--checkpoint", str(tmp_path / "run"), "--out",
                                  str(tmp_path / "f.png"), "--num-frames", "8"])
    assert result.exit_code == 0, result.output


def test_show_takes_the_frames_of_a_pretrained_strl_network(runner, tmp_path):
    pytest.importorskip("matplotlib")
    from skelgraph.train.config import PretrainConfig, load_config
    from skelgraph.train.pretrain import pretrain

    data = tmp_path / "s.h5"
    runner.invoke(main, ["synth", str(data), "--samples", "10"])
    config = load_config(PretrainConfig, None, epochs=1, batch_size=8, num_frames=8, hidden_channels=8, scope="strl",
                         strl_layers=1)
    pretrain(config, data, tmp_path / "run", progress=False)
    show = ["show", str(data), "2", "--checkpoint", str(tmp_path / "run"), "--out", str(tmp_path / "f.png")]
    result = runner.invoke(main, show)  # no --num-frames: the run's 8, which its position embedding holds
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, show + ["--num-frames", "16"])
    assert result.exit_code == 1 and "pre-trained the STRL network on 8 frames" in result.output
    assert "Traceback" not in result.output


def test_show_index_out_of_range(runner, tmp_path):
    data = tmp_path / "s.h5"
    runner.invoke(main, ["synth", str(data), "--samples", "3"])
    result = runner.invoke(main, ["show", str(data), "7", "--out", str(tmp_path / "f.png")])
    assert result.exit_code == 1 and "index 7 out of range (0..2)" in result.output


def test_demo_runs_every_stage_and_prints_the_table(runner, tmp_path, monkeypatch):
    from skelgraph.train import demo

    # the real demo's shapes, shrunk so the wiring is tested in seconds
    monkeypatch.setattr(demo, "DEMO_SAMPLES", 60)
    monkeypatch.setattr(demo, "DEMO_PRETRAIN", demo.DEMO_PRETRAIN | dict(epochs=1, num_frames=8, hidden_channels=8))
    monkeypatch.setattr(demo, "DEMO_FINETUNE", demo.DEMO_FINETUNE | dict(epochs=1, num_frames=8, hidden_channels=8,
                                                                         warmup_epochs=0, lr_steps=(1,)))
    out = tmp_path / "demo"
    result = runner.invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for row in ("fine-tuned from SkeletonMAE", "from scratch", "k-NN, pre-trained network", "k-NN, random network",
                "k-NN, raw input", "1-NN cosine, pre-trained network", "1-NN cosine, raw input",
                "logistic regression, pre-trained network", "logistic regression, raw input"):
        assert row in result.output
    assert (out / "summary.json").exists() and (out / "finetune" / "confusion.png").exists()
    frozen = json.loads((out / "frozen" / "frozen_metrics.json").read_text())
    assert set(frozen["results"]) == {"pretrained", "random", "raw"} and frozen["keep_joints"]
    assert 'scope = "strl"' in (out / "pretrain" / "config.toml").read_text()  # the recipe NW-UCLA chose


def test_demo_refuses_to_replace_a_foreign_directory(runner, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    result = runner.invoke(main, ["demo", "--out", str(tmp_path / "mine")])
    assert result.exit_code == 1 and "not a demo run" in result.output
    assert (tmp_path / "mine" / "thesis.tex").exists()
