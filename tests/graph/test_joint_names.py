import numpy as np
import pytest

from skelgraph.graph.joint_names import (
    JOINT_ORDERS, JointMapError, joint_key, joint_mapping, layout_with_joints, read_joint_map, read_joint_names,
)
from skelgraph.graph.layouts import KINECT_V1_20, NTU25, LayoutError


@pytest.mark.parametrize("name", ["ShoulderLeft", "left_shoulder", "LeftShoulder", "l_shoulder", "shoulder.L",
                                  "Shoulder_Left", "LEFT_SHOULDER", "left-shoulder"])
def test_spellings_of_one_joint_share_a_key(name):
    assert joint_key(name) == "left_shoulder"


@pytest.mark.parametrize("name", ["HipCenter", "hip_center", "Hip Centre", "SpineBase", "pelvis", "MidHip", "Hips"])
def test_hip_centre_synonyms(name):
    assert joint_key(name) == "hipcenter"


def test_neck_stays_apart_from_the_shoulder_centre():
    assert joint_key("Neck") != joint_key("ShoulderCenter") == joint_key("SpineShoulder")


def test_sides_are_told_apart():
    assert joint_key("HandLeft") != joint_key("HandRight") and joint_key("HipLeft") != joint_key("HipCenter")


def test_kinect_sdk_names_map_onto_kinect_v1_20_in_the_sdk_order():
    sdk = ["HipCenter", "Spine", "ShoulderCenter", "Head", "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
           "ShoulderRight", "ElbowRight", "WristRight", "HandRight", "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
           "HipRight", "KneeRight", "AnkleRight", "FootRight"]
    assert joint_mapping(sdk, KINECT_V1_20).tolist() == list(range(20))


def test_shuffled_names_are_put_in_the_layout_order():
    names = list(KINECT_V1_20.joints)[::-1]
    index = joint_mapping(names, KINECT_V1_20)
    assert [names[i] for i in index] == list(KINECT_V1_20.joints)


def test_utd_mhad_order_is_head_first():
    index = joint_mapping(JOINT_ORDERS["utd_mhad"], KINECT_V1_20)
    assert JOINT_ORDERS["utd_mhad"][index[KINECT_V1_20.joints.index("head")]] == "head"
    assert index[KINECT_V1_20.joints.index("hip_center")] == 3


def test_a_source_joint_without_match_is_named():
    names = list(KINECT_V1_20.joints[:-1]) + ["Tail"]
    with pytest.raises(JointMapError, match=r"joint\(s\) Tail match no joint of layout 'kinect_v1_20'"):
        joint_mapping(names + ["right_foot"], KINECT_V1_20)


def test_a_layout_joint_without_source_is_named():
    with pytest.raises(JointMapError, match=r"joint\(s\) right_foot match no source joint"):
        joint_mapping(KINECT_V1_20.joints[:-1], KINECT_V1_20)


def test_drop_unmatched_leaves_extra_joints_out():
    index = joint_mapping(NTU25.joints, KINECT_V1_20, drop_unmatched=True)
    kept = {NTU25.joints[i] for i in index}
    assert "neck" not in kept and "spine_shoulder" in kept and len(index) == 20


def test_two_source_joints_for_one_layout_joint():
    with pytest.raises(JointMapError, match="'SpineBase' and 'HipCenter' both match 'hip_center'"):
        joint_mapping(["SpineBase", "HipCenter"], KINECT_V1_20, drop_unmatched=True)


def test_explicit_joint_map_wins_over_the_rule():
    names = ["Hips", "Chest", "Neck", "Head"]  # a rig whose names the rule reads otherwise
    layout_names = list(KINECT_V1_20.joints)
    rig = names + [n for n in layout_names if n not in ("hip_center", "spine", "shoulder_center", "head")]
    index = joint_mapping(rig, KINECT_V1_20, {"Chest": "spine", "Neck": "shoulder_center"})
    assert rig[index[1]] == "Chest" and rig[index[2]] == "Neck" and rig[index[0]] == "Hips"


def test_joint_map_to_an_unknown_joint():
    with pytest.raises(JointMapError, match="joint map names tail"):
        joint_mapping(KINECT_V1_20.joints, KINECT_V1_20, {"head": "tail"})


def test_layout_with_joints():
    assert layout_with_joints(reversed(NTU25.joints)).name == "ntu25"
    assert layout_with_joints(["a", "b"]) is None


def test_read_joint_names_forms(tmp_path):
    names_file = tmp_path / "names.txt"
    names_file.write_text("pelvis\nhead\n")
    assert read_joint_names(names_file) == ("pelvis", "head")
    assert read_joint_names("kinect_v1_20") == KINECT_V1_20.joints
    with pytest.raises(LayoutError, match="not a joint order"):
        read_joint_names("no_such_order")


def test_read_joint_map_forms(tmp_path):
    toml = tmp_path / "map.toml"
    toml.write_text('Hips = "hip_center"\n')
    rows = tmp_path / "map.csv"
    rows.write_text("Hips,hip_center\n")
    assert read_joint_map(toml) == read_joint_map(rows) == read_joint_map("Hips=hip_center") == {"Hips": "hip_center"}
    with pytest.raises(LayoutError, match="not a file and not"):
        read_joint_map("Hips")


def test_mapping_reorders_keypoints():
    kp = np.arange(20, dtype=np.float32)[None, None, :, None]  # joint i holds the value i
    reordered = kp[:, :, joint_mapping(JOINT_ORDERS["utd_mhad"], KINECT_V1_20)]
    assert reordered[0, 0, KINECT_V1_20.joints.index("head"), 0] == 0  # UTD-MHAD stores the head first
