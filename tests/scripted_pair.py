"""A scripted pair for millisecond tests of driving and judging: no servers, no threads, a manual clock.

`ScriptedPair` holds what each array's CLI and CIM would show; `ScriptedCli` applies the DR commands to it
as a 3PAR array would (refusing what the array refuses); `ScriptedActions` carries out events and faults;
`ScriptedPoller` is the poller's interface (mark, command windows, wait_for) that takes one sample of every
array each `interval` of manual time while something waits, and a few while a command runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.array_cli import CliResult
from harness.config import builtin_config
from harness.observation import CimPair, CimView, CliView, CliVolume, Observation, RunClock, Timeline

GROUP = {"primary": "rcg", "secondary": "rcg.r1"}
HONEST = {"CopyState": 4, "SyncState": 6, "ProgressStatus": 2}  # Synchronized, Synchronized, Completed


@dataclass
class ArrayState:
    role: str
    status: str = "Started"
    target_status: str = "ready"
    sync: str = "Synced"
    powered: bool = True
    cim: dict[str, Any] = field(default_factory=lambda: dict(HONEST))


class ManualTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class ScriptedPair:
    """What each array shows. Commands take `durations[name]` seconds of manual time, sampled while they run;
    `during[name]` is the state an in-progress command shows meanwhile."""

    def __init__(self) -> None:
        self.time = ManualTime()
        self.clock = RunClock(self.time.t, self.time)
        self.arrays = {"primary": ArrayState("Primary"), "secondary": ArrayState("Secondary")}
        self.durations = {"failover": 1.0, "recover": 2.0, "restore": 1.0, "start": 1.0, "stop": 0.1}
        self.fail_next: set[str] = set()
        self.sent: list[tuple[str, str]] = []  # (array, command) in order
        self.running: str | None = None  # the command under way (while its samples are taken)
        self.volumes_stay_syncing = False  # after recover/start: the resync never ends (a stage that never comes)
        self.poller: ScriptedPoller | None = None

    def view(self, key: str) -> CliView | None:
        a = self.arrays[key]
        if not a.powered:
            return None
        volumes = (CliVolume("v0", "v0", a.sync, a.sync, None),)
        return CliView(GROUP[key], "peer", a.status, a.role, "Sync", a.target_status, volumes)

    def cim_view(self, key: str) -> CimView | None:
        a = self.arrays[key]
        if not a.powered:
            return None
        pair = CimPair("path-v0", "sys", "syn", True, False, "TPD_StorageVolume", "TPD_StorageVolume", "v0",
                       dict(a.cim))  # fmt: skip
        return CimView(f"3PAR:{GROUP[key]}", (pair,))

    def set(self, key: str, **values: Any) -> None:
        for name, value in values.items():
            setattr(self.arrays[key], name, value)

    def link(self, up: bool) -> None:
        for a in self.arrays.values():
            a.target_status = "ready" if up else "failed"
            if not up:
                a.status = "Stopped"


class ScriptedCli:
    """One array's CLI: the DR commands the driver sends, applied to the scripted pair."""

    def __init__(self, pair: ScriptedPair, key: str) -> None:
        self.pair = pair
        self.key = key

    def run(self, text: str, timeout: float | None = None) -> CliResult:
        pair, start = self.pair, self.pair.time()
        pair.sent.append((self.key, text))
        words = text.split()
        name = words[1] if words[0] == "setrcopygroup" else words[0].removesuffix("rcopygroup")
        error = self._apply(name)
        if pair.poller is not None and not error:
            pair.running = name
            try:
                pair.poller.run_for(pair.durations.get(name, 0.1))
            finally:
                pair.running = None
        if not error:
            self._finish(name)
        end = pair.time()
        if error:
            return CliResult(self.key, text, "", error, 1, start, end)
        return CliResult(self.key, text, "", "", 0, start, end)

    def _apply(self, name: str) -> str | None:
        p, s = self.pair.arrays["primary"], self.pair.arrays["secondary"]
        if name in self.pair.fail_next:
            self.pair.fail_next.discard(name)
            return f"{name} failed (armed)"
        if name == "failover":
            if s.role != "Secondary":
                return "not a secondary group"
            s.role, s.status, s.sync = "Primary-Rev", "Stopped", "Stopped"
        elif name == "recover":
            if s.role != "Primary-Rev" or s.target_status != "ready":
                return "cannot recover"
            p.role = "Secondary-Rev"
            for a in (p, s):
                a.status, a.sync = "Started", "Syncing"
        elif name == "restore":
            if s.role != "Primary-Rev":
                return "cannot restore"
            p.role, s.role = "Primary", "Secondary"
        elif name == "stop":
            p.status = s.status = "Stopped"
            p.sync = s.sync = "Stopped"
        elif name == "start":
            if p.role != "Primary":
                return "not a primary group"
            p.status = s.status = "Started"
            p.sync = s.sync = "Syncing"
        return None

    def _finish(self, name: str) -> None:
        """The command's end state (a recover or start returns once the volumes are synced)."""
        if name in ("recover", "start") and not self.pair.volumes_stay_syncing:
            for a in self.pair.arrays.values():
                a.sync = "Synced"


