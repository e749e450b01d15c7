"""Pure state and mechanics of simulated 3PAR arrays doing Remote Copy.

No protocol code lives here and nothing here knows what the harness expects:
this module models what the arrays do (roles, group status, volume sync status,
links, DR commands that take time), as the 3PAR Remote Copy documentation
describes the array's behaviour. Protocol front ends (cim_view, cli_sim) read
this state and translate it.

Every public method that reads or changes state takes the world lock and first
advances the world to the clock's present, so timed mechanics (a sync finishing,
a failover completing, a lost link being detected, a periodic group's sync
falling due) happen lazily and deterministically. Targets (`targets`,
`target_name`) are configuration: how each array names and numbers its links.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal

from harness.mock.clock import Clock, RealClock
from harness.world_spec import Behaviour


class Role(StrEnum):
    PRIMARY = "Primary"
    SECONDARY = "Secondary"
    PRIMARY_REV = "Primary-Rev"
    SECONDARY_REV = "Secondary-Rev"

    @property
    def is_source(self) -> bool:
        return self in (Role.PRIMARY, Role.PRIMARY_REV)

    @property
    def is_reversed(self) -> bool:
        return self in (Role.PRIMARY_REV, Role.SECONDARY_REV)


class GroupStatus(StrEnum):
    STARTED = "Started"
    STOPPED = "Stopped"
    BACKUP = "Backup"


class SyncStatus(StrEnum):
    NEW = "New"
    SYNCING = "Syncing"
    SYNCED = "Synced"
    NOT_SYNCED = "NotSynced"
    STALE = "Stale"
    STOPPED = "Stopped"


class Operation(StrEnum):
    FAILOVER = "failover"
    RECOVER = "recover"
    RESTORE = "restore"


Mode = Literal["sync", "periodic"]


class ArrayCommandError(Exception):
    """A command the array refuses; the message is worded as the array words it (without 'Error: ')."""


@dataclass
class Durations:
    """Seconds each timed mechanic takes. Defaults keep a suite short; none is instantaneous."""

    link_detect: float = 0.6
    failover: float = 1.2
    recover: float = 2.0
    restore: float = 1.2
    initial_sync: float = 1.5
    resync: float = 1.0
    periodic_sync: float = 0.8
    period: float = 300.0  # a started periodic group copies its changes once per period


@dataclass
class Volume:
    name: str
    id: int
    wwn: str
    size_mib: int = 10240


@dataclass
class Array:
    key: str
    system_name: str
    system_id: int
    serial: str
    wwn: str
    model: str = "HP_3PAR 7400"
    os_version: str = "3.1.1 (MU1)"
    timezone: str = "UTC"
    powered: bool = True
    volumes: dict[str, Volume] = field(default_factory=dict)


@dataclass
class Link:
    """The remote-copy links between two arrays (all their ports, as one).

    `a` is the sending end (the array whose groups replicate over it), `b` the receiving end.
    Each end knows the link as one of its remote-copy targets, under the name that
    array's administrator gave it (`names`, by array key).
    """

    a: str
    b: str
    kind: Literal["IP", "FC"] = "IP"
    cabled: bool = True
    lost_at: float | None = None  # when the link last became unusable
    detected: bool = False  # the arrays noticed the loss (targets failed, groups stopped)
    names: dict[str, str] = field(default_factory=dict)

    def joins(self, x: str, y: str) -> bool:
        return {self.a, self.b} == {x, y}

    def other(self, array: str) -> str:
        return self.b if self.a == array else self.a


@dataclass(frozen=True)
class Target:
    """One array's remote-copy target: the link toward `peer`, as that array names and numbers it."""

    peer: str
    name: str
    id: int
    kind: Literal["IP", "FC"]


@dataclass
class Side:
    """One array's end of a replication: its local group name, its role and status."""

    array: str
    group_name: str
    configured_role: Role
    role: Role
    status: GroupStatus


@dataclass
class VolumePair:
    source_volume: str  # volume name on the configured source array
    target_volume: str  # volume name on the configured target array
    sync_status: SyncStatus = SyncStatus.NEW
    last_sync: float | None = None  # world time the pair was last known in sync
    sync_started: float | None = None
    sync_ends: float | None = None
    iterations: int = 0  # periodic: completed synchronizations (the CLI's VV_iter)


