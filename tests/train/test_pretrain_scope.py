"""Pre-training the whole STRL network (scope = "strl"): runs, resumes, and feeds fine-tuning and
the frozen protocols."""
import dataclasses

import pytest
import torch

from skelgraph.data.synth_file import write_synthetic
from skelgraph.nn.strl import PretrainedMismatchError
from skelgraph.train.common import RunDirError
from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config
from skelgraph.train.finetune import finetune, load_finetuned
from skelgraph.train.pretrain import load_pretrained, pretrain

TINY = dict(epochs=2, batch_size=16, base_batch_size=16, lr=2e-3, num_frames=8, hidden_channels=8, split="train",
            scope="strl", strl_layers=2, features=["position", "motion"], targets=["position", "motion"],
            loss="mse", mask_span=4)
FT = dict(epochs=1, batch_size=16, base_batch_size=16, num_frames=8, train_split="train", test_split="test",
          strl_layers=2, eval_every=1)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("scope") / "synth.h5"
    write_synthetic(path, "ntu25", samples=48, classes=3, channels=3, seed=0)
    return path


@pytest.fixture(scope="module")
def pretrained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("scope_run") / "pre"
    pretrain(load_config(PretrainConfig, None, **TINY), data, out, progress=False)
    return out


def test_strl_pretraining_trains_and_reloads_the_trunk(pretrained):
    model, state = load_pretrained(pretrained)
    assert model.scope == "strl" and state["config"]["scope"] == "strl"
    assert float(model.strl_norm[0].weight.detach().abs().sum()) > 0  # zero at the start: trained


def test_strl_pretraining_resumes_bit_identically(data, pretrained, tmp_path):
    config = load_config(PretrainConfig, None, **TINY | {"epochs": 1})
    pretrain(config, data, tmp_path / "cut", progress=False)
    pretrain(dataclasses.replace(config, epochs=2), data, tmp_path / "cut", resume=True, progress=False)
    full = torch.load(pretrained / "checkpoint.pt", weights_only=False)["model"]
    resumed = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)["model"]
    assert full.keys() == resumed.keys()
    for key, value in full.items():
        assert torch.equal(value, resumed[key]), key


def test_finetuning_starts_from_the_pretrained_trunk(data, pretrained, tmp_path):
    finetune(load_config(FinetuneConfig, None, **FT), data, tmp_path / "ft", pretrained=pretrained, progress=False)
    report = (tmp_path / "ft" / "load_report.json").read_text()
    assert '"pos_embed"' in report and '"strl.0.weight"' in report
    model, _ = load_finetuned(tmp_path / "ft")
    assert len(model.strl) == 2


def test_the_pretrained_trunk_follows_encoder_lr_scale(data, pretrained, tmp_path):
    finetune(load_config(FinetuneConfig, None, **FT | {"encoder_lr_scale": 0.0}), data, tmp_path / "ft",
             pretrained=pretrained, progress=False)
    model, state = load_finetuned(tmp_path / "ft")
    saved = torch.load(pretrained / "checkpoint.pt", weights_only=False)["model"]
    assert state["config"]["pretrained_trunk"] is True  # read from the checkpoint, recorded
    assert torch.equal(model.strl[0].weight, saved["strl.0.weight"])  # lr 0: where pre-training left it
    assert torch.equal(model.pos_embed, saved["pos_embed"])


def test_pretrained_trunk_set_against_the_checkpoint_is_refused(data, tmp_path):
    encoder_only = tmp_path / "enc"
    pretrain(load_config(PretrainConfig, None, **TINY | {"scope": "encoder", "epochs": 1}), data, encoder_only,
             progress=False)
    with pytest.raises(RunDirError, match="does not hold the STRL trunk"):
        finetune(load_config(FinetuneConfig, None, **FT | {"pretrained_trunk": True}), data, tmp_path / "ft",
                 pretrained=encoder_only, progress=False)


def test_finetuning_with_another_trunk_is_refused(data, pretrained, tmp_path):
    with pytest.raises(PretrainedMismatchError, match="strl_layers=2, but 3 was asked for"):
        finetune(load_config(FinetuneConfig, None, **FT | {"strl_layers": 3}), data, tmp_path / "ft",
                 pretrained=pretrained, progress=False)


def test_frozen_protocols_read_the_trunk_and_a_random_trunk(data, pretrained):
    pytest.importorskip("sklearn")
    from skelgraph.train.frozen import frozen_evaluate

    summary = frozen_evaluate(data, pretrained=pretrained, split="test", protocols=("1nn",), segments=2,
                              progress=False)
    assert summary["dims"] == {"pretrained": 16, "random": 16, "raw": 8 * 25 * 6}
    assert summary["results"]["pretrained"]["1nn"]["top1"] >= 0


def test_frozen_protocols_read_every_strl_layer_with_all_layers(data, pretrained, tmp_path):
    pytest.importorskip("sklearn")
    from skelgraph.train.evaluate import EvaluationError
    from skelgraph.train.frozen import frozen_evaluate

    summary = frozen_evaluate(data, pretrained=pretrained, split="test", protocols=("1nn",), segments=2,
                              all_layers=True, progress=False)
    assert summary["dims"] == {"pretrained": 2 * 2 * 8, "random": 2 * 2 * 8, "raw": 8 * 25 * 6}  # S * L * D
    assert summary["all_layers"] is True
    encoder_only = tmp_path / "enc"
    pretrain(load_config(PretrainConfig, None, **TINY | {"scope": "encoder", "epochs": 1}), data, encoder_only,
             progress=False)
    with pytest.raises(EvaluationError, match="needs scope = 'strl'"):
        frozen_evaluate(data, pretrained=encoder_only, split="test", protocols=("1nn",), all_layers=True,
                        progress=False)


def test_frozen_protocols_refuse_more_frames_than_the_trunk_holds(data, pretrained):
    pytest.importorskip("sklearn")
    from skelgraph.train.evaluate import EvaluationError
    from skelgraph.train.frozen import frozen_evaluate

    with pytest.raises(EvaluationError, match="on 8 frames: --frames 16 is more"):
        frozen_evaluate(data, pretrained=pretrained, split="test", protocols=("1nn",), num_frames=16, progress=False)


def test_evaluate_all_layers_flag_reaches_the_frozen_protocols(data, pretrained, tmp_path):
    pytest.importorskip("sklearn")
    import json

    from click.testing import CliRunner

    from skelgraph.cli import main

    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "ev"), str(data), "--pretrained", str(pretrained),
                                       "--protocol", "1nn", "--split", "test", "--all-layers", "--no-baselines"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "ev" / "frozen_metrics.json").read_text())
    assert summary["all_layers"] is True and summary["dims"] == {"pretrained": 2 * 8}
