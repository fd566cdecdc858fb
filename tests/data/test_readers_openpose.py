import json

import numpy as np
import pytest

from skelgraph.data.readers.openpose import read_kinetics_json, read_kinetics_labels, read_label_names
from skelgraph.data.sample import SkeletonError
from tests.conftest import shared_file

FILES = [("kinetics_train", "cU1fyH2QssA", 91, 299), ("kinetics_train", "kkwHdOvpCoc", 83, 299),
         ("kinetics_train", "sAP-xS5P0Bw", 199, 299), ("kinetics_val", "-0BveUV52cM", 317, 298),
         ("kinetics_val", "-0byZyStAYQ", 370, 299)]


@pytest.mark.parametrize("folder,name,label,frames", FILES)
def test_real_files_shape_label_range(folder, name, label, frames):
    seq = read_kinetics_json(shared_file("kinetics_samples", folder, name + ".json"))
    assert seq.name == name and seq.label == label
    assert seq.keypoint.shape == (2, frames, 18, 2) and seq.score.shape == (2, frames, 18)
    assert seq.keypoint.dtype == np.float32 and seq.keypoint.min() >= 0 and seq.keypoint.max() < 1.2
    assert (seq.keypoint[seq.score == 0] == 0).all()


def test_nearly_empty_file_has_one_detection():
    seq = read_kinetics_json(shared_file("kinetics_samples", "kinetics_train", "sAP-xS5P0Bw.json"))
    assert int((seq.score.sum(axis=2) > 0).sum()) == 1


def test_slots_sorted_by_score_per_frame():
    seq = read_kinetics_json(shared_file("kinetics_samples", "kinetics_train", "cU1fyH2QssA.json"), max_persons=5)
    total = seq.score.sum(axis=2)  # [M, T]
    assert (np.diff(total, axis=0) <= 0).all()


def _clip(persons_per_frame: list[list[float]]) -> dict:
    frames = []
    for k, confidences in enumerate(persons_per_frame):
        frames.append({"frame_index": k + 1, "skeleton": [
            {"pose": [0.5] * 36, "score": [c] * 18} for c in confidences]})
    return {"data": frames, "label": "x", "label_index": 4}


def test_keeps_most_confident_persons(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(_clip([[0.1, 0.9, 0.5]])))
    seq = read_kinetics_json(tmp_path / "c.json", max_persons=2)
    np.testing.assert_allclose(seq.score[:, 0, 0], [0.9, 0.5])


def test_pads_to_max_persons(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(_clip([[0.3], []])))
    seq = read_kinetics_json(tmp_path / "c.json", max_persons=3)
    assert seq.keypoint.shape == (3, 2, 18, 2) and (seq.keypoint[1:] == 0).all() and (seq.keypoint[:, 1] == 0).all()


def test_bad_json_is_an_error(tmp_path):
    (tmp_path / "c.json").write_text('{"data": [')
    with pytest.raises(SkeletonError, match="c.json: not valid JSON"):
        read_kinetics_json(tmp_path / "c.json")


def test_wrong_structure_is_an_error(tmp_path):
    (tmp_path / "c.json").write_text('{"frames": []}')
    with pytest.raises(SkeletonError, match="'data' list"):
        read_kinetics_json(tmp_path / "c.json")


def test_empty_sequence_is_an_error(tmp_path):
    (tmp_path / "c.json").write_text('{"data": []}')
    with pytest.raises(SkeletonError, match="empty sequence"):
        read_kinetics_json(tmp_path / "c.json")


def test_wrong_joint_count_is_an_error(tmp_path):
    clip = {"data": [{"frame_index": 1, "skeleton": [{"pose": [0.5] * 34, "score": [1.0] * 17}]}]}
    (tmp_path / "c.json").write_text(json.dumps(clip))
    with pytest.raises(SkeletonError, match="17 keypoints per person, expected 18"):
        read_kinetics_json(tmp_path / "c.json")


def test_nan_is_an_error(tmp_path):
    clip = _clip([[0.5]])
    clip["data"][0]["skeleton"][0]["pose"][3] = float("nan")
    (tmp_path / "c.json").write_text(json.dumps(clip))
    with pytest.raises(SkeletonError, match="non-finite"):
        read_kinetics_json(tmp_path / "c.json")


def test_label_files():
    labels = read_kinetics_labels(shared_file("kinetics_samples", "kinetics_val_label.json"))
    names = read_label_names(shared_file("kinetics_samples", "label_name.txt"))
    assert len(names) == 400 and names[labels["-0byZyStAYQ"]["label_index"]] == "tying tie"
