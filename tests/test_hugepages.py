import os
import subprocess
import sys

import pytest

from skelgraph import hugepages


@pytest.fixture
def unset(monkeypatch):
    monkeypatch.delenv(hugepages.ENV_VAR, raising=False)


def test_user_setting_wins(monkeypatch):
    monkeypatch.setenv(hugepages.ENV_VAR, "0")
    assert "set by you" in hugepages.enable_huge_pages() and os.environ[hugepages.ENV_VAR] == "0"


@pytest.mark.parametrize("mode", ["always", "never", None])
def test_only_in_madvise_mode(unset, monkeypatch, mode):
    monkeypatch.setattr(hugepages, "kernel_mode", lambda: mode)
    assert hugepages.enable_huge_pages().startswith("off") and hugepages.ENV_VAR not in os.environ


def test_not_once_torch_is_imported(unset, monkeypatch):
    import torch  # noqa: F401  (already imported by the suite; explicit here)

    monkeypatch.setattr(hugepages, "kernel_mode", lambda: "madvise")
    assert "imported" in hugepages.enable_huge_pages() and hugepages.ENV_VAR not in os.environ


def test_set_before_torch_in_a_fresh_process(tmp_path):
    if hugepages.kernel_mode() != "madvise":
        pytest.skip(f"kernel huge-page mode is {hugepages.kernel_mode()}, not madvise")
    env = {k: v for k, v in os.environ.items() if k != hugepages.ENV_VAR}
    code = ("import os; from skelgraph import hugepages; line = hugepages.enable_huge_pages(); import torch; "
            "print(os.environ.get('THP_MEM_ALLOC_ENABLE'), line.split()[0])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.split() == ["1", "on"]
