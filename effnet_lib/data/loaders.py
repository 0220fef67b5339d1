"""Datasets and loaders: decoded images (cached once as uint8), augmented reproducibly, in batches.

Each sample's augmentation draws from its own generator state, a function of (seed, epoch,
index), so the same images come out whatever the number of workers or processes, and a resumed
epoch replays the original. Unreadable images travel as None and are reported by index.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings

import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from .folders import DataError
from .images import load_image, unreadable_reason
from .transforms import Transforms

__all__ = [
    "ImageDataset",
    "collate",
    "to_device",
    "decode_all",
    "same_image_in_two_classes",
    "EpochSampler",
    "ShardSampler",
    "make_loader",
    "seed_epoch",
    "training_loaders",
    "check_decoded",
]


class ImageDataset(Dataset):
    """(image, label, index) per sample; (None, label, index) for a file that cannot be read.

    With `seed`, each sample's augmentation draws from its own generator state, a function of
    (seed, epoch, index): the same images come out whatever the number of workers or processes.
    """

    def __init__(self, samples, transform=None, working_size: int | None = None, cache=None, seed=None):
        self.samples, self.transform, self.working_size, self.cache = samples, transform, working_size, cache
        self.seed, self.epoch = seed, 0

    def __len__(self):
        return len(self.samples)

    def decoded(self, i: int) -> torch.Tensor | None:
        if self.cache is not None:
            return self.cache[i]
        return load_image(self.samples[i][0], self.working_size)

    def __getitem__(self, key):
        # A training sampler yields (index, epoch): persistent workers never see `self.epoch` change.
        i, epoch = key if isinstance(key, tuple) else (key, self.epoch)
        img = self.decoded(i)
        label = self.samples[i][1]
        if img is None:
            return None, label, i
        if self.transform is None:
            return img, label, i
        if self.seed is None:
            return self.transform(img), label, i
        with torch.random.fork_rng(devices=[]):
            # The CPU generator only: torch.manual_seed would also queue CUDA seeding, at a cost of
            # a stack trace per call (ms per image).
            torch.default_generator.manual_seed((self.seed * 1_000_003 + epoch * 100_003 + i) % 2**63)
            return self.transform(img), label, i


def collate(batch):
    """Stack the readable samples; report the indices of unreadable ones instead of failing.

    Samples of `CropParams` give (image, params): the images are padded to the batch's largest
    size and x is (canvas, params), ready for `Transforms.crop_batch`."""
    good = [b for b in batch if b[0] is not None]
    bad = [b[2] for b in batch if b[0] is None]
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long), bad
    if isinstance(good[0][0], tuple):
        images = [b[0][0] for b in good]
        height, width = max(i.shape[1] for i in images), max(i.shape[2] for i in images)
        canvas = torch.zeros(len(images), 3, height, width, dtype=torch.uint8)
        for c, img in zip(canvas, images):
            c[:, : img.shape[1], : img.shape[2]] = img
        x = (canvas, torch.stack([b[0][1] for b in good]))
    else:
        x = torch.stack([b[0] for b in good])
    return x, torch.tensor([b[1] for b in good]), torch.tensor([b[2] for b in good]), bad


def to_device(x, transforms: Transforms, device, memory_format=torch.contiguous_format) -> torch.Tensor:
    """A collated batch -> normalised float on `device`, cropping there when x is (canvas, params)."""
    if isinstance(x, (tuple, list)):
        canvas, params = x
        x = transforms.crop_batch(canvas.to(device, non_blocking=True), params.to(device, non_blocking=True))
    else:
        x = x.to(device, non_blocking=True)
    return transforms.normalise_batch(x).contiguous(memory_format=memory_format)


def decode_all(samples, working_size: int, max_bytes: int, workers: int = 0, desc="decoding", progress: bool = True):
    """Decode every image once into a list of uint8 tensors, or None when they would not fit.

    The estimate assumes 4:3 images at the working size; the actual total is checked as we go.
    """
    estimate = len(samples) * 3 * working_size * working_size * 4 // 3
    if estimate > max_bytes:
        return None
    ds = ImageDataset(samples, None, working_size)
    loader = DataLoader(ds, batch_size=64, num_workers=workers, collate_fn=list)
    cache: list[torch.Tensor | None] = [None] * len(samples)
    total = 0
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress or len(samples) < 2000):
        for img, _, i in batch:
            cache[i] = img
            total += img.numel() if img is not None else 0
        if total > max_bytes:
            return None
    return cache


def same_image_in_two_classes(samples, cache, classes) -> list[tuple[str, str]]:
    """Pairs of files (one pair per class conflict) whose decoded pixels are identical but whose
    labels differ: a copy filed under two classes. Needs the decoded cache (`decode_all`)."""
    first: dict[bytes, int] = {}
    pairs = []
    for i, img in enumerate(cache):
        if img is None:
            continue
        key = hashlib.blake2b(img.numpy().tobytes(), digest_size=16).digest()
        j = first.setdefault(key, i)
        if j != i and samples[j][1] != samples[i][1]:
            pairs.append((f"{samples[j][0]} ({classes[samples[j][1]]})", f"{samples[i][0]} ({classes[samples[i][1]]})"))
    return pairs


class EpochSampler(Sampler):
    """A shuffle that depends only on (seed, epoch): resuming at epoch k replays epoch k's order.

    Shuffling, it yields (index, epoch) so that the dataset's augmentation knows the epoch even in
    a persistent worker; in order (evaluation), plain indices."""

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True):
        self.n, self.seed, self.shuffle, self.epoch = n, seed, shuffle, 0

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def __iter__(self):
        if not self.shuffle:
            return iter(range(self.n))
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter([(i, self.epoch) for i in torch.randperm(self.n, generator=g).tolist()])

    def __len__(self):
        return self.n


def make_loader(
    samples,
    transform,
    *,
    batch_size: int,
    working_size: int,
    shuffle=False,
    seed=0,
    workers=0,
    cache=None,
    sampler=None,
    pin_memory=False,
    drop_last=False,
):
    ds = ImageDataset(samples, transform, working_size, cache, seed if shuffle else None)
    sampler = sampler or EpochSampler(len(ds), seed, shuffle)
    return DataLoader(
        ds,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        drop_last=drop_last,
        persistent_workers=workers > 0,  # no worker start-up every epoch
        generator=torch.Generator().manual_seed(seed),
        multiprocessing_context="fork" if workers and os.name == "posix" else None,
    )


def seed_epoch(loader: DataLoader, seed: int, epoch: int):
    """Make epoch `epoch`'s order and augmentation a function of (seed, epoch) alone."""
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
    loader.dataset.epoch = epoch
    loader.generator.manual_seed(seed * 100_003 + epoch)  # workers' seeds are drawn from this
    torch.manual_seed(seed * 100_003 + epoch)  # augmentation in the main process (workers=0)


