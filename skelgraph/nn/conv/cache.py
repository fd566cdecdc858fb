r"""The per-layer cache of what a conv builds from its graph (normalisation, CSR adjacency)."""
from __future__ import annotations

from typing import Any, Callable

from torch import Tensor


class AdjacencyCache:
    r"""Remembers what was built from the last ``(edge_index, ...)`` seen.

    The key holds references to its tensors (and their in-place ``_version``), so the identity
    check cannot be fooled by a freed tensor whose memory a new batch reuses. One entry: a
    training loop with a new batch each step rebuilds once per step and layer; repeated calls
    on one graph (the layers of one forward pass, evaluation, a fixed graph) hit the cache.
    """

    def __init__(self) -> None:
        self._entry: tuple[tuple, Any] | None = None  # (key, value), replaced as one object

    @staticmethod
    def _same(a: tuple, b: tuple) -> bool:
        return len(a) == len(b) and all(x is y if isinstance(x, Tensor) else x == y for x, y in zip(a, b))

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        key = tuple(part for t in key for part in ((t, t._version) if isinstance(t, Tensor) else (t,)))
        entry = self._entry  # read once: a thread sharing the layer never pairs one key with another's value
        if entry is None or not self._same(entry[0], key):
            entry = (key, build())
            self._entry = entry
        return entry[1]

    @property
    def value(self) -> Any:
        r"""What the last :meth:`get` returned (``None`` before the first or after :meth:`clear`)."""
        entry = self._entry
        return None if entry is None else entry[1]

    def clear(self) -> None:
        self._entry = None
