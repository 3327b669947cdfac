"""Timed checks run alone: while one runs, no other Docker test of any run on this machine does (pytest-xdist's
workers, and a project's run inside a test, share the lock by its path). Every other Docker test holds it shared, so a
timed check waits until the tests running beside it have ended, and none starts meanwhile: a timed check is served
in turn, not after every test that comes later. A run of timed checks in a row keeps the lock from one to the next, so
they run as one batch instead of each waiting for the tests beside them to end."""

import fcntl
import tempfile
from pathlib import Path
from typing import IO

LOCK = Path(tempfile.gettempdir()) / "layercake-tests.lock"
# Every taker waits in this line first, and a timed check keeps its place in it until it has the lock: flock alone
# would let shared holders come in forever while a timed check waits.
LINE = LOCK.with_suffix(".line")


class Holder:
    """This process's hold on the lock: none, shared, or alone (exclusive)."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self._alone: bool | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def take(self, alone: bool) -> None:
        """Hold the lock alone or shared, waiting for it unless it is held so already."""
        if self._alone is alone:
            return
        self.release()
        self._file = LOCK.open("a")
        with LINE.open("a") as line:
            fcntl.flock(line, fcntl.LOCK_EX)
            fcntl.flock(self._file, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        self._alone = alone

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
        self._file, self._alone = None, None


HOLDER = Holder()
