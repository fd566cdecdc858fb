r"""Label-fraction subsets for the semi-supervised protocol (e.g. 1 % / 10 % of the labels)."""
from __future__ import annotations

import numpy as np


def label_fraction_indices(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    r"""Positions (sorted, into ``labels``) of a class-balanced, seeded subset of the labelled
    samples: from each class ``c`` with ``n_c`` labelled samples it keeps
    ``max(1, round(fraction * n_c))`` chosen uniformly at random (a stratified draw: every
    class keeps the same fraction and at least one sample). Unlabelled samples (``-1``) are
    never chosen. ``fraction = 1`` keeps every labelled sample. The same ``labels``,
    ``fraction`` and ``seed`` give the same subset.

    Example:
        >>> label_fraction_indices(np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2]), 0.25, seed=0).size
        3
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label_fraction must be in (0, 1], got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == label)
        count = len(members) if fraction == 1.0 else max(1, round(fraction * len(members)))
        chosen.append(rng.choice(members, size=min(count, len(members)), replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def validation_indices(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    r"""Positions (sorted, into ``labels``) of a validation set carved from a training split:
    from each class ``c`` with ``n_c`` labelled samples, ``round(fraction * n_c)`` chosen at
    random, but never the last one (every class keeps at least one training sample).
    Unlabelled samples (``-1``) stay in training. Drawn from its own stream of ``seed``, apart
    from :func:`label_fraction_indices`'s.

    Example:
        >>> validation_indices(np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, -1]), 0.25, seed=0).size
        2
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"a validation fraction must be in (0, 1), got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, 1])
    chosen = [np.zeros(0, dtype=np.int64)]
    for label in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == label)
        count = min(round(fraction * len(members)), len(members) - 1)
        chosen.append(rng.choice(members, size=count, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)
