import copy

import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import get_layout
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.nn.strl import (
    LinearProbe, MultiScaleTemporalConv, PretrainedMismatchError, STRLClassifier, add_repeated, contiguous_group_size,
    person_group, sum_pool, sum_pool_repeat,
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
    assert model.pooled_features(batch).shape == (2, D)


def test_features_is_the_old_name_of_pooled_features():
    batch = Batch.from_data_list([_sample(2, 0), _sample(1, 1)])
    model, probe = _model().eval(), LinearProbe(in_channels=3, num_classes=K, hidden_channels=D).eval()
    assert torch.equal(model.features(batch), model.pooled_features(batch))
    assert torch.equal(probe.features(batch), probe.pooled_features(batch))
    assert model.conv_name == "gin" and model.feature_names == ("position",)


def test_single_data_without_batch_vector():
    assert _model()(_sample(2)).shape == (1, K)


def test_pooling_is_per_graph():
    model = _model().eval()
    graphs = [_sample(2, 0), _sample(1, 1)]  # different person counts in one batch
    together = model.pooled_features(Batch.from_data_list(graphs))
    alone = torch.cat([model.pooled_features(Batch.from_data_list([g])) for g in graphs])
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
    raw = probe.pooled_features(batch)
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


def test_from_pretrained_takes_the_temporal_block_from_the_checkpoint():
    model, report = LinearProbe.from_pretrained(_checkpoint(temporal_kernel=3, temporal_block="full"), K)
    assert model.temporal_block == "full" and not any(n.startswith("encoder_temporal.") for n in report.missing)
    assert any(n.startswith("encoder_temporal.0.norm") for n in report.loaded)
    with pytest.raises(PretrainedMismatchError, match="temporal_block"):
        LinearProbe.from_pretrained(_checkpoint(temporal_kernel=3, temporal_block="full"), K,
                                    temporal_block="depthwise")


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
# ----------------------------------------------------------------------------- fast paths = reference


def _double_model(**kwargs) -> STRLClassifier:
    model = _model(**kwargs).double()
    for norm in model.strl_norm:  # at their zero init every STRL layer is the identity
        torch.nn.init.uniform_(norm.weight)
    return model


def _double_batch(persons=(2, 2)):
    batch = Batch.from_data_list([_sample(m, seed) for seed, m in enumerate(persons)])
    batch.x = batch.x.double()
    return batch


@pytest.mark.parametrize("train", [True, False])
def test_multiscale_temporal_conv_fast_path_matches_modules(train):
    torch.manual_seed(0)
    fast = MultiScaleTemporalConv(18).double().train(train)  # 18: uneven branch widths
    ref = copy.deepcopy(fast)
    x1 = torch.randn(4, T, 18, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    out, expected = fast(x1), ref.reference_forward(x2)
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    for (name, a), b in zip(fast.named_parameters(), ref.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)
    for (name, a), b in zip(fast.named_buffers(), ref.buffers()):
        torch.testing.assert_close(a, b, msg=name)


def test_multiscale_temporal_conv_other_norms_take_the_module_path():
    conv = MultiScaleTemporalConv(8)
    conv.branches[0][1] = torch.nn.BatchNorm1d(2, eps=1e-3)  # unlike the others: cannot be fused
    x = torch.randn(3, T, 8)
    assert torch.equal(conv(x), conv.reference_forward(x))


@pytest.mark.parametrize("persons", [(2, 2), (2, 1)])  # contiguous person groups, and a ragged batch
def test_strl_layer_matches_concatenation_formula(persons):
    model = _double_model()
    batch = _double_batch(persons)
    group = person_group(batch.person, batch.batch)
    h1 = torch.randn(batch.num_nodes, T, D, dtype=torch.float64, requires_grad=True)
    h2 = h1.detach().clone().requires_grad_()
    out, expected = model.strl_layer(0, h1, batch, group), model.strl_layer_reference(0, h2, batch, group)
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    expected_grads = torch.autograd.grad(expected.square().sum(), [h2, *model.parameters()], allow_unused=True)
    torch.testing.assert_close(h1.grad, expected_grads[0])
    for (name, p), g in zip(model.named_parameters(), expected_grads[1:]):
        if g is not None:
            torch.testing.assert_close(p.grad, g, msg=name)


def test_contiguous_group_size():
    assert contiguous_group_size(torch.tensor([0, 0, 0, 1, 1, 1])) == 3
    assert contiguous_group_size(torch.tensor([0, 0, 1, 1, 1])) is None  # uneven
    assert contiguous_group_size(torch.tensor([1, 1, 0, 0])) is None  # not in id order
    assert contiguous_group_size(torch.tensor([0, 0, 2, 2])) is None  # an id skipped


def test_sum_pool_and_add_repeated_agree_with_scatter_path():
    h = torch.randn(6, 2, 3)
    group = torch.tensor([0, 0, 1, 1, 2, 2])
    pooled = sum_pool(h, group, 2)
    torch.testing.assert_close(pooled, sum_pool(h, group, None))
    torch.testing.assert_close(add_repeated(h, pooled, group, 2), add_repeated(h, pooled, group, None))
    torch.testing.assert_close(add_repeated(h, pooled, group, 2), h + sum_pool_repeat(h, group))


@pytest.mark.parametrize("conv", ["gin", "gcn", "gat", "stgcn"])
@pytest.mark.parametrize("fused", [True, False])
def test_bfloat16_autocast_trains_every_conv(conv, fused):
    torch.manual_seed(0)
    model = STRLClassifier(3, K, hidden_channels=D, max_frames=T, conv=conv, fused=fused)
    batch = Batch.from_data_list([_sample(2, 0, label=1), _sample(2, 1, label=3)])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(batch)
    torch.nn.functional.cross_entropy(logits.float(), batch.y.view(-1)).backward()
    assert logits.shape == (2, K) and torch.isfinite(logits.float()).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.encoder.parameters())


def test_strl_norm_runs_in_float32_under_bfloat16_autocast():
    torch.manual_seed(0)
    model = STRLClassifier(3, K, hidden_channels=D, max_frames=T)
    seen = []
    model.strl_norm[0].register_forward_hook(lambda mod, args, out: seen.append((args[0].dtype, out.dtype)))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(Batch.from_data_list([_sample(2, 0, label=1)]))
    assert seen == [(torch.float32, torch.float32)]


def test_fast_layers_compute_what_torchs_layers_compute_in_float64():
    # FastLinear/FastPReLU (the chunked backward: PReLU inputs here exceed its chunk) against
    # torch.nn.Linear/PReLU on the same weights: the logits and every gradient of a training step
    from skelgraph.nn.activation import FastPReLU
    from skelgraph.nn.linear import FastLinear

    torch.manual_seed(0)
    ours = STRLClassifier(3, K, hidden_channels=32, max_frames=64).double()
    for norm in ours.strl_norm:
        torch.nn.init.uniform_(norm.weight)
    theirs = copy.deepcopy(ours)
    swapped = 0
    for module in theirs.modules():
        for fast, plain in ((FastLinear, torch.nn.Linear), (FastPReLU, torch.nn.PReLU)):
            if type(module) is fast:
                module.__class__, swapped = plain, swapped + 1
    g = torch.Generator().manual_seed(0)
    batch = Batch.from_data_list([skeleton_to_data(torch.randn(2, 64, 25, 3, generator=g), NTU, label=i)
                                  for i in range(2)])
    batch.x = batch.x.double()
    outs = []
    for model in (ours, theirs):
        logits = model(batch)
        torch.nn.functional.cross_entropy(logits, batch.y.view(-1)).backward()
        outs.append((logits, [p.grad for p in model.parameters()]))
    # FastLinear: the embedding and the 3 GIN MLPs' two layers; PReLUs: 3 in the GIN MLPs, 3 after
    # the convs, 3 in the STRL layers
    assert swapped == 16
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-12, atol=1e-14)
    for (name, _), a, b in zip(ours.named_parameters(), outs[0][1], outs[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13, msg=name)


def test_onednn_products_leave_a_float32_training_step_as_it_was(monkeypatch):
    # skelgraph.nn.linear sends the model's large float32 products to oneDNN instead of MKL:
    # the logits and every gradient of a step equal those with oneDNN disabled, to float32 rounding
    import skelgraph.nn.linear as linear_module

    if not linear_module.onednn_linear_available():
        pytest.skip("this PyTorch build has no working oneDNN linear")
    calls = []
    original = linear_module._onednn
    monkeypatch.setattr(linear_module, "_onednn", lambda *args: calls.append(1) or original(*args))
    monkeypatch.setattr(linear_module, "ONEDNN_MIN_ROWS", 1)  # the tiny batch's 1,600 rows
    model = _model()
    batch = Batch.from_data_list([_sample(2, seed) for seed in range(2)])
    outs = []
    for enabled in (True, False):
        torch.manual_seed(1)  # the same dropout mask
        torch.backends.mkldnn.enabled = enabled
        try:
            model.zero_grad()
            logits = model(batch)
            torch.nn.functional.cross_entropy(logits, batch.y.view(-1)).backward()
        finally:
            torch.backends.mkldnn.enabled = True
        outs.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
        if enabled:
            assert len(calls) > 20  # every GIN, STRL and temporal product above the row threshold
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    scale = max(float(g.abs().max()) for g in outs[1][1])
    for (name, _), a, b in zip(model.named_parameters(), outs[0][1], outs[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6 * scale, msg=name)
