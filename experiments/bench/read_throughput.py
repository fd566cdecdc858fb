"""Dataset read throughput: samples/s of SkeletonDataset through a PyG DataLoader.

    python experiments/bench/read_throughput.py DATA.h5 [--split S] [--workers 0 2] [--batch-size 64]

Reads every sample of the split once per worker setting (T=64 uniform sampling, training mode),
after one warm-up pass so the OS file cache is equally warm for every setting.
"""
from __future__ import annotations

import argparse
import time

from torch_geometric.loader import DataLoader

from skelgraph.data.dataset import SkeletonDataset


def measure(path: str, split: str | None, workers: int, batch_size: int, num_frames: int) -> tuple[float, int]:
    dataset = SkeletonDataset(path, split=split, num_frames=num_frames, train=True)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    count = sum(batch.num_graphs for batch in loader)
    return count / (time.perf_counter() - start), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--split", default=None)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-frames", type=int, default=64)
    args = parser.parse_args()
    measure(args.data, args.split, 0, args.batch_size, args.num_frames)  # warm the file cache
    print(f"{'workers':>8} {'samples':>8} {'samples/s':>10}")
    for workers in args.workers:
        rate, count = measure(args.data, args.split, workers, args.batch_size, args.num_frames)
        print(f"{workers:>8} {count:>8} {rate:>10.0f}")


if __name__ == "__main__":
    main()
