r"""Exporting a trained encoder's features: ``skelgraph embed`` and its Python twin :func:`embed`
(also ``skelgraph.embed``).

For every sample of a split, the pooled features the frozen model computes (what k-NN and the
linear probe read: :meth:`~skelgraph.nn.strl.STRLClassifier.pooled_features` of a fine-tuned run, the
bare encoder's pooled output of a pre-training run), with the sample's name and label, ready
for scikit-learn or UMAP::

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    emb = np.load("features.npz")              # features [N, D], name [N], label [N] (-1 = none), class_names
    LogisticRegression(max_iter=1000).fit(emb["features"], emb["label"])

Frames and persons are the run's (its config); evaluation sampling (the middle frame of each
segment), so the export is deterministic. Files (by the output's suffix, through the atomic
writer): ``.npz`` (``numpy.load``) or ``.h5`` (datasets ``features``, ``name``, ``label``;
attributes ``class_names`` (JSON), ``run``, ``data``, ``split``, ``kind``).
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import Module
from torch_geometric.loader import DataLoader

from skelgraph.data.files import atomic_write_bytes, check_output, check_replaceable
from skelgraph.train.common import RunDirError, resolve_device

#: Output suffixes :func:`write_embeddings` knows.
SUFFIXES = (".npz", ".h5", ".hdf5")


@dataclass
class Embeddings:
    r"""Pooled features of the samples of one split.

    Attributes:
        features: float32 ``[N, D]``.
        names: ``[N]`` sample names (as stored in the data file).
        labels: int64 ``[N]`` (``-1`` = unlabelled).
        class_names: Name of each label.
        kind: The run's kind (``skeletonmae``, ``strl`` or ``linear``).
        split: The split exported (``None``: every sample).
    """

    features: np.ndarray
    names: list[str]
    labels: np.ndarray
    class_names: list[str]
    kind: str
    split: str | None = None


def load_feature_model(run: str | Path, num_classes: int, device: torch.device,
                       layout_json: str | None = None) -> tuple[Module, dict[str, Any]]:
    r"""The model whose ``features(batch)`` a run exports, and the run's checkpoint dict: the
    classifier of a fine-tuning run, or a pre-training run's encoder (in a
    :class:`~skelgraph.nn.strl.LinearProbe`, whose features are the encoder's pooled output)."""
    from skelgraph.nn.strl import LinearProbe
    from skelgraph.train.checkpoints import PRETRAIN_KIND, load_checkpoint
    from skelgraph.train.finetune import load_finetuned

    state = load_checkpoint(run, map_location="cpu")
    if state.get("kind") == PRETRAIN_KIND:
        model, _ = LinearProbe.from_pretrained(state, max(num_classes, 1), layout=layout_json,
                                               in_channels=state.get("in_channels"))
    else:
        model, state = load_finetuned(run)
    return model.to(device).eval(), state


def embed(run: str | Path, data_path: str | Path, split: str | None = None, *, out: str | Path | None = None,
          batch_size: int = 64, device: str = "auto", workers: int = 0,
          progress: bool | None = False) -> Embeddings:
    r"""Pooled features of every sample of ``split`` of ``data_path`` (``None``: every sample),
    computed by the pre-training or fine-tuning run ``run`` (a run directory or checkpoint);
    written to ``out`` (``.npz`` or ``.h5``) when given.

    Raises:
        DataMismatchError: the data's layout, channels or features do not fit the run.
        RunDirError: ``out`` has another suffix.
    """
    from skelgraph.data.dataset import SkeletonDataset
    from skelgraph.train.checkpoints import load_checkpoint
    from skelgraph.train.compat import check_data
    from skelgraph.train.evaluate import predict

    if out is not None and Path(out).suffix.lower() not in SUFFIXES:
        raise RunDirError(f"{out}: the output must end in .npz or .h5 (the suffix picks the format)")
    if out is not None:  # before any work: never over the data, a checkpoint or a user's file
        check_output(out)
        check_replaceable(out, is_embeddings_file, "an embeddings file", inputs=[data_path, run])
    dev = resolve_device(device)
    state = load_checkpoint(run, map_location="cpu")
    config = state.get("config") or {}
    dataset = SkeletonDataset(data_path, split=split, num_frames=config.get("num_frames", 64),
                              num_persons=config.get("num_persons"))
    check_data(state, dataset, data=data_path, pooled=True)  # layout, channels, features, person slots; not classes
    model, state = load_feature_model(run, dataset.num_classes, dev, dataset.layout.to_json())
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers)
    features, labels = predict(model, loader, dev, features=True, desc="embed", progress=progress)
    names = [str(dataset.store.names[int(i)]) for i in dataset.indices_in_file]
    if len(names) == 0:
        features = np.zeros((0, 0), np.float32)
    result = Embeddings(np.asarray(features, dtype=np.float32), names, np.asarray(labels, dtype=np.int64),
                        list(dataset.class_names), str(state.get("kind")), split)
    if out is not None:
        write_embeddings(result, out, run=str(run), data=str(data_path))
    return result


def is_embeddings_file(path: str | Path) -> bool:
    """Whether ``path`` holds embeddings :func:`write_embeddings` wrote (what ``embed`` may replace)."""
    try:
        if Path(path).suffix.lower() == ".npz":
            with np.load(path) as f:
                return "features" in f.files and "name" in f.files
        import h5py

        with h5py.File(path, "r") as f:
            return "features" in f and "name" in f and "keypoint" not in f
    except (OSError, ValueError, KeyError):
        return False


def write_embeddings(emb: Embeddings, path: str | Path, **attrs: str) -> Path:
    r"""Writes ``emb`` to ``path``: ``.npz`` (arrays ``features``, ``name``, ``label``,
    ``class_names``) or ``.h5`` (datasets ``features``, ``name``, ``label``; attribute
    ``class_names`` as JSON); ``attrs`` (e.g. ``run``, ``data``) go in as strings."""
    path = Path(path)
    meta = {"kind": emb.kind, "split": emb.split or "", **attrs}
    buffer = io.BytesIO()  # built in memory, written once by the atomic writer: a full disk never reaches HDF5
    if path.suffix.lower() == ".npz":
        np.savez(buffer, features=emb.features, name=np.asarray(emb.names, dtype=str), label=emb.labels,
                 class_names=np.asarray(emb.class_names, dtype=str), **{k: np.asarray(v) for k, v in meta.items()})
    else:
        import h5py

        with h5py.File(buffer, "w") as f:
            f.create_dataset("features", data=emb.features)
            f.create_dataset("name", data=np.asarray(emb.names, dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("label", data=emb.labels)
            f.attrs["class_names"] = json.dumps(emb.class_names)
            for key, value in meta.items():
                f.attrs[key] = value
    atomic_write_bytes(path, buffer.getvalue())
    return path
