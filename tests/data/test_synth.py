import numpy as np
import pytest

from skelgraph.data.synth import MOTIONS, make_synthetic, synthetic_splits
from skelgraph.graph.layouts import BUILTIN_LAYOUTS, NTU25


@pytest.mark.parametrize("name", list(BUILTIN_LAYOUTS))
def test_synthetic_on_every_layout_is_finite_and_shaped(name):
    layout = BUILTIN_LAYOUTS[name]
    seqs, names = make_synthetic(layout, num_samples=10, seed=1)
    assert names == [m.name for m in MOTIONS]
    for s in seqs:
        assert s.keypoint.shape[0] == 1 and s.keypoint.shape[2:] == (layout.num_joints, 3)
        assert 40 <= s.num_frames <= 80 and np.isfinite(s.keypoint).all()


def test_synthetic_is_seeded():
    a, _ = make_synthetic(NTU25, 6, seed=3)
    b, _ = make_synthetic(NTU25, 6, seed=3)
    c, _ = make_synthetic(NTU25, 6, seed=4)
    assert all(np.array_equal(x.keypoint, y.keypoint) for x, y in zip(a, b))
    assert not np.array_equal(a[0].keypoint, c[0].keypoint)


def test_classes_are_balanced_and_2d_projects():
    seqs, names = make_synthetic(NTU25, 30, num_classes=5, num_channels=2)
    assert np.bincount([s.label for s in seqs]).tolist() == [6] * 5 and len(names) == 5
    assert seqs[0].keypoint.shape[-1] == 2


def test_wave_left_arm_moves_the_left_arm_most():
    seqs, _ = make_synthetic(NTU25, 1, seed=0)  # label 0 = wave left arm
    motion = np.abs(np.diff(seqs[0].keypoint[0], axis=0)).sum(axis=(0, 2))  # [V]
    left_arm = dict(NTU25.parts)["left_arm"]
    assert set(np.argsort(motion)[-3:]) <= set(left_arm)


def test_synthetic_split_is_stratified_and_disjoint():
    seqs, _ = make_synthetic(NTU25, 50, seed=0)
    splits = synthetic_splits(seqs, test_ratio=0.2)
    assert not set(splits["train"]) & set(splits["test"])
    labels = {s.name: s.label for s in seqs}
    assert np.bincount([labels[n] for n in splits["test"]]).tolist() == [1] * 10
