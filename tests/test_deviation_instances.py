"""Instance-level deviations of the simulated provider (in-process, manual clock): pair instances left out,
refused with CIM_ERR_NOT_FOUND, reported twice or twinned, classes not implemented; `pairs: N`."""

from __future__ import annotations

from pathlib import Path

import pytest
import pywbem
from pywbem import CIMError, CIMInstanceName

from harness.deviation_format import Deviation, DeviationError, When, load_deviations
from harness.mock import cim_paths as P
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.clock import ManualClock
from harness.mock.deviations import Deviations
from harness.mock.world import World

NS = "root/tpd"
PAIR = "TPD_RemoteStorageSynchronized"


def backend(world: World, array: str, *rules: Deviation) -> ArrayCIMBackend:
    return ArrayCIMBackend(world, array, Deviations(list(rules)))


def group(world: World, array: str) -> str:
    return next(name for name, _ in world.groups_on(array) if name.startswith("rcg_sync"))


def volumes(b: ArrayCIMBackend, name: str) -> list[CIMInstanceName]:
    return sorted(
        b.AssociatorNames(P.group_path(name, NS), AssocClass="TPD_RemoteReplicationGroupMember"),
        key=lambda v: int(v["DeviceID"]),
    )


def refs(b: ArrayCIMBackend, vol: CIMInstanceName) -> list[pywbem.CIMInstance]:
    return b.References(vol, ResultClass=PAIR)


def failed_over(world: World, clock: ManualClock) -> None:
    """Primary down, failover done, primary back: roles reversed, link up."""
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    world.failover("secondary", group(world, "secondary"))
    clock.advance(world.durations.failover + 0.01)
    world.set_power("primary", True)


def test_omit_one_pair_only_while_roles_are_reversed(world: World, clock: ManualClock) -> None:
    rule = Deviation(id="drop", array="secondary", when=When(role="Primary-Rev"), pairs=1, instance="omit")
    b = backend(world, "secondary", rule)
    g = group(world, "secondary")
    first, second = volumes(b, g)
    assert len(refs(b, first)) == len(refs(b, second)) == 1, "natural roles: the rule does not match"
    failed_over(world, clock)
    assert refs(b, first) == [] and len(refs(b, second)) == 1
    assert b.Associators(first, ResultClass="TPD_StorageVolume") == []
    enumerated = [p for p in b.EnumerateInstanceNames(PAIR) if P.object_key(p["SyncedElement"]) == P.object_key(first)
                  or P.object_key(p["SystemElement"]) == P.object_key(first)]  # fmt: skip
    assert enumerated == []
    honest = ArrayCIMBackend(world, "secondary")
    path = refs(honest, first)[0].path
    with pytest.raises(CIMError) as exc:
        b.GetInstance(path)
    assert exc.value.status_code == pywbem.CIM_ERR_NOT_FOUND
    primary = backend(world, "primary", rule)  # the rule names the secondary only
    assert all(len(refs(primary, v)) == 1 for v in volumes(primary, group(world, "primary")))


def test_not_found_refuses_references_and_get_instance(world: World, clock: ManualClock) -> None:
    rule = Deviation(id="nf", array="secondary", when=When(operation="failover"), instance="not_found")
    b = backend(world, "secondary", rule)
    g = group(world, "secondary")
    vol = volumes(b, g)[0]
    path = refs(b, vol)[0].path
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    assert len(refs(b, vol)) == 1, "before the failover the pair answers"
    world.failover("secondary", g)
    with pytest.raises(CIMError) as exc:
        refs(b, vol)
    assert exc.value.status_code == pywbem.CIM_ERR_NOT_FOUND
    with pytest.raises(CIMError) as exc:
        b.GetInstance(refs(ArrayCIMBackend(world, "secondary"), vol)[0].path)
    assert exc.value.status_code == pywbem.CIM_ERR_NOT_FOUND
    assert all(P.object_key(p) != P.object_key(path) for p in b.EnumerateInstanceNames(PAIR))
    clock.advance(world.durations.failover + 0.01)
    assert len(refs(b, vol)) == 1, "once the failover is done the pair answers again"


