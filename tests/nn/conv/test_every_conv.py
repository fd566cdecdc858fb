import pytest
import torch

from skelgraph.nn.conv import CONVS, SkeletonGATConv, SkeletonGCNConv, SkeletonGINConv, SkeletonSTGCNConv, \
    dense_adjacency, make_conv
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.transforms.masking import BodyPartMask

from tests.conftest import REPO

from .conftest import T, build


@pytest.mark.parametrize("name", list(CONVS))
def test_conv_output_shape(batch, name):
    out = build(name)(batch.x, batch.edge_index, batch.hop)
    assert out.shape == (51, T, 8)


@pytest.mark.parametrize("name", list(CONVS))
def test_fused_path_matches_plain_path(batch, name):
    conv = build(name)
    fused = conv(batch.x, batch.edge_index, batch.hop)
    conv.fused = False
    plain = conv(batch.x, batch.edge_index, batch.hop)
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(CONVS))
def test_fused_path_gradient_matches_plain_path(batch, name):
    conv = build(name)
    grads = []
    for fused in (True, False):
        conv.fused = fused
        x = batch.x.clone().requires_grad_()
        conv(x, batch.edge_index, batch.hop).pow(2).sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list(CONVS))
def test_sparse_path_matches_dense_reference(batch, name):
    conv = build(name)
    adj = dense_adjacency(batch.edge_index, 17)  # [V, V], adj[target, source]
    torch.testing.assert_close(conv(batch.x, batch.edge_index, batch.hop), conv.dense_forward(batch.x, adj, batch.hop),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(CONVS))
def test_reset_parameters_changes_weights(name):
    conv = build(name)
    before = [p.detach().clone() for p in conv.parameters()]
    conv.reset_parameters()
    changed = [not torch.equal(a, b) for a, b in zip(before, conv.parameters()) if a.numel() > 1 and a.abs().sum() > 0]
    assert changed and all(changed)


def test_make_conv_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown conv"):
        make_conv("sage", 3, 8)


@pytest.mark.parametrize("name", list(CONVS))
@pytest.mark.parametrize("path", ["fused", "plain", "dense"])
def test_bfloat16_autocast_on_every_path(batch, name, path):
    conv = build(name, fused=path == "fused")
    adj = dense_adjacency(batch.edge_index, 17)
    run = ((lambda h: conv.dense_forward(h, adj, batch.hop)) if path == "dense"  # noqa: E731
           else (lambda h: conv(h, batch.edge_index, batch.hop)))
    x = batch.x.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = torch.nn.functional.linear(x, torch.eye(3))  # bfloat16 input, as inside a model
        out = run(run(h) if conv.in_channels == conv.out_channels else h)
    out.float().sum().backward()
    reference = run(batch.x)
    assert out.shape == reference.shape and torch.isfinite(x.grad).all()
    torch.testing.assert_close(out.float(), reference, rtol=0.05, atol=0.05)  # bfloat16: 3 significant digits


@pytest.mark.parametrize("name", list(CONVS))
def test_bfloat16_autocast_trains_skeletonmae(batch, name):
    torch.manual_seed(0)
    model = SkeletonMAE(3, 8, conv=name)
    batch = BodyPartMask(2, generator=torch.Generator().manual_seed(0))(batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(batch)["loss"]
    loss.float().backward()
    assert torch.isfinite(loss.float()) and all(torch.isfinite(p.grad).all() for p in model.encoder.parameters())


@pytest.mark.parametrize("name", ["gcn", "stgcn"])
def test_normalisation_in_the_input_precision(batch, name):
    conv = build(name).double()
    x = batch.x.double()
    adj = dense_adjacency(batch.edge_index, 17).double()
    torch.testing.assert_close(conv(x, batch.edge_index, batch.hop), conv.dense_forward(x, adj, batch.hop),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(CONVS))
def test_forward_refuses_a_dense_adjacency_and_names_dense_forward(batch, name):
    with pytest.raises(TypeError, match="dense_forward"):
        build(name)(batch.x, dense_adjacency(batch.edge_index, 17), batch.hop)


def test_every_public_name_of_the_package_resolves():
    import skelgraph.nn
    import skelgraph.nn.conv as conv

    assert all(getattr(conv, name) is not None for name in conv.__all__)
    assert all(getattr(skelgraph.nn, name) is not None for name in skelgraph.nn.__all__)
    assert skelgraph.nn.SkeletonGINConv is SkeletonGINConv and conv.SkeletonGATConv is SkeletonGATConv
    assert {SkeletonGCNConv, SkeletonSTGCNConv} <= set(CONVS.values())


def test_conv_choices_of_config_and_cli_are_the_one_table():
    import typing

    from skelgraph.cli import main
    from skelgraph.nn.conv import CONV_CLASSES, CONV_NAMES
    from skelgraph.train.config import FinetuneConfig, PretrainConfig

    assert tuple(CONVS) == CONV_NAMES == tuple(CONV_CLASSES)
    for config in (PretrainConfig, FinetuneConfig):
        hint = typing.get_type_hints(config)["conv"]
        if typing.get_origin(hint) is not typing.Literal:  # FinetuneConfig's may be unset (the pre-training run's)
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        assert typing.get_args(hint) == CONV_NAMES
    option = next(p for p in main.commands["pretrain"].params if p.name == "conv")
    assert tuple(option.type.choices) == CONV_NAMES


def test_conv_names_load_without_torch():
    import subprocess
    import sys

    code = ("import sys; from skelgraph.nn.conv import CONV_NAMES; import skelgraph.train.config; "
            "print(sorted(m for m in ('torch', 'torch_geometric') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