class ShardSampler(EpochSampler):
    """The (seed, epoch) shuffle, cut into one shard per process.

    Training shards are padded by wrapping so every process takes the same number of steps;
    evaluation shards (`pad=False`) are not, so no image is counted twice.
    """

    def __init__(self, n, seed, rank, world, shuffle=True, pad=True):
        super().__init__(n, seed, shuffle)
        self.rank, self.world, self.pad = rank, world, pad
        self.per_rank = math.ceil(n / world) if pad else len(range(rank, n, world))

    def __iter__(self):
        order = list(super().__iter__())
        if self.pad:
            order += order[: math.ceil(self.n / self.world) * self.world - len(order)]
        return iter(order[self.rank :: self.world])

    def __len__(self):
        return self.per_rank


def training_loaders(cfg, folder, tf, device, rank, world, finished: bool, progress: bool = True):
    """Decoded-image caches (one budget for both splits) and the training and validation loaders."""
    per_rank_batch = cfg.batch_size // world
    limit = cfg.cache_mb * 2**20
    use_cache = cfg.cache_mb and not finished
    bar = progress and rank == 0
    train_cache = decode_all(folder.train, tf.working_size, limit, cfg.workers, progress=bar) if use_cache else None
    used = sum(t.numel() for t in train_cache if t is not None) if train_cache else 0
    val_cache = (
        decode_all(folder.val, tf.working_size, limit - used, cfg.workers, progress=bar)
        if use_cache and train_cache is not None
        else None
    )
    if train_cache is not None:
        check_decoded(folder, train_cache, val_cache)
    on_device = cfg.augment_on == "device" or (cfg.augment_on == "auto" and device.type == "cuda")
    on_device = on_device and not tf.autoaugment  # AutoAugment's per-image operations run in the loader
    pin = device.type == "cuda"
    train = make_loader(
        folder.train,
        tf.crop_params() if on_device else tf.train(normalise=False),
        batch_size=per_rank_batch,
        shuffle=True,
        seed=cfg.seed,
        workers=cfg.workers,
        cache=train_cache,
        working_size=tf.working_size,
        pin_memory=pin,
        sampler=ShardSampler(len(folder.train), cfg.seed, rank, world) if world > 1 else None,
        drop_last=len(folder.train) > per_rank_batch,
    )
    val = make_loader(
        folder.val,
        tf.eval(normalise=False),
        batch_size=per_rank_batch * 2,
        workers=cfg.workers,
        cache=val_cache,
        working_size=tf.working_size,
        pin_memory=pin,
        sampler=ShardSampler(len(folder.val), 0, rank, world, False, pad=False) if world > 1 else None,
    )
    return train, val


def check_decoded(folder, train_cache, val_cache):
    """Refuse a training split with no readable image; warn of an image filed under two classes."""
    if all(t is None for t in train_cache):
        raise DataError(
            f"{folder.root}: none of the {len(train_cache)} training images could be read "
            f"(first: {unreadable_reason(folder.train[0][0])}); check the files"
        )
    samples, cache = folder.train + folder.val, train_cache + (val_cache or [None] * len(folder.val))
    pairs = same_image_in_two_classes(samples, cache, folder.classes)
    if pairs:
        warnings.warn(
            f"{len(pairs)} image(s) are filed under two classes, e.g. {pairs[0][0]} and {pairs[0][1]}; "
            f"remove the wrong copy",
            stacklevel=4,
        )
