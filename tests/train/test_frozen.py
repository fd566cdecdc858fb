import json
import warnings

import numpy as np
import pytest
import torch

from skelgraph.data.dataset import SkeletonDataset
from skelgraph.data.synth_file import write_synthetic
from skelgraph.train.config import PretrainConfig, load_config
from skelgraph.train.evaluate import EvaluationError
from skelgraph.nn.encoder import graph_parents
from skelgraph.train.frozen import _with_copies, format_table, frozen_evaluate, linear_probe_scores, raw_input_features
from skelgraph.train.pretrain import pretrain

pytest.importorskip("sklearn")

TINY = dict(epochs=1, batch_size=16, base_batch_size=16, lr=2e-3, num_frames=8, hidden_channels=8,
            split="train", features=["position", "motion"])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("frozen")
    data = root / "synth.h5"
    write_synthetic(data, "ntu25", samples=60, classes=3, channels=3, seed=0)
    pretrain(load_config(PretrainConfig, None, **TINY), data, root / "pre", progress=False)
    return data, root / "pre"


def test_every_source_and_protocol_is_reported(run, tmp_path):
    data, pre = run
    summary = frozen_evaluate(data, pretrained=pre, split="test", protocols=("linear", "1nn", "knn"), k=3,
                              out=tmp_path, progress=False)
    assert list(summary["results"]) == ["pretrained", "random", "raw"]
    for row in summary["results"].values():
        assert set(row) >= {"linear", "1nn", "knn"}
        assert all(0.0 <= row[p]["top1"] <= 100.0 for p in ("linear", "1nn", "knn"))
    assert summary["train_split"] == "train" and summary["test_samples"] == 12 and summary["fit_samples"] == 48
    written = json.loads((tmp_path / "frozen_metrics.json").read_text())
    assert written["results"]["raw"]["1nn"]["top1"] == summary["results"]["raw"]["1nn"]["top1"]


def test_feature_dims_follow_pooling(run):
    data, pre = run
    dims = {}
    for segments, keep in ((1, False), (4, False), (2, True)):
        s = frozen_evaluate(data, pretrained=pre, split="test", protocols=("1nn",), sources=("pretrained", "raw"),
                            segments=segments, keep_joints=keep, progress=False)
        dims[segments, keep] = s["dims"]
    assert dims[1, False]["pretrained"] == 8 and dims[4, False]["pretrained"] == 32
    persons = SkeletonDataset(data, split="test", num_frames=8).store.num_persons
    assert dims[2, True]["pretrained"] == persons * 25 * 2 * 8  # persons x joints x segments x D
    assert dims[1, False]["raw"] == persons * 25 * 8 * 6  # persons x joints x frames x (position + motion)


def test_raw_features_are_the_input_channels_flattened(run):
    data, _ = run
    dataset = SkeletonDataset(data, split="test", num_frames=8)
    sample = dataset[0]
    flat = raw_input_features(sample, ["position"])
    assert flat.shape == (1, sample.x.numel())
    assert torch.equal(flat[0], sample.x.reshape(-1))


def test_raw_features_with_bones_hold_the_joint_minus_parent(run):
    data, _ = run
    sample = SkeletonDataset(data, split="test", num_frames=8)[0]
    flat = raw_input_features(sample, ["position", "bone"]).view(sample.x.size(0), 8, -1)
    parent = graph_parents(sample, ["bone"])
    channels = sample.x.size(-1)
    torch.testing.assert_close(flat[..., channels:], sample.x - sample.x[parent])


def test_random_encoder_is_seeded(run):
    data, pre = run
    a, b = (frozen_evaluate(data, pretrained=pre, split="test", protocols=("linear",), sources=("random",),
                            probe_c=1.0, seed=1, progress=False)["results"]["random"]["linear"] for _ in range(2))
    assert a["confusion"] == b["confusion"] and a["top1"] == b["top1"]


