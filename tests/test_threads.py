import os
import subprocess
import sys
import time

import pytest
import torch
from click.testing import CliRunner

from skelgraph import threads
from skelgraph.cli import main


@pytest.fixture
def machine(monkeypatch):
    """A fake machine: set cores, busy cores and other skelgraph jobs; OMP_NUM_THREADS unset."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    def setup(cores: int, busy: float, jobs: int = 0) -> None:
        monkeypatch.setattr(threads, "available_cores", lambda: cores)
        monkeypatch.setattr(threads, "busy_cores", lambda seconds, cores: busy)
        monkeypatch.setattr(threads, "other_skelgraph_jobs", lambda: jobs)
    return setup


@pytest.mark.parametrize("cores, busy, jobs, expected", [
    (2, 0.05, 0, 2),  # idle: every core
    (2, 1.0, 0, 1),  # one core taken by another job
    (2, 3.5, 0, 1),  # overloaded: never below 1
    (2, 0.0, 1, 1),  # another skelgraph job still starting (not busy yet) counts
    (16, 4.2, 2, 12),
])
def test_default_takes_the_free_cores(machine, cores, busy, jobs, expected):
    machine(cores, busy, jobs)
    choice = threads.default_threads()
    assert choice.threads == expected and choice.source == "default"


def test_user_environment_wins(machine, monkeypatch):
    machine(2, 0.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.default_threads().threads == 3
    assert threads.default_threads().describe() == "3 (OMP_NUM_THREADS=3)"


def test_cgroup_quota_caps_the_cores(monkeypatch):
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: 1.5)
    assert threads.available_cores() == min(2, len(os.sched_getaffinity(0)))


def test_apply_leaves_an_imported_torch_alone(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    choice = threads.apply_default_threads(0.01)
    assert torch.get_num_threads() == before and choice.threads == before
    assert "OMP_NUM_THREADS" not in os.environ


def test_apply_sets_the_count_torch_starts_with():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    code = ("from skelgraph import threads; c = threads.apply_default_threads(0.01); import torch; "
            "print(c.threads, torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    chosen, used = out.stdout.split()
    assert chosen == used and int(used) >= 1


def test_counts_other_skelgraph_processes():
    before = threads.other_skelgraph_jobs()
    # a process whose argv[0] is "skelgraph", not a child of this one (children are left out)
    launcher = subprocess.run(["bash", "-c", "(exec -a skelgraph sleep 30) > /dev/null 2>&1 & echo $!"],
                              capture_output=True, text=True, check=True)
    pid = int(launcher.stdout)
    try:
        time.sleep(0.3)
        assert threads.other_skelgraph_jobs() == before + 1
    finally:
        os.kill(pid, 9)


def test_env_command_shows_the_choice():
    result = CliRunner().invoke(main, ["env"])
    assert result.exit_code == 0 and "cpu threads" in result.output and "chosen" in result.output


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_invalid_environment_value_is_recorded_and_the_default_taken(machine, monkeypatch, value):
    machine(2, 0.0)
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    choice = threads.default_threads()
    assert choice.source == "default" and choice.ignored == value
    assert f"OMP_NUM_THREADS='{value}' ignored" in choice.describe()


def test_cli_warns_about_an_invalid_environment_value(machine, monkeypatch):
    machine(2, 0.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "two")
    result = CliRunner().invoke(main, ["env"])
    assert result.exit_code == 0
    assert "warning: OMP_NUM_THREADS='two' is not a positive whole number" in result.stderr
    assert os.environ["OMP_NUM_THREADS"].isdigit()  # replaced before torch could read it
