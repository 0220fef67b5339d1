"""What a network costs and what it sees: the numbers behind the course's concepts.

- `conv_cost`: parameters and multiply-adds of one convolution, by formula, next to what torch's
  flop counter measures; `separable_vs_ordinary` compares a depthwise separable convolution with
  an ordinary one of the same shape.
- `flops_rule`: why FLOPs grow as d * w^2 * r^2, checked against measured multiply-adds.
- `receptive_fields`: each stage's feature-map size and receptive field, from the stage table.
- `latency`: measured time of a forward pass (and of a training step) with the parameters,
  multiply-adds and activation memory, for B0 against ResNet-50: fewer FLOPs is not faster.
- `stochastic_depth_rates`, `batchnorm_conventions`: the settings as the model holds them.
- `trace_shapes`, `se_weights`: a tensor's shape after every stage; one block's SE weights.

Everything is computed on the models the library builds; nothing here trains.
"""

from __future__ import annotations

import time
from functools import partial

import pandas as pd
import torch
from torch import nn

from .network import MBConv, SqueezeExcitation, scaled_stages, stage_table
from .scaling import measure
from .variants import efficientnet

__all__ = [
    "conv_cost",
    "separable_vs_ordinary",
    "flops_rule",
    "receptive_fields",
    "latency",
    "stochastic_depth_rates",
    "batchnorm_conventions",
    "stage_maps",
    "trace_shapes",
    "se_weights",
]


def conv_cost(cin: int, cout: int, kernel: int, size: int, stride: int = 1, groups: int = 1) -> dict:
    """One k x k convolution on a size x size map: parameters and multiply-adds, by formula
    (k*k*cin/groups*cout weights, each used once per output pixel) and measured."""
    out = -(-size // stride)
    params = kernel * kernel * cin // groups * cout
    conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False)
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        conv(torch.zeros(1, cin, size, size))
    return {
        "params": params,
        "macs_formula": params * out * out,
        "macs_measured": counter.get_total_flops() // 2,
        "output": f"{cout}x{out}x{out}",
    }


def separable_vs_ordinary(cin: int = 40, cout: int = 80, kernel: int = 3, size: int = 28) -> pd.DataFrame:
    """An ordinary k x k convolution against its depthwise separable replacement (k x k depthwise,
    then 1 x 1 pointwise), same input and output shape; the last row is the ratio."""
    ordinary = conv_cost(cin, cout, kernel, size)
    depthwise = conv_cost(cin, cin, kernel, size, groups=cin)
    pointwise = conv_cost(cin, cout, 1, size)
    separable = {k: depthwise[k] + pointwise[k] for k in ("params", "macs_formula", "macs_measured")}
    t = pd.DataFrame(
        {
            "ordinary": ordinary,
            "depthwise": depthwise,
            "pointwise": pointwise,
            "separable (sum)": {**separable, "output": pointwise["output"]},
        }
    ).T
    ratio = {k: ordinary[k] / separable[k] for k in ("params", "macs_formula", "macs_measured")}
    return pd.concat([t, pd.DataFrame({**ratio, "output": ""}, index=["ordinary / separable"])])


def flops_rule(
    width: float = 1.0,
    depth: float = 1.0,
    resolution: int = 224,
    steps=(
        (2.0, 1.0, 1.0),
        (1.0, 2.0, 1.0),
        (1.0, 1.0, 2.0),
        (1.2, 1.0, 1.0),
        (1.0, 1.1, 1.0),
        (1.0, 1.0, 1.15),
        (1.2, 1.1, 1.15),
    ),
) -> pd.DataFrame:
    """Each (depth, width, resolution) factor applied to a network: the rule's d * w^2 * r^2
    against the measured multiply-adds, relative to the unscaled network."""
    base = measure(efficientnet(width, depth), resolution).macs
    rows = []
    for d, w, r in steps:
        macs = measure(efficientnet(width * w, depth * d), round(resolution * r)).macs
        rows.append(
            {
                "depth x": d,
                "width x": w,
                "resolution x": r,
                "rule d*w^2*r^2": d * w * w * r * r,
                "measured": macs / base,
            }
        )
    return pd.DataFrame(rows)


def receptive_fields(width: float = 1.0, depth: float = 1.0, resolution: int = 224) -> pd.DataFrame:
    """For the stem and each stage: output map size, and the receptive field of one output pixel
    in input pixels (r <- r + (k - 1) * jump for every layer, jump <- jump * stride)."""
    rf, jump, size = 1, 1, resolution
    rows = []
    rf, jump, size = rf + 2 * jump, jump * 2, -(-size // 2)  # the stem: 3x3, stride 2
    rows.append({"stage": 1, "operator": "Conv3x3", "map": f"{size}x{size}", "receptive_field": rf})
    for i, s in enumerate(scaled_stages(width, depth), start=2):
        for layer in range(s.layers):
            stride = s.stride if layer == 0 else 1
            rf += (s.kernel - 1) * jump
            jump *= stride
            size = -(-size // stride)
        rows.append(
            {
                "stage": i,
                "operator": f"MBConv{s.expand_ratio} k{s.kernel}",
                "map": f"{size}x{size}",
                "receptive_field": rf,
            }
        )
    t = pd.DataFrame(rows)
    return t.assign(covers_input=t.receptive_field >= resolution)


def _activation_bytes(model: nn.Module, size: int) -> int:
    """Bytes of every module's output in one forward pass (what training keeps for backward)."""
    total = 0

    def hook(_, __, out):
        nonlocal total
        if isinstance(out, torch.Tensor):
            total += out.numel() * out.element_size()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, size, size))
    finally:
        for h in handles:
            h.remove()
    return total


