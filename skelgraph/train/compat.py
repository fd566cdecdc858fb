r"""The one check where a checkpoint meets data: can this model read this file, and mean it?

A model is tied to the data it was trained on by more than the class count: the joints and
bones of its layout (the graph it convolves over, the order of its nodes), the coordinate
channels (2-D or 3-D), the input features it computes (``trajectory`` is all zeros on data
centred per frame) and, for a classifier, the classes. Data that differs in any of these runs
without error and gives a meaningless number, so every place a checkpoint meets data
(``evaluate``, ``finetune --pretrained``, ``--resume``, ``show --checkpoint``, the checkpoint
loaders) calls :func:`check_data` first. It reads only the checkpoint's plain metadata
(``layout``, ``in_channels``, ``num_classes``, ``class_names``, ``config``), not its weights.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class DataMismatchError(ValueError):
    """Data that a checkpoint's model cannot read or would read wrongly (the message names both
    files and the difference)."""


def _layout(layout: Any) -> dict[str, Any]:
    if isinstance(layout, str):
        return json.loads(layout)
    if isinstance(layout, dict):
        return layout
    return json.loads(layout.to_json())  # a Layout


def _bones(layout: dict[str, Any]) -> set[frozenset[str]]:
    joints = list(layout.get("joints", []))
    bones = set()
    for a, b in layout.get("bones", []):
        a, b = (joints[a], joints[b]) if isinstance(a, int) else (a, b)
        bones.add(frozenset((a, b)))
    return bones


def layout_difference(trained: Any, data: Any) -> str | None:
    r"""How the layout ``data`` differs from ``trained`` (``None``: the same graph). Names and
    body parts do not count; the joints (by name, in order) and the bones do.

    Example:
        >>> from skelgraph.graph.layouts import get_layout
        >>> layout_difference(get_layout("ntu25"), get_layout("ntu25")) is None
        True
        >>> layout_difference(get_layout("ntu25"), get_layout("kinect_v1_20"))
        "layout 'kinect_v1_20' (20 joints) instead of 'ntu25' (25 joints)"
    """
    theirs, ours = _layout(trained), _layout(data)
    t_joints, o_joints = list(theirs.get("joints", [])), list(ours.get("joints", []))
    what = f"layout {ours.get('name')!r} ({len(o_joints)} joints) instead of {theirs.get('name')!r} " \
           f"({len(t_joints)} joints)"
    if len(t_joints) != len(o_joints):
        return what
    if t_joints != o_joints:
        if sorted(t_joints) == sorted(o_joints):
            return f"{what}: the same joints in another order"
        return f"{what}: other joints"
    if _bones(theirs) != _bones(ours):
        return f"{what}: the same joints with other bones"
    return None


def check_data(state: dict[str, Any], store: Any, *, data: str | Path | None = None,
               classes: bool = False, features: Sequence[str] | None = None, pooled: bool = False) -> None:
    r"""Refuses data that the checkpoint's model cannot read, or would read wrongly.

    Args:
        state: A checkpoint dict (pre-training or fine-tuning; its ``path`` names it).
        store: The data: an :class:`~skelgraph.data.h5.H5Skeletons` (or anything with ``layout``,
            ``num_channels``, ``num_persons``, ``class_names``, ``provenance``, ``path``), or a
            :class:`~skelgraph.data.dataset.SkeletonDataset` (its ``store`` is used).
        data: How to name the data in a message (default: its path).
        classes: The model's classifier is used: the data must have its classes (count and,
            where both files name them, names) and, unless the run set ``num_persons``, the
            person slots per sample of its training file (the classifier pools over them).
        features: The input features the model will compute (default: the checkpoint's).
        pooled: The model's features pooled over each sample are used (as the classifier does:
            implied by ``classes``), e.g. exported by ``embed``: the person slots must match too.

    Raises:
        DataMismatchError: naming the checkpoint, the data and the difference.
    """
    data_classes = getattr(store, "num_classes", None)  # a dataset counts its classes (names or labels)
    store = getattr(store, "store", store)
    source = state.get("path", "checkpoint")
    where = data if data is not None else getattr(store, "path", "the data")
    prefix = f"{source} cannot be used on {where}:"
    if state.get("layout") is not None:
        difference = layout_difference(state["layout"], store.layout)
        if difference is not None:
            raise DataMismatchError(f"{prefix} the data has {difference} (preprocess it with --to-layout "
                                    f"{_layout(state['layout']).get('name')}, or train on this layout)")
    if state.get("in_channels") is not None and int(state["in_channels"]) != store.num_channels:
        dims = {2: "2-D", 3: "3-D"}
        trained, ours = int(state["in_channels"]), store.num_channels
        raise DataMismatchError(f"{prefix} trained on {dims.get(trained, trained)} coordinates ({trained} "
                                f"channels), the data has {ours}")
    config = state.get("config", {}) or {}
    check_features_data(features if features is not None else config.get("features", ("position",)), store,
                        where=f"{prefix} the model reads", data=where)
    if classes or pooled:  # pooled features take every person slot: the data must have the run's
        trained_slots = (state.get("preprocessing") or {}).get("file_persons")
        data_slots = getattr(store, "num_persons", None)
        if config.get("num_persons") is None and trained_slots is not None and data_slots is not None \
                and int(trained_slots) != int(data_slots):
            raise DataMismatchError(f"{prefix} trained on {trained_slots} person slot(s) per sample, the data has "
                                    f"{data_slots} (preprocess it with --max-persons {trained_slots}; a sample "
                                    f"with fewer persons is padded, as in training)")
    if classes and state.get("num_classes") is not None:
        trained_names = list(state.get("class_names") or [])
        ours_names = list(getattr(store, "class_names", []) or [])
        num_classes = int(state["num_classes"])
        if data_classes is None and ours_names:
            data_classes = len(ours_names)
        if data_classes is not None and data_classes != num_classes:
            raise DataMismatchError(f"{prefix} its classifier has {num_classes} classes, the data has "
                                    f"{data_classes}")
        if trained_names and ours_names and trained_names != ours_names:
            first = next(i for i, (a, b) in enumerate(zip(trained_names, ours_names)) if a != b)
            raise DataMismatchError(f"{prefix} other classes (class {first} is {ours_names[first]!r} in the data, "
                                    f"{trained_names[first]!r} in the run)")


def check_features_data(features: Sequence[str], store: Any, *, where: str = "", data: Any = None) -> None:
    r"""Refuses features that the data cannot give: ``trajectory`` on a file centred per frame
    (the centre joint's track is zero there).

    Raises:
        DataMismatchError: naming the data and what to do.
    """
    store = getattr(store, "store", store)
    provenance = getattr(store, "provenance", {}) or {}
    if "trajectory" in tuple(features) and provenance.get("center", False):
        data = data if data is not None else getattr(store, "path", "the data")
        lead = where or f"{data}:"
        raise DataMismatchError(f"{lead} the trajectory feature, but {data} is centred per frame (its trajectory "
                                f"is zero): preprocess it again with --no-center, or drop 'trajectory' from "
                                f"features")
