"""The deviation format's later additions, on the in-process backend (manual clock): `transient` limited to
some arrays, `swap_ends`, `entity_visible_to`, `stale`, `cim_type`, `when.mode`, and the answer key's `groups`."""

from __future__ import annotations

from pathlib import Path

import pytest
import pywbem
from pywbem import CIMError, CIMInstance, CIMInstanceName

from harness.deviation_format import Deviation, DeviationError, Stale, Transient, When, load_deviations, load_expect
from harness.mock import cim_paths as P
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.clock import ManualClock
from harness.mock.deviations import Deviations
from harness.mock.world import World

NS = "root/tpd"
PAIR = "TPD_RemoteStorageSynchronized"
GROUP_SYNC = "TPD_RemoteGroupSynchronized"
ENTITY = "TPD_ReplicationEntity"


def backend(world: World, array: str, *rules: Deviation) -> ArrayCIMBackend:
    deviations = Deviations(list(rules))
    deviations.apply_transients(world)
    return ArrayCIMBackend(world, array, deviations)


def group(world: World, array: str, prefix: str = "rcg_sync") -> str:
    return next(name for name, _ in world.groups_on(array) if name.startswith(prefix))


def volumes(b: ArrayCIMBackend, name: str) -> list[CIMInstanceName]:
    return sorted(
        b.AssociatorNames(P.group_path(name, NS), AssocClass="TPD_RemoteReplicationGroupMember"),
        key=lambda v: int(v["DeviceID"]),
    )


def pairs(b: ArrayCIMBackend, name: str) -> list[CIMInstance]:
    return [p for vol in volumes(b, name) for p in b.References(vol, ResultClass=PAIR)]


def progress(b: ArrayCIMBackend, name: str) -> set[int]:
    return {int(p["ProgressStatus"]) for p in pairs(b, name)}


def is_local(ref: CIMInstanceName, b: ArrayCIMBackend) -> bool:
    return ref.host is None and ref.keybindings.get("SystemName") == b.world.arrays[b.array].serial


def primary_down(world: World, clock: ManualClock) -> None:
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)


def failed_over(world: World, clock: ManualClock) -> None:
    """Primary down, failover done: the secondary Primary-Rev, the link still down."""
    primary_down(world, clock)
    world.failover("secondary", group(world, "secondary"))
    clock.advance(world.durations.failover + 0.01)


def recovered(world: World, clock: ManualClock) -> None:
    """Failover, primary back, recover done: roles reversed, group started, volumes Synced."""
    failed_over(world, clock)
    world.set_power("primary", True)
    world.recover("secondary", group(world, "secondary"))
    clock.advance(max(world.durations.recover, world.durations.resync) + 0.01)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deviations.yaml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ transient on some arrays only
def test_transient_on_one_array_hides_the_in_progress_state_there_only(world: World, clock: ManualClock) -> None:
    rule = Deviation(id="hide", transient=Transient(operation="restore", seconds=0.5, arrays=["primary"]))
    primary, secondary = backend(world, "primary", rule), backend(world, "secondary", rule)
    recovered(world, clock)
    assert world.operation_durations == {}, "with arrays the world's command keeps its duration"
    world.restore("secondary", group(world, "secondary"))
    failing_back = 12
    assert progress(primary, group(world, "primary")) == {failing_back}, "shown for the first 0.5 s"
    clock.advance(0.6)
    assert progress(primary, group(world, "primary")) == {2}, "then answered as if no command ran"
    assert {int(p["CopyState"]) for p in pairs(primary, group(world, "primary"))} == {4}
    assert progress(secondary, group(world, "secondary")) == {failing_back}
    assert world.operation_running("secondary", group(world, "secondary"))


def test_transient_arrays_are_checked(tmp_path: Path) -> None:
    bad = "deviations:\n  - id: x\n    transient: {operation: restore, seconds: 0, arrays: %s}\n"
    for arrays, needle in (("[primary, primary]", "twice"), ("[any]", "arrays"), ("[]", "arrays")):
        with pytest.raises(DeviationError) as exc:
            load_deviations(write(tmp_path, bad % arrays))
        assert needle in str(exc.value)


