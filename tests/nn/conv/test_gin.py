import torch

from skelgraph.nn.conv import SkeletonGINConv, dense_adjacency

from .conftest import build


def test_gin_with_eps_agrees_on_fused_plain_and_dense_paths(batch):
    torch.manual_seed(0)
    conv = SkeletonGINConv(3, 8, eps=0.5)  # fused: (1 + eps) I + A as one CSR matrix
    fused = conv(batch.x, batch.edge_index)
    conv.fused = False
    torch.testing.assert_close(fused, conv(batch.x, batch.edge_index), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fused, conv.dense_forward(batch.x, dense_adjacency(batch.edge_index, 17)),
                               rtol=1e-5, atol=1e-5)


def test_gin_fused_path_counts_a_self_loop_edge_as_a_neighbour(batch):
    conv = build("gin")
    edge_index = torch.cat([batch.edge_index, torch.tensor([[3], [3]])], dim=1)  # node 3 its own neighbour
    fused = conv(batch.x, edge_index)
    conv.fused = False
    torch.testing.assert_close(fused, conv(batch.x, edge_index), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(fused[3], conv(batch.x, batch.edge_index)[3])
