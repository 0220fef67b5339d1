"""Every GPU measurement and check in one short run (a few minutes on one H100/H200).

1. Model step, B0 at 224 px, batch 256: torchvision eager fp32 NCHW (the baseline) against this
   library's model with AMP (bf16) + channels_last, and with torch.compile on top.
2. End to end: `effnet_lib.train.fit` on a generated 224 px JPEG folder (decoded-image cache,
   AMP, channels_last, pinned memory), img/s from its history, and whether data loading keeps up
   (the end-to-end rate against the model-step rate).
3. Logit equality of our B0 and torchvision's on the GPU in fp32.
Targets: >= 3,000 img/s training on an H100, >= 1.5x the fp32 NCHW baseline.

    python benchmarks/gpu_check.py > benchmarks/gpu_<device>.txt
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from effnet_lib import efficientnet_b0  # noqa: E402
from effnet_lib.io import provenance  # noqa: E402


def step_rate(model, batch, amp, channels_last, steps=30, warmup=10):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.cuda().to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 224, 224, device="cuda").to(memory_format=fmt)
    y = torch.randint(0, 1000, (batch,), device="cuda")
    for i in range(warmup + steps):
        if i == warmup:
            torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main():
    assert torch.cuda.is_available(), "no CUDA device"
    torch.backends.cudnn.benchmark = True
    out = {"device": torch.cuda.get_device_name(0), "provenance": provenance("cuda:0")}
    baseline = step_rate(torchvision.models.efficientnet_b0(), 256, amp=False, channels_last=False)
    ours = step_rate(efficientnet_b0(), 256, amp=True, channels_last=True)
    compiled = step_rate(torch.compile(efficientnet_b0()), 256, amp=True, channels_last=True)
    out["model_step"] = {"torchvision_fp32_nchw": baseline, "ours_amp_channels_last": ours,
                         "ours_compiled": compiled, "ratio": ours / baseline, "ratio_compiled": compiled / baseline}
    print(json.dumps(out["model_step"]), flush=True)

    tv = torchvision.models.efficientnet_b0().cuda().eval()
    ours_m = efficientnet_b0().cuda().eval()
    ours_m.load_state_dict(tv.state_dict())
    x = torch.randn(8, 3, 224, 224, device="cuda")
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    with torch.no_grad():
        out["max_abs_logit_difference_fp32"] = float((tv(x) - ours_m(x)).abs().max())
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True

    sys.path.insert(0, str(Path(__file__).parent))
    from train_speed import jpeg_folder
    from effnet_lib.train import TrainConfig, fit
    with tempfile.TemporaryDirectory() as tmp:
        data = jpeg_folder(Path(tmp) / "jpeg", classes=20, per_class=400)
        run = fit(TrainConfig(data=str(data), out=str(Path(tmp) / "run"), model="b0", image_size=224,
                              epochs=3, batch_size=256, workers=8), progress=False)
    rates = [r["img_per_s"] for r in run.history]
    out["end_to_end_img_s_per_epoch"] = rates
    out["data_keeps_up"] = max(rates[1:]) / ours
    out["targets"] = {"3000_img_s": max(ours, compiled) >= 3000, "1.5x_baseline": ours / baseline >= 1.5}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
