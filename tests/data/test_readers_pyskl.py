import pickle

import numpy as np
import pytest

from skelgraph.data.readers.pyskl import read_pyskl, read_pyskl_item
from skelgraph.data.sample import SkeletonError


def _annotation(name: str, label: int, rng: np.random.Generator) -> dict:
    return {"frame_dir": name, "label": label, "total_frames": 6, "img_shape": (480, 640),
            "original_shape": (480, 640), "keypoint": rng.uniform(0, 600, (2, 6, 17, 2)).astype(np.float16),
            "keypoint_score": rng.uniform(0, 1, (2, 6, 17))}


@pytest.fixture
def pickle_path(tmp_path):
    rng = np.random.default_rng(0)
    content = {"split": {"xsub_train": ["a"], "xsub_val": ["b"]},
               "annotations": [_annotation("a", 3, rng), _annotation("b", 5, rng)]}
    path = tmp_path / "set.pkl"
    path.write_bytes(pickle.dumps(content))
    return path


def test_reads_samples_and_splits(pickle_path):
    seqs, split = read_pyskl(pickle_path)
    assert [s.name for s in seqs] == ["a", "b"] and [s.label for s in seqs] == [3, 5]
    assert split == {"xsub_train": ["a"], "xsub_val": ["b"]}


def test_arrays_are_float32_with_score(pickle_path):
    seq = read_pyskl(pickle_path)[0][0]
    assert seq.keypoint.dtype == np.float32 and seq.keypoint.shape == (2, 6, 17, 2)
    assert seq.score.dtype == np.float32 and seq.score.shape == (2, 6, 17)


def test_meta_carries_img_shape(pickle_path):
    assert read_pyskl(pickle_path)[0][1].meta["img_shape"] == (480, 640)


def test_item_reader_matches_full_reader(pickle_path):
    np.testing.assert_array_equal(read_pyskl_item(pickle_path, 1).keypoint, read_pyskl(pickle_path)[0][1].keypoint)


def test_3d_without_score(tmp_path):
    ann = {"frame_dir": "s", "label": 0, "keypoint": np.ones((1, 4, 25, 3))}
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"annotations": [ann]}))
    seqs, split = read_pyskl(tmp_path / "p.pkl")
    assert seqs[0].score is None and split == {}


def test_not_a_pickle_is_an_error(tmp_path):
    (tmp_path / "p.pkl").write_text("hello")
    with pytest.raises(SkeletonError, match="p.pkl: not a readable pickle"):
        read_pyskl(tmp_path / "p.pkl")


def test_wrong_structure_is_an_error(tmp_path):
    (tmp_path / "p.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(SkeletonError, match="'annotations' list"):
        read_pyskl(tmp_path / "p.pkl")


def test_nan_is_an_error(tmp_path):
    kp = np.ones((1, 4, 17, 2))
    kp[0, 2, 3, 1] = np.nan
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"annotations": [{"frame_dir": "s", "keypoint": kp}]}))
    with pytest.raises(SkeletonError, match=r"p.pkl\[0\]: s: non-finite value .* frame 2, joint 3"):
        read_pyskl(tmp_path / "p.pkl")


def test_empty_sequence_is_an_error(tmp_path):
    ann = {"frame_dir": "s", "keypoint": np.zeros((1, 0, 17, 2))}
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"annotations": [ann]}))
    with pytest.raises(SkeletonError, match="empty sequence"):
        read_pyskl(tmp_path / "p.pkl")


def test_score_shape_mismatch_is_an_error(tmp_path):
    ann = {"frame_dir": "s", "keypoint": np.zeros((1, 4, 17, 2)), "keypoint_score": np.zeros((1, 4, 18))}
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"annotations": [ann]}))
    with pytest.raises(SkeletonError, match="keypoint_score has shape"):
        read_pyskl(tmp_path / "p.pkl")
