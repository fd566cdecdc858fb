import os
import platform
import subprocess
import sys

import pytest

from skelgraph import allocator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# a 64 MB array touched, freed, then allocated and touched again: page faults of the second one
# (numpy's own huge-page advice off, so that the faults counted are 4 KiB ones, as torch's are)
PROBE = ("import resource, numpy as np; from skelgraph.allocator import keep_freed_memory; "
         "(getattr(np, '_core', None) or np.core).multiarray._set_madvise_hugepage(False); "
         "line = keep_freed_memory(); a = np.ones(2 ** 23); del a; "
         "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt; a = np.ones(2 ** 23); "
         "print(line.split()[0], resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)")


def _probe(**env):
    clean = {k: v for k, v in os.environ.items() if k not in (allocator.OPT_OUT, *allocator.GLIBC_VARS)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=clean | env, capture_output=True, text=True, check=True,
                         cwd=REPO)
    state, faults = out.stdout.split()
    return state, int(faults)


@pytest.fixture
def no_mallopt(monkeypatch):
    def refuse(*args):
        raise AssertionError("mallopt must not be called")
    monkeypatch.setattr(allocator.ctypes, "CDLL", refuse)
    for name in (allocator.OPT_OUT, *allocator.GLIBC_VARS):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_opt_out_leaves_glibc_alone(no_mallopt):
    no_mallopt.setenv(allocator.OPT_OUT, "0")
    assert allocator.keep_freed_memory().startswith("off") and "=0" in allocator.applied


def test_users_glibc_settings_win(no_mallopt):
    no_mallopt.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert "set by you" in allocator.keep_freed_memory()


def test_other_c_libraries_are_left_alone(no_mallopt):
    no_mallopt.setattr(allocator.platform, "libc_ver", lambda: ("musl", "1.2"))
    assert "not glibc" in allocator.keep_freed_memory()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_a_freed_large_block_is_reused_without_page_faults():
    on, faults_on = _probe()
    off, faults_off = _probe(**{allocator.OPT_OUT: "0"})
    assert (on, off) == ("on", "off")
    assert faults_off > 8000  # 64 MB of fresh 4 KiB pages: ~16k faults
    assert faults_on < 1000  # the same memory again
