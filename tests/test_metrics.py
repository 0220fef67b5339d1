"""Metrics on a known confusion matrix, against hand arithmetic and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import classification_report

from effnet_lib.evaluation.metrics import most_confused_classes, normalise, report, top_confusions

# rows: true class, columns: predicted
CM = np.array([[8, 1, 1], [2, 5, 3], [0, 0, 10]])
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
    # sample 0: its class ties with 5 others behind class 1;
    # sklearn does not count it
    assert rep.summary["top5_accuracy"] == pytest.approx(6 / 7)


def test_normalise_and_confusions():
    by_true = normalise(CM, "true")
    assert np.allclose(by_true.sum(1), 1) and by_true[1, 2] == pytest.approx(0.3)
    assert np.allclose(normalise(CM, "pred").sum(0), 1)
    top = top_confusions(CM, CLASSES, 2)
    assert top.iloc[0][["true", "predicted", "count"]].tolist() == ["b", "c", 3]
    assert len(top_confusions(np.eye(3, dtype=int), CLASSES)) == 0
    assert list(most_confused_classes(CM, 2)) == [1, 2]


# scikit-learn as the outside oracle, on random labels at the sizes the workbook meets (50 and 400
# classes), with classes absent from the truth and classes never predicted, so that every
# zero-division case occurs: no image of a class (recall, F1), no prediction of a class (precision).


def _random_labels(k, n, seed):
    """Half the images right; a fifth of the classes has no image, 30% is never predicted (some of
    them with images, some without)."""
    rng = np.random.default_rng(seed)
    present = rng.choice(k, size=int(0.8 * k), replace=False)
    y_true = rng.choice(present, size=n)
    allowed = rng.choice(k, size=int(0.7 * k), replace=False)
    guess = rng.choice(allowed, size=n)
    y_pred = np.where((rng.uniform(size=n) < 0.5) & np.isin(y_true, allowed), y_true, guess)
    return y_true, y_pred


@pytest.mark.parametrize("k, n", [(50, 2000), (400, 11_535)])
def test_per_class_and_averages_equal_sklearn_with_absent_and_unpredicted_classes(k, n):
    from sklearn.metrics import accuracy_score, multilabel_confusion_matrix, precision_recall_fscore_support

    y_true, y_pred = _random_labels(k, n, seed=k)
    labels = list(range(k))
    absent = sorted(set(labels) - set(y_true))
    never = sorted(set(labels) - set(y_pred))
    assert absent and never and set(absent) - set(never) and set(never) - set(absent)  # every case occurs
    rep = report(y_true, y_pred, [f"c{i}" for i in labels])
    t = rep.per_class
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    assert np.array_equal(t["precision"].to_numpy(), p)
    assert np.array_equal(t["recall"].to_numpy(), r)
    assert np.allclose(t["f1"].to_numpy(), f, rtol=0, atol=1e-15)  # 2tp/(2tp+fp+fn) against 2pr/(p+r)
    assert np.array_equal(t["support"].to_numpy(), s)
    tn, fp = (multilabel_confusion_matrix(y_true, y_pred, labels=labels)[:, a, b] for a, b in ((0, 0), (0, 1)))
    assert np.array_equal(t["specificity"].to_numpy(), tn / (tn + fp))  # never 0 / 0 here: many images
    assert rep.summary["accuracy"] == accuracy_score(y_true, y_pred)
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)
        assert rep.summary[f"{average}_precision"] == pytest.approx(p, rel=1e-12)
        assert rep.summary[f"{average}_recall"] == pytest.approx(r, rel=1e-12)
        assert rep.summary[f"{average}_f1"] == pytest.approx(f, rel=1e-12)


def test_macro_recall_is_not_balanced_accuracy_when_classes_are_absent():
    from sklearn.metrics import balanced_accuracy_score

    y_true, y_pred = _random_labels(50, 2000, seed=1)
    rep = report(y_true, y_pred, [f"c{i}" for i in range(50)])
    present = np.unique(y_true)
    with pytest.warns(UserWarning, match="not in y_true"):
        balanced = balanced_accuracy_score(y_true, y_pred)  # averages only the classes that have images
    assert rep.summary["macro_recall"] == pytest.approx(balanced * len(present) / 50, rel=1e-12)
    assert rep.summary["macro_recall"] < balanced


def test_zero_division_cases_against_sklearn():
    from sklearn.metrics import precision_recall_fscore_support

    # class 0: images, never predicted; class 1: predicted, no image; class 2: neither; class 3: right
    y_true, y_pred = np.array([0, 0, 3]), np.array([1, 1, 3])
    t = report(y_true, y_pred, list("abcd")).per_class
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2, 3], zero_division=0)
    assert t["precision"].tolist() == p.tolist() == [0, 0, 0, 1]
    assert t["recall"].tolist() == r.tolist() == [0, 0, 0, 1]
    assert t["f1"].tolist() == f.tolist() == [0, 0, 0, 1]
    assert t["specificity"].tolist() == [1, 1 / 3, 1, 1]
    empty = report(np.array([], dtype=int), np.array([], dtype=int), list("ab"))
    assert empty.summary["accuracy"] == 0 and (empty.per_class[["precision", "recall", "f1"]] == 0).all().all()


@pytest.mark.parametrize("k, decimals", [(50, 1), (400, 2)])
def test_top_k_accuracy_with_ties_equals_sklearn(k, decimals):
    from sklearn.metrics import top_k_accuracy_score

    rng = np.random.default_rng(k)
    y_true, _ = _random_labels(k, 3000, seed=k + 1)
    probs = rng.dirichlet(np.full(k, 0.3), size=3000).round(decimals)  # rounding makes many ties
    ties = [(np.sort(row)[::-1][4] == np.sort(row)[::-1][5]) for row in probs]
    assert np.mean(ties) > 0.1  # the 5th and 6th scores tie often: the tie rule decides
    for top in (1, 5, 10):
        ours = report(y_true, probs.argmax(1), [f"c{i}" for i in range(k)], probs=probs, k=top).summary
        key = f"top{top}_accuracy"
        assert ours[key] == top_k_accuracy_score(y_true, probs, k=top, labels=list(range(k))), top