@dataclass
class RunningOperation:
    operation: Operation
    issued_on: str
    started: float
    ends: float
    will_fail: bool = False


@dataclass
class OperationResult:
    operation: Operation
    issued_on: str
    ok: bool
    finished: float
    message: str = ""


@dataclass
class Replication:
    """One remote-copy group's relationship with one target: the unit the CLI and CIM report on."""

    id: int
    name: str  # the group's name on the array that created it
    mode: Mode
    source: Side  # the configured source (primary) side
    target: Side  # the configured target (secondary) side
    pairs: list[VolumePair]
    options: list[str] = field(default_factory=list)
    backup: bool = False  # SLD backup link between two secondaries: inactive
    noise: bool = False  # added by --scale: background volume pairs
    operation: RunningOperation | None = None
    last_result: OperationResult | None = None
    period_epoch: int = 0  # bumped whenever the periodic schedule restarts; older ticks do nothing

    def sides(self) -> tuple[Side, Side]:
        return self.source, self.target

    def side(self, array: str) -> Side:
        for s in self.sides():
            if s.array == array:
                return s
        raise KeyError(array)

    def peer(self, array: str) -> Side:
        return self.target if self.source.array == array else self.source

    def involves(self, array: str) -> bool:
        return array in (self.source.array, self.target.array)


@dataclass
class FaultPlan:
    """Failures armed through the control interface; consumed by the next matching command."""

    fail_next: set[tuple[Operation, str | None]] = field(default_factory=set)  # (operation, group or any)


