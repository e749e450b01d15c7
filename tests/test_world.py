"""The simulated world's mechanics, on a manual clock (no protocols)."""

import pytest

from harness.mock.clock import ManualClock
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import (
    ArrayCommandError,
    GroupStatus,
    Operation,
    Replication,
    Role,
    SyncStatus,
    VolumePair,
    World,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> World:
    return build_world(WorldSpec(topology="pair", groups=1, volumes_per_group=2), clock=clock)


def state(world: World, array: str) -> tuple[str, str, list[str]]:
    [(_name, [rep])] = world.groups_on(array)[:1]
    side = rep.side(array)
    return side.role.value, side.status.value, [p.sync_status.value for p in rep.pairs]


def group_on(world: World, array: str) -> str:
    return world.groups_on(array)[0][0]


def test_pair_starts_in_natural_synced_state(world: World) -> None:
    assert state(world, "primary") == ("Primary", "Started", ["Synced", "Synced"])
    assert state(world, "secondary") == ("Secondary", "Started", ["Synced", "Synced"])
    primary_id = world.arrays["primary"].system_id
    assert group_on(world, "secondary") == f"{group_on(world, 'primary')}.r{primary_id}"


def test_full_dr_sequence(world: World, clock: ManualClock) -> None:
    d = world.durations
    sec_group = group_on(world, "secondary")
    world.set_power("primary", False)
    assert world.target_status("secondary", "primary") == "failing"
    clock.advance(d.link_detect + 0.01)
    assert world.target_status("secondary", "primary") == "failed"
    assert state(world, "secondary") == ("Secondary", "Stopped", ["Stopped", "Stopped"])

    world.failover("secondary", sec_group)
    assert world.operation_running("secondary", sec_group)
    assert state(world, "secondary")[:2] == ("Primary-Rev", "Stopped")
    clock.advance(d.failover + 0.01)
    assert not world.operation_running("secondary", sec_group)
    assert world.operation_result("secondary", sec_group)[0].ok

    world.set_power("primary", True)
    assert state(world, "primary") == ("Secondary-Rev", "Stopped", ["Stopped", "Stopped"])
    assert world.target_status("secondary", "primary") == "ready"

    world.recover("secondary", sec_group)
    assert state(world, "secondary") == ("Primary-Rev", "Started", ["Syncing", "Syncing"])
    assert state(world, "primary") == ("Secondary-Rev", "Started", ["Syncing", "Syncing"])
    clock.advance(d.recover + 0.01)
    assert state(world, "secondary") == ("Primary-Rev", "Started", ["Synced", "Synced"])

    world.restore("secondary", sec_group)
    assert world.operation_running("secondary", sec_group)
    assert state(world, "primary")[0] == "Secondary-Rev"
    clock.advance(d.restore + 0.01)
    assert state(world, "secondary") == ("Secondary", "Started", ["Synced", "Synced"])
    assert state(world, "primary") == ("Primary", "Started", ["Synced", "Synced"])


def failed_over_and_back(world: World, clock: ManualClock) -> str:
    sec_group = group_on(world, "secondary")
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    world.failover("secondary", sec_group)
    clock.advance(world.durations.failover + 0.01)
    world.set_power("primary", True)
    return sec_group


def test_recover_failure_drops_the_link_and_stops_the_group(world: World, clock: ManualClock) -> None:
    sec_group = failed_over_and_back(world, clock)
    world.arm_failure(Operation.RECOVER)
    world.recover("secondary", sec_group)
    clock.advance(world.durations.recover + 0.01)
    assert not world.operation_result("secondary", sec_group)[0].ok
    assert state(world, "secondary") == ("Primary-Rev", "Stopped", ["Stopped", "Stopped"])
    assert state(world, "primary") == ("Secondary-Rev", "Stopped", ["Stopped", "Stopped"])
    assert world.target_status("primary", "secondary") == "failed"
    with pytest.raises(ArrayCommandError, match="not ready"):
        world.recover("secondary", sec_group)
    world.set_link("primary", "secondary", True)
    world.recover("secondary", sec_group)
    clock.advance(world.durations.recover + 0.01)
    assert state(world, "secondary") == ("Primary-Rev", "Started", ["Synced", "Synced"])


def test_restore_failure_keeps_reversed_roles_synced(world: World, clock: ManualClock) -> None:
    sec_group = failed_over_and_back(world, clock)
    world.recover("secondary", sec_group)
    clock.advance(world.durations.recover + 0.01)
    world.arm_failure(Operation.RESTORE)
    world.restore("secondary", sec_group)
    clock.advance(world.durations.restore + 0.01)
    assert not world.operation_result("secondary", sec_group)[0].ok
    assert state(world, "secondary") == ("Primary-Rev", "Started", ["Synced", "Synced"])
    assert state(world, "primary") == ("Secondary-Rev", "Started", ["Synced", "Synced"])


def test_a_restore_failure_armed_for_one_group_fails_that_groups_restore_only(clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="pair", groups=2, volumes_per_group=1), clock=clock)
    names = [name for name, _ in world.groups_on("secondary")]
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    for name in names:
        world.failover("secondary", name)
    clock.advance(world.durations.failover + 0.01)
    world.set_power("primary", True)
    for name in names:
        world.recover("secondary", name)
    clock.advance(world.durations.recover + 0.01)
    armed = world.groups_on("primary")[1][0]  # the second group, by its name on the primary
    world.arm_failure(Operation.RESTORE, armed)
    for name in names:
        world.restore("secondary", name)
    clock.advance(world.durations.restore + 0.01)
    assert [world.operation_result("secondary", name)[0].ok for name in names] == [True, False]
    world.restore("secondary", names[1])  # consumed: the next restore of that group succeeds
    clock.advance(world.durations.restore + 0.01)
    assert world.operation_result("secondary", names[1])[0].ok


