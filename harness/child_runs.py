"""Child `smis-harness run` processes, several at once: used by `smis-harness selftest` and by a run of
several targets (`harness.multi_target`).

Each child runs in a session of its own (a terminal's Ctrl-C reaches only the parent, which passes the
signal on once, so each child stops new steps and runs its own teardown), writes its output to a log
file, is stopped with SIGTERM after a time limit and killed if it outlives the grace period after that.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_TIMEOUT = 1200.0
"""Seconds one `smis-harness run` may take before it is stopped and counted as an error (a two-group
pair run takes about a minute on the simulated arrays)."""
KILL_GRACE = 60.0
"""Seconds a stopped run has to tear down and write its files before it is killed."""


def harness_command() -> list[str]:
    """`smis-harness` as this interpreter runs it (also where the console script is not installed)."""
    return [sys.executable, "-m", "harness.command_line"]


@dataclass(frozen=True)
class Finished:
    code: int  # the child's exit code (negative: killed by that signal)
    failure: str | None  # why the run cannot count as having ended by itself, or None
    seconds: float


class Children:
    """Runs child processes (any number of threads may call `run`); stops them all on `interrupt`."""

    def __init__(self, timeout: float = RUN_TIMEOUT, grace: float = KILL_GRACE) -> None:
        self.timeout = timeout
        self.grace = grace
        self.stop = threading.Event()
        self.stopped_by: str | None = None
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def interrupt(self, signum: int) -> int | None:
        """Refuse new children; pass the signal once to each running one. Returns how many were signalled,
        None when an earlier signal already stopped them (later signals are not passed on)."""
        with self._lock:  # a child is signalled here or in `run`, never in both
            if self.stop.is_set():
                return None
            self.stopped_by = signal.Signals(signum).name
            self.stop.set()
            running = list(self._running.values())
        for proc in running:
            signal_child(proc, signum)
        return len(running)

    def pass_on(self, signum: int) -> None:
        """Signal every running child again (after `interrupt`: a second signal skips their teardown)."""
        with self._lock:
            running = list(self._running.values())
        for proc in running:
            signal_child(proc, signum)

    def run(self, name: str, command: list[str], log: Path) -> Finished:
        """Run `command` to its end (output into `log`); `name` identifies it while it runs."""
        started = time.monotonic()
        failure = None
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, env={**os.environ, "TERM": "dumb"})  # fmt: skip
            with self._lock:
                self._running[name] = proc
                late = self.stopped_by if self.stop.is_set() else None
            if late:  # the signal came while this child was starting: it gets it too
                signal_child(proc, signal.Signals[late])
            try:
                code = self._wait(proc)
            except subprocess.TimeoutExpired:
                failure = f"timed out after {self.timeout:g} s (stopped with SIGTERM)"
                code = self._stop(proc)
            finally:
                with self._lock:
                    self._running.pop(name, None)
        if code < 0:
            failure = failure or f"the run was killed by {signal.Signals(-code).name}"
        return Finished(code, failure, time.monotonic() - started)

    def _wait(self, proc: subprocess.Popen[bytes]) -> int:
        return proc.wait(timeout=self.timeout)

    def _stop(self, proc: subprocess.Popen[bytes]) -> int:
        signal_child(proc, signal.SIGTERM)
        try:
            return proc.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            signal_child(proc, signal.SIGKILL)
            return proc.wait()


@contextlib.contextmanager
def signals_to(handler: Callable[[int], object]) -> Iterator[None]:
    """SIGINT and SIGTERM call `handler(signum)` inside the block (main thread only; elsewhere a no-op)."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda s, _f: handler(s))
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def signal_child(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Signal a child this process started (its own process group: it and what it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


def read_results(run_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """A run directory's results.json document, or None and why there is none."""
    path = run_dir / "results.json"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return None, "no results.json was written"
    except (OSError, ValueError) as exc:
        return None, f"results.json unreadable ({exc})"
    if not isinstance(document, dict):
        return None, "results.json is not a JSON object"
    return document, ""


def last_line(log: Path, limit: int = 200) -> str:
    """The last non-blank line a child printed (shortened), for a one-line reason."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    if not lines:
        return "(nothing printed)"
    text = " ".join(lines[-1].split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
