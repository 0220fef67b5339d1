"""Download a public image dataset into a local cache, for readers who have internet.

Everything else in the library reads an ordinary folder of images and never touches the network.
This module is the one place that does, and only when `fetch` or `download` is called: importing
it opens no connection and creates no folder. It turns a dataset name into such a folder:

    >>> from effnet_lib.data.downloads import fetch
    >>> root = fetch("flowers")          # ~/.cache/effnet_workbook/flowers/flower_photos
    >>> sorted(p.name for p in root.iterdir() if p.is_dir())
    ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']

Why so careful for a teaching tool: a download that half-succeeds is worse than one that fails.
So every file is checked against a pinned SHA-256 (a changed or corrupted file is caught before it
is unpacked), files appear under their name only once complete (an interrupted run leaves nothing
that looks finished), archive members may not write outside their folder, and a marker file makes
the second call return at once without the network.

The transfer itself is pooch's (the downloader of scikit-image and SciPy): pinned hashes, a
temporary file moved into place, progress bars. Unpacking is not: pooch's `Untar` extracts in
place (a half-unpacked folder looks finished) and, before Python 3.12, without tarfile's safety
filter (a member named ``../x`` is written outside the folder). So archives are unpacked here, into a
hidden folder renamed into place, each member checked first.

Which datasets (see `DATASETS`):

- ``flowers``: TensorFlow's flower photos, 5 classes, 3,670 photos, one folder of class folders.
- ``imagenette160``: fast.ai's Imagenette at 160 px, 10 ImageNet classes, train/ and val/.
- ``fashion-mnist``: the four original Fashion-MNIST IDX files (60,000 + 10,000 images), for
  ``effnet_lib.data.fashion.build(source=...)`` at any size (`fetch_files`).

BIRDS-400/525 (Kaggle) needs a Kaggle account, so it cannot be fetched here: download it by hand,
unzip it, and pass the folder that holds train/ valid/ test/ with ``--data PATH``
(see `MANUAL_DATASETS`).

The cache is ``cache_dir`` if given, else ``$EFFNET_CACHE``, else ``~/.cache/effnet_workbook``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pooch
import requests

from ..errors import ParameterError, WorkbookError

__all__ = [
    "DATASETS",
    "MANUAL_DATASETS",
    "DownloadError",
    "ManualDataset",
    "RemoteDataset",
    "UnsafeArchiveError",
    "default_cache_dir",
    "download",
    "fetch",
    "fetch_files",
    "FILE_SETS",
    "RemoteFiles",
]


class DownloadError(WorkbookError, RuntimeError):
    """A dataset could not be downloaded, verified or unpacked. The message says what to do."""


class UnsafeArchiveError(DownloadError):
    """An archive member would be written outside the folder it is unpacked into."""


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset published as one .tgz archive at a fixed URL."""

    name: str
    url: str
    sha256: str
    archive: str  # file name the archive is saved under
    root: str  # folder inside the archive that holds the images
    layout: str  # "one folder of class subfolders" or "train/ and val/ folders"
    num_classes: int
    num_images: int
    license: str
    homepage: str


@dataclass(frozen=True)
class ManualDataset:
    """A dataset the user has to download by hand (for example behind a login)."""

    name: str
    homepage: str
    instructions: str


# -----------------------------------------------------------------------------
# Registry. Checksums are pinned so that a changed upstream file fails loudly instead of
# silently changing what the notebooks train on.

DATASETS: dict[str, RemoteDataset] = {
    "flowers": RemoteDataset(
        name="flowers",
        url="https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
        # SHA-256 (and size, 228,813,984 bytes) from TensorFlow Datasets,
        # tensorflow_datasets/datasets/tf_flowers/checksums.tsv, which lists the same file at
        # http://download.tensorflow.org/example_images/flower_photos.tgz.
        sha256="4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
        archive="flower_photos.tgz",
        root="flower_photos",
        layout="one folder of class subfolders",  # plus LICENSE.txt next to the class folders
        num_classes=5,
        num_images=3670,
        license="CC-BY 2.0, photographers credited in the archive's LICENSE.txt",
        homepage="https://www.tensorflow.org/tutorials/load_data/images",
    ),
    "imagenette160": RemoteDataset(
        name="imagenette160",
        url="https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
        # SHA-256 (and size, 99,003,388 bytes) from TensorFlow Datasets,
        # tensorflow_datasets/datasets/imagenette/checksums.tsv. Its older
        # url_checksums/imagenette.txt lists 88daccb0...89863 (98,948,031 bytes): fast.ai
        # re-uploaded the archive since; a mismatch here means it changed again.
        sha256="64d0c4859f35a461889e0147755a999a48b49bf38a7e0f9bd27003f10db02fe5",
        archive="imagenette2-160.tgz",
        root="imagenette2-160",
        layout="train/ and val/ folders",
        num_classes=10,
        num_images=13394,  # 9,469 train + 3,925 val
        license="ImageNet images, under ImageNet's terms (non-commercial research and teaching)",
        homepage="https://github.com/fastai/imagenette (Jeremy Howard, 2019)",
    ),
}

