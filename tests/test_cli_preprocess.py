"""`skelgraph preprocess` end to end, on the real samples in ../shared/data (skipped without them)."""
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from skelgraph.cli import main
from skelgraph.data.h5 import H5Skeletons
from tests.conftest import shared_file


def run(*args):
    return CliRunner().invoke(main, ["preprocess", *map(str, args)])


def test_nwucla_archive_gives_the_cross_view_counts(tmp_path):
    archive = shared_file("nw_ucla", "all_sqe.tar.gz")
    out = tmp_path / "ucla.h5"
    result = run("nwucla", archive, out)
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    assert len(store) == 1484 and store.num_persons == 1
    assert len(store.split_indices("xview_train")) == 1020 and len(store.split_indices("xview_test")) == 464
    assert sorted(set(store.labels.tolist())) == list(range(10))


def test_ntu_samples_match_the_reference_array(tmp_path):
    src = shared_file("ntu_samples")
    reference = np.load(shared_file("ntu_samples", "crlf_reference", "S001C001P001R001A001.skeleton.npy"),
                        allow_pickle=True).item()["skel_body0"]
    out = tmp_path / "ntu.h5"
    result = run("ntu", src, out, "--no-center", "--no-align", "--keep-empty", "--workers", "2")
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    seq = store.read(store.names.index("S001C001P001R001A001"))
    np.testing.assert_allclose(seq.keypoint[0], reference, atol=1e-5)
    assert not seq.keypoint[1].any()  # one person, second slot empty
    two = store.read(store.names.index("S001C003P008R002A058")).keypoint
    assert two[0].any() and two[1].any()  # the handshake keeps both people
    assert "S001C001P001R001A001" in [store.names[i] for i in store.split_indices("xsub_train")]


def test_more_workers_than_files_start_only_as_many_readers(tmp_path):
    src = shared_file("ntu_samples")
    result = run("ntu", src, tmp_path / "ntu.h5", "--workers", "512")
    assert result.exit_code == 0, result.output
    assert "--workers 512: " in result.output and "reader processes used" in result.output
    assert "# --workers 512: " in (tmp_path / "ntu.h5.report.txt").read_text()


def test_ntu_default_preprocessing_centres_on_spine_mid(tmp_path):
    src = shared_file("ntu_samples")
    out = tmp_path / "ntu.h5"
    assert run("ntu", src, out).exit_code == 0
    kp = H5Skeletons(out).read(0).keypoint
    assert np.abs(kp[0, :, 1]).max() < 1e-6  # centre joint (spine_mid) at the origin


@pytest.fixture
def ntu_with_broken_file(tmp_path):
    src = tmp_path / "raw"
    src.mkdir()
    good = shared_file("ntu_samples", "S001C001P001R001A005.skeleton")
    shutil.copy(good, src / good.name)
    text = good.read_text()
    (src / "S001C001P002R001A005.skeleton").write_text(text[: len(text) // 2])  # truncated copy
    return src


def test_unreadable_file_is_skipped_and_reported(ntu_with_broken_file, tmp_path):
    out = tmp_path / "ntu.h5"
    result = run("ntu", ntu_with_broken_file, out)
    assert result.exit_code == 0, result.output
    assert len(H5Skeletons(out)) == 1
    report = (tmp_path / "ntu.h5.report.txt").read_text().splitlines()
    assert report[0].startswith("# skelgraph preprocess ntu") and "1 failed" in report[0]
    path, reason = report[1].split("\t")
    assert path.endswith("S001C001P002R001A005.skeleton") and reason.startswith("truncated")


def test_strict_makes_an_unreadable_file_fatal_and_writes_nothing(ntu_with_broken_file, tmp_path):
    out = tmp_path / "ntu.h5"
    result = run("ntu", ntu_with_broken_file, out, "--strict")
    assert result.exit_code == 1 and "S001C001P002R001A005" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".ntu.h5.tmp*"))


def test_exclude_list_skips_samples(tmp_path):
    src = shared_file("ntu_samples")
    exclude = tmp_path / "missing.txt"
    exclude.write_text("S001C001P001R001A001\nS001C001P001R001A002\n")
    out = tmp_path / "ntu.h5"
    assert run("ntu", src, out, "--exclude-list", exclude).exit_code == 0
    assert len(H5Skeletons(out)) == 13


def test_split_file_replaces_standard_splits(tmp_path):
    src = shared_file("ntu_samples")
    split_file = tmp_path / "splits.csv"
    split_file.write_text("S001C001P001R001A001,mine\n")
    out = tmp_path / "ntu.h5"
    assert run("ntu", src, out, "--split-file", split_file).exit_code == 0
    assert list(H5Skeletons(out).splits) == ["mine"]


def test_empty_source_folder_is_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("ntu", tmp_path / "empty", tmp_path / "o.h5")
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_kinetics_folder(tmp_path):
    src = shared_file("kinetics_samples", "kinetics_val")
    out = tmp_path / "k.h5"
    result = run("kinetics", src, out)
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    assert len(store) == 2 and store.layout.name == "openpose18" and store.has_score


# ----------------------------------------------------------------------------- Kinect v1 sets (issue 11)

KINDER_GATOR_CLASS = r"POSE-p(?P<subject>\d+)_(?P<order>\d+)-(?P<class>.+?)-+\d+$"


def test_every_source_kind_is_a_command_choice():
    from skelgraph.cli import KINDS
    from skelgraph.data.sources import KINDS as SOURCE_KINDS

    assert KINDS == SOURCE_KINDS


