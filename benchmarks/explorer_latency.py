"""How long each explorer interaction takes on a 400-class result (the BIRDS-400 scale).

Builds a synthetic evaluation result the size of the reference experiment's validation split
(400 classes, 11,535 images; real PNG files on disk so the gallery really loads images), drives
`ConfusionExplorer` from Python by setting `.value` as a user's click would, and prints the
median and worst time per interaction. The goal is under 1 s each.

    python benchmarks/explorer_latency.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from effnet_lib.explorer import ConfusionExplorer  # noqa: E402
from effnet_lib.io import provenance  # noqa: E402
from effnet_lib.predict import EvalResult  # noqa: E402


def birds_scale_result(folder: Path, n_classes=400, n_images=11_535, seed=0) -> EvalResult:
    rng = np.random.default_rng(seed)
    y_true = np.sort(rng.integers(0, n_classes, n_images))
    # About 85% right; errors go mostly to two "look-alike" classes, as with bird species.
    lookalike = rng.integers(0, n_classes, (n_classes, 2))
    wrong = rng.random(n_images) > 0.85
    y_pred = np.where(wrong, lookalike[y_true, rng.integers(0, 2, n_images)], y_true)
    logits = rng.normal(0, 1, (n_images, n_classes)).astype(np.float32)
    logits[np.arange(n_images), y_pred] += 6
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    tile = rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)
    paths = []
    for i in range(n_images):
        p = folder / f"{i:05d}.png"
        if wrong[i]:  # only confused images are ever shown
            Image.fromarray(np.roll(tile, i, axis=0)).save(p)
        paths.append(str(p))
    names = [f"SPECIES {k:03d}" for k in range(n_classes)]
    return EvalResult(names, paths, y_true, probs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = birds_scale_result(Path(tmp))
        start = time.perf_counter()
        ex = ConfusionExplorer(result)
        build = time.perf_counter() - start
        times: dict[str, list[float]] = {}
        rng = np.random.default_rng(1)
        for r in range(args.repeats):
            for name, action in [
                ("pick a class", lambda: setattr(ex.class_list, "value", result.classes[rng.integers(400)])),
                ("normalise by true class", lambda: setattr(ex.normalize, "value", "share of true class")),
                ("normalise: counts", lambda: setattr(ex.normalize, "value", "counts")),
                ("choose a confused pair", lambda: setattr(ex.pairs, "value", ex.pairs.options[-1][1])),
                ("type in search", lambda: setattr(ex.search, "value", f"{r}{r}")),
                ("clear search", lambda: setattr(ex.search, "value", "")),
                ("sort by recall", lambda: setattr(ex.sort, "value", "recall, worst first")),
                ("sort by F1", lambda: setattr(ex.sort, "value", "F1, worst first")),
            ]:
                t = time.perf_counter()
                action()
                times.setdefault(name, []).append(time.perf_counter() - t)
        report = {name: {"median_s": round(statistics.median(v), 3), "max_s": round(max(v), 3)}
                  for name, v in times.items()}
    print(f"400 classes, 11,535 images; explorer built in {build:.2f} s")
    for name, v in report.items():
        print(f"{name:>26}: median {v['median_s']:.3f} s, worst {v['max_s']:.3f} s")
    worst = max(v["max_s"] for v in report.values())
    print(f"worst interaction {worst:.3f} s ({'under' if worst < 1 else 'OVER'} the 1 s goal)")
    print(json.dumps({"command": "python benchmarks/explorer_latency.py", "build_s": round(build, 3),
                      "interactions": report, "provenance": provenance("cpu")}))


if __name__ == "__main__":
    main()
