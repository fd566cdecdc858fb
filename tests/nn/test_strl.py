import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import get_layout
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.nn.strl import (
    LinearProbe, MultiScaleTemporalConv, PretrainedMismatchError, STRLClassifier, person_group, sum_pool_repeat,
)

NTU = get_layout("ntu25")
D, T, K = 16, 16, 5


def _sample(num_persons: int, seed: int = 0, label: int = 0):
    g = torch.Generator().manual_seed(seed)
    return skeleton_to_data(torch.randn(num_persons, T, 25, 3, generator=g), NTU, label=label)


def _model(**kwargs) -> STRLClassifier:
    torch.manual_seed(0)
    return STRLClassifier(3, K, hidden_channels=D, max_frames=T, **kwargs)


def _checkpoint(hidden: int = D, layout=NTU, in_channels: int = 3, **encoder) -> dict:
    torch.manual_seed(1)
    mae = SkeletonMAE(in_channels, hidden, **encoder)
    config = {"hidden_channels": hidden, "enc_layers": 3, "conv": "gin"} | {k: v for k, v in encoder.items()}
    return {"kind": "skeletonmae", "model": mae.state_dict(), "in_channels": in_channels,
            "config": config, "layout": layout.to_json()}


@pytest.mark.parametrize("num_persons", [1, 2])
def test_output_shapes(num_persons):
    batch = Batch.from_data_list([_sample(num_persons, 0), _sample(num_persons, 1)])
    model = _model()
    assert model(batch).shape == (2, K)
    assert model.features(batch).shape == (2, D)


def test_single_data_without_batch_vector():
    assert _model()(_sample(2)).shape == (1, K)


def test_pooling_is_per_graph():
    model = _model().eval()
    graphs = [_sample(2, 0), _sample(1, 1)]  # different person counts in one batch
    together = model.features(Batch.from_data_list(graphs))
    alone = torch.cat([model.features(Batch.from_data_list([g])) for g in graphs])
    assert torch.allclose(together, alone, atol=1e-5)


def test_sum_pool_is_per_person_of_each_graph():
    person, batch = torch.tensor([0, 0, 1, 1, 0, 0]), torch.tensor([0, 0, 0, 0, 1, 1])
    h = torch.arange(6.0).view(6, 1, 1)
    out = sum_pool_repeat(h, person_group(person, batch)).flatten().tolist()
    assert out == [1.0, 1.0, 5.0, 5.0, 9.0, 9.0]


def test_too_many_frames_is_an_error():
    with pytest.raises(ValueError, match="max_frames"):
        STRLClassifier(3, K, hidden_channels=D, max_frames=8)(_sample(1))


def test_multiscale_temporal_conv_keeps_shape_with_uneven_split():
    assert MultiScaleTemporalConv(18)(torch.randn(3, T, 18)).shape == (3, T, 18)


def test_from_pretrained_reports_loaded_missing_unexpected():
    state = _checkpoint()
    model, report = STRLClassifier.from_pretrained(state, K, layout=NTU.to_json(), in_channels=3, max_frames=T)
    assert "embed.weight" in report.loaded and "encoder.2.mlp.2.weight" in report.loaded
    assert "pos_embed" in report.missing and "classifier.3.weight" in report.missing
    assert "decoder.0.mlp.0.weight" in report.unexpected and "mask_token" in report.unexpected
    assert torch.equal(model.encoder[0].mlp[0].weight, state["model"]["encoder.0.mlp.0.weight"])
    assert "loaded 20 tensors" in str(report)


def test_from_pretrained_reads_a_run_dir(tmp_path):
    torch.save(_checkpoint(), tmp_path / "checkpoint.pt")
    model, report = LinearProbe.from_pretrained(tmp_path, K)
    assert model.hidden_channels == D
    assert report.missing == ["classifier.bias", "classifier.weight", "norm.num_batches_tracked", "norm.running_mean",
                              "norm.running_var"]


