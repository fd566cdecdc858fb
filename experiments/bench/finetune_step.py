"""The STRL fine-tuning step of this checkout against the same step of another git revision,
in one process, the two sides alternating on the same fresh batch each round.

    python experiments/bench/finetune_step.py DATA.h5 --config experiments/ucla_finetune.toml \
        --baseline 2f1f823 --pairs 30 [--json out.json]
    python experiments/bench/finetune_step.py --synthetic ntu --batch 64 --baseline 2f1f823 --pairs 15

The baseline's ``skelgraph`` package is read with ``git archive REV skelgraph`` into a temporary
directory and imported under the same name with ``sys.modules`` swapped, so each side runs its
own code (models, convs, activations) in this one process. Both models start from the same
weights (the candidate loads the baseline's state dict: the keys must match), get the same
batches (read and augmented as in training: ``SkeletonDataset``, ``build_augment``) and take
full SGD steps (forward, label-smoothed cross-entropy, backward, optimiser step).

Before timing, the first batch checks equivalence on identical weights: logits, loss and every
parameter's gradient of the two sides (largest difference relative to the largest value).
Timing: ``--pairs`` rounds after ``--warmup``; the order of the sides alternates per round; the
result is the median of per-round ratios baseline / candidate with a bootstrap 95 % interval
(``skelgraph.bench.timing``). One thread unless ``--threads``.
"""
from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the candidate is this checkout's skelgraph, whatever is installed

from skelgraph.allocator import keep_freed_memory  # noqa: E402


