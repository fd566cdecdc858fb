import copy

import pytest
import torch

import skelgraph.nn.linear as linear_module
from skelgraph.nn.linear import FastLinear, linear


def _pair(in_features: int, out_features: int):
    torch.manual_seed(0)
    ours = FastLinear(in_features, out_features).double()
    theirs = torch.nn.Linear(in_features, out_features).double()
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def test_fast_linear_has_torchs_output_and_gradients():
    ours, theirs = _pair(3, 16)  # narrow input: the custom backward
    x = torch.randn(4, 7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    xs = [x.clone().requires_grad_(), x.clone().requires_grad_()]
    outs = [ours(xs[0]), theirs(xs[1])]
    assert torch.equal(outs[0], outs[1])
    grad = torch.randn_like(outs[0])
    for out in outs:
        out.backward(grad)
    torch.testing.assert_close(xs[0].grad, xs[1].grad, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, rtol=1e-12, atol=1e-14)


def test_fast_linear_loads_a_linear_state_dict():
    ours, theirs = _pair(3, 8)
    copy.deepcopy(theirs).load_state_dict(ours.state_dict())
    assert set(ours.state_dict()) == {"weight", "bias"}


onednn = pytest.mark.skipif(not linear_module.onednn_linear_available(),
                            reason="this PyTorch build has no working oneDNN linear")


@pytest.fixture
def onednn_calls(monkeypatch):
    """Counts the products that go to oneDNN; every size engages it."""
    calls = []
    original = linear_module._onednn

    def counted(x, weight, bias):
        calls.append(tuple(x.shape))
        return original(x, weight, bias)

    monkeypatch.setattr(linear_module, "_onednn", counted)
    monkeypatch.setattr(linear_module, "ONEDNN_MIN_ROWS", 1)
    return calls


def _float32_case(rows: int = 6, in_features: int = 5, out_features: int = 4):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, rows, in_features, generator=g)
    w, b = torch.randn(out_features, in_features, generator=g), torch.randn(out_features, generator=g)
    return x, w, b, torch.randn(2, rows, out_features, generator=g)


def _output_and_grads(x, w, b, grad):
    x, w, b = (t.clone().requires_grad_() for t in (x, w, b))
    out = linear(x, w, b)
    out.backward(grad)
    return out, x.grad, w.grad, b.grad


@onednn
def test_onednn_computes_the_forward_and_input_gradient_of_a_float32_linear(onednn_calls):
    x, w, b, grad = _float32_case()
    ours = _output_and_grads(x, w, b, grad)
    assert onednn_calls == [(12, 5), (12, 4)]  # forward x W^T + b, then g W
    exact = _output_and_grads(x.double(), w.double(), b.double(), grad.double())  # float64: MKL / torch
    for a, e in zip(ours, exact):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a.double(), e, rtol=1e-5, atol=1e-5)


@onednn
def test_onednn_serves_inference_without_autograd(onednn_calls):
    x, w, b, _ = _float32_case()
    with torch.no_grad():
        out = linear(x, w, b)
    assert onednn_calls == [(12, 5)] and out.shape == (2, 6, 4)
    torch.testing.assert_close(out, torch.nn.functional.linear(x, w, b), rtol=1e-5, atol=1e-5)


@onednn
def test_onednn_is_not_used_in_float64_when_disabled_or_below_the_row_threshold(onednn_calls, monkeypatch):
    x, w, b, grad = _float32_case()
    _output_and_grads(x.double(), w.double(), b.double(), grad.double())
    torch.backends.mkldnn.enabled = False  # (flags() warns about its other settings)
    try:
        out = _output_and_grads(x, w, b, grad)[0]
    finally:
        torch.backends.mkldnn.enabled = True
    assert torch.equal(out, torch.nn.functional.linear(x, w, b))
    monkeypatch.setattr(linear_module, "ONEDNN_MIN_ROWS", 13)  # the case has 12 rows
    _output_and_grads(x, w, b, grad)
    assert onednn_calls == []


def test_onednn_check_leaves_the_global_random_state_alone():
    # the check runs on the first large product of a process: at a resumed run's first step too
    state = torch.get_rng_state()
    linear_module.onednn_linear_works.__wrapped__()
    assert torch.equal(torch.get_rng_state(), state)


def test_onednn_opt_out_by_environment(monkeypatch):
    monkeypatch.setenv(linear_module.OPT_OUT, "0")
    assert linear_module.onednn_linear_available() is False
    assert linear_module.onednn_linear_status() == "off (SKELGRAPH_ONEDNN=0)"


@onednn
def test_onednn_takes_strided_weights_and_returns_their_gradient(onednn_calls):
    # the STRL layer multiplies by one half of its Linear(2D, D) weight: a strided view
    x, _, _, grad = _float32_case(in_features=4)
    x.requires_grad_()
    full = torch.randn(4, 8, generator=torch.Generator().manual_seed(1), requires_grad=True)
    half = full[:, :4]
    linear(x, half).backward(grad)
    assert len(onednn_calls) == 2
    torch.testing.assert_close(x.grad, grad @ half.detach(), rtol=1e-5, atol=1e-5)
    expected = grad.reshape(-1, 4).t() @ x.detach().reshape(-1, 4)
    torch.testing.assert_close(full.grad[:, :4], expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(full.grad[:, 4:], torch.zeros(4, 4))
