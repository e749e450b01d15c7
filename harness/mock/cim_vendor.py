"""Dynamic instances of the vendor namespace, computed from the world on every call.

Volumes, remote-copy groups, their members, the StorageSynchronized / GroupSynchronized
associations and the system's SystemDevice (volumes) / HostedCollection (groups) associations
are never stored: each read walks the world's indexes, so reading one volume's or one group's
associations costs the size of that group, whatever the size of the array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from pywbem import CIMInstance, CIMInstanceName, Uint16, Uint64

from harness.mock import cim_paths as P
from harness.mock.cim_repo import ClassRepository, make_instance
from harness.mock.cim_values import (
    UNDISCOVERED_SYNCED_ELEMENT,
    UNDISCOVERED_SYSTEM_ELEMENT,
    group_properties,
    pair_properties,
)
from harness.mock.world import Array, Replication, Volume, VolumePair, World

Want = set[str] | None


class Changes(Protocol):
    """What deviations change in a pair's instance (`harness.mock.cim_deviate.CimDeviations`)."""

    def values(self, rep: Replication, pair: VolumePair, values: dict[str, object]) -> dict[str, object]:
        """The property values to report (every property, keys included) in place of `values`."""
        ...

    def instance(self, rep: Replication, pair: VolumePair, inst: CIMInstance) -> CIMInstance:
        """The instance to answer in place of `inst` (built from `values`, limited to a PropertyList)."""
        ...


AssocFilter = Callable[[str], bool]  # association class name -> wanted


def any_association(classname: str) -> bool:
    return True


VPD83NAA6 = 2
VPD83TYPE3 = 2


@dataclass
class Found:
    """An object the provider can name; `build` makes its instance (limited to a PropertyList)."""

    classname: str
    path: CIMInstanceName
    build: Callable[[Want], CIMInstance]


@dataclass
class AssociationEnd:
    """An association instance seen from one of its ends."""

    assoc: Found
    role: str  # the role of the object the link was looked up from
    other_role: str
    other: Found


