"""The poller: samples every array (CIM + CLI) at a fixed interval into the run's timeline.

One thread per array, so a slow or unreachable array does not stall the others.
Every observation is appended to the timeline and written to observations.jsonl
as it is taken (a crash loses nothing already observed). Waiting helpers give
verdict code new samples with a deadline.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from harness.array_cli import ArrayCli, CliError
from harness.cim import ArrayCim, CimError, GroupHandle
from harness.cli_read import CliReadError, read_group
from harness.observe import CimView, CliView, Observation, Timeline


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
    ) -> None:
        self.probes = probes
        self.timeline = timeline
        self.interval = interval
        self.t0 = t0
        self.clock = clock
        self.stage: str | None = None
        self._sink = sink
        self._seq = seq if seq is not None else itertools.count()
        self.group = group
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for probe in self.probes:
            thread = threading.Thread(target=self._loop, args=(probe,), name=f"poll-{probe.array}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def now(self) -> float:
        return self.clock() - self.t0

    def _loop(self, probe: ArrayProbe) -> None:
        while not self._stop.is_set():
            started = self.clock()
            try:
                observation = self.sample(probe)
            except Exception as exc:  # a poller thread must never die; the error becomes evidence
                observation = self._broken(probe, exc)
            self.record(observation)
            self._stop.wait(max(0.0, self.interval - (self.clock() - started)))

    def sample(self, probe: ArrayProbe) -> Observation:
        """CLI, then CIM, then the CLI group state again: if the CLI changed meanwhile, the two interfaces
        may describe different moments, and the observation says so (`consistent=False`)."""
        t_start = self.now()
        wall = datetime.now(UTC).isoformat(timespec="milliseconds")
        cli_view, cli_error, refs = self._read_cli(probe)
        cim_view, cim_error = self._read_cim(probe)
        consistent = True
        if cli_view is not None:
            after, _, more = self._read_cli(probe)
            refs += more
            consistent = after is not None and group_state(after) == group_state(cli_view)
        return Observation(
            array=probe.array,
            seq=-1,
            t_start=t_start,
            t_end=self.now(),
            wall=wall,
            cim=cim_view,
            cim_error=cim_error,
            cli=cli_view,
            cli_error=cli_error,
            stage=self.stage,
            transcript_ref=",".join(refs) or None,
            consistent=consistent,
        )

    def _read_cim(self, probe: ArrayProbe) -> tuple[CimView | None, str | None]:
        try:
            if probe.group is None:
                probe.group = probe.cim.find_group(probe.group_name)
            return probe.cim.read(probe.group, probe.peer_serial), None
        except CimError as exc:
            return None, str(exc)

    def _read_cli(self, probe: ArrayProbe) -> tuple[CliView | None, str | None, list[str]]:
        try:
            view, results = read_group(probe.cli, probe.group_name, probe.peer)
        except (CliError, CliReadError) as exc:
            return None, str(exc), []
        return view, None, [r.ref for r in results]

    def _broken(self, probe: ArrayProbe, exc: Exception) -> Observation:
        text = f"{probe.array}: observation failed unexpectedly: {type(exc).__name__}: {exc}"
        now = self.now()
        wall = datetime.now(UTC).isoformat(timespec="milliseconds")
        return Observation(probe.array, -1, now, now, wall, cim_error=text, cli_error=text, stage=self.stage)

    def record(self, observation: Observation) -> Observation:
        with self._changed:
            observation = replace(observation, seq=next(self._seq), group=self.group)
            self.timeline.observations.append(observation)
            if self._sink:
                self._sink(observation)
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


def group_state(view: CliView) -> tuple[object, ...]:
    """What of a group's CLI view changes when its state does (role, status, link, volumes)."""
    return (view.role, view.status, view.target_status, tuple(v.sync_status for v in view.volumes))
