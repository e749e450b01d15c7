"""The console of `smis-harness run`: what it shows while it runs and when it ends.

While a row runs, one live line says which row, which stage, what the harness waits for and the time
elapsed against the limit; on a terminal it is redrawn in place (carriage return and ANSI erase, at most
`refresh` apart), under the lines of the row's steps (free text is never hidden: the console cannot tell
a command sent to an array or a prompt to the operator from chatter); when the row is decided a final
line replaces it (id, verdict, reason cut to the width). At the end: a verdict table (row, array,
verdict, reason cut to the terminal's width), the run's problems, and the overall headline as the last
line on stdout ("results: <path>" goes to stderr just before it).

Not on a terminal (CI logs, pipes), or when pytest's own output is shown (`-- -v`), every event is one
plain line, written and flushed as it happens, in the words the harness always used ("T107-02: stage
failover (in progress)", "  waiting for stage failover (limit 60s)", "T107-02: PASS ..."): no control
characters.

Every text goes through `Console.redact` (the run's redaction, set by the pytest plugin) right before
it is written, the live line and the table included.

`Display` is what the harness calls (journey and run); `LineDisplay` turns its events into the plain
lines of a `progress(text)` callable, for callers without a console (`smis-harness restore`, pytest run
directly).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

ERASE = "\r\x1b[K"  # back to the line's start, erase to its end
PLAIN_WIDTH = 120  # the verdict table's width when no terminal says (COLUMNS, when set, does)
MARKS = {"pass": "PASS", "fail": "FAIL", "not_observed": "NOT OBSERVED", "skipped": "SKIPPED"}


class Decided(Protocol):
    """What the console reads of a decided row (`harness.verdicts.RowResult`)."""

    @property
    def id(self) -> str: ...
    @property
    def verdict(self) -> Any: ...
    @property
    def reason(self) -> str: ...


class Display(Protocol):
    """The events of a run, as the harness reports them."""

    def note(self, text: str) -> None:
        """Anything else worth a line (a stage transition, a command sent, preflight, teardown)."""

    def row_started(self, row_id: str, stage: str, in_progress: bool) -> None:
        """The harness drives the group to `stage` to judge `row_id` there."""

    def waiting(self, what: str, elapsed: float, limit: float | None, *, by: str | None = None) -> None:
        """Waiting for `what` (`by`: whose wait, a stage or a row); `elapsed` 0 when the wait starts, then
        heartbeats; `limit` the wait's time limit in seconds (None: not known yet)."""

    def row_decided(self, result: Decided) -> None:
        """The row's verdict is recorded."""


def verdict_mark(verdict: object) -> str:
    return MARKS.get(str(verdict), "ERROR")


def started_text(row_id: str, stage: str, in_progress: bool) -> str:
    return f"{row_id}: stage {stage}{' (in progress)' if in_progress else ''}"


def waiting_text(what: str, elapsed: float, limit: float | None, by: str | None = None) -> str:
    whose = f"{by}: " if by else ""
    if elapsed <= 0:
        return f"  {whose}waiting for {what}" + (f" (limit {limit:g}s)" if limit is not None else "")
    left = f", {max(0.0, limit - elapsed):.0f}s left" if limit is not None else ""
    return f"  {whose}waiting for {what} ({elapsed:.0f}s elapsed{left})"


def decided_text(result: Decided) -> str:
    return f"{result.id}: {verdict_mark(result.verdict)} {result.reason}"


class LineDisplay:
    """Each event as the plain line the harness always printed, handed to `progress` (which redacts)."""

    def __init__(self, progress: Callable[[str], None]) -> None:
        self.progress = progress

    def note(self, text: str) -> None:
        self.progress(text)

    def row_started(self, row_id: str, stage: str, in_progress: bool) -> None:
        self.progress(started_text(row_id, stage, in_progress))

    def waiting(self, what: str, elapsed: float, limit: float | None, *, by: str | None = None) -> None:
        self.progress(waiting_text(what, elapsed, limit, by))

    def row_decided(self, result: Decided) -> None:
        self.progress(decided_text(result))


@dataclass
class _Row:
    id: str
    stage: str
    in_progress: bool
    since: float


@dataclass
class _Wait:
    what: str
    by: str | None
    since: float
    limit: float | None


