"""SkeletonMAE(scope="strl"): pre-training the STRL trunk, and classifiers that take it."""
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import NTU25
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.nn.strl import (TRUNK_PREFIXES, LinearProbe, PretrainedMismatchError, STRLClassifier,
                               checkpoint_trunk)
from skelgraph.transforms.masking import BodyPartMask


def _batch(frames=9, graphs=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = BodyPartMask(num_parts=2, generator=torch.Generator().manual_seed(seed))
    return Batch.from_data_list([mask(skeleton_to_data(torch.randn(1, frames, 25, 3, generator=g), NTU25))
                                 for _ in range(graphs)])


def _state(model: SkeletonMAE, frames: int = 9) -> dict:
    """A pre-training checkpoint dict of ``model`` as pretrain writes it (the keys readers use)."""
    config = {"hidden_channels": model.hidden_channels, "enc_layers": model.enc_layers, "conv": model.conv_name,
              "scope": model.scope, "num_frames": frames, "strl_layers": 2, "temporal": "per-layer"}
    return {"kind": "skeletonmae", "in_channels": 3, "config": config, "model": model.state_dict()}


def _mae(scope="strl"):
    torch.manual_seed(0)
    return SkeletonMAE(3, 8, scope=scope, strl_layers=2, max_frames=9)


def test_strl_scope_holds_the_trunk_under_the_classifiers_names():
    keys = set(_mae().state_dict())
    classifier = set(STRLClassifier(3, 4, hidden_channels=8, strl_layers=2, max_frames=9).state_dict())
    trunk = {k for k in classifier if k.startswith(TRUNK_PREFIXES)}
    assert trunk and trunk <= keys
    assert not any(k.startswith(TRUNK_PREFIXES) for k in _mae("encoder").state_dict())


def test_encoder_scope_draws_the_same_weights_as_before_the_option():
    torch.manual_seed(0)
    plain = SkeletonMAE(3, 8)
    for key, value in _mae("encoder").state_dict().items():
        assert torch.equal(value, plain.state_dict()[key]), key


def test_strl_scope_reconstruction_runs_through_the_trunk():
    model, data = _mae(), _batch()
    out = model(data)
    out["loss"].backward()
    assert out["x_hat"].shape == (data.num_nodes, 9, 3)
    # the trunk is trained by the loss: its first STRL layer's norm (zero at the start) gets a gradient
    assert model.strl_norm[0].weight.grad.abs().sum() > 0
    assert model.layer_temporal[0].branches[0][0].weight.grad.abs().sum() > 0


def test_represent_is_the_trunks_output_in_strl_scope():
    model, data = _mae(), _batch()
    model.eval()
    assert torch.equal(model.represent(data), model.encode_strl(data))
    assert not torch.equal(model.represent(data), model.encode(data))
    encoder_only = _mae("encoder").eval()
    assert torch.equal(encoder_only.represent(data), encoder_only.encode(data))


def test_trunk_sees_frame_order_even_when_every_layer_is_frame_wise():
    model, data = _mae().eval(), _batch(graphs=1)
    reversed_data = data.clone()
    reversed_data.x = data.x.flip(1)
    pooled = model.represent(data).mean(dim=1)
    assert not torch.allclose(pooled, model.represent(reversed_data).mean(dim=1), atol=1e-5)  # position embedding


def test_unknown_scope_is_rejected():
    with pytest.raises(ValueError, match="scope must be one of encoder, strl"):
        SkeletonMAE(3, 8, scope="all")


def test_classifier_from_a_strl_checkpoint_starts_from_the_pretrained_trunk():
    mae = _mae()
    with torch.no_grad():
        for p in mae.parameters():
            p.add_(0.1)  # as if trained: the STRL norms are no longer zero
    model, report = STRLClassifier.from_pretrained(_state(mae), 4, strl_layers=2, max_frames=9)
    own = model.state_dict()
    for key, value in mae.state_dict().items():
        if key.startswith(TRUNK_PREFIXES):
            assert torch.equal(own[key], value), key
    assert "pos_embed" in report.loaded and not any(k.startswith("classifier") for k in report.loaded)
    data = _batch()
    model.eval(), mae.eval()
    assert torch.allclose(model.encode_strl(data), mae.represent(data), atol=1e-6)


@pytest.mark.parametrize("asked, message", [({"strl_layers": 3}, "strl_layers=2"),
                                            ({"max_frames": 16}, "set num_frames to match"),
                                            ({"temporal": "head"}, "temporal='per-layer'")])
def test_classifier_with_another_trunk_shape_is_refused_in_one_sentence(asked, message):
    with pytest.raises(PretrainedMismatchError, match=message):
        STRLClassifier.from_pretrained(_state(_mae()), 4, **({"strl_layers": 2, "max_frames": 9} | asked))


def test_encoder_checkpoint_has_no_trunk():
    assert checkpoint_trunk(_state(_mae("encoder"))) is None
    assert checkpoint_trunk(_state(_mae())) == {"strl_layers": 2, "temporal": "per-layer", "max_frames": 9}


def test_linear_probe_reads_the_frozen_trunk():
    mae = _mae()
    probe, _ = LinearProbe.from_pretrained(_state(mae), 4)
    data = _batch()
    mae.eval(), probe.eval()
    assert torch.allclose(probe.encode(data), mae.represent(data), atol=1e-6)
    assert not any(p.requires_grad for name, p in probe.named_parameters() if not name.startswith("classifier"))
    probe.train()
    assert not probe.layer_temporal[0].training  # frozen BatchNorms keep their statistics


@pytest.mark.parametrize("temporal", ["per-layer", "head"])
def test_all_layers_stacks_every_strl_layer_and_ends_with_the_trunks_output(temporal):
    torch.manual_seed(0)
    probe = LinearProbe(3, 4, hidden_channels=8, strl_layers=2, max_frames=9, temporal=temporal).eval()
    data = _batch()
    h = probe.embed(probe.input_features(data)) + probe.pos_embed[:9]
    group = data.batch
    first = probe.strl_layer(0, h, data, group)
    if temporal == "per-layer":
        first = probe.layer_temporal[0](first)
    stacked = probe.encode(data, all_layers=True)
    assert stacked.shape == (data.num_nodes, 9, 16)
    assert torch.allclose(stacked[..., :8], first, atol=1e-6)  # layer 1's output, by hand
    assert torch.equal(stacked[..., 8:], probe.encode(data))  # the last block is the usual feature


def test_all_layers_needs_a_trunk():
    with pytest.raises(ValueError, match="no trunk"):
        LinearProbe(3, 4, hidden_channels=8).encode(_batch(), all_layers=True)