def test_refusals_as_on_real_arrays(world: World, clock: ManualClock) -> None:
    sec_group = group_on(world, "secondary")
    with pytest.raises(ArrayCommandError, match="not stopped"):
        world.failover("secondary", sec_group)
    with pytest.raises(ArrayCommandError, match="not previously switched"):
        world.restore("secondary", sec_group)
    with pytest.raises(ArrayCommandError, match="does not exist"):
        world.recover("secondary", "nosuchgroup")
    with pytest.raises(ArrayCommandError, match="secondary"):
        world.failover("primary", group_on(world, "primary"))


def test_table106_states_reachable(world: World, clock: ManualClock) -> None:
    group = group_on(world, "primary")
    world.reset_to_new("primary", group)
    assert state(world, "primary") == ("Primary", "Stopped", ["New", "New"])
    world.start_group("primary", group)
    assert state(world, "primary")[2] == ["Syncing", "Syncing"]
    clock.advance(world.durations.initial_sync / 2)
    rep = world.groups_on("primary")[0][1][0]
    assert 40 <= world.sync_percent(rep.pairs[0]) <= 60
    clock.advance(world.durations.initial_sync)
    assert state(world, "primary")[2] == ["Synced", "Synced"]
    world.stop_group("primary", group)
    assert state(world, "secondary") == ("Secondary", "Stopped", ["Stopped", "Stopped"])
    world.force_sync_status("primary", group, SyncStatus.STALE)
    assert state(world, "primary")[2] == ["Stale", "Stale"]


def test_sld_backup_group_on_both_secondaries(clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="sld", groups=1, volumes_per_group=1), clock=clock)
    for key in ("sync_secondary", "periodic_secondary"):
        [(_name, reps)] = world.groups_on(key)
        backup = [r for r in reps if r.backup]
        assert len(backup) == 1
        assert backup[0].side(key).role is Role.SECONDARY
        assert backup[0].side(key).status is GroupStatus.BACKUP
    assert backup[0].source.array == "sync_secondary"


def test_scale_adds_noise_groups(clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="pair", groups=2, volumes_per_group=2, scale=250), clock=clock)
    noise = [r for r in world.replications if r.noise]
    assert sum(len(r.pairs) for r in noise) == 250
    assert len(world.arrays["primary"].volumes) == 254


def test_a_failed_operations_timer_does_not_end_the_next_one(world: World, clock: ManualClock) -> None:
    """A recover that failed early (link lost) must not cut short the recover issued after it."""
    sec_group = failed_over_and_back(world, clock)
    world.recover("secondary", sec_group)
    clock.advance(world.durations.recover / 4)
    world.set_link("primary", "secondary", False)
    clock.advance(world.durations.link_detect + 0.01)
    assert not world.operation_result("secondary", sec_group)[0].ok
    world.set_link("primary", "secondary", True)
    world.recover("secondary", sec_group)
    clock.advance(world.durations.recover / 2)  # past the first recover's planned end
    assert world.operation_running("secondary", sec_group)
    assert state(world, "secondary")[2] == ["Syncing", "Syncing"]
    clock.advance(world.durations.recover / 2 + 0.01)
    assert not world.operation_running("secondary", sec_group)
    assert state(world, "secondary") == ("Primary-Rev", "Started", ["Synced", "Synced"])


# --------------------------------------------------------------------------- periodic groups, stop times

PERIOD = 10.0


def periodic_world(clock: ManualClock, **spec: object) -> World:
    return build_world(WorldSpec(topology="pair", groups=2, volumes_per_group=2, period=PERIOD, **spec), clock=clock)  # type: ignore[arg-type]


def periodic(world: World) -> Replication:
    [rep] = [r for r in world.replications if r.mode == "periodic"]
    return rep


