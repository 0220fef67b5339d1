"""EfficientNet Workbook: EfficientNet (Tan & Le, 2019) to read, train, scale and inspect.

The package is built in wings along the data path, each with a small public face (its `__init__`):

    data -> model -> training -> evaluation -> display
                                     \\-> study (experiments: many runs, the scaling and transfer studies)

`data` turns a folder of images into batches; `model` is the network and what it costs; `training`
is one run; `evaluation` is what the trained network gets right and wrong; `display` draws it;
`study` runs experiments. At the top sit the shells (the packages `cli` and `exercises`) and what every wing uses
(`errors`, `files`, `provenance`). ARCHITECTURE.md names every module and which wing may import
which. The network's names are also here, so `from effnet_lib import efficientnet_b0` works.
"""

from ._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "model.network": [
            "BATCHNORM",
            "VARIANTS",
            "EfficientNet",
            "MBConv",
            "SqueezeExcitation",
        ],
        "model.variants": [
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
    },
    modules=("data", "model", "training", "evaluation", "display", "study"),
)
__version__ = "0.1.0"
