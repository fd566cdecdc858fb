r"""Names of a package loaded on first use (PEP 562), so that the config and the CLI can read
:data:`skelgraph.nn.conv.CONV_NAMES` without importing torch."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    r"""``(__getattr__, __dir__)`` for ``package``: ``exports`` maps each public name to the module
    that defines it, imported when the name is first read; ``namespace`` is the package's
    ``globals()``.

    Example:
        >>> getattr_, _ = lazy_exports("pkg", {"sqrt": "math"}, {})
        >>> getattr_("sqrt")(4.0)
        2.0
    """
    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*namespace, *exports])

    return __getattr__, __dir__