def test_linear_probe_converges_and_separates_separable_classes():
    g = np.random.default_rng(0)
    centres = np.eye(4) * 5
    y = np.repeat(np.arange(4), 12)
    x = centres[y] + g.normal(size=(48, 4))
    scores, info = linear_probe_scores(x, y, centres, 4)
    assert info["converged"] and info["C"] in (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    assert info["c_chosen_by"].startswith("stratified 3-fold")
    assert scores.argmax(1).tolist() == [0, 1, 2, 3]


def test_linear_probe_with_a_single_sample_class_falls_back_with_a_warning():
    x = np.array([[0.0], [0.1], [0.2], [5.0]])
    with pytest.warns(UserWarning, match="single fit sample"):
        _, info = linear_probe_scores(x, np.array([0, 0, 0, 1]), x, 2)
    assert info["C"] == 1.0


def test_linear_probe_scores_absent_classes_minus_infinity():
    x = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    scores, _ = linear_probe_scores(x, np.array([0, 0, 0, 2, 2, 2]), x, 3, c=1.0)
    assert np.isneginf(scores[:, 1]).all() and np.isfinite(scores[:, [0, 2]]).all()


def test_linear_probe_scores_an_underflowed_probability_without_a_warning():
    # far beyond the margin the other class's probability is 0.0: its score is -inf, and numpy's
    # divide-by-zero warning must not reach the user's output
    g = np.random.default_rng(0)
    x = np.concatenate([g.normal(-1, 0.1, (20, 3)), g.normal(1, 0.1, (20, 3))])
    far = np.array([[-400.0] * 3, [400.0] * 3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores, _ = linear_probe_scores(x, np.repeat([0, 1], 20), far, 2, c=1e4)
    assert np.isneginf(scores[[0, 1], [1, 0]]).all() and scores.argmax(1).tolist() == [0, 1]


def test_same_split_for_fit_and_score_is_refused(run):
    data, pre = run
    with pytest.raises(EvaluationError, match="same split"):
        frozen_evaluate(data, pretrained=pre, split="train", progress=False)


def test_pretrained_source_needs_a_run(run):
    data, _ = run
    with pytest.raises(EvaluationError, match="pre-training run"):
        frozen_evaluate(data, split="test", train_split="train", sources=("pretrained",), progress=False)


def test_label_fraction_fits_on_fewer_samples(run):
    data, pre = run
    s = frozen_evaluate(data, pretrained=pre, split="test", protocols=("1nn",), sources=("raw",),
                        label_fraction=0.2, progress=False)
    assert s["fit_samples"] == 9  # 16 train samples in each of 3 classes, a fifth of each, rounded


def test_fit_copies_add_augmented_samples_to_the_fit_split_only(run):
    data, pre = run
    s = frozen_evaluate(data, pretrained=pre, split="test", protocols=("1nn",), sources=("raw",), fit_copies=2,
                        progress=False)
    assert s["fit_samples"] == 3 * 48 and s["test_samples"] == 12
    assert s["fit_copies"] == 2 and s["fit_augment"] == [10.0, 0.1, 0.1]


def _fit_loader(data):
    from torch_geometric.loader import DataLoader

    return DataLoader(SkeletonDataset(data, split="train", num_frames=8), batch_size=16)


def _positions(batch):
    return raw_input_features(batch, ["position"])


def test_fit_copies_scale_within_their_bound_and_keep_the_originals_first(run):
    data, _ = run
    originals = torch.cat([_positions(b) for b in _fit_loader(data)])
    labels = torch.cat([b.y for b in _fit_loader(data)])
    out_x, out_y = _with_copies(_positions, _fit_loader(data), originals, labels, 1, (0.0, 0.5, 0.0), 0,
                                torch.device("cpu"), "copies", False)
    assert out_x.shape == (2 * len(originals), originals.size(1)) and torch.equal(out_y, labels.repeat(2))
    assert torch.equal(out_x[:len(originals)], originals)
    copy = out_x[len(originals):].view(len(originals), -1, 3)  # [B, nodes x frames, xyz]
    base = originals.view(len(originals), -1, 3)
    nonzero = base.abs() > 1e-3
    ratio = copy[nonzero] / base[nonzero]
    assert ((ratio >= 0.5 - 1e-4) & (ratio <= 1.5 + 1e-4)).all() and not torch.allclose(copy, base)


def test_fit_copies_are_the_same_draws_whatever_the_source(run):
    data, _ = run
    originals = torch.cat([_positions(b) for b in _fit_loader(data)])
    labels = torch.cat([b.y for b in _fit_loader(data)])
    args = (originals, labels, 2, (30.0, 0.1, 0.1), 3, torch.device("cpu"), "copies", False)
    first, _ = _with_copies(_positions, _fit_loader(data), *args)
    again, _ = _with_copies(_positions, _fit_loader(data), *args)
    doubled, _ = _with_copies(lambda b: 2 * _positions(b), _fit_loader(data), 2 * originals, *args[1:])
    assert torch.equal(first, again) and torch.allclose(doubled, 2 * first)


def test_fit_copies_without_a_bound_are_refused(run):
    data, pre = run
    with pytest.raises(EvaluationError, match="fit_augment"):
        frozen_evaluate(data, pretrained=pre, split="test", sources=("raw",), fit_copies=1, fit_augment=(0, 0, 0),
                        progress=False)


def test_table_has_the_three_rows(run):
    data, pre = run
    s = frozen_evaluate(data, pretrained=pre, split="test", protocols=("1nn", "knn"), k=3, progress=False)
    lines = format_table(s).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["pretrained", "random", "raw"]
    assert "1-NN cos" in lines[0] and "linear" not in lines[0]


def test_cli_prints_the_three_rows_and_writes_the_file(run, tmp_path):
    from click.testing import CliRunner

    from skelgraph.cli import main

    data, pre = run
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "out"), str(data), "--pretrained", str(pre),
                                       "--protocol", "1nn", "--protocol", "knn", "--knn", "3", "--split", "test",
                                       "--segments", "2"])
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.stdout.splitlines()[2:]] == ["pretrained", "random", "raw"]
    assert json.loads((tmp_path / "out" / "frozen_metrics.json").read_text())["segments"] == 2


def test_cli_fit_copies_are_recorded(run, tmp_path):
    from click.testing import CliRunner

    from skelgraph.cli import main

    data, pre = run
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "out"), str(data), "--pretrained", str(pre),
                                       "--protocol", "1nn", "--split", "test", "--no-baselines", "--fit-copies", "1",
                                       "--fit-augment", "30", "0", "0.2"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "out" / "frozen_metrics.json").read_text())
    assert written["fit_copies"] == 1 and written["fit_augment"] == [30.0, 0.0, 0.2] and written["fit_samples"] == 96


def test_cli_frozen_protocol_with_init_is_a_usage_error(run, tmp_path):
    from click.testing import CliRunner

    from skelgraph.cli import main

    data, pre = run
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path), str(data), "--protocol", "1nn", "--init", "none"])
    assert result.exit_code == 2 and "--init" in result.output