def settled(world: World, rep: Replication) -> list[VolumePair]:
    """The replication's pairs once the world has caught up with the clock."""
    world.now()
    return rep.pairs


def statuses(world: World, rep: Replication) -> list[str]:
    return [p.sync_status.value for p in settled(world, rep)]


def test_a_periodic_group_syncs_every_period(clock: ManualClock) -> None:
    world = periodic_world(clock)
    rep, span = periodic(world), world.durations.periodic_sync
    assert [p.last_sync for p in settled(world, rep)] == [world.created] * 2
    for cycle in range(1, 4):
        clock.advance(PERIOD * cycle - world.now() - 0.01)
        assert statuses(world, rep) == ["Synced", "Synced"]
        clock.advance(0.02)
        assert statuses(world, rep) == ["Syncing", "Syncing"]
        assert [p.last_sync for p in settled(world, rep)] == [
            world.created + PERIOD * (cycle - 1) + (span if cycle > 1 else 0)
        ] * 2
        clock.advance(span)
        assert statuses(world, rep) == ["Synced", "Synced"]
        assert all(p.last_sync == pytest.approx(PERIOD * cycle + span) for p in settled(world, rep))
        assert [p.iterations for p in settled(world, rep)] == [cycle + 1] * 2
    sync_rep = next(r for r in world.replications if r.mode == "sync")
    assert statuses(world, sync_rep) == ["Synced", "Synced"] and settled(world, sync_rep)[0].iterations == 1


def test_a_stopped_periodic_group_does_not_sync_and_restarts_its_period_when_started(clock: ManualClock) -> None:
    world = periodic_world(clock)
    rep = periodic(world)
    clock.advance(PERIOD / 2)
    world.stop_group("primary", rep.name)
    clock.advance(PERIOD / 5)
    world.start_group("primary", rep.name)  # within the period: the schedule from creation (due at 10) is void
    started = world.now()
    clock.advance(PERIOD - PERIOD / 5 - PERIOD / 2 + 0.5)  # past 10
    assert statuses(world, rep) == ["Synced", "Synced"]
    world.stop_group("primary", rep.name)
    clock.advance(PERIOD * 3)
    assert statuses(world, rep) == ["Stopped", "Stopped"]  # no sync while stopped
    world.start_group("primary", rep.name)
    restarted = world.now()
    clock.advance(PERIOD - 0.01)
    assert statuses(world, rep) == ["Synced", "Synced"]
    assert [p.last_sync for p in settled(world, rep)] == [restarted + world.durations.resync] * 2
    assert started < restarted
    clock.advance(0.02)
    assert statuses(world, rep) == ["Syncing", "Syncing"]


def test_no_periodic_sync_while_cut_off_busy_or_faulted(clock: ManualClock) -> None:
    world = periodic_world(clock)
    rep = periodic(world)
    world.force_sync_status("primary", rep.name, SyncStatus.STALE)
    clock.advance(PERIOD + 0.01)
    assert statuses(world, rep) == ["Stale", "Stale"]  # a fault state stays until someone acts
    world.start_group("primary", rep.name)  # already started: nothing to do
    world.set_link("primary", "secondary", False)
    clock.advance(PERIOD)
    assert statuses(world, rep) == ["Stopped", "Stopped"]


def test_a_new_period_takes_effect_at_once(clock: ManualClock) -> None:
    world = periodic_world(clock)
    rep = periodic(world)
    clock.advance(1.0)
    world.set_duration("period", 2.0)
    clock.advance(2.01)
    assert statuses(world, rep) == ["Syncing", "Syncing"]


def test_stopping_stamps_the_moment_of_the_stop(clock: ManualClock) -> None:
    world = periodic_world(clock)
    sync_rep = next(r for r in world.replications if r.mode == "sync")
    clock.advance(42.0)
    world.stop_group("primary", sync_rep.name)
    assert [p.last_sync for p in settled(world, sync_rep)] == [world.created + 42.0] * 2
    # a link loss stops the group when the arrays notice it
    world.start_group("primary", sync_rep.name)
    clock.advance(world.durations.resync + 5.0)
    world.set_link("primary", "secondary", False)
    clock.advance(world.durations.link_detect + 0.5)
    detected = world.created + 42.0 + world.durations.resync + 5.0 + world.durations.link_detect
    assert [p.last_sync for p in settled(world, sync_rep)] == [pytest.approx(detected)] * 2
    # a periodic group keeps its last completed sync
    rep = periodic(world)
    assert statuses(world, rep) == ["Stopped", "Stopped"] and settled(world, rep)[0].last_sync <= detected


def test_syncrcopy_counts_as_an_iteration(clock: ManualClock) -> None:
    world = periodic_world(clock)
    rep = periodic(world)
    world.sync_group("primary", rep.name)
    clock.advance(world.durations.periodic_sync + 0.01)
    assert [p.iterations for p in settled(world, rep)] == [2, 2]