class Console:
    """The run's display on `stream` (stdout); `err` (stderr) gets where the results are.

    `live`: redraw one line in place (default: `stream` is a terminal whose TERM is not "dumb", and
    pytest's own output is not shown). A live console writes through its own descriptor of `stream`
    (pytest's output capture swaps file descriptor 1 while a test runs) and redraws from a thread, at
    most every `refresh` seconds (0: only when something happens; tests call `tick`).
    `shows_pytest`: pytest's own output is on too (`-- -v`): plain lines, through pytest's terminal writer
    while it runs (`attach`) so that they never land inside one of its lines.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        err: TextIO | None = None,
        live: bool | None = None,
        shows_pytest: bool = False,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh: float = 0.25,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.shows_pytest = shows_pytest
        self.live = (not shows_pytest and is_terminal(self.stream)) if live is None else live
        self.redact: Callable[[str], str] = lambda text: text
        self._width = width
        self._clock = clock
        self._refresh = refresh
        self._lock = threading.RLock()
        self._attached: Callable[[str], None] | None = None
        self._out = _own_descriptor(self.stream) if self.live else self.stream
        self._row: _Row | None = None
        self._wait: _Wait | None = None
        self._shown = ""  # the live line on the screen (the cursor stands at its end)
        self._drawn_at = -math.inf
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()

    # ------------------------------------------------------------------ where plain lines go
    def attach(self, write_line: Callable[[str], None]) -> None:
        """While pytest runs, plain lines go through `write_line` (its terminal writer, with its capture
        suspended). A live console keeps its own descriptor."""
        if not self.live:
            self._attached = write_line

    def detach(self) -> None:
        self._attached = None

    # ------------------------------------------------------------------ Display
    def note(self, text: str) -> None:
        with self._lock:
            self._wait = None  # something else happens: the wait is over
            self._line(self.redact(text))  # on a terminal above the live line, which comes back under it

    def row_started(self, row_id: str, stage: str, in_progress: bool) -> None:
        with self._lock:
            if not self.live:
                self._line(self.redact(started_text(row_id, stage, in_progress)))
                return
            self._row, self._wait = _Row(row_id, stage, in_progress, self._clock()), None
            self._draw(force=True)

    def waiting(self, what: str, elapsed: float, limit: float | None, *, by: str | None = None) -> None:
        with self._lock:
            if not self.live:
                self._line(self.redact(waiting_text(what, elapsed, limit, by)))
                return
            self._wait = _Wait(what, by, self._clock() - max(0.0, elapsed), limit)
            self._draw(force=elapsed <= 0)

    def row_decided(self, result: Decided) -> None:
        with self._lock:
            text = self.redact(decided_text(result))
            if self.live:
                self._row, self._wait = None, None
                text = cut(text, self.width())
            self._line(text)

    # ------------------------------------------------------------------ the end
    def settle(self) -> None:
        """No row is under way any more (its test ended, or the session): the live line goes."""
        with self._lock:
            self._row, self._wait = None, None
            self._clear()

    def headline(self, where: str, headline: str) -> None:
        """`where` the results are (stderr), then the overall verdict (stdout)."""
        with self._lock:
            self.settle()
            self._flush_stream()
            self.err.write(self.redact(where) + "\n")
            self.err.flush()
            self._write(self.redact(headline) + "\n")

    def finish(self, document: Mapping[str, Any], where: str) -> None:
        """The verdict table, the run's problems, where the results are, and the headline, last."""
        with self._lock:
            self.settle()
            width = self.width()
            lines = verdict_table(document.get("rows") or [], width, cut_all=self.live)
            problems = (document.get("overall") or {}).get("problems") or []
            lines += [cut(f"problem: {p}", width) if self.live else f"problem: {p}" for p in problems]
            self._flush_stream()
            self._write("".join(self.redact(line) + "\n" for line in lines))
            self.headline(where, str(document.get("headline", "")))

    def close(self) -> None:
        self._stopped.set()
        with self._lock:
            self.settle()
            if self._out is not self.stream:
                with contextlib.suppress(OSError):
                    self._out.close()
                self._out = self.stream

    # ------------------------------------------------------------------ drawing
    def width(self) -> int:
        if self._width:
            return self._width
        if self.live:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                columns = os.get_terminal_size(self._out.fileno()).columns
                if columns > 0:
                    return columns
        with contextlib.suppress(ValueError):
            columns = int(os.environ.get("COLUMNS", ""))
            if columns > 0:
                return columns
        return 80 if self.live else PLAIN_WIDTH

    def tick(self) -> None:
        """Redraw the live line with the time now (the ticker thread calls this)."""
        with self._lock:
            if self._row is not None or self._wait is not None:
                self._draw(force=True)

    def live_text(self) -> str | None:
        """The live line as it reads now; None when nothing is under way."""
        row, wait, now = self._row, self._wait, self._clock()
        if row is None and wait is None:
            return None
        parts = [f"{row.id} stage {row.stage}{' (in progress)' if row.in_progress else ''}"] if row else []
        if wait is not None:
            elapsed = now - wait.since
            parts.append(f"{elapsed:.0f}s / {wait.limit:g}s" if wait.limit is not None else f"{elapsed:.0f}s")
            whose = f"{wait.by}: " if wait.by and (row is None or wait.by != row.id) else ""
            parts.append(f"{whose}waiting for {wait.what}")
        elif row is not None:
            parts.append(f"{now - row.since:.0f}s")
        return "  ".join(parts)

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        text = self.live_text()
        if text is None:
            self._clear()
            return
        now = self._clock()
        if not force and now - self._drawn_at < self._refresh:
            return  # the ticker draws it soon
        text = cut(self.redact(text), self.width() - 1)
        if text != self._shown:
            self._out.write(ERASE + text)
            self._out.flush()
            self._shown, self._drawn_at = text, now
        self._start_ticker()

    def _clear(self) -> None:
        if self._shown:
            self._out.write(ERASE)
            self._out.flush()
            self._shown = ""

    def _line(self, text: str) -> None:
        """One permanent line (already redacted); a live line comes back under it."""
        if self._attached is not None:
            self._attached(text)
            return
        self._clear()
        self._flush_stream()
        self._write(text + "\n")
        self._draw(force=True)

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()  # as it happens: a pipe or a file is block-buffered

    def _flush_stream(self) -> None:
        """What others wrote to `stream` (pytest, print) comes before what the console writes next."""
        if self._out is not self.stream:
            with contextlib.suppress(OSError, ValueError):
                self.stream.flush()

    def _start_ticker(self) -> None:
        if self._ticker is not None or self._refresh <= 0 or self._stopped.is_set():
            return

        def run() -> None:
            while not self._stopped.wait(self._refresh):
                self.tick()

        self._ticker = threading.Thread(target=run, name="console", daemon=True)
        self._ticker.start()