def test_other_layout_fails_clearly():
    with pytest.raises(PretrainedMismatchError, match="pre-trained on layout 'coco17'.*uses 'ntu25'"):
        STRLClassifier.from_pretrained(_checkpoint(layout=get_layout("coco17")), K, layout=NTU.to_json())


def test_other_width_fails_clearly():
    with pytest.raises(PretrainedMismatchError, match="hidden_channels=32.*16 was asked"):
        STRLClassifier.from_pretrained(_checkpoint(hidden=32), K, hidden_channels=16)


def test_other_in_channels_fails_clearly():
    with pytest.raises(PretrainedMismatchError, match="2 input channels.*has 3"):
        STRLClassifier.from_pretrained(_checkpoint(in_channels=2), K, in_channels=3)


def test_not_a_pretraining_checkpoint_fails_clearly():
    with pytest.raises(PretrainedMismatchError, match="not a SkeletonMAE"):
        STRLClassifier.from_pretrained({"kind": "strl", "model": {}}, K)


def test_linear_probe_trains_only_its_classifier():
    model = LinearProbe(3, K, hidden_channels=D).train()
    assert not model.encoder.training and model.classifier.training
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["classifier.weight", "classifier.bias"]
    model(_sample(1)).sum().backward()
    assert model.embed.weight.grad is None


def test_linear_probe_standardises_features_before_the_classifier():
    probe = LinearProbe(in_channels=3, num_classes=4, hidden_channels=D).train()
    batch = Batch.from_data_list([_sample(1, seed=s) for s in range(6)])
    seen = {}
    probe.classifier.register_forward_hook(lambda module, args, out: seen.update(features=args[0]))
    probe(batch)
    raw = probe.features(batch)
    expected = (raw - raw.mean(0)) / torch.sqrt(raw.var(0, unbiased=False) + probe.norm.eps)
    assert torch.allclose(seen["features"], expected, atol=1e-4)


def test_linear_probe_accepts_a_batch_of_one_in_training():
    probe = LinearProbe(in_channels=3, num_classes=4, hidden_channels=D).train()
    assert probe(Batch.from_data_list([_sample(1)])).shape == (1, 4)


def test_per_layer_temporal_conv_follows_every_strl_layer():
    model = _model()  # the default
    assert len(model.layer_temporal) == 3 and isinstance(model.temporal, torch.nn.Identity)
    assert model(Batch.from_data_list([_sample(2), _sample(1)])).shape == (2, K)
    head = _model(temporal="head")
    assert len(head.layer_temporal) == 0 and isinstance(head.temporal, MultiScaleTemporalConv)


def test_unknown_temporal_placement_is_rejected():
    with pytest.raises(ValueError, match="temporal must be"):
        _model(temporal="everywhere")


def test_from_pretrained_takes_features_and_temporal_kernel_from_the_checkpoint():
    state = _checkpoint(features=("position", "motion"), temporal_kernel=3)
    model, report = STRLClassifier.from_pretrained(state, K, max_frames=T)
    assert model.feature_names == ("position", "motion") and model.temporal_kernel == 3
    assert model.embed.weight.shape == (D, 6)
    assert any(name.startswith("encoder_temporal.") for name in report.loaded)
    torch.testing.assert_close(model.encoder_temporal[0].conv.weight, state["model"]["encoder_temporal.0.conv.weight"])
    assert model(Batch.from_data_list([_sample(1), _sample(2, 1)])).shape == (2, K)


def test_other_features_fail_clearly():
    with pytest.raises(PretrainedMismatchError, match="input features"):
        STRLClassifier.from_pretrained(_checkpoint(features=("position", "motion")), K, features=("position",))


def test_old_checkpoints_mean_the_papers_encoder():
    model, _ = LinearProbe.from_pretrained(_checkpoint(), K)  # no features / temporal_kernel in its config
    assert model.feature_names == ("position",) and model.encoder_temporal is None


def test_linear_probe_keeps_a_temporal_encoder_frozen():
    probe = LinearProbe(3, K, hidden_channels=D, temporal_kernel=3)
    assert not any(p.requires_grad for p in probe.encoder_temporal.parameters())
    probe.train()
    assert not probe.encoder_temporal.training