# ------------------------------------------------------------------ swap_ends
def test_swap_ends_of_pairs_keeps_the_configured_direction(world: World, clock: ManualClock) -> None:
    rule = Deviation(id="unswapped", array="secondary", when=When(role="Primary-Rev"), swap_ends=[PAIR])
    b, honest = backend(world, "secondary", rule), ArrayCIMBackend(world, "secondary")
    name = group(world, "secondary")
    assert [p.path for p in pairs(b, name)] == [p.path for p in pairs(honest, name)], "natural roles: no change"
    failed_over(world, clock)
    [deviant], [true] = pairs(b, name)[:1], pairs(honest, name)[:1]
    assert is_local(true["SystemElement"], honest) and not is_local(deviant["SystemElement"], b)
    assert deviant.path["SystemElement"] == true.path["SyncedElement"]
    assert true["UndiscoveredElement"] == 3 and deviant["UndiscoveredElement"] == 2, "still names the entity end"
    assert deviant.path["SystemElement"].classname == ENTITY
    assert P.object_key(b.GetInstance(deviant.path).path) == P.object_key(deviant.path)
    with pytest.raises(CIMError):
        b.GetInstance(true.path)
    vol = volumes(b, name)[0]
    assert len(b.References(vol, ResultClass=PAIR, Role="SyncedElement")) == 1
    assert b.References(vol, ResultClass=PAIR, Role="SystemElement") == []


def test_swap_ends_of_group_synchronized(world: World, clock: ManualClock) -> None:
    rule = Deviation(id="follows", array="secondary", when=When(role="Primary-Rev"), swap_ends=[GROUP_SYNC])
    b = backend(world, "secondary", rule)
    name = group(world, "secondary")
    path = P.group_path(name, NS)
    [before] = b.References(path, ResultClass=GROUP_SYNC)
    assert before.path["SystemElement"].host is not None, "the configured source group, on the primary"
    failed_over(world, clock)
    [after] = b.References(path, ResultClass=GROUP_SYNC)
    assert after.path["SystemElement"].host is None and after.path["SystemElement"]["InstanceID"].endswith(name)
    assert after.path["SyncedElement"] == before.path["SystemElement"]
    enumerated = [i.path for i in b.EnumerateInstances(GROUP_SYNC)]
    assert after.path in enumerated and before.path not in enumerated
    assert b.GetInstance(after.path).path == after.path
    assert b.References(path, ResultClass=GROUP_SYNC, Role="SystemElement") == [after]
    assert backend(world, "primary", rule).References(
        P.group_path(group(world, "primary"), NS), ResultClass=GROUP_SYNC
    )[0].path["SystemElement"].host is None, "the rule names the secondary only"


# ------------------------------------------------------------------ entity_visible_to
def test_entities_visible_to_enumerate_and_get_instance(world: World, clock: ManualClock) -> None:
    honest = ArrayCIMBackend(world, "secondary")
    enumerable = backend(world, "secondary", Deviation(id="e", entity_visible_to=["EnumerateInstances"]))
    gettable = backend(world, "secondary", Deviation(id="g", entity_visible_to=["GetInstance"]))
    assert enumerable.EnumerateInstanceNames(ENTITY) == [], "no entity while the link is up"
    primary_down(world, clock)
    vol = volumes(honest, group(world, "secondary"))[0]
    [entity] = honest.AssociatorNames(vol, ResultClass=ENTITY)
    assert honest.EnumerateInstanceNames(ENTITY) == []
    with pytest.raises(CIMError) as exc:
        honest.GetInstance(entity)
    assert exc.value.status_code == pywbem.CIM_ERR_NOT_FOUND
    names = enumerable.EnumerateInstanceNames(ENTITY)
    assert P.object_key(entity) in {P.object_key(n) for n in names} and len(names) == len(set(map(P.object_key, names)))
    assert enumerable.EnumerateInstances(ENTITY)[0]["InstanceID"].startswith("3PAR:")
    with pytest.raises(CIMError):
        enumerable.GetInstance(entity)
    assert gettable.GetInstance(entity)["EntityID"] == entity["InstanceID"].split(":", 1)[1]
    assert gettable.EnumerateInstanceNames(ENTITY) == []


def test_entity_visible_to_names_operations(tmp_path: Path) -> None:
    with pytest.raises(DeviationError) as exc:
        load_deviations(write(tmp_path, "deviations:\n  - id: x\n    entity_visible_to: [Associators]\n"))
    assert "entity_visible_to" in str(exc.value) and "EnumerateInstances" in str(exc.value)


