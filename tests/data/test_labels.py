"""Labels from sample names (a pattern) or from a label file: one table, any reader."""
import numpy as np
import pytest

from skelgraph.data.labels import (
    LabelError, LabelTable, Segment, apply_labels, labels_from_names, natural_key, read_label_file,
)
from skelgraph.data.sequence import SkeletonSequence
from tests.conftest import shared_file

KINDER_GATOR = r"POSE-p(?P<subject>\d+)_(?P<order>\d+)-(?P<class>.+?)-+\d+$"


def seq(name="take", frames=10, frame_id=None):
    keypoint = np.arange(frames, dtype=np.float32).reshape(1, frames, 1, 1).repeat(3, axis=3)
    return SkeletonSequence(name, keypoint, frame_id=None if frame_id is None else np.asarray(frame_id))


def test_kinder_gator_motion_name_is_the_class_not_the_order():
    names = ["POSE-p103_05-Bow-1455370188098", "POSE-p565_03-Wave-your-hand-1469182439786",
             "POSE-p888_20-Throw-a-ball--1466764522413"]
    table = labels_from_names(KINDER_GATOR, names)
    assert table.class_names == ("Bow", "Throw-a-ball", "Wave-your-hand")
    assert table.meta[names[1]] == {"subject": 565, "order": 3}


def test_utd_mhad_names_in_natural_order():
    table = labels_from_names(r"(?P<class>a\d+)_s(?P<subject>\d+)_t(?P<trial>\d+)",
                              ["a10_s1_t1_skeleton", "a2_s1_t1_skeleton", "a1_s8_t4_skeleton"])
    assert table.class_names == ("a1", "a2", "a10")


def test_pattern_needs_a_class_group():
    with pytest.raises(LabelError, match=r"needs a named group \(\?P<class>"):
        labels_from_names(r"a(\d+)", ["a1"])


def test_pattern_that_matches_nothing_names_an_example():
    with pytest.raises(LabelError, match="matches no sample name \\(e.g. 'x1'\\)"):
        labels_from_names(r"(?P<class>a\d+)", ["x1"])


def test_bad_regular_expression():
    with pytest.raises(LabelError, match="not a regular expression"):
        labels_from_names(r"(?P<class>a", ["a1"])


def test_natural_key_orders_numbers_as_numbers():
    assert sorted(["10", "2", "1"], key=natural_key) == ["1", "2", "10"]


def test_csv_label_file_whole_samples(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("name,class\nrun_01,jump\nrun_02,walk\n# a comment\nrun_03,jump\n")
    table = read_label_file(path)
    assert table.class_names == ("jump", "walk") and table.entries["run_02"] == (Segment("walk"),)


def test_json_label_file(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text('{"a": "sit", "b": "stand"}')
    assert read_label_file(path).class_names == ("sit", "stand")


def test_csv_segments_and_grouped_format_agree(tmp_path):
    rows = tmp_path / "segments.csv"
    rows.write_text("t1,walk,2,4\nt1,sit,6,8\n")
    grouped = tmp_path / "grouped.txt"
    grouped.write_text("t1\nwalk: 2 4\nsit: 6 8\n")
    assert read_label_file(rows).entries == read_label_file(grouped).entries


def test_utkinect_action_label_file():
    table = read_label_file(shared_file("kinect_v1", "utkinect", "actionLabel.txt"))
    assert len(table.entries) == 20 and len(table.class_names) == 10
    assert table.entries["s01_e01"][0] == Segment("walk", (252, 390))
    assert sum(s.no_frames for segs in table.entries.values() for s in segs) == 1  # s10_e02 carry: NaN NaN


def test_label_file_line_that_fits_no_format(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("a,b,c\n")
    with pytest.raises(LabelError, match=r"l.csv: line 1: expected 'name,class' or 'name,class,first,last'"):
        read_label_file(path)


def test_label_file_bad_frame_id(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("t1\nwalk: 2 x\n")
    with pytest.raises(LabelError, match="line 2: frame id 'x' is not a number"):
        read_label_file(path)


def test_label_file_segment_before_any_sample(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("walk: 2 4\n")
    with pytest.raises(LabelError, match="line 1: expected 'class: first last' after a sample name"):
        read_label_file(path)


def test_binary_label_file(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LabelError, match="l.csv: the label file is not text"):
        read_label_file(path)


def test_a_row_names_a_sample_by_a_suffix():
    table = LabelTable({"s01_e01": (Segment("walk"),), "joints_s01_e01": (Segment("sit"),)}, ("sit", "walk"))
    assert table.key_for("joints_s01_e01") == "joints_s01_e01"  # the full name wins
    assert table.key_for("x_s01_e01") == "s01_e01" and table.key_for("s01_e011") is None


def test_whole_sample_label():
    table = LabelTable({"take": (Segment("walk"),)}, ("sit", "walk"), meta={"take": {"subject": 2}})
    (out,) = apply_labels(seq(), table)
    assert out.label == 1 and out.meta == {"subject": 2}


def test_segments_select_frames_by_id_not_by_row():
    table = LabelTable({"take": (Segment("walk", (20, 24)), Segment("walk", (30, 36)))}, ("walk",))
    ids = [10, 20, 22, 24, 30, 34, 40]  # not contiguous
    first, second = apply_labels(seq(frames=7, frame_id=ids), table)
    assert first.name == "take_walk" and second.name == "take_walk_2"
    assert first.keypoint[0, :, 0, 0].tolist() == [1, 2, 3] and second.frame_id.tolist() == [30, 34]
    assert first.meta["segment_of"] == "take" and first.label == 0


def test_segment_without_frames_is_an_error_line():
    table = LabelTable({"take": (Segment("walk", (100, 120)), Segment("sit", no_frames=True))}, ("sit", "walk"))
    missing, nan = apply_labels(seq(), table)
    assert missing.startswith("take_walk: no frame with an id in 100..120 (the sample's ids are 0..9)")
    assert nan.startswith("take_sit: segment without frames")


def test_sample_not_in_the_table_is_unlabelled():
    sample = seq("other")
    sample.label = 4
    (out,) = apply_labels(sample, LabelTable({"take": (Segment("walk"),)}, ("walk",)))
    assert out.label == -1
