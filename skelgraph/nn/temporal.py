r"""The encoder's optional temporal layer: a depthwise convolution over frames.

SkeletonMAE's encoder, as the paper describes it, is frame-wise: its graph convolutions mix
joints, never frames. :class:`TemporalMixing` after each graph convolution lets every joint see
its own neighbourhood in time (the role of ST-GCN's temporal convolution), so a masked joint can
be rebuilt from the frames around it and the encoder's features carry motion. It is depthwise
(one ``kernel_size`` filter per channel; the next graph convolution's MLP mixes channels), which
keeps it cheap next to the graph convolution: ``D * kernel_size`` weights per layer.

Shapes: ``[N, T, D]`` in and out (a node is one person's joint, T frames, D channels).
"""
from __future__ import annotations

from torch import Tensor
from torch.nn import Conv1d, Module, ModuleList


class TemporalMixing(Module):
    r"""``h + DepthwiseConv1d_k(h)`` along the frames of every node, zero-padded at both ends
    (the output has as many frames as the input).

    Args:
        channels (int): ``D``.
        kernel_size (int): Frames seen by one filter (odd). (default: ``5``)

    Example:
        >>> import torch
        >>> TemporalMixing(8, 3)(torch.randn(4, 10, 8)).shape
        torch.Size([4, 10, 8])
    """

    def __init__(self, channels: int, kernel_size: int = 5) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"temporal kernel_size must be odd and positive, got {kernel_size}")
        self.channels, self.kernel_size = channels, kernel_size
        self.conv = Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def forward(self, h: Tensor) -> Tensor:
        return h + self.conv(h.transpose(1, 2)).transpose(1, 2)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, kernel_size={self.kernel_size})"


def make_temporal(num_layers: int, channels: int, kernel_size: int) -> ModuleList | None:
    r"""One :class:`TemporalMixing` per encoder layer, or ``None`` for ``kernel_size == 0`` (the
    paper's frame-wise encoder)."""
    if kernel_size == 0:
        return None
    return ModuleList(TemporalMixing(channels, kernel_size) for _ in range(num_layers))
