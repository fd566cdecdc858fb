"""The bad-input and fault cases of issues 12 and 21, run as a user would (a fresh `python -m
skelgraph` process each), printed as the markdown table in experiments/RESULTS.md ("Fault cases");
issue 21's are numbered 21/<item> (T: a former traceback, U: a former unclear message; the classes
of its faults beyond its list: W a write, C a checkpoint meeting data, V a value or user file).

    OMP_NUM_THREADS=1 python experiments/fault_cases.py [WORK_DIR [FIRST-LAST]]

Per case: the exit code, the last line of stderr (the error, or the note), and what was left
behind in the case's folder beyond the inputs (a run directory, a temporary, a half file).
The tests in tests/test_cli_faults.py, tests/test_cli_faults_21.py and tests/test_fault_classes.py
assert the same behaviour, one test per case.
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
INSIDE: list[str] = []  # what the last @full command left on its small filesystem
TINY = "--epochs 1 --batch-size 4 --set num_frames=8 --set hidden_channels=8 --set base_batch_size=4 --device cpu"


def skelgraph(args: str, cwd: Path, pick: str | None = None) -> tuple[int, str]:
    """Exit code and the last stderr line (or the first line of stdout/stderr holding ``pick``);
    stderr is a pipe, not a terminal, as in a log (a progress line every second here).
    ``@full:SIZE ARGS`` runs with ``small/`` a tmpfs of SIZE (a full disk) in a private mount
    namespace (``unshare -rm``, no root needed); ``@env:NAME=VALUE ARGS`` with one more
    environment variable."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), SKELGRAPH_PROGRESS_S="1")
    if args.startswith("@env:"):  # @env:NAME=VALUE ARGS: one more environment variable
        assignment, args = args.split(" ", 1)
        name, _, value = assignment[5:].partition("=")
        env[name] = value
    command = [sys.executable, "-m", "skelgraph", *args.split()]
    if args.startswith("@full:"):
        size, args = args.split(" ", 1)
        (cwd / "small").mkdir(exist_ok=True)
        command = ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size={size[6:]} tmpfs small && "
                   f"{sys.executable} -m skelgraph {args}; code=$?; "
                   f"find small -mindepth 1 | sed 's|^|@left |'; exit $code"]
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    INSIDE[:] = [line.removeprefix("@left ") for line in proc.stdout.splitlines() if line.startswith("@left ")]
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

# ----------------------------------------------------------------------------- issue 21's cases


def users_folder(work: Path) -> None:
    (work / "d").mkdir()
    shutil.copy(work.parent / "s.h5", work / "d" / "synthetic.h5")  # looks like a demo's
    (work / "d" / "notes.txt").write_text("x")
    shutil.copy(work.parent / "s.h5", work / "d" / "important.h5")


def damaged_archive(work: Path, how: str) -> None:
    raw = bytearray((SHARED / "nw_ucla" / "all_sqe.tar.gz").read_bytes())
    middle = len(raw) // 2
    if how == "flip":
        raw[middle:middle + 64] = bytes(b ^ 0xFF for b in raw[middle:middle + 64])
    (work / "copy.tar.gz").write_bytes(bytes(raw if how == "flip" else raw[:middle]))


def held_run_dir(work: Path) -> None:
    """A live process holds run/ (as a running pretrain does) for 30 s."""
    (work / "run").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open('run/.lock', "
                               "os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); "
                               "os.write(fd, b'pid %d' % os.getpid()); print(flush=True); time.sleep(30)"],
                              cwd=work, stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()


def dead_lock(work: Path) -> None:
    (work / "run").mkdir()
    (work / "run" / ".lock").write_text("pid 999999999 since 2026-01-01T00:00:00\n")


def numpy_folder(work: Path, bad_first: bool = False, good: int = 4) -> None:
    (work / "np").mkdir()
    if bad_first:
        (work / "np" / "a0.npy").write_bytes(b"not numpy")
    for i in range(1, good + 1):
        np.save(work / "np" / f"a{i}.npy", np.random.default_rng(i).normal(size=(1, 10, 25, 3)))


