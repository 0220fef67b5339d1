"""Compound scaling rules and measured costs against the paper."""

import pytest

from effnet_lib.model import scaling
from effnet_lib.model.scaling import (
    compound_coefficients,
    constraint,
    distance_from_2,
    round_filters,
    round_repeats,
)
from effnet_lib.model.variants import build_model

PAPER_MACS = {"B0": 0.39, "B1": 0.70, "B2": 1.0, "B3": 1.8, "B4": 4.2, "B5": 9.9, "B6": 19, "B7": 37}


@pytest.fixture(scope="module")
def table():
    return scaling.variant_table()


def test_macs_within_5_percent_of_paper_table_2(table):
    for row in table:
        assert row["macs"] / 1e9 == pytest.approx(PAPER_MACS[row["model"]], rel=0.05), row["model"]


def test_params_of_table(table):
    assert [r["params"] for r in table] == [
        5_288_548,
        7_794_184,
        9_109_994,
        12_233_232,
        19_341_616,
        30_389_784,
        43_040_704,
        66_347_960,
    ]
    assert [r["head"] for r in table] == [1280, 1280, 1408, 1536, 1792, 2048, 2304, 2560]


# tensorflow/tpu, models/official/efficientnet/efficientnet_builder.py, `efficientnet_params`:
# (width_coefficient, depth_coefficient, resolution, dropout_rate), copied from the official code.
OFFICIAL_CODE = {
    "efficientnet-b0": (1.0, 1.0, 224, 0.2),
    "efficientnet-b1": (1.0, 1.1, 240, 0.2),
    "efficientnet-b2": (1.1, 1.2, 260, 0.3),
    "efficientnet-b3": (1.2, 1.4, 300, 0.3),
    "efficientnet-b4": (1.4, 1.8, 380, 0.4),
    "efficientnet-b5": (1.6, 2.2, 456, 0.4),
    "efficientnet-b6": (1.8, 2.6, 528, 0.5),
    "efficientnet-b7": (2.0, 3.1, 600, 0.5),
}


def test_variants_are_the_official_codes_efficientnet_params(table):
    assert {f"efficientnet-{k}": v for k, v in scaling.OFFICIAL.items()} == OFFICIAL_CODE
    for row in table:
        assert (row["width"], row["depth"], row["resolution"], row["dropout"]) == OFFICIAL_CODE[
            f"efficientnet-{row['model'].lower()}"
        ]
    for name, (*_, dropout) in OFFICIAL_CODE.items():
        assert build_model(name.split("-")[1]).classifier[0].p == dropout  # the network uses it


def test_macs_on_the_meta_device_equal_torchvisions_published_gflops_at_its_crops():
    """torchvision publishes GFLOPS to three decimals for each weights at the crop it evaluates
    (B2: 1.088 at 288 px); ours, counted on the meta device, round to the same figure, which is
    tighter than the paper's rounded Table 2."""
    import torch
    from torchvision.models import get_model_weights

    checked = 0
    for name in scaling.OFFICIAL:
        with torch.device("meta"):
            model = build_model(name)
        for weights in get_model_weights(f"efficientnet_{name}"):
            crop = weights.transforms.keywords["crop_size"]
            cost = scaling.measure(model, crop)
            assert round(cost.macs / 1e9, 3) == weights.meta["_ops"], (name, crop, cost.macs)
            assert cost.params == weights.meta["num_params"]
            checked += 1
    assert checked == 9  # B0-B7, and B1's second weights


def test_rounding_rules():
    assert round_filters(32, 1.1) == 32  # 35.2 -> 32 (within 10%)
    assert round_filters(40, 1.1) == 48  # 44 -> 48
    assert round_filters(16, 0.25) == 8  # never below the divisor
    assert round_filters(112, 1.4) == 160
    assert round_repeats(3, 1.1) == 4 and round_repeats(4, 3.1) == 13 and round_repeats(1, 0.34) == 1


def test_compound_coefficients_and_constraint():
    c = compound_coefficients(1)
    assert (c.depth, c.width, c.resolution) == (1.2, 1.1, 1.15)
    assert c.image_size() == 258
    assert compound_coefficients(7).depth == pytest.approx(3.583, abs=1e-3)
    assert constraint() == pytest.approx(1.9203, abs=1e-4)
    assert distance_from_2() == pytest.approx(0.0398, abs=1e-4)
    assert distance_from_2(2, 1, 1) == 0


def test_measure_counts_a_known_convolution():
    import torch

    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    cost = scaling.measure(conv, 10)
    assert cost.macs == 3 * 8 * 9 * 10 * 10 and cost.params == 3 * 8 * 9


def test_mnas_objective_trades_accuracy_for_flops():
    assert scaling.mnas_objective(0.75, 400e6, 400e6) == 0.75
    doubled = scaling.mnas_objective(0.75, 800e6, 400e6)
    assert doubled == pytest.approx(0.75 * 2**-0.07)
    assert doubled < 0.75
