"""EfficientNet Workbook: EfficientNet (Tan & Le, 2019) to read, train, scale and inspect.

The data path is: folder of images -> `data` / `loaders` -> `model` -> `train` -> `checkpoint`
-> `predict` -> `metrics` -> `plots` / `explorer`; ARCHITECTURE.md draws it with every module and
the rules of which may import which. Notebooks and the CLI only call these modules.
"""

from .model import (
    BATCHNORM,
    VARIANTS,
    EfficientNet,
    MBConv,
    SqueezeExcitation,
    build_model,
    count_parameters,
    efficientnet,
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
    efficientnet_b4,
    efficientnet_b5,
    efficientnet_b6,
    efficientnet_b7,
    load_pretrained,
)

__all__ = ["BATCHNORM", "VARIANTS", "EfficientNet", "MBConv", "SqueezeExcitation", "build_model", "count_parameters",
           "efficientnet", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
           "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7", "load_pretrained"]
__version__ = "0.1.0"