def import_revision(rev: str, names: list[str]) -> dict[str, ModuleType]:
    """Modules ``names`` (e.g. ``skelgraph.train.finetune``) as they are at git revision ``rev``;
    the current ``skelgraph`` modules are restored afterwards."""
    tree = Path(tempfile.mkdtemp(prefix=f"skelgraph-{rev}-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "skelgraph"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    own = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "skelgraph" or k.startswith("skelgraph.")}
    sys.path.insert(0, str(tree))
    try:
        modules = {name: importlib.import_module(name) for name in names}
    finally:
        for k in [k for k in sys.modules if k == "skelgraph" or k.startswith("skelgraph.")]:
            del sys.modules[k]
        sys.path.remove(str(tree))
        sys.modules.update(own)
    return modules


def load_config(path: Path, overrides: dict[str, Any]) -> Any:
    from skelgraph.train.config import FinetuneConfig

    return FinetuneConfig(**{**tomllib.loads(path.read_text()), **overrides})


def real_batches(data: Path, config: Any, count: int, seed: int) -> tuple[list[Any], int, int]:
    """``count`` training batches of ``data`` read and augmented as the trainer does (the
    loader's order cycles if the split has fewer batches)."""
    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.train.common import DistInfo, build_augment
    from skelgraph.train.finetune import make_train_loader

    dataset = SkeletonDataset(data, split=config.train_split, num_frames=config.num_frames, train=True,
                              num_persons=config.num_persons)
    augment = build_augment(config, torch.Generator().manual_seed(seed))
    batches: list[Any] = []
    epoch = 0
    while len(batches) < count:
        for batch in make_train_loader(dataset, config, DistInfo(), epoch):
            batches.append(augment(batch) if augment is not None else batch)
            if len(batches) == count:
                break
        epoch += 1
    return batches, dataset.store.num_channels, dataset.num_classes


def synthetic_batches(shape: str, batch_size: int, count: int, seed: int) -> tuple[list[Any], int, int]:
    """Random NTU-shaped (V 25, M 2, T 64, C 3) or UCLA-shaped (V 20, M 1, T 32) batches."""
    from skelgraph.bench import NUM_CLASSES, BenchConfig, make_batch

    joints, persons, frames = {"ntu": (25, 2, 64), "ucla": (20, 1, 32)}[shape]
    config = BenchConfig(joints=joints, persons=persons, frames=frames, batch=batch_size)
    batches = [make_batch(BenchConfig(**{**config.__dict__, "seed": seed + i})) for i in range(count)]
    return batches, config.channels, NUM_CLASSES


def make_side(finetune_module: ModuleType, config: Any, in_channels: int, num_classes: int,
              state: dict[str, torch.Tensor] | None) -> tuple[torch.nn.Module, Any]:
    model, _ = finetune_module.build_model(config, in_channels, num_classes)
    if state is not None:
        model.load_state_dict(state)  # strict: the state-dict keys of both sides must match
    lr = config.lr * config.batch_size / config.base_batch_size
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=config.nesterov)
    return model.train(), optimizer


def forward_backward(model: torch.nn.Module, batch: Any, criterion: Any,
                     amp: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):  # as the trainer's `amp = true` on a CPU
        logits = model(batch)
    loss = criterion(logits.float(), batch.y.view(-1))
    loss.backward()
    return logits.detach(), loss.detach()


def equivalence(base: torch.nn.Module, cand: torch.nn.Module, batch: Any, criterion: Any,
                amp: bool = False) -> dict[str, float]:
    """Largest differences of logits, loss and parameter gradients on the same batch and weights,
    relative to the largest magnitude of the baseline's value (for gradients: the largest
    gradient entry of any parameter, since some parameters, e.g. a bias before a BatchNorm,
    have a true gradient of zero and only rounding noise to compare)."""
    lb, sb = forward_backward(base, batch.clone(), criterion)
    lc, sc = forward_backward(cand, batch.clone(), criterion, amp)
    cand_params = dict(cand.named_parameters())
    grads = [(p.grad, cand_params[name].grad) for name, p in base.named_parameters() if p.grad is not None]
    scale = max(float(a.abs().max()) for a, _ in grads)
    return {"logits": float((lb - lc).abs().max() / lb.abs().max()), "loss": float((sb - sc).abs() / sb.abs()),
            "grad_max": max(float((a - b).abs().max()) for a, b in grads) / scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, help="HDF5 file (else --synthetic)")
    parser.add_argument("--config", type=Path, default=REPO / "experiments" / "ucla_finetune.toml")
    parser.add_argument("--synthetic", choices=["ntu", "ucla"], help="random batches of this shape")
    parser.add_argument("--batch", type=int, help="batch size (default: the config's)")
    parser.add_argument("--conv", help="encoder conv (default: the config's)")
    parser.add_argument("--baseline", default="main", help="git revision of the reference side")
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp", action="store_true", help="the candidate runs under bf16 autocast")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print("freed memory:", keep_freed_memory())  # as the CLI's runs: no page faults per large tensor
    torch.set_num_threads(args.threads)
    from skelgraph.bench.timing import paired_times
    import skelgraph.train.finetune as cand_finetune

    overrides: dict[str, Any] = {}
    if args.batch:
        overrides["batch_size"] = args.batch
    if args.conv:
        overrides["conv"] = args.conv
    if args.synthetic:
        overrides.update(num_frames={"ntu": 64, "ucla": 32}[args.synthetic], num_persons=None)
    config = load_config(args.config, overrides)
    rounds = args.warmup + args.pairs + 1
    if args.synthetic:
        batches, channels, classes = synthetic_batches(args.synthetic, config.batch_size, rounds, args.seed)
    elif args.data:
        batches, channels, classes = real_batches(args.data, config, rounds, args.seed)
    else:
        parser.error("give DATA or --synthetic")
    base_finetune = import_revision(args.baseline, ["skelgraph.train.finetune"])["skelgraph.train.finetune"]
    torch.manual_seed(args.seed)
    base, base_opt = make_side(base_finetune, config, channels, classes, None)
    cand, cand_opt = make_side(cand_finetune, config, channels, classes, base.state_dict())
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    check = equivalence(base, cand, batches[0], criterion, args.amp)

    def step(model: torch.nn.Module, optimizer: Any, amp: bool) -> Any:
        def run(i: int) -> None:
            forward_backward(model, batches[1 + i], criterion, amp)
            optimizer.step()
        return run

    load_before = os.getloadavg()[0]
    times = paired_times({"baseline": step(base, base_opt, False), "candidate": step(cand, cand_opt, args.amp)},
                         args.pairs, args.warmup)
    wall, cpu = times.summary("baseline", "candidate"), times.summary("baseline", "candidate", "cpu")
    shape = f"N={batches[0].num_nodes} nodes, T={batches[0].x.size(1)}, batch {batches[0].num_graphs}"
    report = {"baseline": args.baseline, "candidate": "working tree" + (" (bf16 autocast)" if args.amp else ""),
              "config": str(args.config),
              "data": str(args.data) if args.data else f"synthetic {args.synthetic}", "shape": shape,
              "conv": config.conv, "threads": torch.get_num_threads(), "pairs": args.pairs,
              "load_average_1min_before": load_before, "equivalence": check,
              "median_s": {k: times.median(k) for k in times.wall}, "speedup_wall": wall.to_dict(),
              "speedup_cpu": cpu.to_dict(), "wall_s": times.wall, "cpu_s": times.cpu}
    print(f"{shape}, conv {config.conv}{', candidate under bf16 autocast' if args.amp else ''}, "
          f"{torch.get_num_threads()} thread(s), {args.pairs} pairs, "
          f"load average {load_before:.1f} before")
    print(f"equivalence on the first batch (max |diff| / max |value|): logits {check['logits']:.1e}, "
          f"loss {check['loss']:.1e}, gradients {check['grad_max']:.1e} (of the largest gradient entry)")
    print(f"median step: baseline {report['median_s']['baseline']:.3f} s, candidate "
          f"{report['median_s']['candidate']:.3f} s")
    print(f"speed-up baseline/candidate (median of per-pair ratios, bootstrap 95 % interval): wall {wall}, "
          f"CPU time {cpu}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
