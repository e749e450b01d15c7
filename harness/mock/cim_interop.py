"""The interop namespace of one simulated provider: what pywbem's WBEMServer and SMI-S clients discover.

SNIA profiles registered (SMI-S 1.4.0, as the 3.1.1 provider claims), with their central instances
(CIM_ElementConformsToProfile) and, in the SNIA direction, CIM_ReferencedProfile from a profile
(Antecedent) to the component profiles it references (Dependent):

    SMI-S (specification) --ElementConformsToProfile--> Array, Server     (the autonomous profiles)
    Array                 --ReferencedProfile--> Replication Services
    Server                --ReferencedProfile--> Profile Registration
    Array -> TPD_StorageSystem, Replication Services -> TPD_ReplicationService, Server -> CIM_ObjectManager

Only profiles the simulated arrays model are registered; Profile Registration has no central instance.
The SNIA Server profile's objects: the object manager (hosted by the storage system, CIM_HostedService),
its namespaces (CIM_NamespaceInManager) and its CIM-XML communication mechanism
(CIM_CommMechanismForManager). The object manager says it is simulated (cim_static.SIMULATED_BY).
"""

from __future__ import annotations

from dataclasses import dataclass

from pywbem import CIMInstance, CIMInstanceName, Uint16

from harness.mock import cim_paths as P
from harness.mock.cim_repo import ClassRepository
from harness.mock.cim_static import SIMULATED_BY, SIMULATOR, assoc, inst, software
from harness.mock.world import Array

SNIA = 11
SMIS_VERSION = "1.4.0"
OBJECT_MANAGER = "CIM_ObjectManager"
COMM_MECHANISM = "CIM_CIMXMLCommunicationMechanism"
CIM_XML = 2
UNKNOWN = 0  # FunctionalProfilesSupported: what the SNIA Server profile prescribes
BASIC_AUTHENTICATION = 3
CLASS_TYPE_CIM2 = 3


@dataclass(frozen=True)
class Profile:
    name: str  # RegisteredName
    tag: str  # InstanceID part
    referenced_by: str | None = None  # tag of the profile that references this component profile


SPECIFICATION = Profile("SMI-S", "SMI-S")
PROFILES = (
    Profile("Array", "Array"),
    Profile("Replication Services", "ReplicationServices", referenced_by="Array"),
    Profile("Server", "Server"),
    Profile("Profile Registration", "ProfileRegistration", referenced_by="Server"),
)


def object_manager_path(arr: Array, interop: str) -> CIMInstanceName:
    keys = {
        "SystemCreationClassName": P.SYSTEM,
        "SystemName": arr.serial,
        "CreationClassName": OBJECT_MANAGER,
        "Name": f"{P.PREFIX}:CIMServer",
    }
    return CIMInstanceName(OBJECT_MANAGER, keys, namespace=interop)


def interop_instances(repo: ClassRepository, arr: Array, interop: str, vendor: str) -> list[CIMInstance]:
    """Every instance of the interop namespace (associations may reference the vendor namespace)."""
    om = object_manager(repo, arr, interop)
    centrals = {
        "Array": P.system_path(arr, vendor),
        "ReplicationServices": P.service_path(arr, vendor),
        "Server": om.path,
    }
    return [
        om,
        assoc(repo, "CIM_HostedService", {"Antecedent": P.system_path(arr, vendor), "Dependent": om.path}, interop),
        *namespaces(repo, arr, om.path, interop, vendor),
        *communication(repo, arr, om.path, interop),
        *profiles(repo, centrals, interop),
        software(repo, interop),
    ]


def object_manager(repo: ClassRepository, arr: Array, interop: str) -> CIMInstance:
    path = object_manager_path(arr, interop)
    values = {
        "ElementName": f"HP 3PAR CIM Server ({SIMULATED_BY})",
        # pywbem's WBEMServer.version reads the text after the last "version"
        "Description": f"HP 3PAR CIM Server, {SIMULATOR}, provider version {P.PROVIDER_VERSION}",
        "OperationalStatus": [Uint16(2)],
        "EnabledState": Uint16(2),
        "Started": True,
        "GatherStatisticalData": False,
    }
    return inst(repo, OBJECT_MANAGER, dict(path.keybindings), values, interop)