class World:
    """Arrays, links and remote-copy groups, with the mechanics of the DR commands."""

    def __init__(
        self,
        clock: Clock | None = None,
        durations: Durations | None = None,
        behaviour: Behaviour = "3.1",
        wall_start: datetime | None = None,
    ) -> None:
        self.clock = clock or RealClock()
        self.durations = durations or Durations()
        self.behaviour: Behaviour = behaviour
        self.lock = threading.RLock()
        self.arrays: dict[str, Array] = {}
        self.links: list[Link] = []
        self.replications: list[Replication] = []
        self.faults = FaultPlan()
        self.operation_durations: dict[Operation, float] = {}
        self._start = self.clock.now()
        self._wall_start = wall_start or datetime.now(UTC).replace(microsecond=0)
        self._now = self._start
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._by_group: dict[tuple[str, str], list[Replication]] = {}
        self._by_volume: dict[tuple[str, str], list[tuple[Replication, VolumePair]]] = {}

    # ----------------------------------------------------------------- building
    def add_array(self, array: Array) -> Array:
        self.arrays[array.key] = array
        return array

    def add_volume(self, array: str, name: str, vol_id: int, wwn: str) -> Volume:
        vol = Volume(name=name, id=vol_id, wwn=wwn)
        self.arrays[array].volumes[name] = vol
        return vol

    def add_link(self, a: str, b: str, kind: Literal["IP", "FC"] = "IP") -> Link:
        """Links from `a` (sending) to `b`; each end's target is named after its peer (see target_names)."""
        link = Link(a=a, b=b, kind=kind, names={a: self.arrays[b].system_name, b: self.arrays[a].system_name})
        self.links.append(link)
        return link

    def add_replication(
        self,
        name: str,
        source: str,
        target: str,
        mode: Mode,
        volumes: list[tuple[str, str]],
        *,
        target_group_name: str | None = None,
        source_group_name: str | None = None,
        options: list[str] | None = None,
        backup: bool = False,
        noise: bool = False,
        started_synced: bool = True,
    ) -> Replication:
        """A group replicating `volumes` (source name, target name) from `source` to `target`."""
        creator_id = self.arrays[source].system_id
        src_role = Role.SECONDARY if backup else Role.PRIMARY
        status = GroupStatus.BACKUP if backup else (GroupStatus.STARTED if started_synced else GroupStatus.STOPPED)
        pair_status = SyncStatus.STOPPED if backup else (SyncStatus.SYNCED if started_synced else SyncStatus.NEW)
        synced = pair_status is SyncStatus.SYNCED
        rep = Replication(
            id=len(self.replications) + 1,
            name=name,
            mode=mode,
            source=Side(source, source_group_name or name, src_role, src_role, status),
            target=Side(target, target_group_name or f"{name}.r{creator_id}", Role.SECONDARY, Role.SECONDARY, status),
            pairs=[
                VolumePair(s, t, pair_status, last_sync=self._now if synced else None, iterations=int(synced))
                for s, t in volumes
            ],
            options=list(options or []),
            backup=backup,
            noise=noise,
        )
        self.replications.append(rep)
        for side in rep.sides():
            self._by_group.setdefault((side.array, side.group_name), []).append(rep)
        for pair in rep.pairs:
            self._by_volume.setdefault((source, pair.source_volume), []).append((rep, pair))
            self._by_volume.setdefault((target, pair.target_volume), []).append((rep, pair))
        self._restart_period(rep)
        return rep

    # ----------------------------------------------------------------- time
    def now(self) -> float:
        """World time, after every mechanic due by now has happened."""
        with self.lock:
            self._advance()
            return self._now

    @property
    def created(self) -> float:
        """World time at which the arrays and their groups were configured."""
        return self._start

    def wall_time(self, world_time: float) -> datetime:
        return self._wall_start + timedelta(seconds=world_time - self._start)

    def _advance(self) -> None:
        target = self.clock.now()
        while self._timers and self._timers[0][0] <= target:
            due, _, action = heapq.heappop(self._timers)
            self._now = max(self._now, due)
            action()
        self._now = max(self._now, target)

    def _at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), action))

    def _after(self, seconds: float, action: Callable[[], None]) -> None:
        self._at(self._now + seconds, action)

    # ----------------------------------------------------------------- reading
    def groups_on(self, array: str, name: str | None = None) -> list[tuple[str, list[Replication]]]:
        """Local group names on `array` with their replications, in creation order."""
        with self.lock:
            self._advance()
            seen: dict[str, list[Replication]] = {}
            if name is not None:
                reps = self._by_group.get((array, name), [])
                return [(name, list(reps))] if reps else []
            for rep in self.replications:
                if rep.involves(array):
                    seen.setdefault(rep.side(array).group_name, []).append(rep)
            return list(seen.items())

    def replications_of_volume(self, array: str, volume: str) -> list[tuple[Replication, VolumePair]]:
        with self.lock:
            self._advance()
            return list(self._by_volume.get((array, volume), []))

    def targets(self, array: str) -> list[Target]:
        """The remote-copy targets of `array`, in the order it lists them (IDs from 1)."""
        ends = [link for link in self.links if array in (link.a, link.b)]
        return [
            Target(link.other(array), link.names[array], index, link.kind) for index, link in enumerate(ends, start=1)
        ]

    def target(self, array: str, peer: str) -> Target | None:
        """The target of `array` that leads to `peer` (None: no link between them)."""
        return next((t for t in self.targets(array) if t.peer == peer), None)

    def target_name(self, array: str, peer: str) -> str:
        target = self.target(array, peer)
        if target is None:
            raise KeyError(f"no link between {array} and {peer}")
        return target.name

    def link_between(self, a: str, b: str) -> Link | None:
        for link in self.links:
            if link.joins(a, b):
                return link
        return None

    def link_usable(self, a: str, b: str) -> bool:
        """Data can flow between a and b now (cabled, both arrays powered)."""
        link = self.link_between(a, b)
        return bool(link and link.cabled and self.arrays[a].powered and self.arrays[b].powered)

    def target_status(self, array: str, peer: str) -> str:
        """What `array` reports for its target `peer`: ready, failing (loss not yet detected) or failed."""
        with self.lock:
            self._advance()
            link = self.link_between(array, peer)
            if link is None or link.lost_at is None:
                return "ready"
            return "failed" if link.detected else "failing"

    def link_up_for(self, array: str, peer: str) -> bool:
        """What `array` would print as link Status toward `peer` (Up while nothing is lost)."""
        with self.lock:
            self._advance()
            link = self.link_between(array, peer)
            return bool(link and link.lost_at is None)

    def sync_percent(self, pair: VolumePair) -> int | None:
        with self.lock:
            self._advance()
            if pair.sync_status is not SyncStatus.SYNCING or pair.sync_started is None or not pair.sync_ends:
                return None
            span = max(pair.sync_ends - pair.sync_started, 1e-9)
            return max(0, min(99, int(100 * (self._now - pair.sync_started) / span)))

    def iter_pairs(self, array: str) -> Iterator[tuple[Replication, VolumePair]]:
        with self.lock:
            self._advance()
            for rep in self.replications:
                if rep.involves(array):
                    for pair in rep.pairs:
                        yield rep, pair

    # ----------------------------------------------------------------- control (events)
    def set_power(self, array: str, on: bool) -> None:
        """Power an array off (its links drop, its servers stop answering) or back on."""
        with self.lock:
            self._advance()
            self.arrays[array].powered = on
            self._refresh_links()

    def set_link(self, a: str, b: str, up: bool) -> None:
        """Cut or reconnect the remote-copy links between two arrays."""
        with self.lock:
            self._advance()
            link = self.link_between(a, b)
            if link is None:
                raise KeyError(f"no link between {a} and {b}")
            link.cabled = up
            self._refresh_links()

    def arm_failure(self, operation: Operation, group: str | None = None) -> None:
        """Make the next `operation` (recover or restore) fail: of `group` (its name on any array), or of any."""
        with self.lock:
            self.faults.fail_next.add((operation, group))

    def force_sync_status(self, array: str, group: str, status: SyncStatus, volume: str | None = None) -> None:
        """Put volume pairs of a group into a state only a fault produces (NotSynced, Stale)."""
        with self.lock:
            self._advance()
            for rep in self._replications(array, group):
                for pair in rep.pairs:
                    if volume is None or volume in (pair.source_volume, pair.target_volume):
                        pair.sync_status = status
                        pair.sync_started = pair.sync_ends = None

    def reset_to_new(self, array: str, group: str) -> None:
        """Return a group to its freshly created state: stopped, volumes never synced (New), no DR command running."""
        with self.lock:
            self._advance()
            for rep in self._replications(array, group):
                rep.operation = None  # a running command's timers find it gone and do nothing
                for side in rep.sides():
                    side.status = GroupStatus.STOPPED
                    side.role = side.configured_role
                for pair in rep.pairs:
                    pair.sync_status = SyncStatus.NEW
                    pair.last_sync = pair.sync_started = pair.sync_ends = None

    def _refresh_links(self) -> None:
        for link in self.links:
            usable = self.link_usable(link.a, link.b)
            if not usable and link.lost_at is None:
                link.lost_at = self._now
                link.detected = False
                self._after(self.durations.link_detect, functools.partial(self._detect_loss, link))
            elif usable and link.lost_at is not None:
                link.lost_at = None
                link.detected = False
                self._link_returned(link)

    def _detect_loss(self, link: Link) -> None:
        if link.lost_at is None or link.detected:
            return
        link.detected = True
        for rep in self._replications_over(link):
            if rep.backup:
                continue
            self._stop(rep)
            if rep.operation and rep.operation.operation is not Operation.FAILOVER:
                self._finish_operation(rep, ok=False, message="remote copy link lost")

    def _link_returned(self, link: Link) -> None:
        """The peers talk again: a side that missed a failover learns it is now the reversed secondary."""
        for rep in self._replications_over(link):
            if rep.backup:
                continue
            for side in rep.sides():
                peer = rep.peer(side.array)
                if peer.role is Role.PRIMARY_REV and side.role is Role.PRIMARY:
                    side.role = Role.SECONDARY_REV
                    side.status = GroupStatus.STOPPED
                    self._set_pairs(rep, SyncStatus.STOPPED)
            if self.behaviour == "10.5" and "auto_recover" in rep.options and not rep.operation:
                self._start_sync(rep, resync=True)

    def _replications_over(self, link: Link) -> list[Replication]:
        return [r for r in self.replications if {r.source.array, r.target.array} == {link.a, link.b}]

    # ----------------------------------------------------------------- commands
    def start_group(self, array: str, group: str, target: str | None = None, nosync: bool = False) -> None:
        with self.lock:
            self._advance()
            for rep in self._targets(array, group, target):
                side = rep.side(array)
                if not side.role.is_source:
                    raise ArrayCommandError(f"Group {group} is not a primary group; start it from the primary")
                if rep.operation:
                    raise ArrayCommandError(f"Group {group} has a {rep.operation.operation} in progress")
                if not self.link_usable(rep.source.array, rep.target.array):
                    raise ArrayCommandError(f"Target {self.target_name(array, rep.peer(array).array)} is not ready")
                if side.status is GroupStatus.STARTED:
                    continue
                self._start_sync(rep, resync=not nosync)

    def stop_group(self, array: str, group: str, target: str | None = None) -> None:
        with self.lock:
            self._advance()
            for rep in self._targets(array, group, target):
                if rep.operation:
                    raise ArrayCommandError(f"Group {group} has a {rep.operation.operation} in progress")
                self._stop(rep)

    def sync_group(self, array: str, group: str) -> None:
        """syncrcopy: a periodic group copies its changes now."""
        with self.lock:
            self._advance()
            for rep in self._targets(array, group, None):
                if rep.mode != "periodic":
                    raise ArrayCommandError(f"Group {group} is not a periodic group")
                if rep.side(array).status is not GroupStatus.STARTED:
                    raise ArrayCommandError(f"Group {group} is not started")
                self._begin_pair_sync(rep, self.durations.periodic_sync)

    def failover(self, array: str, group: str, target: str | None = None) -> None:
        with self.lock:
            self._advance()
            for rep in self._targets(array, group, target):
                side = rep.side(array)
                if side.role is not Role.SECONDARY:
                    raise ArrayCommandError(
                        f"Group {group} is not a secondary group; failover must be issued on the secondary"
                    )
                if side.status is GroupStatus.STARTED and self.link_usable(rep.source.array, rep.target.array):
                    raise ArrayCommandError(f"Remote copy group {group} not stopped")
                self._busy_check(rep, group)
                side.role = Role.PRIMARY_REV
                side.status = GroupStatus.STOPPED
                self._set_pairs(rep, SyncStatus.STOPPED)
                peer = rep.peer(array)
                if self.link_usable(side.array, peer.array) and self.behaviour == "10.5":
                    peer.role = Role.SECONDARY_REV
                    peer.status = GroupStatus.STOPPED
                self._begin_operation(rep, Operation.FAILOVER, array)

    def recover(self, array: str, group: str, target: str | None = None) -> None:
        with self.lock:
            self._advance()
            for rep in self._targets(array, group, target):
                side = rep.side(array)
                peer = rep.peer(array)
                if side.role is not Role.PRIMARY_REV:
                    raise ArrayCommandError(f"Group {group} has not been failed over; recover is not allowed")
                if side.status is GroupStatus.STARTED:
                    raise ArrayCommandError(f"Remote copy group {group} not stopped")
                if not self.link_usable(side.array, peer.array):
                    raise ArrayCommandError(f"Target {self.target_name(array, peer.array)} is not ready")
                self._busy_check(rep, group)
                peer.role = Role.SECONDARY_REV
                self._begin_operation(rep, Operation.RECOVER, array)
                # the recover task ends after `recover` seconds; the data it started moving may take longer
                resync = max(self._duration(Operation.RECOVER), self.durations.resync)
                self._start_sync(rep, resync=True, duration=resync)

    def restore(self, array: str, group: str, target: str | None = None) -> None:
        with self.lock:
            self._advance()
            for rep in self._targets(array, group, target):
                side = rep.side(array)
                if side.role is not Role.PRIMARY_REV:
                    raise ArrayCommandError(f"the role of group {group} was not previously switched")
                if side.status is not GroupStatus.STARTED or any(
                    p.sync_status is not SyncStatus.SYNCED for p in rep.pairs
                ):
                    raise ArrayCommandError(f"Group {group} is not started and synced; run recover first")
                self._busy_check(rep, group)
                self._begin_operation(rep, Operation.RESTORE, array)

    def reverse(self, array: str, group: str, how: Literal["swap", "natural", "current"] = "swap") -> None:
        with self.lock:
            self._advance()
            for rep in self._targets(array, group, None):
                if any(s.status is GroupStatus.STARTED for s in rep.sides()):
                    raise ArrayCommandError(f"Remote copy group {group} not stopped")
                self._busy_check(rep, group)
                for side in rep.sides():
                    side.role = _reversed_role(side, how)
                    if how == "current":
                        side.configured_role = side.role

    def operation_result(self, array: str, group: str) -> list[OperationResult | None]:
        with self.lock:
            self._advance()
            return [rep.last_result for rep in self._targets(array, group, None)]

    def operation_running(self, array: str, group: str) -> bool:
        with self.lock:
            self._advance()
            return any(rep.operation for rep in self._targets(array, group, None))

    # ----------------------------------------------------------------- mechanics
    def _targets(self, array: str, group: str, target: str | None) -> list[Replication]:
        reps = [r for r in self._replications(array, group) if not r.backup]
        if not reps:
            backups = self._replications(array, group)
            if backups:
                raise ArrayCommandError(f"Group {group} is a backup group; operation not allowed")
        if target is not None:
            reps = [r for r in reps if self.target_name(array, r.peer(array).array) == target]
            if not reps:
                raise ArrayCommandError(f"Target {target} is not a target of group {group}")
        elif len(reps) > 1:
            raise ArrayCommandError(f"Group {group} has multiple targets; specify one with -t")
        return reps

    def _replications(self, array: str, group: str) -> list[Replication]:
        reps = self._by_group.get((array, group))
        if not reps:
            raise ArrayCommandError(f"group matching {group} does not exist on the system")
        return reps

    def _busy_check(self, rep: Replication, group: str) -> None:
        if rep.operation:
            raise ArrayCommandError(f"Group {group} has a {rep.operation.operation} in progress")

    def _duration(self, operation: Operation) -> float:
        default = getattr(self.durations, operation.value)
        return self.operation_durations.get(operation, default)

    def _begin_operation(self, rep: Replication, operation: Operation, array: str) -> None:
        duration = self._duration(operation)
        names = {rep.name, rep.source.group_name, rep.target.group_name}
        armed = next((f for f in self.faults.fail_next if f[0] is operation and f[1] in names | {None}), None)
        will_fail = armed is not None
        if armed is not None:
            self.faults.fail_next.discard(armed)
        running = RunningOperation(operation, array, self._now, self._now + duration, will_fail)
        rep.operation = running
        if will_fail and operation is Operation.RECOVER:
            self._after(duration / 2, lambda: self._drop_link_during(rep, running))
        self._after(duration, lambda: self._complete(rep, running))

    def _drop_link_during(self, rep: Replication, running: RunningOperation) -> None:
        """A recover that fails: the link drops while data is moving, and the loss is seen at once."""
        link = self.link_between(rep.source.array, rep.target.array)
        if link is None or rep.operation is not running:
            return
        link.cabled = False
        self._refresh_links()
        self._detect_loss(link)

    def _complete(self, rep: Replication, running: RunningOperation) -> None:
        # a timer of an operation that already ended (failed early) must not end a later one
        if rep.operation is not running:
            return
        operation = running.operation
        if operation is Operation.FAILOVER:
            self._finish_operation(rep, ok=True)
            if self.behaviour == "10.5" and self.link_usable(rep.source.array, rep.target.array):
                self._start_sync(rep, resync=True)
        elif operation is Operation.RECOVER:
            self._finish_operation(rep, ok=True)
        elif operation is Operation.RESTORE:
            if running.will_fail:
                self._finish_operation(rep, ok=False, message="restore failed: could not switch roles")
                return
            for side in rep.sides():
                side.role = side.configured_role
            self._finish_operation(rep, ok=True)

    def _finish_operation(self, rep: Replication, ok: bool, message: str = "") -> None:
        running = rep.operation
        if running is None:
            return
        rep.operation = None
        rep.last_result = OperationResult(running.operation, running.issued_on, ok, self._now, message)

    def _start_sync(self, rep: Replication, resync: bool, duration: float | None = None) -> None:
        for side in rep.sides():
            side.status = GroupStatus.STARTED
        self._restart_period(rep)
        if not resync:
            self._set_pairs(rep, SyncStatus.SYNCED)
            return
        full = any(p.sync_status is SyncStatus.NEW for p in rep.pairs)
        seconds = duration or (self.durations.initial_sync if full else self.durations.resync)
        self._begin_pair_sync(rep, seconds)

    def _begin_pair_sync(self, rep: Replication, seconds: float) -> None:
        started, ends = self._now, self._now + seconds
        for pair in rep.pairs:
            pair.sync_status = SyncStatus.SYNCING
            pair.sync_started, pair.sync_ends = started, ends
        self._after(seconds, lambda: self._finish_pair_sync(rep, ends))

    def _finish_pair_sync(self, rep: Replication, ends: float) -> None:
        for pair in rep.pairs:
            if pair.sync_status is SyncStatus.SYNCING and pair.sync_ends == ends:
                pair.sync_status = SyncStatus.SYNCED
                pair.last_sync = self._now
                pair.sync_started = pair.sync_ends = None
                pair.iterations += 1

    def _stop(self, rep: Replication) -> None:
        """Stop both sides; a synchronous pair in sync until now was last synced at this moment."""
        for side in rep.sides():
            side.status = GroupStatus.STOPPED
        if rep.mode == "sync":
            for pair in rep.pairs:
                if pair.sync_status is SyncStatus.SYNCED:
                    pair.last_sync = self._now
        self._set_pairs(rep, SyncStatus.STOPPED)

    # ----------------------------------------------------------------- periodic synchronization
    def _restart_period(self, rep: Replication) -> None:
        """A started periodic group syncs one period from now, and every period after that."""
        rep.period_epoch += 1
        if rep.mode != "periodic" or rep.backup or not _started(rep):
            return
        epoch = rep.period_epoch
        self._after(self.durations.period, lambda: self._period_due(rep, epoch))

    def _period_due(self, rep: Replication, epoch: int) -> None:
        """A period has passed: copy the changes, unless the group is busy, unhealthy or cut off."""
        if rep.period_epoch != epoch or not _started(rep):
            return  # stopped (or restarted on a new schedule) since this was planned
        healthy = all(p.sync_status is SyncStatus.SYNCED for p in rep.pairs)
        if healthy and rep.operation is None and self.link_usable(rep.source.array, rep.target.array):
            self._begin_pair_sync(rep, self.durations.periodic_sync)
        self._after(self.durations.period, lambda: self._period_due(rep, epoch))

    def set_duration(self, name: str, seconds: float) -> None:
        """Change how long a mechanic takes; a new `period` takes effect from now for every periodic group."""
        with self.lock:
            self._advance()
            if not hasattr(self.durations, name):
                raise KeyError(f"no duration {name!r}")
            setattr(self.durations, name, seconds)
            if name == "period":
                for rep in self.replications:
                    self._restart_period(rep)

    def _set_pairs(self, rep: Replication, status: SyncStatus) -> None:
        for pair in rep.pairs:
            pair.sync_status = status
            pair.sync_started = pair.sync_ends = None
            if status is SyncStatus.SYNCED:
                pair.last_sync = self._now


def _started(rep: Replication) -> bool:
    return all(side.status is GroupStatus.STARTED for side in rep.sides())


def _reversed_role(side: Side, how: str) -> Role:
    swap = {
        Role.PRIMARY: Role.SECONDARY_REV,
        Role.SECONDARY: Role.PRIMARY_REV,
        Role.PRIMARY_REV: Role.SECONDARY,
        Role.SECONDARY_REV: Role.PRIMARY,
    }
    if how == "swap":
        return swap[side.role]
    if how == "natural":
        return side.configured_role
    plain = {Role.PRIMARY_REV: Role.PRIMARY, Role.SECONDARY_REV: Role.SECONDARY}
    return plain.get(side.role, side.role)
