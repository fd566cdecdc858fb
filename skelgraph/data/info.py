r"""What ``skelgraph info`` prints about a dataset file (numpy and h5py only)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from skelgraph.data.h5 import H5Skeletons


def describe(path: str | Path) -> str:
    """The text ``skelgraph info`` prints: counts, layout, shape, frame statistics, classes,
    splits and where the file came from."""
    path = Path(path)
    store = H5Skeletons(path)
    lengths = store.num_frames
    kp = store.file["keypoint"]
    labels = store.labels
    labelled = labels[labels >= 0]
    lines = [
        f"file        {path}",
        f"samples     {len(store)}",
        f"layout      {store.layout.name} ({store.layout.num_joints} joints, {len(store.layout.bones)} bones, "
        f"parts: {', '.join(store.layout.part_names)})",
        f"shape       persons M={store.num_persons}, channels C={kp.shape[3]}, "
        f"scores {'yes' if store.has_score else 'no'}",
        f"frames      total {int(lengths.sum())}; per sample min {lengths.min()}, median "
        f"{int(np.median(lengths))}, mean {lengths.mean():.1f}, max {lengths.max()}",
    ]
    if len(labelled):
        counts = np.bincount(labelled)
        names = store.class_names or [str(i) for i in range(len(counts))]
        lines.append(f"classes     {len(names)} ({len(labelled)} labelled samples; per class min "
                     f"{counts.min()}, max {counts.max()})")
        shown = ", ".join(f"{i}:{names[i] if i < len(names) else i}" for i in range(min(len(names), 12)))
        lines.append(f"            {shown}{', ...' if len(names) > 12 else ''}")
    else:
        lines.append("classes     none (unlabelled)")
    for split, idx in sorted(store.splits.items()):
        lines.append(f"split       {split}: {len(idx)}")
    prov = store.provenance
    if prov:
        lines.append(f"made by     skelgraph {prov.get('skelgraph', '?')} on {prov.get('created', '?')}"
                     f" from {prov.get('kind', prov.get('source', '?'))}")
    return "\n".join(lines)
