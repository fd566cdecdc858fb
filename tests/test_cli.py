import pytest
from click.testing import CliRunner

from skelgraph.cli import main


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize("command", ["preprocess", "info", "synth", "demo", "env", "show", "pretrain"])
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


def test_show_index_out_of_range(runner, tmp_path):
    data = tmp_path / "s.h5"
    runner.invoke(main, ["synth", str(data), "--samples", "3"])
    result = runner.invoke(main, ["show", str(data), "7", "--out", str(tmp_path / "f.png")])
    assert result.exit_code == 1 and "index 7 out of range (0..2)" in result.output
