import torch

from skelgraph.nn.losses import edge_reconstruction_loss, masked_sce_loss, sce_loss


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
