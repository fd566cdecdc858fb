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
    assert layout.center == 0 and layout.name == "clip"


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
