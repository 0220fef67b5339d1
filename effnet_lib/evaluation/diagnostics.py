"""Beyond the confusion matrix: label errors, overlapping classes, calibration, two runs compared,
and an ordering that keeps a 400-class confusion matrix readable. Pure functions on plain arrays
(labels, predicted probabilities), so they serve the explorer, the static report and a script alike.

- **Model error or label error?** Confident learning (Northcutt et al., 2021): an image whose
  given label gets a low probability while another class gets a high one is more likely
  mislabelled than misclassified. `label_issues` ranks images by the normalised margin
  p(given) - max p(other) (lowest first, self-confidence p(given) as the tie-break);
  `overlapping_classes` counts, from the confident joint, the images of class i that the model
  confidently puts in class j, and ranks class pairs by how much they overlap.
- **Calibration**: `calibration` bins predictions by confidence (reliability diagram) and gives the
  expected calibration error, overall and per class, and the confidences of right and wrong
  predictions.
- **Ordering**: `cluster_order` orders classes by hierarchical clustering of the symmetrised
  confusion, so classes confused with each other sit next to each other; `confusion_clusters`
  cuts that tree into groups, each of which opens as its own sub-matrix.
- **Run against run**: `compare_runs` gives the per-class change in precision, recall and F1 and
  the images that flip from right to wrong and from wrong to right; `compare_results` pairs two
  evaluations by image path and by class name first (two runs may know different classes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform

from ..errors import InputError
from .changes import class_changes
from .metrics import per_class_table

__all__ = [
    "paired",
    "label_issues",
    "nearest_of_classes",
    "class_calibration",
    "ece_floor",
    "calibration_by_class",
    "overlapping_classes",
    "calibration",
    "cluster_order",
    "confusion_clusters",
    "off_diagonal",
    "compare_runs",
    "compare_results",
]


def label_issues(y_true, probs, paths=None, classes=None) -> pd.DataFrame:
    """Every image ranked by how likely its label is wrong: lowest normalised margin first."""
    y_true, probs = np.asarray(y_true), np.asarray(probs, dtype=float)
    n = len(y_true)
    given = probs[np.arange(n), y_true]
    others = probs.copy()
    others[np.arange(n), y_true] = -np.inf
    suggested = others.argmax(1)
    margin = given - others[np.arange(n), suggested]
    order = np.lexsort((given, margin))
    t = pd.DataFrame(
        {
            "index": order,
            "path": [paths[i] for i in order] if paths is not None else order,
            "given": y_true[order],
            "suggested": suggested[order],
            "p_given": given[order],
            "p_suggested": probs[order, suggested[order]],
            "margin": margin[order],
        }
    )
    if classes is not None:
        t["given"] = [classes[i] for i in t["given"]]
        t["suggested"] = [classes[i] for i in t["suggested"]]
    return t.reset_index(drop=True).rename_axis("rank")


def nearest_of_classes(features, train, classes, k: int = 4, distances: bool = False) -> dict[str, list]:
    """For one image's pooled features: the paths of the `k` training images nearest to it (cosine
    distance) within each of `classes`, so a suspected label can be judged against both classes;
    with `distances`, (path, distance) pairs. In the network's own features the class it believes
    is near by construction: the distances say why it believes it, the eye decides the label."""
    from .embedding import nearest

    out = {}
    for name in classes:
        rows = np.flatnonzero(np.asarray(train.y_true) == list(train.classes).index(name))
        idx, dist = nearest(features, np.asarray(train.features)[rows], k) if len(rows) else ([[]], [[]])
        found = [(train.paths[rows[i]], float(d)) for i, d in zip(idx[0], dist[0])]
        out[name] = found if distances else [p for p, _ in found]
    return out


def confident_joint(y_true, probs) -> np.ndarray:
    """C[i, j]: images labelled i whose probability for j reaches class j's own threshold (the
    mean p(j) over the images labelled j), counted under the most probable such j."""
    y_true, probs = np.asarray(y_true), np.asarray(probs, dtype=float)
    k = probs.shape[1]
    thresholds = np.array([probs[y_true == j, j].mean() if (y_true == j).any() else np.inf for j in range(k)])
    above = probs >= thresholds
    masked = np.where(above, probs, -np.inf)
    best = masked.argmax(1)
    confident = above.any(1)
    joint = np.zeros((k, k), dtype=int)
    np.add.at(joint, (y_true[confident], best[confident]), 1)
    return joint


def overlapping_classes(y_true, probs, classes, n: int = 10) -> pd.DataFrame:
    """Class pairs the model confidently mixes in both directions, most first: candidates to
    merge (or to relabel). `share` is the pair's confident off-diagonal count over all images."""
    joint = confident_joint(y_true, probs)
    sym = joint + joint.T
    np.fill_diagonal(sym, 0)
    i, j = np.triu_indices(len(classes), 1)
    order = np.argsort(-sym[i, j], kind="stable")[:n]
    rows = [
        {
            "class_a": classes[i[o]],
            "class_b": classes[j[o]],
            "a_as_b": int(joint[i[o], j[o]]),
            "b_as_a": int(joint[j[o], i[o]]),
            "share": sym[i[o], j[o]] / max(len(y_true), 1),
        }
        for o in order
        if sym[i[o], j[o]] > 0
    ]
    return pd.DataFrame(rows, columns=["class_a", "class_b", "a_as_b", "b_as_a", "share"])