class ScriptedActions:
    """Events and faults: the primary powers off / on (a returning primary learns of a failover)."""

    def __init__(self, pair: ScriptedPair, names: tuple[str, ...] = ("primary_down", "primary_up")) -> None:
        self.pair = pair
        self.actions: dict[str, dict[str, Any]] = {n: {"kind": "script"} for n in names}
        self.ran: list[str] = []

    def available(self) -> set[str]:
        return set(self.actions)

    def run(self, name: str) -> dict[str, Any]:
        self.ran.append(name)
        p, s = self.pair.arrays["primary"], self.pair.arrays["secondary"]
        if name == "primary_down":
            p.powered = False
            s.target_status, s.status, s.sync = "failed", "Stopped", "Stopped"
        elif name == "primary_up":
            p.powered = True
            p.target_status = s.target_status = "ready"
            if s.role == "Primary-Rev":
                p.role, p.status, p.sync = "Secondary-Rev", "Stopped", "Stopped"
        elif name == "restore_fails":
            self.pair.fail_next.add("restore")
        return {"action": name}


class ScriptedPoller:
    """The poller's interface on manual time: a sample of every array every `interval` while waiting."""

    def __init__(self, pair: ScriptedPair, timeline: Timeline, interval: float = 0.25) -> None:
        self.pair = pair
        self.timeline = timeline
        self.interval = interval
        self.stage: str | None = None
        self.group = "rcg"
        self.seq = 0
        self.before_sample: list[Callable[[float], None]] = []  # scripted happenings, called with run time
        pair.poller = self

    def sample(self) -> None:
        for hook in self.before_sample:
            hook(self.pair.clock.now())
        now = self.pair.clock.now()
        for key in self.pair.arrays:
            cli, cim = self.pair.view(key), self.pair.cim_view(key)
            error = None if cli is not None else "unreachable"
            self.timeline.observations.append(
                Observation(key, self.seq, now, now + 0.01, "", cim=cim, cim_error=error, cli=cli, cli_error=error,
                            stage=self.stage, group=self.group)
            )
            self.seq += 1
        self.pair.time.t += self.interval

    def run_for(self, seconds: float) -> None:
        """A command runs: samples back to back (here: one per interval) until it ends."""
        end = self.pair.time() + seconds
        while self.pair.time() < end:
            self.sample()

    def mark(self, kind: str, **details: Any) -> dict[str, Any]:
        event = {"kind": kind, "t": round(self.pair.clock.now(), 3), **details}
        self.timeline.events.append(event)
        return event

    @contextmanager
    def command(self) -> Iterator[None]:
        yield

    def wake(self) -> None:
        """Nothing to wake: this poller samples whenever something waits."""

    def wait_for(self, predicate: Callable[[], Any], deadline: float, heartbeat: Any = None, every: float = 5) -> Any:
        while True:
            result = predicate()
            if result is not None or self.pair.clock.now() >= deadline:
                return result
            self.sample()


@dataclass
class Handle:
    """What the driver needs of an array (harness.connections.ArrayHandle's attributes)."""

    key: str
    cli: ScriptedCli
    group_name: str
    group: Any = None
    cim: Any = None


def scripted(actions: tuple[str, ...] = ("primary_down", "primary_up"), **config_changes: Any) -> dict[str, Any]:
    """A scripted pair with the driver's collaborators: pair, timeline, poller, actions, handles, config."""
    pair = ScriptedPair()
    timeline = Timeline()
    poller = ScriptedPoller(pair, timeline)
    config = builtin_config("pair")
    if config_changes:
        config = config.model_copy(update=config_changes)
    handles = {k: Handle(k, ScriptedCli(pair, k), GROUP[k]) for k in pair.arrays}
    return {"pair": pair, "timeline": timeline, "poller": poller, "actions": ScriptedActions(pair, actions),
            "handles": handles, "config": config}  # fmt: skip


def someone_stops_the_group(s: dict[str, Any], after: float) -> None:
    """Another operator stops the group on both arrays once `after` seconds of run time have passed."""

    def other_operator(now: float) -> None:
        if now > after:
            for key in ("primary", "secondary"):
                s["pair"].set(key, status="Stopped", sync="Stopped")

    s["poller"].before_sample.append(other_operator)
