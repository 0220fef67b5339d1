"""What an evaluation leaves on disk: predictions, per-class metrics, confusion matrices and
figures, and the reference experiment's batch test of five images of one class.

Computing is `predict` and `metrics`; drawing is `plots`; this module only writes their results
into a folder (atomically, file by file).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..evaluation.diagnostics import label_issues
from ..evaluation.metrics import Report
from ..evaluation.predict import Predictor
from ..evaluation.relabel import write_relabel_file
from ..evaluation.results import EvalResult
from ..files import atomic_write_text
from .plots import ConfusionHeatmap, PredictionGallery, TrainingCurves

__all__ = ["write_evaluation", "batch_test", "verdict"]


def verdict(rep: Report, what: str = "accuracy") -> str:
    """'accuracy 0.812', or, for a network that predicts one class for every image, says so: its
    accuracy is only that class's share of the images."""
    predicted = rep.confusion.sum(0)  # images predicted as each class
    only = rep.classes[int(predicted.argmax())] if predicted.sum() > 1 and (predicted > 0).sum() == 1 else None
    if only is None:
        return f"{what} {rep.summary['accuracy']:.3f}"
    return (
        f"{what} {rep.summary['accuracy']:.3f}, but the network predicts '{only}' for all {rep.summary['n']} "
        f"images: it does not tell the classes apart (give it more steps: a smaller `batch_size` or more `epochs`)"
    )


def batch_test(predictor: Predictor, paths, true_class: str, out_dir, topk: int = 3) -> pd.DataFrame:
    """The reference batch test: images of one class predicted in one batch, saved as CSV and PNG."""
    table, _ = predictor.predict(paths, topk=topk, batch_size=max(1, len(paths)))
    table.insert(1, "true", true_class)
    out = Path(out_dir)
    atomic_write_text(out / "batch_test.csv", table.to_csv(index=False))
    PredictionGallery.from_predictions(table).plot().save(out / "batch_test.png")
    plt.close("all")
    return table


def write_evaluation(result: EvalResult, out_dir, history=None, title="") -> Report:
    """Everything an evaluation leaves in a run folder: predictions, metrics, figures."""
    out = result.save(out_dir)
    rep = result.report()
    atomic_write_text(out / "per_class.csv", rep.per_class.to_csv(float_format="%.4f"))
    atomic_write_text(
        out / "summary.json",
        json.dumps({k: float(v) if isinstance(v, np.floating) else v for k, v in rep.summary.items()}, indent=2),
    )
    atomic_write_text(
        out / "confusion_matrix.csv", pd.DataFrame(rep.confusion, index=rep.classes, columns=rep.classes).to_csv()
    )
    # the labels to check first, ready to edit and feed to `python -m effnet_lib relabel`
    write_relabel_file(
        label_issues(result.y_true, result.probs, result.paths, result.classes), out / "label_issues.csv"
    )
    for norm, name in ((None, "confusion_matrix.png"), ("true", "confusion_matrix_normalised.png")):
        ConfusionHeatmap(rep.confusion, rep.classes, normalize=norm).plot(title=title or None).save(out / name)
        plt.close("all")
    if history:
        TrainingCurves(history).plot().save(out / "curves.png")
        plt.close("all")
    return rep