def calibration(y_true, probs, classes=None, bins: int = 15) -> dict:
    """Reliability table (confidence bins: mean confidence, accuracy, count), expected calibration
    error (the count-weighted gap), per-class ECE, and the confidences of right and wrong answers."""
    y_true, probs = np.asarray(y_true), np.asarray(probs, dtype=float)
    confidence, predicted = probs.max(1), probs.argmax(1)
    right = predicted == y_true
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table = (
        pd.DataFrame({"bin": which, "confidence": confidence, "right": right})
        .groupby("bin")
        .agg(confidence=("confidence", "mean"), accuracy=("right", "mean"), count=("right", "size"))
    )
    table = table.reindex(range(bins)).assign(low=edges[:-1], high=edges[1:])
    ece = float(np.nansum(table["count"] * (table.accuracy - table.confidence).abs()) / max(len(y_true), 1))
    per_class = {}
    for c in range(probs.shape[1]):
        mine = predicted == c
        if mine.any():
            per_class[classes[c] if classes else c] = _ece(confidence[mine], right[mine], edges)
    return {
        "table": table,
        "ece": ece,
        "per_class_ece": pd.Series(per_class, name="ece").sort_values(ascending=False),
        "right_confidence": confidence[right],
        "wrong_confidence": confidence[~right],
    }


def class_calibration(y_true, probs, classes, name, bins: int = 15) -> dict:
    """`calibration` of the images predicted as class `name` alone: its reliability table and ECE
    (the ECE is that class's entry of `per_class_ece`)."""
    probs = np.asarray(probs, dtype=float)
    mine = probs.argmax(1) == list(classes).index(name)
    out = calibration(np.asarray(y_true)[mine], probs[mine], bins=bins)
    out["per_class_ece"] = out["per_class_ece"].iloc[0:0]  # one class: the per-class table says nothing more
    return out


def ece_floor(confidence, bins: int = 15, n_sim: int = 500, seed: int = 0) -> dict:
    """The ECE a perfectly calibrated model would show with these confidences: each image right
    with probability equal to its confidence, simulated `n_sim` times. ECE is biased upwards on few
    images (each bin's gap is an absolute value), so an ECE is only a sign of miscalibration where it
    clears this floor: its mean and 95th percentile."""
    confidence = np.asarray(confidence, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    rng = np.random.default_rng(seed)
    sims = [_ece(confidence, rng.random(len(confidence)) < confidence, edges) for _ in range(n_sim)]
    return {"mean": float(np.mean(sims)), "p95": float(np.quantile(sims, 0.95))}


def calibration_by_class(y_true, probs, classes, n: int = 5, bins: int = 15) -> pd.DataFrame:
    """The `n` classes with the largest ECE (of the images predicted as each), with how many images
    that is and the ECE a calibrated model would show on them (`ece_floor`): `beyond_floor` where
    the ECE clears the floor's 95th percentile."""
    probs = np.asarray(probs, dtype=float)
    cal = calibration(y_true, probs, classes, bins)
    rows = []
    for name, ece in cal["per_class_ece"].head(n).items():
        mine = probs.argmax(1) == list(classes).index(name)
        floor = ece_floor(probs[mine].max(1), bins)
        rows.append(
            {
                "class": name,
                "images": int(mine.sum()),
                "ece": ece,
                "floor_mean": floor["mean"],
                "floor_p95": floor["p95"],
                "beyond_floor": ece > floor["p95"],
            }
        )
    return pd.DataFrame(rows).set_index("class")


def _ece(confidence, right, edges) -> float:
    # A bin's |mean right - mean confidence| x its count is |its rights - its confidences|: sums per
    # bin, no loop (the ECE floor computes this hundreds of times per class).
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, len(edges) - 2)
    rights = np.bincount(which, np.asarray(right, dtype=float), minlength=len(edges) - 1)
    confidences = np.bincount(which, confidence, minlength=len(edges) - 1)
    return float(np.abs(rights - confidences).sum() / len(confidence))


def _distance(confusion) -> np.ndarray:
    """1 - the symmetrised confusion share: classes mixed up with each other are close."""
    cm = np.asarray(confusion, dtype=float)
    support = cm.sum(1, keepdims=True)
    share = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
    sym = (share + share.T) / 2
    np.fill_diagonal(sym, 0)
    dist = 1 - sym / max(sym.max(), 1e-12)
    np.fill_diagonal(dist, 0)
    return dist


def cluster_order(confusion) -> np.ndarray:
    """Class indices ordered so that classes confused with each other are adjacent (average-linkage
    clustering of the symmetrised confusion, leaves in optimal order)."""
    if len(confusion) < 3:
        return np.arange(len(confusion))
    tree = linkage(squareform(_distance(confusion), checks=False), method="average", optimal_ordering=True)
    return leaves_list(tree)


