"""The bad-input and fault cases of issue 12, run as a user would (a fresh `python -m skelgraph`
process each), printed as the markdown table in experiments/RESULTS.md ("Fault cases (issue 12)").

    OMP_NUM_THREADS=1 python experiments/fault_cases.py [WORK_DIR]

Per case: the exit code, the last line of stderr (the error, or the note), and what was left
behind in the case's folder beyond the inputs (a run directory, a temporary, a half file).
The tests in tests/test_cli_faults.py assert the same behaviour, one test per case.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
NTU = SHARED / "ntu_samples"
TINY = "--epochs 1 --batch-size 4 --set num_frames=8 --set hidden_channels=8 --set base_batch_size=4 --device cpu"


def skelgraph(args: str, cwd: Path, pick: str | None = None) -> tuple[int, str]:
    """Exit code and the last stderr line (or the first line of stdout/stderr holding ``pick``);
    stderr is a pipe, not a terminal, as in a log (a progress line every second here)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), SKELGRAPH_PROGRESS_S="1")
    proc = subprocess.run([sys.executable, "-m", "skelgraph", *args.split()], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if pick is not None:
        return proc.returncode, next(line for line in (proc.stdout + proc.stderr).splitlines() if pick in line)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return proc.returncode, (lines[-1] if lines else proc.stdout.strip().splitlines()[-1])


def write_layout(path: Path, bones: str, parts: str) -> Path:
    path.write_text(f'name = "rig"\njoints = ["a", "b", "c"]\nbones = {bones}\ncenter = "a"\n[parts]\n{parts}\n')
    return path


def corrupt_checkpoint(work: Path, run: str, keep: float) -> None:
    """Copies a run of the shared folder into work/bad with its checkpoint cut (keep < 1) or replaced by
    random bytes (keep = 0)."""
    bad = work / "bad"
    shutil.copytree(work.parent / run, bad)
    data = (bad / "checkpoint.pt").read_bytes()
    (bad / "checkpoint.pt").write_bytes(data[: int(len(data) * keep)] if keep else os.urandom(4096))


def stale_metrics(work: Path) -> None:
    (work / "run").mkdir()
    (work / "run/metrics.jsonl").write_text('{"epoch": 1}\n')


def torn_metrics(work: Path) -> None:
    shutil.copytree(work.parent / "pre", work / "run")
    with (work / "run/metrics.jsonl").open("a") as f:
        f.write('{"epo')  # a kill during the append


def ntu_files(work: Path, content: bytes) -> None:
    (work / "raw").mkdir()
    (work / "raw/S001C001P001R001A001.skeleton").write_bytes(content)


def rig(work: Path, bones: str, parts: str, samples: int = 4) -> None:
    write_layout(work / "rig.toml", bones, parts)
    np.save(work / "s.npy", np.random.default_rng(0).normal(size=(samples, 3, 3)))


def two_part_dataset(work: Path) -> None:
    rig(work, '[["b", "a"], ["c", "a"]]', 'x = ["a"]\ny = ["b", "c"]', samples=12)
    skelgraph("preprocess numpy s.npy two.h5 --layout rig.toml", work)


def single_person_arrays(work: Path) -> None:
    for name in "ab":
        np.save(work / f"{name}.npy", np.ones((1, 5, 25, 3)))
    skelgraph("preprocess numpy . o.h5", work)


def truncated_dataset(work: Path) -> None:
    (work / "cut.h5").write_bytes((work.parent / "s.h5").read_bytes()[:50_000])


def labelled_bvh(work: Path) -> None:
    (work / "walk_1.bvh").write_text(BVH)
    (work / "labels.csv").write_text("walk_1,walk\n")


ONE_NTU = NTU / "S001C001P001R001A001.skeleton"
THREE_PARTS = 'x = ["a"]\ny = ["b"]\nz = ["c"]'

# (issue item, case, setup(work) or None, command[, text of the line to show])
CASES = [
    (1, "evaluate: truncated checkpoint", lambda w: corrupt_checkpoint(w, "ft", 0.5), "evaluate bad ../s.h5"),
    (1, "evaluate: random bytes as checkpoint", lambda w: corrupt_checkpoint(w, "ft", 0), "evaluate bad ../s.h5"),
    (1, "pretrain --resume: truncated checkpoint", lambda w: corrupt_checkpoint(w, "pre", 0.5),
     f"pretrain ../s.h5 --out bad --resume {TINY}"),
    (1, "finetune --pretrained: random bytes", lambda w: corrupt_checkpoint(w, "pre", 0),
     f"finetune ../s.h5 --out ft --pretrained bad {TINY}"),
    (2, "preprocess: every file fails", lambda w: ntu_files(w, b"2\n1\n"), "preprocess ntu raw o.h5"),
    (3, "pretrain --resume: torn last metrics line", torn_metrics,
     f"pretrain ../s.h5 --out run --resume {TINY.replace('--epochs 1', '--epochs 2')}"),
    (4, "pretrain: stale metrics.jsonl, no checkpoint", stale_metrics, f"pretrain ../s.h5 --out run {TINY}"),
    (5, "preprocess after a killed run's temporary", lambda w: (w / ".o.h5.tmp-999999999").write_text("half"),
     f"preprocess ntu {ONE_NTU} o.h5"),
    (6, "pretrain --lr -0.1", None, f"pretrain ../s.h5 --out run {TINY} --lr -0.1"),
    (6, "config file: epochs = 0", lambda w: (w / "c.toml").write_text("epochs = 0\n"),
     "pretrain ../s.h5 --out run --config c.toml"),
    (7, "pretrain --device cuda (no GPU)", None, f"pretrain ../s.h5 --out run {TINY.replace('cpu', 'cuda')}"),
    (8, "layout: a joint no bone reaches", lambda w: rig(w, '[["b", "a"]]', 'x = ["a", "b"]\ny = ["c"]'),
     "preprocess numpy s.npy o.h5 --layout rig.toml"),
    (9, "pretrain: unknown split", None, f"pretrain ../s.h5 --out run {TINY} --split nope"),
    (10, "info: missing file", None, "info missing.h5"),
    (10, "preprocess: missing folder", None, "preprocess ntu missing_dir o.h5"),
    (10, "unknown option", None, "info ../s.h5 --bogus"),
    (11, "preprocess: binary garbage", lambda w: ntu_files(w, os.urandom(3000)), "preprocess ntu raw o.h5"),
    (11, "info: a truncated dataset file", truncated_dataset, "info cut.h5"),
    (11, "info: a foreign HDF5 file", lambda w: h5py.File(w / "other.h5", "w").close(), "info other.h5"),
    (11, "preprocess: output under a file", lambda w: (w / "file").write_text("x"),
     f"preprocess ntu {ONE_NTU} file/o.h5"),
    (12, "pretrain: 2-part layout, num_parts 2", two_part_dataset, f"pretrain two.h5 --out run {TINY}"),
    (14, "layout without spine/shoulders", lambda w: rig(w, '[["b", "a"], ["c", "a"]]', THREE_PARTS),
     "preprocess numpy s.npy o.h5 --layout rig.toml"),
    (15, "numpy [1, T, V, C] arrays", single_person_arrays, "info o.h5", "persons"),
    (16, "bvh labelled by a label file", labelled_bvh, "preprocess bvh walk_1.bvh o.h5 --label-file labels.csv"),
    (17, "pretrain --all-samples, config names a split", lambda w: (w / "c.toml").write_text('split = "xview_train"\n'),
     f"pretrain ../s.h5 --out run --config c.toml {TINY} --all-samples"),
    (18, "preprocess, stderr a pipe (a log)", None, f"preprocess nwucla {SHARED / 'nw_ucla' / 'all_sqe.tar.gz'} o.h5",
     "preprocess nwucla: "),
]

# a two-joint rig, two frames (root moves 1 along x)
BVH = "\n".join(["HIERARCHY", "ROOT Hips", "{", "OFFSET 0 0 0", "CHANNELS 3 Xposition Yposition Zposition",
                 "JOINT Spine", "{", "OFFSET 0 1 0", "CHANNELS 3 Zrotation Xrotation Yrotation",
                 "End Site", "{", "OFFSET 0 1 0", "}", "}", "}", "MOTION", "Frames: 2", "Frame Time: 0.04",
                 "0 0 0 0 0 0", "1 0 0 0 0 0", ""])


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="faults-"))
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    skelgraph("synth s.h5 --samples 12", root)
    skelgraph(f"pretrain s.h5 --out pre {TINY}", root)
    skelgraph(f"finetune s.h5 --out ft --init none --train-split train --test-split test {TINY} "
              "--set warmup_epochs=0 --set lr_steps=[]", root)
    print("| # | case | exit | message (last line of stderr) | left behind |")
    print("|---|---|---|---|---|")
    for number, (item, case, setup, command, *pick) in enumerate(CASES, 1):
        work = root / f"case{number:02d}"
        work.mkdir()
        if setup is not None:
            setup(work)
        before = {p.relative_to(work) for p in work.rglob("*")}
        code, message = skelgraph(command, work, *pick)
        after = {p.relative_to(work) for p in work.rglob("*")}
        left = ", ".join(sorted(str(p) for p in after - before)) or "nothing"
        if before - after:
            left += "; removed " + ", ".join(sorted(str(p) for p in before - after))
        print(f"| {item} | {case} | {code} | `{message.replace('|', '/')}` | {left} |")
    print(f"\n{len(CASES)} cases in {time.perf_counter() - start:.0f} s (work dir {root})", file=sys.stderr)


if __name__ == "__main__":
    main()
