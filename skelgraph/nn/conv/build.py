r""":data:`CONVS` (name -> class, from :data:`~skelgraph.nn.conv.CONV_CLASSES`) and :func:`make_conv`."""
from __future__ import annotations

import importlib
from typing import Any

import torch  # noqa: F401  (make_conv's doctest uses it)
from torch_geometric.nn import MessagePassing

from skelgraph.nn.conv import CONV_CLASSES

CONVS: dict[str, type[MessagePassing]] = {
    name: getattr(importlib.import_module(f"skelgraph.nn.conv.{name}"), cls) for name, cls in CONV_CLASSES.items()}


def make_conv(name: str, in_channels: int, out_channels: int, **kwargs: Any) -> MessagePassing:
    r"""Builds the conv ``name`` (a key of :data:`CONVS`) mapping ``in_channels`` to
    ``out_channels``; every result is called as ``conv(x [N, T, C_in], edge_index, hop=None)``
    and returns ``[N, T, out_channels]``. For ``"gat"`` with ``heads > 1`` and ``concat`` (the
    default), each head gets ``out_channels // heads`` channels.

    Example:
        >>> conv = make_conv("gcn", 3, 8)
        >>> conv(torch.randn(2, 5, 3), torch.tensor([[0, 1], [1, 0]])).shape
        torch.Size([2, 5, 8])
    """
    if name not in CONVS:
        raise ValueError(f"unknown conv {name!r}; choose one of {', '.join(CONVS)}")
    if name == "gat" and kwargs.get("concat", True):
        heads = kwargs.get("heads", 1)
        if out_channels % heads:
            raise ValueError(f"gat: out_channels {out_channels} is not divisible by heads {heads}")
        out_channels //= heads
    return CONVS[name](in_channels, out_channels, **kwargs)