def confusion_clusters(confusion, classes, max_distance: float = 0.95) -> list[list[str]]:
    """Groups of classes confused with each other (the clustering cut at `max_distance`), largest
    first; singletons (classes confused with nobody in particular) are left out."""
    if len(confusion) < 3:
        return []
    tree = linkage(squareform(_distance(confusion), checks=False), method="average")
    labels = fcluster(tree, t=max_distance, criterion="distance")
    groups = [[classes[i] for i in np.flatnonzero(labels == k)] for k in np.unique(labels)]
    return sorted((g for g in groups if len(g) > 1), key=len, reverse=True)


def off_diagonal(confusion) -> np.ndarray:
    """The confusion matrix with its diagonal masked (NaN): the errors alone, for a log colour scale."""
    cm = np.asarray(confusion, dtype=float).copy()
    np.fill_diagonal(cm, np.nan)
    return cm


def compare_runs(y_true, pred_a, pred_b, classes, paths=None) -> dict:
    """Run b against run a on the same images: per-class change in precision, recall and F1 (b - a,
    sorted by the change in F1) and the images that flip right -> wrong and wrong -> right."""
    y_true, pred_a, pred_b = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
    a, b = per_class_table(y_true, pred_a, classes), per_class_table(y_true, pred_b, classes)
    delta = (b[["precision", "recall", "f1"]] - a[["precision", "recall", "f1"]]).add_prefix("delta_")
    table = pd.concat(
        [a[["f1"]].rename(columns={"f1": "f1_a"}), b[["f1"]].rename(columns={"f1": "f1_b"}), delta, a[["support"]]],
        axis=1,
    ).sort_values("delta_f1", kind="stable")
    paths = np.asarray(paths if paths is not None else np.arange(len(y_true)), dtype=object)

    def flips(mask):
        return pd.DataFrame(
            {
                "path": paths[mask],
                "true": [classes[i] for i in y_true[mask]],
                "pred_a": [classes[i] for i in pred_a[mask]],
                "pred_b": [classes[i] for i in pred_b[mask]],
            }
        )

    right_a, right_b = pred_a == y_true, pred_b == y_true
    return {
        "per_class": table,
        "right_to_wrong": flips(right_a & ~right_b),
        "wrong_to_right": flips(~right_a & right_b),
        "accuracy_a": float(right_a.mean()),
        "accuracy_b": float(right_b.mean()),
    }


def paired(a, b) -> tuple:
    """Two evaluations (anything with `paths`, `classes`, `y_true`, `y_pred`) as arrays on one
    class list: (y_true, pred_a, pred_b, classes, paths), in a's image order. Images are paired by
    path and classes by name, so neither the order of the rows nor the order or set of the classes
    has to agree (the classes are a's, then those only b knows); the same image labelled
    differently by the two evaluations, or images only one holds, are refused."""
    where = {p: i for i, p in enumerate(b.paths)}
    missing = [p for p in a.paths if p not in where]
    if missing or len(a.paths) != len(b.paths):
        first = missing[0] if missing else next(p for p in b.paths if p not in set(a.paths))
        raise InputError(
            f"the two evaluations hold different images ({len(a.paths)} and {len(b.paths)}; first "
            f"not in both: {first}); evaluate both on the same data"
        )
    rows = np.array([where[p] for p in a.paths], dtype=np.int64)
    in_a = set(a.classes)
    classes = list(a.classes) + [c for c in b.classes if c not in in_a]
    to_union = np.array([classes.index(c) for c in b.classes], dtype=np.int64)
    true_b = to_union[np.asarray(b.y_true)[rows]]
    differ = np.flatnonzero(true_b != np.asarray(a.y_true))
    if len(differ):
        i = differ[0]
        raise InputError(
            f"the two evaluations label {len(differ)} image(s) differently (first: {a.paths[i]} is "
            f"{classes[a.y_true[i]]!r} in one, {classes[true_b[i]]!r} in the other); compare "
            f"evaluations of the same labelled images"
        )
    return np.asarray(a.y_true), np.asarray(a.y_pred), to_union[np.asarray(b.y_pred)[rows]], classes, list(a.paths)


def compare_results(a, b, tested: bool = False, n_boot: int = 1000) -> dict:
    """`compare_runs` for two evaluations paired by image path and class name (`paired`). A class
    only one run knows is kept and marked in the column `known_to` ("both", "a only", "b only").
    `tested` adds "tested": each class's change with McNemar's test, Benjamini-Hochberg's q and a
    bootstrap interval for the change in F1 (`class_changes`)."""
    arrays = paired(a, b)
    out = compare_runs(*arrays)
    if tested:
        out["tested"] = class_changes(*arrays[:4], n_boot=n_boot)
    in_a, in_b = set(a.classes), set(b.classes)
    for table in (out["per_class"], out.get("tested")):
        if table is not None:
            table["known_to"] = [
                "both" if c in in_a and c in in_b else "a only" if c in in_a else "b only" for c in table.index
            ]
    return out
