"""skelgraph predict: raw recordings preprocessed as the training file was, classified by name."""
import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch_geometric.loader import DataLoader

import skelgraph
from skelgraph.cli import main
from skelgraph.data.dataset import SkeletonDataset
from skelgraph.data.pipeline import preprocess_to_h5
from skelgraph.data.readers.ntu import read_ntu_sequence
from skelgraph.data.recipe import RECIPE_FILE
from skelgraph.data.sequence import SkeletonError
from skelgraph.graph.layouts import NTU25, Layout
from skelgraph.train.common import RunDirError
from skelgraph.train.config import FinetuneConfig, PretrainConfig, load_config
from skelgraph.train.evaluate import predict as evaluate_predict
from skelgraph.train.finetune import finetune, load_finetuned
from skelgraph.train.predict import Predictor
from skelgraph.train.pretrain import pretrain
from tests.conftest import shared_file

NUM_FRAMES = 16


@pytest.fixture(scope="module")
def ntu_dir():
    return shared_file("ntu_samples")


@pytest.fixture(scope="module")
def ntu_h5(ntu_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ntu") / "ntu.h5"
    preprocess_to_h5("ntu", ntu_dir, out)
    return out


@pytest.fixture(scope="module")
def run(ntu_h5, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft") / "run"
    config = load_config(FinetuneConfig, None, init="none", epochs=1, batch_size=4, base_batch_size=4, lr=0.01,
                         warmup_epochs=0, num_frames=NUM_FRAMES, hidden_channels=8, enc_layers=1, strl_layers=1,
                         augment=False)
    finetune(config, ntu_h5, out, progress=False)
    return out


def _evaluate_probabilities(run_dir, h5):
    """What `skelgraph evaluate` computes per sample through the .h5: name -> softmax [K]."""
    model, state = load_finetuned(run_dir)
    dataset = SkeletonDataset(h5, num_frames=state["config"]["num_frames"])
    logits, _ = evaluate_predict(model, DataLoader(dataset, batch_size=8), torch.device("cpu"))
    return dict(zip(dataset.store.names, logits.double().softmax(1)))


def test_run_records_the_preprocessing(run):
    record = json.loads((run / RECIPE_FILE).read_text())
    assert record["kind"] == "ntu" and record["num_frames"] == NUM_FRAMES
    assert record["steps"]["center"] is True and record["steps"]["max_persons"] == 2
    assert json.loads(record["layout"])["name"] == "ntu25" and record["class_names"][0] == "drink water"


def test_predict_on_a_file_matches_evaluate_through_the_h5(run, ntu_h5, ntu_dir):
    expected = _evaluate_probabilities(run, ntu_h5)
    path = ntu_dir / "S001C001P001R001A005.skeleton"
    (pred,) = Predictor.from_run(run)(path)
    assert pred.name == "S001C001P001R001A005"
    np.testing.assert_allclose(pred.scores, expected[pred.name].numpy(), rtol=0, atol=1e-6)
    assert pred.classes[0] == Predictor.from_run(run).class_names[int(expected[pred.name].argmax())]


def test_predict_a_folder_gives_every_sample(run, ntu_h5, ntu_dir):
    expected = _evaluate_probabilities(run, ntu_h5)
    predictions = skelgraph.predict(run, ntu_dir)
    assert sorted(p.name for p in predictions) == sorted(expected)
    for p in predictions:
        np.testing.assert_allclose(p.scores, expected[p.name].numpy(), rtol=0, atol=1e-6)


def test_moved_run_still_predicts(run, ntu_h5, ntu_dir, tmp_path):
    path = ntu_dir / "S002C001P003R001A003.skeleton"
    before = Predictor.from_run(run)(path)[0].scores
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(run, moved)
    hidden = tmp_path / "gone.h5"
    shutil.move(ntu_h5, hidden)  # the training file is not needed either
    try:
        after = skelgraph.predict(moved, path)[0].scores
    finally:
        shutil.move(hidden, ntu_h5)
    np.testing.assert_array_equal(before, after)


def test_in_memory_array_matches_the_file(run, ntu_dir):
    path = ntu_dir / "S001C001P001R001A002.skeleton"
    predictor = Predictor.from_run(run)
    from_file = predictor(path)[0]
    keypoint = read_ntu_sequence(path).keypoint  # [M, T, V, C] as a sensor would give it
    from_array = skelgraph.predict(predictor, keypoint, top_k=3)
    np.testing.assert_allclose(from_array.scores, from_file.scores, rtol=0, atol=1e-6)
    assert len(from_array.classes) == 3 and from_array.classes == from_file.classes[:3]
    assert from_array.probabilities == sorted(from_array.probabilities, reverse=True)


def test_array_in_another_joint_order_is_mapped_by_name(run, ntu_dir):
    keypoint = read_ntu_sequence(ntu_dir / "S001C001P001R001A003.skeleton").keypoint
    order = np.arange(NTU25.num_joints)[::-1].copy()  # the same joints, stored back to front
    where = {old: new for new, old in enumerate(order)}
    reversed_layout = Layout("ntu25_reversed", tuple(NTU25.joints[i] for i in order),
                             tuple((where[a], where[b]) for a, b in NTU25.bones),
                             tuple((name, tuple(where[j] for j in ids)) for name, ids in NTU25.parts),
                             where[NTU25.center])
    predictor = Predictor.from_run(run)
    mapped = predictor(keypoint[:, :, order], layout=reversed_layout)
    np.testing.assert_allclose(mapped.scores, predictor(keypoint).scores, rtol=0, atol=1e-6)


def test_array_of_wrong_joint_count_is_a_clear_error(run):
    with pytest.raises(SkeletonError, match="17 joints, the model's layout 'ntu25' has 25"):
        Predictor.from_run(run)(np.ones((1, 10, 17, 3), np.float32))


def test_unmappable_rig_is_a_one_line_error(run, tmp_path):
    np.save(tmp_path / "clip.npy", np.random.default_rng(0).normal(size=(1, 20, 17, 3)).astype(np.float32))
    result = CliRunner().invoke(main, ["predict", str(run), str(tmp_path / "clip.npy"), "--kind", "numpy"])
    assert result.exit_code == 1, result.output
    assert "cannot be mapped onto the model's layout 'ntu25'" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_prints_classes_by_name_as_table_json_and_csv(run, ntu_dir):
    path = str(ntu_dir / "S001C001P001R001A001.skeleton")
    table = CliRunner().invoke(main, ["predict", str(run), path, "--top-k", "2"])
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split()[:3] == ["sample", "top-1", "prob"]
    as_json = json.loads(CliRunner().invoke(main, ["predict", str(run), path, "--json", "--top-k", "2"]).output)
    top = as_json[0]["top"]
    assert as_json[0]["name"] == "S001C001P001R001A001" and as_json[0]["label"] == "drink water"
    assert len(top) == 2 and top[0]["probability"] >= top[1]["probability"] and top[0]["class"] in table.output
    rows = CliRunner().invoke(main, ["predict", str(run), path, "--csv", "--top-k", "2"]).output.splitlines()
    assert rows[0] == "name,source,rank,class,probability,label" and len(rows) == 3


def test_pretraining_run_is_refused_with_a_pointer_to_embed(ntu_h5, tmp_path):
    config = load_config(PretrainConfig, None, epochs=1, batch_size=8, base_batch_size=8, num_frames=8,
                         hidden_channels=8, enc_layers=1)
    pretrain(config, ntu_h5, tmp_path / "pre", progress=False)
    with pytest.raises(RunDirError, match="skelgraph embed"):
        Predictor.from_run(tmp_path / "pre")


def test_first_frame_centring_and_scaling_are_replayed(ntu_dir, tmp_path):
    from skelgraph.data.pipeline import PreprocessOptions

    h5 = tmp_path / "scaled.h5"
    preprocess_to_h5("ntu", ntu_dir, h5, options=PreprocessOptions(center_per_frame=False, scale=True))
    config = load_config(FinetuneConfig, None, init="none", epochs=1, batch_size=4, base_batch_size=4, lr=0.01,
                         warmup_epochs=0, num_frames=NUM_FRAMES, hidden_channels=8, enc_layers=1, strl_layers=1,
                         augment=False)
    finetune(config, h5, tmp_path / "run", progress=False)
    assert json.loads((tmp_path / "run" / RECIPE_FILE).read_text())["steps"]["scale"] is True
    expected = _evaluate_probabilities(tmp_path / "run", h5)
    (pred,) = Predictor.from_run(tmp_path / "run")(ntu_dir / "S001C001P001R001A005.skeleton")
    np.testing.assert_allclose(pred.scores, expected[pred.name].numpy(), rtol=0, atol=1e-6)
