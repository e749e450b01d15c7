"""Deviations on the CIM side: apply the rules per volume pair.

Rule values name the class's own ValueMap/Values entries ("Splitting"), or give integers,
booleans or None (NULL); `harness.deviation_format` checks them against the compiled class and
translates them (a bad rule is refused there, with its name).
Instance-level rules (`instance`, `omit_class`) wrap the vendor view (`DeviatingView`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from harness.cim_classes import ClassInfo
from harness.deviation_format import cim_omitted, cim_values
from harness.mock import cim_paths as P
from harness.mock.cim_vendor import AssocFilter, AssociationEnd, Found, VendorView, Want, any_association
from harness.mock.deviations import Deviations, StateFacts, facts_for
from harness.mock.world import Replication, VolumePair, World


class CimDeviations:
    """The CIM part of the deviation rules, checked against `info` (TPD_RemoteStorageSynchronized)."""

    def __init__(self, deviations: Deviations, info: ClassInfo, world: World, array: str) -> None:
        self.deviations = deviations
        self.world = world
        self.array = array
        self.info = info
        self._typed: dict[tuple[str, str, object], object] = {}
        self.active = False
        for rule in deviations.rules:
            for prop, raw, value in cim_values(rule, info):
                self._typed[(prop.name.lower(), type(raw).__name__, raw)] = value
                self.active = True
            if cim_omitted(rule, info):
                self.active = True

    def __call__(self, rep: Replication, pair: VolumePair) -> tuple[dict[str, object], set[str]]:
        """Typed property values to report instead, and property names to leave out, for one pair."""
        if not self.active:
            return {}, set()
        raw_values, raw_omit = self.deviations.cim_changes(self.array, facts_for(self.world, rep, pair, self.array))
        values = {}
        for name, raw in raw_values.items():
            prop = self.info.prop(name)
            values[prop.name] = self._typed[(prop.name.lower(), type(raw).__name__, raw)]
        return values, {self.info.prop(name).name for name in raw_omit}


# --------------------------------------------------------------------------- instance-level deviations


class DeviatingView:
    """A vendor view whose answers deviate per instance: pair instances left out, refused with
    CIM_ERR_NOT_FOUND, reported twice or twinned; classes not implemented.

    Wraps `VendorView` (same `CLASSES`, `enumerate`, `resolve`, `links`) and filters what it answers;
    the world and the property values are untouched.
    """

    def __init__(self, inner: VendorView, deviations: Deviations, world: World, array: str) -> None:
        self.inner = inner
        self.deviations = deviations
        self.world = world
        self.array = array
        self.CLASSES = inner.CLASSES

    # ------------------------------------------------------------ what the rules say about one object
    def _pair_of(self, found: Found) -> tuple[Replication, VolumePair] | None:
        for name in ("SystemElement", "SyncedElement"):
            ref = found.path.keybindings.get(name)
            vol = self.inner.local_volume(ref) if isinstance(ref, CIMInstanceName) else None
            for rep, pair in self.world.replications_of_volume(self.array, vol.name) if vol else []:
                if P.object_key(self.inner.pair(rep, pair)[0].path) == P.object_key(found.path):
                    return rep, pair
        return None

    def _facts(self, rep: Replication, pair: VolumePair) -> StateFacts:
        return facts_for(self.world, rep, pair, self.array)

    def _fault(self, rep: Replication, pair: VolumePair) -> str | None:
        return self.deviations.instance_fault(self.array, self._facts(rep, pair))

    def _omitted(self, classname: str, rep: Replication, pair: VolumePair) -> bool:
        return self.deviations.omits_class(self.array, classname, self._facts(rep, pair))

    def _group_sync_omitted(self, found: Found) -> bool:
        for _, reps in self.world.groups_on(self.array):
            for rep in reps:
                if rep.backup or not rep.pairs:
                    continue
                if P.object_key(self.inner.group_sync(rep)[0].path) == P.object_key(found.path):
                    return self._omitted(P.GROUP_SYNC, rep, rep.pairs[0])
        return False

    # ------------------------------------------------------------ pair instances as answered
    def _pair_answers(self, found: Found) -> list[tuple[Found, bool]]:
        """The instances answered in place of one pair's (none, itself, twice, with a twin), each with
        whether its ends are swapped."""
        owner = self._pair_of(found)
        if owner is None:
            return [(found, False)]
        rep, pair = owner
        found = self._without_entity(found, rep, pair)
        fault = self._fault(rep, pair)
        if fault == "not_found":
            raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {found.path.to_wbem_uri()}")
        return {
            "omit": [],
            "duplicate": [(found, False), (found, False)],
            "duplicate_swapped": [(found, False), (_twin(found), True)],
        }.get(fault or "", [(found, False)])

    def _without_entity(self, found: Found, rep: Replication, pair: VolumePair) -> Found:
        """With TPD_ReplicationEntity not implemented, an unresolvable end keeps naming the peer's volume."""
        keys = found.path.keybindings
        ends = {n: keys.get(n) for n in ("SystemElement", "SyncedElement")}
        entity_end = next((n for n, ref in ends.items() if getattr(ref, "classname", "") == P.ENTITY), None)
        if entity_end is None or not self._omitted(P.ENTITY, rep, pair):
            return found
        peer = self.world.arrays[rep.peer(self.array).array]
        remote = pair.target_volume if rep.source.array == self.array else pair.source_volume
        volume = self.inner.volume(peer, peer.volumes[remote], host=peer.wwn)
        ends[entity_end] = volume.path
        path = P.sync_path(P.PAIR_SYNC, ends["SystemElement"], ends["SyncedElement"], found.path.namespace)

        def build(want: Want) -> CIMInstance:
            inst = found.build(want)
            inst.path = path
            if entity_end in inst.properties:
                inst.properties[entity_end].value = volume.path
            if "UndiscoveredElement" in inst.properties:
                inst.properties["UndiscoveredElement"].value = None
            return inst

        return Found(P.PAIR_SYNC, path, build)

    # ------------------------------------------------------------ the VendorView interface
    def enumerate(self, classname: str) -> Iterator[Found]:
        key = classname.lower()
        for found in self.inner.enumerate(classname):
            if key == P.PAIR_SYNC.lower():
                try:
                    yield from (answer for answer, _ in self._pair_answers(found))
                except CIMError:
                    continue  # refused instances are left out of enumerations
            elif key == P.GROUP_SYNC.lower():
                if not self._group_sync_omitted(found):
                    yield found
            else:
                yield found

    def resolve(self, path: CIMInstanceName) -> Found | None:
        key = path.classname.lower()
        if key == P.GROUP_SYNC.lower():
            found = self.inner.resolve(path)
            return None if found is None or self._group_sync_omitted(found) else found
        if key != P.PAIR_SYNC.lower():
            return self.inner.resolve(path)
        found = self.inner.resolve(path) or self._unswapped(path)
        if found is None:
            return None
        for answer, _ in self._pair_answers(found):
            if P.object_key(answer.path) == P.object_key(path):
                return answer
        return None

    def _unswapped(self, path: CIMInstanceName) -> Found | None:
        keys = path.keybindings
        system, synced = keys.get("SystemElement"), keys.get("SyncedElement")
        if not isinstance(system, CIMInstanceName) or not isinstance(synced, CIMInstanceName):
            return None
        return self.inner.resolve(P.sync_path(P.PAIR_SYNC, synced, system, path.namespace))

    def links(self, path: CIMInstanceName, assoc_ok: AssocFilter = any_association) -> list[AssociationEnd]:
        out: list[AssociationEnd] = []
        for link in self.inner.links(path, assoc_ok):
            classname = link.assoc.classname.lower()
            if classname == P.PAIR_SYNC.lower():
                out.extend(self._pair_links(link))
            elif classname == P.GROUP_SYNC.lower():
                if not self._group_sync_omitted(link.assoc):
                    out.append(link)
            else:
                out.append(link)
        return out

    def _pair_links(self, link: AssociationEnd) -> list[AssociationEnd]:
        out = []
        for answer, swapped in self._pair_answers(link.assoc):
            role, other_role = (link.other_role, link.role) if swapped else (link.role, link.other_role)
            other = link.other
            other_path = answer.path.keybindings.get(other_role)
            if isinstance(other_path, CIMInstanceName) and P.object_key(other_path) != P.object_key(other.path):
                other = self._lazy_volume(other_path)  # the peer's volume named instead of an entity
            out.append(AssociationEnd(answer, role, other_role, other))
        return out

    def _lazy_volume(self, path: CIMInstanceName) -> Found:
        """The peer's volume a pair names instead of an entity (built only when asked for)."""
        for arr in self.world.arrays.values():
            if arr.serial == path.keybindings.get("SystemName"):
                for vol in arr.volumes.values():
                    if str(vol.id) == str(path.keybindings.get("DeviceID")):
                        return self.inner.volume(arr, vol, host=path.host)
        raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {path.to_wbem_uri()}")


def _twin(found: Found) -> Found:
    """A second instance for the same pair, with SystemElement and SyncedElement swapped."""
    keys = found.path.keybindings
    system, synced = keys["SystemElement"], keys["SyncedElement"]
    path = P.sync_path(P.PAIR_SYNC, synced, system, found.path.namespace)

    def build(want: Want) -> CIMInstance:
        inst = found.build(want)
        inst.path = path
        if "SystemElement" in inst.properties:
            inst.properties["SystemElement"].value = synced
        if "SyncedElement" in inst.properties:
            inst.properties["SyncedElement"].value = system
        return inst

    return Found(P.PAIR_SYNC, path, build)


def instance_deviations(
    view: VendorView, deviations: Deviations | None, world: World, array: str
) -> VendorView | DeviatingView:
    """`view`, wrapped when some deviation rule changes instances or classes."""
    if deviations is None or not deviations.instance_level:
        return view
    return DeviatingView(view, deviations, world, array)
