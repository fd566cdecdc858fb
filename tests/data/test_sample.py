import numpy as np
import pytest
import torch

from skelgraph.data.sample import SkeletonError, check_keypoint, data_to_keypoint, skeleton_to_data
from skelgraph.graph.layouts import COCO17, NTU25


def keypoint(m=2, t=5, v=25, c=3, seed=0):
    return np.random.default_rng(seed).normal(size=(m, t, v, c)).astype(np.float32)


def test_skeleton_to_data_node_is_person_joint_track():
    kp = keypoint()
    data = skeleton_to_data(kp, NTU25, label=4)
    assert data.x.shape == (50, 5, 3)
    # node 25 + 7 is person 1's joint 7, its feature the track over all frames
    assert torch.equal(data.x[32], torch.from_numpy(kp[1, :, 7]))
    assert data.y.tolist() == [4] and data.num_nodes == 50


def test_data_to_keypoint_inverts_skeleton_to_data():
    kp = keypoint()
    assert torch.equal(data_to_keypoint(skeleton_to_data(kp, NTU25)), torch.from_numpy(kp))


def test_score_becomes_node_by_frame():
    kp, score = keypoint(v=17, c=2), np.random.default_rng(1).random((2, 5, 17)).astype(np.float32)
    data = skeleton_to_data(kp, COCO17, score=score)
    assert data.score.shape == (34, 5) and data.score[20, 3] == pytest.approx(score[1, 3, 3])


def test_hop_is_distance_from_centre():
    data = skeleton_to_data(keypoint(m=1), NTU25)
    assert data.hop[NTU25.center] == 0 and data.hop[3] == 3  # head: spine_mid -> spine_shoulder -> neck -> head


def test_wrong_joint_count_is_rejected():
    with pytest.raises(SkeletonError, match="17 joints"):
        skeleton_to_data(keypoint(v=17), NTU25)


@pytest.mark.parametrize("array, message", [
    (np.zeros((1, 0, 25, 3)), "empty sequence"),
    (np.zeros((0, 4, 25, 3)), "no persons"),
    (np.zeros((4, 25, 3)), r"\[M, T, V, C\]"),
    (np.zeros((1, 4, 24, 3)), "24 joints"),
])
def test_check_keypoint_rejects_bad_shapes(array, message):
    with pytest.raises(SkeletonError, match=message):
        check_keypoint(array, 25, "x.skeleton")


def test_check_keypoint_names_nan_location():
    array = np.zeros((1, 4, 25, 3))
    array[0, 2, 5, 1] = np.nan
    with pytest.raises(SkeletonError, match="x.skeleton: non-finite.*frame 2, joint 5"):
        check_keypoint(array, 25, "x.skeleton")