def verdict_table(rows: Sequence[Mapping[str, Any]], width: int, cut_all: bool = True) -> list[str]:
    """Row, array, verdict and reason of every row in scope. The reason is cut to `width` (only PASS
    reasons unless `cut_all`: in a log, a failure's reason is kept whole)."""
    cells = [
        (str(r.get("id")), _arrays(r.get("array")), verdict_mark(r.get("verdict")), str(r.get("reason") or ""))
        for r in rows
        if r.get("in_scope", True)
    ]
    if not cells:
        return ["no row in scope"]
    head = ("row", "array", "verdict", "reason")
    sizes = [max(len(c[i]) for c in [head, *cells]) for i in range(3)]
    rule = ("-" * sizes[0], "-" * sizes[1], "-" * sizes[2], "-" * max(6, width - sum(sizes) - 6))

    def line(cell: tuple[str, str, str, str]) -> str:
        text = "  ".join(c.ljust(n) for c, n in zip(cell[:3], sizes, strict=True)) + "  " + cell[3]
        return cut(text, width) if cut_all or cell[2] == "PASS" or cell in (head, rule) else text.rstrip()

    return [line(head), line(rule), *(line(c) for c in cells)]


def cut(text: str, width: int) -> str:
    text = text.rstrip()
    if width <= 3 or len(text) <= width:
        return text
    return text[: width - 3] + "..."


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def _arrays(array: object) -> str:
    if isinstance(array, list | tuple):
        return ", ".join(str(a) for a in array)
    return str(array) if array else "-"


def _own_descriptor(stream: TextIO) -> TextIO:
    """A file of its own on `stream`'s descriptor, so that writes reach the terminal while pytest's capture
    has the descriptor redirected; `stream` itself when it has none (a test's fake stream)."""
    try:
        fd = os.dup(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return stream
    return os.fdopen(fd, "w", encoding=getattr(stream, "encoding", None) or "utf-8", errors="replace")
