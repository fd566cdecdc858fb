"""The delimited-text reader on Kinder-Gator's CSV and UTKinect's rows (../shared/data/kinect_v1),
and on small generated tables for each column convention."""
import csv

import numpy as np
import pytest

from skelgraph.data.readers.table import TableFormat, named_joint_columns, read_table
from skelgraph.data.sequence import SkeletonError
from skelgraph.data.sources import ReadOptions, open_source
from skelgraph.graph.layouts import KINECT_V1_20
from tests.conftest import shared_file

KINDER_GATOR = ("kinect_v1", "kinder_gator", "POSE-p103_05-Bow-1455370188098.csv")
# Kinect SDK joint name in Kinder-Gator's header -> kinect_v1_20 joint (written out here, not derived)
SDK_TO_LAYOUT = {
    "HipCenter": "hip_center", "Spine": "spine", "ShoulderCenter": "shoulder_center", "Head": "head",
    "ShoulderLeft": "left_shoulder", "ElbowLeft": "left_elbow", "WristLeft": "left_wrist", "HandLeft": "left_hand",
    "ShoulderRight": "right_shoulder", "ElbowRight": "right_elbow", "WristRight": "right_wrist",
    "HandRight": "right_hand", "HipLeft": "left_hip", "KneeLeft": "left_knee", "AnkleLeft": "left_ankle",
    "FootLeft": "left_foot", "HipRight": "right_hip", "KneeRight": "right_knee", "AnkleRight": "right_ankle",
    "FootRight": "right_foot"}


def csv_columns(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return {name: np.array([float(r[i]) for r in rows[1:]]) for i, name in enumerate(rows[0])
            if name[-1:] in ("X", "Y", "Z")}


@pytest.mark.parametrize("sep", ["", "_", ".", " ", "-", ":"])
def test_header_joint_and_axis_with_any_separator(sep):
    header = ["time", f"head{sep}x", f"head{sep}y", f"hand{sep}X", f"hand{sep}Y", "label"]
    joints, columns = named_joint_columns(header, "xy")
    assert joints == ["head", "hand"] and columns.tolist() == [[1, 2], [3, 4]]


def test_a_name_without_every_axis_is_not_a_joint():
    joints, _ = named_joint_columns(["Index", "HeadX", "HeadY", "HeadZ"], "xyz")
    assert joints == ["Head"]


def test_kinder_gator_csv_columns_by_name():
    path = shared_file(*KINDER_GATOR)
    seq = read_table(path)
    columns = csv_columns(path)
    assert seq.keypoint.shape == (1, len(columns["HeadX"]), 20, 3) and seq.meta["joints"][3] == "Head"
    np.testing.assert_allclose(seq.keypoint[0, :, 3], np.stack([columns[f"Head{a}"] for a in "XYZ"], 1), rtol=1e-6)


def test_kinder_gator_mapped_onto_kinect_v1_20_by_name():
    path = shared_file(*KINDER_GATOR)
    source = open_source("table", path, options=ReadOptions(to_layout="kinect_v1_20"))
    seq = source.load(source.items[0])
    columns = csv_columns(path)
    for sdk, joint in SDK_TO_LAYOUT.items():
        expected = np.stack([columns[f"{sdk}{a}"] for a in "XYZ"], 1)
        np.testing.assert_allclose(seq.keypoint[0, :, KINECT_V1_20.joints.index(joint)], expected, rtol=1e-6)


def test_kinder_gator_header_finds_its_layout_without_options():
    source = open_source("table", shared_file(*KINDER_GATOR))
    assert source.layout.name == "kinect_v1_20" and source.joint_names[0] == "HipCenter"


def test_utkinect_rows_in_order_with_frame_ids():
    path = shared_file("kinect_v1", "utkinect", "joints_s01_e01.txt")
    rows = np.loadtxt(path)
    seq = read_table(path, TableFormat(joint_names=KINECT_V1_20.joints, frame_column=0))
    first_rows = np.unique(rows[:, 0], return_index=True)[1]  # a repeated frame id keeps its first row
    assert seq.frame_id.tolist() == rows[np.sort(first_rows), 0].astype(int).tolist()
    np.testing.assert_allclose(seq.keypoint[0].reshape(len(seq.frame_id), 60), rows[np.sort(first_rows), 1:],
                               rtol=1e-6)
    head, feet = KINECT_V1_20.joints.index("head"), [KINECT_V1_20.joints.index(j) for j in ("left_foot", "right_foot")]
    y = seq.keypoint[0, :, :, 1]  # [T, V]
    assert (y[:, head] > y[:, feet].max(axis=1)).all()  # the head is above the feet in every frame


def test_header_less_with_skipped_columns_and_tabs(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("7\t0.5\t1\t2\t3\t4\n8\t0.6\t5\t6\t7\t8\n")
    seq = read_table(path, TableFormat(delimiter="\t", joint_names=("a", "b"), axes="xy", skip_columns=2,
                                       frame_column=0, header=False))
    assert seq.frame_id.tolist() == [7, 8] and seq.keypoint[0, 1].tolist() == [[5, 6], [7, 8]]


def test_frame_column_by_header_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("frame,a_x,a_y\n3,1,2\n5,3,4\n")
    assert read_table(path, TableFormat(axes="xy", frame_column="frame")).frame_id.tolist() == [3, 5]


def test_wrong_column_count_names_the_file(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("1 0.1 0.2\n")
    with pytest.raises(SkeletonError, match=r"short.txt: 3 columns, expected 60 coordinates"):
        read_table(path, TableFormat(joint_names=KINECT_V1_20.joints, frame_column=0))


def test_non_number_in_a_joint_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("HeadX,HeadY,HeadZ\n1,2,3\n1,oops,3\n")
    with pytest.raises(SkeletonError, match="bad.csv: not a table of numbers"):
        read_table(path)


def test_header_without_joint_columns(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("time,label\n1,2\n")
    with pytest.raises(SkeletonError, match="h.csv: no joint columns in the header"):
        read_table(path)


def test_binary_file_is_named_not_echoed(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"\x00\x01\xff\xfe" * 10)
    with pytest.raises(SkeletonError, match=r"b.csv: not a text file \(binary content\)$"):
        read_table(path)


def test_header_less_file_needs_joint_names(tmp_path):
    path = tmp_path / "n.txt"
    path.write_text("1 2 3\n")
    with pytest.raises(SkeletonError, match="joints must be named"):
        read_table(path)
