import numpy as np
import pytest

from skelgraph.data.preprocess import (align_3d, center, drop_empty_frames, motion_energy, normalize_2d,
                                       preprocess_sequence, select_persons)
from skelgraph.data.readers.ntu import read_ntu_sequence
from skelgraph.data.sample import SkeletonError, SkeletonSequence
from skelgraph.graph.layouts import COCO17, KINECT_V1_20, NTU25, OPENPOSE18
from tests.conftest import shared_file


def _bodies(rng: np.random.Generator, scales: list[float], t: int = 30, v: int = 25) -> np.ndarray:
    """Standing bodies (taller than wide) jittering with the given amplitudes."""
    base = np.zeros((v, 3), np.float32)
    base[:, 1] = np.linspace(0, 1.7, v)  # tall
    base[:, 0] = np.linspace(-0.2, 0.2, v)
    base[:, 2] = 3.0
    return np.stack([base + s * rng.normal(size=(t, v, 3)) for s in scales]).astype(np.float32)


def test_select_keeps_most_active_and_pads():
    kp = _bodies(np.random.default_rng(0), [0.01, 0.1, 0.001])
    out, _ = select_persons(kp, max_persons=4)
    assert out.shape == (4, 30, 25, 3)
    np.testing.assert_array_equal(out[0], kp[1])
    np.testing.assert_array_equal(out[1], kp[0])
    assert (out[3] == 0).all()


def test_select_truncates_to_max_persons():
    kp = _bodies(np.random.default_rng(0), [0.01, 0.1, 0.001])
    out, _ = select_persons(kp, max_persons=1)
    np.testing.assert_array_equal(out, kp[1:2])


def test_select_drops_short_lived_body():
    kp = _bodies(np.random.default_rng(0), [0.01, 0.5])
    kp[1, 5:] = 0  # very active but present in only 5 frames: tracker noise
    out, _ = select_persons(kp, max_persons=1)
    np.testing.assert_array_equal(out[0], kp[0])


def test_select_drops_wide_object():
    kp = _bodies(np.random.default_rng(0), [0.01, 0.05])
    kp[1] = kp[1][..., [1, 0, 2]]  # swap x and y: wider than tall (furniture)
    out, _ = select_persons(kp, max_persons=1)
    np.testing.assert_array_equal(out[0], kp[0])


def test_select_never_drops_every_body():
    kp = _bodies(np.random.default_rng(0), [0.01, 0.02], t=5)  # both shorter than min_frames
    out, _ = select_persons(kp, max_persons=2)
    assert (out != 0).any(axis=(1, 2, 3)).all()


def test_select_moves_scores_with_bodies():
    kp = _bodies(np.random.default_rng(0), [0.001, 0.1])
    score = np.stack([np.full((30, 25), 0.2), np.full((30, 25), 0.8)]).astype(np.float32)
    _, out_score = select_persons(kp, score, max_persons=3)
    assert out_score.shape == (3, 30, 25) and out_score[0, 0, 0] == pytest.approx(0.8) and (out_score[2] == 0).all()


def test_motion_energy_zero_for_absent_person():
    kp = _bodies(np.random.default_rng(0), [0.1, 0.1])
    kp[1] = 0
    energy = motion_energy(kp)
    assert energy[0] > 0 and energy[1] == 0


def test_drop_empty_frames():
    kp = _bodies(np.random.default_rng(0), [0.01], t=6)
    kp[:, [0, 3]] = 0
    out, score = drop_empty_frames(kp, np.ones((1, 6, 25), np.float32))
    assert out.shape[1] == 4 and score.shape[1] == 4 and (out != 0).any(axis=(0, 2, 3)).all()


def test_center_zeroes_the_centre_joint_of_first_person():
    kp = _bodies(np.random.default_rng(0), [0.05, 0.05])
    out = center(kp, NTU25)
    assert np.abs(out[0, :, NTU25.center]).max() == 0
    np.testing.assert_allclose(out[1] - out[0], kp[1] - kp[0], atol=1e-5)  # relative positions kept


def test_center_keeps_absent_persons_and_joints_zero():
    kp = _bodies(np.random.default_rng(0), [0.05, 0.05])
    kp[1, :10] = 0
    kp[0, :, 7] = 0
    out = center(kp, NTU25)
    assert (out[1, :10] == 0).all() and (out[0, :, 7] == 0).all()


def test_center_falls_back_to_next_person():
    kp = _bodies(np.random.default_rng(0), [0.05, 0.05])
    kp[0, 3] = 0  # first person missing in frame 3
    out = center(kp, NTU25)
    assert np.abs(out[1, 3, NTU25.center]).max() == 0


def test_center_whole_sequence_keeps_trajectory():
    kp = _bodies(np.random.default_rng(0), [0.0], t=4)
    kp[0] += np.array([0.5, 0, 0], np.float32) * np.arange(4)[:, None, None]  # walks along x
    out = center(kp, NTU25, per_frame=False)
    assert np.abs(out[0, 0, NTU25.center]).max() == 0
    np.testing.assert_allclose(out[0, 3, NTU25.center], [1.5, 0, 0], atol=1e-5)