def split_file_of_strangers(work: Path) -> None:
    numpy_folder(work)
    (work / "split.json").write_text('{"train": ["nope1", "nope2"], "test": ["a1"]}')


def good_dataset_then_bad_file(work: Path) -> None:
    numpy_folder(work)
    skelgraph("preprocess numpy np o.h5", work)
    (work / "np" / "a0.npy").write_bytes(b"broken")


def many_arrays(work: Path) -> None:
    for i in range(40):
        np.save(work / f"a{i:02d}.npy", np.random.default_rng(i).normal(size=(1, 60, 25, 3)))


def motion_pretrained(work: Path) -> None:
    skelgraph(f"pretrain ../s.h5 --out pre {TINY} --set features=[\"position\",\"motion\"]", work)


def unlabelled(work: Path) -> None:
    numpy_folder(work)
    skelgraph("preprocess numpy np o.h5", work)


CASES_21 = [
    ("21/1", "demo --out a user's folder", users_folder, "demo --out d"),
    ("21/2", "evaluate on 20-joint data",
     lambda w: skelgraph("synth ucla.h5 --samples 12 --layout kinect_v1_20", w), "evaluate ../ft ucla.h5"),
    ("21/2", "evaluate on 2-D data", lambda w: skelgraph("synth flat.h5 --samples 12 --channels 2", w),
     "evaluate ../ft flat.h5"),
    ("21/2", "evaluate on data of other classes", lambda w: skelgraph("synth five.h5 --samples 12 --classes 5", w),
     "evaluate ../ft five.h5"),
    ("21/3", "NW-UCLA archive, 64 bytes flipped", lambda w: damaged_archive(w, "flip"),
     "preprocess nwucla copy.tar.gz o.h5"),
    ("21/3", "NW-UCLA archive, truncated", lambda w: damaged_archive(w, "cut"), "preprocess nwucla copy.tar.gz o.h5"),
    ("21/4", "pretrain into a run dir a live process holds", held_run_dir, f"pretrain ../s.h5 --out run {TINY}"),
    ("21/4", "pretrain into a run dir a dead process locked", dead_lock, f"pretrain ../s.h5 --out run {TINY}"),
    ("21/5", "pretrain --resume without the run's --set", lambda w: shutil.copytree(w.parent / "pre", w / "run"),
     "pretrain ../s.h5 --out run --resume --epochs 2"),
    ("21/5", "pretrain --resume --lr 0.01", lambda w: shutil.copytree(w.parent / "pre", w / "run"),
     "pretrain ../s.h5 --out run --resume --epochs 2 --lr 0.01"),
    ("21/5", "finetune --resume without the run's --set", lambda w: shutil.copytree(w.parent / "ft", w / "run"),
     "finetune ../s.h5 --out run --resume --epochs 2"),
    ("21/6", "--split-file naming no sample", split_file_of_strangers,
     "preprocess numpy np o.h5 --split-file split.json"),
    ("21/7", "failed preprocess into a good dataset", good_dataset_then_bad_file, "preprocess numpy np o.h5 --strict"),
    ("21/T", "preprocess, disk full", many_arrays, "@full:48k preprocess numpy . small/o.h5 --no-align"),
    ("21/T", "pretrain, disk full", None, f"@full:20k pretrain ../s.h5 --out small/run {TINY}"),
    ("21/T", "evaluate --out, disk full", None, "@full:8k evaluate ../ft ../s.h5 --out small/ev"),
    ("21/T", "synth --seed -1", None, "synth x.h5 --seed -1"),
    ("21/T", "pretrain --seed 99999999999999999999", None,
     f"pretrain ../s.h5 --out run {TINY} --seed 99999999999999999999"),
    ("21/T", "config file: seed = -5", lambda w: (w / "c.toml").write_text("seed = -5\n"),
     "pretrain ../s.h5 --out run --config c.toml"),
    ("21/T", "pretrain --device mps (CPU build)", None, f"pretrain ../s.h5 --out run {TINY.replace('cpu', 'mps')}"),
    ("21/U", "pretrain --help's --set example", None, f"pretrain ../s.h5 --out run {TINY} --set mask_ratio=0.5"),
    ("21/U", "finetune, features unset, pre-trained on motion", motion_pretrained,
     f"finetune ../s.h5 --out ft --pretrained pre --train-split train {TINY}"),
    ("21/U", "finetune on a file without labels, no split", unlabelled,
     f"finetune o.h5 --out run --init none {TINY}"),
    ("21/U", "numpy folder, first file unreadable", lambda w: numpy_folder(w, bad_first=True),
     "preprocess numpy np o.h5", "wrote"),
    ("21/U", "kinetics (2-D), last line of output", None,
     f"preprocess kinetics {SHARED / 'kinetics_samples' / 'kinetics_val'} k.h5"),
]