MANUAL_DATASETS: dict[str, ManualDataset] = {
    "birds": ManualDataset(
        name="BIRDS-400/525",
        homepage="https://www.kaggle.com/datasets/gpiosenka/100-bird-species",
        instructions=(
            "BIRDS-400/525 is on Kaggle and needs a (free) Kaggle account, so it is not "
            "downloaded automatically. Sign in, download the archive from "
            "https://www.kaggle.com/datasets/gpiosenka/100-bird-species, unzip it, and pass the "
            "folder that holds train/ valid/ test/ as `data`."
        ),
    ),
}


@dataclass(frozen=True)
class RemoteFiles:
    """A dataset published as separate files next to each other at one base URL."""

    name: str
    base_url: str
    files: dict  # file name -> sha256
    license: str
    homepage: str


FILE_SETS: dict[str, RemoteFiles] = {
    "fashion-mnist": RemoteFiles(
        name="fashion-mnist",
        base_url="https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        # The published files' SHA-256, as Debian's dataset-fashion-mnist package carries them.
        files={
            "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        },
        license="MIT (Zalando SE)",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    ),
}


def default_cache_dir() -> Path:
    """``$EFFNET_CACHE`` if set, else ``~/.cache/effnet_workbook``. Nothing is created."""
    env = os.environ.get("EFFNET_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "effnet_workbook"


# -----------------------------------------------------------------------------
# Download


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    *,
    progress: bool = True,
    timeout: float = 30,
) -> Path:
    """Download ``url`` to ``dest``, check its SHA-256 if given, and return ``dest``.

    The transfer is pooch's (`pooch.retrieve`): the bytes go to a temporary file next to
    ``dest``, the hash is checked, and only then is the file moved into place, so ``dest``
    appears whole or not at all. Its errors are turned into one `DownloadError` line that names
    the URL and what to do.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
    try:
        pooch.retrieve(
            url,
            known_hash=f"sha256:{sha256.lower()}" if sha256 else None,
            fname=dest.name,
            path=dest.parent,
            downloader=downloader,
            progressbar=progress,
        )
    except requests.HTTPError as err:
        raise _unreachable(url, f"HTTP {err.response.status_code} {err.response.reason}", dest) from None
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as err:
        raise _unreachable(url, f"the connection closed after part of the file ({_reason(err)})", dest) from None
    except (requests.RequestException, OSError) as err:
        raise _unreachable(url, _reason(err), dest) from None
    except ValueError as err:  # pooch: the hash does not match
        if "hash" not in str(err).lower():
            raise
        raise DownloadError(
            f"Checksum mismatch for {dest.name} from {url}: expected sha256 {sha256.lower()}, got "
            f"{_hash_in(str(err), sha256)}. The file was corrupted in transit or changed upstream; it was not "
            "kept. Try again; if it fails the same way, download it by hand, check it, and pass the unpacked "
            "folder as `data`."
        ) from None
    return dest


def _hash_in(message: str, expected: str) -> str:
    """The other 64-hex-digit hash in pooch's mismatch message (the file's)."""
    found = [h for h in re.findall(r"[0-9a-f]{64}", message) if h != expected.lower()]
    return found[0] if found else "another hash"


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None) or err  # URLError wraps the socket error in .reason
    return str(reason).splitlines()[0] if str(reason) else type(reason).__name__


def _unreachable(url: str, reason: str, dest: Path) -> DownloadError:
    return DownloadError(
        f"Could not download {url}: {reason}. Check your internet connection and try again, "
        f"or download it by hand and save it as {dest}, or unpack it yourself and pass the "
        "folder as `data`."
    )


# -----------------------------------------------------------------------------
# Fetch: download + verify + unpack, once

_MARKER = ".effnet_complete"  # holds the archive's sha256; written last, inside the temp folder


def fetch(
    dataset: str | RemoteDataset,
    cache_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
) -> Path:
    """Return the image folder of ``dataset``, downloading and unpacking it the first time.

    ``dataset`` is a key of `DATASETS` or a `RemoteDataset` (handy for your own archives).
    Layout of the cache::

        <cache>/downloads/<archive>      only while unpacking; deleted afterwards to save space
        <cache>/<name>/<root>/...        the images; this folder is returned
        <cache>/<name>/.effnet_complete  marker: present means complete, so no network next time
    """
    spec = _lookup(dataset)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache / spec.name
    if _is_complete(target, spec):
        return target / spec.root

    archive = cache / "downloads" / spec.archive
    # An archive already there (left by an earlier run, or saved by hand) is reused if it matches.
    if not (archive.is_file() and _sha256_of(archive) == spec.sha256.lower()):
        download(spec.url, archive, spec.sha256, progress=progress)

    if progress:
        print(f"Unpacking {archive.name} into {target} ...", file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache, prefix=f".{spec.name}.", suffix=".part"))
    try:
        _safe_extract(archive, tmp)
        if not (tmp / spec.root).is_dir():
            raise DownloadError(
                f"{archive} has no folder {spec.root!r} inside; the archive's layout changed. "
                "Unpack it yourself and pass the image folder as `data`."
            )
        (tmp / _MARKER).write_text(spec.sha256.lower() + "\n")
        if target.exists():  # stale: an older version of the dataset, or a damaged folder
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process unpacked the same dataset meanwhile; theirs is as good as ours.
            if not _is_complete(target, spec):
                raise
            shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    archive.unlink(missing_ok=True)
    return target / spec.root


def fetch_files(files: str | RemoteFiles, cache_dir: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """The folder holding every file of a `RemoteFiles` set (a key of `FILE_SETS`), each downloaded
    once and checked against its pinned SHA-256; a second call finds them and makes no request."""
    spec = FILE_SETS[files] if isinstance(files, str) else files
    folder = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()) / spec.name
    for name, digest in spec.files.items():
        path = folder / name
        if not (path.is_file() and _sha256_of(path) == digest):
            download(spec.base_url + name, path, digest, progress=progress)
    return folder


def _lookup(dataset: str | RemoteDataset) -> RemoteDataset:
    if isinstance(dataset, RemoteDataset):
        return dataset
    if dataset in DATASETS:
        return DATASETS[dataset]
    if dataset in MANUAL_DATASETS:
        raise ParameterError(MANUAL_DATASETS[dataset].instructions)
    raise ParameterError(
        f"Unknown dataset {dataset!r}. Downloadable: {', '.join(sorted(DATASETS) + sorted(FILE_SETS))}; "
        f"by hand: {', '.join(sorted(MANUAL_DATASETS))}."
    )


def _is_complete(target: Path, spec: RemoteDataset) -> bool:
    marker = target / _MARKER
    return marker.is_file() and marker.read_text().strip() == spec.sha256.lower() and (target / spec.root).is_dir()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _safe_extract(archive: Path, dest: Path) -> None:
    """Unpack ``archive`` into ``dest``, refusing any member that would land outside ``dest``.

    Python's own ``filter="data"`` (3.12, backported to 3.10.12/3.11.4) does this check; the
    explicit one below also covers older interpreters and gives a message that names the member.
    """
    root = dest.resolve()

    def inside(path: str) -> bool:
        try:
            return os.path.commonpath([root, (root / path).resolve()]) == str(root)
        except ValueError:  # on another drive (Windows)
            return False

    def checked(tar: tarfile.TarFile):
        for member in tar:
            name = member.name
            if os.path.isabs(name) or not inside(name):
                raise UnsafeArchiveError(
                    f"{archive.name}: refusing member {name!r}: it would be written outside the dataset folder."
                )
            if member.issym() or member.islnk():
                # A symlink's target is relative to its own folder, a hard link's to the root.
                base = os.path.dirname(name) if member.issym() else ""
                link = member.linkname
                if os.path.isabs(link) or not inside(os.path.join(base, link)):
                    raise UnsafeArchiveError(
                        f"{archive.name}: refusing link {name!r} -> {link!r}: it points outside the dataset folder."
                    )
            elif not (member.isfile() or member.isdir()):
                continue  # device files and fifos have no place in an image dataset
            yield member

    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(dest, members=checked(tar), **extra)
    except getattr(tarfile, "FilterError", ()) as err:  # Python's own check, as a second line
        raise UnsafeArchiveError(f"{archive.name}: {err}") from None
    except (tarfile.TarError, EOFError) as err:
        raise DownloadError(
            f"Could not unpack {archive}: {err}. Delete it and run again, or unpack it yourself "
            "and pass the folder as `data`."
        ) from None
