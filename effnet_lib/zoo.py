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

__all__ = ["FAMILIES", "torchvision_table", "paper_table"]

# Family name -> model-name prefix in torchvision (classification models only).
FAMILIES = {
    "EfficientNet": "efficientnet_b", "EfficientNetV2": "efficientnet_v2_", "ResNet": "resnet",
    "ResNeXt": "resnext", "Wide ResNet": "wide_resnet", "RegNet": "regnet_", "MobileNetV3": "mobilenet_v3_",
    "MobileNetV2": "mobilenet_v2", "ConvNeXt": "convnext_", "DenseNet": "densenet", "Inception": "inception_v3",
    "ShuffleNetV2": "shufflenet_v2_", "MNASNet": "mnasnet", "ViT": "vit_", "Swin": "swin_",
}


def _family(name: str) -> str | None:
    matches = [f for f, prefix in FAMILIES.items() if name.startswith(prefix)]
    return max(matches, key=lambda f: len(FAMILIES[f])) if matches else None


def torchvision_table(families=None, first_weights_only: bool = True) -> pd.DataFrame:
    """One row per torchvision ImageNet weights: family, model, weights, top-1 %, params (M),
    GFLOPS and crop size, from the installed torchvision's metadata. `first_weights_only` keeps
    each model's original (V1) weights, trained with the recipe of its own paper."""
    import torchvision
    from torchvision.models import get_model_weights, list_models
    rows = []
    for name in list_models(module=torchvision.models):
        family = _family(name)
        if family is None or (families and family not in families):
            continue
        for i, w in enumerate(get_model_weights(name)):
            metrics = w.meta.get("_metrics", {}).get("ImageNet-1K")
            if metrics is None or (first_weights_only and i):
                continue
            kw = getattr(w.transforms, "keywords", {})
            rows.append({"family": family, "model": name, "weights": str(w).split(".")[-1],
                         "top1": metrics["acc@1"], "params_M": w.meta["num_params"] / 1e6,
                         "gflops": w.meta.get("_ops"), "crop": kw.get("crop_size")})
    return pd.DataFrame(rows).sort_values(["family", "gflops"], kind="stable").reset_index(drop=True)


def paper_table() -> pd.DataFrame:
    """EfficientNet-B0..B7 as the paper's Table 2 reports them (ICML version)."""
    return pd.DataFrame([{"model": m.upper(), "top1": a, "params_M": p, "gflops": f}
                         for m, (a, p, f) in PAPER_TABLE2.items()])
