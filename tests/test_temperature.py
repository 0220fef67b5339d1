"""Temperature scaling: it finds the temperature that made a calibrated model over-confident,
minimises the validation NLL, lowers the test ECE and never changes a prediction."""

import numpy as np
import pytest

from effnet_lib.evaluation.diagnostics import calibration
from effnet_lib.evaluation.results import EvalResult
from effnet_lib.evaluation.temperature import fit_temperature, nll, scale, temperature_report


def _split(seed, n=4000, k=10, sharpen=3.0):
    """Labels drawn from a calibrated model's own probabilities; the model reported as
    over-confident by multiplying its logits by `sharpen`."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, k))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p])
    shown = np.exp(logits * sharpen) / np.exp(logits * sharpen).sum(1, keepdims=True)
    return EvalResult([str(c) for c in range(k)], [f"{seed}-{i}" for i in range(n)], y, shown)


def test_the_sharpening_is_found_and_undone():
    val, test = _split(0), _split(1)
    t = fit_temperature(val.y_true, val.probs)
    assert t == pytest.approx(3.0, rel=0.1)
    for other in (t * 0.95, t * 1.05):  # a minimum of the validation NLL
        assert nll(val.y_true, scale(val.probs, other)) > nll(val.y_true, scale(val.probs, t))
    r = temperature_report(val, test)
    assert r["ece_after"] < r["ece_before"] / 3 and r["nll_after"] < r["nll_before"]
    assert (r["probs_after"].argmax(1) == test.probs.argmax(1)).all()
    assert r["accuracy"] == pytest.approx((test.probs.argmax(1) == test.y_true).mean())
    assert r["ece_before"] == calibration(test.y_true, test.probs)["ece"]


def test_a_calibrated_model_keeps_a_temperature_near_one():
    val = _split(2, sharpen=1.0)
    assert fit_temperature(val.y_true, val.probs) == pytest.approx(1.0, abs=0.1)
    assert np.allclose(scale(val.probs, 1.0), val.probs)
    assert np.allclose(scale(val.probs, 2.0).sum(1), 1.0)