# ----------------------------------------------------------------------------- the classes of issue 21's faults
# (the "further blind set" its Done-when announces: every write through the one atomic writer, every
# checkpoint meeting data through the one check, every value and user file through one validator/reader)

NO_WIDTH = TINY.replace(" --set hidden_channels=8", "")


def binary(work: Path, name: str) -> None:
    (work / name).write_bytes(bytes(range(256)) * 4)


def npy_and_binary(work: Path) -> None:
    np.save(work / "a.npy", np.ones((1, 5, 25, 3)))
    binary(work, "list.txt")


def foreign_recipe(work: Path) -> None:
    """A fine-tuning run whose checkpoint has no preprocessing record (an older run) beside another
    run's preprocessing.json (2-D data)."""
    import json

    import torch

    shutil.copytree(work.parent / "ft", work / "run")
    state = torch.load(work / "run" / "checkpoint.pt", weights_only=False)
    recipe = state.pop("preprocessing")
    torch.save(state, work / "run" / "checkpoint.pt")
    (work / "run" / "preprocessing.json").write_text(json.dumps(recipe | {"num_channels": 2}))


def renamed_layout(work: Path) -> None:
    """The NTU-25 graph under another name, with two body parts, and 12 samples of it."""
    sys.path.insert(0, str(REPO))
    from tests.test_fault_classes import renamed_ntu25

    renamed_ntu25(work / "my.toml")
    skelgraph("synth my.h5 --samples 12 --layout my.toml", work)


CASES_21_CLASSES = [
    ("21/W", "show --out on a full disk (.png)", None, "@full:8k show ../s.h5 --out small/a.png"),
    ("21/W", "show --out on a full disk (.gif)", None, "@full:8k show ../s.h5 --out small/a.gif"),
    ("21/W", "embed on a full disk", None, "@full:4k embed ../ft ../s.h5 small/e.h5"),
    ("21/W", "show --out under a file", lambda w: (w / "notes.txt").write_text("x"),
     "show ../s.h5 --out notes.txt/a.png"),
    ("21/W", "bench --json under a file", lambda w: (w / "notes.txt").write_text("x"),
     "bench --quick --json notes.txt/b.json"),
    ("21/W", "evaluate --out a file", lambda w: (w / "ev").write_text("x"), "evaluate ../ft ../s.h5 --out ev"),
    ("21/W", "synth over a user's file", lambda w: (w / "notes.txt").write_text("mine"), "synth notes.txt --samples 4"),
    ("21/W", "preprocess over its own source", lambda w: np.save(w / "a.npy", np.ones((1, 5, 25, 3))),
     "preprocess numpy a.npy a.npy"),
    ("21/W", "embed over its data", lambda w: shutil.copy(w.parent / "s.h5", w / "s.h5"), "embed ../ft s.h5 s.h5"),
    ("21/W", "bench --json over a dataset", lambda w: shutil.copy(w.parent / "s.h5", w / "s.h5"),
     "bench --quick --json s.h5"),
    ("21/C", "finetune, width and depth unset, pre-trained at width 8", None,
     f"finetune ../s.h5 --out ft --pretrained ../pre --train-split train {NO_WIDTH}"),
    ("21/C", "finetune --set hidden_channels=64, pre-trained at 8", None,
     f"finetune ../s.h5 --out ft --pretrained ../pre --train-split train {NO_WIDTH} --set hidden_channels=64"),
    ("21/C", "predict, another run's preprocessing.json", foreign_recipe, "predict run ../s.h5 --kind numpy"),
    ("21/C", "finetune --pretrained, same graph, another layout name", renamed_layout,
     f"finetune my.h5 --out ft --pretrained ../pre --train-split train {TINY}"),
    ("21/V", "show --mask-ratio 1.5", None, "show ../s.h5 --mask random-joint --mask-ratio 1.5"),
    ("21/V", "show --mask-ratio nan", None, "show ../s.h5 --mask random-joint --mask-ratio nan"),
    ("21/V", "show --out a.xyz", None, "show ../s.h5 --out a.xyz"),
    ("21/V", "show --num-parts 6 (every part)", None, "show ../s.h5 --num-parts 6"),
    ("21/V", "pretrain --lr inf", None, f"pretrain ../s.h5 --out run {TINY} --lr inf"),
    ("21/V", "preprocess --exclude-list of binary", npy_and_binary,
     "preprocess numpy a.npy o.h5 --exclude-list list.txt"),
    ("21/V", "pretrain --config of binary", lambda w: binary(w, "c.toml"),
     "pretrain ../s.h5 --out run --config c.toml"),
    ("21/V", "SKELGRAPH_PROGRESS_S=abc", None, "@env:SKELGRAPH_PROGRESS_S=abc info ../s.h5"),
    ("21/V", "finetune --set num_persons=3 (1-person file)", None,
     f"finetune ../s.h5 --out run --init none --train-split train {TINY} --set num_persons=3"),
    ("21/W", "evaluate --protocol --out a file", lambda w: (w / "ev").write_text("x"),
     "evaluate ev ../s.h5 --protocol 1nn --train-split train --split test --out ev"),
    ("21/C", "finetune --resume --pretrained another run", lambda w: shutil.copytree(w.parent / "ftpre", w / "run"),
     "finetune ../s.h5 --out run --resume --epochs 2 --pretrained ../ft"),
]

