"""The model card (README.md) every run writes into its directory when it ends."""
import json
import sys

import pytest

from skelgraph.data.synth_file import write_synthetic
from skelgraph.train.card import CARD, invocation
from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config
from skelgraph.train.finetune import finetune
from skelgraph.train.pretrain import pretrain

SMALL = dict(num_frames=8, hidden_channels=8, enc_layers=1, batch_size=8, base_batch_size=8)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "synth.h5"
    write_synthetic(path, "ntu25", samples=24, classes=3, seed=0)
    return path


def test_pretraining_card_names_data_seed_and_next_steps(synth, tmp_path):
    pretrain(load_config(PretrainConfig, None, epochs=1, split="train", seed=7, **SMALL), synth, tmp_path / "pre",
             progress=False)
    card = (tmp_path / "pre" / CARD).read_text()
    assert f"`{synth}`" in card and "split 'train'" in card and "- seed: 7" in card
    assert "kind: `synthetic`" in card and "skelgraph finetune" in card and "| loss |" in card


def test_finetuning_card_gives_final_metrics_best_epoch_and_predict(synth, tmp_path):
    config = load_config(FinetuneConfig, None, init="none", epochs=2, lr=0.01, warmup_epochs=0, strl_layers=1,
                         train_split="train", test_split="test", val_split=0.3, eval_every=1, **SMALL)
    finetune(config, synth, tmp_path / "ft", progress=False)
    card = (tmp_path / "ft" / CARD).read_text()
    last = json.loads((tmp_path / "ft" / "metrics.jsonl").read_text().splitlines()[-1])
    assert f"| test_top1 | {last['test_top1']:.4f}".rstrip("0").rstrip(".") in card
    assert "Best validation epoch" in card and "best.pt" in card and "skelgraph predict" in card


def test_resumed_run_rewrites_the_card_at_its_end(synth, tmp_path):
    config = dict(init="none", lr=0.01, warmup_epochs=0, strl_layers=1, train_split="train", **SMALL)
    finetune(load_config(FinetuneConfig, None, epochs=1, **config), synth, tmp_path / "ft", progress=False)
    finetune(load_config(FinetuneConfig, None, epochs=2, **config), synth, tmp_path / "ft", resume=True,
             progress=False)
    assert "(epoch 2 of 2)" in (tmp_path / "ft" / CARD).read_text()


def test_invocation_of_the_command_line(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/usr/bin/skelgraph", "finetune", "a b.h5", "--out", "run"])
    assert invocation() == "skelgraph finetune 'a b.h5' --out run"


def test_invocation_of_a_python_program_says_so(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/x/pytest/__main__.py", "-q"])
    assert invocation().endswith("(a Python program calling skelgraph)")
