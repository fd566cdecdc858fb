import pytest
from click.testing import CliRunner

from skelgraph.cli import main


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize("command", ["preprocess", "info", "synth", "demo", "env"])
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
