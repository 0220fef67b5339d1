import contextlib
import io
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import notebook_runs

# CPU runs are deterministic and small: pin threads so numbers do not depend on the machine's load.
torch.set_num_threads(min(2, os.cpu_count() or 1))


def _notebook_copy(item) -> str | None:
    """'cold' or 'warm' for a cell of build/notebooks/<cold|warm>/*.ipynb that nbval runs."""
    which = Path(str(item.fspath)).parent.name
    return which if hasattr(item, "cell_num") and which in notebook_runs.ORDER else None


class _NotebookRecorder:
    """Records the cells nbval runs (tests/notebook_runs.py). A plugin rather than conftest hooks:
    a conftest's item hooks apply only to items under its folder, and the notebooks are not."""

    def pytest_collection_modifyitems(self, items):
        """Every cold notebook execution first, then every warm one, then the tests that read them;
        within each group the order is pytest's."""
        rank = {"cold": 0, "warm": 1}
        items.sort(key=lambda item: rank.get(_notebook_copy(item), 2))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        start = time.perf_counter()
        outcome = yield
        if _notebook_copy(item):
            exc = outcome.excinfo
            failure = None if exc is None or exc[0].__name__ == "Skipped" else str(exc[1])[-3000:]
            notebook_runs.record_cell(Path(str(item.fspath)), item.cell_num, item.test_outputs,
                                      time.perf_counter() - start, failure)


def pytest_configure(config):
    config.pluginmanager.register(_NotebookRecorder(), "effnet-notebook-recorder")


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
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        warnings.resetwarnings()
        for action, message, category, module, lineno in reversed(_PROCESS_FILTERS):
            warnings.filterwarnings(action, getattr(message, "pattern", message) or "", category,
                                    getattr(module, "pattern", module) or "", lineno)
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's errors
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
    printed = "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught)
    return CliResult(code, out.getvalue(), printed + err.getvalue())


def write_class_images(folder: Path, classes=("circles", "stripes", "noise"), per_class=12, size=48,
                       seed=0, fmt="png"):
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
    from effnet_lib.config import TrainConfig
    from effnet_lib.train import fit
    out = tmp_path_factory.mktemp("tiny-run") / "run"
    return fit(TrainConfig(data=str(split_folder), out=str(out), epochs=2, **TINY), progress=False)
