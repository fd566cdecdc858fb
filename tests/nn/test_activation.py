import pytest
import torch

from skelgraph.nn.activation import FastPReLU, prelu


def _pair(seed: int = 0):
    torch.manual_seed(seed)
    ours, theirs = FastPReLU(), torch.nn.PReLU()
    with torch.no_grad():
        ours.weight.fill_(0.3)
        theirs.weight.fill_(0.3)
    return ours, theirs


def _input(dtype=torch.float32):
    x = torch.randn(6, 5, 4, generator=torch.Generator().manual_seed(1), dtype=dtype)
    x[0, 0] = 0.0  # the kink: both take the slope w there
    return x


def test_forward_matches_torch_prelu():
    ours, theirs = _pair()
    x = _input()
    assert torch.equal(ours(x), theirs(x))


def test_gradients_match_torch_prelu():
    ours, theirs = _pair()
    grad = torch.randn(6, 5, 4, generator=torch.Generator().manual_seed(2))
    xs = [_input().requires_grad_(), _input().requires_grad_()]
    ours(xs[0]).backward(grad)
    theirs(xs[1]).backward(grad)
    torch.testing.assert_close(xs[0].grad, xs[1].grad, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-5, atol=1e-6)


def test_double_precision_gradcheck():
    x = _input(torch.float64).add_(0.01).requires_grad_()  # away from the kink, where it is differentiable
    w = torch.tensor([0.2], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(prelu, (x, w))


def test_state_dict_is_torch_prelu_state_dict():
    ours, theirs = _pair()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours.load_state_dict(torch.nn.PReLU(init=0.7).state_dict())
    assert ours.weight.item() == pytest.approx(0.7)


def test_per_channel_weight_falls_back_to_torch():
    x = torch.randn(3, 4, 5)
    w = torch.rand(4)
    torch.testing.assert_close(prelu(x, w), torch.nn.functional.prelu(x, w))


def test_bfloat16_autocast_keeps_weight_gradient_float32():
    ours, _ = _pair()
    x = _input().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = ours(torch.nn.functional.linear(x, torch.eye(4)))  # linear output is bfloat16
    assert y.dtype == torch.bfloat16
    y.float().sum().backward()
    assert ours.weight.grad.dtype == torch.float32 and x.grad.dtype == torch.float32


def test_bfloat16_weight_gradient_matches_float_reference():
    ours, _ = _pair()
    x = torch.randn(64, 8, 16, generator=torch.Generator().manual_seed(3)).bfloat16().requires_grad_()
    grad = torch.randn(64, 8, 16, generator=torch.Generator().manual_seed(4)).bfloat16()
    ours(x).backward(grad)
    expected = (grad.double() * x.detach().double().clamp(max=0)).sum()
    assert ours.weight.grad.item() == pytest.approx(expected.item(), rel=2e-2)


def test_large_inputs_take_the_chunked_backward_with_torchs_gradients():
    ours, theirs = _pair()
    x = torch.randn(3, 200, 130, generator=torch.Generator().manual_seed(3), dtype=torch.float64)  # > 2 chunks
    x[0, 0, :5] = 0.0
    grad = torch.randn_like(x)
    ours, theirs = ours.double(), theirs.double()
    xs = [x.clone().requires_grad_(), x.clone().requires_grad_()]
    ours(xs[0]).backward(grad)
    theirs(xs[1]).backward(grad)
    assert torch.equal(xs[0].grad, xs[1].grad)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-12, atol=0.0)
