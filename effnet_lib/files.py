"""Files written atomically: a whole file, or a whole folder, appears at once or not at all.

A file is written to a temporary name in the same folder and renamed into place, so a crash or an
interrupt never leaves a half-written checkpoint, manifest or table where a good one was. A folder
is built in a hidden sibling and renamed into place (`scratch_folder`, `replace_folder`).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import torch

from .errors import WorkbookError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_many",
    "atomic_save",
    "atomic_savefig",
    "scratch_folder",
    "replace_folder",
    "folder_lock",
    "FolderLocked",
]

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


def atomic_write_many(files: dict) -> list[Path]:
    """Several files as one: each {path: bytes} is written in full to a temporary file first, and
    only when all are on disk are they renamed into place (renames need no space). A write that
    fails (a full disk) removes the temporary files and changes nothing; the OSError names the file."""
    staged = []
    try:
        for path, data in files.items():
            path = Path(path)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((Path(tmp), path))
            try:
                os.fchmod(fd, 0o666 & ~_UMASK)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                raise OSError(e.errno, e.strerror, str(path)) from None
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    return [path for _, path in staged]


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


class FolderLocked(WorkbookError, RuntimeError):
    """Another process holds the folder (`folder_lock`)."""


@contextlib.contextmanager
def folder_lock(folder):
    """Hold an exclusive lock on the existing `folder` while the block runs, or raise
    `FolderLocked` at once if another process holds it. The lock is the kernel's `flock` on the
    folder itself: no lock file is left behind, and a killed process releases it."""
    folder = Path(folder)
    try:
        import fcntl
    except ImportError:  # no flock on this system: no lock, as before
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderLocked(
                f"{folder}: another process is writing into this folder now; wait for it to "
                f"finish, or choose another folder"
            ) from None
        yield
    finally:
        os.close(fd)