def _infer(model, x):
    with torch.no_grad():
        model.eval()(x)


def _train_step(model, opt, x, y):
    model.train()
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def latency(batch: int = 16, size: int = 224, repeats: int = 5, threads: int | None = None) -> pd.DataFrame:
    """EfficientNet-B0 against ResNet-50 on this machine: parameters, multiply-adds, activation
    memory per image, and the median time of an inference batch and of a training step
    (channels_last, fp32). Both models are torchvision's architectures, built here, untrained."""
    import torchvision

    if threads:
        torch.set_num_threads(threads)
    rows = []
    for name, build in (
        ("EfficientNet-B0", torchvision.models.efficientnet_b0),
        ("ResNet-50", torchvision.models.resnet50),
    ):
        model = build().to(memory_format=torch.channels_last)
        cost = measure(model, size)
        x = torch.randn(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 1000, (batch,))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        times = {}
        for what, fn in (
            ("inference", partial(_infer, model, x)),
            ("training step", partial(_train_step, model, opt, x, y)),
        ):
            fn()  # warm-up
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - t0)
            times[what] = sorted(runs)[len(runs) // 2]
        rows.append(
            {
                "model": name,
                "params_M": cost.params / 1e6,
                "GMACs": cost.macs / 1e9,
                "activations_MB_per_image": _activation_bytes(model, size) / 2**20,
                "inference_img_per_s": batch / times["inference"],
                "train_img_per_s": batch / times["training step"],
            }
        )
    t = pd.DataFrame(rows).set_index("model")
    return t.assign(macs_per_s_G=t.GMACs * t.inference_img_per_s)


def stochastic_depth_rates(model: nn.Module) -> pd.DataFrame:
    """Each MBConv block's drop probability and whether it has a residual at all (only residual
    blocks can be dropped: a block that changes the shape has nothing to fall back on)."""
    rows = [
        {"block": i, "residual": m.use_residual, "drop_probability": m.sd_prob if m.use_residual else 0.0}
        for i, m in enumerate(x for x in model.modules() if isinstance(x, MBConv))
    ]
    return pd.DataFrame(rows)


def batchnorm_conventions() -> pd.DataFrame:
    """BatchNorm's running average in TensorFlow's and PyTorch's terms, and how many batches it
    takes until the running statistics have forgotten half of their start (0.5 weight left)."""
    import math

    rows = []
    for setting, tf_momentum in (
        ("paper (TensorFlow 0.99)", 0.99),
        ("PyTorch default / reference experiment 0.1", 0.9),
    ):
        torch_momentum = 1 - tf_momentum
        rows.append(
            {
                "setting": setting,
                "TensorFlow momentum": tf_momentum,
                "PyTorch momentum": round(torch_momentum, 4),
                "batches to half-forget": math.log(0.5) / math.log(tf_momentum),
            }
        )
    return pd.DataFrame(rows).set_index("setting")


def stage_maps(width: float, depth: float, resolutions=(224, 64, 48, 32)) -> pd.DataFrame:
    """The feature-map side of every stage at several input resolutions (Table 1's column)."""
    return pd.DataFrame(
        {f"{r} px": [row["resolution"] for row in stage_table(width, depth, r)] for r in resolutions},
        index=[f"stage {row['stage']}" for row in stage_table(width, depth)],
    )


def trace_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """The tensor shape after the stem, each stage, the head, pooling and the classifier."""
    out, rows = x, [("input", tuple(x.shape))]
    names = ["stem"] + [f"stage {i}" for i in range(2, 9)] + ["head conv"]
    with torch.no_grad():
        for name, layer in zip(names, model.features):
            out = layer(out)
            rows.append((name, tuple(out.shape)))
        out = torch.flatten(model.avgpool(out), 1)
        rows.append(("pool", tuple(out.shape)))
        rows.append(("classifier", tuple(model.classifier(out).shape)))
    return rows


def se_weights(model: nn.Module, x: torch.Tensor, stage: int, block: int = 0) -> torch.Tensor:
    """The squeeze-and-excitation channel weights of one block (stage 2..8 of Table 1) for input x."""
    se = next(m for m in model.features[stage - 1][block].block if isinstance(m, SqueezeExcitation))
    seen = {}
    hook = se.register_forward_hook(lambda m, inputs, out: seen.__setitem__("w", m.scale(inputs[0])))
    try:
        with torch.no_grad():
            model.features[:stage](x)
    finally:
        hook.remove()
    return seen["w"].flatten(1)
