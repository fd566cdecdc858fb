import pytest
import torch

from skelgraph.nn.features import center_nodes, check_features, frame_present, skeleton_features

# one person, 3 joints (joint 1 is the centre), 3 frames, 2 channels
X = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [4.0, 1.0]],
                  [[0.5, 0.5], [1.0, 1.0], [1.0, 2.0]],
                  [[0.0, 1.0], [0.0, 3.0], [1.0, 3.0]]])
CENTER = torch.tensor([1, 1, 1])


def test_position_is_the_input_when_no_centre_is_given():
    assert torch.equal(skeleton_features(X, ["position"]), X)


def test_position_is_centred_per_frame_with_a_centre():
    position = skeleton_features(X, ["position"], CENTER)
    assert torch.equal(position[1], torch.zeros(3, 2))
    torch.testing.assert_close(position[0], torch.tensor([[0.5, -0.5], [1.0, -1.0], [3.0, -1.0]]))


def test_motion_hand_computed():
    motion = skeleton_features(X, ["motion"])
    torch.testing.assert_close(motion[2], torch.tensor([[0.0, 2.0], [1.0, 0.0], [0.0, 0.0]]))  # last frame: 0


def test_trajectory_is_the_centre_track_from_the_first_frame_for_every_joint():
    traj = skeleton_features(X, ["trajectory"], CENTER)
    expected = torch.tensor([[0.0, 0.0], [0.5, 0.5], [0.5, 1.5]])
    for node in range(3):
        torch.testing.assert_close(traj[node], expected)


def test_absent_frames_get_zero_features_and_no_motion_across_them():
    x = X.clone()
    x[:, 1] = 0.0  # the person is absent in frame 1
    assert not bool(frame_present(x, CENTER)[:, 1].any())
    out = skeleton_features(x, ["position", "motion", "trajectory"], CENTER)
    assert torch.equal(out[:, 1], torch.zeros(3, 6))
    assert torch.equal(out[:, 0, 2:4], torch.zeros(3, 2))  # motion 0 -> 1 crosses the gap


def test_centre_joint_at_the_origin_counts_as_present():
    x = X.clone()
    x[1] = 0.0  # the centre joint sits exactly at the origin in every frame (e.g. a BVH root)
    assert bool(frame_present(x, CENTER).all())


def test_center_nodes_in_a_two_person_batch():
    joint, hop = torch.tensor([0, 1, 0, 1, 0, 1]), torch.tensor([1, 0, 1, 0, 1, 0])
    assert center_nodes(joint, hop).tolist() == [1, 1, 3, 3, 5, 5]


def test_unknown_or_repeated_features_are_refused():
    with pytest.raises(ValueError, match="position, motion, trajectory"):
        check_features(["velocity"])
    with pytest.raises(ValueError):
        check_features(["position", "position"])
