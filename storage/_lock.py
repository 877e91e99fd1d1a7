"""One writer per run: an exclusive advisory lock on ``run.lock`` held for the writer's life.

The kernel drops the lock when the process dies (even by kill -9), so a reader can tell a run
that is being written from one whose writer crashed: it tries a shared lock without waiting and
lets go at once, so it never blocks a writer.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path

from inspector.errors import InfomorphError


class WriterLock:
    """Exclusive lock on ``path``; raises InfomorphError naming the holder if it is taken."""

    def __init__(self, path: Path, wait: float = 1.0) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(self._fd, 200, 0).decode(errors="replace").strip()
                    os.close(self._fd)
                    raise InfomorphError(
                        f"run {path.parent} is being written by another process"
                        f"{f' ({holder})' if holder else ''}; two writers on one run are refused"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def writer_alive(path: Path) -> bool:
    """True if some process holds the writer lock of this run now (does not wait)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
