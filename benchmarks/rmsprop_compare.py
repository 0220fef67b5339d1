"""PyTorch's RMSprop against TensorFlow's (the paper's), same hyper-parameters, same network and data.

The paper's optimizer settings (decay 0.9, momentum 0.9, eps 1e-3, lr 0.016 per 256 images) given
to `torch.optim.RMSprop` and to `effnet_lib.training.optim.RMSpropTF`, on a small EfficientNet (width 0.25,
depth 0.34, 32 px) and the built-in Fashion-MNIST subset, everything else equal (seed, batches,
no warm-up, so the first steps show the optimizers alone). Recorded: the size of each of the
first steps (mean absolute change of the weights) and the loss per epoch.

    python benchmarks/rmsprop_compare.py            # writes benchmarks/rmsprop_compare.md and .json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from effnet_lib.data import folders as D
from effnet_lib.data import loaders as L
from effnet_lib.data import transforms as T
from effnet_lib.data.datasets import resolve, transform_settings
from effnet_lib.files import atomic_write_text
from effnet_lib.model.variants import efficientnet
from effnet_lib.provenance import provenance
from effnet_lib.training.optim import RMSpropTF

OUT = Path(__file__).with_suffix("")
BATCH, EPOCHS, STEPS_RECORDED, SEED = 64, 3, 20, 0
LR = 0.016 * BATCH / 256  # the paper's rate, scaled to the batch


def run(make_optimizer, name: str) -> dict:
    torch.manual_seed(SEED)
    root = resolve("fashion")
    folder = D.open_image_folder(root)
    tf = T.Transforms(32, **transform_settings(root))
    cache = L.decode_all(folder.train, tf.working_size, 2**30)
    loader = L.make_loader(
        folder.train,
        tf.train(normalise=False),
        batch_size=BATCH,
        shuffle=True,
        seed=SEED,
        cache=cache,
        working_size=tf.working_size,
        drop_last=True,
    )
    model = efficientnet(0.25, 0.34, num_classes=len(folder.classes), bn="tf").to(memory_format=torch.channels_last)
    opt = make_optimizer(model.parameters())
    steps, losses, t0 = [], [], time.perf_counter()
    for epoch in range(EPOCHS):
        L.seed_epoch(loader, SEED, epoch)
        model.train()
        total, n = 0.0, 0
        for x, y, _, _ in loader:
            x = tf.normalise_batch(x).contiguous(memory_format=torch.channels_last)
            before = [p.detach().clone() for p in model.parameters()] if len(steps) < STEPS_RECORDED else None
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if before is not None:
                change = torch.cat([(p.detach() - b).abs().flatten() for p, b in zip(model.parameters(), before)])
                steps.append(float(change.mean()))
            total, n = total + float(loss) * len(y), n + len(y)
        losses.append(total / n)
    return {
        "optimizer": name,
        "first_step_sizes": steps,
        "epoch_loss": losses,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main():
    torch.set_num_threads(2)
    results = [
        run(lambda p: torch.optim.RMSprop(p, lr=LR, alpha=0.9, eps=1e-3, momentum=0.9), "torch.optim.RMSprop"),
        run(lambda p: RMSpropTF(p, lr=LR, decay=0.9, momentum=0.9, eps=1e-3), "effnet_lib.training.optim.RMSpropTF"),
    ]
    record = {
        "command": "python benchmarks/rmsprop_compare.py",
        "lr": LR,
        "batch": BATCH,
        "epochs": EPOCHS,
        "provenance": provenance("cpu", seed=SEED),
        "results": results,
    }
    atomic_write_text(OUT.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    pt, tf = results
    lines = [
        "# PyTorch's RMSprop against TensorFlow's, same settings\n",
        f"`{record['command']}` on {record['provenance']['device']}, commit {record['provenance']['commit']}, "
        f"{record['provenance']['date']}, seed {SEED}. Width 0.25, depth 0.34, 32 px, the built-in "
        f"Fashion-MNIST subset, batch {BATCH}, lr {LR:g} (0.016 per 256 images), decay 0.9, momentum 0.9, "
        f"eps 1e-3, no warm-up.\n",
        "| step | mean abs. weight change, torch.optim.RMSprop | RMSpropTF | ratio |",
        "|---|---|---|---|",
    ]
    for i, (a, b) in enumerate(zip(pt["first_step_sizes"], tf["first_step_sizes"]), 1):
        if i <= 5 or i % 5 == 0:
            lines.append(f"| {i} | {a:.2e} | {b:.2e} | {a / b:.1f}x |")
    lines += ["", "| epoch | training loss, torch.optim.RMSprop | RMSpropTF |", "|---|---|---|"]
    lines += [f"| {e + 1} | {a:.3f} | {b:.3f} |" for e, (a, b) in enumerate(zip(pt["epoch_loss"], tf["epoch_loss"]))]
    atomic_write_text(OUT.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
