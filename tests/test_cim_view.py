"""The simulated array's CIM side, called in-process (no HTTP) on a manual clock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import pywbem
import pywbem_mock
import yaml
from pywbem import CIMError, CIMInstance, CIMInstanceName, ValueMapping

from harness.cim_classes import MOF_DIR, MOF_FILES
from harness.deviation_format import Deviation, DeviationError, When
from harness.mock import cim_paths as P
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.clock import ManualClock
from harness.mock.deviations import Deviations
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import SyncStatus, World

NS = "root/tpd"
STATE = ["CopyState", "SyncState", "ProgressStatus"]
SPEC = Path(__file__).resolve().parents[1] / "harness" / "spec" / "remote-copy-states.yaml"  # value maps

# (CopyState, SyncState, ProgressStatus)
SYNCED = (4, 6, 2)
BROKEN = (5, 12, 2)
FAILING_OVER = (10, 12, 11)
FAILED_OVER = (10, 12, 2)
RECOVERING = (3, 10, 8)
RESTORING = (4, 6, 12)


def backend(world: World, array: str, deviations: Deviations | None = None) -> ArrayCIMBackend:
    return ArrayCIMBackend(world, array, deviations)


def group_named(world: World, array: str, prefix: str) -> str:
    return next(name for name, _ in world.groups_on(array) if name.startswith(prefix))


def members(b: ArrayCIMBackend, group: str) -> list[CIMInstanceName]:
    return b.AssociatorNames(P.group_path(group, NS), AssocClass="TPD_RemoteReplicationGroupMember")


def pairs(b: ArrayCIMBackend, group: str, props: list[str] | None = None) -> list[CIMInstance]:
    out: list[CIMInstance] = []
    for vol in members(b, group):
        out.extend(b.References(vol, ResultClass="TPD_RemoteStorageSynchronized", PropertyList=props))
    return out


def states(b: ArrayCIMBackend, group: str) -> set[tuple[int, int, int]]:
    return {tuple(int(p[n]) for n in STATE) for p in pairs(b, group)}


def prop(b: ArrayCIMBackend, group: str, name: str) -> set[object]:
    return {p[name] for p in pairs(b, group)}


def is_local(ref: CIMInstanceName, b: ArrayCIMBackend) -> bool:
    return ref.host is None and ref.keybindings.get("SystemName") == b.world.arrays[b.array].serial


# ------------------------------------------------------------------ natural state
@pytest.mark.parametrize("array", ["primary", "secondary"])
def test_natural_state_sync_and_periodic(world: World, array: str) -> None:
    b = backend(world, array)
    sync_group, periodic_group = group_named(world, array, "rcg_sync"), group_named(world, array, "rcg_periodic")
    for group, mode, copy_type in ((sync_group, 2, 3), (periodic_group, 3, 2)):
        found = pairs(b, group)
        assert len(found) == 2
        for p in found:
            assert tuple(p[n] for n in STATE) == SYNCED
            assert (p["Mode"], p["CopyType"], p["SyncType"], p["ReplicaType"]) == (mode, copy_type, 6, 2)
            assert p["RoleReversed"] is False and p["SyncMaintained"] is True
            assert p["RequestedCopyState"] == 15
            assert p["PercentSynced"] is None and p["UndiscoveredElement"] is None
            assert isinstance(p["CopyState"], pywbem.Uint16)
            if mode == 2:
                assert p["WhenSynced"] is None
            else:
                assert isinstance(p["WhenSynced"], pywbem.CIMDateTime)
            system, synced = p.path["SystemElement"], p.path["SyncedElement"]
            # the primary's volume is the source on both arrays' views
            assert is_local(system, b) == (array == "primary")
            assert is_local(synced, b) == (array == "secondary")
            remote = synced if array == "primary" else system
            peer = "secondary" if array == "primary" else "primary"
            assert remote.host == world.arrays[peer].wwn
            assert remote.keybindings["SystemName"] == world.arrays[peer].serial


def test_remote_volumes_cannot_be_fetched_locally(world: World) -> None:
    b = backend(world, "secondary")
    p = pairs(b, group_named(world, "secondary", "rcg_sync"))[0]
    remote = p.path["SystemElement"]
    with pytest.raises(CIMError) as exc:
        b.GetInstance(remote)
    assert exc.value.status_code == pywbem.CIM_ERR_NOT_FOUND
    local_names = {str(v) for v in b.EnumerateInstanceNames("TPD_StorageVolume")}
    assert all(CIMInstanceName.from_wbem_uri(n).host is None for n in local_names)
    assert len(local_names) == len(world.arrays["secondary"].volumes)
    assert b.GetInstance(p.path)["CopyState"] == 4
    vol = b.GetInstance(p.path["SyncedElement"])
    assert vol["ElementName"].startswith("rcg_sync_0.v") and vol["Name"].startswith("60002AC")


# ------------------------------------------------------------------ the DR sequence
def test_full_dr_sequence(world: World, clock: ManualClock) -> None:
    d = world.durations
    prim, sec = backend(world, "primary"), backend(world, "secondary")
    pg, sg = group_named(world, "primary", "rcg_sync"), group_named(world, "secondary", "rcg_sync")
    sec_vol = members(sec, sg)[0]

    world.set_power("primary", False)
    assert states(sec, sg) == {SYNCED}  # loss not detected yet
    clock.advance(d.link_detect + 0.01)
    # T107-01: secondary after the primary went down; the remote end is a ReplicationEntity
    assert states(sec, sg) == {BROKEN}
    assert prop(sec, sg, "RequestedCopyState") == {4}
    assert prop(sec, sg, "RoleReversed") == {False}
    assert prop(sec, sg, "UndiscoveredElement") == {2}
    p = pairs(sec, sg)[0]
    assert p.path["SystemElement"].classname == "TPD_ReplicationEntity"
    assert is_local(p.path["SyncedElement"], sec)
    entities = sec.Associators(sec_vol, ResultClass="TPD_ReplicationEntity")
    assert len(entities) == 1
    entity = entities[0]
    assert entity["InstanceID"] == f"3PAR:{entity['EntityID']}" and entity["EntityID"].startswith("rcg_sync_0.v")
    assert (entity["Type"], entity["Persistent"]) == (4, False)
    assert entity.path == p.path["SystemElement"]
    assert sec.AssociatorNames(sec_vol, ResultClass="CIM_ReplicationEntity") == [entity.path]
    assert sec.EnumerateInstances("TPD_ReplicationEntity") == []
    assert sec.EnumerateInstanceNames("CIM_ReplicationEntity") == []
    with pytest.raises(CIMError) as exc:
        sec.GetInstance(entity.path)
    assert exc.value.status_code == pywbem.CIM_ERR_NOT_FOUND
    assert [r.path for r in sec.References(sec_vol, ResultClass="CIM_StorageSynchronized")] == [p.path]

    # T107-02: failover in progress; the secondary is now the source end
    world.failover("secondary", sg)
    assert states(sec, sg) == {FAILING_OVER}
    assert prop(sec, sg, "RoleReversed") == {True}
    p = pairs(sec, sg)[0]
    assert is_local(p.path["SystemElement"], sec)
    assert p.path["SyncedElement"].classname == "TPD_ReplicationEntity"
    assert p["UndiscoveredElement"] == 3
    # T107-03: failover done, primary still down
    clock.advance(d.failover + 0.01)
    assert states(sec, sg) == {FAILED_OVER}
    assert prop(sec, sg, "RequestedCopyState") == {15}
    group_sync = sec.References(P.group_path(sg, NS), ResultClass="TPD_RemoteGroupSynchronized")
    assert [g.path["SystemElement"]["InstanceID"] for g in group_sync] == [f"3PAR:{pg}"]

    # T107-03b / T107-04: the primary is back, roles still reversed, volumes are resolvable again
    world.set_power("primary", True)
    assert states(sec, sg) == {BROKEN}
    assert states(prim, pg) == {BROKEN}
    assert prop(prim, pg, "RoleReversed") == {True}
    assert prop(sec, sg, "UndiscoveredElement") == {None}
    assert sec.AssociatorNames(sec_vol, ResultClass="TPD_ReplicationEntity") == []
    for b in (prim, sec):
        for p in pairs(b, pg if b is prim else sg):
            system, synced = p.path["SystemElement"], p.path["SyncedElement"]
            assert system.keybindings["SystemName"] == world.arrays["secondary"].serial  # swapped
            assert synced.keybindings["SystemName"] == world.arrays["primary"].serial
            assert is_local(system, b) == (b is sec) and is_local(synced, b) == (b is prim)
    peer_vol = sec.AssociatorNames(sec_vol, ResultClass="TPD_StorageVolume")
    assert [v.host for v in peer_vol] == [world.arrays["primary"].wwn]

    # T107-05/06: recover in progress
    world.recover("secondary", sg)
    clock.advance(d.recover / 2)
    assert states(sec, sg) == states(prim, pg) == {RECOVERING}
    assert all(0 < pct < 100 for pct in prop(sec, sg, "PercentSynced"))
    # T107-07/09: recover done
    clock.advance(d.recover)
    assert states(sec, sg) == states(prim, pg) == {SYNCED}
    assert prop(sec, sg, "RoleReversed") == prop(prim, pg, "RoleReversed") == {True}
    assert prop(sec, sg, "PercentSynced") == {None}
    group_sync = sec.References(P.group_path(sg, NS), ResultClass="TPD_RemoteGroupSynchronized")
    assert group_sync[0].path["SystemElement"]["InstanceID"] == f"3PAR:{pg}"
    assert group_sync[0].path["SystemElement"].host == world.arrays["primary"].wwn
    assert group_sync[0]["RoleReversed"] is True and group_sync[0]["CopyState"] == 4

    # T107-11/14: restore in progress; T107-12/15: restore done
    world.restore("secondary", sg)
    assert states(sec, sg) == states(prim, pg) == {RESTORING}
    clock.advance(d.restore + 0.01)
    assert states(sec, sg) == states(prim, pg) == {SYNCED}
    assert prop(sec, sg, "RoleReversed") == prop(prim, pg, "RoleReversed") == {False}
    for p in pairs(sec, sg):
        assert p.path["SystemElement"].keybindings["SystemName"] == world.arrays["primary"].serial
    # the other (untouched) group stopped with the link and stays stopped
    assert states(sec, group_named(world, "secondary", "rcg_periodic")) == {(8, 14, 3)}


def test_table106_rows(world: World, clock: ManualClock) -> None:
    b = backend(world, "primary")
    group = group_named(world, "primary", "rcg_sync")
    world.reset_to_new("primary", group)
    assert states(b, group) == {(2, 5, 19)}
    assert prop(b, group, "RequestedCopyState") == {4}
    assert prop(b, group, "SyncMaintained") == {False}
    world.start_group("primary", group)
    assert states(b, group) == {(3, 5, 6)}
    clock.advance(world.durations.initial_sync + 0.01)
    assert states(b, group) == {SYNCED}
    world.stop_group("primary", group)
    assert states(b, group) == {(8, 14, 3)}
    assert prop(b, group, "RequestedCopyState") == {15}
    world.force_sync_status("primary", group, SyncStatus.STALE)
    assert states(b, group) == {(13, 12, 2)}
    assert prop(b, group, "RequestedCopyState") == {4}
    world.force_sync_status("primary", group, SyncStatus.NOT_SYNCED)
    assert states(b, group) == {BROKEN}


def test_group_sync_mixed_when_members_disagree(world: World) -> None:
    b = backend(world, "primary")
    group = group_named(world, "primary", "rcg_sync")
    vol = world.groups_on("primary", group)[0][1][0].pairs[0].source_volume
    world.stop_group("primary", group)
    world.force_sync_status("primary", group, SyncStatus.STALE, volume=vol)
    [gs] = b.References(P.group_path(group, NS), ResultClass="CIM_GroupSynchronized")
    assert (gs["CopyState"], gs["SyncState"], gs["ProgressStatus"]) == (14, None, 14)
    assert gs["SyncMaintained"] is False


# ------------------------------------------------------------------ navigation
def test_group_members_references_only_that_group(clock: ManualClock) -> None:
    world = build_world(WorldSpec(groups=2, volumes_per_group=3, scale=250), clock=clock)
    b = backend(world, "secondary")
    group = group_named(world, "secondary", "rcg_periodic")
    groups = b.EnumerateInstances("TPD_RemoteReplicationGroup", PropertyList=["ElementName"])
    assert len(groups) == 2 + 3  # two groups and three noise groups
    [grp] = [g for g in groups if g["ElementName"] == group]
    assert grp["ElementName"] == group and list(grp.properties) == ["ElementName"]
    full = b.GetInstance(grp.path)
    assert (full["Persistent"], full["DeleteOnEmptyElement"], full["DeleteOnUnassociated"]) == (True, False, False)
    vols = b.Associators(grp.path, ResultClass="CIM_StorageVolume", PropertyList=["ElementName"])
    assert sorted(v["ElementName"] for v in vols) == [f"{group.split('.')[0]}.v{i}" for i in range(3)]
    found = pairs(b, group, props=["CopyState", "ProgressStatus"])
    assert len(found) == 3
    for p in found:
        assert set(p.properties) == {"CopyState", "ProgressStatus"}
        assert p.path.classname == "TPD_RemoteStorageSynchronized" and p.path.namespace == NS
    names = {v.path["DeviceID"] for v in vols}
    assert {p.path["SyncedElement"]["DeviceID"] for p in found} == names
    # Role / ResultRole filters
    vol = vols[0].path
    assert [r.classname for r in b.ReferenceNames(vol, Role="SyncedElement")] == ["TPD_RemoteStorageSynchronized"]
    assert b.ReferenceNames(vol, ResultClass="CIM_StorageSynchronized", Role="SystemElement") == []
    assert len(b.AssociatorNames(vol, AssocClass="CIM_Synchronized", ResultRole="SystemElement")) == 1
    assert b.AssociatorNames(vol, ResultClass="CIM_ReplicationGroup") == [grp.path]


def test_enumerate_parent_class_returns_vendor_subclass(world: World) -> None:
    b = backend(world, "primary")
    deep = b.EnumerateInstances("CIM_StorageSynchronized")
    assert len(deep) == 4 and {i.classname for i in deep} == {"TPD_RemoteStorageSynchronized"}
    assert "RoleReversed" in deep[0].properties
    shallow = b.EnumerateInstances("CIM_StorageSynchronized", DeepInheritance=False)
    assert "RoleReversed" not in shallow[0].properties and "CopyState" in shallow[0].properties
    assert len(b.EnumerateInstanceNames("CIM_GroupSynchronized")) == 2
    assert len(b.EnumerateInstances("CIM_MemberOfCollection")) == 4
    with_origin = b.GetInstance(deep[0].path, IncludeClassOrigin=True)
    assert with_origin.properties["RoleReversed"].class_origin == "TPD_RemoteStorageSynchronized"
    assert with_origin.properties["CopyState"].class_origin == "CIM_Synchronized"


# ------------------------------------------------------------------ SLD
def test_sld_backup_link(clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="sld", groups=1, volumes_per_group=2), clock=clock)
    for array in ("sync_secondary", "periodic_secondary"):
        b = backend(world, array)
        group = world.groups_on(array)[0][0]
        found = pairs(b, group)
        backup = [p for p in found if p["ProgressStatus"] == 3 and p["CopyState"] == 2]
        assert len(backup) == 2 and len(found) == 4
        for p in backup:
            assert tuple(p[n] for n in STATE) == (2, 2, 3)
            system, synced = p.path["SystemElement"], p.path["SyncedElement"]
            assert system.keybindings["SystemName"] == world.arrays["sync_secondary"].serial
            assert synced.keybindings["SystemName"] == world.arrays["periodic_secondary"].serial
            assert is_local(system, b) == (array == "sync_secondary")
            assert p["Mode"] == 3 and p["RoleReversed"] is False
        # the backup replication has no GroupSynchronized; the primary's has
        assert len(b.References(P.group_path(group, NS), ResultClass="CIM_GroupSynchronized")) == 1
    prim = backend(world, "primary")
    assert len(pairs(prim, "rcg_sld_0")) == 4  # one volume, two targets


# ------------------------------------------------------------------ deviations
def _stopped_and_failing_over(world: World) -> str:
    world.stop_group("primary", group_named(world, "primary", "rcg_sync"))
    group = group_named(world, "secondary", "rcg_sync")
    world.failover("secondary", group)
    return group


def test_deviation_changes_exactly_matching_pairs(world: World) -> None:
    rule = Deviation(
        id="E1-splitting", array="secondary", when=When(operation="failover"), cim={"ProgressStatus": "Splitting"}
    )
    deviant = backend(world, "secondary", Deviations([rule]))
    honest = backend(world, "secondary")
    honest_primary, deviant_primary = backend(world, "primary"), backend(world, "primary", Deviations([rule]))
    assert deviant.EnumerateInstances("TPD_RemoteStorageSynchronized") == honest.EnumerateInstances(
        "TPD_RemoteStorageSynchronized"
    )
    group = _stopped_and_failing_over(world)
    failing = {p.path for p in pairs(honest, group)}
    changed = 0
    for h, d in zip(
        honest.EnumerateInstances("CIM_StorageSynchronized"),
        deviant.EnumerateInstances("CIM_StorageSynchronized"),
        strict=True,
    ):
        assert h.path == d.path
        if h.path in failing:
            assert h["ProgressStatus"] == 11 and d["ProgressStatus"] == 10
            h["ProgressStatus"] = pywbem.Uint16(10)
            changed += 1
        assert h == d
    assert changed == 2
    assert deviant_primary.EnumerateInstances("CIM_StorageSynchronized") == honest_primary.EnumerateInstances(
        "CIM_StorageSynchronized"
    )


def test_deviation_omit_and_literal_values(world: World) -> None:
    rules = [
        Deviation(id="no-percent", cim_omit=["PercentSynced", "rolereversed"]),
        Deviation(id="null-mode", array="primary", cim={"Mode": None, "SyncMaintained": False, "CopyType": 32768}),
    ]
    b = backend(world, "primary", Deviations(rules))
    for p in b.EnumerateInstances("TPD_RemoteStorageSynchronized"):
        assert "PercentSynced" not in p.properties and "RoleReversed" not in p.properties
        assert p["Mode"] is None and p["SyncMaintained"] is False and p["CopyType"] == 32768
        assert p["CopyState"] == 4
    other = backend(world, "secondary", Deviations(rules))
    assert all(p["Mode"] in (2, 3) for p in other.EnumerateInstances("TPD_RemoteStorageSynchronized"))


@pytest.mark.parametrize(
    ("cim", "omit", "needle"),
    [
        ({"ProgresStatus": "Completed"}, [], "ProgresStatus"),
        ({"ProgressStatus": "Failing over"}, [], "Failing Over"),
        ({"CopyState": True}, [], "CopyState"),
        ({"RoleReversed": "yes"}, [], "RoleReversed"),
        ({"SystemElement": None}, [], "SystemElement"),
        ({}, ["NoSuchProperty"], "NoSuchProperty"),
        ({"CopyState": 70000}, [], "out of range"),
    ],
)
def test_bad_deviation_is_refused_with_its_name(world: World, cim: dict, omit: list, needle: str) -> None:
    rule = Deviation(id="bad-rule", cim=cim, cim_omit=omit)
    with pytest.raises(DeviationError) as exc:
        backend(world, "primary", Deviations([rule]))
    assert "bad-rule" in str(exc.value) and needle in str(exc.value)


# ------------------------------------------------------------------ classes and value maps
def _faked_from_mof() -> pywbem_mock.FakedWBEMConnection:
    conn = pywbem_mock.FakedWBEMConnection(default_namespace=NS)
    for name in MOF_FILES:
        conn.compile_mof_string((MOF_DIR / name).read_text(), namespace=NS)
    return conn


@pytest.mark.parametrize("source", ["backend", "faked"])
def test_value_mapping_translates_state_properties(world: World, source: str) -> None:
    conn = backend(world, "primary") if source == "backend" else _faked_from_mof()
    cls = "TPD_RemoteStorageSynchronized"
    copy = ValueMapping.for_property(conn, NS, cls, "CopyState")
    sync = ValueMapping.for_property(conn, NS, cls, "SyncState")
    progress = ValueMapping.for_property(conn, NS, cls, "ProgressStatus")
    assert (copy.tovalues(10), copy.tovalues(15), copy.tobinary("Skewed")) == ("FailedOver", "Not Applicable", 13)
    assert (sync.tovalues(10), sync.tobinary("Frozen")) == ("RestoreInProgress", 14)
    assert progress.tovalues(11) == "Failing Over" and progress.tobinary("Requires Activate") == 19
    assert progress.tovalues(0x8001) == "Vendor Specific"


def test_value_maps_cover_the_spec_enums(world: World) -> None:
    """Every name the harness's spec uses translates through the provider's own qualifiers."""
    b = backend(world, "primary")
    enums = yaml.safe_load(SPEC.read_text())["enums"]
    for prop_name, names in enums.items():
        vm = ValueMapping.for_property(b, NS, "TPD_RemoteStorageSynchronized", prop_name)
        for name, value in names.items():
            assert vm.tobinary(name) == value, (prop_name, name)


def test_class_operations_and_errors(world: World) -> None:
    b = backend(world, "primary")
    assert b.namespaces == [NS, "interop"]
    cls = b.GetClass("TPD_RemoteStorageSynchronized", LocalOnly=False, IncludeQualifiers=True)
    assert cls.superclass == "CIM_StorageSynchronized" and "CopyState" in cls.properties
    assert "TPD_StorageVolume" in b.EnumerateClassNames(DeepInheritance=True)
    assert b.EnumerateClassNames(ClassName="CIM_StorageSynchronized") == ["TPD_RemoteStorageSynchronized"]
    assert "CIM_RegisteredProfile" in b.EnumerateClassNames(namespace="interop", DeepInheritance=True)
    assert any(q.name == "ValueMap" for q in b.EnumerateQualifiers())

    def code(call, *args, **kwargs) -> int:
        with pytest.raises(CIMError) as exc:
            call(*args, **kwargs)
        return exc.value.status_code

    assert code(b.GetClass, "TPD_NoSuchClass") == pywbem.CIM_ERR_NOT_FOUND  # DSP0200: GetClass says NOT_FOUND
    assert code(b.EnumerateClassNames, ClassName="TPD_NoSuchClass") == pywbem.CIM_ERR_INVALID_CLASS
    assert code(b.EnumerateInstances, "TPD_NoSuchClass") == pywbem.CIM_ERR_INVALID_CLASS
    assert code(b.EnumerateInstanceNames, "TPD_NoSuchClass") == pywbem.CIM_ERR_INVALID_CLASS
    assert code(b.GetInstance, CIMInstanceName("TPD_NoSuchClass", {"A": "b"}, namespace=NS)) == (
        pywbem.CIM_ERR_INVALID_CLASS
    )
    assert code(b.GetClass, "TPD_StorageVolume", namespace="root/nowhere") == pywbem.CIM_ERR_INVALID_NAMESPACE
    assert code(b.EnumerateInstances, "TPD_StorageVolume", namespace="root/nowhere") == (
        pywbem.CIM_ERR_INVALID_NAMESPACE
    )
    missing = P.group_path("no_such_group", NS)
    assert code(b.GetInstance, missing) == pywbem.CIM_ERR_NOT_FOUND
    assert code(b.References, missing) == pywbem.CIM_ERR_NOT_FOUND
    group = P.group_path(group_named(world, "primary", "rcg_sync"), NS)
    assert code(b.References, group, ResultClass="TPD_Nothing") == pywbem.CIM_ERR_INVALID_PARAMETER


# ------------------------------------------------------------------ service, capabilities, interop
def test_replication_service_is_read_only_for_remote_mirrors(world: World) -> None:
    b = backend(world, "primary")
    [system] = b.EnumerateInstanceNames("CIM_ComputerSystem")
    [service] = b.AssociatorNames(system, AssocClass="CIM_HostedService", ResultClass="CIM_ReplicationService")
    assert service.classname == "TPD_ReplicationService"
    [caps] = b.AssociatorNames(service, AssocClass="CIM_ElementCapabilities")
    assert b.GetInstance(caps)["SupportedReplicationTypes"] == [4, 5]
    for rtype in (4, 5):
        rc, out = b.InvokeMethod("GetSupportedOperations", caps, ReplicationType=pywbem.Uint16(rtype))
        assert rc == 0 and out["SupportedOperations"] == []
        rc, out = b.InvokeMethod("GetSupportedCopyStates", caps, [("ReplicationType", pywbem.Uint16(rtype))])
        assert rc == 0 and out["SupportedCopyStates"] == [2, 4, 3, 5, 8, 10, 13]
        assert out["HostAccessible"] == [True] * 7  # the manual's table: host accessible in every state
    # "Not Supported" (2), as the 3.1.1 manual gives it, for every other ReplicationType (2: sync mirror local)
    for rtype in (2, 3, 6, 10, 13, 99):
        param = pywbem.CIMParameter("ReplicationType", "uint16", value=pywbem.Uint16(rtype))
        assert b.InvokeMethod("GetSupportedCopyStates", caps, [param]) == (2, {})
        assert b.InvokeMethod("GetSupportedOperations", caps, ReplicationType=pywbem.Uint16(rtype)) == (2, {})

    def code(*args, **kwargs) -> int:
        with pytest.raises(CIMError) as exc:
            b.InvokeMethod(*args, **kwargs)
        return exc.value.status_code

    assert code("CreateElementReplica", caps) == pywbem.CIM_ERR_METHOD_NOT_FOUND
    assert code("GetSupportedCopyStates", caps) == pywbem.CIM_ERR_INVALID_PARAMETER
    assert code("GetSupportedCopyStates", caps, ReplicationType="four") == pywbem.CIM_ERR_INVALID_PARAMETER
    assert code("GetSupportedCopyStates", caps, Bogus=1) == pywbem.CIM_ERR_INVALID_PARAMETER
    assert code("GetSupportedCopyStates", "TPD_ReplicationServiceCapabilities", ReplicationType=4) == (
        pywbem.CIM_ERR_NOT_SUPPORTED
    )


def test_interop_namespace_and_provider_identity(world: World) -> None:
    b = backend(world, "secondary")
    names = {i["Name"] for i in b.EnumerateInstances("CIM_Namespace", namespace="interop")}
    assert names == {"interop", NS}
    [om] = b.EnumerateInstances("CIM_ObjectManager", namespace="interop")
    assert "3.1.1" in om["Description"]
    profiles = b.EnumerateInstances("CIM_RegisteredProfile", namespace="interop")
    org = ValueMapping.for_property(b, "interop", "CIM_RegisteredProfile", "RegisteredOrganization")
    assert {
        (org.tovalues(p["RegisteredOrganization"]), p["RegisteredName"], p["RegisteredVersion"]) for p in profiles
    } == {
        ("SNIA", "SMI-S", "1.4.0"),
        ("SNIA", "Array", "1.4.0"),
        ("SNIA", "Replication Services", "1.4.0"),
        ("SNIA", "Server", "1.4.0"),
        ("SNIA", "Profile Registration", "1.4.0"),
    }
    array = next(p for p in profiles if p["RegisteredName"] == "Array")
    [central] = b.AssociatorNames(array.path, AssocClass="CIM_ElementConformsToProfile", ResultRole="ManagedElement")
    assert b.GetInstance(central)["ElementName"] == world.arrays["secondary"].system_name
    assert b.AssociatorNames(central, AssocClass="CIM_ElementConformsToProfile") == [array.path]
    for ns in ("interop", NS):
        [sw] = b.EnumerateInstances("CIM_SoftwareIdentity", namespace=ns)
        assert (sw["Manufacturer"], sw["ElementName"]) == ("Hewlett-Packard", "HP 3PAR SMI-S Provider")
        assert sw["VersionString"].startswith("3.1.1.")


class _InProcess(pywbem.WBEMConnection):
    """A WBEMConnection whose operations call the backend directly (WBEMServer insists on the type)."""

    OPERATIONS = ("GetClass", "EnumerateInstances", "EnumerateInstanceNames", "AssociatorNames", "InvokeMethod")

    def __init__(self, b: ArrayCIMBackend) -> None:
        super().__init__("http://in-process", default_namespace=b.namespace)
        for name in self.OPERATIONS:
            setattr(self, name, getattr(b, name))


def test_wbemserver_discovers_profiles_and_central_instances(world: World) -> None:
    b = backend(world, "primary")
    server = pywbem.WBEMServer(_InProcess(b))
    assert server.interop_ns == "interop"
    assert set(server.namespaces) == {"interop", NS}
    assert (server.brand, server.version) == ("HP 3PAR CIM Server (simulated by smis-harness)", "3.1.1.342")
    [array] = server.get_selected_profiles(registered_org="SNIA", registered_name="Array")
    [replication] = server.get_selected_profiles("SNIA", "Replication Services", "1.4.0")
    assert server.get_central_instances(array.path) == [P.system_path(world.arrays["primary"], NS)]
    assert [p.classname for p in server.get_central_instances(replication.path)] == ["TPD_ReplicationService"]


def test_class_level_associations(world: World) -> None:
    b = backend(world, "primary")
    refs = {c.classname for c in b.ReferenceNames("TPD_StorageVolume")}
    assert {"TPD_RemoteReplicationGroupMember", "CIM_Synchronized"} <= refs
    assert "TPD_RemoteReplicationGroup" in {
        c.classname for c in b.AssociatorNames(pywbem.CIMClassName("TPD_StorageVolume", namespace=NS))
    }


# ------------------------------------------------------------------ scale
def _time_references(b: ArrayCIMBackend, vol: CIMInstanceName, rounds: int = 60) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            b.References(vol, ResultClass="TPD_RemoteStorageSynchronized", PropertyList=STATE)
        best = min(best, (time.perf_counter() - start) / rounds)
    return best


def test_scale_references_cost_independent_of_array_size(clock: ManualClock) -> None:
    timings = {}
    for scale in (0, 10000):
        world = build_world(WorldSpec(groups=2, volumes_per_group=2, scale=scale), clock=clock)
        b = backend(world, "primary")
        group = group_named(world, "primary", "rcg_sync")
        vols = members(b, group)
        assert len(vols) == 2
        refs = b.References(vols[0], ResultClass="TPD_RemoteStorageSynchronized", PropertyList=STATE)
        assert len(refs) == 1
        assert b.GetInstance(refs[0].path)["CopyState"] == 4
        timings[scale] = _time_references(b, vols[0])
        if scale:
            assert len(b.EnumerateInstanceNames("TPD_RemoteStorageSynchronized")) == scale + 4
            assert len(b.EnumerateInstances("TPD_RemoteStorageSynchronized", PropertyList=STATE)) == scale + 4
            assert len(pairs(b, "noise_0042")) == 100
    assert timings[10000] < 3 * timings[0] + 1e-4, timings
