"""Instances that do not change while the mock runs: the system, its replication service,
the provider's identity, and the interop namespace (namespaces, object manager, registered
SMI-S profiles and their central instances).
"""

from __future__ import annotations

from pywbem import CIMInstance, CIMInstanceName, Uint16

from harness.mock import cim_paths as P
from harness.mock.cim_repo import ClassRepository, make_instance
from harness.mock.cim_values import REMOTE_MIRROR_TYPES
from harness.mock.world import Array

SNIA = 11
SMIS_VERSION = "1.4.0"
PROFILES = (("Array", "Array"), ("Replication Services", "ReplicationServices"))
OBJECT_MANAGER = "CIM_ObjectManager"


def _inst(
    repo: ClassRepository, classname: str, keys: dict[str, object], values: dict[str, object], ns: str
) -> CIMInstance:
    path = CIMInstanceName(classname, keys, namespace=ns)
    return make_instance(repo.info(classname), path, {**keys, **values})


def _assoc(repo: ClassRepository, classname: str, refs: dict[str, CIMInstanceName], ns: str) -> CIMInstance:
    return _inst(repo, classname, dict(refs), {}, ns)


def _software(repo: ClassRepository, ns: str) -> CIMInstance:
    path = P.software_path(ns)
    major, minor, revision, build = (int(x) for x in P.PROVIDER_VERSION.split("."))
    values = {
        "InstanceID": path.keybindings["InstanceID"],
        "ElementName": "HP 3PAR SMI-S Provider",
        "Manufacturer": "Hewlett-Packard",
        "VersionString": P.PROVIDER_VERSION,
        "MajorVersion": Uint16(major),
        "MinorVersion": Uint16(minor),
        "RevisionNumber": Uint16(revision),
        "BuildNumber": Uint16(build),
        "Classifications": [Uint16(5)],  # Instrumentation
    }
    return make_instance(repo.info(P.SOFTWARE), path, values)


def vendor_instances(repo: ClassRepository, arr: Array, ns: str) -> list[CIMInstance]:
    system = P.system_path(arr, ns)
    service = P.service_path(arr, ns)
    caps = P.capabilities_path(arr, ns)
    system_values = {
        "CreationClassName": P.SYSTEM,
        "Name": arr.serial,
        "ElementName": arr.system_name,
        "Caption": arr.model,
        "NameFormat": "Other",
        "Dedicated": [Uint16(3), Uint16(15)],  # Storage, Block Server
        "OtherIdentifyingInfo": [arr.system_name, arr.wwn],
        "IdentifyingDescriptions": ["System Name", "Node WWN"],
        "OperationalStatus": [Uint16(2)],
        "EnabledState": Uint16(2),
    }
    service_values = {
        **service.keybindings,
        "ElementName": "Replication Service",
        "EnabledState": Uint16(2),
        "OperationalStatus": [Uint16(2)],
    }
    caps_values = {
        "InstanceID": caps.keybindings["InstanceID"],
        "ElementName": "Replication Service Capabilities",
        "SupportedReplicationTypes": [Uint16(t) for t in REMOTE_MIRROR_TYPES],
    }
    return [
        make_instance(repo.info(P.SYSTEM), system, system_values),
        make_instance(repo.info(P.SERVICE), service, service_values),
        make_instance(repo.info(P.CAPABILITIES), caps, caps_values),
        _assoc(repo, P.HOSTED_SERVICE, {"Antecedent": system, "Dependent": service}, ns),
        _assoc(repo, P.ELEMENT_CAPABILITIES, {"ManagedElement": service, "Capabilities": caps}, ns),
        _software(repo, ns),
    ]


def interop_instances(repo: ClassRepository, arr: Array, interop: str, vendor: str) -> list[CIMInstance]:
    om_keys = {
        "SystemCreationClassName": P.SYSTEM,
        "SystemName": arr.serial,
        "CreationClassName": OBJECT_MANAGER,
        "Name": f"{P.PREFIX}:CIMServer",
    }
    om = _inst(
        repo,
        OBJECT_MANAGER,
        om_keys,
        {
            "ElementName": "HP 3PAR CIM Server",
            "Description": f"HP 3PAR CIM Server version {P.PROVIDER_VERSION}",
            "EnabledState": Uint16(2),
            "GatherStatisticalData": False,
        },
        interop,
    )
    out = [om]
    for ns in (interop, vendor):
        keys = {
            "SystemCreationClassName": P.SYSTEM,
            "SystemName": arr.serial,
            "ObjectManagerCreationClassName": OBJECT_MANAGER,
            "ObjectManagerName": om_keys["Name"],
            "CreationClassName": "CIM_Namespace",
            "Name": ns,
        }
        out.append(_inst(repo, "CIM_Namespace", keys, {"ElementName": ns}, interop))
    centrals = {"Array": P.system_path(arr, vendor), "ReplicationServices": P.service_path(arr, vendor)}
    for name, tag in PROFILES:
        iid = f"{P.PREFIX}:profile:{tag}:{SMIS_VERSION}"
        profile = _inst(
            repo,
            "CIM_RegisteredProfile",
            {"InstanceID": iid},
            {
                "RegisteredOrganization": Uint16(SNIA),
                "RegisteredName": name,
                "RegisteredVersion": SMIS_VERSION,
                "AdvertiseTypes": [Uint16(3)],  # SLP
                "ElementName": f"SNIA {name} {SMIS_VERSION}",
            },
            interop,
        )
        out.append(profile)
        refs = {"ConformantStandard": profile.path, "ManagedElement": centrals[tag]}
        out.append(_assoc(repo, "CIM_ElementConformsToProfile", refs, interop))
    out.append(_software(repo, interop))
    return out
