"""Sweeps spread over real engines: a local process pool and a Dask LocalCluster of 2 worker
processes give the same rows as a sequential run, survive a killed worker, and report a failing
config by name while the others go on."""

import os
import signal
import threading
import time
from dataclasses import replace

import pandas as pd
import pytest

from effnet_lib.study.executors import LocalPool, open_executor
from effnet_lib.study.sweeps import SweepError, sweep
from effnet_lib.training.config import TrainConfig, config_key

RESULT = ["width", "depth", "resolution", "seed", "key", "params", "macs", "val_acc", "test_acc", "best_epoch"]


@pytest.fixture(scope="module")
def configs(split_folder):
    base = TrainConfig(
        data=str(split_folder), model=None, width=0.25, depth=0.25, image_size=32, epochs=1, batch_size=8
    )
    return [base, replace(base, image_size=40), replace(base, seed=1), replace(base, width=0.3)]


@pytest.fixture(scope="module")
def sequential(configs, tmp_path_factory):
    return sweep(configs, tmp_path_factory.mktemp("seq"), progress=False)


def _same_rows(a: pd.DataFrame, b: pd.DataFrame):
    pd.testing.assert_frame_equal(a[RESULT].reset_index(drop=True), b[RESULT].reset_index(drop=True))


def _kill_a_worker_when_training_starts(runs_dir, pids, killed):
    """Watch for the first run folder to appear, then SIGKILL one worker process."""
    deadline = time.time() + 120
    while time.time() < deadline:
        if runs_dir.exists() and any(runs_dir.iterdir()):
            for pid in pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                except ProcessLookupError:
                    continue
        time.sleep(0.05)


@pytest.mark.slow
def test_local_pool_gives_the_sequential_rows_and_survives_a_killed_worker(configs, sequential, tmp_path):
    with open_executor("local", jobs=2) as pool:
        assert isinstance(pool, LocalPool)
        killed: list[int] = []
        watcher = threading.Thread(
            target=_kill_a_worker_when_training_starts,
            daemon=True,
            args=(tmp_path / "runs", lambda: list(pool._pool._processes), killed),
        )
        watcher.start()
        rows = sweep(configs, tmp_path, progress=False, executor=pool)
        watcher.join(timeout=5)
    assert killed, "no worker was killed: the test did not test"
    _same_rows(rows, sequential)
    assert (rows.prov_threads == 1).all() and rows.prov_host.notna().all()


@pytest.mark.slow
def test_dask_local_cluster_gives_the_sequential_rows_and_survives_a_killed_worker(configs, sequential, tmp_path):
    import distributed  # a dev dependency: the real Dask engine, no stand-in

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        with open_executor("dask", scheduler=cluster.scheduler_address) as executor:
            client = distributed.get_client()
            killed: list[int] = []
            pids = lambda: list(client.run(os.getpid).values())  # noqa: E731
            watcher = threading.Thread(
                target=_kill_a_worker_when_training_starts, daemon=True, args=(tmp_path / "runs", pids, killed)
            )
            watcher.start()
            rows = sweep(configs, tmp_path, progress=False, executor=executor)
            watcher.join(timeout=5)
    assert killed, "no worker was killed: the test did not test"
    _same_rows(rows, sequential)


@pytest.mark.slow
def test_a_failing_config_is_named_with_its_traceback_and_the_others_are_cached(configs, tmp_path):
    bad = replace(configs[0], data=str(tmp_path / "no such folder"))
    with open_executor("local", jobs=2) as pool:
        with pytest.raises(SweepError) as caught:
            sweep([configs[0], bad], tmp_path, progress=False, executor=pool)
    text = str(caught.value)
    assert "1 of 2 config(s) failed" in text and config_key(bad) in text and "no such folder" in text
    assert "Traceback" in text
    assert (tmp_path / f"{config_key(configs[0])}.json").exists() and not (
        tmp_path / f"{config_key(bad)}.json"
    ).exists()


def test_executor_options_are_checked():
    with pytest.raises(ValueError, match="`jobs=0`"):
        with open_executor("local", jobs=0):
            pass
    with pytest.raises(ValueError, match="`scheduler="):
        with open_executor("dask"):
            pass
    with pytest.raises(ValueError, match="choose one of"):
        with open_executor("ray"):
            pass


@pytest.mark.slow
def test_a_signal_stops_the_whole_sweep_not_one_config(split_folder, tmp_path):
    """SIGTERM during the first config: the sweep stops there (that run keeps its finished epoch
    for a resume) instead of going on to train the next configs."""
    import subprocess
    import sys

    script = f"""
from dataclasses import replace
from effnet_lib.training.config import TrainConfig
from effnet_lib.study.sweeps import sweep
base = TrainConfig(data={str(split_folder)!r}, model=None, width=0.25, depth=0.25, image_size=32, epochs=30, \
batch_size=8)
sweep([base, replace(base, seed=1), replace(base, seed=2)], {str(tmp_path)!r}, progress=False)
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120
    while not list((tmp_path / "runs").glob("*/history.csv")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Interrupted: SIGTERM" in err, err[-2000:]
    assert len(list((tmp_path / "runs").iterdir())) == 1  # no second config started
    assert not list(tmp_path.glob("*.json"))  # and no row was cached for the stopped one