# a two-joint rig, two frames (root moves 1 along x)
BVH = "\n".join(["HIERARCHY", "ROOT Hips", "{", "OFFSET 0 0 0", "CHANNELS 3 Xposition Yposition Zposition",
                 "JOINT Spine", "{", "OFFSET 0 1 0", "CHANNELS 3 Zrotation Xrotation Yrotation",
                 "End Site", "{", "OFFSET 0 1 0", "}", "}", "}", "MOTION", "Frames: 2", "Frame Time: 0.04",
                 "0 0 0 0 0 0", "1 0 0 0 0 0", ""])


def main() -> None:
    """``fault_cases.py [WORK_DIR [FIRST-LAST]]``: every case, or the rows FIRST to LAST (1-based)."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="faults-"))
    first, last = (int(n) for n in sys.argv[2].split("-")) if len(sys.argv) > 2 else (1, 10**6)
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    skelgraph("synth s.h5 --samples 12", root)
    skelgraph(f"pretrain s.h5 --out pre {TINY}", root)
    skelgraph(f"finetune s.h5 --out ft --init none --train-split train --test-split test {TINY} "
              "--set warmup_epochs=0 --set lr_steps=[]", root)
    skelgraph(f"finetune s.h5 --out ftpre --pretrained pre --train-split train {TINY}", root)
    print("| # | case | exit | message (last line of stderr) | left behind |")
    print("|---|---|---|---|---|")
    count = 0
    for number, (item, case, setup, command, *pick) in enumerate(CASES + CASES_21 + CASES_21_CLASSES, 1):
        if not first <= number <= last:
            continue
        count += 1
        work = root / f"case{number:02d}"
        work.mkdir()
        if setup is not None:
            setup(work)
        before = {p.relative_to(work) for p in work.rglob("*")}
        code, message = skelgraph(command, work, *pick)
        after = {p.relative_to(work) for p in work.rglob("*")}
        new = sorted(str(p) for p in after - before if str(p) != "small") + sorted(INSIDE)
        left = ", ".join(new) or "nothing"
        if before - after:
            left += "; removed " + ", ".join(sorted(str(p) for p in before - after))
        print(f"| {item} | {case} | {code} | `{message.replace('|', '/')}` | {left} |")
    print(f"\n{count} cases in {time.perf_counter() - start:.0f} s (work dir {root})", file=sys.stderr)


if __name__ == "__main__":
    main()
