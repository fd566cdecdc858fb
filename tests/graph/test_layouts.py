import pytest

from skelgraph.graph.layouts import (
    BUILTIN_LAYOUTS, COCO17, NTU25, LayoutError, get_layout, layout_from_json, load_layout,
)


@pytest.mark.parametrize("name, joints, bones", [("ntu25", 25, 24), ("coco17", 17, 16),
                                                 ("openpose18", 18, 17), ("kinect_v1_20", 20, 19)])
def test_builtin_layout_sizes(name, joints, bones):
    layout = get_layout(name)
    assert layout.num_joints == joints and len(layout.bones) == bones


@pytest.mark.parametrize("layout", list(BUILTIN_LAYOUTS.values()), ids=list(BUILTIN_LAYOUTS))
def test_builtin_layouts_have_six_parts_covering_every_joint_once(layout):
    members = sorted(j for _, part in layout.parts for j in part)
    assert layout.num_parts == 6 and members == list(range(layout.num_joints))


def test_coco17_parts_are_the_papers():
    assert dict(COCO17.parts) == {"head": (0, 1, 2, 3, 4), "torso": (5, 6, 11, 12), "left_arm": (7, 9),
                                  "right_arm": (8, 10), "left_leg": (13, 15), "right_leg": (14, 16)}


def test_ntu25_bones_match_ctrgcn_one_based_list():
    assert (0, 1) in NTU25.bones and (24, 11) in NTU25.bones and (21, 22) in NTU25.bones


def test_layout_json_round_trip():
    assert layout_from_json(NTU25.to_json()) == NTU25


def write(tmp_path, text):
    path = tmp_path / "rig.toml"
    path.write_text(text)
    return path


RIG = """
name = "rig"
joints = ["pelvis", "chest", "head", "hand"]
bones = [["chest", "pelvis"], ["head", "chest"], [3, 1]]
center = "chest"
[parts]
torso = ["pelvis", "chest"]
head = ["head"]
arm = ["hand"]
"""


def test_user_layout_from_toml_by_names_and_ids(tmp_path):
    layout = get_layout(write(tmp_path, RIG))
    assert layout.bones == ((1, 0), (2, 1), (3, 1)) and layout.center == 1
    assert layout.joint_part == (0, 0, 1, 2)


@pytest.mark.parametrize("change, message", [
    (('["head", "chest"]', '["head", "neck"]'), "unknown joint 'neck'"),
    (('arm = ["hand"]', 'arm = ["hand", "head"]'), "in two parts"),
    (('arm = ["hand"]', 'arm = []'), "is empty"),
    (('head = ["head"]\n', ''), "joints in no part: head"),
    (('[3, 1]', '[7, 1]'), "outside 0..3"),
    (('[3, 1]', '[1, 1]'), "joins a joint to itself"),
    (('center = "chest"', 'centre = "chest"'), "unknown keys: centre"),
])
def test_invalid_user_layout_names_the_file_and_problem(tmp_path, change, message):
    path = write(tmp_path, RIG.replace(*change))
    with pytest.raises(LayoutError, match=message) as err:
        load_layout(path)
    assert str(path) in str(err.value)


def test_invalid_toml_syntax_is_a_layout_error(tmp_path):
    with pytest.raises(LayoutError, match="not valid TOML"):
        load_layout(write(tmp_path, "name = "))


def test_unknown_layout_name_lists_builtins():
    with pytest.raises(LayoutError, match="ntu25, coco17"):
        get_layout("smpl24")


def test_a_joint_without_bones_to_the_centre_is_refused():
    from skelgraph.graph.layouts import layout_from_dict

    spec = {"name": "x", "joints": ["a", "b", "c", "d"], "bones": [["b", "a"], ["d", "c"]], "center": "a",
            "parts": {"p": ["a", "b"], "q": ["c", "d"]}}
    with pytest.raises(LayoutError, match=r"joint\(s\) c, d have no path of bones to the centre joint 'a'"):
        layout_from_dict(spec)
