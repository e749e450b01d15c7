"""Vendor-namespace instances that do not change while the mock runs: the storage system, its
replication service and capabilities, and the provider's software identity.

Provenance: the simulated provider says what it is. The modelled product's names stay (ElementName
"HP 3PAR SMI-S Provider", the 3.1.1 version numbers), and the descriptions of the software identity,
the storage system and the object manager (cim_interop) say "simulated by smis-harness".
"""

from __future__ import annotations

from collections.abc import Mapping

from pywbem import CIMInstance, CIMInstanceName, Uint16

from harness import __version__
from harness.mock import cim_paths as P
from harness.mock.cim_repo import ClassRepository, make_instance
from harness.mock.cim_values import REMOTE_MIRROR_TYPES
from harness.mock.world import Array

SIMULATED_BY = "simulated by smis-harness"  # the marker a client looks for in the descriptions
SIMULATOR = f"{SIMULATED_BY} {__version__}"


def inst(
    repo: ClassRepository, classname: str, keys: Mapping[str, object], values: Mapping[str, object], ns: str
) -> CIMInstance:
    """An instance whose path has `keys` (also set as properties) and the other `values`."""
    path = CIMInstanceName(classname, keys, namespace=ns)
    return make_instance(repo.info(classname), path, {**keys, **values})


def assoc(repo: ClassRepository, classname: str, refs: dict[str, CIMInstanceName], ns: str) -> CIMInstance:
    return inst(repo, classname, dict(refs), {}, ns)


def software(repo: ClassRepository, ns: str) -> CIMInstance:
    """The provider's CIM_SoftwareIdentity (the same in the vendor and the interop namespace)."""
    path = P.software_path(ns)
    major, minor, revision, build = (int(x) for x in P.PROVIDER_VERSION.split("."))
    values = {
        "InstanceID": path.keybindings["InstanceID"],
        "ElementName": "HP 3PAR SMI-S Provider",
        "Description": f"HP 3PAR SMI-S Provider {P.PROVIDER_VERSION}, {SIMULATOR}: not a real array",
        "Manufacturer": "Hewlett-Packard",
        "VersionString": P.PROVIDER_VERSION,
        "MajorVersion": Uint16(major),
        "MinorVersion": Uint16(minor),
        "RevisionNumber": Uint16(revision),
        "BuildNumber": Uint16(build),
        "Classifications": [Uint16(5)],  # Instrumentation
    }
    return make_instance(repo.info(P.SOFTWARE), path, values)


def system(repo: ClassRepository, arr: Array, ns: str) -> CIMInstance:
    values = {
        "CreationClassName": P.SYSTEM,
        "Name": arr.serial,
        "ElementName": arr.system_name,
        "Caption": arr.model,
        "Description": f"{arr.model} storage system {arr.system_name}, {SIMULATED_BY}",
        "NameFormat": "Other",
        "Dedicated": [Uint16(3), Uint16(15)],  # Storage, Block Server
        "OtherIdentifyingInfo": [arr.system_name, arr.wwn],
        "IdentifyingDescriptions": ["System Name", "Node WWN"],
        "OperationalStatus": [Uint16(2)],
        "EnabledState": Uint16(2),
    }
    return make_instance(repo.info(P.SYSTEM), P.system_path(arr, ns), values)


def vendor_instances(repo: ClassRepository, arr: Array, ns: str) -> list[CIMInstance]:
    """The system, the replication service with its capabilities, and the software identity."""
    system_path = P.system_path(arr, ns)
    service = P.service_path(arr, ns)
    caps = P.capabilities_path(arr, ns)
    service_values = {
        **service.keybindings,
        "ElementName": "Replication Service",
        "EnabledState": Uint16(2),
        "OperationalStatus": [Uint16(2)],
        "Started": True,
    }
    caps_values = {
        "InstanceID": caps.keybindings["InstanceID"],
        "ElementName": "Replication Service Capabilities",
        "SupportedReplicationTypes": [Uint16(t) for t in REMOTE_MIRROR_TYPES],
    }
    return [
        system(repo, arr, ns),
        make_instance(repo.info(P.SERVICE), service, service_values),
        make_instance(repo.info(P.CAPABILITIES), caps, caps_values),
        assoc(repo, P.HOSTED_SERVICE, {"Antecedent": system_path, "Dependent": service}, ns),
        assoc(repo, P.ELEMENT_CAPABILITIES, {"ManagedElement": service, "Capabilities": caps}, ns),
        software(repo, ns),
    ]
