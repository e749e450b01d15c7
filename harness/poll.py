"""The poller: samples every array (CIM + CLI) into the run's timeline.

One thread per array, so a slow or unreachable array does not stall the others.
Between commands a sample starts every `interval` seconds; while a command runs
(`with poller.command():`) samples follow back to back, their starts at least
`min_gap` apart, so a transient state shorter than the interval is still caught.
Every observation is appended to the timeline and written to observations.jsonl
as it is taken (a crash loses nothing already observed). Waiting helpers give
verdict code new samples with a deadline.

With a `recording` (harness.recording), each sample's CIM operations and CLI commands are tied to it, by
phase: a recorded run's observations are rebuilt by `read_cli` and `observation_from`, the functions a
live sample uses.

`transient_checks` says, before anything runs, whether the polling can catch each
command's expected in-progress state (harness.run_command's dry-run plan, the journey's preflight).
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from harness.array_cli import ArrayCli, CliError
from harness.cim import ArrayCim, CimError, GroupHandle
from harness.cli_read import CliReadError, read_group
from harness.observation import CimView, CliView, Observation, Timeline
from harness.recording import Capture, Recording
from harness.stages import stage_for_row, window_command


@dataclass
class ArrayProbe:
    """What the poller needs to observe one array: both interfaces and the group's names on it."""

    array: str
    cim: ArrayCim
    cli: ArrayCli
    group: GroupHandle | None  # None until found (the array may have been unreachable at the start)
    group_name: str  # the group's name on this array
    peer: str  # target system name the rows are about
    peer_serial: str | None = None  # keep only pairs with the peer's volumes (SLD: several targets per volume)


class Poller:
    def __init__(
        self,
        probes: list[ArrayProbe],
        timeline: Timeline,
        interval: float,
        t0: float,
        sink: Callable[[Observation], None] | None = None,
        seq: Iterator[int] | None = None,
        group: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        min_gap: float = 0.1,
        recording: Recording | None = None,
    ) -> None:
        self.probes = probes
        self.timeline = timeline
        self.interval = interval
        self.min_gap = min_gap
        self.t0 = t0
        self.clock = clock
        self.stage: str | None = None
        self._sink = sink
        self._seq = seq if seq is not None else itertools.count()
        self.group = group
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._pace = threading.Condition()  # wakes sleeping threads when a command starts or the poller stops
        self._commands = 0  # commands running now
        self._wakes = 0  # bumped by wake(): every array samples again at once
        self._threads: list[threading.Thread] = []
        self.recording = recording

    def start(self) -> None:
        for probe in self.probes:
            thread = threading.Thread(target=self._loop, args=(probe,), name=f"poll-{probe.array}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        with self._pace:
            self._pace.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)

    def now(self) -> float:
        return self.clock() - self.t0

    @contextmanager
    def command(self) -> Iterator[None]:
        """While the block runs (a command is running on some array), every array is sampled back to back."""
        with self._pace:
            self._commands += 1
            self._pace.notify_all()
        try:
            yield
        finally:
            with self._pace:
                self._commands -= 1
            self.wake()  # what the command did is seen at once, not at the next tick

    def wake(self) -> None:
        """Every array samples again as soon as its current sample (if any) is done: a command returned, or an
        event whose effect is expected was sent."""
        with self._pace:
            self._wakes += 1
            self._pace.notify_all()

    def _loop(self, probe: ArrayProbe) -> None:
        while not self._stop.is_set():
            started = self.clock()
            with self._pace:
                wakes = self._wakes
            with self._capture() as capture:
                try:
                    observation = self.sample(probe)
                except Exception as exc:  # a poller thread must never die; the error becomes evidence
                    observation = self._broken(probe, exc)
                    if capture is not None:
                        capture.broken = observation.cim_error
            self.record(observation, capture, probe)
            self._pause(started, wakes)

    def _capture(self) -> AbstractContextManager[Capture | None]:
        return self.recording.capture() if self.recording is not None else nullcontext()

    def _phase(self, phase: str) -> Capture | None:
        capture = self.recording.current() if self.recording is not None else None
        if capture is not None:
            capture.enter(phase)
        return capture

    def _pause(self, started: float, wakes: int) -> None:
        """Until the next sample is due: `interval` after the last one started, or `min_gap` while a command
        runs (a command that starts during the pause shortens it at once); no pause when `wake()` was called
        since the last sample started."""
        with self._pace:
            while not self._stop.is_set() and self._wakes == wakes:
                gap = self.min_gap if self._commands else self.interval
                remaining = started + gap - self.clock()
                if remaining <= 0:
                    return
                self._pace.wait(remaining)

    def sample(self, probe: ArrayProbe) -> Observation:
        """CLI, then CIM, then the CLI group state again: if the CLI changed meanwhile, the two interfaces
        may describe different moments, and the observation says so (`consistent=False`)."""
        t_start = self.now()
        wall = datetime.now(UTC).isoformat(timespec="milliseconds")
        first = self._read_cli(probe, "cli")
        self._phase("cim")
        cim = self._read_cim(probe)
        after = self._read_cli(probe, "cli_after") if first.view is not None else None
        return observation_from(probe.array, t_start, self.now(), wall, self.stage, first, cim, after)

    def _read_cim(self, probe: ArrayProbe) -> tuple[CimView | None, str | None]:
        try:
            if probe.group is None:
                probe.group = probe.cim.find_group(probe.group_name)
            return probe.cim.read(probe.group, probe.peer_serial), None
        except CimError as exc:
            capture = self._phase("cim")
            if capture is not None and probe.group is None:  # finding the group failed: no recorded line says why
                capture.errors["cim"] = str(exc)
            return None, str(exc)

    def _read_cli(self, probe: ArrayProbe, phase: str) -> CliRead:
        capture = self._phase(phase)
        read = read_cli(probe.cli, probe.group_name, probe.peer)
        if capture is not None and read.transport:  # the array never answered: no transcript line says why
            capture.errors[phase] = read.error or ""
        return read

    def _broken(self, probe: ArrayProbe, exc: Exception) -> Observation:
        text = f"{probe.array}: observation failed unexpectedly: {type(exc).__name__}: {exc}"
        now = self.now()
        wall = datetime.now(UTC).isoformat(timespec="milliseconds")
        return Observation(probe.array, -1, now, now, wall, cim_error=text, cli_error=text, stage=self.stage)

    def record(
        self, observation: Observation, capture: Capture | None = None, probe: ArrayProbe | None = None
    ) -> Observation:
        with self._changed:
            observation = replace(observation, seq=next(self._seq), group=self.group)
            self.timeline.observations.append(observation)
            if self._sink:
                self._sink(observation)
            if self.recording is not None and capture is not None:
                self.recording.sample(observation, capture, probe)
            self._changed.notify_all()
        return observation

    def mark(self, kind: str, **details: Any) -> dict[str, Any]:
        """An event in the timeline (command issued/finished, event action, stage reached)."""
        event = {"kind": kind, "t": round(self.now(), 3), "group": self.group, **details}
        with self._changed:
            self.timeline.events.append(event)
        return event

    def wait_for(
        self,
        predicate: Callable[[], Any],
        deadline: float,
        heartbeat: Callable[[float, float], None] | None = None,
        every: float = 5.0,
    ) -> Any:
        """Re-evaluate `predicate` after each new observation until it returns non-None or time is up.

        `heartbeat(elapsed, remaining)` is called every `every` seconds while waiting (progress output).
        """
        started = self.now()
        next_beat = started + every
        with self._changed:
            while True:
                result = predicate()
                now = self.now()
                if result is not None or now >= deadline:
                    return result
                if heartbeat is not None and now >= next_beat:
                    heartbeat(now - started, deadline - now)
                    next_beat = now + every
                self._changed.wait(timeout=min(self.interval, max(0.01, deadline - now)))


