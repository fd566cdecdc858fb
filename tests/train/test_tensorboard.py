"""Optional TensorBoard logging: the metrics.jsonl numbers as scalars, only when tensorboard is installed."""
import json
import sys
import types

import pytest

from skelgraph.data.synth_file import write_synthetic
from skelgraph.train.common import MetricsLog, RunDirError
from skelgraph.train.config import PretrainConfig, load_config
from skelgraph.train.pretrain import pretrain


class FakeWriter:
    """Records add_scalar calls (stands in for torch.utils.tensorboard.SummaryWriter)."""
    calls: list = []

    def __init__(self, log_dir):
        self.log_dir = log_dir

    def add_scalar(self, tag, value, step):
        FakeWriter.calls.append((self.log_dir, tag, value, step))

    def flush(self):
        pass


@pytest.fixture
def fake_tensorboard(monkeypatch):
    FakeWriter.calls = []
    module = types.ModuleType("torch.utils.tensorboard")
    module.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", module)
    return FakeWriter


@pytest.fixture
def no_tensorboard(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as when not installed


def test_scalars_are_the_records_numbers_at_their_epoch(fake_tensorboard, tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl", tensorboard=tmp_path / "tb")
    log.write(epoch=3, loss=0.5, lr=0.1, note="text", flag=True)
    where = str(tmp_path / "tb")
    assert sorted(fake_tensorboard.calls) == [(where, "loss", 0.5, 3), (where, "lr", 0.1, 3)]


def test_asking_without_tensorboard_installed_is_one_line_at_once(no_tensorboard, tmp_path):
    with pytest.raises(RunDirError, match="pip install tensorboard"):
        MetricsLog(tmp_path / "metrics.jsonl", tensorboard=tmp_path / "tb")


def test_without_the_setting_nothing_is_imported(no_tensorboard, tmp_path):
    MetricsLog(tmp_path / "metrics.jsonl").write(epoch=1, loss=1.0)
    assert json.loads((tmp_path / "metrics.jsonl").read_text())["loss"] == 1.0


def test_a_run_logs_every_epochs_scalars(fake_tensorboard, tmp_path):
    data = tmp_path / "s.h5"
    write_synthetic(data, "ntu25", samples=12, classes=2, seed=0)
    config = load_config(PretrainConfig, None, epochs=2, batch_size=8, base_batch_size=8, num_frames=8,
                         hidden_channels=8, enc_layers=1, tensorboard=str(tmp_path / "tb"))
    pretrain(config, data, tmp_path / "run", progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    logged = {(tag, step): value for _, tag, value, step in fake_tensorboard.calls}
    assert all(logged[("loss", r["epoch"])] == r["loss"] for r in records)
    assert {tag for tag, _ in logged} >= {"loss", "lr", "samples_per_s"}


def test_cli_flag_without_tensorboard_stops_before_the_run_directory(no_tensorboard, tmp_path):
    from click.testing import CliRunner

    from skelgraph.cli import main

    data = tmp_path / "s.h5"
    write_synthetic(data, "ntu25", samples=12, classes=2, seed=0)
    result = CliRunner().invoke(main, ["pretrain", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                                       "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code == 1 and "pip install tensorboard" in result.output
    assert not (tmp_path / "run").exists() and not (tmp_path / "tb").exists()
