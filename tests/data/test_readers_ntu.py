import re

import numpy as np
import pytest

from skelgraph.data.readers.ntu import (NTU120_CLASS_NAMES, parse_ntu_name, read_missing_list, read_ntu_sequence,
                                        read_ntu_skeleton)
from skelgraph.data.sample import SkeletonError
from tests.conftest import shared_file

A001 = "S001C001P001R001A001.skeleton"


@pytest.fixture
def reference() -> np.ndarray:
    path = shared_file("ntu_samples", "crlf_reference", A001 + ".npy")
    return np.load(path, allow_pickle=True).item()["skel_body0"]


def _lines(path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_lf_file_matches_reference(reference):
    keypoint = read_ntu_skeleton(shared_file("ntu_samples", A001))
    assert keypoint.shape == (1, 103, 25, 3) and keypoint.dtype == np.float32
    np.testing.assert_allclose(keypoint[0], reference, atol=1e-5)


def test_crlf_file_matches_reference(reference):
    keypoint = read_ntu_skeleton(shared_file("ntu_samples", "crlf_reference", A001))
    np.testing.assert_allclose(keypoint[0], reference, atol=1e-5)


def test_two_person_file_has_two_bodies():
    keypoint = read_ntu_skeleton(shared_file("ntu_samples", "S001C003P008R002A058.skeleton"))
    assert keypoint.shape == (2, 70, 25, 3)
    assert (keypoint != 0).any(axis=(2, 3)).all()  # both bodies in every frame


def test_bodies_in_order_of_first_appearance_and_zero_frames_kept(tmp_path):
    lines = _lines(shared_file("ntu_samples", A001))
    body = lines[2:29]  # one body block: info, joint count, 25 joints
    other = [b"999 " + body[0].split(b" ", 1)[1]] + body[1:]
    text = b"\n".join([b"3", b"1", *other, b"0", b"2", *body, *other]) + b"\n"
    (tmp_path / "x.skeleton").write_bytes(text)
    keypoint = read_ntu_skeleton(tmp_path / "x.skeleton")
    assert keypoint.shape == (2, 3, 25, 3)
    present = (keypoint != 0).any(axis=(2, 3))
    assert present.tolist() == [[True, False, True], [False, False, True]]  # body 999 first
    np.testing.assert_array_equal(keypoint[0, 0], keypoint[0, 2])


def test_sequence_label_and_meta():
    seq = read_ntu_sequence(shared_file("ntu_samples", "S001C003P008R002A058.skeleton"))
    assert seq.name == "S001C003P008R002A058" and seq.label == 57
    assert seq.meta == {"setup": 1, "camera": 3, "subject": 8, "replication": 2, "action": 58}
    assert NTU120_CLASS_NAMES[seq.label] == "handshaking"


def test_class_names_are_120_distinct():
    assert len(NTU120_CLASS_NAMES) == 120 == len(set(NTU120_CLASS_NAMES))


def test_parse_name_rejects_other_names():
    with pytest.raises(SkeletonError, match="not an NTU sample name"):
        parse_ntu_name("walk.skeleton")


def test_truncated_file_names_the_frame(tmp_path):
    lines = _lines(shared_file("ntu_samples", A001))
    path = tmp_path / A001
    path.write_bytes(b"\n".join(lines[:1 + 28 * 35 + 10]) + b"\n")  # 28 lines per one-body frame
    with pytest.raises(SkeletonError, match=rf"^{re.escape(str(path))}: truncated: expected 103 frames, "
                                            rf"file ends in frame 36$"):
        read_ntu_skeleton(path)


def test_file_cut_inside_a_joint_line_is_an_error(tmp_path):
    lines = _lines(shared_file("ntu_samples", A001))
    path = tmp_path / A001
    path.write_bytes(b"\n".join(lines[:-1] + [lines[-1][:20]]))
    with pytest.raises(SkeletonError, match="malformed joint line"):
        read_ntu_skeleton(path)


def test_nan_is_an_error(tmp_path):
    lines = _lines(shared_file("ntu_samples", A001))
    lines[5] = b"nan " + lines[5].split(b" ", 1)[1]
    path = tmp_path / A001
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(SkeletonError, match="non-finite"):
        read_ntu_skeleton(path)


def test_wrong_joint_count_is_an_error(tmp_path):
    lines = _lines(shared_file("ntu_samples", A001))
    lines[3] = b"20"
    path = tmp_path / A001
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(SkeletonError, match="20 joints per body"):
        read_ntu_skeleton(path)


def test_empty_sequence_is_an_error(tmp_path):
    path = tmp_path / A001
    path.write_text("0\n")
    with pytest.raises(SkeletonError, match="empty sequence"):
        read_ntu_skeleton(path)


def test_frames_without_bodies_only_is_an_error(tmp_path):
    path = tmp_path / A001
    path.write_text("2\n0\n0\n")
    with pytest.raises(SkeletonError, match="no bodies"):
        read_ntu_skeleton(path)


def test_missing_list_skips_header():
    names = read_missing_list(shared_file("ntu_samples", "NTU_RGBD_samples_with_missing_skeletons.txt"))
    assert len(names) == 302 and "S001C002P005R002A008" in names


def test_not_a_skeleton_file_is_an_error(tmp_path):
    path = tmp_path / A001
    path.write_text("hello world\n")
    with pytest.raises(SkeletonError, match="line 1: expected the frame count"):
        read_ntu_skeleton(path)
