"""What an HP 3PAR InForm OS 3.1.1 provider reports for a remote-copy pair, from the world's state.

Pure mapping from the simulated arrays' state (roles, group status, volume sync status,
link, running DR command) to the integer values of the DMTF CIM_StorageSynchronized
value maps. No protocol objects are built here except typed property values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

from pywbem import CIMDateTime, Uint16

from harness.mock.world import GroupStatus, Operation, Replication, Side, SyncStatus, VolumePair, World


class CopyState(IntEnum):
    INITIALIZED = 2
    UNSYNCHRONIZED = 3
    SYNCHRONIZED = 4
    BROKEN = 5
    INACTIVE = 8
    FAILED_OVER = 10
    SKEWED = 13
    MIXED = 14
    NOT_APPLICABLE = 15


class SyncState(IntEnum):
    INITIALIZED = 2
    RESYNC_IN_PROGRESS = 5
    SYNCHRONIZED = 6
    RESTORE_IN_PROGRESS = 10
    BROKEN = 12
    FROZEN = 14


class ProgressStatus(IntEnum):
    COMPLETED = 2
    DORMANT = 3
    RESTORING = 8
    SYNCHRONIZING = 6
    FAILING_OVER = 11
    FAILING_BACK = 12
    MIXED = 14
    REQUIRES_ACTIVATE = 19


MODE = {"sync": 2, "periodic": 3}  # Synchronous, Asynchronous
COPY_TYPE = {"sync": 3, "periodic": 2}  # Sync, Async
SYNC_TYPE_MIRROR = 6
REPLICA_TYPE_FULL_COPY = 2
UNDISCOVERED_SYSTEM_ELEMENT = 2
UNDISCOVERED_SYNCED_ELEMENT = 3

# ReplicationServiceCapabilities: remote mirrors are read-only through CIM on 3.1.1
REMOTE_MIRROR_TYPES = (4, 5)  # Synchronous Mirror Remote, Asynchronous Mirror Remote
SUPPORTED_COPY_STATES = (
    CopyState.INITIALIZED,
    CopyState.SYNCHRONIZED,
    CopyState.UNSYNCHRONIZED,
    CopyState.BROKEN,
    CopyState.INACTIVE,
    CopyState.FAILED_OVER,
    CopyState.SKEWED,
)


@dataclass(frozen=True)
class PairState:
    copy_state: int
    sync_state: int | None
    progress_status: int


_BY_SYNC_STATUS = {
    SyncStatus.NEW: PairState(CopyState.INITIALIZED, SyncState.RESYNC_IN_PROGRESS, ProgressStatus.REQUIRES_ACTIVATE),
    SyncStatus.SYNCING: PairState(CopyState.UNSYNCHRONIZED, SyncState.RESYNC_IN_PROGRESS, ProgressStatus.SYNCHRONIZING),
    SyncStatus.SYNCED: PairState(CopyState.SYNCHRONIZED, SyncState.SYNCHRONIZED, ProgressStatus.COMPLETED),
    SyncStatus.NOT_SYNCED: PairState(CopyState.BROKEN, SyncState.BROKEN, ProgressStatus.COMPLETED),
    SyncStatus.STALE: PairState(CopyState.SKEWED, SyncState.BROKEN, ProgressStatus.COMPLETED),
    SyncStatus.STOPPED: PairState(CopyState.INACTIVE, SyncState.FROZEN, ProgressStatus.DORMANT),
}
_BACKUP = PairState(CopyState.INITIALIZED, SyncState.INITIALIZED, ProgressStatus.DORMANT)
_BROKEN = PairState(CopyState.BROKEN, SyncState.BROKEN, ProgressStatus.COMPLETED)
_FAILED_OVER = PairState(CopyState.FAILED_OVER, SyncState.BROKEN, ProgressStatus.COMPLETED)
_FAILING_OVER = PairState(CopyState.FAILED_OVER, SyncState.BROKEN, ProgressStatus.FAILING_OVER)
_BY_OPERATION = {
    # a failover while the peer is reachable: not FailedOver (RULE-01: only while the target is not ready)
    Operation.FAILOVER: PairState(CopyState.BROKEN, SyncState.BROKEN, ProgressStatus.FAILING_OVER),
    Operation.RECOVER: PairState(CopyState.UNSYNCHRONIZED, SyncState.RESTORE_IN_PROGRESS, ProgressStatus.RESTORING),
    Operation.RESTORE: PairState(CopyState.SYNCHRONIZED, SyncState.SYNCHRONIZED, ProgressStatus.FAILING_BACK),
}


def pair_state(
    rep: Replication, pair: VolumePair, side: Side, link_failed: bool, show_operation: bool = True
) -> PairState:
    """CopyState, SyncState and ProgressStatus of one pair as the array owning `side` reports them
    (`show_operation` false: as if no DR command were running)."""
    running = rep.operation.operation if rep.operation and show_operation else None
    if running is Operation.FAILOVER and rep.operation and rep.operation.issued_on != side.array:
        running = None  # a failover runs on the array it was issued on; the peer sees only its effect on roles
    if rep.backup:
        return _BACKUP
    if link_failed:
        if running is Operation.FAILOVER:
            return _FAILING_OVER
        return _FAILED_OVER if side.role.is_reversed else _BROKEN
    if running is not None:
        return _BY_OPERATION[running]
    if side.role.is_reversed and pair.sync_status is SyncStatus.STOPPED:
        return _BROKEN
    return _BY_SYNC_STATUS[pair.sync_status]


def requested_copy_state(copy_state: int | None) -> int:
    """Synchronized while a sync is asked for and not reached; Not Applicable once reached."""
    pending = (CopyState.BROKEN, CopyState.SKEWED, CopyState.UNSYNCHRONIZED, CopyState.INITIALIZED)
    return CopyState.SYNCHRONIZED if copy_state in pending else CopyState.NOT_APPLICABLE


def combine(states: Iterable[PairState]) -> PairState | None:
    """A group's state: the members' common values, Mixed where they differ (SyncState has no Mixed: NULL)."""
    states = list(states)
    if not states:
        return None
    copy = {s.copy_state for s in states}
    sync = {s.sync_state for s in states}
    progress = {s.progress_status for s in states}
    return PairState(
        copy.pop() if len(copy) == 1 else CopyState.MIXED,
        sync.pop() if len(sync) == 1 else None,
        progress.pop() if len(progress) == 1 else ProgressStatus.MIXED,
    )


def _u16(value: int | None) -> Uint16 | None:
    return None if value is None else Uint16(value)


def state_properties(state: PairState, requested: int) -> dict[str, object]:
    """CopyState, SyncState, ProgressStatus and RequestedCopyState, typed."""
    return {
        "CopyState": Uint16(state.copy_state),
        "SyncState": _u16(state.sync_state),
        "ProgressStatus": Uint16(state.progress_status),
        "RequestedCopyState": Uint16(requested),
    }


def _common(rep: Replication, side: Side, state: PairState, requested: int) -> dict[str, object]:
    return {
        **state_properties(state, requested),
        "Mode": Uint16(MODE[rep.mode]),
        "CopyType": Uint16(COPY_TYPE[rep.mode]),
        "SyncType": Uint16(SYNC_TYPE_MIRROR),
        "ReplicaType": Uint16(REPLICA_TYPE_FULL_COPY),
        "SyncMaintained": side.status is GroupStatus.STARTED,
        "RoleReversed": side.role.is_reversed,
    }


def when_synced(world: World, rep: Replication, last_sync: float | None) -> CIMDateTime | None:
    if rep.mode == "sync" or last_sync is None:
        return None
    return CIMDateTime(world.wall_time(last_sync))


def pair_properties(
    world: World, rep: Replication, pair: VolumePair, array: str, link_failed: bool, undiscovered: int | None
) -> dict[str, object]:
    """Non-key properties of TPD_RemoteStorageSynchronized for one pair, typed, before deviations."""
    side = rep.side(array)
    state = pair_state(rep, pair, side, link_failed)
    props = _common(rep, side, state, requested_copy_state(state.copy_state))
    props["WhenSynced"] = when_synced(world, rep, pair.last_sync)
    props["PercentSynced"] = _u16(world.sync_percent(pair))
    props["UndiscoveredElement"] = _u16(undiscovered)
    return props


T = TypeVar("T", int, float)


def _least(values: list[T | None]) -> T | None:
    """The smallest of `values`, or None when there are none or any is unknown (a group is as far as its
    least synced pair)."""
    known = [v for v in values if v is not None]
    return min(known) if known and len(known) == len(values) else None


def group_properties(world: World, rep: Replication, array: str, link_failed: bool) -> dict[str, object]:
    """Non-key properties of TPD_RemoteGroupSynchronized for one replication of a group."""
    side = rep.side(array)
    states = [pair_state(rep, p, side, link_failed) for p in rep.pairs]
    state = combine(states) or PairState(CopyState.NOT_APPLICABLE, None, ProgressStatus.COMPLETED)
    pending = any(requested_copy_state(s.copy_state) == CopyState.SYNCHRONIZED for s in states)
    props = _common(rep, side, state, CopyState.SYNCHRONIZED if pending else CopyState.NOT_APPLICABLE)
    props["WhenSynced"] = when_synced(world, rep, _least([p.last_sync for p in rep.pairs]))
    props["PercentSynced"] = _u16(_least([world.sync_percent(p) for p in rep.pairs]))
    props["UndiscoveredElement"] = None
    return props
