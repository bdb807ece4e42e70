"""SIGTERM and SIGHUP stop a build as cleanly as Ctrl-C.

Python turns SIGINT into `KeyboardInterrupt`, which unwinds the stack: the
atomic writer deletes its temporary file and WeasyPrint's font folder
(`weasyprint-*` in the temp folder) is removed when its object is freed. A
SIGTERM (CI cancelling a job, `kill`) or SIGHUP (a closed terminal) would kill
the process on the spot and leave both behind, so while a verb runs they raise
`Stopped` instead, which unwinds the same way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_NAMES = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; `exit_code` is 128 + the signal number, as a shell reports it."""

    def __init__(self, signum: int):
        super().__init__(f"{_NAMES.get(signal.Signals(signum), 'stopped')} (signal {signum})")
        self.exit_code = 128 + signum


def _raise(signum: int, frame: object) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def stopped_cleanly() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise `Stopped`; the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = {signum: signal.signal(signum, _raise) for signum in _NAMES}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