def test_kinder_gator_csv_labelled_from_file_names(tmp_path):
    out = tmp_path / "kg.h5"
    result = run("table", shared_file("kinect_v1", "kinder_gator"), out, "--to-layout", "kinect_v1_20",
                 "--label-from-name", KINDER_GATOR_CLASS)
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    assert store.layout.name == "kinect_v1_20" and store.class_names == ["Bow", "Jump", "Wave-your-hand"]
    assert store.labels[store.names.index("POSE-p103_05-Bow-1455370188098")] == 0
    assert store.meta(0)["subject"] == 103 and store.provenance["joints_mapped"]["to"] == "kinect_v1_20"


def test_utd_mhad_mat_mapped_and_labelled(tmp_path):
    pytest.importorskip("scipy")
    out = tmp_path / "utd.h5"
    result = run("mat", shared_file("kinect_v1", "utd_mhad"), out, "--joints", "utd_mhad", "--to-layout",
                 "kinect_v1_20", "--label-from-name", r"(?P<class>a\d+)_s(?P<subject>\d+)_t(?P<trial>\d+)")
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    assert store.class_names == ["a11", "a16", "a19"] and len(store) == 3
    kp = store.read(0).keypoint[0]  # centred on the spine and aligned: head up, feet down
    head, foot = store.layout.joints.index("head"), store.layout.joints.index("left_foot")
    assert kp[:, head, 1].mean() > 0 > kp[:, foot, 1].mean()


def test_utkinect_segments_from_action_label_file(tmp_path):
    src = shared_file("kinect_v1", "utkinect")
    out = tmp_path / "utk.h5"
    result = run("table", src, out, "--no-header", "--frame-column", "0", "--joints", "kinect_v1_20",
                 "--label-file", src / "actionLabel.txt", "--no-center", "--no-align")
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    assert len(store) == 10 and store.names[0] == "joints_s01_e01_walk"
    rows = np.loadtxt(src / "joints_s01_e01.txt")
    ids = np.unique(rows[:, 0])
    walk = store.read(store.names.index("joints_s01_e01_walk"))
    assert walk.num_frames == ((ids >= 252) & (ids <= 390)).sum()  # frames chosen by id, repeats once
    np.testing.assert_allclose(walk.keypoint[0, 0].reshape(-1), rows[rows[:, 0] == 252][0, 1:], rtol=1e-6)
    assert store.class_names[walk.label] == "walk"
    assert "19 name(s) in the label file" in (tmp_path / "utk.h5.report.txt").read_text()


def test_unmatched_joint_name_is_one_line(tmp_path):
    pytest.importorskip("scipy")
    result = run("mat", shared_file("kinect_v1", "utd_mhad"), tmp_path / "o.h5", "--joints", "utd_mhad",
                 "--to-layout", "ntu25")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "joint(s) neck, left_hand_tip, left_thumb, right_hand_tip, right_thumb match no source joint" \
        in result.output
    assert not (tmp_path / "o.h5").exists()


def test_merge_command(tmp_path):
    kg, utk = tmp_path / "kg.h5", tmp_path / "utk.h5"
    assert run("table", shared_file("kinect_v1", "kinder_gator"), kg).exit_code == 0
    src = shared_file("kinect_v1", "utkinect")
    assert run("table", src, utk, "--frame-column", "0", "--joints", "kinect_v1_20",
               "--label-file", src / "actionLabel.txt").exit_code == 0
    out = tmp_path / "corpus.h5"
    result = CliRunner().invoke(main, ["merge", str(kg), str(utk), str(out), "--name", "kinder_gator",
                                       "--name", "utkinect"])
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    assert len(store) == 13 and len(store.split_indices("utkinect")) == 10


def test_merge_of_different_layouts_is_one_line(tmp_path):
    kg = tmp_path / "kg.h5"
    assert run("table", shared_file("kinect_v1", "kinder_gator"), kg).exit_code == 0
    other = tmp_path / "s.h5"
    assert CliRunner().invoke(main, ["synth", str(other), "--samples", "3"]).exit_code == 0
    result = CliRunner().invoke(main, ["merge", str(kg), str(other), str(tmp_path / "o.h5")])
    assert result.exit_code == 1 and "s.h5: layout 'ntu25' (25 joints) differs" in result.output


def test_decimals_stores_coordinates_within_their_bound_in_a_smaller_file(tmp_path):
    archive = shared_file("nw_ucla", "all_sqe.tar.gz")
    exact, rounded = tmp_path / "exact.h5", tmp_path / "rounded.h5"
    assert run("nwucla", archive, exact).exit_code == 0
    result = run("nwucla", archive, rounded, "--decimals", "3")
    assert result.exit_code == 0, result.output
    a, b = H5Skeletons(exact), H5Skeletons(rounded)
    x, y = a.read(7).keypoint, b.read(7).keypoint
    assert not np.array_equal(x, y) and np.abs(x - y).max() <= 1e-3 + 1e-6
    assert rounded.stat().st_size < exact.stat().st_size


def test_nwucla_first_frame_centring_and_scaling_are_recorded(tmp_path):
    import json

    archive = shared_file("nw_ucla", "all_sqe.tar.gz")
    out = tmp_path / "ucla.h5"
    result = run("nwucla", archive, out, "--center-first-frame", "--scale")
    assert result.exit_code == 0, result.output
    store = H5Skeletons(out)
    kp = store.read(0).keypoint
    assert np.abs(kp).max() <= 1.0 + 1e-6 and np.isclose(np.abs(kp).max(), 1.0)
    assert np.abs(kp[0, 0, store.layout.center]).max() < 1e-6
    provenance = store.provenance if isinstance(store.provenance, dict) else json.loads(store.provenance)
    assert provenance["center_per_frame"] is False and provenance["scale"] is True
