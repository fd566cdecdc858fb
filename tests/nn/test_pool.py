import pytest
import torch

from skelgraph.nn.pool import segment_pool


def test_one_segment_is_the_mean_over_frames_and_nodes():
    h = torch.randn(6, 5, 3, generator=torch.Generator().manual_seed(0))
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    expected = torch.stack([h[:3].mean(dim=(0, 1)), h[3:].mean(dim=(0, 1))])
    assert torch.allclose(segment_pool(h, batch, 2), expected, atol=1e-6)


def test_segments_keep_the_order_of_frames():
    h = torch.arange(6.0).view(1, 6, 1)  # one node, frames 0..5
    forward = segment_pool(h, segments=3)
    backward = segment_pool(h.flip(1), segments=3)
    assert forward.tolist() == [[0.5, 2.5, 4.5]]
    assert backward.tolist() == [[4.5, 2.5, 0.5]]
    assert segment_pool(h).item() == segment_pool(h.flip(1)).item()  # the global mean cannot tell


def test_keep_nodes_concatenates_every_node_of_a_graph_in_order():
    h = torch.arange(8.0).view(4, 2, 1)  # 4 nodes, 2 frames
    out = segment_pool(h, torch.tensor([0, 0, 1, 1]), 2, segments=2, keep_nodes=True)
    assert out.tolist() == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]


def test_keep_nodes_refuses_graphs_of_different_sizes():
    with pytest.raises(ValueError, match="same number of nodes"):
        segment_pool(torch.zeros(3, 2, 1), torch.tensor([0, 0, 1]), 2, keep_nodes=True)


@pytest.mark.parametrize("segments", [0, 5])
def test_segments_out_of_range(segments):
    with pytest.raises(ValueError, match="segments"):
        segment_pool(torch.zeros(2, 4, 1), segments=segments)
