"""Object paths of the simulated provider's instances, and loose path comparison.

Objects on another array (the remote end of a replication) carry that array's WWN as
`host`; local objects have host None. All paths carry the vendor namespace.
"""

from __future__ import annotations

from pywbem import CIMInstanceName

from harness.mock.world import Array, Volume

PREFIX = "3PAR"  # InstanceID prefix of InForm OS 3.1.1 ('HP_3PAR' in later releases)
PROVIDER_VERSION = "3.1.1.342"

SYSTEM = "TPD_StorageSystem"
VOLUME = "TPD_StorageVolume"
ENTITY = "TPD_ReplicationEntity"
GROUP = "TPD_RemoteReplicationGroup"
MEMBER = "TPD_RemoteReplicationGroupMember"
PAIR_SYNC = "TPD_RemoteStorageSynchronized"
GROUP_SYNC = "TPD_RemoteGroupSynchronized"
SERVICE = "TPD_ReplicationService"
CAPABILITIES = "TPD_ReplicationServiceCapabilities"
ELEMENT_CAPABILITIES = "TPD_ElementCapabilities"
HOSTED_SERVICE = "TPD_HostedReplicationService"
SOFTWARE = "TPD_SoftwareIdentity"
SYSTEM_DEVICE = "TPD_SystemDevice"
HOSTED_COLLECTION = "TPD_HostedCollection"


def system_path(arr: Array, ns: str, host: str | None = None) -> CIMInstanceName:
    return CIMInstanceName(SYSTEM, {"CreationClassName": SYSTEM, "Name": arr.serial}, host=host, namespace=ns)


def volume_path(arr: Array, vol: Volume, ns: str, host: str | None = None) -> CIMInstanceName:
    keys = {
        "CreationClassName": VOLUME,
        "DeviceID": str(vol.id),
        "SystemCreationClassName": SYSTEM,
        "SystemName": arr.serial,
    }
    return CIMInstanceName(VOLUME, keys, host=host, namespace=ns)


def entity_path(remote_volume: str, ns: str) -> CIMInstanceName:
    return CIMInstanceName(ENTITY, {"InstanceID": f"{PREFIX}:{remote_volume}"}, namespace=ns)


def group_path(group: str, ns: str, host: str | None = None) -> CIMInstanceName:
    return CIMInstanceName(GROUP, {"InstanceID": f"{PREFIX}:{group}"}, host=host, namespace=ns)


def group_name(path: CIMInstanceName) -> str | None:
    """The group name in a TPD_RemoteReplicationGroup path, None if the path is not one."""
    iid = path.keybindings.get("InstanceID")
    if not isinstance(iid, str) or not iid.startswith(f"{PREFIX}:"):
        return None
    return iid[len(PREFIX) + 1 :]


def sync_path(classname: str, system: CIMInstanceName, synced: CIMInstanceName, ns: str) -> CIMInstanceName:
    return CIMInstanceName(classname, {"SystemElement": system, "SyncedElement": synced}, namespace=ns)


def member_path(group: CIMInstanceName, volume: CIMInstanceName, ns: str) -> CIMInstanceName:
    return CIMInstanceName(MEMBER, {"Collection": group, "Member": volume}, namespace=ns)


def system_device_path(system: CIMInstanceName, volume: CIMInstanceName, ns: str) -> CIMInstanceName:
    return CIMInstanceName(SYSTEM_DEVICE, {"GroupComponent": system, "PartComponent": volume}, namespace=ns)


def hosted_collection_path(system: CIMInstanceName, group: CIMInstanceName, ns: str) -> CIMInstanceName:
    return CIMInstanceName(HOSTED_COLLECTION, {"Antecedent": system, "Dependent": group}, namespace=ns)


def service_path(arr: Array, ns: str) -> CIMInstanceName:
    keys = {
        "SystemCreationClassName": SYSTEM,
        "SystemName": arr.serial,
        "CreationClassName": SERVICE,
        "Name": f"{PREFIX}:ReplicationService",
    }
    return CIMInstanceName(SERVICE, keys, namespace=ns)


def capabilities_path(arr: Array, ns: str) -> CIMInstanceName:
    return CIMInstanceName(
        CAPABILITIES, {"InstanceID": f"{PREFIX}:{arr.serial}:ReplicationServiceCapabilities"}, namespace=ns
    )


def software_path(ns: str) -> CIMInstanceName:
    return CIMInstanceName(SOFTWARE, {"InstanceID": f"{PREFIX}:SMI-S Provider:{PROVIDER_VERSION}"}, namespace=ns)


def object_key(path: CIMInstanceName) -> tuple:
    """What identifies the object a path names, ignoring host and namespace (also in nested references).

    Clients and servers disagree on whether references inside keys keep their host and
    namespace; the class and key values decide.
    """
    items = []
    for name, value in path.keybindings.items():
        items.append((name.lower(), object_key(value) if isinstance(value, CIMInstanceName) else value))
    return (path.classname.lower(), tuple(sorted(items, key=lambda kv: kv[0])))
