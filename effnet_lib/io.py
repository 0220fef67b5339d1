"""Atomic file writes and safe checkpoint loading.

A file is written to a temporary name in the same folder and renamed into place, so a crash or an
interrupt never leaves a half-written checkpoint, manifest or table where a good one was.
Checkpoints are loaded with `weights_only=True`: a file from someone else can hold tensors and
plain containers, never code.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import torch


_UMASK = os.umask(0)
os.umask(_UMASK)


def _atomic_write(path: Path, write) -> Path:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path, data: bytes) -> Path:
    return _atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save(obj, path) -> Path:
    """`torch.save` through a temporary file and a rename."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def atomic_savefig(fig, path, **kwargs) -> Path:
    buffer = io.BytesIO()
    fmt = Path(path).suffix.lstrip(".") or "png"
    fig.savefig(buffer, format=fmt, **kwargs)
    return atomic_write_bytes(path, buffer.getvalue())


@contextlib.contextmanager
def scratch_folder(final):
    """A hidden, empty sibling of `final` to build a whole folder in; removed unless it was moved
    into place (see `replace_folder`). Scratch folders that a killed process left are cleared first."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_folder(new, final):
    """Put folder `new` where `final` is, in one rename; an earlier `final` is removed after."""
    new, final = Path(new), Path(final)
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    try:
        os.replace(new, final)
    except OSError:
        if old.exists() and not final.exists():
            os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what to do."""


def load_checkpoint(path) -> dict:
    """Load a checkpoint safely (tensors and plain containers only)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint; pass the best.pt or last.pt of a run folder")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # weights_only refused a Python object: code could run on load
        raise CheckpointError(f"{path}: refused: not a plain weights file (it holds Python objects that could run "
                              f"code when loaded), so it will not be loaded; use a checkpoint written by this "
                              f"library or a torchvision weights file") from None
    except Exception as e:  # RuntimeError and friends for a damaged or foreign file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: unreadable checkpoint ({first[:200]}); the file is damaged or not a "
                              f"PyTorch file: use the best.pt or last.pt of a run") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise CheckpointError(f"{path}: not a training checkpoint of this library "
                              f"(for plain torchvision weights use --pretrained)")
    return ckpt


def _commit() -> str:
    import subprocess
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=Path(__file__).parent,
                               timeout=5).stdout.strip()
        return (commit + ("+dirty" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# The code a process runs is the code it imported: read the commit once, at import, so that a
# long run keeps reporting it while the checkout moves on.
COMMIT = _commit()


def provenance(device: str | None = None, **extra) -> dict:
    """How a result was made: commit, library versions, device and time (plus any extras)."""
    import datetime
    import platform

    import torchvision

    commit = COMMIT
    if device is None or device == "cpu":
        name = f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
               f"{torch.get_num_threads()} threads)"
    else:
        name = torch.cuda.get_device_name(torch.device(device))
    return {"commit": commit, "torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "python": platform.python_version(), "device": name,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **extra}
