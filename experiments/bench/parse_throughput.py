r"""Reader throughput on the real samples in ../shared/data (or $SKELGRAPH_SHARED_DATA).

    python experiments/bench/parse_throughput.py [--rounds 20] [--stgcn PATH/ntu_read_skeleton.py]
                                                 [--keep-freed-memory]

NTU: the 15 ``.skeleton`` samples, all read once per round by each reader, the readers taking
turns round by round (``skelgraph.bench.timing.paired_times``); files/s from the median round, and
the speed of skelgraph's reader over each other reader as the median of per-round ratios with
a bootstrap 95 % interval. Readers: ``read_ntu_skeleton`` (the fast byte-level parser, with
the line parser as its fallback); the line parser alone (the reader before issue 13);
``--stgcn``: st-gcn's ``read_xyz`` (``tools/utils/ntu_read_skeleton.py`` of
https://github.com/yysijie/st-gcn, the field's standard reader), imported from the path you
give (its code is not part of skelgraph); its output is checked against ours first. Page faults
per round (minor faults while each reader ran) come with each row: under glibc's default settings
a reader that grows the heap by more than glibc keeps pays a fault for every page of it on every
file, which moves the times more than any change to the parsing. ``--keep-freed-memory`` runs
the process as the ``skelgraph`` command runs (``skelgraph preprocess`` reads datasets with it):
glibc keeps freed memory (``skelgraph.allocator``), for every reader alike.
NW-UCLA: every member of ``all_sqe.tar.gz`` streamed in one pass (decompression included), best
of 3 passes.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # this checkout's skelgraph
SHARED_DATA = Path(os.environ.get("SKELGRAPH_SHARED_DATA", REPO.parent / "shared" / "data"))

from skelgraph import allocator  # noqa: E402
from skelgraph.data.readers.ntu import _parse_lines, read_ntu_skeleton  # noqa: E402
from skelgraph.data.readers.nwucla import iter_nwucla_archive  # noqa: E402
from skelgraph.bench.timing import paired_times  # noqa: E402


def load_stgcn(path: Path):
    """st-gcn's ``read_xyz`` from the file at ``path``."""
    spec = importlib.util.spec_from_file_location("stgcn_ntu_read_skeleton", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.read_xyz


def check_stgcn(read_xyz, files: list[Path]) -> float:
    """Largest |ours - st-gcn's| over the files (st-gcn: [3, T, 25, 2 bodies], by slot per frame)."""
    worst = 0.0
    for f in files:
        ours = read_ntu_skeleton(f)  # [B, T, 25, 3]
        theirs = read_xyz(str(f)).transpose(3, 1, 2, 0)[:ours.shape[0]]  # [B, T, 25, 3]
        worst = max(worst, float(np.abs(ours - theirs).max()))
    return worst


def bench_ntu(rounds: int, stgcn: Path | None) -> None:
    files = sorted((SHARED_DATA / "ntu_samples").glob("*.skeleton"))
    frames = sum(read_ntu_skeleton(f).shape[1] for f in files)  # also warms the page cache
    readers = {"skelgraph read_ntu_skeleton": lambda i: [read_ntu_skeleton(f) for f in files],
               "skelgraph line parser (before)": lambda i: [_parse_lines(f.read_bytes(), f) for f in files]}
    if stgcn is not None:
        read_xyz = load_stgcn(stgcn)
        print(f"# st-gcn read_xyz from {stgcn}: largest difference from ours {check_stgcn(read_xyz, files):.1e}")
        readers["st-gcn read_xyz (reference)"] = lambda i: [read_xyz(str(f)) for f in files]
    faults = dict.fromkeys(readers, 0)

    def counting_faults(name, read):
        def run(i):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            read(i)
            if i > 0:  # the warm-up round is 0
                faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        return run

    times = paired_times({name: counting_faults(name, read) for name, read in readers.items()}, rounds, warmup=1)
    ours = next(iter(readers))
    print(f"# NTU: {len(files)} files, {frames} frames, {rounds} rounds, readers alternating; 1 process; "
          f"glibc keeps freed memory: {allocator.applied or 'no (its defaults)'}")
    print(f"{'reader':34}{'files/s':>9}{'frames/s':>10}{'faults/round':>14}  {'skelgraph faster by [95% CI]':>30}")
    for name in readers:
        median = times.median(name)
        ratio = "" if name == ours else str(times.summary(name, ours))
        print(f"{name:34}{len(files) / median:9.0f}{frames / median:10.0f}{faults[name] / rounds:14.0f}  {ratio:>30}")


def bench_nwucla(repeats: int) -> tuple[int, int, list[float]]:
    archive = SHARED_DATA / "nw_ucla" / "all_sqe.tar.gz"
    times, count, frames = [], 0, 0
    for _ in range(repeats):
        start = time.perf_counter()
        count = frames = 0
        for seq in iter_nwucla_archive(archive):
            count += 1
            frames += seq.num_frames
        times.append(time.perf_counter() - start)
    return count, frames, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds over the NTU samples")
    parser.add_argument("--stgcn", type=Path, default=None,
                        help="st-gcn's tools/utils/ntu_read_skeleton.py, for the reference row")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="glibc keeps freed memory, as under the skelgraph command (skelgraph.allocator)")
    args = parser.parse_args()
    if args.keep_freed_memory:
        allocator.keep_freed_memory()
    if not SHARED_DATA.is_dir():
        raise SystemExit(f"{SHARED_DATA} is absent: nothing to measure")
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}, load average {os.getloadavg()[0]:.1f}")
    bench_ntu(args.rounds, args.stgcn)
    files, frames, times = bench_nwucla(3)
    best, median = min(times), statistics.median(times)
    print(f"# NW-UCLA tar.gz stream (x3): {files} files, {frames} frames: best {files / best:.0f} files/s, "
          f"{frames / best:.0f} frames/s; median {files / median:.0f} files/s")


if __name__ == "__main__":
    main()
