import json
import tarfile

import numpy as np
import pytest

from skelgraph.data.readers.nwucla import (NWUCLA_CLASS_NAMES, iter_nwucla_archive, list_nwucla_archive,
                                           read_nwucla_json, read_nwucla_member)
from skelgraph.data.sample import SkeletonError
from tests.conftest import shared_file


@pytest.fixture
def archive():
    return shared_file("nw_ucla", "all_sqe.tar.gz")


def test_member_shape_label_meta(archive):
    seq = read_nwucla_member(archive, "all_sqe/a12_s03_e01_v02.json")
    assert seq.name == "a12_s03_e01_v02" and seq.label == 9 and NWUCLA_CLASS_NAMES[seq.label] == "carry"
    assert seq.meta == {"action": 12, "subject": 3, "episode": 1, "view": 2}
    assert seq.keypoint.ndim == 4 and seq.keypoint.shape[0] == 1 and seq.keypoint.shape[2:] == (20, 3)


def test_single_frame_file(archive):
    assert read_nwucla_member(archive, "all_sqe/a02_s09_e04_v02.json").keypoint.shape == (1, 1, 20, 3)


def test_all_zero_joints_are_valid(archive):
    seq = read_nwucla_member(archive, "all_sqe/a04_s01_e01_v01.json")
    assert int((seq.keypoint[0] == 0).all(axis=-1).sum()) == 6


def test_whole_archive_matches_split_table(archive):
    table = {}
    for row in shared_file("nw_ucla", "split_ctrgcn.csv").read_text().splitlines()[1:]:
        fields = row.split(",")
        table[fields[0]] = (int(fields[2]), int(fields[6]))
    seen = {seq.name: (seq.label, seq.num_frames) for seq in iter_nwucla_archive(archive)}
    assert seen == table and len(seen) == 1484


def test_extracted_file_equals_member(archive, tmp_path):
    with tarfile.open(archive) as tar:
        tar.extract("all_sqe/a01_s01_e00_v01.json", tmp_path, filter="data")
    from_file = read_nwucla_json(tmp_path / "all_sqe" / "a01_s01_e00_v01.json")
    from_member = read_nwucla_member(archive, "all_sqe/a01_s01_e00_v01.json")
    np.testing.assert_array_equal(from_file.keypoint, from_member.keypoint)


def test_list_archive(archive):
    names = list_nwucla_archive(archive)
    assert len(names) == 1484 and names[0] == "all_sqe/a01_s01_e00_v01.json"


def _write(tmp_path, content) -> str:
    path = tmp_path / "a01_s01_e00_v01.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_bad_json_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="a01_s01_e00_v01.json: not valid JSON"):
        read_nwucla_json(_write(tmp_path, "{'skeletons'"))


def test_wrong_structure_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="expected an object with 'skeletons'"):
        read_nwucla_json(_write(tmp_path, [1, 2]))


def test_wrong_joint_count_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="19 joints per person, the layout has 20"):
        read_nwucla_json(_write(tmp_path, {"skeletons": np.ones((3, 19, 3)).tolist(), "label": 1}))


def test_ragged_frames_are_an_error(tmp_path):
    frames = [np.ones((20, 3)).tolist(), np.ones((19, 3)).tolist()]
    with pytest.raises(SkeletonError, match="not a regular"):
        read_nwucla_json(_write(tmp_path, {"skeletons": frames, "label": 1}))


def test_empty_sequence_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="empty sequence"):
        read_nwucla_json(_write(tmp_path, {"skeletons": [], "label": 1}))


def test_nan_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="non-finite"):
        read_nwucla_json(_write(tmp_path, '{"skeletons": [[' + ",".join(["[NaN, 0, 1]"] * 20) + ']], "label": 1}'))


def test_missing_member_is_an_error(archive):
    with pytest.raises(SkeletonError, match="no member"):
        read_nwucla_member(archive, "all_sqe/nope.json")