class VendorView:
    """The dynamic part of one array's vendor namespace."""

    CLASSES = (P.VOLUME, P.PAIR_SYNC, P.GROUP, P.MEMBER, P.GROUP_SYNC, P.SYSTEM_DEVICE, P.HOSTED_COLLECTION)

    def __init__(
        self,
        world: World,
        array: str,
        ns: str,
        repo: ClassRepository,
        system: Callable[[], Found],
        changes: Changes | None = None,
    ) -> None:
        self.world = world
        self.array = array
        self.arr: Array = world.arrays[array]
        self.ns = ns
        self.repo = repo
        self.system = system  # the storage system (a fixed object): a fresh Found on each call
        self.changes = changes
        self._by_id: dict[str, Volume] = {}
        self._info = {name.lower(): repo.info(name) for name in (*self.CLASSES, P.ENTITY)}

    # ------------------------------------------------------------ lookups
    def _make(self, classname: str, path: CIMInstanceName, values: dict[str, object], want: Want) -> CIMInstance:
        return make_instance(self._info[classname.lower()], path, values, want)

    def _volume_by_id(self, device_id: object) -> Volume | None:
        volumes = self.arr.volumes
        if len(self._by_id) != len(volumes):
            self._by_id = {str(v.id): v for v in volumes.values()}
        return self._by_id.get(str(device_id))

    def local_volume(self, path: CIMInstanceName) -> Volume | None:
        """The local volume a TPD_StorageVolume path names, None if it names none (or a remote one)."""
        kb = path.keybindings
        if path.classname.lower() != P.VOLUME.lower() or kb.get("SystemName") != self.arr.serial:
            return None
        for key, expected in (("CreationClassName", P.VOLUME), ("SystemCreationClassName", P.SYSTEM)):
            value = kb.get(key)
            if value is not None and str(value).lower() != expected.lower():
                return None
        return self._volume_by_id(kb.get("DeviceID"))

    def _link_failed(self, peer: str, cache: dict[str, bool] | None = None) -> bool:
        if cache is not None and peer in cache:
            return cache[peer]
        failed = self.world.target_status(self.array, peer) == "failed"
        if cache is not None:
            cache[peer] = failed
        return failed

    def _local_groups(self, volume: str) -> list[str]:
        names: list[str] = []
        for rep, _ in self.world.replications_of_volume(self.array, volume):
            name = rep.side(self.array).group_name
            if name not in names:
                names.append(name)
        return names

    def _members(self, reps: list[Replication]) -> list[str]:
        names: dict[str, None] = {}
        for rep in reps:
            local_is_source = rep.source.array == self.array
            for pair in rep.pairs:
                names[pair.source_volume if local_is_source else pair.target_volume] = None
        return list(names)

    # ------------------------------------------------------------ objects
    def volume(self, arr: Array, vol: Volume, host: str | None = None) -> Found:
        path = P.volume_path(arr, vol, self.ns, host)

        def build(want: Want) -> CIMInstance:
            blocks = Uint64(vol.size_mib * 2048)
            values = {
                **path.keybindings,
                "ElementName": vol.name,
                "Name": vol.wwn,
                "NameFormat": Uint16(VPD83NAA6),
                "NameNamespace": Uint16(VPD83TYPE3),
                "BlockSize": Uint64(512),
                "NumberOfBlocks": blocks,
                "ConsumableBlocks": blocks,
                "OperationalStatus": [Uint16(2)],
                "EnabledState": Uint16(2),
            }
            return self._make(P.VOLUME, path, values, want)

        return Found(P.VOLUME, path, build)

    def entity(self, remote_volume: str) -> Found:
        path = P.entity_path(remote_volume, self.ns)

        def build(want: Want) -> CIMInstance:
            values = {
                "InstanceID": path.keybindings["InstanceID"],
                "ElementName": remote_volume,
                "Type": Uint16(4),  # StorageVolume
                "Persistent": False,
                "EntityID": remote_volume,
            }
            return self._make(P.ENTITY, path, values, want)

        return Found(P.ENTITY, path, build)

    def group(self, name: str, host: str | None = None) -> Found:
        path = P.group_path(name, self.ns, host)

        def build(want: Want) -> CIMInstance:
            values = {
                "InstanceID": path.keybindings["InstanceID"],
                "ElementName": name,
                "Persistent": True,
                "DeleteOnEmptyElement": False,
                "DeleteOnUnassociated": False,
            }
            return self._make(P.GROUP, path, values, want)

        return Found(P.GROUP, path, build)

    def member(self, group: str, vol: Volume, seq: int) -> Found:
        grp, member = P.group_path(group, self.ns), P.volume_path(self.arr, vol, self.ns)
        path = P.member_path(grp, member, self.ns)

        def build(want: Want) -> CIMInstance:
            values = {"Collection": grp, "Member": member, "AssignedSequence": Uint64(seq)}
            return self._make(P.MEMBER, path, values, want)

        return Found(P.MEMBER, path, build)

    def system_device(self, vol: Volume) -> Found:
        system, volume = P.system_path(self.arr, self.ns), P.volume_path(self.arr, vol, self.ns)
        path = P.system_device_path(system, volume, self.ns)
        return Found(P.SYSTEM_DEVICE, path, lambda want: self._make(P.SYSTEM_DEVICE, path, {
            "GroupComponent": system, "PartComponent": volume}, want))  # fmt: skip

    def hosted_collection(self, group: str) -> Found:
        system, collection = P.system_path(self.arr, self.ns), P.group_path(group, self.ns)
        path = P.hosted_collection_path(system, collection, self.ns)
        return Found(P.HOSTED_COLLECTION, path, lambda want: self._make(P.HOSTED_COLLECTION, path, {
            "Antecedent": system, "Dependent": collection}, want))  # fmt: skip

    def pair(
        self, rep: Replication, pair: VolumePair, cache: dict[str, bool] | None = None
    ) -> tuple[Found, Found, Found]:
        """The pair's association, and its SystemElement and SyncedElement ends."""
        peer = rep.peer(self.array).array
        failed = self._link_failed(peer, cache)
        local_is_source = rep.source.array == self.array
        local_name, remote_name = (
            (pair.source_volume, pair.target_volume) if local_is_source else (pair.target_volume, pair.source_volume)
        )
        local = self.volume(self.arr, self.arr.volumes[local_name])
        if failed:
            remote = self.entity(remote_name)
        else:
            parr = self.world.arrays[peer]
            remote = self.volume(parr, parr.volumes[remote_name], host=parr.wwn)
        local_first = local_is_source if rep.backup else rep.side(self.array).role.is_source
        if local_first:
            system, synced, undiscovered = local, remote, UNDISCOVERED_SYNCED_ELEMENT
        else:
            system, synced, undiscovered = remote, local, UNDISCOVERED_SYSTEM_ELEMENT
        path = P.sync_path(P.PAIR_SYNC, system.path, synced.path, self.ns)

        def build(want: Want) -> CIMInstance:
            values = {"SystemElement": system.path, "SyncedElement": synced.path}
            values.update(pair_properties(self.world, rep, pair, self.array, failed, undiscovered if failed else None))
            if self.changes is None:
                return self._make(P.PAIR_SYNC, path, values, want)
            values = self.changes.values(rep, pair, values)
            return self.changes.instance(rep, pair, self._make(P.PAIR_SYNC, path, values, want))

        return Found(P.PAIR_SYNC, path, build), system, synced

    def _group_end(self, array: str, name: str) -> Found:
        return self.group(name, None if array == self.array else self.world.arrays[array].wwn)

    def group_sync(self, rep: Replication) -> tuple[Found, Found, Found]:
        """A replication's GroupSynchronized: SystemElement is always the configured source group."""
        system = self._group_end(rep.source.array, rep.source.group_name)
        synced = self._group_end(rep.target.array, rep.target.group_name)
        path = P.sync_path(P.GROUP_SYNC, system.path, synced.path, self.ns)

        def build(want: Want) -> CIMInstance:
            failed = self._link_failed(rep.peer(self.array).array)
            values = {"SystemElement": system.path, "SyncedElement": synced.path}
            values.update(group_properties(self.world, rep, self.array, failed))
            return self._make(P.GROUP_SYNC, path, values, want)

        return Found(P.GROUP_SYNC, path, build), system, synced

    # ------------------------------------------------------------ enumeration
    def enumerate(self, classname: str) -> Iterator[Found]:
        """Every instance of exactly `classname` (one of CLASSES)."""
        key = classname.lower()
        if key == P.VOLUME.lower():
            for vol in list(self.arr.volumes.values()):
                yield self.volume(self.arr, vol)
        elif key == P.SYSTEM_DEVICE.lower():
            for vol in list(self.arr.volumes.values()):
                yield self.system_device(vol)
        elif key == P.PAIR_SYNC.lower():
            cache: dict[str, bool] = {}
            for rep, pair in list(self.world.iter_pairs(self.array)):
                yield self.pair(rep, pair, cache)[0]
        else:
            for name, reps in self.world.groups_on(self.array):
                if key == P.GROUP.lower():
                    yield self.group(name)
                elif key == P.HOSTED_COLLECTION.lower():
                    yield self.hosted_collection(name)
                elif key == P.MEMBER.lower():
                    for seq, vol_name in enumerate(self._members(reps), start=1):
                        yield self.member(name, self.arr.volumes[vol_name], seq)
                elif key == P.GROUP_SYNC.lower():
                    for rep in reps:
                        if not rep.backup:
                            yield self.group_sync(rep)[0]

    # ------------------------------------------------------------ resolution
    def resolve(self, path: CIMInstanceName) -> Found | None:
        """The dynamic object `path` names, None if there is none."""
        key = path.classname.lower()
        wanted = P.object_key(path)
        if key == P.VOLUME.lower():
            vol = self.local_volume(path)
            return self.volume(self.arr, vol) if vol else None
        if key == P.GROUP.lower():
            name = P.group_name(path)
            return self.group(name) if name and self.world.groups_on(self.array, name) else None
        if key == P.PAIR_SYNC.lower():
            for end in self._refs(path, "SystemElement", "SyncedElement"):
                vol = self.local_volume(end)
                for rep, pair in self.world.replications_of_volume(self.array, vol.name) if vol else []:
                    found = self.pair(rep, pair)[0]
                    if P.object_key(found.path) == wanted:
                        return found
            return None
        if key == P.GROUP_SYNC.lower():
            for end in self._refs(path, "SystemElement", "SyncedElement"):
                name = P.group_name(end)
                for _, reps in self.world.groups_on(self.array, name) if name else []:
                    for rep in reps:
                        found = self.group_sync(rep)[0]
                        if not rep.backup and P.object_key(found.path) == wanted:
                            return found
            return None
        if key in (P.SYSTEM_DEVICE.lower(), P.HOSTED_COLLECTION.lower()):
            return self._resolve_scoped(path)
        if key == P.MEMBER.lower():
            [collection, member] = self._refs(path, "Collection", "Member") or [None, None]
            vol = self.local_volume(member) if member is not None else None
            name = P.group_name(collection) if collection is not None else None
            if vol is None or name is None or name not in self._local_groups(vol.name):
                return None
            return self._member_link(name, vol).assoc
        return None

    def _resolve_scoped(self, path: CIMInstanceName) -> Found | None:
        """A SystemDevice or HostedCollection path: the system and the local volume or group it names."""
        device = path.classname.lower() == P.SYSTEM_DEVICE.lower()
        roles = ("GroupComponent", "PartComponent") if device else ("Antecedent", "Dependent")
        [system, part] = self._refs(path, *roles) or [None, None]
        if system is None or part is None or P.object_key(system) != P.object_key(P.system_path(self.arr, self.ns)):
            return None
        if device:
            vol = self.local_volume(part)
            return self.system_device(vol) if vol else None
        name = P.group_name(part) if part.classname.lower() == P.GROUP.lower() else None
        return self.hosted_collection(name) if name and self.world.groups_on(self.array, name) else None

    @staticmethod
    def _refs(path: CIMInstanceName, *names: str) -> list[CIMInstanceName]:
        refs = [path.keybindings.get(n) for n in names]
        return [r for r in refs if isinstance(r, CIMInstanceName)] if all(refs) else []

    # ------------------------------------------------------------ associations
    def _member_link(self, group: str, vol: Volume, reps: list[Replication] | None = None) -> AssociationEnd:
        if reps is None:
            reps = self.world.groups_on(self.array, group)[0][1]
        seq = self._members(reps).index(vol.name) + 1
        return AssociationEnd(self.member(group, vol, seq), "Member", "Collection", self.group(group))

    def links(self, path: CIMInstanceName, assoc_ok: AssocFilter = any_association) -> list[AssociationEnd]:
        """Associations referencing the local volume, group or system `path` names ([] for other objects),
        of the association classes `assoc_ok` accepts (the others are not even built)."""
        key = path.classname.lower()
        if key == P.SYSTEM.lower():
            system = P.system_path(self.arr, self.ns)
            return self._system_links(assoc_ok) if P.object_key(path) == P.object_key(system) else []
        if key == P.VOLUME.lower():
            vol = self.local_volume(path)
            return self._volume_links(vol, assoc_ok) if vol else []
        if key == P.GROUP.lower():
            name = P.group_name(path)
            groups = self.world.groups_on(self.array, name) if name else []
            return self._group_links(name, groups[0][1], assoc_ok) if name and groups else []
        return []

    def _system_links(self, assoc_ok: AssocFilter) -> list[AssociationEnd]:
        """SystemDevice to every volume, HostedCollection to every remote-copy group."""
        links: list[AssociationEnd] = []
        if assoc_ok(P.SYSTEM_DEVICE):
            for vol in list(self.arr.volumes.values()):
                device = self.system_device(vol)
                links.append(AssociationEnd(device, "GroupComponent", "PartComponent", self.volume(self.arr, vol)))
        if assoc_ok(P.HOSTED_COLLECTION):
            for name, _ in self.world.groups_on(self.array):
                links.append(AssociationEnd(self.hosted_collection(name), "Antecedent", "Dependent", self.group(name)))
        return links

    def _volume_links(self, vol: Volume, assoc_ok: AssocFilter) -> list[AssociationEnd]:
        links: list[AssociationEnd] = []
        if assoc_ok(P.SYSTEM_DEVICE):
            links.append(AssociationEnd(self.system_device(vol), "PartComponent", "GroupComponent", self.system()))
        groups: dict[str, None] = {}
        cache: dict[str, bool] = {}
        pairs_ok = assoc_ok(P.PAIR_SYNC)
        for rep, pair in self.world.replications_of_volume(self.array, vol.name):
            groups[rep.side(self.array).group_name] = None
            if not pairs_ok:
                continue
            found, system, synced = self.pair(rep, pair, cache)
            local_is_system = system.path.host is None and system.classname == P.VOLUME
            if local_is_system:
                links.append(AssociationEnd(found, "SystemElement", "SyncedElement", synced))
            else:
                links.append(AssociationEnd(found, "SyncedElement", "SystemElement", system))
        if assoc_ok(P.MEMBER):
            links.extend(self._member_link(name, vol) for name in groups)
        return links

    def _group_links(self, name: str, reps: list[Replication], assoc_ok: AssocFilter) -> list[AssociationEnd]:
        links: list[AssociationEnd] = []
        if assoc_ok(P.HOSTED_COLLECTION):
            links.append(AssociationEnd(self.hosted_collection(name), "Dependent", "Antecedent", self.system()))
        if assoc_ok(P.MEMBER):
            for seq, vol_name in enumerate(self._members(reps), start=1):
                vol = self.arr.volumes[vol_name]
                member = self.member(name, vol, seq)
                links.append(AssociationEnd(member, "Collection", "Member", self.volume(self.arr, vol)))
        for rep in reps if assoc_ok(P.GROUP_SYNC) else []:
            if rep.backup:
                continue
            found, system, synced = self.group_sync(rep)
            if rep.source.array == self.array:
                links.append(AssociationEnd(found, "SystemElement", "SyncedElement", synced))
            else:
                links.append(AssociationEnd(found, "SyncedElement", "SystemElement", system))
        return links
