"""UTD-MHAD .mat files (../shared/data/kinect_v1/utd_mhad) and the generic .mat reader."""
import numpy as np
import pytest

from skelgraph.data.readers.matlab import MatFormat, read_mat
from skelgraph.data.sequence import SkeletonError
from skelgraph.data.sources import ReadOptions, SourceError, open_source
from skelgraph.graph.layouts import KINECT_V1_20
from tests.conftest import shared_file

scipy_io = pytest.importorskip("scipy.io")
UTD = ("kinect_v1", "utd_mhad", "a11_s3_t2_skeleton.mat")


def test_utd_mhad_array_as_keypoint():
    path = shared_file(*UTD)
    d_skel = scipy_io.loadmat(path)["d_skel"]  # [20, 3, T]
    seq = read_mat(path)
    assert seq.keypoint.shape == (1, d_skel.shape[2], 20, 3) and seq.name == "a11_s3_t2_skeleton"
    np.testing.assert_allclose(seq.keypoint[0, 5, 7], d_skel[7, :, 5], rtol=1e-6)


def test_utd_mhad_order_mapped_onto_kinect_v1_20_by_name():
    path = shared_file(*UTD)
    d_skel = scipy_io.loadmat(path)["d_skel"]
    source = open_source("mat", path, options=ReadOptions(joints="utd_mhad", to_layout="kinect_v1_20"))
    seq = source.load(source.items[0])
    # UTD-MHAD's documented order: 1 head, 2 shoulder centre, 3 spine, 4 hip centre, 8 left hand, 20 right foot
    for utd_row, joint in ((0, "head"), (1, "shoulder_center"), (2, "spine"), (3, "hip_center"), (7, "left_hand"),
                           (19, "right_foot")):
        np.testing.assert_allclose(seq.keypoint[0, :, KINECT_V1_20.joints.index(joint)], d_skel[utd_row].T, rtol=1e-6)
    y = seq.keypoint[0, :, :, 1]  # [T, V]; a11 raises an arm, so compare the trunk joints only
    head, neck, hip = (KINECT_V1_20.joints.index(j) for j in ("head", "shoulder_center", "hip_center"))
    assert (y[:, head] > y[:, neck]).all() and (y[:, neck] > y[:, hip]).all()


def test_utd_mhad_joint_names_alone_find_the_layout():
    source = open_source("mat", shared_file(*UTD), options=ReadOptions(joints="utd_mhad"))
    assert source.layout.name == "kinect_v1_20" and source.mapped["dropped"] == []


def test_mat_without_joint_names_is_refused():
    with pytest.raises(SourceError, match="does not name its joints"):
        open_source("mat", shared_file(*UTD))


def test_other_variable_and_dimension_order(tmp_path):
    path = tmp_path / "clip.mat"
    scipy_io.savemat(path, {"pose": np.arange(4 * 5 * 2, dtype=float).reshape(4, 5, 2)})  # [T, V, C]
    seq = read_mat(path, MatFormat(variable="pose", dims="TVC"))
    assert seq.keypoint.shape == (1, 4, 5, 2) and seq.keypoint[0, 1, 2].tolist() == [14, 15]


def test_missing_variable_names_what_is_there(tmp_path):
    path = tmp_path / "x.mat"
    scipy_io.savemat(path, {"skel": np.ones((20, 3, 2))})
    with pytest.raises(SkeletonError, match=r"x.mat: no numeric variable 'd_skel' \(variables: skel\)"):
        read_mat(path)


def test_not_a_mat_file(tmp_path):
    path = tmp_path / "junk.mat"
    path.write_bytes(b"\x89HDF junk" * 20)
    with pytest.raises(SkeletonError, match="junk.mat: not a readable MAT file"):
        read_mat(path)


def test_bad_dims_are_refused():
    with pytest.raises(ValueError, match="dims"):
        MatFormat(dims="VVT")
