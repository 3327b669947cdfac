"""Timed checks run alone: while one runs, no other Docker test of any run on this machine does (pytest-xdist's
workers, and a project's run inside a test, share the lock by its path). Every other Docker test holds it shared, so a
timed check waits until the tests running beside it have ended; the others go on meanwhile, and the timed checks come
last if they must."""

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK = Path(tempfile.gettempdir()) / "layercake-tests.lock"


@contextlib.contextmanager
def holding(alone: bool) -> Iterator[None]:
    """Hold the lock for one test: alone (exclusive) for a timed check, else shared with the other tests."""
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
