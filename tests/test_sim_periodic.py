"""Periodic groups as both interfaces of the simulated arrays show them, on a manual clock (in process).

Every period a started periodic group copies its changes: its volumes show Syncing for
`periodic_sync` seconds (the CLI on the source prints a percentage, CIM reports the pair
Unsynchronized / ResyncInProgress / Synchronizing with PercentSynced), then Synced with
Last-Sync, LastSyncTime and WhenSynced advanced to the end of the copy. A stopped group
prints the moment it stopped.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from pywbem import CIMDateTime

from harness.mock import cim_paths as P
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.cli_format import format_timestamp
from harness.mock.cli_sim import ArrayCLI
from harness.mock.clock import ManualClock
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import World
from harness.showrcopy import parse_showrcopy

PERIOD = 30.0
NS = "root/tpd"
SYNCED = (4, 6, 2)  # Synchronized / Synchronized / Completed
SYNCING = (3, 5, 6)  # Unsynchronized / ResyncInProgress / Synchronizing


@pytest.fixture
def world(clock: ManualClock) -> World:
    return build_world(WorldSpec(topology="pair", groups=2, volumes_per_group=2, period=PERIOD), clock=clock)


def group_name(world: World, array: str, mode: str) -> str:
    return next(name for name, reps in world.groups_on(array) if reps[0].mode == mode)


def cli_group(world: World, array: str, mode: str = "periodic") -> tuple[str, list[str], list[str | None]]:
    """(Options, raw SyncStatus, LastSyncTime) of the group as `showrcopy groups <g>` prints it."""
    name = group_name(world, array, mode)
    result = ArrayCLI(world, array).run(f"showrcopy groups {name}")
    assert result.status == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith(f"{name} "))
    [group] = parse_showrcopy(result.stdout).groups
    return line, [v.raw_sync_status for v in group.volumes], [v.last_sync_time for v in group.volumes]


def cim_pairs(world: World, array: str) -> list[dict[str, object]]:
    backend = ArrayCIMBackend(world, array)
    group = group_name(world, array, "periodic")
    found = []
    for vol in backend.AssociatorNames(P.group_path(group, NS), AssocClass="TPD_RemoteReplicationGroupMember"):
        for pair in backend.References(vol, ResultClass="TPD_RemoteStorageSynchronized"):
            found.append(dict(pair.items()))
    return found


def state(pair: dict[str, object]) -> tuple[int, ...]:
    return tuple(int(pair[name]) for name in ("CopyState", "SyncState", "ProgressStatus"))  # type: ignore[call-overload]


def stamp(world: World, at: float) -> str:
    return format_timestamp(world.wall_time(at), "UTC")


def when(pair: dict[str, object]) -> datetime:
    value = pair["WhenSynced"]
    assert isinstance(value, CIMDateTime) and value.datetime is not None
    return value.datetime


def test_each_period_shows_a_syncing_window_then_advances_last_sync(world: World, clock: ManualClock) -> None:
    span = world.durations.periodic_sync
    line, raw, last = cli_group(world, "primary")
    assert f"Last-Sync {stamp(world, world.created)}, Period 30s" in line
    assert [when(p) for p in cim_pairs(world, "secondary")] == [world.wall_time(world.created)] * 2
    for cycle in (1, 2):
        clock.advance(PERIOD * cycle + span / 2 - world.now())
        line, raw, _ = cli_group(world, "primary")
        assert all(s.startswith("Syncing (") and s.endswith("%)") for s in raw)  # the source shows progress
        assert cli_group(world, "secondary")[1] == ["Syncing", "Syncing"]
        for array in ("primary", "secondary"):
            pairs = cim_pairs(world, array)
            assert {state(p) for p in pairs} == {SYNCING}
            assert all(40 <= int(p["PercentSynced"]) <= 60 for p in pairs)  # type: ignore[call-overload]
        clock.advance(span)
        done = PERIOD * cycle + span
        line, raw, last = cli_group(world, "primary")
        assert raw == ["Synced", "Synced"] and last == [stamp(world, world.created + done)] * 2
        assert f"Last-Sync {stamp(world, world.created + done)}, Period 30s" in line
        assert cli_group(world, "secondary")[2] == last
        for array in ("primary", "secondary"):
            pairs = cim_pairs(world, array)
            assert {state(p) for p in pairs} == {SYNCED}
            assert [when(p) for p in pairs] == [world.wall_time(world.created + done)] * 2
    # synchronous groups: no period, LastSyncTime NA while in sync
    line, raw, last = cli_group(world, "primary", "sync")
    assert "Period" not in line and raw == ["Synced", "Synced"] and last == [None, None]


def test_a_stopped_group_prints_when_it_stopped(world: World, clock: ManualClock) -> None:
    clock.advance(125.0)
    group = group_name(world, "primary", "sync")
    assert ArrayCLI(world, "primary").run(f"stoprcopygroup -f {group}").status == 0
    for array in ("primary", "secondary"):
        _, raw, last = cli_group(world, array, "sync")
        assert raw == ["Stopped", "Stopped"]
        assert last == [stamp(world, world.created + 125.0)] * 2  # not the simulator's start time
