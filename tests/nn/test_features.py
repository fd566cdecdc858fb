import pytest
import torch

from skelgraph.nn.features import (center_nodes, check_features, frame_present, hide_bones_of_hidden_parents,
                                   skeleton_features)

# one person, 3 joints (joint 1 is the centre), 3 frames, 2 channels
X = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [4.0, 1.0]],
                  [[0.5, 0.5], [1.0, 1.0], [1.0, 2.0]],
                  [[0.0, 1.0], [0.0, 3.0], [1.0, 3.0]]])
CENTER = torch.tensor([1, 1, 1])
PARENT = torch.tensor([1, 1, 1])  # joints 0 and 2 hang from the centre, which is its own parent


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


def test_bone_is_the_joint_minus_its_parent_and_zero_at_the_centre():
    bone = skeleton_features(X, ["bone"], CENTER, PARENT)
    torch.testing.assert_close(bone[0], X[0] - X[1])
    torch.testing.assert_close(bone[2], X[2] - X[1])
    assert torch.equal(bone[1], torch.zeros(3, 2))


def test_bone_does_not_depend_on_per_frame_centring():
    centred = skeleton_features(X, ["bone"], CENTER, PARENT)
    torch.testing.assert_close(centred, skeleton_features(X, ["bone"], None, PARENT))


def test_bone_without_parents_is_refused():
    with pytest.raises(ValueError, match="parent"):
        skeleton_features(X, ["position", "bone"], CENTER)


def test_bones_of_hidden_parents_are_zeroed_in_that_frame_only():
    inputs = skeleton_features(X, ["position", "bone"], CENTER, PARENT)
    keep = torch.ones(3, 3, dtype=torch.bool)
    keep[1, 2] = False  # the centre hidden in frame 2
    out = hide_bones_of_hidden_parents(inputs, ["position", "bone"], keep, PARENT)
    assert torch.equal(out[:, 2, 2:], torch.zeros(3, 2))  # every bone to the centre, frame 2
    assert torch.equal(out[:, :2], inputs[:, :2])  # other frames untouched
    assert torch.equal(out[..., :2], inputs[..., :2])  # positions untouched


def test_absent_frames_get_zero_features_and_no_motion_across_them():
    x = X.clone()
    x[:, 1] = 0.0  # the person is absent in frame 1
    assert not bool(frame_present(x, CENTER)[:, 1].any())
    out = skeleton_features(x, ["position", "motion", "trajectory", "bone"], CENTER, PARENT)
    assert torch.equal(out[:, 1], torch.zeros(3, 8))
    assert torch.equal(out[:, 0, 2:4], torch.zeros(3, 2))  # motion 0 -> 1 crosses the gap


def test_centre_joint_at_the_origin_counts_as_present():
    x = X.clone()
    x[1] = 0.0  # the centre joint sits exactly at the origin in every frame (e.g. a BVH root)
    assert bool(frame_present(x, CENTER).all())


def test_center_nodes_in_a_two_person_batch():
    joint, hop = torch.tensor([0, 1, 0, 1, 0, 1]), torch.tensor([1, 0, 1, 0, 1, 0])
    assert center_nodes(joint, hop).tolist() == [1, 1, 3, 3, 5, 5]


def test_unknown_or_repeated_features_are_refused():
    with pytest.raises(ValueError, match="position, motion, trajectory, bone"):
        check_features(["velocity"])
    with pytest.raises(ValueError):
        check_features(["position", "position"])
