r"""The per-layer cache of what a conv builds from its graph (normalisation, CSR adjacency)."""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor


class _Held(NamedTuple):
    tensor: Tensor
    version: int  # its in-place _version when the entry was built


class AdjacencyCache:
    r"""Remembers what was built from the last ``(edge_index, ...)`` seen.

    A key's tensor matches the cached one when it is the same tensor, or (a dense CPU tensor) an
    equal one: a training loop's batches of one size have equal ``edge_index`` tensors (the same
    bones, the same node offsets), so a layer builds its adjacency once per batch size instead
    of once per step; comparing is one pass over ``[2, E]`` integers, a fraction of a build
    (``experiments/RESULTS.md``, issue 20). The cached tensor's in-place ``_version`` is kept
    with it: a cached tensor edited in place matches nothing afterwards. On other devices only
    the same tensor matches (a comparison would wait for the device). Repeated calls on one
    graph (the layers of one forward pass, evaluation, a fixed graph) hit the cache either way.
    One entry: a last, smaller batch rebuilds, and the next full one rebuilds again.
    """

    def __init__(self) -> None:
        self._entry: tuple[tuple, Any] | None = None  # (key, value), replaced as one object

    @staticmethod
    def _matches(cached: Any, new: Any) -> bool:
        if not isinstance(cached, _Held):
            return not isinstance(new, Tensor) and cached == new
        tensor = cached.tensor
        if not isinstance(new, Tensor) or tensor._version != cached.version:
            return False
        if new is tensor:
            return True
        return (new.device.type == "cpu" and new.layout == tensor.layout == torch.strided
                and tensor.device == new.device and tensor.dtype == new.dtype and tensor.shape == new.shape
                and torch.equal(tensor, new))

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        entry = self._entry  # read once: a thread sharing the layer never pairs one key with another's value
        if entry is None or len(entry[0]) != len(key) or not all(map(self._matches, entry[0], key)):
            entry = (tuple(_Held(t, t._version) if isinstance(t, Tensor) else t for t in key), build())
            self._entry = entry
        return entry[1]

    @property
    def value(self) -> Any:
        r"""What the last :meth:`get` returned (``None`` before the first or after :meth:`clear`)."""
        entry = self._entry
        return None if entry is None else entry[1]

    def clear(self) -> None:
        self._entry = None
