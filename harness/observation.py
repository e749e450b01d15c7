"""One Observation = both interfaces (CIM and CLI) of one array at one instant.

Pure data, JSON-able through `to_dict`: the poller produces these, verdicts and
rules consume them, the report shows them as evidence. CIM values stay raw
integers here; names are added only at the edges (reports, reasons).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CimPair:
    """One TPD_RemoteStorageSynchronized instance as read from an array's provider."""

    path: str  # the instance path as text (keys SystemElement / SyncedElement)
    system_element: str  # referenced object path as text
    synced_element: str
    system_element_local: bool  # the SystemElement is a volume of the observed array
    synced_element_local: bool
    system_element_class: str  # TPD_StorageVolume or TPD_ReplicationEntity
    synced_element_class: str
    local_volume: str | None  # ElementName of the observed array's volume in this pair, when resolvable
    properties: dict[str, Any]  # CopyState, SyncState, ProgressStatus, Mode, ... (ints, bools, None, str)
    omitted: tuple[str, ...] = ()  # properties asked for but absent from the instance


@dataclass(frozen=True)
class CimGroupSync:
    """TPD_RemoteGroupSynchronized for the group under test, as read from an array's provider."""

    system_element: str  # group path as text
    synced_element: str
    system_element_name: str | None  # group name parsed from InstanceID (3PAR:<name>) when available
    synced_element_name: str | None
    properties: dict[str, Any]


@dataclass(frozen=True)
class CimRefusal:
    """A read the provider answered with a CIM error status (not a transport failure): evidence about the
    provider, e.g. CIM_ERR_NOT_FOUND for the References of a member volume whose pair the CLI lists."""

    operation: str  # e.g. "References TPD_RemoteStorageSynchronized"
    subject: str  # the member volume's ElementName, or "group <name>"
    status: str  # CIM_ERR_NOT_FOUND, ...
    description: str
    volume: str | None = None  # the member volume the read started from (None: the group)


@dataclass(frozen=True)
class CimView:
    group_instance_id: str | None
    pairs: tuple[CimPair, ...]
    group_syncs: tuple[CimGroupSync, ...] = ()
    refusals: tuple[CimRefusal, ...] = ()  # reads the provider refused (the rest of the view was read)


@dataclass(frozen=True)
class CliVolume:
    local_vv: str
    remote_vv: str
    sync_status: str  # normalized: New, Syncing, Synced, NotSynced, Stale, Stopped
    raw_sync_status: str
    last_sync_time: str | None


@dataclass(frozen=True)
class CliView:
    """The group under test as `showrcopy groups <name>` printed it on one array, plus its target status."""

    group: str
    target: str
    status: str  # Started / Stopped / Backup
    role: str
    mode: str
    target_status: str | None  # ready / failed / failing, from `showrcopy targets`
    volumes: tuple[CliVolume, ...]
    backup_targets: tuple[tuple[str, str, str], ...] = ()  # (target, status, role) of other target rows (SLD)
    options: tuple[str, ...] = ()  # the group's Options toward the target (auto_recover, Period 5m, ...)


@dataclass(frozen=True)
class Observation:
    array: str  # topology key: primary, secondary, sync_secondary, periodic_secondary
    seq: int  # order in the run's timeline (unique across the run's groups)
    t_start: float  # seconds since the run started
    t_end: float
    wall: str  # ISO time of t_start
    cim: CimView | None = None
    cim_error: str | None = None  # why CIM could not be read (unreachable, auth, nonsense reply)
    cli: CliView | None = None
    cli_error: str | None = None
    stage: str | None = None  # the stage the driver had declared when this sample was taken
    transcript_ref: str | None = None  # ids of the CLI transcript entries that produced `cli`
    consistent: bool = True  # the CLI showed the same group state before and after the CIM read
    group: str | None = None  # the group under test (as named on the primary)

    @property
    def t(self) -> float:
        return self.t_start

    @property
    def complete(self) -> bool:
        return self.cim is not None and self.cli is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Timeline:
    """Every observation and event of a run, in order; thread-safe appends are done by the poller."""

    observations: list[Observation] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # commands, event actions, faults, stage marks

    def of(self, array: str, start: float = 0.0, end: float = float("inf")) -> list[Observation]:
        return [o for o in self.observations if o.array == array and start <= o.t_start <= end]

    def latest(self, array: str, since: float = 0.0) -> Observation | None:
        """The array's most recent observation, if it started at or after `since`."""
        for obs in reversed(self.observations):
            if obs.array == array:
                return obs if obs.t_start >= since else None
        return None

    def during(self, array: str, start: float, end: float) -> list[Observation]:
        """Samples taken entirely within [start, end] (one that ends after it may show what came next)."""
        return [o for o in self.of(array, start, end) if o.t_end <= end]


@dataclass(frozen=True)
class RunClock:
    """Run time: seconds since the run started, on `source` (monotonic; a manual clock in unit tests)."""

    t0: float
    source: Callable[[], float] = time.monotonic

    def now(self) -> float:
        return self.source() - self.t0

    def rel(self, source_time: float) -> float:
        """A time read from `source` (e.g. a command's start) as run time."""
        return source_time - self.t0
