"""skelgraph embed: the frozen model's pooled features of every sample, with names and labels."""
import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch_geometric.loader import DataLoader

import skelgraph
from skelgraph.cli import main
from skelgraph.data.dataset import SkeletonDataset
from skelgraph.data.synth_file import write_synthetic
from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config
from skelgraph.train.evaluate import predict
from skelgraph.train.finetune import finetune, load_finetuned
from skelgraph.train.pretrain import pretrain

SMALL = dict(num_frames=8, hidden_channels=8, enc_layers=1)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "synth.h5"
    write_synthetic(path, "ntu25", samples=24, classes=3, seed=0)
    return path


@pytest.fixture(scope="module")
def pre_run(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "run"
    pretrain(load_config(PretrainConfig, None, epochs=1, batch_size=8, base_batch_size=8, split="train", **SMALL),
             synth, out, progress=False)
    return out


@pytest.fixture(scope="module")
def ft_run(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft") / "run"
    finetune(load_config(FinetuneConfig, None, init="none", epochs=1, batch_size=8, base_batch_size=8, lr=0.01,
                         warmup_epochs=0, strl_layers=1, train_split="train", test_split="test", augment=False,
                         **SMALL), synth, out, progress=False)
    return out


def test_embed_a_pretraining_run_to_npz(pre_run, synth, tmp_path):
    emb = skelgraph.embed(pre_run, synth, "test", out=tmp_path / "f.npz")
    test = SkeletonDataset(synth, split="test", num_frames=8)
    saved = np.load(tmp_path / "f.npz")
    assert saved["features"].shape == (len(test), 8) and emb.kind == "skeletonmae"
    assert saved["name"].tolist() == [test.store.names[i] for i in test.indices_in_file]
    assert saved["label"].tolist() == test.labels.tolist()
    assert saved["class_names"].tolist() == test.class_names


def test_embed_a_finetuned_run_gives_its_knn_features(ft_run, synth, tmp_path):
    emb = skelgraph.embed(ft_run, synth, "test", out=tmp_path / "f.h5")
    model, _ = load_finetuned(ft_run)
    expected, _ = predict(model, DataLoader(SkeletonDataset(synth, split="test", num_frames=8), batch_size=5),
                          torch.device("cpu"), features=True)
    with h5py.File(tmp_path / "f.h5") as f:
        np.testing.assert_allclose(f["features"][()], expected.numpy(), atol=1e-5)
        assert [n.decode() for n in f["name"][()]] == emb.names and f.attrs["kind"] == "strl"


def test_embed_without_split_exports_every_sample(pre_run, synth):
    assert len(skelgraph.embed(pre_run, synth).names) == 24


def test_cli_embed_prints_the_output(pre_run, synth, tmp_path):
    result = CliRunner().invoke(main, ["embed", str(pre_run), str(synth), str(tmp_path / "e.npz"), "--split", "train"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("e.npz") and (tmp_path / "e.npz").exists()


def test_cli_embed_refuses_an_unknown_suffix(pre_run, synth, tmp_path):
    result = CliRunner().invoke(main, ["embed", str(pre_run), str(synth), str(tmp_path / "e.csv")])
    assert result.exit_code == 1 and ".npz or .h5" in result.output and not (tmp_path / "e.csv").exists()


def test_cli_embed_refuses_data_of_another_layout(pre_run, tmp_path):
    other = tmp_path / "coco.h5"
    write_synthetic(other, "coco17", samples=6, classes=2, seed=0)
    result = CliRunner().invoke(main, ["embed", str(pre_run), str(other), str(tmp_path / "e.npz")])
    assert result.exit_code == 1 and "layout" in result.output and len(result.output.strip().splitlines()) == 1
