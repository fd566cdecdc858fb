"""Whole training runs of several code versions under the same machine load: each run goes
``--block`` epochs at a time, the runs taking turns, until all reach their last epoch.

    python experiments/bench/alternate_runs.py --out /work/bench_runs/full --block 10 \
        --side old=/tmp/src_old --side new=/tmp/src_new --side new_amp=/tmp/src_new:--amp \
        -- finetune /work/bench_runs/ucla.h5 --config experiments/ucla_finetune.toml --init none

A side is ``NAME=SOURCE_DIR[:EXTRA,ARGS]``: ``python -m skelgraph ARGS --out OUT/NAME [EXTRA ARGS]`` runs
with ``SOURCE_DIR`` as the working directory, so it imports that directory's ``skelgraph``
(e.g. ``git archive REV skelgraph experiments | tar x -C SOURCE_DIR``). After a side's
``metrics.jsonl`` reaches the block's last epoch and the checkpoint of that epoch is on disk,
the process is stopped and the next side starts; it later continues with ``--resume``, which
gives the same weights as an uninterrupted run (the trainers checkpoint every RNG state).
Each process runs with one thread (``OMP_NUM_THREADS=1``) unless the environment says otherwise.

``--until NAME=EPOCHS`` stops one side early (e.g. the old code, timed over the first epochs
only). While a file ``OUT/pause`` exists no new block starts (the running one finishes), so
other measurements can have the machine between blocks without disturbing an epoch's time.

Per-epoch training seconds are in each run's ``metrics.jsonl``; the summary printed at the end
(and written to ``OUT/summary.json``) compares them block by block, where the load was alike,
and reports each run's last test top-1.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path


def epochs_done(run_dir: Path) -> int:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def checkpoint_epoch_written(run_dir: Path, epoch: int) -> bool:
    """The checkpoint is saved right after the metrics line of its epoch: it is on disk when its
    file is newer than that line."""
    metrics, checkpoint = run_dir / "metrics.jsonl", run_dir / "checkpoint.pt"
    return epochs_done(run_dir) >= epoch and checkpoint.exists() and \
        checkpoint.stat().st_mtime >= metrics.stat().st_mtime


def run_block(name: str, source: Path, args: list[str], extra: list[str], run_dir: Path, until: int,
              log) -> None:
    command = [sys.executable, "-m", "skelgraph", *args, "--out", str(run_dir), *extra]
    if (run_dir / "checkpoint.pt").exists():
        command.append("--resume")
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS", "1"), "PYTHONPATH": str(source)}
    first = epochs_done(run_dir)
    log.write(f"{time.strftime('%H:%M:%S')} {name}: epochs {first}..{until}: {' '.join(command)}\n")
    log.flush()
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.Popen(command, cwd=source, env=env, stdout=log, stderr=log)
    while proc.poll() is None:
        if checkpoint_epoch_written(run_dir, until):
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            break
        time.sleep(0.5)
    if proc.returncode not in (0, -signal.SIGTERM):
        raise SystemExit(f"{name} failed (exit {proc.returncode}); see {log.name}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child is reaped: its CPU time is in here
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    with (run_dir.parent / "blocks.jsonl").open("a") as f:  # CPU time: blind to time spent waiting for a core
        f.write(json.dumps({"side": name, "epochs": [first, until], "wall_s": time.perf_counter() - start,
                            "cpu_s": cpu}) + "\n")


def summary(out: Path, names: list[str], block: int) -> dict:
    """Per-epoch training seconds compared block by block over the epochs every side ran (their
    blocks alternated, so each block saw about the same load), and each run's last test top-1."""
    records = {n: [json.loads(line) for line in (out / n / "metrics.jsonl").read_text().splitlines() if line.strip()]
               for n in names}
    common = min(len(r) for r in records.values())
    blocks = [{n: statistics.median(r["seconds"] for r in records[n][start:start + block]) for n in names}
              for start in range(0, common, block)]
    first = names[0]
    total = {n: sum(r["seconds"] for r in records[n][:common]) for n in names}
    result = {"epochs": {n: len(r) for n, r in records.items()}, "epochs_timed_together": common, "block": block,
              "median_epoch_seconds_per_block": blocks,
              "ratio_per_block": {n: [b[first] / b[n] for b in blocks] for n in names[1:]},
              "ratio_of_total_seconds": {n: total[first] / total[n] for n in names[1:]},
              "training_seconds_together": total,
              "last_test": {n: next(({"epoch": r["epoch"], "top1": r["test_top1"], "top5": r.get("test_top5")}
                                     for r in reversed(records[n]) if "test_top1" in r), None) for n in names}}
    blocks_file = out / "blocks.jsonl"
    if blocks_file.exists():  # whole processes' CPU time per epoch (start-up and evaluation included)
        rows = [json.loads(line) for line in blocks_file.read_text().splitlines() if line.strip()]
        cpu = {n: [r["cpu_s"] / (r["epochs"][1] - r["epochs"][0]) for r in rows
                   if r["side"] == n and r["epochs"][1] <= common and r["epochs"][1] > r["epochs"][0]] for n in names}
        result["cpu_seconds_per_epoch_by_block"] = cpu
        pairs = min(len(v) for v in cpu.values())
        result["cpu_ratio_per_block"] = {n: [a / b for a, b in zip(cpu[first][:pairs], cpu[n][:pairs])]
                                         for n in names[1:]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--block", type=int, default=10, help="epochs per turn")
    parser.add_argument("--epochs", type=int, default=110, help="the runs' last epoch")
    parser.add_argument("--side", action="append", required=True, help="NAME=SOURCE_DIR[:EXTRA,ARGS]")
    parser.add_argument("--until", action="append", default=[], help="NAME=EPOCHS: stop that side there")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the skelgraph command and its arguments")
    opts = parser.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    sides = []
    for spec in opts.side:
        name, rest = spec.split("=", 1)
        source, _, extra = rest.partition(":")
        sides.append((name, Path(source).resolve(), [a for a in extra.split(",") if a]))
    caps = {name: int(epochs) for name, epochs in (u.split("=", 1) for u in opts.until)}
    opts.out.mkdir(parents=True, exist_ok=True)
    with (opts.out / "alternate.log").open("a") as log:
        for until in range(opts.block, opts.epochs + opts.block, opts.block):
            until = min(until, opts.epochs)
            for name, source, extra in sides:
                stop = min(until, caps.get(name, opts.epochs))
                if epochs_done(opts.out / name) < stop:
                    while (opts.out / "pause").exists():
                        time.sleep(5)
                    run_block(name, source, args, extra, opts.out / name, stop, log)
    result = summary(opts.out, [s[0] for s in sides], opts.block)
    (opts.out / "summary.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