def _rotated_pose(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kp = rng.normal(size=(2, 5, 25, 3)).astype(np.float32)
    return kp


def test_align_makes_spine_vertical_and_shoulders_along_x():
    out = align_3d(_rotated_pose(0), NTU25)
    bottom, top = NTU25.spine
    left, right = NTU25.shoulders
    spine = out[0, 0, top] - out[0, 0, bottom]
    shoulders = out[0, 0, right] - out[0, 0, left]
    np.testing.assert_allclose(spine[[0, 2]], 0, atol=1e-5)
    assert spine[1] > 0 and shoulders[0] > 0 and abs(shoulders[2]) < 1e-5


def test_align_is_a_rotation():
    kp = _rotated_pose(1)
    out = align_3d(kp, NTU25)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(kp, axis=-1), rtol=1e-5)
    np.testing.assert_allclose(out[1, 2, 3] @ out[0, 4, 5], kp[1, 2, 3] @ kp[0, 4, 5], rtol=1e-4, atol=1e-5)


def test_align_uses_first_valid_frame_and_keeps_zeros():
    kp = _rotated_pose(2)
    kp[0, 0] = 0
    out = align_3d(kp, NTU25)
    assert (out[0, 0] == 0).all()
    np.testing.assert_allclose((out[0, 1, 1] - out[0, 1, 0])[[0, 2]], 0, atol=1e-5)


def test_align_skips_2d_and_layouts_without_spine():
    kp2d = np.random.default_rng(0).normal(size=(1, 3, 25, 2)).astype(np.float32)
    np.testing.assert_array_equal(align_3d(kp2d, NTU25), kp2d)
    kp = np.random.default_rng(0).normal(size=(1, 3, 17, 3)).astype(np.float32)
    np.testing.assert_array_equal(align_3d(kp, COCO17), kp)


def test_normalize_2d_maps_image_to_unit_square():
    kp = np.array([[[[0.0, 0.0], [640.0, 480.0], [1.0, 240.0]]]], np.float32)
    out = normalize_2d(kp, (480, 640))
    np.testing.assert_allclose(out[0, 0], [[0, 0], [1, 1], [1 / 320 - 1, 0]], atol=1e-6)


def test_preprocess_sequence_all_steps():
    kp = _bodies(np.random.default_rng(0), [0.001, 0.05, 0.01])
    kp[:, :3] = 0
    seq = SkeletonSequence("s", kp, label=4, meta={"view": 1})
    out = preprocess_sequence(seq, NTU25)
    assert out.keypoint.shape == (2, 27, 25, 3) and out.label == 4 and out.meta == {"view": 1}
    assert np.abs(out.keypoint[0, :, NTU25.center]).max() < 1e-6
    spine = out.keypoint[0, 0, 1] - out.keypoint[0, 0, 0]
    np.testing.assert_allclose(spine[[0, 2]], 0, atol=1e-5)


def test_preprocess_sequence_steps_can_be_switched_off():
    kp = _bodies(np.random.default_rng(0), [0.01])
    kp[:, 0] = 0
    out = preprocess_sequence(SkeletonSequence("s", kp), NTU25, max_persons=None, drop_empty=False, center=False,
                              align=False)
    np.testing.assert_array_equal(out.keypoint, kp)


def test_preprocess_sequence_2d_with_img_shape():
    kp = np.random.default_rng(0).uniform(10, 300, (1, 4, 17, 2)).astype(np.float32)
    out = preprocess_sequence(SkeletonSequence("s", kp), COCO17, img_shape=(480, 640), center=False)
    assert out.keypoint.shape == (2, 4, 17, 2) and np.abs(out.keypoint).max() <= 1


def test_preprocess_sequence_wrong_layout_is_an_error():
    with pytest.raises(SkeletonError, match="s: 25 joints per person, the layout has 18"):
        preprocess_sequence(SkeletonSequence("s", np.ones((1, 2, 25, 3), np.float32)), OPENPOSE18)


def test_preprocess_sequence_all_empty_is_an_error():
    with pytest.raises(SkeletonError, match="no frame with a person"):
        preprocess_sequence(SkeletonSequence("s", np.zeros((1, 2, 20, 3), np.float32)), KINECT_V1_20)


def test_preprocess_real_ntu_two_person():
    seq = preprocess_sequence(read_ntu_sequence(shared_file("ntu_samples", "S001C003P008R002A058.skeleton")), NTU25)
    assert seq.keypoint.shape == (2, 70, 25, 3) and (seq.keypoint[1] != 0).any()
    spine = seq.keypoint[0, 0, 1] - seq.keypoint[0, 0, 0]
    assert spine[1] > 0 and np.allclose(spine[[0, 2]], 0, atol=1e-5)


def test_scale_unit_puts_the_largest_coordinate_at_one_and_keeps_absent_joints():
    from skelgraph.data.preprocess import scale_unit

    kp = _bodies(np.random.default_rng(1), [0.05], t=6)
    kp[0, 2, 3] = 0.0  # an undetected joint
    out = scale_unit(kp)
    assert np.isclose(np.abs(out).max(), 1.0) and (out[0, 2, 3] == 0).all()
    np.testing.assert_allclose(out * np.abs(kp).max(), kp, rtol=1e-5, atol=1e-6)  # one factor for everything


def test_first_frame_centring_then_scaling_in_preprocess_sequence():
    kp = _bodies(np.random.default_rng(2), [0.05], t=8)
    kp[0] += np.linspace(0, 2, 8, dtype=np.float32)[:, None, None]  # the subject walks
    out = preprocess_sequence(SkeletonSequence("walk", kp), NTU25, max_persons=1, center_per_frame=False,
                              align=False, scale=True).keypoint
    assert np.abs(out[0, 0, NTU25.center]).max() < 1e-6  # first frame's centre joint at the origin
    assert np.abs(out[0, -1, NTU25.center]).max() > 0.1  # the walk is kept
    assert np.isclose(np.abs(out).max(), 1.0)