# ------------------------------------------------------------------ stale
def test_stale_answers_the_values_of_n_seconds_ago(world: World, clock: ManualClock) -> None:
    b = backend(world, "secondary", Deviation(id="late", stale=Stale(seconds=2)))
    name = group(world, "secondary")
    assert {int(p["CopyState"]) for p in pairs(b, name)} == {4}
    primary_down(world, clock)
    first = pairs(b, name)[0]
    assert int(first["CopyState"]) == 4 and first.path["SystemElement"].classname == ENTITY, (
        "the previous values, the current keys"
    )
    assert first["UndiscoveredElement"] == 2, "UndiscoveredElement names the current entity end"
    clock.advance(1.0)
    assert {int(p["CopyState"]) for p in pairs(b, name)} == {4}
    clock.advance(1.1)
    assert {int(p["CopyState"]) for p in pairs(b, name)} == {5}, "2 s after the change the new values"
    assert {int(p["CopyState"]) for p in pairs(ArrayCIMBackend(world, "secondary"), name)} == {5}


def test_stale_only_while_when_matches(world: World, clock: ManualClock) -> None:
    rule = Deviation(id="late", array="secondary", when=When(link="down"), stale=Stale(seconds=5))
    b = backend(world, "secondary", rule)
    name = group(world, "secondary")
    pairs(b, name)
    primary_down(world, clock)
    assert {int(p["CopyState"]) for p in pairs(b, name)} == {4}, "the link is down: late"
    world.set_power("primary", True)
    assert {int(p["CopyState"]) for p in pairs(b, name)} == {8}, "link up again: on time (Inactive: stopped)"


# ------------------------------------------------------------------ cim_type
def test_cim_type_sends_an_integer_as_text(world: World) -> None:
    rule = Deviation(id="text", array="primary", cim_type={"CopyState": "string", "ProgressStatus": "uint32"})
    b = backend(world, "primary", rule)
    [inst, *_] = pairs(b, group(world, "primary"))
    assert inst.properties["CopyState"].type == "string" and inst["CopyState"] == "4"
    assert inst.properties["ProgressStatus"].type == "uint32" and inst["ProgressStatus"] == 2
    assert inst.properties["SyncState"].type == "uint16"
    assert backend(world, "secondary", rule).EnumerateInstances(PAIR)[0].properties["CopyState"].type == "uint16"


@pytest.mark.parametrize(
    ("types", "needle"),
    [
        ("{CopyState: uint16}", "already its type"),
        ("{RoleReversed: string}", "only integer properties"),
        ("{CopyStat: string}", "no property 'CopyStat'"),
        ("{CopyState: real32}", "cim_type"),
    ],
)
def test_cim_type_is_checked(tmp_path: Path, types: str, needle: str) -> None:
    with pytest.raises(DeviationError) as exc:
        load_deviations(write(tmp_path, f"deviations:\n  - id: typed\n    cim_type: {types}\n"))
    assert needle in str(exc.value)


# ------------------------------------------------------------------ when.mode
def test_when_mode_matches_the_group_mode(world: World) -> None:
    b = backend(world, "primary", Deviation(id="m", when=When(mode="periodic"), cim={"Mode": "Synchronous"}))
    assert {int(p["Mode"]) for p in pairs(b, group(world, "primary", "rcg_periodic"))} == {2}
    assert {int(p["Mode"]) for p in pairs(b, group(world, "primary", "rcg_sync"))} == {2}
    b = backend(world, "primary", Deviation(id="m", when=When(mode="sync"), cim={"Mode": "Asynchronous"}))
    assert {int(p["Mode"]) for p in pairs(b, group(world, "primary", "rcg_periodic"))} == {3}
    assert {int(p["Mode"]) for p in pairs(b, group(world, "primary", "rcg_sync"))} == {3}


# ------------------------------------------------------------------ expect.groups
def test_expect_groups(tmp_path: Path) -> None:
    path = write(tmp_path, "expect: {groups: [rcg_periodic_1], fail: [RULE-07]}\ndeviations: []\n")
    expect = load_expect(path)
    assert expect is not None and expect.groups == ["rcg_periodic_1"] and expect.target == "pair"
    for groups, needle in (("[a, a]", "twice"), ("['../x']", "not a group name"), ("[]", "groups")):
        with pytest.raises(DeviationError) as exc:
            load_expect(write(tmp_path, f"expect: {{groups: {groups}}}\ndeviations: []\n"))
        assert needle in str(exc.value)


def test_expect_skipped_rows_one_verdict_each(tmp_path: Path) -> None:
    expect = load_expect(write(tmp_path, "expect: {fail: [RULE-07], skipped: [RULE-06]}\ndeviations: []\n"))
    assert expect is not None and expect.skipped == ["RULE-06"]
    for key, needle in (("{skipped: [RULE-99]}", "not documented"), ("{fail: [RULE-06], skipped: [RULE-06]}", "twice")):
        with pytest.raises(DeviationError) as exc:
            load_expect(write(tmp_path, f"expect: {key}\ndeviations: []\n"))
        assert needle in str(exc.value)
