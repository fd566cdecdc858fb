r"""Standard train/test splits, computed from each sample's ``meta``, and users' own split files.

The id lists are data files in ``skelgraph/data/splits/`` (also reachable as ``datasets/splits``):
one integer per whitespace-separated token, ``#`` starts a comment.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from skelgraph.data.files import read_text_file

SPLIT_DIR = "splits"


def read_id_list(name: str) -> frozenset[int]:
    """The integers in the packaged list ``splits/<name>.txt``.

    Example:
        >>> sorted(read_id_list("nwucla_xview_train_views"))
        [1, 2]
    """
    text = resources.files("skelgraph.data").joinpath(SPLIT_DIR, f"{name}.txt").read_text()
    return frozenset(int(tok) for line in text.splitlines() for tok in line.split("#")[0].split())


def ntu_splits(samples: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    r"""NTU RGB+D benchmarks from ``meta`` keys ``setup``, ``camera``, ``subject``, ``action``.

    ``xsub_*`` / ``xview_*`` are NTU-60 (setups 1-17, actions 1-60 only); ``xsub120_*`` /
    ``xset120_*`` are NTU-120 (every sample).
    """
    sub60, sub120 = read_id_list("ntu60_xsub_train_subjects"), read_id_list("ntu120_xsub_train_subjects")
    cams, setups = read_id_list("ntu60_xview_train_cameras"), read_id_list("ntu120_xset_train_setups")
    splits: dict[str, list[str]] = {k: [] for k in (
        "xsub_train", "xsub_test", "xview_train", "xview_test",
        "xsub120_train", "xsub120_test", "xset120_train", "xset120_test")}
    for name, meta in samples:
        if meta["setup"] <= 17 and meta["action"] <= 60:
            splits["xsub_train" if meta["subject"] in sub60 else "xsub_test"].append(name)
            splits["xview_train" if meta["camera"] in cams else "xview_test"].append(name)
        splits["xsub120_train" if meta["subject"] in sub120 else "xsub120_test"].append(name)
        splits["xset120_train" if meta["setup"] in setups else "xset120_test"].append(name)
    return splits


def nwucla_splits(samples: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """NW-UCLA cross-view: views 1 and 2 train, view 3 test (``meta['view']``)."""
    views = read_id_list("nwucla_xview_train_views")
    splits: dict[str, list[str]] = {"xview_train": [], "xview_test": []}
    for name, meta in samples:
        splits["xview_train" if meta["view"] in views else "xview_test"].append(name)
    return splits


STANDARD_SPLITS = {"ntu": ntu_splits, "nwucla": nwucla_splits}


class SplitFileError(ValueError):
    """An unreadable split file (the message names it)."""


def read_split_file(path: str | Path) -> dict[str, list[str]]:
    r"""A user's split file: JSON ``{"train": [names...], "test": [...]}``, or CSV/text with one
    ``name,split`` (or ``name split``) pair per line; a header line ``name,split`` is allowed.
    """
    path = Path(path)
    text = read_text_file(path, "split file", SplitFileError)
    if path.suffix == ".json":
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as err:
            raise SplitFileError(f"{path}: not valid JSON: {err}") from None
        if not isinstance(spec, dict) or not all(isinstance(v, list) for v in spec.values()):
            raise SplitFileError(f"{path}: expected an object of split name -> list of sample names")
        return {str(k): [str(n) for n in v] for k, v in spec.items()}
    splits: dict[str, list[str]] = {}
    rows = csv.reader(line.replace("\t", ",") if "," not in line else line
                      for line in text.splitlines() if line.strip() and not line.startswith("#"))
    for lineno, row in enumerate(rows, 1):
        row = [c.strip() for c in (row if len(row) > 1 else row[0].split())]
        if len(row) != 2:
            raise SplitFileError(f"{path}: line {lineno}: expected 'name,split', got {','.join(row)!r}")
        if lineno == 1 and row == ["name", "split"]:
            continue
        splits.setdefault(row[1], []).append(row[0])
    if not splits:
        raise SplitFileError(f"{path}: no 'name,split' rows")
    return splits
