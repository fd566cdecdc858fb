import h5py
import numpy as np
import pytest

from skelgraph.data.h5 import H5FormatError, H5Skeletons, write_h5
from skelgraph.data.sample import SkeletonError, SkeletonSequence
from skelgraph.graph.layouts import COCO17, NTU25


def sequences(n=5, m=2, v=25, c=3, seed=0, score=False):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = int(rng.integers(3, 9))
        persons = 1 + i % m
        out.append(SkeletonSequence(
            name=f"s{i}", keypoint=rng.normal(size=(persons, t, v, c)).astype(np.float32),
            score=rng.random((persons, t, v)).astype(np.float32) if score else None,
            label=i % 3, meta={"view": i % 2}))
    return out


def test_round_trip_keeps_every_sample(tmp_path):
    seqs = sequences()
    path = tmp_path / "d.h5"
    assert write_h5(path, seqs, layout=NTU25, num_persons=2, class_names=["a", "b", "c"]) == 5
    store = H5Skeletons(path)
    assert len(store) == 5 and store.class_names == ["a", "b", "c"] and store.layout == NTU25
    for i, seq in enumerate(seqs):
        got = store.read(i)
        m = seq.num_persons
        np.testing.assert_array_equal(got.keypoint[:m], seq.keypoint)
        assert not got.keypoint[m:].any()  # padded persons are zeros
        assert got.label == seq.label and got.name == seq.name
        assert store.meta(i) == seq.meta


def test_round_trip_scores_and_frame_subset(tmp_path):
    seqs = sequences(v=17, c=2, score=True)
    path = tmp_path / "d.h5"
    write_h5(path, seqs, layout=COCO17, num_persons=2)
    store = H5Skeletons(path)
    frames = np.array([2, 0, 0, 1])
    got = store.read(3, frames)
    np.testing.assert_array_equal(got.keypoint[: seqs[3].num_persons], seqs[3].keypoint[:, frames])
    np.testing.assert_array_equal(got.score[: seqs[3].num_persons], seqs[3].score[:, frames])


def test_splits_by_name_and_by_rule(tmp_path):
    seqs = sequences()
    path = tmp_path / "a.h5"
    write_h5(path, seqs, layout=NTU25, num_persons=2, splits={"train": ["s4", "s0", "nope"]})
    assert H5Skeletons(path).split_indices("train").tolist() == [0, 4]
    write_h5(path, seqs, layout=NTU25, num_persons=2,
             splits=lambda pairs: {"odd": [n for n, meta in pairs if meta["view"] == 1]})
    assert H5Skeletons(path).split_indices("odd").tolist() == [1, 3]


def test_unknown_split_names_known_ones(tmp_path):
    path = tmp_path / "a.h5"
    write_h5(path, sequences(), layout=NTU25, num_persons=2, splits={"train": ["s0"]})
    with pytest.raises(KeyError, match="splits in the file: train"):
        H5Skeletons(path).split_indices("test")


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "d.h5"
    write_h5(path, sequences(n=2), layout=NTU25, num_persons=2)
    before = path.read_bytes()

    def broken():
        yield from sequences(n=2)
        raise RuntimeError("reader died")

    with pytest.raises(RuntimeError):
        write_h5(path, broken(), layout=NTU25, num_persons=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.h5"]


def test_too_many_persons_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="s1: 2 persons"):
        write_h5(tmp_path / "d.h5", sequences(), layout=NTU25, num_persons=1)


def test_no_samples_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="no samples"):
        write_h5(tmp_path / "d.h5", [], layout=NTU25, num_persons=1)


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "d.h5"
    write_h5(path, sequences(), layout=NTU25, num_persons=2)
    path.write_bytes(path.read_bytes()[:2000])  # truncated
    with pytest.raises(H5FormatError, match="d.h5: not a readable HDF5 file"):
        H5Skeletons(path)


def test_foreign_hdf5_file_is_a_clear_error(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(H5FormatError, match="not a skelgraph dataset"):
        H5Skeletons(path)


def test_inconsistent_index_is_a_clear_error(tmp_path):
    path = tmp_path / "d.h5"
    write_h5(path, sequences(), layout=NTU25, num_persons=2)
    with h5py.File(path, "a") as f:
        f["offsets"][-1] = 10**6
    with pytest.raises(H5FormatError, match="inconsistent index"):
        H5Skeletons(path)
