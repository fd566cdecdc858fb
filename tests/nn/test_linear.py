import copy

import torch

from skelgraph.nn.linear import FastLinear


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
