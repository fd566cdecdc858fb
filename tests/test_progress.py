import io

from skelgraph.progress import LogProgress, progress_bar


def test_log_lines_with_count_share_and_postfix():
    out = io.StringIO()
    bar = LogProgress(range(4), desc="pretrain 1/2", unit="batch", interval=0.0, file=out)
    for _ in bar:
        bar.set_postfix(loss="0.5")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("pretrain 1/2: 1/4 batch (25%)") and lines[0].endswith("loss=0.5")
    assert lines[-1].startswith("pretrain 1/2: 4/4 batch (100%)")


def test_a_short_loop_stays_quiet():
    out = io.StringIO()
    assert list(LogProgress(range(3), interval=60.0, file=out)) == [0, 1, 2] and out.getvalue() == ""


def test_lines_when_not_a_terminal_and_nothing_when_disabled(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal
    assert isinstance(progress_bar(range(2)), LogProgress)
    silent = progress_bar(range(2), enabled=False)
    silent.set_postfix(a=1)
    assert list(silent) == [0, 1]
