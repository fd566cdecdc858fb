"""Long-format tables (one row per joint): frame, joint, x, y, z[, score]; and fixed joint rows per frame."""
import numpy as np
import pytest
from click.testing import CliRunner

from skelgraph.cli import main
from skelgraph.data.h5 import H5Skeletons
from skelgraph.data.readers.table import TableFormat, read_table
from skelgraph.data.sequence import SkeletonError
from skelgraph.graph.layouts import KINECT_V1_20

LONG = TableFormat(long=True)
RNG = np.random.default_rng(0)


def _write(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(kp, joints, score=None, frames=(0, 1, 2)):
    """Rows frame, joint, x, y, z[, score] of kp [T, V, 3] (joints = names or indices)."""
    out = []
    for t, f in enumerate(frames):
        for v, j in enumerate(joints):
            out.append([f, j, *kp[t, v].round(6)] + ([score[t, v]] if score is not None else []))
    return out


def test_named_joints_with_a_header_and_scores(tmp_path):
    kp, score = RNG.normal(size=(3, 2, 3)), np.array([[0.9, 0.8], [0.7, 0.6], [0.5, 0.4]])
    path = _write(tmp_path / "a.csv", ["frame", "joint", "x", "y", "z", "score"], _rows(kp, ["head", "neck"], score))
    seq = read_table(path, LONG)
    assert seq.keypoint.shape == (1, 3, 2, 3) and seq.meta["joints"] == ["head", "neck"]
    np.testing.assert_allclose(seq.keypoint[0], kp, atol=1e-5)
    np.testing.assert_allclose(seq.score[0], score, atol=1e-6)
    assert seq.frame_id.tolist() == [0, 1, 2]


def test_joint_indices_take_their_names_from_the_joint_names(tmp_path):
    kp = RNG.normal(size=(3, 2, 3))
    path = _write(tmp_path / "a.csv", ["Frame_ID", "Joint_ID", "X", "Y", "Z"], _rows(kp, [1, 0]))
    seq = read_table(path, TableFormat(long=True, joint_names=("head", "neck")))
    np.testing.assert_allclose(seq.keypoint[0][:, [1, 0]], kp, atol=1e-5)  # index 1 = neck first in each frame


def test_frames_are_ordered_by_id_and_missing_joints_stay_zero(tmp_path):
    rows = [[5, "b", 1, 1, 1], [2, "a", 2, 2, 2], [5, "a", 3, 3, 3], [2, "a", 9, 9, 9]]  # frame 2 lacks b
    seq = read_table(_write(tmp_path / "a.csv", ["frame", "joint", "x", "y", "z"], rows), LONG)
    assert seq.frame_id.tolist() == [2, 5] and seq.meta["joints"] == ["b", "a"]
    assert seq.keypoint[0, 0].tolist() == [[0, 0, 0], [2, 2, 2]]  # first row of (2, a) kept; b absent


def test_fixed_joint_rows_per_frame_without_a_frame_column(tmp_path):
    kp = RNG.normal(size=(4, 3, 2))
    rows = [list(kp[t, v].round(6)) for t in range(4) for v in range(3)]
    seq = read_table(_write(tmp_path / "a.txt", None, rows),
                     TableFormat(long=True, axes="xy", joint_names=("a", "b", "c")))
    assert seq.keypoint.shape == (1, 4, 3, 2) and seq.frame_id is None
    np.testing.assert_allclose(seq.keypoint[0], kp, atol=1e-5)


def test_header_less_columns_frame_joint_axes_score(tmp_path):
    kp, score = RNG.normal(size=(3, 2, 3)), RNG.uniform(size=(3, 2))
    path = _write(tmp_path / "a.csv", None, _rows(kp, [0, 1], score))
    seq = read_table(path, TableFormat(long=True, header=False, frame_column=0, joint_column=1,
                                       joint_names=("head", "neck")))
    np.testing.assert_allclose(seq.score[0], score, atol=1e-5)


def test_fixed_rows_that_do_not_fill_a_frame_are_an_error_naming_the_file(tmp_path):
    path = _write(tmp_path / "a.txt", None, [[1, 2, 3]] * 5)
    with pytest.raises(SkeletonError, match=r"a.txt: 5 rows is not a whole number of frames of 2"):
        read_table(path, TableFormat(long=True, joint_names=("a", "b")))


def test_joint_index_out_of_range_is_an_error(tmp_path):
    path = _write(tmp_path / "a.csv", ["frame", "joint", "x", "y", "z"], [[0, 3, 1, 1, 1]])
    with pytest.raises(SkeletonError, match="joint index 3 is outside the 2 named joints"):
        read_table(path, TableFormat(long=True, joint_names=("a", "b")))


def test_cli_preprocess_long_table_maps_names_onto_a_layout(tmp_path):
    names = ["SpineBase", *[j for j in KINECT_V1_20.joints[1:]]]  # Kinect v1's joints, a synonym for the first
    folder = tmp_path / "exports"
    folder.mkdir()
    for k in range(2):
        _write(folder / f"rec{k}.csv", ["frame", "joint", "x", "y", "z"],
               _rows(RNG.normal(size=(3, len(names), 3)), names))
    out = tmp_path / "long.h5"
    result = CliRunner().invoke(main, ["preprocess", "table", str(folder), str(out), "--long",
                                       "--to-layout", "kinect_v1_20", "--no-center", "--no-align"])
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    assert len(store) == 2 and store.layout.name == "kinect_v1_20" and store.read(0).keypoint.shape[1] == 3
