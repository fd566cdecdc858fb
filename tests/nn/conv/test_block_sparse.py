import torch

from skelgraph.nn.conv import attention_product, block_csr


def test_attention_product_gradients_by_finite_differences():
    # a duplicate edge (2 -> 0 twice) and a node with no incoming edge (3)
    source, target = torch.tensor([1, 2, 2, 0, 3, 0]), torch.tensor([0, 0, 0, 1, 2, 2])
    slots = 3 * 2  # T = 3 frames, H = 2 heads
    patterns = block_csr(target, source, 4, slots), block_csr(source, target, 4, slots)
    generator = torch.Generator().manual_seed(0)
    alpha = torch.rand(6, 3, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 3, 2, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, v: attention_product(a, v, patterns), (alpha, x))
    messages = x[source] * alpha.unsqueeze(-1)  # [E, T, H, F], what the plain path builds
    expected = torch.zeros_like(x).index_add(0, target, messages)
    torch.testing.assert_close(attention_product(alpha, x, patterns), expected)
    assert attention_product(alpha, x, patterns)[3].abs().sum() == 0  # nothing flows into node 3