def test_duplicate_reports_the_same_path_twice(world: World) -> None:
    b = backend(world, "primary", Deviation(id="twice", instance="duplicate"))
    vol = volumes(b, group(world, "primary"))[0]
    found = refs(b, vol)
    assert len(found) == 2 and found[0].path == found[1].path
    names = [P.object_key(p) for p in b.EnumerateInstanceNames(PAIR)]
    assert names.count(P.object_key(found[0].path)) == 2
    assert b.GetInstance(found[0].path)["CopyState"] == 4


def test_duplicate_swapped_adds_a_second_instance_for_the_pair(world: World) -> None:
    b = backend(world, "primary", Deviation(id="twin", pairs=1, instance="duplicate_swapped"))
    first, second = volumes(b, group(world, "primary"))
    found = refs(b, first)
    assert len(found) == 2 and len(refs(b, second)) == 1
    one, twin = found
    assert one.path["SystemElement"] == twin.path["SyncedElement"]
    assert one.path["SyncedElement"] == twin.path["SystemElement"]
    assert twin["SystemElement"] == twin.path["SystemElement"]
    assert P.object_key(b.GetInstance(twin.path).path) == P.object_key(twin.path)
    # from the twin, the local volume is the SyncedElement
    assert len(b.References(first, ResultClass=PAIR, Role="SyncedElement")) == 1
    assert len(b.Associators(first, ResultClass="TPD_StorageVolume", AssocClass=PAIR)) == 1


def test_omit_group_synchronized_class(world: World) -> None:
    rule = Deviation(id="no-group-sync", omit_class=["TPD_RemoteGroupSynchronized"])
    b = backend(world, "secondary", rule)
    g = group(world, "secondary")
    assert b.References(P.group_path(g, NS), ResultClass="TPD_RemoteGroupSynchronized") == []
    assert b.EnumerateInstances("TPD_RemoteGroupSynchronized") == []
    honest = ArrayCIMBackend(world, "secondary")
    path = honest.References(P.group_path(g, NS), ResultClass="TPD_RemoteGroupSynchronized")[0].path
    with pytest.raises(CIMError):
        b.GetInstance(path)
    assert len(b.References(P.group_path(g, NS), ResultClass="TPD_RemoteReplicationGroupMember")) == 2


def test_omit_replication_entity_keeps_naming_the_peer_volume(world: World, clock: ManualClock) -> None:
    b = backend(world, "secondary", Deviation(id="no-entity", omit_class=["TPD_ReplicationEntity"]))
    vol = volumes(b, group(world, "secondary"))[0]
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    [pair] = refs(b, vol)
    assert pair.path["SystemElement"].classname == "TPD_StorageVolume"
    assert pair.path["SystemElement"].host == world.arrays["primary"].wwn
    assert pair["UndiscoveredElement"] is None
    assert b.AssociatorNames(vol, ResultClass="TPD_ReplicationEntity") == []
    assert [v.host for v in b.AssociatorNames(vol, ResultClass="TPD_StorageVolume")] == [world.arrays["primary"].wwn]
    assert ArrayCIMBackend(world, "secondary").AssociatorNames(vol, ResultClass="TPD_ReplicationEntity")


def test_unknown_instance_fault_and_class_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("deviations:\n  - id: x\n    instance: vanish\n")
    with pytest.raises(DeviationError) as exc:
        load_deviations(bad)
    assert "instance" in str(exc.value) and "omit" in str(exc.value)
    bad.write_text("deviations:\n  - id: x\n    omit_class: [TPD_StorageVolume]\n")
    with pytest.raises(DeviationError) as exc:
        load_deviations(bad)
    assert "omit_class" in str(exc.value) and "TPD_RemoteGroupSynchronized" in str(exc.value)
    bad.write_text("deviations:\n  - id: x\n    pairs: 0\n    instance: omit\n")
    with pytest.raises(DeviationError) as exc:
        load_deviations(bad)
    assert "pairs" in str(exc.value)
