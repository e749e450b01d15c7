"""A recorded run played back as a provider: which recorded answer a request gets (`mock serve --replay`).

Pure logic, no protocol: harness.mock.replay_serve puts the CIM-XML, SSH and control servers in front.

- **Position.** The tour (harness.mock.replay_tour) is a list of steps. The position advances when the
  harness sends the next recorded step: that command on that array over SSH, or that event or fault action
  through the control interface. Anything else is refused (`NotRecorded`), naming what was asked, what the
  recording holds next and where the recording does hold the request, and logged.
- **Samples.** Within the segment since the last step, an array's samples are served in the recorded
  order: a request that starts a sample (its first read: `showrcopy targets`, ...) gets the next recorded
  sample of the segment, and the rest of that sample's reads follow it, so one replayed sample shows one
  recorded moment (CLI and CIM agree as they did). Served in order, the replay shows every recorded
  sample once, whatever its own pace: the settle counts and in-progress states the verdicts rest on are
  the recorded ones. Past the segment's last sample, the last one is served again (the recorded run moved
  on from there). Reads outside samples (preflight, discovery, entity probes) come in their recorded order,
  per request.
- **Commands take their time.** A replayed command answers with the recorded output and status after the
  recorded duration, and not before every array has been sampled through the samples recorded while it
  ran (at most `grace` seconds longer): the samples a replayed command's window holds are the ones the
  recorded window held. While it runs no sample recorded after it ended is served (the last one recorded
  during it is served again).
- **Reachability** follows the clock: an array answers (SSH, CIM) as its recorded sample at the same
  elapsed time since the segment began did; a recorded connection error becomes a hang-up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.array_cli import CliResult
from harness.cim import Answer
from harness.mock.replay_tour import Read, Sample, Step, Tour, cli_key, describe_key, is_read

CONTINUE = 5.0
"""Seconds within which a request may still be the next read of the sample being served."""
GRACE = 10.0
"""Seconds a replayed command may take beyond its recorded duration while the poller catches up."""


class NotRecorded(Exception):
    """A request the recording does not hold at this point of the tour; the message says what and where."""


@dataclass(frozen=True)
class Hangup:
    """The recorded provider did not answer this request (connection error): hang up."""

    text: str


@dataclass
class _Served:
    sample: Sample
    cursor: int
    at: float


class Replay:
    """The tour's position and what each request gets. Thread-safe; `clock` is seconds (monotonic)."""

    def __init__(self, tour: Tour, clock: Callable[[], float] = time.monotonic, log: Callable[[str], None] = print,
                 grace: float = GRACE) -> None:  # fmt: skip
        self.tour = tour
        self.clock = clock
        self.log = log
        self.grace = grace
        self.position = 0
        self.refusals: list[str] = []
        self._began: dict[int, float] = {}  # segment -> replay time it began
        self._next: dict[tuple[int, str, str], int] = {}
        self._served: dict[str, _Served] = {}
        self._started: dict[str, int] = {}  # array -> index of the last sample started
        self._running: tuple[Step, float] | None = None  # a command being replayed, and when it began
        self._lock = threading.Condition()

    # ------------------------------------------------------------------ time
    def _begin(self) -> None:
        """A request: the first one begins segment 0 (the replayed run's clock starts there)."""
        self._began.setdefault(self.position, self.clock())

    def _elapsed(self) -> float:
        """Seconds since the current segment began (0 before the first request)."""
        began = self._began.get(self.position)
        return 0.0 if began is None else self.clock() - began

    def _recorded_now(self) -> float:
        """The moment of the recorded run that corresponds to now."""
        return self.tour.segment_start(self.position) + self._elapsed()

    # ------------------------------------------------------------------ requests
    def cli(self, array: str, command: str) -> CliResult | Step | Hangup:
        """A CLI command: a read's recorded result, the step it performs (`finish_step` waits for it), or a
        hang-up (the array's CLI was not reachable at this point of the recorded run)."""
        with self._lock:
            self._begin()
            if not is_read(command):
                return self._step("command", command, array)
            if not self.available(array, "cli"):
                return Hangup(f"{array}: the recorded array's CLI did not answer then")
            read = self._pick(array, cli_key(command))
            result = self.tour.recording.transcript[read.ref]
            self._lock.notify_all()
            return result

    def cim(self, array: str, key: str) -> Answer | Hangup:
        """A CIM operation (its `cim_key`): the recorded answer, or a hang-up."""
        with self._lock:
            self._begin()
            if not self.available(array, "cim"):
                return Hangup(f"{array}: the recorded provider did not answer then")
            read = self._pick(array, key)
            self._lock.notify_all()
            if read.hangup:
                return Hangup(f"{array}: the recorded provider did not answer {describe_key(key, 120)}")
        return self.tour.recording.answer(read.ref)

    def action(self, kind: str, name: str) -> Step:
        """An event or fault action sent through the control interface."""
        with self._lock:
            self._begin()
            return self._step(kind, name, None)

    def available(self, array: str, interface: str) -> bool:
        """Whether `array`'s `interface` ("cli" or "cim") answers now, as the recorded one did."""
        with self._lock:
            sample = self._sample_at(array, self._recorded_now())
        if sample is None:
            return True
        return sample.cli_up if interface == "cli" else sample.cim_up

    def finish_step(self, step: Step, abort: threading.Event | None = None) -> None:
        """Block until the step has taken its recorded time (a command: and its samples were served)."""
        with self._lock:
            while not self.step_done(step) and not (abort is not None and abort.is_set()):
                self._lock.wait(0.05)
            if self._running is not None and self._running[0] is step:
                self._running = None
            self._lock.notify_all()

    def remaining(self) -> list[Step]:
        """The steps the recording holds that were not replayed (yet)."""
        return self.tour.steps[self.position :]

    # ------------------------------------------------------------------ steps
    def _step(self, kind: str, what: str, array: str | None) -> Step:
        steps = self.tour.steps
        expected = steps[self.position] if self.position < len(steps) else None
        if expected is None or (expected.kind, expected.what, expected.array) != (kind, what, array):
            asked = f"`{what}` on {array}" if kind == "command" else f"{kind} action {what}"
            after = f"after step {self.position} ({steps[self.position - 1].describe()})" if self.position else \
                "before the first step"
            then = f"the recorded run's next step was {expected.describe()}" if expected else \
                "the recorded run took no further step"
            self._refuse(f"{asked}: the recording does not contain it {after}: {then}")
        assert expected is not None
        self.position += 1
        now = self.clock()
        self._began[self.position] = now
        if kind == "command":
            self._running = (expected, now)
        return expected

    def step_done(self, step: Step) -> bool:
        """Whether `step` has taken its recorded time (a command: and every array was sampled through the
        samples recorded while it ran, or `grace` seconds more went by)."""
        with self._lock:
            return self._taken(step)

    def _taken(self, step: Step) -> bool:
        began = self._began.get(step.index + 1, self.clock())
        elapsed = self.clock() - began
        duration = step.t_end - step.t_start
        if elapsed < duration:
            return False
        if step.kind != "command" or elapsed >= duration + self.grace:
            return True
        return all(self._started.get(a, -1) >= s[-1].index for a in self.tour.arrays
                   if (s := self.tour.in_window(a, step.t_start, step.t_end)) and self.available(a, "cim"))  # fmt: skip

    # ------------------------------------------------------------------ reads
    def _pick(self, array: str, key: str) -> Read:
        served = self._served.get(array)
        now = self.clock()
        if served is not None and served.cursor < len(served.sample.reads) and now - served.at < CONTINUE:
            read = served.sample.reads[served.cursor]
            if read.key == key:
                served.cursor += 1
                served.at = now
                return read
        entries = self.tour.entries(self.position, array, key)
        if entries:
            return self._entry(array, key, entries, now)
        reads = self.tour.by_key(self.position, array, key)
        if reads:  # the middle of a sample, asked out of turn: the recorded answer nearest in time
            moment = self._recorded_now()
            return next((r for r in reversed(reads) if r.t <= moment), reads[0])
        earlier = self._before(array, key, now)
        if earlier is None:
            self._refuse(self._not_held(array, key))
        assert earlier is not None
        return earlier

    def _before(self, array: str, key: str, now: float) -> Read | None:
        """A segment in which the recorded poller never got to `array` (two steps back to back): its last
        answer before, from the last segment that has one; None if that segment sampled the array without
        this request."""
        if self.tour.segment_samples(self.position, array):
            return None
        for segment in range(self.position - 1, -1, -1):
            samples = self.tour.segment_samples(segment, array)
            last = samples[-1] if samples else None
            if last is not None and last.reads and last.reads[0].key == key:
                self._served[array] = _Served(last, 1, now)
                return last.reads[0]
            reads = self.tour.by_key(segment, array, key)
            if reads:
                return reads[-1]
            if samples:
                return None
        return None

    def _entry(self, array: str, key: str, entries: list[Read], now: float) -> Read:
        where = (self.position, array, key)
        index = self._next.get(where, 0)
        chosen = min(index, len(entries) - 1)
        running = self._running[0] if self._running is not None else None
        if running is not None and chosen > 0 and self._ended_after(entries[chosen], running.t_end) \
                and index < len(entries):
            chosen -= 1  # the command still runs: what was recorded after it ended must wait
        else:
            self._next[where] = index + 1
        read = entries[chosen]
        if read.sample is not None:
            sample = self.tour.samples[read.sample]
            self._served[array] = _Served(sample, 1, now)
            self._started[array] = max(self._started.get(array, -1), sample.index)
        return read

    def _ended_after(self, read: Read, moment: float) -> bool:
        """Whether `read` (for a sample's first read: its whole sample) was answered at or after `moment`."""
        end = self.tour.samples[read.sample].t_end if read.sample is not None else read.t
        return max(read.t, end) >= moment

    def _sample_at(self, array: str, moment: float) -> Sample | None:
        """The array's recorded sample at `moment` of the current segment (the segment's first before that;
        the last one before the segment when it has none)."""
        samples = self.tour.segment_samples(self.position, array)
        if samples:
            return next((s for s in reversed(samples) if s.t_start <= moment), samples[0])
        start = self.tour.segment_start(self.position)
        return next((s for s in reversed(self.tour.array_samples(array)) if s.t_start < start), None)

    def _not_held(self, array: str, key: str) -> str:
        segments = self.tour.knows(array, key)
        where = "nowhere" if not segments else "only " + ", ".join(self._segment_name(s) for s in segments[:4])
        return (f"{describe_key(key)} on {array}: the recording does not contain it "
                f"{self._segment_name(self.position)} (it holds it {where})")  # fmt: skip

    def _segment_name(self, segment: int) -> str:
        if segment == 0:
            return "before the first step"
        return f"after step {segment} ({self.tour.steps[segment - 1].describe()})"

    def _refuse(self, text: str) -> None:
        message = f"replay of {self.tour.name}: {text}"
        self.refusals.append(message)
        self.log(message)
        raise NotRecorded(message)

