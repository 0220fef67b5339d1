import contextlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import notebook_runs
import numpy as np
import pytest
import torch
from PIL import Image

# CPU runs are deterministic and small: pin threads so numbers do not depend on the machine's load.
# Under pytest-xdist each worker takes its share of the cores (two torch processes with two threads
# each on two cores slow each other down many times over).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1) // _WORKERS))


# The tests that read the suite's two executions of every notebook (tests/notebook_runs.py) run
# last, so the fast tests report first: 00..05 in order, each cold (a fresh clone trains there, as a
# student's first run does) and then at once warm (nothing another notebook writes comes between
# them), then what compares, exports or opens them.
_NOTEBOOK_FILES = ("test_notebooks.py", "test_notebooks_twice.py", "test_site.py", "test_browser.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = Path(str(item.fspath)).name
        if name not in _NOTEBOOK_FILES or item.get_closest_marker("notebooks") is None:
            return (0,)
        params = getattr(getattr(item, "callspec", None), "params", {})
        return (
            1,
            _NOTEBOOK_FILES.index(name),
            params.get("name", ""),
            notebook_runs.ORDER.index(params.get("which", "cold")),
        )

    items.sort(key=rank)


# Python's own warning filters, as a fresh `python -m effnet_lib` process has them (pytest swaps in
# its own around each test).
_PROCESS_FILTERS = list(warnings.filters)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args) -> CliResult:
    """`python -m effnet_lib ARGS` without the process: `cli.main` in this one, with its exit code,
    its standard output and its standard error (the warnings a process would print included).

    For the tests where what the command does is the point, not the process boundary; a new
    process pays about 4 s of imports. Tests of signals, exit by a real process and `torchrun`
    start real processes."""
    from effnet_lib.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.resetwarnings()
        for action, message, category, module, lineno in reversed(_PROCESS_FILTERS):
            warnings.filterwarnings(
                action,
                getattr(message, "pattern", message) or "",
                category,
                getattr(module, "pattern", module) or "",
                lineno,
            )
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's errors
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
    printed = "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught)
    return CliResult(code, out.getvalue(), printed + err.getvalue())


def write_class_images(folder: Path, classes=("circles", "stripes", "noise"), per_class=12, size=48, seed=0, fmt="png"):
    """A real image folder: each class has its own learnable pattern, with noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    for k, name in enumerate(classes):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            phase = rng.uniform(0, 2 * np.pi)
            if k % 3 == 0:
                base = np.sin(np.hypot(yy - size / 2, xx - size / 2) / 2 + phase)
            elif k % 3 == 1:
                base = np.sin(xx / 2 + phase)
            else:
                base = rng.normal(size=(size, size))
            img = np.clip(128 + 60 * base[..., None] + rng.normal(0, 20, (size, size, 3)), 0, 255)
            img[..., k % 3] = np.clip(img[..., k % 3] + 30, 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(folder / name / f"{name}_{i:03d}.{fmt}")
    return folder


@pytest.fixture(scope="session")
def single_folder(tmp_path_factory):
    """One folder of class subfolders (split 80/20 by the library)."""
    return write_class_images(tmp_path_factory.mktemp("single"), per_class=15)


@pytest.fixture(scope="session")
def split_folder(tmp_path_factory):
    """The BIRDS-400 layout: train/ valid/ test/ with class subfolders."""
    root = tmp_path_factory.mktemp("birdslike")
    write_class_images(root / "train", per_class=16, seed=1)
    write_class_images(root / "valid", per_class=4, seed=2, fmt="jpg")
    write_class_images(root / "test", per_class=5, seed=3, fmt="jpg")
    return root


TINY = dict(model=None, width=0.25, depth=0.25, image_size=32, batch_size=8, cache_mb=64)


@pytest.fixture(scope="session")
def tiny_run(split_folder, tmp_path_factory):
    """One finished 2-epoch run of the tiny network on `split_folder`, trained once per session and
    shared by the tests that only read a run (predict, evaluate, the explorer): copy it before
    changing it."""
    from effnet_lib.training.config import TrainConfig
    from effnet_lib.training.loop import fit

    out = tmp_path_factory.mktemp("tiny-run") / "run"
    return fit(TrainConfig(data=str(split_folder), out=str(out), epochs=2, **TINY), progress=False)
