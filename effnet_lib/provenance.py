"""How a result was made: the commit of the code, library versions, device, time, seed.

The commit is read once, when this module is imported: a long run keeps reporting the code it
imported while the checkout moves on. (Only modules that record results import this, so reading
a result never runs git.)
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import torch

__all__ = ["COMMIT", "provenance"]


def _commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        ).stdout.strip()
        return (commit + ("+dirty" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# The code a process runs is the code it imported: read the commit once, at import, so that a
# long run keeps reporting it while the checkout moves on.
COMMIT = _commit()


def _version(package: str) -> str:
    # Read from the installed metadata: importing torchvision costs seconds of start-up.
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def provenance(device: str | None = None, **extra) -> dict:
    """How a result was made: commit, library versions, device and time (plus any extras)."""
    commit = COMMIT
    if device is None or device == "cpu":
        name = (
            f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{torch.get_num_threads()} threads)"
        )
    else:
        name = torch.cuda.get_device_name(torch.device(device))
    return {
        "commit": commit,
        "torch": str(torch.__version__),
        "torchvision": _version("torchvision"),
        "python": platform.python_version(),
        "device": name,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
