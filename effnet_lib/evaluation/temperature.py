"""Temperature scaling (Guo et al., 2017): what to do about an over-confident model.

A network trained with cross-entropy is often over-confident: among the images it gives 90%, fewer
than 90% are right. Dividing its logits by one number T > 1 softens every prediction alike without
changing which class is on top, so accuracy stays exactly as it was. T is fitted on the
*validation* split (the negative log-likelihood is minimised over T) and judged on the *test*
split, where it played no part. The logits are recovered from the probabilities as their logs,
which differ from the logits by a constant per image, and a constant does not change a softmax.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from .diagnostics import calibration

__all__ = ["scale", "nll", "fit_temperature", "temperature_report"]

_TINY = 1e-12  # a probability of exactly 0 has no log


def scale(probs, temperature: float) -> np.ndarray:
    """The probabilities the logits divided by `temperature` give (T = 1: unchanged)."""
    logits = np.log(np.clip(np.asarray(probs, dtype=float), _TINY, None)) / temperature
    logits -= logits.max(1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(1, keepdims=True)


def nll(y_true, probs) -> float:
    """Mean negative log-likelihood of the true classes."""
    p = np.asarray(probs, dtype=float)[np.arange(len(y_true)), np.asarray(y_true)]
    return float(-np.log(np.clip(p, _TINY, None)).mean())


def fit_temperature(y_true, probs, bounds=(0.05, 20.0)) -> float:
    """The T that minimises the negative log-likelihood of `y_true` (searched on a log scale)."""
    found = minimize_scalar(
        lambda log_t: nll(y_true, scale(probs, float(np.exp(log_t)))),
        bounds=tuple(np.log(bounds)),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(np.exp(found.x))


def temperature_report(val, test, bins: int = 15) -> dict:
    """Fit T on `val` and judge it on `test` (anything with y_true and probs): T, and the test
    split's ECE and NLL before and after, with its accuracy (the same both times)."""
    t = fit_temperature(val.y_true, val.probs)
    after = scale(test.probs, t)  # one T keeps every image's ranking of the classes
    return {
        "temperature": t,
        "ece_before": calibration(test.y_true, test.probs, bins=bins)["ece"],
        "ece_after": calibration(test.y_true, after, bins=bins)["ece"],
        "nll_before": nll(test.y_true, test.probs),
        "nll_after": nll(test.y_true, after),
        "accuracy": float((np.asarray(test.probs).argmax(1) == np.asarray(test.y_true)).mean()),
        "probs_after": after,
    }
