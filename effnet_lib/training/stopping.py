"""How a training run stops early: `StopOnSignal` turns SIGINT and SIGTERM into a request the
loop honours after the current step (the last finished epoch stays on disk), and
`TrainingStopped` carries the reason, with what was kept, to the caller."""

from __future__ import annotations

import signal
import threading

from ..errors import WorkbookError

__all__ = ["TrainingStopped", "Interrupted", "StopOnSignal"]


class TrainingStopped(WorkbookError, RuntimeError):
    """Training ended early (interrupt or numerical fault); the message says what is kept."""


class Interrupted(TrainingStopped):
    """Training was asked to stop (a signal or a stop request): whoever runs several trainings, a
    sweep, stops too instead of going on to the next."""


class StopOnSignal:
    """SIGINT/SIGTERM ask the loop to stop after the current step instead of killing it."""

    def __init__(self):
        self.signal = None

    def __enter__(self):
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self.previous[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal is not None:  # a second signal: stop now
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name

    def __exit__(self, *exc):
        for s, h in self.previous.items():
            signal.signal(s, h)
