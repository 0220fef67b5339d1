"""The network and what it costs: the B0 stage table (paper Table 1) as data, MBConv, SE and the
network of any width and depth (`network`); B0-B7 by name, a network rebuilt from a checkpoint's
numbers and torchvision's weights (`variants`); the rounding rules, the compound coefficients and
measured parameters and MACs (`scaling`); receptive fields, shapes and latency (`anatomy`); the
published ImageNet numbers (`zoo`).

It knows nothing of files, data or training: everything here takes numbers and returns a network or
a table.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "network": [
            "BATCHNORM",
            "B0_STAGES",
            "VARIANTS",
            "Stage",
            "EfficientNet",
            "MBConv",
            "SqueezeExcitation",
            "stage_table",
        ],
        "variants": [
            "build_model",
            "count_parameters",
            "efficientnet",
            "efficientnet_b0",
            "efficientnet_b1",
            "efficientnet_b2",
            "efficientnet_b3",
            "efficientnet_b4",
            "efficientnet_b5",
            "efficientnet_b6",
            "efficientnet_b7",
            "load_pretrained",
        ],
        "scaling": [
            "compound_coefficients",
            "constraint",
            "count_blocks",
            "distance_from_2",
            "measure",
            "round_filters",
            "round_repeats",
            "variant_table",
        ],
        "anatomy": ["receptive_fields", "se_weights", "trace_shapes"],
        "zoo": ["paper_table", "torchvision_table"],
    },
    modules=("network", "scaling", "anatomy", "zoo"),
)
