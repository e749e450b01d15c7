"""One driver per array: a disruptive run holds an exclusive lock per array, keyed by its serial, for its
whole duration. A second run against an array in use is refused with the holder's pid, host and start.

The locks are files under `$SMIS_HARNESS_LOCK_DIR` (default `~/.local/state/smis-harness/locks`), held
with flock: they cover runs from this machine (or any machine sharing that directory); a crashed run
releases its lock with its process.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class ArrayInUse(Exception):
    """Another run holds an array of this run; the message names the holder."""


def lock_dir() -> Path:
    configured = os.environ.get("SMIS_HARNESS_LOCK_DIR")
    return Path(configured) if configured else Path.home() / ".local" / "state" / "smis-harness" / "locks"


class ArrayLocks:
    """The locks of one run; `acquire` takes all or none."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or lock_dir()
        self._held: list[IO[str]] = []

    def acquire(self, arrays: Iterable[tuple[str, str]], holder: dict[str, str]) -> None:
        """Lock every (array key, serial); raises ArrayInUse (holding nothing) if one is taken."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArrayInUse(f"cannot create the lock directory {self.directory}: {exc.strerror or exc} "
                             "(set SMIS_HARNESS_LOCK_DIR to a writable directory)") from None  # fmt: skip
        for key, serial in arrays:
            try:
                self._take(key, serial, holder)
            except ArrayInUse:
                self.release()
                raise

    def _take(self, key: str, serial: str, holder: dict[str, str]) -> None:
        path = self.directory / f"array-{_safe(serial)}.lock"
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            found = _holder_text(handle.read())
            handle.close()
            raise ArrayInUse(f"array {key} (serial {serial}) is in use by another smis-harness run: {found}; "
                             f"wait for it to end (lock file {path})") from None  # fmt: skip
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({**holder, "array": key, "serial": serial}))
        handle.flush()
        self._held.append(handle)

    def release(self) -> None:
        for handle in self._held:
            handle.close()  # closing the descriptor releases the flock
        self._held.clear()


def holder_info(report_dir: Path) -> dict[str, str]:
    return {"pid": str(os.getpid()), "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"), "report_dir": str(report_dir)}  # fmt: skip


def _holder_text(text: str) -> str:
    try:
        info = json.loads(text)
    except ValueError:
        return "holder unknown"
    return (f"pid {info.get('pid')} on host {info.get('host')}, started {info.get('started')}, "
            f"writing to {info.get('report_dir')}")  # fmt: skip


def _safe(serial: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in serial) or "unknown"
