"""The simulated provider's registered profiles, SNIA Server profile objects, system associations,
capability methods and provenance, read through pywbem over CIM-XML (as any client would)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pywbem
from pywbem import CIMInstanceName, ValueMapping, WBEMServer

from harness.mock import cim_paths as P
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.cimxml import CIMXMLServer
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec
from harness.mock.world import World

USER, PASSWORD = "smisuser", "pw"
NS, INTEROP = "root/tpd", "interop"
SIMULATED = "simulated by smis-harness"


@pytest.fixture
def conn(world: World) -> Iterator[pywbem.WBEMConnection]:
    with CIMXMLServer(ArrayCIMBackend(world, "primary"), users={USER: PASSWORD}, backend_lock=world.lock) as srv:
        connection = pywbem.WBEMConnection(srv.url, (USER, PASSWORD), default_namespace=NS, timeout=20)
        yield connection
        connection.close()


def _profile(server: WBEMServer, name: str) -> pywbem.CIMInstance:
    [found] = server.get_selected_profiles(registered_org="SNIA", registered_name=name)
    return found


def _local(paths: list[CIMInstanceName]) -> list[CIMInstanceName]:
    """The paths without their host part (which names the server the client reached)."""
    out = []
    for path in paths:
        path = path.copy()
        path.host = None
        out.append(path)
    return out


def _names(conn: pywbem.WBEMConnection, path: CIMInstanceName, **kwargs: str) -> set[str]:
    return {str(p["RegisteredName"]) for p in conn.Associators(path, ResultClass="CIM_RegisteredProfile", **kwargs)}


# --------------------------------------------------------------------------- profiles


def test_profiles_form_the_smis_tree_in_the_snia_direction(conn: pywbem.WBEMConnection) -> None:
    server = WBEMServer(conn)
    org = ValueMapping.for_property(server, INTEROP, "CIM_RegisteredProfile", "RegisteredOrganization")
    registered = {(org.tovalues(p["RegisteredOrganization"]), p["RegisteredName"], p["RegisteredVersion"])
                  for p in server.profiles}  # fmt: skip
    names = ("SMI-S", "Array", "Replication Services", "Server", "Profile Registration")
    assert registered == {("SNIA", name, "1.4.0") for name in names}
    spec = _profile(server, "SMI-S")
    # the specification names its autonomous profiles through ElementConformsToProfile, never ReferencedProfile
    assert _names(conn, spec.path, AssocClass="CIM_ElementConformsToProfile", ResultRole="ManagedElement") == {
        "Array",
        "Server",
    }
    assert _names(conn, spec.path, AssocClass="CIM_ElementConformsToProfile", ResultRole="ConformantStandard") == set()
    assert _names(conn, spec.path, AssocClass="CIM_ReferencedProfile") == set()
    # SNIA direction: the referencing profile is the Antecedent, the component profile the Dependent
    for parent, child in (("Array", "Replication Services"), ("Server", "Profile Registration")):
        path = _profile(server, parent).path
        assert _names(conn, path, AssocClass="CIM_ReferencedProfile", ResultRole="Dependent") == {child}
        up = _names(conn, _profile(server, child).path, AssocClass="CIM_ReferencedProfile", ResultRole="Antecedent")
        assert up == {parent}


def test_central_instances_of_every_profile(conn: pywbem.WBEMConnection, world: World) -> None:
    server = WBEMServer(conn)
    central = {
        name: server.get_central_instances(_profile(server, name).path, reference_direction="snia")
        for name in ("Array", "Replication Services", "Server", "Profile Registration", "SMI-S")
    }
    assert _local(central["Array"]) == [P.system_path(world.arrays["primary"], NS)]
    assert [p.classname for p in central["Replication Services"]] == ["TPD_ReplicationService"]
    assert [p.classname for p in central["Server"]] == ["CIM_ObjectManager"]
    assert _local(central["Server"]) == _local([server.cimom_inst.path])
    assert central["Profile Registration"] == []  # no central instance: the registered profiles themselves
    assert {p["InstanceID"].split(":")[2] for p in central["SMI-S"]} == {"Array", "Server"}


# --------------------------------------------------------------------------- SNIA Server profile


def test_server_profile_objects(conn: pywbem.WBEMConnection, world: World) -> None:
    server = WBEMServer(conn)
    om = server.cimom_inst
    for name in ("SystemCreationClassName", "SystemName", "CreationClassName", "Name", "ElementName",
                 "Description", "OperationalStatus", "Started"):  # fmt: skip
        assert om[name] is not None, name
    namespaces = conn.Associators(om.path, AssocClass="CIM_NamespaceInManager", ResultRole="Dependent")
    assert {n["Name"] for n in namespaces} == set(server.namespaces) == {NS, INTEROP}
    assert all(n["ClassType"] is not None for n in namespaces)
    [mechanism] = conn.Associators(om.path, AssocClass="CIM_CommMechanismForManager", ResultRole="Dependent")
    assert mechanism.classname == "CIM_CIMXMLCommunicationMechanism"
    assert (mechanism["CommunicationMechanism"], mechanism["MultipleOperationsSupported"]) == (2, False)
    assert mechanism["AuthenticationMechanismsSupported"] == [3]  # Basic
    [system] = conn.Associators(om.path, AssocClass="CIM_HostedService", ResultRole="Antecedent")
    assert system.path.namespace == NS and system["Name"] == world.arrays["primary"].serial
    assert system["NameFormat"] == "Other" and system["Description"] and system["OperationalStatus"] == [2]
    assert conn.GetInstance(system.path)["ElementName"] == world.arrays["primary"].system_name


# --------------------------------------------------------------------------- the system's associations


def test_system_device_and_hosted_collection(conn: pywbem.WBEMConnection, world: World) -> None:
    arr = world.arrays["primary"]
    system = P.system_path(arr, NS)
    volumes = conn.AssociatorNames(system, AssocClass="CIM_SystemDevice", ResultRole="PartComponent")
    assert {v["DeviceID"] for v in volumes} == {str(v.id) for v in arr.volumes.values()}
    groups = conn.AssociatorNames(system, AssocClass="CIM_HostedCollection", ResultRole="Dependent")
    assert sorted(P.group_name(g) for g in groups) == sorted(name for name, _ in world.groups_on("primary"))
    devices = conn.EnumerateInstanceNames("TPD_SystemDevice")
    assert len(devices) == len(arr.volumes)
    assert len(conn.EnumerateInstanceNames("CIM_HostedCollection")) == len(groups)
    # from each end back to the system; every association instance can be fetched by its path
    assert _local(conn.AssociatorNames(volumes[0], AssocClass="CIM_SystemDevice")) == [system]
    assert _local(conn.AssociatorNames(groups[0], AssocClass="CIM_HostedCollection")) == [system]
    for path in (devices[0], *conn.ReferenceNames(groups[0], ResultClass="CIM_HostedCollection")):
        assert _local([conn.GetInstance(path).path]) == _local([path])
    # the harness's reads are unchanged: the system is no volume and no pair
    assert {v.classname for v in conn.AssociatorNames(groups[0], ResultClass="CIM_StorageVolume")} == {P.VOLUME}
    wrong = devices[0].copy()
    wrong["GroupComponent"] = P.system_path(world.arrays["secondary"], NS)
    with pytest.raises(pywbem.CIMError) as exc:
        conn.GetInstance(wrong)
    assert exc.value.status_code == pywbem.CIM_ERR_NOT_FOUND


# --------------------------------------------------------------------------- capability methods


def test_get_supported_copy_states_over_cim_xml(conn: pywbem.WBEMConnection, world: World) -> None:
    caps = P.capabilities_path(world.arrays["primary"], NS)
    rc, out = conn.InvokeMethod("GetSupportedCopyStates", caps, ReplicationType=pywbem.Uint16(5))
    assert rc == 0
    states = ValueMapping.for_parameter(conn, NS, caps.classname, "GetSupportedCopyStates", "SupportedCopyStates")
    assert [states.tovalues(s) for s in out["SupportedCopyStates"]] == [
        "Initialized", "Synchronized", "Unsynchronized", "Broken", "Inactive", "FailedOver", "Skewed",
    ]  # fmt: skip
    assert out["HostAccessible"] == [True] * 7
    rc, out = conn.InvokeMethod("GetSupportedCopyStates", caps, ReplicationType=pywbem.Uint16(2))
    assert (rc, dict(out)) == (2, {})  # the manual's "Not Supported" (2) for Synchronous Mirror Local


# --------------------------------------------------------------------------- provenance


def test_simulated_arrays_say_so_through_cim(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reached as any target is (`mock serve`'s HTTPS endpoints), each array says it is simulated."""
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would replace ca_certs
        monkeypatch.delenv(var, raising=False)
    with SimulatedArrays(WorldSpec(topology="pair")) as sim:
        for array in sim.describe()["arrays"].values():
            conn = pywbem.WBEMConnection(array["cim_url"], (array["user"], array["password"]),
                                         ca_certs=array["ca_cert"], default_namespace=array["namespace"])  # fmt: skip
            server = WBEMServer(conn)
            assert SIMULATED in server.brand and server.version == P.PROVIDER_VERSION
            assert SIMULATED in server.cimom_inst["Description"]
            for ns in (array["interop_namespace"], array["namespace"]):
                [sw] = conn.EnumerateInstances("CIM_SoftwareIdentity", namespace=ns, PropertyList=["Description"])
                assert SIMULATED in sw["Description"]
            [system] = conn.EnumerateInstances("CIM_ComputerSystem", PropertyList=["Description"])
            assert SIMULATED in system["Description"]
            conn.close()


def test_filtered_association_reads_are_the_unfiltered_ones_restricted(world: World) -> None:
    """AssocClass/ResultClass only select: the provider skips building the rest, never changes the rest."""
    b = ArrayCIMBackend(world, "primary")
    arr = world.arrays["primary"]
    volume = P.volume_path(arr, next(iter(arr.volumes.values())), NS)
    group = P.group_path(next(name for name, _ in world.groups_on("primary")), NS)
    om = b.EnumerateInstanceNames("CIM_ObjectManager", namespace=INTEROP)[0]
    for path in (volume, group, P.system_path(arr, NS), om):
        every = b.ReferenceNames(path)
        classes = {p.classname for p in every}
        assert len(classes) >= 2, classes
        for cls in (*classes, "CIM_Dependency", "CIM_Component", "CIM_Synchronized"):
            subset = [p for p in every if b.repo.is_a(p.classname, cls)]
            assert b.ReferenceNames(path, ResultClass=cls) == subset
            others = {P.object_key(v) for r in subset for v in r.keybindings.values() if v != path}
            assert {P.object_key(p) for p in b.AssociatorNames(path, AssocClass=cls)} == others
