"""skelgraph plot: training curves from metrics.jsonl, several runs on one figure."""
import json

import pytest
from click.testing import CliRunner

from skelgraph.cli import main
from skelgraph.curves import CurvesError, plot_curves, read_metrics

pytest.importorskip("matplotlib")


def _run(path, epochs=4, accuracy=True, extra=""):
    path.mkdir(parents=True)
    lines = []
    for e in range(1, epochs + 1):
        record = {"epoch": e, "loss": 2.0 / e, "lr": 0.1 * e / epochs}
        if accuracy:
            record |= {"train_acc": 20.0 * e, "test_top1": 15.0 * e} if e % 2 == 0 else {"train_acc": 20.0 * e}
        lines.append(json.dumps(record))
    (path / "metrics.jsonl").write_text("\n".join(lines) + "\n" + extra)
    return path


def test_read_metrics_keeps_the_last_record_of_an_epoch_and_skips_half_lines(tmp_path):
    run = _run(tmp_path / "a", epochs=2, extra=json.dumps({"epoch": 2, "loss": 9.0}) + '\n{"epoch": 3, "lo')
    records = read_metrics(run)
    assert [r["epoch"] for r in records] == [1, 2] and records[1]["loss"] == 9.0


def test_plot_writes_a_png_of_several_runs(tmp_path):
    out = plot_curves([_run(tmp_path / "a"), _run(tmp_path / "b", epochs=6)], tmp_path / "curves.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_plot_draws_a_pretraining_run_without_accuracy(tmp_path):
    assert plot_curves([_run(tmp_path / "pre", accuracy=False)], tmp_path / "c.svg").read_text().startswith("<?xml")


def test_plot_leaves_the_global_backend_alone(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    plot_curves([_run(tmp_path / "a")], tmp_path / "c.png")
    assert matplotlib.get_backend() == before


def test_run_without_metrics_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CurvesError, match="metrics.jsonl: no such file"):
        read_metrics(tmp_path / "empty")


def test_cli_plot_prints_the_figure(tmp_path):
    a, b = _run(tmp_path / "a"), _run(tmp_path / "b")
    result = CliRunner().invoke(main, ["plot", str(a), str(b), "--label", "pre-trained", "--label", "scratch",
                                       "--out", str(tmp_path / "f.png")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "f.png") and (tmp_path / "f.png").exists()


def test_cli_plot_wrong_label_count_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["plot", str(_run(tmp_path / "a")), "--label", "x", "--label", "y",
                                       "--out", str(tmp_path / "f.png")])
    assert result.exit_code == 1 and "one --label per run" in result.output and not (tmp_path / "f.png").exists()


def test_cli_plot_refuses_an_unknown_picture_format_before_reading(tmp_path):
    result = CliRunner().invoke(main, ["plot", str(_run(tmp_path / "a")), "--out", str(tmp_path / "f.xyz")])
    assert result.exit_code == 2 and "cannot draw a .xyz file" in result.output