@dataclass(frozen=True)
class CliRead:
    """One read of the group through the CLI: the view, or why there is none, and the transcript refs."""

    view: CliView | None
    error: str | None
    refs: list[str]
    transport: bool = False  # the CLI could not be used at all (no answer), not an answer that did not fit


def read_cli(cli: Any, group_name: str, peer: str) -> CliRead:
    """The group's CLI view (harness.cli_read.read_group) as one sample reads it; `cli` runs commands
    (harness.array_cli.ArrayCli, or a recorded transcript played back)."""
    try:
        view, results = read_group(cli, group_name, peer)
    except CliError as exc:
        return CliRead(None, str(exc), [], transport=True)
    except CliReadError as exc:
        return CliRead(None, str(exc), [])
    return CliRead(view, None, [r.ref for r in results])


def observation_from(
    array: str,
    t_start: float,
    t_end: float,
    wall: str,
    stage: str | None,
    first: CliRead,
    cim: tuple[CimView | None, str | None],
    after: CliRead | None,
) -> Observation:
    """One sample's observation from its reads: the CLI, the CIM side, and the CLI again (taken only when
    the first CLI read gave a view); `consistent` when the CLI group state did not change meanwhile."""
    refs = list(first.refs)
    consistent = True
    if first.view is not None:
        after_view = after.view if after is not None else None
        refs += after.refs if after is not None else []
        consistent = after_view is not None and group_state(after_view) == group_state(first.view)
    return Observation(
        array=array,
        seq=-1,
        t_start=t_start,
        t_end=t_end,
        wall=wall,
        cim=cim[0],
        cim_error=cim[1],
        cli=first.view,
        cli_error=first.error,
        stage=stage,
        transcript_ref=",".join(refs) or None,
        consistent=consistent,
    )


def group_state(view: CliView) -> tuple[object, ...]:
    """What of a group's CLI view changes when its state does (role, status, link, volumes)."""
    return (view.role, view.status, view.target_status, tuple(v.sync_status for v in view.volumes))


# --------------------------------------------------------------------------- can the polling catch a transient?


