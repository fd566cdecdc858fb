import copy

import pytest
import torch
from torch.nn import BatchNorm1d, Conv1d, MaxPool1d

import torch.nn.functional as F

from skelgraph.nn.temporal import (batch_norm_last, can_fuse_batch_norms, frame_shifts, linear_1x1,
                                   max_pool_time_last, temporal_conv_last)

N, T = 5, 9


def _x(channels: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(N, T, channels, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _on_channels_first(module, x):  # the module applied as PyTorch means it: [N, C, T]
    return module(x.transpose(1, 2)).transpose(1, 2)


@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_temporal_conv_matches_conv1d_with_gradients(dilation):
    torch.manual_seed(0)
    conv = Conv1d(4, 3, 5, padding=2 * dilation, dilation=dilation).double()
    x1, x2 = _x(4).requires_grad_(), _x(4).requires_grad_()
    ours, theirs = temporal_conv_last(x1, conv), _on_channels_first(conv, x2)
    torch.testing.assert_close(ours, theirs)
    grad_w = torch.autograd.grad(ours.square().sum(), (x1, conv.weight))
    grad_w_ref = torch.autograd.grad(theirs.square().sum(), (x2, conv.weight))
    for a, b in zip(grad_w, grad_w_ref):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("frames,kernel,dilation", [(9, 5, 1), (9, 5, 2), (9, 3, 3), (2, 5, 2), (1, 3, 1)])
def test_frame_shifts_are_the_padded_slices_side_by_side_with_gradients(frames, kernel, dilation):
    # the construction frame_shifts replaced: pad, k slices, cat (autograd's own backward)
    x1 = torch.randn(3, frames, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x1.requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    p = dilation * (kernel - 1) // 2
    padded = F.pad(x2, (0, 0, p, p))
    expected = torch.cat([padded[:, j * dilation:j * dilation + frames] for j in range(kernel)], dim=-1)
    ours = frame_shifts(x1, kernel, dilation)
    assert torch.equal(ours, expected)
    weight = torch.randn(ours.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    grad, = torch.autograd.grad((ours * weight).sum(), x1)
    grad_ref, = torch.autograd.grad((expected * weight).sum(), x2)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-15, atol=1e-15)
    assert torch.autograd.gradcheck(lambda x: frame_shifts(x, kernel, dilation), (x1,))


def test_frame_shifts_reject_even_kernels():
    with pytest.raises(ValueError, match="odd"):
        frame_shifts(_x(2), 4)


def test_temporal_conv_rejects_strided_conv():
    with pytest.raises(ValueError, match="stride-1"):
        temporal_conv_last(_x(4).float(), Conv1d(4, 4, 3, stride=2, padding=1))


def test_linear_1x1_stacks_the_convs_outputs():
    torch.manual_seed(0)
    convs = [Conv1d(6, w, 1).double() for w in (2, 3)]
    x = _x(6)
    expected = torch.cat([_on_channels_first(c, x) for c in convs], dim=-1)
    torch.testing.assert_close(linear_1x1(x, convs), expected)


def test_max_pool_time_matches_max_pool1d():
    pool = MaxPool1d(3, stride=1, padding=1)
    x = _x(4)
    torch.testing.assert_close(max_pool_time_last(x, pool), _on_channels_first(pool, x))


def _norms(widths=(2, 3)):
    torch.manual_seed(0)
    norms = [BatchNorm1d(w).double() for w in widths]
    for m in norms:
        torch.nn.init.uniform_(m.weight)
        torch.nn.init.uniform_(m.bias)
    return norms


def test_batch_norm_last_matches_modules_and_updates_their_statistics():
    ours, theirs = _norms(), _norms()
    for step in range(2):
        x = _x(5, seed=step)
        out = batch_norm_last(x, ours)
        expected = torch.cat([_on_channels_first(m, part) for m, part in zip(theirs, x.split([2, 3], -1))], -1)
        torch.testing.assert_close(out, expected)
    for a, b in zip(ours, theirs):
        for key, value in b.state_dict().items():
            torch.testing.assert_close(a.state_dict()[key], value)


def test_batch_norm_last_eval_uses_running_statistics():
    ours, theirs = _norms(), _norms()
    for m in ours + theirs:
        m.running_mean.fill_(0.5)
        m.eval()
    x = _x(5)
    expected = torch.cat([_on_channels_first(m, part) for m, part in zip(theirs, x.split([2, 3], -1))], -1)
    torch.testing.assert_close(batch_norm_last(x, ours), expected)
    assert all(int(m.num_batches_tracked) == 0 for m in ours)


def test_batch_norm_last_cumulative_average_when_momentum_is_none():
    ours, theirs = _norms(), _norms()
    for m in ours + theirs:
        m.momentum = None
    for step in range(3):
        x = _x(5, seed=step)
        batch_norm_last(x, ours)
        for m, part in zip(theirs, x.split([2, 3], -1)):
            _on_channels_first(m, part)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.running_var, b.running_var)


def test_can_fuse_only_alike_batch_norms():
    norms = _norms()
    assert can_fuse_batch_norms(norms)
    odd = copy.deepcopy(norms)
    odd[1].eps = 1e-3
    assert not can_fuse_batch_norms(odd)
    assert not can_fuse_batch_norms([norms[0], torch.nn.SyncBatchNorm(3)])