def namespaces(repo: ClassRepository, arr: Array, om: CIMInstanceName, interop: str, vendor: str) -> list[CIMInstance]:
    out = []
    for ns in (interop, vendor):
        keys = {
            "SystemCreationClassName": P.SYSTEM,
            "SystemName": arr.serial,
            "ObjectManagerCreationClassName": OBJECT_MANAGER,
            "ObjectManagerName": om.keybindings["Name"],
            "CreationClassName": "CIM_Namespace",
            "Name": ns,
        }
        values = {"ElementName": ns, "ClassType": Uint16(CLASS_TYPE_CIM2)}
        namespace = inst(repo, "CIM_Namespace", keys, values, interop)
        refs = {"Antecedent": om, "Dependent": namespace.path}
        out += [namespace, assoc(repo, "CIM_NamespaceInManager", refs, interop)]
    return out


def communication(repo: ClassRepository, arr: Array, om: CIMInstanceName, interop: str) -> list[CIMInstance]:
    keys = {
        "SystemCreationClassName": P.SYSTEM,
        "SystemName": arr.serial,
        "CreationClassName": COMM_MECHANISM,
        "Name": f"{P.PREFIX}:CIMXML",
    }
    values = {
        "ElementName": "CIM-XML",
        "CommunicationMechanism": Uint16(CIM_XML),
        "FunctionalProfilesSupported": [Uint16(UNKNOWN)],
        "MultipleOperationsSupported": False,
        "AuthenticationMechanismsSupported": [Uint16(BASIC_AUTHENTICATION)],
        "Version": "1.0",
        "CIMXMLProtocolVersion": Uint16(1),
        "CIMValidated": False,
        "OperationalStatus": [Uint16(2)],
        "EnabledState": Uint16(2),
    }
    mechanism = inst(repo, COMM_MECHANISM, keys, values, interop)
    refs = {"Antecedent": om, "Dependent": mechanism.path}
    return [mechanism, assoc(repo, "CIM_CommMechanismForManager", refs, interop)]


def _registered(repo: ClassRepository, profile: Profile, interop: str) -> CIMInstance:
    values = {
        "RegisteredOrganization": Uint16(SNIA),
        "RegisteredName": profile.name,
        "RegisteredVersion": SMIS_VERSION,
        "AdvertiseTypes": [Uint16(3)],  # SLP
        "ElementName": f"SNIA {profile.name} {SMIS_VERSION}",
    }
    return inst(repo, "CIM_RegisteredProfile", {"InstanceID": f"{P.PREFIX}:profile:{profile.tag}:{SMIS_VERSION}"},
                values, interop)  # fmt: skip


def profiles(repo: ClassRepository, centrals: dict[str, CIMInstanceName], interop: str) -> list[CIMInstance]:
    """The registered profiles, their central instances and how they reference each other."""
    spec = _registered(repo, SPECIFICATION, interop)
    registered = {p.tag: _registered(repo, p, interop) for p in PROFILES}
    out = [spec, *registered.values()]
    for profile in PROFILES:
        path = registered[profile.tag].path
        if profile.referenced_by is None:  # autonomous: part of the specification
            out.append(assoc(repo, "CIM_ElementConformsToProfile",
                             {"ConformantStandard": spec.path, "ManagedElement": path}, interop))  # fmt: skip
        else:
            refs = {"Antecedent": registered[profile.referenced_by].path, "Dependent": path}
            out.append(assoc(repo, "CIM_ReferencedProfile", refs, interop))
        if profile.tag in centrals:
            refs = {"ConformantStandard": path, "ManagedElement": centrals[profile.tag]}
            out.append(assoc(repo, "CIM_ElementConformsToProfile", refs, interop))
    return out
