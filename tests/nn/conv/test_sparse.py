import torch

from skelgraph.nn.conv import csr_adjacency, sparse_matmul, transpose_csr

from .conftest import T


def test_sparse_matmul_with_cached_transpose_has_torchs_gradient(batch):
    n = batch.num_nodes
    adj_t = csr_adjacency(batch.edge_index, torch.rand(batch.edge_index.size(1)), (n, n))
    grads = []
    for adj in (None, transpose_csr(adj_t)):
        x = torch.randn(n, T, 5, generator=torch.Generator().manual_seed(0)).requires_grad_()
        sparse_matmul(adj_t, x, adj).square().sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1])
