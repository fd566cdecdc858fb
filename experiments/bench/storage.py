"""HDF5 storage settings: file size against raw float32, and the read rate training sees.

    python experiments/bench/storage.py ucla.h5 ntu.h5 [--frames 64] [--rounds 15] [--samples 256]

For each file and each setting below, the ``keypoint`` (and ``score``) datasets are rewritten
with that compression and chunk shape into a temporary copy (everything else copied as is).
Size: the datasets' stored bytes (``get_storage_size``) against their raw float32 bytes.
Read rate: ``SkeletonDataset`` (T frames, training-mode sampling, one process, as the trainers'
``workers = 0``), ``--samples`` random samples per round; the settings take turns round by
round (``skelgraph.bench.timing.paired_times``), each with a freshly opened file so no setting reads
another's chunk cache; median samples/s over ``--rounds`` rounds. The page cache is warm for all
(one untimed round first).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's skelgraph

SETTINGS = {  # name -> (create_dataset keywords; chunk frames)
    "lzf, 256-frame chunks (before)": (dict(compression="lzf"), 256),
    "gzip 4, 256": (dict(compression="gzip", compression_opts=4), 256),
    "shuffle + lzf, 256": (dict(compression="lzf", shuffle=True), 256),
    "shuffle + gzip 4, 256 (now)": (dict(compression="gzip", compression_opts=4, shuffle=True), 256),
    "shuffle + gzip 4, 1024": (dict(compression="gzip", compression_opts=4, shuffle=True), 1024),
    "shuffle + gzip 9, 1024": (dict(compression="gzip", compression_opts=9, shuffle=True), 1024),
    "LOSSY: 5 decimals + shuffle + gzip 4, 256": (dict(compression="gzip", compression_opts=4, shuffle=True,
                                                       scaleoffset=5), 256),
}


def rewrite(src: Path, dst: Path, options: dict, chunk_frames: int) -> tuple[int, int]:
    """Copy of ``src`` with its frame datasets stored as ``options``; returns (stored, raw) bytes."""
    stored = raw = 0
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for key, value in fin.attrs.items():
            fout.attrs[key] = value
        for name in fin:
            if name in ("keypoint", "score"):
                data = fin[name][()]
                chunks = (min(chunk_frames, len(data)), *data.shape[1:])
                ds = fout.create_dataset(name, data=data, chunks=chunks, **options)
                stored += ds.id.get_storage_size()
                raw += data.nbytes
            else:
                fin.copy(fin[name], fout, name)
    return stored, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--frames", type=int, default=64, help="T of the training samples read")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--samples", type=int, default=256, help="samples read per setting and round")
    args = parser.parse_args()
    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.bench.timing import paired_times

    with tempfile.TemporaryDirectory() as tmp:
        for src in args.files:
            paths, sizes = {}, {}
            for i, (name, (options, chunk)) in enumerate(SETTINGS.items()):
                paths[name] = Path(tmp) / f"{src.stem}_{i}.h5"
                sizes[name] = rewrite(src, paths[name], options, chunk)
            n = len(SkeletonDataset(src, num_frames=args.frames))
            order = np.random.default_rng(0).integers(0, n, (args.rounds + 1, args.samples))

            def reader(path: Path):
                def read(i: int) -> None:
                    dataset = SkeletonDataset(path, num_frames=args.frames, train=True)  # a fresh handle
                    for idx in order[i]:
                        dataset[int(idx)]
                return read

            times = paired_times({name: reader(p) for name, p in paths.items()}, args.rounds, warmup=1)
            print(f"# {src} ({n} samples, {os.path.getsize(src) / 1e6:.1f} MB as given); read: T={args.frames}, "
                  f"{args.samples} random samples per round, {args.rounds} rounds, 1 process")
            print(f"{'setting':42} {'MB stored':>10} {'raw MB':>8} {'smaller':>8} {'samples/s':>10}")
            for name in SETTINGS:
                stored, raw = sizes[name]
                rate = args.samples / times.median(name)
                print(f"{name:42} {stored / 1e6:10.2f} {raw / 1e6:8.2f} {raw / stored:7.2f}x {rate:10.0f}")


if __name__ == "__main__":
    main()
