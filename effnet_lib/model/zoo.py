"""Measured ImageNet numbers to set the live ones against: the paper's Table 2 and torchvision's
published weights, read offline from the weight enums' metadata (nothing is downloaded).

torchvision records for each set of weights its ImageNet-1K top-1 accuracy, its parameters, its
GFLOPS (multiply-adds, as the paper counts FLOPs) and the crop it was evaluated at. That is enough
to redraw the paper's Fig. 1 (accuracy against parameters) and Fig. 5 (accuracy against FLOPs)
from numbers someone measured, with EfficientNet beside the families it was compared with.
"""

from __future__ import annotations

import pandas as pd

from .scaling import PAPER_TABLE2

__all__ = ["FAMILIES", "torchvision_table", "paper_table", "TABLE3_SOURCE", "paper_table3"]

# Family name -> model-name prefix in torchvision (classification models only).
FAMILIES = {
    "EfficientNet": "efficientnet_b",
    "EfficientNetV2": "efficientnet_v2_",
    "ResNet": "resnet",
    "ResNeXt": "resnext",
    "Wide ResNet": "wide_resnet",
    "RegNet": "regnet_",
    "MobileNetV3": "mobilenet_v3_",
    "MobileNetV2": "mobilenet_v2",
    "ConvNeXt": "convnext_",
    "DenseNet": "densenet",
    "Inception": "inception_v3",
    "ShuffleNetV2": "shufflenet_v2_",
    "MNASNet": "mnasnet",
    "ViT": "vit_",
    "Swin": "swin_",
}


def _family(name: str) -> str | None:
    matches = [f for f, prefix in FAMILIES.items() if name.startswith(prefix)]
    return max(matches, key=lambda f: len(FAMILIES[f])) if matches else None


def torchvision_table(families=None, first_weights_only: bool = True, extra_data: bool = False) -> pd.DataFrame:
    """One row per torchvision ImageNet weights: family, model, weights, top-1 %, params (M),
    GFLOPS and crop size, from the installed torchvision's metadata. `first_weights_only` keeps
    each model's first published weights (torchvision's own training runs on ImageNet-1K, not
    always its paper's recipe). Weights pretrained on more data than ImageNet-1K (SWAG: 3.6
    billion Instagram images) are left out unless `extra_data`: they are not comparable."""
    import torchvision
    from torchvision.models import get_model_weights, list_models

    rows = []
    for name in list_models(module=torchvision.models):
        family = _family(name)
        if family is None or (families and family not in families):
            continue
        kept = 0
        for w in get_model_weights(name):
            metrics = w.meta.get("_metrics", {}).get("ImageNet-1K")
            if metrics is None or (first_weights_only and kept) or ("SWAG" in str(w) and not extra_data):
                continue
            kept += 1
            kw = getattr(w.transforms, "keywords", {})
            rows.append(
                {
                    "family": family,
                    "model": name,
                    "weights": str(w).split(".")[-1],
                    "top1": metrics["acc@1"],
                    "params_M": w.meta["num_params"] / 1e6,
                    "gflops": w.meta.get("_ops"),
                    "crop": kw.get("crop_size"),
                }
            )
    return pd.DataFrame(rows).sort_values(["family", "gflops"], kind="stable").reset_index(drop=True)


def paper_table() -> pd.DataFrame:
    """EfficientNet-B0..B7 as the paper's Table 2 reports them (ICML version)."""
    return pd.DataFrame(
        [{"model": m.upper(), "top1": a, "params_M": p, "gflops": f} for m, (a, p, f) in PAPER_TABLE2.items()]
    )


# The paper's Table 3, "Scaling Up MobileNets and ResNet": other networks scaled one dimension at a
# time and by compound scaling at about equal FLOPs, ImageNet top-1. Read from the text of arXiv
# 1905.11946v5 (11 Sep 2020); where a row prints its factors they are kept (only MobileNetV1's
# compound row does). MobileNetV1 has no depth row.
TABLE3_SOURCE = (
    "Tan & Le, EfficientNet, arXiv 1905.11946v5, Table 3, read from the paper's extracted text at "
    "github.com/sanghoonio/image-cnn-transformers (literature/md/tan2019efficientnet.md, commit 7d7c3f8)"
)
_TABLE3 = (  # network, scaled by, factor as printed, GFLOPs, top-1 %
    ("MobileNetV1", "baseline", "", 0.6, 70.6),
    ("MobileNetV1", "width", "w=2", 2.2, 74.2),
    ("MobileNetV1", "resolution", "r=2", 2.2, 72.7),
    ("MobileNetV1", "compound", "d=1.4, w=1.2, r=1.3", 2.3, 75.6),
    ("MobileNetV2", "baseline", "", 0.3, 72.0),
    ("MobileNetV2", "depth", "d=4", 1.2, 76.8),
    ("MobileNetV2", "width", "w=2", 1.1, 76.4),
    ("MobileNetV2", "resolution", "r=2", 1.2, 74.8),
    ("MobileNetV2", "compound", "", 1.3, 77.4),
    ("ResNet-50", "baseline", "", 4.1, 76.0),
    ("ResNet-50", "depth", "d=4", 16.2, 78.1),
    ("ResNet-50", "width", "w=2", 14.7, 77.7),
    ("ResNet-50", "resolution", "r=2", 16.4, 77.5),
    ("ResNet-50", "compound", "", 16.7, 78.8),
)


def paper_table3() -> pd.DataFrame:
    """Table 3 of the paper, one row per network and way of scaling, with the gain over its baseline
    in points and its FLOPs against the baseline's (`TABLE3_SOURCE` says where it was read)."""
    t = pd.DataFrame(_TABLE3, columns=["network", "scaled_by", "factor", "gflops", "top1"])
    base = t[t.scaled_by == "baseline"].set_index("network")
    return t.assign(flops_ratio=t.gflops / t.network.map(base.gflops), gain=t.top1 - t.network.map(base.top1))
