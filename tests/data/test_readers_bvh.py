import numpy as np
import pytest

from skelgraph.data.readers.bvh import read_bvh, read_bvh_layout
from skelgraph.data.sample import SkeletonError

# root -> a (1 up) -> end site (1 up); frame 0: root turned 90 deg about z;
# frame 1: root at (1, 0, 0), joint a turned 90 deg about z; frame 2: a turned 90 deg about x then y.
CHAIN = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT a
  {
    OFFSET 0 1 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.04
0 0 0 90 0 0 0 0 0
1 0 0 0 0 0 0 0 90
0 0 0 0 0 0 90 90 0
"""

# two branches leave the root: a leg chain and a spine with two arms
TREE = """HIERARCHY
ROOT pelvis
{
  OFFSET 0 0 0
  CHANNELS 3 Xposition Yposition Zposition
  JOINT leg
  {
    OFFSET 0 -1 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -1 0
    }
  }
  JOINT chest
  {
    OFFSET 0 1 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT arm_l
    {
      OFFSET 1 0 0
      CHANNELS 3 Zrotation Xrotation Yrotation
    }
    JOINT arm_r
    {
      OFFSET -1 0 0
      CHANNELS 3 Zrotation Xrotation Yrotation
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.04
0 2 0 0 0 0 0 0 0 0 0 0 0 0 0
"""


def _write(tmp_path, text: str, name: str = "clip.bvh"):
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_positions_by_forward_kinematics(tmp_path):
    seq = read_bvh(_write(tmp_path, CHAIN))
    assert seq.keypoint.shape == (1, 3, 3, 3) and seq.keypoint.dtype == np.float32
    expected = np.array([
        [[0, 0, 0], [-1, 0, 0], [-2, 0, 0]],  # root turned: the chain lies along -x
        [[1, 0, 0], [1, 1, 0], [0, 1, 0]],  # a turned: its child bone points along -x
        [[0, 0, 0], [0, 1, 0], [0, 1, 1]],  # Rx(90) Ry(90) @ (0, 1, 0) = (0, 0, 1)
    ])
    np.testing.assert_allclose(seq.keypoint[0], expected, atol=1e-6)
    assert seq.meta["frame_time"] == pytest.approx(0.04)


def test_end_sites_can_be_dropped(tmp_path):
    path = _write(tmp_path, CHAIN)
    assert read_bvh(path, include_end_sites=False).keypoint.shape == (1, 3, 2, 3)
    assert read_bvh_layout(path, include_end_sites=False).joints == ("hips", "a")


def test_layout_from_hierarchy(tmp_path):
    layout = read_bvh_layout(_write(tmp_path, TREE))
    assert layout.joints == ("pelvis", "leg", "leg_end", "chest", "arm_l", "arm_r")
    assert set(layout.bones) == {(1, 0), (2, 1), (3, 0), (4, 3), (5, 3)}
    assert layout.parts == (("root", (0,)), ("leg", (1, 2)), ("chest", (3, 4, 5)))
    assert layout.center == 0 and layout.name.startswith("bvh-pelvis-6j-") and layout.source == "clip.bvh"


def test_root_position_channels(tmp_path):
    seq = read_bvh(_write(tmp_path, TREE))
    np.testing.assert_allclose(seq.keypoint[0, 0, [0, 2, 4]], [[0, 2, 0], [0, 0, 0], [1, 3, 0]], atol=1e-6)


def test_crlf_file(tmp_path):
    path = tmp_path / "crlf.bvh"
    path.write_bytes(CHAIN.replace("\n", "\r\n").encode())
    np.testing.assert_allclose(read_bvh(path).keypoint, read_bvh(_write(tmp_path, CHAIN)).keypoint)


def test_truncated_motion_is_an_error(tmp_path):
    path = _write(tmp_path, CHAIN.rsplit("\n", 2)[0] + "\n0 0 0")
    with pytest.raises(SkeletonError,
                       match=r"clip.bvh: truncated: expected 3 frames of 9 channels, file ends in frame 3"):
        read_bvh(path)


def test_no_motion_section_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="no MOTION section"):
        read_bvh(_write(tmp_path, CHAIN.split("MOTION")[0]))


def test_unbalanced_braces_are_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="unbalanced"):
        read_bvh(_write(tmp_path, CHAIN.replace("  }\n}\nMOTION", "}\nMOTION")))


def test_bad_channel_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="bad CHANNELS"):
        read_bvh(_write(tmp_path, CHAIN.replace("Yrotation Zrotation", "Yrotation Wrotation")))


def test_empty_sequence_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="empty sequence"):
        read_bvh(_write(tmp_path, CHAIN.split("Frames:")[0] + "Frames: 0\nFrame Time: 0.04\n"))


def test_nan_is_an_error(tmp_path):
    with pytest.raises(SkeletonError, match="non-finite"):
        read_bvh(_write(tmp_path, CHAIN.replace("1 0 0 0 0 0", "nan 0 0 0 0 0")))


def _joint(name, offset, children="", end=False):
    inner = "End Site\n{\n OFFSET 0 0.1 0\n}\n" if end else ""
    return f"JOINT {name}\n{{\n OFFSET {offset}\n CHANNELS 3 Zrotation Xrotation Yrotation\n{children}{inner}}}\n"


def _humanoid(prefix=""):
    """A Mixamo-like rig: Hips > Spine > Neck > Head, shoulders > arms > forearms > hands, legs."""
    p = prefix

    def arm(side, x):
        hand = _joint(f"{p}{side}Hand", f"{x} 0 0", end=True)
        return _joint(f"{p}{side}Shoulder", f"{x} 0.2 0",
                      _joint(f"{p}{side}Arm", f"{x} 0 0", _joint(f"{p}{side}ForeArm", f"{x} 0 0", hand)))

    def leg(side, x):
        foot = _joint(f"{p}{side}Foot", "0 -0.4 0", _joint(f"{p}{side}ToeBase", "0 0 0.1"))
        return _joint(f"{p}{side}UpLeg", f"{x} 0 0", _joint(f"{p}{side}Leg", "0 -0.4 0", foot))

    spine = _joint(f"{p}Spine", "0 0.3 0", _joint(f"{p}Neck", "0 0.3 0", _joint(f"{p}Head", "0 0.1 0", end=True))
                   + arm("Left", 0.1) + arm("Right", -0.1))
    body = spine + leg("Left", 0.1) + leg("Right", -0.1)
    channels = 6 + 3 * body.count("CHANNELS 3 Z")
    return (f"HIERARCHY\nROOT {p}Hips\n{{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation "
            f"Xrotation Yrotation\n{body}}}\nMOTION\nFrames: 2\nFrame Time: 0.04\n"
            + "0 0 0 " + "0 " * (channels - 3) + "\n" + "1 0 0 " + "0 " * (channels - 3) + "\n")


@pytest.mark.parametrize("prefix", ["", "mixamorig:"])
def test_humanoid_names_give_body_parts_and_alignment_joints(tmp_path, prefix):
    layout = read_bvh_layout(_write(tmp_path, _humanoid(prefix)))
    parts = {name: [layout.joints[j].removeprefix(prefix) for j in members] for name, members in layout.parts}
    assert list(parts) == ["head", "torso", "left_arm", "right_arm", "left_leg", "right_leg"]
    assert parts["head"] == ["Neck", "Head", "Head_end"]
    assert parts["torso"] == ["Hips", "Spine", "LeftShoulder", "RightShoulder"]
    assert parts["left_arm"] == ["LeftArm", "LeftForeArm", "LeftHand", "LeftHand_end"]
    assert parts["right_leg"] == ["RightUpLeg", "RightLeg", "RightFoot", "RightToeBase"]
    names = [n.removeprefix(prefix) for n in layout.joints]
    assert [names[j] for j in layout.spine] == ["Hips", "Neck"]
    assert [names[j] for j in layout.shoulders] == ["LeftArm", "RightArm"]


def test_cmu_style_names():
    from skelgraph.data.readers.bvh import humanoid_parts

    names = ["Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "RHipJoint", "RightUpLeg", "RightLeg", "LowerBack",
             "Spine", "Neck", "Head", "lclavicle", "lhumerus", "lradius", "rclavicle", "rhumerus", "rradius"]
    parents = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]
    parts, neck, shoulders = humanoid_parts(names, parents)
    assert [names[j] for j in parts["left_leg"]] == ["LeftUpLeg", "LeftLeg"]
    assert [names[j] for j in parts["left_arm"]] == ["lhumerus", "lradius"]
    assert names[neck] == "Neck" and [names[j] for j in shoulders] == ["lhumerus", "rhumerus"]
    assert "LowerBack" in [names[j] for j in parts["torso"]] and "LHipJoint" in [names[j] for j in parts["torso"]]


def test_default_mask_no_longer_hides_every_joint_of_a_humanoid(tmp_path):
    layout = read_bvh_layout(_write(tmp_path, _humanoid()))
    assert layout.num_parts == 6  # two hidden parts leave four visible


def test_a_joint_exactly_at_the_origin_stays_a_joint(tmp_path):
    """Root at x=1 in frame 0, its child one unit to the left: the child sits exactly at the origin."""
    from skelgraph.data.preprocess import preprocess_sequence

    path = _write(tmp_path, TREE)
    seq = read_bvh(path)
    layout = read_bvh_layout(path)
    seq.keypoint[0, 0] = [[1, 0, 0], [0, 0, 0], [0, -1, 0], [1, 1, 0], [2, 1, 0], [0, 1, 0]]
    out = preprocess_sequence(seq, layout, max_persons=1, align=False)
    np.testing.assert_allclose(out.keypoint[0, 0, 1], [-1, 0, 0])  # moved with the rest, not left at 0


def test_layout_is_named_after_the_skeleton_not_the_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = read_bvh_layout(_write(tmp_path / "a", TREE, "dataset-2_raise-up-both-hands_active_010.bvh"))
    second = read_bvh_layout(_write(tmp_path / "b", TREE, "other.bvh"))
    assert first.name == second.name and "dataset" not in first.name
    assert read_bvh_layout(_write(tmp_path, CHAIN, "chain.bvh")).name != first.name  # another rig, another name


def test_a_folder_with_two_rigs_reports_the_odd_file(tmp_path):
    from skelgraph.data.pipeline import preprocess_to_h5

    folder = tmp_path / "mocap"
    folder.mkdir()
    _write(folder, TREE, "a.bvh")
    _write(folder, TREE, "b.bvh")
    _write(folder, CHAIN, "c.bvh")
    report = preprocess_to_h5("bvh", folder, tmp_path / "m.h5")
    assert report.written == 2 and len(report.failures) == 1
    assert "another skeleton" in str(report.failures[0]) and "c.bvh" in str(report.failures[0])
