"""Compound scaling rules and measured costs against the paper."""

import pytest

from effnet_lib import scaling
from effnet_lib.scaling import (
    compound_coefficients,
    constraint,
    distance_from_2,
    round_filters,
    round_repeats,
)

PAPER_MACS = {"B0": 0.39, "B1": 0.70, "B2": 1.0, "B3": 1.8, "B4": 4.2, "B5": 9.9, "B6": 19, "B7": 37}


@pytest.fixture(scope="module")
def table():
    return scaling.variant_table()


def test_macs_within_5_percent_of_paper_table_2(table):
    for row in table:
        assert row["macs"] / 1e9 == pytest.approx(PAPER_MACS[row["model"]], rel=0.05), row["model"]


def test_params_of_table(table):
    assert [r["params"] for r in table] == [5_288_548, 7_794_184, 9_109_994, 12_233_232,
                                            19_341_616, 30_389_784, 43_040_704, 66_347_960]
    assert [r["head"] for r in table] == [1280, 1280, 1408, 1536, 1792, 2048, 2304, 2560]


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
    assert doubled == pytest.approx(0.75 * 2 ** -0.07)
    assert doubled < 0.75
