"""Every GPU measurement and check in one short run (a few minutes on one H100/H200).

1. Model step, B0 at 224 px, batch 256, one lever at a time: torchvision eager fp32 NCHW (the
   baseline), torchvision with AMP + channels_last, and this library's model in fp32 NCHW, with
   AMP (bf16), with AMP + channels_last; img/s and peak memory of each.
2. Logit equality of our B0 and torchvision's on the GPU in fp32 (TF32 off).
3. End to end: `effnet_lib.training.loop.fit` on a generated 224 px JPEG folder (decoded-image cache,
   AMP, channels_last, pinned memory, persistent workers), with the crop and flip done per image
   in the loader and done for the whole batch on the GPU; img/s per epoch from its history, and
   the end-to-end rate against the model-step rate (near 1: data loading is not the bottleneck).
4. torch.compile on top of AMP + channels_last (last, since compiling takes the longest).
Targets: >= 3,000 img/s training on an H100, >= 1.5x the fp32 NCHW baseline.

    python benchmarks/gpu_check.py --out benchmarks/gpu_check.json
    python benchmarks/gpu_check.py --smoke      # the same code paths on CPU, tiny sizes, no figures

Results are written after every section, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from effnet_lib import efficientnet_b0  # noqa: E402
from effnet_lib.files import atomic_write_text  # noqa: E402
from effnet_lib.provenance import provenance  # noqa: E402


def step_rate(model, batch, size, device, amp, channels_last, steps, warmup):
    """Training img/s of `model` (forward, backward, SGD step) and its peak memory in MiB."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device).to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(batch, 3, size, size, device=device).to(memory_format=fmt)
    y = torch.randint(0, 1000, (batch,), device=device)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    for i in range(warmup + steps):
        if i == warmup:
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if cuda:
        torch.cuda.synchronize()
    rate = batch * steps / (time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    return {"img_per_s": round(rate, 1), "peak_mib": None if peak is None else round(peak, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny sizes: checks the code paths only")
    parser.add_argument("--skip-compile", action="store_true")
    args = parser.parse_args()
    smoke = args.smoke
    if not smoke and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device; run with --smoke to check the code paths on CPU")
    device = torch.device("cpu" if smoke else "cuda")
    batch, size, steps, warmup = (4, 64, 2, 1) if smoke else (256, 224, 30, 10)
    torch.backends.cudnn.benchmark = True
    out = {
        "command": "python " + " ".join(sys.argv),
        "provenance": provenance(str(device)),
        "smoke": smoke,
        "batch": batch,
        "image_size": size,
    }

    def save():
        atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")
        print(json.dumps(out, indent=1), flush=True)

    # 1. Model step, one lever at a time.
    tv = torchvision.models.efficientnet_b0
    grid = {
        "torchvision_fp32_nchw": (tv, False, False),
        "torchvision_amp_channels_last": (tv, True, True),
        "ours_fp32_nchw": (efficientnet_b0, False, False),
        "ours_amp_nchw": (efficientnet_b0, True, False),
        "ours_amp_channels_last": (efficientnet_b0, True, True),
    }
    steps_out = out["model_step"] = {}
    for name, (make, amp, cl) in grid.items():
        torch.manual_seed(0)
        steps_out[name] = step_rate(make(), batch, size, device, amp, cl, steps, warmup)
        print(name, steps_out[name], flush=True)
    base = steps_out["torchvision_fp32_nchw"]["img_per_s"]
    for row in steps_out.values():
        row["ratio_to_baseline"] = round(row["img_per_s"] / base, 2)
    save()

    # 2. Same logits as torchvision in fp32.
    ref = tv().to(device).eval()
    ours = efficientnet_b0().to(device).eval()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(8, 3, size, size, device=device)
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    with torch.no_grad():
        out["max_abs_logit_difference_fp32"] = float((ref(x) - ours(x)).abs().max())
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    del ref, ours
    save()

    # 3. End to end through the library's own training loop: augmentation per image in the loader
    # workers against the batch cropped on the GPU (the default on CUDA).
    from train_speed import jpeg_folder

    from effnet_lib.training.config import TrainConfig
    from effnet_lib.training.loop import fit

    model_rate = steps_out["ours_amp_channels_last"]["img_per_s"]
    out["end_to_end"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        data = jpeg_folder(Path(tmp) / "jpeg", classes=20, per_class=8 if smoke else 400, size=size)
        made = time.perf_counter() - start
        for where in ("loader", "device"):
            start = time.perf_counter()
            run = fit(
                TrainConfig(
                    data=str(data),
                    out=str(Path(tmp) / where),
                    model="b0",
                    image_size=size,
                    epochs=2 if smoke else 3,
                    batch_size=batch * 4 if smoke else batch,
                    workers=2 if smoke else 8,
                    seed=0,
                    augment_on=where,
                ),
                progress=False,
            )
            total = time.perf_counter() - start
            rates = [round(r["img_per_s"], 1) for r in run.history]
            out["end_to_end"][f"augment_on_{where}"] = {
                "images": len(run.folder.train),
                "epochs": len(rates),
                "workers": 2 if smoke else 8,
                "img_per_s_per_epoch": rates,
                "fit_seconds_incl_decode_and_validation": round(total, 1),
                "end_to_end_over_model_step": round(max(rates[1:]) / model_rate, 2),
            }
            print(where, out["end_to_end"][f"augment_on_{where}"], flush=True)
    out["end_to_end"]["jpeg_generation_seconds"] = round(made, 1)
    save()

    # 4. torch.compile on top (opt-in in the library: TrainConfig.compile).
    if not args.skip_compile:
        torch._dynamo.reset()
        start = time.perf_counter()
        torch.manual_seed(0)
        row = step_rate(torch.compile(efficientnet_b0()), batch, size, device, True, True, steps, warmup)
        row["ratio_to_baseline"] = round(row["img_per_s"] / base, 2)
        row["seconds_incl_compile"] = round(time.perf_counter() - start, 1)
        steps_out["ours_amp_channels_last_compiled"] = row
    best = max(r["img_per_s"] for r in steps_out.values())
    out["targets"] = {
        "3000_img_s": best >= 3000,
        "1.5x_baseline": steps_out["ours_amp_channels_last"]["ratio_to_baseline"] >= 1.5,
        "data_keeps_up (end to end >= 0.8x model step)": out["end_to_end"]["augment_on_device"][
            "end_to_end_over_model_step"
        ]
        >= 0.8,
    }
    save()


if __name__ == "__main__":
    main()
