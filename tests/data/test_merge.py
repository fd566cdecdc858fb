"""`merge_h5`: pooling preprocessed files into one corpus."""
import numpy as np
import pytest

from skelgraph.data.h5 import H5Skeletons, write_h5
from skelgraph.data.merge import MergeError, merge_h5
from skelgraph.data.sequence import SkeletonSequence
from skelgraph.graph.layouts import COCO17, KINECT_V1_20


def make(path, names, labels, classes, layout=KINECT_V1_20, channels=3, persons=1, splits=None):
    seqs = [SkeletonSequence(n, np.full((persons, 3 + i, layout.num_joints, channels), i + 1, np.float32), label=y)
            for i, (n, y) in enumerate(zip(names, labels))]
    write_h5(path, seqs, layout=layout, num_persons=persons, class_names=classes, splits=splits,
             provenance={"kind": "test"})
    return path


@pytest.fixture
def two(tmp_path):
    a = make(tmp_path / "kinder-gator.h5", ["s1", "s2"], [0, 1], ["bow", "jump"], splits={"train": ["s2"]})
    b = make(tmp_path / "utd.h5", ["s1"], [0], ["walk"], persons=2)
    return a, b


def test_names_classes_and_labels_per_source(two, tmp_path):
    out = tmp_path / "all.h5"
    assert merge_h5(two, out) == 3
    store = H5Skeletons(out)
    assert store.names == ["kinder_gator:s1", "kinder_gator:s2", "utd:s1"]
    assert store.class_names == ["kinder_gator:bow", "kinder_gator:jump", "utd:walk"]
    assert store.labels.tolist() == [0, 1, 2] and store.num_persons == 2


def test_each_source_is_a_split_and_keeps_its_splits(two, tmp_path):
    out = tmp_path / "all.h5"
    merge_h5(two, out, names=["kg", "utd"])
    store = H5Skeletons(out)
    assert store.split_indices("utd").tolist() == [2] and store.split_indices("kg:train").tolist() == [1]
    assert store.meta(2)["source"] == "utd"


def test_frames_are_copied(two, tmp_path):
    out = tmp_path / "all.h5"
    merge_h5(two, out)
    store = H5Skeletons(out)
    assert store.num_frames.tolist() == [3, 4, 3] and (store.read(1).keypoint[0] == 2).all()


def test_provenance_lists_every_source(two, tmp_path):
    out = tmp_path / "all.h5"
    merge_h5(two, out)
    sources = H5Skeletons(out).provenance["sources"]
    assert [s["name"] for s in sources] == ["kinder_gator", "utd"] and sources[0]["provenance"]["kind"] == "test"
    assert sources[1]["samples"] == 1 and sources[1]["frames"] == 3


def test_other_layout_is_refused(two, tmp_path):
    c = make(tmp_path / "coco.h5", ["x"], [0], ["a"], layout=COCO17, channels=2)
    with pytest.raises(MergeError, match=r"coco.h5: layout 'coco17' \(17 joints\) differs"):
        merge_h5([two[0], c], tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()


def test_other_channel_count_is_refused(two, tmp_path):
    c = make(tmp_path / "flat.h5", ["x"], [0], ["a"], channels=2)
    with pytest.raises(MergeError, match="flat.h5: 2 channels"):
        merge_h5([two[0], c], tmp_path / "o.h5")


def test_repeated_source_names(two, tmp_path):
    with pytest.raises(MergeError, match="source name 'x' is used twice"):
        merge_h5(two, tmp_path / "o.h5", names=["x", "x"])


def test_output_that_is_an_input(two):
    with pytest.raises(MergeError, match="the output is also an input"):
        merge_h5(two, two[0])
    assert len(H5Skeletons(two[0])) == 2
