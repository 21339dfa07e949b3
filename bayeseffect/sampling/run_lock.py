"""One process at a time works on a run directory: an exclusive lock on its ``.lock`` file.

Two ``sample`` processes on one run would each decode every missing cell and journal it
twice, and two fits of one outcome could leave the posterior of one beside the summary of
the other. So sampling and fitting hold an exclusive ``flock`` on ``RUN/.lock`` for as
long as they work; a second process fails at once with a one-line error instead of
waiting. The kernel releases the lock when its holder exits, ``kill -9`` included, so a
stale lock never needs deleting. The file itself stays (deleting a lock file races with a
process about to lock it); it holds the holder's pid and activity for the error message.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bayeseffect.common.os_errors import reporting_os_errors
from bayeseffect.errors import BayesEffectError

#: The lock file's name inside a run directory.
LOCK = ".lock"


class RunLockedError(BayesEffectError):
    """Another process holds the run directory's lock."""


@contextmanager
def run_lock(run_dir: Path, *, doing: str) -> Iterator[None]:
    """Hold the exclusive lock of an existing run directory for the ``with`` block.

    Parameters
    ----------
    run_dir
        The run directory; it must exist.
    doing
        What this process does there, for the other process's error (``"sampling"``).

    Raises
    ------
    RunLockedError
        At once, when another process holds the lock.
    BayesEffectError
        When the lock file cannot be created (a read-only folder...).
    """
    path = run_dir / LOCK
    with reporting_os_errors(path, doing="creating the lock file"):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(
                f"another process{_read_holder(fd)} {run_dir}; wait for it to finish (or "
                "stop it), then run this command again") from None
        _write_holder(fd, doing)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _read_holder(fd: int) -> str:
    """`` (pid 123) is sampling`` from the lock file, or `` is using`` when unknown."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    pid, _, doing = text.partition(" ")
    return f" (pid {pid}) is {doing}" if pid.isdigit() and doing else " is using"


def _write_holder(fd: int, doing: str) -> None:
    """Record who holds the lock; only ever a help for the message, so failures pass."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {doing}\n".encode(), 0)
    except OSError:
        pass
