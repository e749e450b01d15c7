"""SIGINT and SIGTERM during a run: the first stops new steps (pytest sees a KeyboardInterrupt and ends
the session, whose finish runs teardown and writes every result file); a second one skips teardown,
and the results say which commands to run by hand. A signal that arrives while teardown already runs
does not stop it; only a second one does. Later signals are ignored while the results are written.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class SecondInterrupt(KeyboardInterrupt):
    """Raised by a second signal: give up teardown, still write what is decided."""


class Interrupts:
    """Counts the signals received while installed (main thread only)."""

    def __init__(self) -> None:
        self.signals: list[str] = []
        self.tearing_down = False
        self.skipped_teardown = False
        self.writing = False  # teardown is over: later signals must not cut the result files short

    @property
    def first(self) -> str | None:
        return self.signals[0] if self.signals else None

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        self.signals.append(signal.Signals(number).name)
        if self.skipped_teardown or self.writing:
            return
        if len(self.signals) == 1 and not self.tearing_down:
            raise KeyboardInterrupt(f"{self.signals[0]} received: stopping new steps, then teardown")
        if len(self.signals) == 1:
            print(f"{self.signals[0]} received during teardown: teardown goes on (again to skip it)", flush=True)
            return
        self.skipped_teardown = True
        raise SecondInterrupt(f"{self.signals[-1]} received again: skipping teardown")

    @contextmanager
    def installed(self) -> Iterator[Interrupts]:
        """Handle SIGINT and SIGTERM inside the block (a no-op outside the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
