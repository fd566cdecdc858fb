import pytest
import torch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import NTU25
from skelgraph.nn.mae import SkeletonMAE
from skelgraph.nn.encoder import TemporalConvBlock, TemporalMixing, make_temporal


def _frame_dependence(temporal_kernel: int, block: str = "depthwise") -> torch.Tensor:
    """Which frames of the encoder output change when frame 4 of the input changes."""
    g = torch.Generator().manual_seed(0)
    data = skeleton_to_data(torch.randn(1, 9, 25, 3, generator=g), NTU25)
    torch.manual_seed(0)
    mae = SkeletonMAE(3, 8, temporal_kernel=temporal_kernel, temporal_block=block)
    for layer in mae.encoder_temporal or []:
        if isinstance(layer, TemporalConvBlock):
            torch.nn.init.ones_(layer.norm.weight)  # as if trained: a new block is the identity
    before = mae.encode(data)
    data.x = data.x.clone()
    data.x[:, 4] += 1.0
    return (mae.encode(data) - before).abs().sum(dim=(0, 2)) > 1e-6


def test_papers_encoder_is_frame_wise():
    assert _frame_dependence(0).tolist() == [False] * 4 + [True] + [False] * 4


def test_temporal_kernel_lets_each_layer_see_its_neighbouring_frames():
    # 3 layers of kernel 3: frame 4 reaches frames 1..7
    assert _frame_dependence(3).tolist() == [False] + [True] * 7 + [False]


def test_temporal_mixing_is_depthwise():
    layer = TemporalMixing(4, 3)
    h = torch.zeros(2, 5, 4)
    h[:, 2, 1] = 1.0  # one channel of one frame
    out = layer(h) - layer(torch.zeros_like(h)) - h  # bias and residual removed
    assert out[..., [0, 2, 3]].abs().sum() == 0 and out[..., 1].abs().sum() > 0


def test_temporal_kernel_must_be_odd():
    with pytest.raises(ValueError, match="odd"):
        TemporalMixing(4, 4)


@pytest.mark.parametrize("block", ["full", "bottleneck"])
def test_temporal_conv_blocks_see_neighbouring_frames(block):
    assert _frame_dependence(3, block).tolist() == [False] + [True] * 7 + [False]


def test_full_block_mixes_channels_and_starts_as_the_identity():
    block = TemporalConvBlock(4, 3)
    h = torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(block(h), h)
    torch.nn.init.ones_(block.norm.weight)
    one = torch.zeros(2, 5, 4)
    one[:, 2, 1] = 1.0  # one channel of one frame
    changed = (block(one) - block(torch.zeros_like(one)) - one).abs().sum(dim=(0, 1))
    assert bool((changed > 0).all())  # every channel feels it (a depthwise layer would move one)


def test_bottleneck_has_fewer_weights_than_the_full_block():
    def count(module):
        return sum(p.numel() for p in module.parameters())

    full, bottleneck = make_temporal(1, 64, 9, "full"), make_temporal(1, 64, 9, "bottleneck")
    assert count(bottleneck) < count(full) / 4


def test_unknown_or_impossible_temporal_block_is_rejected():
    with pytest.raises(ValueError, match="temporal_block"):
        make_temporal(1, 8, 3, "lstm")
    with pytest.raises(ValueError, match="divisible"):
        make_temporal(1, 6, 3, "bottleneck")
