"""Where the configs of a sweep train: here, a local process pool, a Dask cluster or a SLURM queue.

`open_executor` gives something with `concurrent.futures.Executor`'s `submit`, or None for
"one after another in this process". The engines are existing ones, not home-made: Python's
`ProcessPoolExecutor` (spawned processes), Dask distributed (`Client.get_executor()`; its
scheduler reruns a task whose worker died on another worker), and dask-jobqueue's
`SLURMCluster`, which submits Dask workers as SLURM jobs.

A result depends on the torch threads it ran with; the sweep fixes them (see
`sweeps.sweep`), so a local pool of N processes runs N configs at once with that many threads
each, and the rows are the same as a sequential run's.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ..errors import MissingPackageError, ParameterError

__all__ = ["Slurm", "LocalPool", "open_executor", "resubmitting", "EXECUTORS"]

EXECUTORS = ("local", "dask", "slurm")


@dataclass(frozen=True)
class Slurm:
    """What a SLURM cluster asks of each worker job (dask-jobqueue's SLURMCluster options)."""

    partition: str | None = None
    cores: int = 2
    memory: str = "8GB"
    walltime: str = "02:00:00"
    jobs: int = 4  # worker jobs to ask for
    account: str | None = None
    extra: tuple[str, ...] = ()  # further #SBATCH lines, e.g. ("--gres=gpu:1",)


class LocalPool:
    """A pool of spawned worker processes that starts afresh when one of them dies: the configs it
    held are submitted again (`resubmitting`), so a killed worker never loses the sweep."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self._pool = self._start()

    def _start(self):
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn, *args, **kwargs):
        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, cancel_futures=False):
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@contextlib.contextmanager
def open_executor(kind: str = "local", jobs: int = 1, scheduler: str | None = None, slurm: Slurm | None = None):
    """An executor for `sweeps.sweep`, shut down on leaving the block.

    - ``local``: ``jobs`` worker processes on this machine (1: None, i.e. sequential, as before);
    - ``dask``: the Dask scheduler at ``scheduler`` (``tcp://HOST:8786``), whose workers the user
      started with ``dask scheduler`` and ``dask worker``;
    - ``slurm``: a Dask cluster whose workers are SLURM jobs with the `Slurm` options.
    """
    if kind not in EXECUTORS:
        raise ParameterError(f"`executor={kind}`: choose one of {', '.join(EXECUTORS)}")
    if kind == "local":
        if jobs < 1:
            raise ParameterError(f"`jobs={jobs}`: must be at least 1")
        if jobs == 1:
            yield None
            return
        pool = LocalPool(jobs)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    distributed = _import("distributed", "dask")
    if kind == "dask":
        if not scheduler:
            raise ParameterError(
                "`executor=dask` needs `scheduler=tcp://HOST:8786` (start it with the command dask scheduler)"
            )
        with distributed.Client(scheduler) as client:
            yield client.get_executor(pure=False)
        return
    jobqueue = _import("dask_jobqueue", "slurm")
    s = slurm or Slurm()
    with jobqueue.SLURMCluster(
        queue=s.partition,
        account=s.account,
        cores=s.cores,
        processes=1,
        memory=s.memory,
        walltime=s.walltime,
        job_extra_directives=list(s.extra),
    ) as cluster:
        cluster.scale(jobs=s.jobs)
        with distributed.Client(cluster) as client:
            yield client.get_executor(pure=False)


def _import(module: str, extra: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingPackageError(
            f"`executor={extra}` needs the package {module}: pip install -e '.[cluster]'"
        ) from None


def resubmitting(executor, fn, configs, *args, attempts: int = 3):
    """Submit `fn(config, *args)` for each config and yield (config, result, None) or
    (config, None, traceback text) as they finish. A config whose worker process died is
    submitted again, up to `attempts` times."""
    pending = {executor.submit(fn, c, *args): c for c in configs}
    tries: Counter = Counter()
    while pending:
        future = next(as_completed(list(pending)))
        cfg = pending.pop(future)
        try:
            yield cfg, future.result(), None
        except BrokenProcessPool:
            tries[id(cfg)] += 1  # a config need not be hashable; the same object is resubmitted
            if tries[id(cfg)] < attempts:
                pending[executor.submit(fn, cfg, *args)] = cfg
            else:
                yield cfg, None, f"its worker process died {attempts} times"
        except Exception as e:  # noqa: BLE001 - reported by name, the others go on
            yield cfg, None, "".join(traceback.format_exception(e))
