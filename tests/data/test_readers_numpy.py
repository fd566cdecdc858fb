import numpy as np
import pytest

from skelgraph.data.readers.numpy_io import read_numpy
from skelgraph.data.sample import SkeletonError


def test_npy_4d(tmp_path):
    np.save(tmp_path / "s.npy", np.ones((2, 5, 25, 3)))
    seq = read_numpy(tmp_path / "s.npy")
    assert seq.keypoint.shape == (2, 5, 25, 3) and seq.keypoint.dtype == np.float32 and seq.score is None


def test_npy_3d_is_one_person(tmp_path):
    np.save(tmp_path / "s.npy", np.ones((5, 17, 2)))
    assert read_numpy(tmp_path / "s.npy").keypoint.shape == (1, 5, 17, 2)


def test_npz_with_score_and_label(tmp_path):
    np.savez(tmp_path / "s.npz", keypoint=np.ones((5, 17, 2)), score=np.full((5, 17), 0.5), label=7)
    seq = read_numpy(tmp_path / "s.npz")
    assert seq.label == 7 and seq.score.shape == (1, 5, 17) and seq.name == "s"


def test_npz_without_keypoint_is_an_error(tmp_path):
    np.savez(tmp_path / "s.npz", x=np.ones(3))
    with pytest.raises(SkeletonError, match="s.npz: no 'keypoint' array"):
        read_numpy(tmp_path / "s.npz")


def test_wrong_joint_count_is_an_error(tmp_path):
    np.save(tmp_path / "s.npy", np.ones((5, 17, 2)))
    with pytest.raises(SkeletonError, match="17 joints per person, the layout has 25"):
        read_numpy(tmp_path / "s.npy", num_joints=25)


def test_nan_is_an_error(tmp_path):
    kp = np.ones((5, 17, 2))
    kp[1, 2, 0] = np.nan
    np.save(tmp_path / "s.npy", kp)
    with pytest.raises(SkeletonError, match="non-finite"):
        read_numpy(tmp_path / "s.npy")


def test_empty_sequence_is_an_error(tmp_path):
    np.save(tmp_path / "s.npy", np.ones((1, 0, 17, 2)))
    with pytest.raises(SkeletonError, match="empty sequence"):
        read_numpy(tmp_path / "s.npy")


def test_wrong_rank_is_an_error(tmp_path):
    np.save(tmp_path / "s.npy", np.ones((17, 2)))
    with pytest.raises(SkeletonError, match=r"must be \[M, T, V, C\]"):
        read_numpy(tmp_path / "s.npy")


def test_corrupt_file_is_an_error(tmp_path):
    (tmp_path / "s.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(SkeletonError, match="s.npy: cannot read"):
        read_numpy(tmp_path / "s.npy")


def test_score_shape_mismatch_is_an_error(tmp_path):
    np.savez(tmp_path / "s.npz", keypoint=np.ones((5, 17, 2)), score=np.ones((5, 18)))
    with pytest.raises(SkeletonError, match="score has shape"):
        read_numpy(tmp_path / "s.npz")
