import pickle
from multiprocessing import get_context

import numpy as np
import pytest

from skelgraph.data.sources import Source, SourceError, open_source
from tests.conftest import shared_file


def test_ntu_folder():
    source = open_source("ntu", shared_file("ntu_samples"))
    assert isinstance(source, Source) and len(source) == 15 and source.layout.name == "ntu25"
    assert len(source.class_names) == 120
    seq = source.load(source.items[0])
    assert seq.name == "S001C001P001R001A001" and source.item_name(source.items[0]).endswith(".skeleton")


def test_ntu_missing_list_in_folder_drops_samples(tmp_path):
    src = shared_file("ntu_samples", "S001C001P001R001A001.skeleton")
    (tmp_path / src.name).write_bytes(src.read_bytes())
    (tmp_path / "NTU_RGBD_samples_with_missing_skeletons.txt").write_text("a\nb\n\nS001C001P001R001A001\n")
    with pytest.raises(SourceError, match="no ntu samples"):
        open_source("ntu", tmp_path)


def test_kinetics_folder_with_labels_beside():
    source = open_source("kinetics", shared_file("kinetics_samples", "kinetics_val"))
    assert len(source) == 2 and source.layout.name == "openpose18" and len(source.class_names) == 400
    seq = source.load(source.items[1])
    assert source.class_names[seq.label] == "tying tie"


def test_kinetics_label_file_overrides_and_filters(tmp_path):
    for name in ("-0BveUV52cM", "-0byZyStAYQ"):
        src = shared_file("kinetics_samples", "kinetics_val", name + ".json")
        (tmp_path / src.name).write_bytes(src.read_bytes())
    (tmp_path / "x_label.json").write_text('{"-0BveUV52cM": {"has_skeleton": false, "label_index": 1},'
                                           ' "-0byZyStAYQ": {"has_skeleton": true, "label_index": 7}}')
    source = open_source("kinetics", tmp_path)
    assert len(source) == 1 and source.load(source.items[0]).label == 7


def test_nwucla_archive():
    source = open_source("nwucla", shared_file("nw_ucla", "all_sqe.tar.gz"))
    assert len(source) == 1484 and source.layout.name == "kinect_v1_20"
    assert source.class_names[0] == "pick up with one hand"
    assert source.load(source.items[0]).name == "a01_s01_e00_v01"
    assert source.item_name(source.items[0]).endswith("all_sqe.tar.gz:all_sqe/a01_s01_e00_v01.json")


def test_pyskl_pickle_with_splits(tmp_path):
    ann = [{"frame_dir": f"s{i}", "label": i, "keypoint": np.ones((1, 3, 17, 2)), "img_shape": (4, 4)}
           for i in range(3)]
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"split": {"train": ["s0", "s1"]}, "annotations": ann}))
    source = open_source("pyskl", tmp_path / "p.pkl")
    assert len(source) == 3 and source.layout.name == "coco17" and source.splits == {"train": ["s0", "s1"]}
    assert source.load(source.items[2]).label == 2 and source.item_name(2).endswith("p.pkl[2]")


def test_numpy_folder_infers_layout(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((4, 20, 3)))
    np.savez(tmp_path / "b.npz", keypoint=np.ones((4, 20, 3)), label=2)
    source = open_source("numpy", tmp_path)
    assert len(source) == 2 and source.layout.name == "kinect_v1_20" and source.load(source.items[1]).label == 2


def test_numpy_unknown_joint_count_needs_layout(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((4, 7, 3)))
    with pytest.raises(SourceError, match="7 joints"):
        open_source("numpy", tmp_path)


def test_bvh_layout_from_first_file(tmp_path):
    (tmp_path / "c.bvh").write_text("HIERARCHY\nROOT r\n{\nOFFSET 0 0 0\nCHANNELS 3 Xposition Yposition Zposition\n"
                                    "JOINT a\n{\nOFFSET 0 1 0\nCHANNELS 1 Zrotation\n}\n}\nMOTION\nFrames: 2\n"
                                    "Frame Time: 0.1\n0 0 0 0\n0 0 0 90\n")
    source = open_source("bvh", tmp_path)
    assert source.layout.joints == ("r", "a") and source.load(source.items[0]).keypoint.shape == (1, 2, 2, 3)


def test_items_and_loader_work_in_a_process_pool():
    source = open_source("ntu", shared_file("ntu_samples"))
    with get_context("fork").Pool(1) as pool:
        names = [seq.name for seq in pool.imap(source.load, source.items[:2])]
    assert names == ["S001C001P001R001A001", "S001C001P001R001A002"]


def test_handles_pickle():
    for kind, src in (("kinetics", shared_file("kinetics_samples", "kinetics_val")),
                      ("nwucla", shared_file("nw_ucla", "all_sqe.tar.gz"))):
        source = open_source(kind, src)
        pickle.loads(pickle.dumps((source.load, source.items[:3], source.item_name)))


def test_unknown_kind_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="unknown source kind 'mocap'"):
        open_source("mocap", tmp_path)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="no nwucla samples"):
        open_source("nwucla", tmp_path)


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        open_source("ntu", tmp_path / "nope")
