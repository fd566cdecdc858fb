import torch

import pytest

from skelgraph.nn.losses import (
    edge_reconstruction_loss, info_nce_loss, masked_sce_loss, normalized_l1_loss, normalized_mse_loss,
    reconstruction_loss, sce_loss,
)


def test_sce_loss_is_zero_for_perfect_reconstruction():
    x = torch.randn(10, 4, 3, generator=torch.Generator().manual_seed(0))
    assert sce_loss(x, x.clone()).item() < 1e-6


def test_sce_loss_is_one_for_orthogonal_reconstruction():
    assert sce_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 5.0]]), beta=3.0).item() == 1.0


def test_masked_sce_loss_ignores_visible_joints():
    g = torch.Generator().manual_seed(0)
    x, x_hat = torch.randn(6, 4, 3, generator=g), torch.randn(6, 4, 3, generator=g)
    keep = torch.tensor([True, False, True, False, True, True])
    before = masked_sce_loss(x, x_hat, keep)
    x_hat[0] += 10.0  # a visible joint's prediction
    assert masked_sce_loss(x, x_hat, keep) == before
    x_hat[1] += 10.0  # a hidden joint's prediction
    assert masked_sce_loss(x, x_hat, keep) != before


def test_masked_sce_loss_per_frame_mask_counts_hidden_frames_only():
    g = torch.Generator().manual_seed(0)
    x, x_hat = torch.randn(3, 4, 3, generator=g), torch.randn(3, 4, 3, generator=g)
    keep = torch.ones(3, 4, dtype=torch.bool)
    keep[1, 2] = False
    torch.testing.assert_close(masked_sce_loss(x, x_hat, keep), sce_loss(x[1, 2:3], x_hat[1, 2:3]))


def test_masked_sce_loss_skips_all_zero_targets():
    x = torch.zeros(2, 1, 3)
    x[0, 0, 0] = 1.0
    x_hat = torch.ones(2, 1, 3)
    keep = torch.tensor([False, False])  # node 1 is hidden but absent (zero target)
    torch.testing.assert_close(masked_sce_loss(x, x_hat, keep), sce_loss(x[:1], x_hat[:1]))


def test_edge_reconstruction_loss_is_small_for_confident_correct_logits():
    assert edge_reconstruction_loss(torch.full((3,), 20.0), torch.full((4,), -20.0)).item() < 1e-6


def test_normalized_mse_hand_computed():
    x = torch.tensor([[1.0, 1.0], [1.0, 1.0]])  # mean square 1
    x_hat = torch.tensor([[2.0, 1.0], [1.0, 1.0]])  # one error of 1 in 4 entries
    assert normalized_mse_loss(x, x_hat).item() == 0.25


def test_normalized_l1_sees_magnitude_where_sce_does_not():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert sce_loss(x, 3 * x).item() == 0.0
    assert normalized_l1_loss(x, 3 * x).item() == 2.0  # |2x| / |x|


def test_normalizers_carry_no_gradient():
    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    x_hat = torch.zeros(1, 2, requires_grad=True)
    normalized_mse_loss(x, x_hat).backward()
    torch.testing.assert_close(x_hat.grad, -2 * x.detach() / 2 / 2.5)  # d/dx_hat mean(e^2) / 2.5


def test_reconstruction_loss_counts_selected_entries_only():
    x = torch.tensor([[[1.0, 0.0]], [[0.0, 3.0]]])
    x_hat = torch.tensor([[[0.0, 0.0]], [[5.0, 5.0]]])
    select = torch.tensor([[True], [False]])
    assert reconstruction_loss(x, x_hat, select, "mse").item() == 1.0
    assert reconstruction_loss(x, x_hat, select, "l1").item() == 1.0


def test_reconstruction_loss_sce_skips_zero_targets_but_mse_keeps_them():
    x = torch.tensor([[[1.0, 0.0]], [[0.0, 0.0]]])  # a zero motion is a valid target for mse
    x_hat = torch.tensor([[[1.0, 0.0]], [[1.0, 0.0]]])
    select = torch.ones(2, 1, dtype=torch.bool)
    assert reconstruction_loss(x, x_hat, select, "sce").item() == 0.0
    assert reconstruction_loss(x, x_hat, select, "mse").item() == 1.0  # mean err^2 0.25 / mean x^2 0.25


def test_reconstruction_loss_rejects_unknown_names():
    with pytest.raises(ValueError, match="sce, mse, l1"):
        reconstruction_loss(torch.ones(1, 1, 2), torch.ones(1, 1, 2), torch.ones(1, 1, dtype=torch.bool), "huber")


def test_info_nce_is_log_batch_for_uninformative_features():
    z = torch.ones(4, 3)  # every pair equally similar: chance is 1 in 4
    torch.testing.assert_close(info_nce_loss(z, z), torch.tensor(4.0).log())


def test_info_nce_prefers_matching_rows():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, 16, generator=g)
    assert info_nce_loss(z, z + 0.01 * torch.randn(8, 16, generator=g)) < info_nce_loss(z, z.roll(1, dims=0))
