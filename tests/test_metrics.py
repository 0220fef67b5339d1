"""Metrics on a known confusion matrix, against hand arithmetic and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import classification_report

from effnet_lib.metrics import most_confused_classes, normalise, report, top_confusions

# rows: true class, columns: predicted
CM = np.array([[8, 1, 1],
               [2, 5, 3],
               [0, 0, 10]])
CLASSES = ["a", "b", "c"]


def arrays_from(cm):
    y_true, y_pred = [], []
    for i in range(len(cm)):
        for j in range(len(cm)):
            y_true += [i] * cm[i, j]
            y_pred += [j] * cm[i, j]
    return np.array(y_true), np.array(y_pred)


def test_per_class_against_hand_arithmetic_and_sklearn():
    y_true, y_pred = arrays_from(CM)
    rep = report(y_true, y_pred, CLASSES)
    assert (rep.confusion == CM).all()
    t = rep.per_class
    # class b: TP 5, FN 5, FP 1, TN 19
    assert t.loc["b", "precision"] == pytest.approx(5 / 6)
    assert t.loc["b", "recall"] == pytest.approx(0.5)
    assert t.loc["b", "specificity"] == pytest.approx(19 / 20)
    assert t.loc["c", "specificity"] == pytest.approx(16 / 20)
    assert t.loc["a", "support"] == 10
    sk = classification_report(y_true, y_pred, output_dict=True, target_names=CLASSES)
    for c in CLASSES:
        assert t.loc[c, "precision"] == pytest.approx(sk[c]["precision"])
        assert t.loc[c, "recall"] == pytest.approx(sk[c]["recall"])
        assert t.loc[c, "f1"] == pytest.approx(sk[c]["f1-score"])
    assert rep.summary["accuracy"] == pytest.approx(23 / 30)
    assert rep.summary["macro_f1"] == pytest.approx(sk["macro avg"]["f1-score"])
    assert rep.summary["weighted_recall"] == pytest.approx(sk["weighted avg"]["recall"])


def test_top_k_accuracy_needs_probabilities():
    y_true = np.array([0, 1, 2, 3, 4, 5, 6])
    probs = np.eye(7)[[1, 1, 2, 3, 4, 5, 6]] * 0.5 + 0.5 / 7
    rep = report(y_true, probs.argmax(1), list("abcdefg"), probs=probs, k=5)
    assert rep.summary["top5_accuracy"] == pytest.approx(6 / 7)  # sample 0: its class ties with 5 others behind class 1; sklearn does not count it


def test_normalise_and_confusions():
    by_true = normalise(CM, "true")
    assert np.allclose(by_true.sum(1), 1) and by_true[1, 2] == pytest.approx(0.3)
    assert np.allclose(normalise(CM, "pred").sum(0), 1)
    top = top_confusions(CM, CLASSES, 2)
    assert top.iloc[0][["true", "predicted", "count"]].tolist() == ["b", "c", 3]
    assert len(top_confusions(np.eye(3, dtype=int), CLASSES)) == 0
    assert list(most_confused_classes(CM, 2)) == [1, 2]
