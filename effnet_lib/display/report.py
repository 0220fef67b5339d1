"""A static, self-contained HTML report of one evaluation (and optionally its comparison with
another): what a course can publish and a practitioner can send, readable with no kernel.

``python -m effnet_lib report EVAL_DIR [--compare EVAL_DIR2] [--val DIR] [--train DIR] --out report.html``
writes one file with every figure and thumbnail embedded (base64): the summary, the per-class table, the
confusion matrix ordered by confusion clusters, the worst classes with their most confident
mistakes, the label-issue candidates and overlapping classes, calibration, the embedding map when
the evaluation saved features, and the per-class comparison with the images that flip.

Two more evaluations of the same network make it answer more: ``--train`` (an evaluation of the
training split, with features) puts each top label-issue candidate beside its nearest training
images of both classes; ``--val`` (of the validation split) fits temperature scaling there and
shows the test split's calibration before and after.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from PIL import Image

from ..data.images import load_image
from ..errors import InputError
from ..evaluation.diagnostics import (
    calibration,
    calibration_by_class,
    class_calibration,
    compare_results,
    confusion_clusters,
    label_issues,
    nearest_of_classes,
    overlapping_classes,
)
from ..evaluation.embedding import projection
from ..evaluation.error_analysis import ErrorAnalysis
from ..evaluation.results import EvalResult
from ..evaluation.temperature import temperature_report
from ..files import atomic_write_text
from .diagnostic_plots import EmbeddingMap, OrderedConfusion, ReliabilityDiagram

__all__ = ["build_report"]

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.thumbs{display:flex;flex-wrap:wrap;gap:6px}
figure{margin:0;font-size:11px;text-align:center;width:104px}img.fig{max-width:100%}h2{border-bottom:1px solid #ddd}"""


def _figure(display) -> str:
    buf = io.BytesIO()
    display.figure_.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(display.figure_)
    return f'<img class="fig" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _thumb(path: str, caption: str, size: int = 96) -> str:
    img = load_image(path, size)
    if img is None:
        return f"<figure>(unreadable)<figcaption>{html.escape(caption)}</figcaption></figure>"
    buf = io.BytesIO()
    Image.fromarray(img.permute(1, 2, 0).numpy()).save(buf, format="PNG")
    src = base64.b64encode(buf.getvalue()).decode()
    return (
        f'<figure><img src="data:image/png;base64,{src}" width="{size}"><figcaption>{html.escape(caption)}'
        f"</figcaption></figure>"
    )


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.round(digits).to_html(border=0, escape=True)


def _summary(result: EvalResult, cal: dict) -> str:
    s = result.report().summary
    rows = {
        "images": s["n"],
        "classes": s["classes"],
        "accuracy": s["accuracy"],
        "macro F1": s["macro_f1"],
        "weighted F1": s["weighted_f1"],
        **({"top-5 accuracy": s["top5_accuracy"]} if "top5_accuracy" in s else {}),
        "expected calibration error": cal["ece"],
    }
    return _table(pd.Series(rows, name="value").to_frame())


def _worst_classes(analysis: ErrorAnalysis, n: int, per_pair: int) -> str:
    parts = []
    for name in analysis.class_table("f1").index[:n]:
        confused = analysis.confused_with(name, 1)
        if confused.empty:
            continue
        other = confused["class"].iloc[0]
        mistakes = analysis.misclassified(name, other).head(per_pair)
        thumbs = "".join(_thumb(r.path, f"{r.predicted} {r.confidence:.0%}") for r in mistakes.itertuples())
        f1 = analysis.table.loc[name, "f1"]
        parts.append(
            f"<h3>{html.escape(name)} (F1 {f1:.2f}): taken for {html.escape(other)}</h3>"
            f'<div class="thumbs">{thumbs}</div>'
        )
    return "".join(parts)


def _label_issues(result: EvalResult, n: int, train: EvalResult | None, beside: int = 5) -> str:
    issues = label_issues(result.y_true, result.probs, result.paths, result.classes).head(n)
    thumbs = "".join(
        _thumb(r.path, f"labelled {r.given}, looks {r.suggested} ({r.p_suggested:.0%})") for r in issues.itertuples()
    )
    pairs = overlapping_classes(result.y_true, result.probs, result.classes)
    return (
        f"<p>The {n} images whose label the model finds least likely (lowest normalised margin): "
        f'check these labels first.</p><div class="thumbs">{thumbs}</div>'
        + _beside_neighbours(result, issues.head(beside), train)
        + f"<h3>Overlapping classes (candidates to merge)</h3>{_table(pairs)}"
    )


def _beside_neighbours(result: EvalResult, issues: pd.DataFrame, train: EvalResult | None) -> str:
    """Each candidate beside the training images nearest to it of its given and its suggested class."""
    if train is None or train.features is None or result.features is None:
        return (
            "<p>(Evaluate the training split too and pass it as <code>train</code> "
            "(<code>--train</code>) to see each "
            "candidate beside its nearest training images of both classes.)</p>"
        )
    rows = []
    for r in issues.itertuples():
        near = nearest_of_classes(result.features[r.index], train, [r.given, r.suggested], k=3)
        thumbs = [_thumb(r.path, f"candidate: labelled {r.given}")] + [
            _thumb(p, f"train: {name}") for name in (r.given, r.suggested) for p in near[name]
        ]
        rows.append(f'<div class="thumbs">{"".join(thumbs)}</div>')
    return "<h3>The first candidates beside their nearest training images (given class, then suggested)</h3>" + "".join(
        rows
    )


