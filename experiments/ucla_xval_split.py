"""A cross-view validation split of NW-UCLA's training views, for choosing settings without
the test view: ``xval_train`` = view 1, ``xval`` = view 2 (the standard ``xview_train`` /
``xview_test`` are kept). Writes a split file for ``skelgraph preprocess --split-file``.

    python experiments/ucla_xval_split.py runs/ucla/ucla.h5 runs/xval/xval_splits.json
    skelgraph preprocess nwucla all_sqe.tar.gz runs/xval/ucla_xval.h5 --split-file runs/xval/xval_splits.json

View 3 (the test view) plays no part in any choice made on ``xval``; training on one view and
validating on another mimics the cross-view test (experiments/RESULTS.md).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelgraph.data.files import atomic_write_text
from skelgraph.data.h5 import H5Skeletons


def xval_splits(store: H5Skeletons) -> dict[str, list[str]]:
    """The file's standard splits plus ``xval_train`` (view 1) and ``xval`` (view 2)."""
    names = [str(n) for n in store.names]
    splits = {name: [names[i] for i in store.split_indices(name)] for name in ("xview_train", "xview_test")}
    splits["xval_train"] = [n for n in splits["xview_train"] if n.endswith("_v01")]
    splits["xval"] = [n for n in splits["xview_train"] if n.endswith("_v02")]
    return splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="NW-UCLA HDF5 written by `skelgraph preprocess nwucla`")
    parser.add_argument("out", type=Path, help="split file to write (.json)")
    args = parser.parse_args()
    splits = xval_splits(H5Skeletons(args.data))
    atomic_write_text(args.out, json.dumps(splits) + "\n")  # a killed run leaves no half-written split file
    print(", ".join(f"{k}: {len(v)}" for k, v in splits.items()))


if __name__ == "__main__":
    main()
