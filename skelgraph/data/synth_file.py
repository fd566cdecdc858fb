r"""The synthetic labelled set as an HDF5 file (``skelgraph synth``, the demo, ``bench``)."""
from __future__ import annotations

from pathlib import Path

from skelgraph.data.h5 import write_h5
from skelgraph.data.synth import make_synthetic, synthetic_splits
from skelgraph.graph.layouts import get_layout


def write_synthetic(out: Path, layout_name: str = "ntu25", samples: int = 600, classes: int = 10,
                    channels: int = 3, seed: int = 0) -> int:
    r"""Writes :func:`~skelgraph.data.synth.make_synthetic`'s labelled set (one person, its
    train/test splits) to ``out``; returns the number of samples."""
    layout = get_layout(layout_name)
    seqs, class_names = make_synthetic(layout, samples, classes, num_channels=channels, seed=seed)
    return write_h5(out, seqs, layout=layout, num_persons=1, class_names=class_names,
                    splits=synthetic_splits(seqs, seed=seed),
                    provenance=dict(kind="synthetic", seed=seed, samples=samples, classes=classes))