@dataclass(frozen=True)
class TransientCheck:
    """Whether the polling catches, for sure, the in-progress state of one command.

    A sample counts for an in-progress row only if it starts after the command started and ends before it
    finished. When the command starts, a sample already under way (started before) is finished first, so the
    first counted sample starts at most max(min_gap, sample time) after the command and ends one sample time
    later: a transient of T seconds is caught for sure when max(min_gap, sample time) + sample time <= T.
    """

    command: str  # start | failover | recover | restore
    rows: tuple[tuple[str, str], ...]  # (row id, array) of the in-progress rows this command's run decides
    transient: float  # expected seconds (polling.transients.<command>)
    min_gap: float
    sample_times: Mapping[str, float] | None = None  # measured seconds one sample takes, by array (None: unknown)

    @property
    def longest_sample(self) -> float:
        """The longest sample time with which a transient of `transient` seconds is still caught for sure."""
        return max(0.0, min(self.transient / 2, self.transient - self.min_gap))

    def slow_arrays(self) -> list[str]:
        """Arrays whose measured sample time is too long to catch the transient for sure."""
        times = self.sample_times or {}
        arrays = dict.fromkeys(a for _, a in self.rows)
        return [a for a in arrays if a in times and times[a] > self.longest_sample]

    @property
    def ok(self) -> bool:
        return self.min_gap <= self.transient / 2 and not self.slow_arrays()

    def describe(self) -> str:
        """One line: the rows, what the polling does while the command runs, and whether that catches them."""
        rows = ", ".join(dict.fromkeys(r for r, _ in self.rows))
        head = f"{self.command} ({rows}; expected transient {_s(self.transient)}, polling.transients.{self.command})"
        if self.ok:
            times = self.sample_times or {}
            measured = ", ".join(f"{_s(t)} on {a}" for a, t in times.items() if a in {x for _, x in self.rows})
            how = f"one sample takes {measured}" if measured else "preflight measures the sample time"
            return f"{head}: caught for sure if one sample takes at most {_s(self.longest_sample)} ({how})"
        return f"WARNING {head}: {self._problem()}"

    def _problem(self) -> str:
        half, gap = self.transient / 2, self.min_gap
        parts = []
        advice = f"set polling.min_gap to at most {_s(half)}"
        if gap >= self.transient:
            parts.append(f"polling.min_gap {_s(gap)} is not shorter than the transient, so no sample is sure to "
                         f"land inside it: {advice}")  # fmt: skip
        elif gap > half:
            parts.append(f"polling.min_gap {_s(gap)} is more than half the transient, so only samples of at most "
                         f"{_s(self.longest_sample)} catch it for sure: {advice}")  # fmt: skip
        times = self.sample_times or {}
        slow = [a for a in dict.fromkeys(a for _, a in self.rows) if a in times and times[a] > half]
        if slow:
            measured = ", ".join(f"{_s(times[a])} on {a}" for a in slow)
            parts.append(
                f"one sample takes {measured}, more than the {_s(half)} a sure catch allows whatever the polling "
                "settings (a sample is a CIM read and two showrcopy reads): make the state last longer on the "
                "arrays (more data to resynchronise) or expect the row to be NOT_OBSERVED at times (never a guess)"
            )
        elif self.sample_times is None:
            parts.append("preflight measures how long a sample takes")
        return "; ".join(parts)


def window_rows(rows: Iterable[Any], topology: str) -> list[tuple[str, str, str]]:
    """`(row id, array, command)` for each in-progress row among `rows` (harness.spec.Row) on a pair:
    the command whose run is the row's observation window, and the array the row is judged on."""
    if topology != "pair":
        return []
    found = []
    for row in rows:
        if not row.in_progress:
            continue
        command = window_command(stage_for_row(row.table, stage=row.stage, when=row.when, sync_status=row.sync_status))
        arrays = [row.array] if row.array else ["primary", "secondary"]
        found += [(row.id, array, command) for array in arrays if command]
    return found


def transient_checks(
    rows: Iterable[tuple[str, str, str]],
    transients: Mapping[str, float],
    min_gap: float,
    sample_times: Mapping[str, float] | None = None,
) -> list[TransientCheck]:
    """One check per command from the in-progress rows `(row id, array, command)`; `transients[command]` seconds."""
    by_command: dict[str, list[tuple[str, str]]] = {}
    for row_id, array, command in rows:
        by_command.setdefault(command, []).append((row_id, array))
    return [
        TransientCheck(command, tuple(found), float(transients[command]), min_gap, sample_times)
        for command, found in by_command.items()
    ]


def sample_times(timeline: Timeline, arrays: Iterable[str]) -> dict[str, float]:
    """The median time one sample of each array took so far (arrays without a complete sample left out)."""
    times: dict[str, float] = {}
    for array in arrays:
        spans = [o.t_end - o.t_start for o in timeline.observations if o.array == array and o.complete]
        if spans:
            times[array] = statistics.median(spans)
    return times


def _s(seconds: float) -> str:
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
