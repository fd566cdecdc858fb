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
