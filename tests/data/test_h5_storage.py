import h5py
import numpy as np
import pytest

from skelgraph.data.h5 import H5Skeletons, write_h5
from skelgraph.data.sample import SkeletonSequence
from skelgraph.graph.layouts import get_layout

LAYOUT = get_layout("kinect_v1_20")


def _samples(n: int = 3):
    rng = np.random.default_rng(0)
    return [SkeletonSequence(name=f"s{i}", label=i, keypoint=rng.standard_normal((1, 30 + i, 20, 3)).astype(np.float32))
            for i in range(n)]


def _write(tmp_path, **options):
    path = tmp_path / "d.h5"
    write_h5(path, _samples(), layout=LAYOUT, num_persons=1, **options)
    return path


def test_default_is_lossless_shuffled_gzip(tmp_path):
    path = _write(tmp_path)
    with h5py.File(path) as f:
        ds = f["keypoint"]
        assert ds.compression == "gzip" and ds.shuffle and ds.scaleoffset is None
    store = H5Skeletons(path)
    for i, seq in enumerate(_samples()):
        assert np.array_equal(store.read(i).keypoint, seq.keypoint)  # bit for bit


@pytest.mark.parametrize("compression", ["lzf", None])
def test_other_compressions_stay_lossless(tmp_path, compression):
    store = H5Skeletons(_write(tmp_path, compression=compression))
    assert np.array_equal(store.read(1).keypoint, _samples()[1].keypoint)
    assert store.keypoint.compression == compression


def test_decimals_bound_the_error(tmp_path):
    store = H5Skeletons(_write(tmp_path, decimals=3))
    assert store.keypoint.scaleoffset == 3
    error = np.abs(store.read(2).keypoint - _samples()[2].keypoint).max()
    assert 0 < error <= 1e-3 * 1.001


def test_unknown_compression_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="compression"):
        _write(tmp_path, compression="zstd")
