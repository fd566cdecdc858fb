import math

import pytest
import torch

from skelgraph.train.evaluate import (
    classification_metrics, confusion_matrix, knn_scores, per_class_accuracy, plot_confusion, topk_accuracy,
)

# 4 samples, 3 classes; predictions 0, 2, 2, 1 for labels 0, 1, 2, 2.
SCORES = torch.tensor([[0.7, 0.2, 0.1],   # label 0: top-1 right
                       [0.1, 0.3, 0.6],   # label 1: second -> top-2 right
                       [0.2, 0.1, 0.7],   # label 2: right
                       [0.3, 0.5, 0.2]])  # label 2: last
LABELS = torch.tensor([0, 1, 2, 2])


def test_topk_accuracy_hand_computed():
    assert topk_accuracy(SCORES, LABELS, 1) == 0.5
    assert topk_accuracy(SCORES, LABELS, 2) == 0.75
    assert topk_accuracy(SCORES, LABELS, 5) == 1.0  # k capped at the 3 classes


def test_confusion_matrix_rows_are_true_classes():
    assert confusion_matrix(SCORES.argmax(1), LABELS, 3).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]


def test_per_class_accuracy_with_an_absent_class():
    acc = per_class_accuracy(confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 0]), 2))
    assert acc[0] == 0.5 and math.isnan(acc[1])


def test_classification_metrics_hand_computed():
    m = classification_metrics(SCORES, LABELS, 3, ["a", "b", "c"])
    assert m["top1"] == 50.0 and m["top5"] == 100.0 and m["num_samples"] == 4
    assert m["per_class"] == {"a": 100.0, "b": 0.0, "c": 50.0}
    assert m["mean_class_accuracy"] == 50.0
    assert m["confusion"] == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]


def test_knn_is_perfect_on_separable_features():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(4) * 10
    train_labels = torch.arange(4).repeat(10)
    train = centres[train_labels] + torch.randn(40, 4, generator=g)
    test_labels = torch.arange(4).repeat(3)
    test = centres[test_labels] + torch.randn(12, 4, generator=g)
    for weighted in (True, False):
        scores = knn_scores(train, train_labels, test, k=5, num_classes=4, weighted=weighted)
        assert torch.equal(scores.argmax(1), test_labels)


def test_knn_majority_counts_votes():
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.1, 1.0]])
    scores = knn_scores(train, torch.tensor([0, 1, 1]), torch.tensor([[1.0, 0.9]]), k=3, weighted=False)
    assert scores.argmax(1).item() == 1 and scores[0].round().tolist() == [1.0, 2.0]


def test_knn_k_larger_than_training_set():
    scores = knn_scores(torch.eye(2), torch.tensor([0, 1]), torch.eye(2), k=50)
    assert scores.argmax(1).tolist() == [0, 1]


def test_plot_confusion_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = plot_confusion([[1, 0], [1, 1]], ["a", "b"], tmp_path / "c.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