def _calibration(result: EvalResult, cal: dict, val: EvalResult | None, worst: int = 2) -> str:
    parts = [
        _figure(ReliabilityDiagram(cal).plot()),
        "<h3>Per-class expected calibration error (worst first)</h3>",
        "<p>Of the images predicted as each class. A perfectly calibrated model shows an ECE too on few "
        "images: <i>floor_p95</i> is the 95th percentile of its ECE there, and only an ECE above it "
        "(<i>beyond_floor</i>) is a sign of miscalibration.</p>",
        _table(calibration_by_class(result.y_true, result.probs, result.classes, n=15)),
    ]
    for name in cal["per_class_ece"].index[:worst]:
        mine = class_calibration(result.y_true, result.probs, result.classes, name)
        n = int(mine["table"]["count"].sum())
        parts.append(
            f"<h3>The images predicted as {html.escape(name)} ({n}; ECE {mine['ece']:.3f})</h3>"
            + _figure(ReliabilityDiagram(mine).plot(title=f"predicted as {name}"))
        )
    if val is None:
        parts.append(
            "<p>(Pass an evaluation of the validation split as <code>val</code> "
            "(<code>--val</code>) to fit temperature "
            "scaling there and see this split's calibration before and after.)</p>"
        )
        return "".join(parts)
    t = temperature_report(val, result)
    parts.append(
        f"<h3>Temperature scaling</h3><p>T = {t['temperature']:.2f}, fitted on {len(val.y_true)} validation "
        f"images (the logits divided by T before the softmax; accuracy stays {t['accuracy']:.3f}). On these "
        f"images: ECE {t['ece_before']:.3f} before, {t['ece_after']:.3f} after; NLL {t['nll_before']:.3f} "
        f"before, {t['nll_after']:.3f} after.</p>"
    )
    after = calibration(result.y_true, t["probs_after"], result.classes)
    parts.append(_figure(ReliabilityDiagram(after).plot(title=f"after temperature scaling (ECE {t['ece_after']:.3f})")))
    return "".join(parts)


def _comparison(a: EvalResult, b: EvalResult, per_kind: int) -> str:
    try:
        c = compare_results(a, b, tested=True)
    except ValueError as e:
        raise InputError(f"`compare`: {e}") from None
    parts = [
        f"<p>Accuracy {c['accuracy_a']:.3f} (this run) against {c['accuracy_b']:.3f} (the other): "
        f"{len(c['wrong_to_right'])} images become right, {len(c['right_to_wrong'])} become wrong.</p>"
        "<p>Per class: the images right in one run only, the exact McNemar test on them, its "
        "Benjamini-Hochberg q across classes (a class is called changed when q &le; 0.05) and a 95% "
        "bootstrap interval for the change in F1. Another training seed is not covered.</p>",
        _table(c["tested"]),
    ]
    for kind, title in (("wrong_to_right", "wrong here, right there"), ("right_to_wrong", "right here, wrong there")):
        rows = c[kind].head(per_kind)
        thumbs = "".join(_thumb(r.path, f"{r.true}: {r.pred_a} / {r.pred_b}") for r in rows.itertuples())
        parts.append(f'<h3>{title}</h3><div class="thumbs">{thumbs}</div>')
    return "".join(parts)


def build_report(
    eval_dir, out, compare=None, val=None, train=None, worst: int = 5, thumbnails: int = 8, issues: int = 20
) -> Path:
    """Write the report of the evaluation in `eval_dir` to `out`; optionally against `compare` (another
    evaluation of the same images), with `val` and `train` (the same network's evaluations of the
    validation and training splits) for temperature scaling and label-issue neighbours."""
    result = EvalResult.load(eval_dir)
    val, train = (None if d is None else EvalResult.load(d) for d in (val, train))
    analysis = ErrorAnalysis(result)
    cal = calibration(result.y_true, result.probs, result.classes)
    clusters = confusion_clusters(analysis.confusion, result.classes)
    sections = [
        ("Summary", _summary(result, cal)),
        ("Per class (worst F1 first)", _table(analysis.class_table("f1"))),
        (
            "Confusion matrix, ordered by confusion clusters",
            _figure(OrderedConfusion(analysis.confusion, result.classes).plot())
            + "<p>Groups of classes confused with each other: "
            + ("; ".join(html.escape(", ".join(g)) for g in clusters[:10]) or "none")
            + "</p>",
        ),
        ("The worst classes and their most confident mistakes", _worst_classes(analysis, worst, thumbnails)),
        ("Model error or label error?", _label_issues(result, issues, train)),
        ("Calibration", _calibration(result, cal, val)),
    ]
    if result.features is not None and len(result.features) >= 4:
        xy = projection(result.features, Path(eval_dir) if Path(eval_dir).is_dir() else None, "pca")
        sections.append(
            (
                "Embedding map (PCA of the pooled features)",
                _figure(EmbeddingMap(xy, result.y_true, result.y_pred, result.classes).plot()),
            )
        )
    if compare is not None:
        sections.append(
            (f"Against {html.escape(str(compare))}", _comparison(result, EvalResult.load(compare), thumbnails))
        )
    body = "".join(f"<h2>{title}</h2>{content}" for title, content in sections)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation report: {html.escape(str(eval_dir))}"
        f"</title><style>{STYLE}</style></head><body><h1>Evaluation report</h1>"
        f"<p>{html.escape(str(eval_dir))}: {len(result.paths)} images, {len(result.classes)} classes.</p>"
        f"{body}</body></html>"
    )
    return atomic_write_text(Path(out), page)
