r"""Reader throughput on the real samples in ../shared/data (or $SKELGRAPH_SHARED_DATA).

    python experiments/bench/parse_throughput.py [--repeats 20]

NTU: the 15 ``.skeleton`` samples, read ``repeats`` times (best and median pass reported).
NW-UCLA: every member of ``all_sqe.tar.gz`` streamed in one pass (decompression included), best
of 3 passes. Prints a table of files/s and frames/s.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from skelgraph.data.readers.ntu import read_ntu_skeleton
from skelgraph.data.readers.nwucla import iter_nwucla_archive

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("SKELGRAPH_SHARED_DATA", REPO.parent / "shared" / "data"))


def bench_ntu(repeats: int) -> tuple[int, int, list[float]]:
    files = sorted((SHARED_DATA / "ntu_samples").glob("*.skeleton"))
    frames = sum(read_ntu_skeleton(f).shape[1] for f in files)  # also warms the page cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for f in files:
            read_ntu_skeleton(f)
        times.append(time.perf_counter() - start)
    return len(files), frames, times


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
    parser.add_argument("--repeats", type=int, default=20, help="passes over the NTU samples")
    args = parser.parse_args()
    if not SHARED_DATA.is_dir():
        raise SystemExit(f"{SHARED_DATA} is absent: nothing to measure")
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, 1 process")
    print(f"{'reader':<28}{'files':>7}{'frames':>8}{'best files/s':>14}{'best frames/s':>15}{'median files/s':>16}")
    for label, (files, frames, times) in (
            (f"NTU .skeleton (x{args.repeats})", bench_ntu(args.repeats)),
            ("NW-UCLA tar.gz stream (x3)", bench_nwucla(3))):
        best, median = min(times), statistics.median(times)
        print(f"{label:<28}{files:>7}{frames:>8}{files / best:>14.0f}{frames / best:>15.0f}{files / median:>16.0f}")


if __name__ == "__main__":
    main()
