r"""The encoder :math:`G_E` that SkeletonMAE pre-trains and the classifiers reuse.

``G_E`` = input features (:mod:`skelgraph.nn.features`) -> ``embed`` ``Linear(C_f, D)`` ->
``enc_layers`` graph convolutions, each followed by PReLU and, optionally, a depthwise temporal
convolution (:class:`TemporalMixing`). :class:`EncoderMixin` builds it under the same parameter
names (``embed``, ``encoder``, ``encoder_act``, ``encoder_temporal``) in every model, so a
pre-training state dict maps onto a classifier key for key.

The temporal layer. SkeletonMAE's encoder, as the paper describes it, is frame-wise: its graph
convolutions mix joints, never frames. :class:`TemporalMixing` after each graph convolution lets
every joint see its own neighbourhood in time (the role of ST-GCN's temporal convolution), so a
masked joint can be rebuilt from the frames around it and the encoder's features carry motion.
It is depthwise (one ``kernel_size`` filter per channel; the next graph convolution's MLP mixes
channels), which keeps it cheap next to the graph convolution: ``D * kernel_size`` weights per
layer. ``temporal_block = "full"`` (:class:`TemporalConvBlock`) is ST-GCN's unit instead: a
temporal convolution that mixes channels as it mixes frames (``D * D * kernel_size`` weights),
normalised, with a residual; ``"bottleneck"`` squeezes it through ``D / 4`` channels (about the
cost of the depthwise layer next to a GIN layer, most of the full block's reach).

Shapes: N nodes (a node is one person's joint), T frames, C coordinate channels, C_f = C times
the number of input features, D hidden channels.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import Conv1d, LayerNorm, Linear, Module, ModuleList, Sequential
from torch_geometric.data import Data

from skelgraph.nn.activation import FastPReLU as PReLU  # torch's PReLU, same weights, faster backward
from skelgraph.nn.conv import make_conv
from skelgraph.nn.features import center_nodes, check_features, skeleton_features
from skelgraph.nn.linear import FastLinear
from skelgraph.transforms.functional import parent_nodes_from_hops

ENCODER_PREFIXES = ("embed.", "encoder.", "encoder_act.", "encoder_temporal.")  # G_E's parameters


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


class TemporalConvBlock(Module):
    r"""ST-GCN's temporal unit on ``[N, T, D]``: ``h + LayerNorm(PReLU(Conv1d_k(h)))`` along the
    frames of every node, channels mixed (``reduction = 1``), or squeezed through
    ``D / reduction`` channels (``1x1 -> PReLU -> Conv1d_k -> PReLU -> 1x1``). The LayerNorm's
    weight starts at zero, so a new block is the identity and pre-training grows it (the
    zero-init residual trick the STRL layers use); frames are zero-padded at both ends.

    Args:
        channels (int): ``D``.
        kernel_size (int): Frames seen by one filter (odd). (default: ``9``, ST-GCN's)
        reduction (int): Channel squeeze of the bottleneck; ``1`` = one full ``D -> D``
            convolution. (default: ``1``)

    Example:
        >>> import torch
        >>> block = TemporalConvBlock(8, 3, reduction=2)
        >>> x = torch.randn(4, 10, 8)
        >>> bool(torch.equal(block(x), x))  # the identity until trained
        True
    """

    def __init__(self, channels: int, kernel_size: int = 9, reduction: int = 1) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"temporal kernel_size must be odd and positive, got {kernel_size}")
        if reduction < 1 or channels % reduction:
            raise ValueError(f"reduction must divide the {channels} channels, got {reduction}")
        self.channels, self.kernel_size, self.reduction = channels, kernel_size, reduction
        inner = channels // reduction
        pad = kernel_size // 2
        if reduction == 1:
            self.conv = Sequential(Conv1d(channels, channels, kernel_size, padding=pad), PReLU())
        else:
            self.conv = Sequential(Conv1d(channels, inner, 1), PReLU(), Conv1d(inner, inner, kernel_size, padding=pad),
                                   PReLU(), Conv1d(inner, channels, 1))
        self.norm = LayerNorm(channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.conv:
            module.reset_parameters()
        self.norm.reset_parameters()
        torch.nn.init.zeros_(self.norm.weight)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.norm(self.conv(h.transpose(1, 2)).transpose(1, 2))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, kernel_size={self.kernel_size}, reduction={self.reduction})"


TEMPORAL_BLOCKS = ("depthwise", "full", "bottleneck")  # the encoder's temporal layer, by name
BOTTLENECK_REDUCTION = 4


def make_temporal(num_layers: int, channels: int, kernel_size: int, block: str = "depthwise") -> ModuleList | None:
    r"""One temporal layer per encoder layer, or ``None`` for ``kernel_size == 0`` (the paper's
    frame-wise encoder): :class:`TemporalMixing` (``block="depthwise"``) or
    :class:`TemporalConvBlock` (``"full"``; ``"bottleneck"`` squeezes it by
    :data:`BOTTLENECK_REDUCTION`)."""
    if block not in TEMPORAL_BLOCKS:
        raise ValueError(f"temporal_block must be one of {', '.join(TEMPORAL_BLOCKS)}, got {block!r}")
    if kernel_size == 0:
        return None
    if block == "depthwise":
        return ModuleList(TemporalMixing(channels, kernel_size) for _ in range(num_layers))
    if block == "bottleneck" and channels % BOTTLENECK_REDUCTION:
        raise ValueError(f"the bottleneck block needs hidden_channels divisible by {BOTTLENECK_REDUCTION}, "
                         f"got {channels}")
    reduction = BOTTLENECK_REDUCTION if block == "bottleneck" else 1
    return ModuleList(TemporalConvBlock(channels, kernel_size, reduction) for _ in range(num_layers))


def graph_centers(data: Data, features: Sequence[str]) -> Tensor | None:
    r"""Centre node of every node ``[N]`` when ``features`` need it (``trajectory``), else
    ``None`` (positions are then taken as stored)."""
    if "trajectory" not in features:
        return None
    for key in ("joint", "hop"):
        if key not in data:
            raise ValueError(f"the trajectory feature needs data.{key} (graphs from skeleton_to_data have it)")
    return center_nodes(data.joint, data.hop)


def graph_parents(data: Data, features: Sequence[str]) -> Tensor | None:
    r"""Parent node of every node ``[N]`` when ``features`` need it (``bone``), else ``None``:
    the neighbour one bone nearer the centre joint, read from every bone of the graph (also those
    a masking transform moved to ``data.masked_edge_index``, which are still the body's bones)."""
    if "bone" not in features:
        return None
    if "hop" not in data:
        raise ValueError("the bone feature needs data.hop (graphs from skeleton_to_data have it)")
    edges = data.edge_index
    if getattr(data, "masked_edge_index", None) is not None:
        edges = torch.cat([edges, data.masked_edge_index], dim=1)
    return parent_nodes_from_hops(edges, data.hop)


class EncoderMixin:
    r"""Builds and runs ``G_E``; used by :class:`~skelgraph.nn.mae.SkeletonMAE`,
    :class:`~skelgraph.nn.strl.STRLClassifier` and :class:`~skelgraph.nn.strl.LinearProbe`."""

    embed: Linear
    encoder: ModuleList
    encoder_act: ModuleList
    encoder_temporal: ModuleList | None

    def _build_encoder(self, in_channels: int, hidden_channels: int, enc_layers: int, conv: str,
                       features: Sequence[str] = ("position",), temporal_kernel: int = 0,
                       temporal_block: str = "depthwise", **conv_kwargs: Any) -> None:
        if enc_layers < 1:
            raise ValueError(f"need at least one encoder layer, got {enc_layers}")
        d = hidden_channels
        self.in_channels, self.hidden_channels, self.enc_layers = in_channels, d, enc_layers
        self.conv_name = conv  # the conv's name (make_conv); `conv` attributes elsewhere hold modules
        self.feature_names, self.temporal_kernel = check_features(features), temporal_kernel
        self.temporal_block = temporal_block
        self.embed = FastLinear(in_channels * len(self.feature_names), d)  # Linear, faster weight gradient
        self.encoder = ModuleList(make_conv(conv, d, d, **conv_kwargs) for _ in range(enc_layers))
        self.encoder_act = ModuleList(PReLU() for _ in range(enc_layers))
        self.encoder_temporal = make_temporal(enc_layers, d, temporal_kernel, temporal_block)

    def input_features(self, data: Data) -> Tensor:
        r"""The encoder's input ``[N, T, C_f]`` from ``data.x`` ``[N, T, C]``."""
        return skeleton_features(data.x, self.feature_names, graph_centers(data, self.feature_names),
                                 graph_parents(data, self.feature_names))

    def encode(self, data: Data, adj: Tensor | None = None) -> Tensor:
        r"""``G_E(embed(features(x)))``: the encoder's embeddings ``[N, T, D]`` of the unmasked
        input (for downstream use); ``adj``: the dense reference path, as in :meth:`run_encoder`."""
        return self.run_encoder(self.embed(self.input_features(data)), data.edge_index, getattr(data, "hop", None), adj)

    def run_encoder(self, h: Tensor, edge_index: Tensor, hop: Tensor | None = None,
                    adj: Tensor | None = None) -> Tensor:
        r"""``G_E(A, H)``: ``[N, T, D] -> [N, T, D]`` through the encoder layers; with ``adj`` (a
        float ``[V, V]`` adjacency) each conv runs its dense reference path instead
        (``dense_forward``, :mod:`skelgraph.nn.conv.dense`) and ``edge_index`` is not read."""
        for i, (conv, act) in enumerate(zip(self.encoder, self.encoder_act)):
            h = act(conv(h, edge_index, hop) if adj is None else conv.dense_forward(h, adj, hop))
            if self.encoder_temporal is not None:
                h = self.encoder_temporal[i](h)
        return h
