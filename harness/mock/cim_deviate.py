"""Deviations on the CIM side: apply the rules per volume pair.

Rule values name the class's own ValueMap/Values entries ("Splitting"), or give integers,
booleans or None (NULL); `harness.deviation_format` checks them against the compiled class and
translates them (a bad rule is refused there, with its name). Rules that change a pair's values
(`cim`, `cim_omit`, `cim_type`, `stale`, `transient` with `arrays`) are `CimDeviations`, the vendor
view's `changes`; instance-level rules (`instance`, `omit_class`, `swap_ends`, `entity_visible_to`)
wrap the vendor view (`DeviatingView`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName, CIMProperty, Uint16, type_from_name

from harness.cim_classes import ClassInfo
from harness.deviation_format import cim_omitted, cim_retyped, cim_values
from harness.mock import cim_paths as P
from harness.mock.cim_late import LateValues
from harness.mock.cim_values import (
    UNDISCOVERED_SYNCED_ELEMENT,
    UNDISCOVERED_SYSTEM_ELEMENT,
    pair_state,
    requested_copy_state,
    state_properties,
)
from harness.mock.cim_vendor import AssocFilter, AssociationEnd, Found, VendorView, Want, any_association
from harness.mock.deviations import Deviations, StateFacts, facts_for
from harness.mock.world import Replication, VolumePair, World


class CimDeviations:
    """The CIM part of the deviation rules that change a pair's instance, checked against `info`
    (TPD_RemoteStorageSynchronized): values (`cim`, `cim_omit`), an in-progress state hidden on this array
    (`transient` with `arrays`), values answered late (`stale`), values sent as another CIM type (`cim_type`)."""

    def __init__(self, deviations: Deviations, info: ClassInfo, world: World, array: str) -> None:
        self.deviations = deviations
        self.world = world
        self.array = array
        self.info = info
        self._typed: dict[tuple[str, str, object], object] = {}
        for rule in deviations.rules:
            for prop, raw, value in cim_values(rule, info):
                self._typed[(prop.name.lower(), type(raw).__name__, raw)] = value
            cim_omitted(rule, info)
            cim_retyped(rule, info)
        lags = [rule.stale.seconds for rule in deviations.rules if rule.stale]
        self.late = LateValues(max(lags, default=0.0))
        self.active = any(
            rule.cim or rule.cim_omit or rule.cim_type or rule.stale or (rule.transient and rule.transient.arrays)
            for rule in deviations.rules
        )

    def _facts(self, rep: Replication, pair: VolumePair) -> StateFacts:
        return facts_for(self.world, rep, pair, self.array)

    def values(self, rep: Replication, pair: VolumePair, values: dict[str, object]) -> dict[str, object]:
        """The typed property values to report for one pair in place of `values`."""
        if not self.active:
            return values
        facts = self._facts(rep, pair)
        values = dict(values)
        if self._operation_hidden(rep):
            values.update(self._without_operation(rep, pair))
        raw_values, raw_omit = self.deviations.cim_changes(self.array, facts)
        for name, raw in raw_values.items():
            prop = self.info.prop(name)
            values[prop.name] = self._typed[(prop.name.lower(), type(raw).__name__, raw)]
        for name in raw_omit:
            values.pop(self.info.prop(name).name, None)
        stale = self.deviations.stale_seconds(self.array, facts)
        return self.late.answer((rep.id, pair.source_volume), self.world.now(), values, stale)

    def instance(self, rep: Replication, pair: VolumePair, inst: CIMInstance) -> CIMInstance:
        """`inst` with the properties `cim_type` names sent as that type."""
        if not self.active:
            return inst
        for name, type_name in self.deviations.retyped(self.array, self._facts(rep, pair)).items():
            prop = self.info.prop(name)
            if prop.name in inst.properties:
                inst.properties[prop.name] = _retyped(inst.properties[prop.name], type_name)
        return inst

    def _operation_hidden(self, rep: Replication) -> bool:
        running = rep.operation
        if running is None:
            return False
        after = self.deviations.hidden_for(self.array, running.operation)
        return after is not None and self.world.now() - running.started >= after

    def _without_operation(self, rep: Replication, pair: VolumePair) -> dict[str, object]:
        """The pair's state values as if no DR command were running."""
        failed = self.world.target_status(self.array, rep.peer(self.array).array) == "failed"
        state = pair_state(rep, pair, rep.side(self.array), failed, show_operation=False)
        return state_properties(state, requested_copy_state(state.copy_state))


def _retyped(prop: CIMProperty, type_name: str) -> CIMProperty:
    """`prop` sent as `type_name`: an integer as its decimal text, or in another integer type (unchanged if
    it does not fit there)."""
    value = prop.value
    if value is not None and type_name == "string":
        value = str(int(value))
    elif value is not None:
        try:
            value = type_from_name(type_name)(int(value))
        except ValueError:
            return prop
    return CIMProperty(prop.name, value, type=type_name, class_origin=prop.class_origin, propagated=prop.propagated)


# --------------------------------------------------------------------------- instance-level deviations


class DeviatingView:
    """A vendor view whose answers deviate per instance: pair instances left out, refused with
    CIM_ERR_NOT_FOUND, reported twice or twinned; associations with their ends exchanged; replication
    entities served by EnumerateInstances / GetInstance; classes not implemented.

    Wraps `VendorView` (same `CLASSES`, `enumerate`, `resolve`, `links`) and filters what it answers;
    the world and the property values are untouched.
    """

    def __init__(self, inner: VendorView, deviations: Deviations, world: World, array: str) -> None:
        self.inner = inner
        self.deviations = deviations
        self.world = world
        self.array = array
        enumerable = any("EnumerateInstances" in rule.entity_visible_to for rule in deviations.rules)
        self.CLASSES = (*inner.CLASSES, P.ENTITY) if enumerable else inner.CLASSES

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

    def _swapped(self, classname: str, rep: Replication, pair: VolumePair) -> bool:
        return self.deviations.swaps_ends(self.array, classname, self._facts(rep, pair))

    def _group_rep(self, found: Found) -> Replication | None:
        """The replication whose GroupSynchronized `found` is (as the honest view names it)."""
        for _, reps in self.world.groups_on(self.array):
            for rep in reps:
                if rep.backup or not rep.pairs:
                    continue
                if P.object_key(self.inner.group_sync(rep)[0].path) == P.object_key(found.path):
                    return rep
        return None

    def _group_sync_omitted(self, found: Found) -> bool:
        rep = self._group_rep(found)
        return rep is not None and self._omitted(P.GROUP_SYNC, rep, rep.pairs[0])

    def _group_answer(self, found: Found) -> tuple[Found, bool]:
        """The GroupSynchronized answered in place of `found` (a group-level rule matches on its first pair),
        with whether its ends are swapped."""
        rep = self._group_rep(found)
        if rep is not None and self._swapped(P.GROUP_SYNC, rep, rep.pairs[0]):
            return _exchanged(found), True
        return found, False

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
        answers = {
            "omit": [],
            "duplicate": [(found, False), (found, False)],
            "duplicate_swapped": [(found, False), (_twin(found), True)],
        }.get(fault or "", [(found, False)])
        if self._swapped(P.PAIR_SYNC, rep, pair):
            return [(_exchanged(answer), not swapped) for answer, swapped in answers]
        return answers

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

    # ------------------------------------------------------------ replication entities
    def _entities(self, operation: str) -> Iterator[Found]:
        """The TPD_ReplicationEntity ends of this array's pairs that `operation` serves (each once)."""
        seen: set[tuple] = set()
        for rep, pair in list(self.world.iter_pairs(self.array)):
            facts = self._facts(rep, pair)
            if not self.deviations.entity_visible(self.array, operation, facts) or self._omitted(P.ENTITY, rep, pair):
                continue
            _, system, synced = self.inner.pair(rep, pair)
            for end in (system, synced):
                if end.classname == P.ENTITY and P.object_key(end.path) not in seen:
                    seen.add(P.object_key(end.path))
                    yield end

    # ------------------------------------------------------------ the VendorView interface
    def enumerate(self, classname: str) -> Iterator[Found]:
        key = classname.lower()
        if key == P.ENTITY.lower():
            yield from self._entities("EnumerateInstances")
            return
        for found in self.inner.enumerate(classname):
            if key == P.PAIR_SYNC.lower():
                try:
                    yield from (answer for answer, _ in self._pair_answers(found))
                except CIMError:
                    continue  # refused instances are left out of enumerations
            elif key == P.GROUP_SYNC.lower():
                if not self._group_sync_omitted(found):
                    yield self._group_answer(found)[0]
            else:
                yield found

    def resolve(self, path: CIMInstanceName) -> Found | None:
        key = path.classname.lower()
        if key == P.ENTITY.lower():
            wanted = P.object_key(path)
            return next((e for e in self._entities("GetInstance") if P.object_key(e.path) == wanted), None)
        if key == P.GROUP_SYNC.lower():
            found = self.inner.resolve(path) or self._unswapped(path)
            if found is None or self._group_sync_omitted(found):
                return None
            answer = self._group_answer(found)[0]
            return answer if P.object_key(answer.path) == P.object_key(path) else None
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
        return self.inner.resolve(P.sync_path(path.classname, synced, system, path.namespace))

    def links(self, path: CIMInstanceName, assoc_ok: AssocFilter = any_association) -> list[AssociationEnd]:
        out: list[AssociationEnd] = []
        for link in self.inner.links(path, assoc_ok):
            classname = link.assoc.classname.lower()
            if classname == P.PAIR_SYNC.lower():
                out.extend(self._pair_links(link))
            elif classname == P.GROUP_SYNC.lower():
                if not self._group_sync_omitted(link.assoc):
                    out.append(_as_answered(link, *self._group_answer(link.assoc)))
            else:
                out.append(link)
        return out

    def _pair_links(self, link: AssociationEnd) -> list[AssociationEnd]:
        out = []
        for answer, swapped in self._pair_answers(link.assoc):
            answered = _as_answered(link, answer, swapped)
            other_path = answer.path.keybindings.get(answered.other_role)
            if isinstance(other_path, CIMInstanceName) and P.object_key(other_path) != P.object_key(link.other.path):
                answered.other = self._lazy_volume(other_path)  # the peer's volume named instead of an entity
            out.append(answered)
        return out

    def _lazy_volume(self, path: CIMInstanceName) -> Found:
        """The peer's volume a pair names instead of an entity (built only when asked for)."""
        for arr in self.world.arrays.values():
            if arr.serial == path.keybindings.get("SystemName"):
                for vol in arr.volumes.values():
                    if str(vol.id) == str(path.keybindings.get("DeviceID")):
                        return self.inner.volume(arr, vol, host=path.host)
        raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {path.to_wbem_uri()}")


def _as_answered(link: AssociationEnd, answer: Found, swapped: bool) -> AssociationEnd:
    """`link` as seen through `answer`: with swapped ends, the looked-up object plays the other role."""
    role, other_role = (link.other_role, link.role) if swapped else (link.role, link.other_role)
    return AssociationEnd(answer, role, other_role, link.other)


def _twin(found: Found) -> Found:
    """A second instance for the same pair, with SystemElement and SyncedElement swapped."""
    return _ends_swapped(found, flip_undiscovered=False)


def _exchanged(found: Found) -> Found:
    """The association reported with its ends exchanged, UndiscoveredElement still naming the unresolvable one."""
    return _ends_swapped(found, flip_undiscovered=True)


_FLIPPED = {
    UNDISCOVERED_SYSTEM_ELEMENT: UNDISCOVERED_SYNCED_ELEMENT,
    UNDISCOVERED_SYNCED_ELEMENT: UNDISCOVERED_SYSTEM_ELEMENT,
}


def _ends_swapped(found: Found, flip_undiscovered: bool) -> Found:
    keys = found.path.keybindings
    system, synced = keys["SystemElement"], keys["SyncedElement"]
    path = P.sync_path(found.classname, synced, system, found.path.namespace)

    def build(want: Want) -> CIMInstance:
        inst = found.build(want)
        inst.path = path
        if "SystemElement" in inst.properties:
            inst.properties["SystemElement"].value = synced
        if "SyncedElement" in inst.properties:
            inst.properties["SyncedElement"].value = system
        undiscovered = inst.properties.get("UndiscoveredElement")
        if flip_undiscovered and undiscovered is not None and undiscovered.value is not None:
            undiscovered.value = Uint16(_FLIPPED.get(int(undiscovered.value), int(undiscovered.value)))
        return inst

    return Found(found.classname, path, build)


def instance_deviations(
    view: VendorView, deviations: Deviations | None, world: World, array: str
) -> VendorView | DeviatingView:
    """`view`, wrapped when some deviation rule changes instances or classes."""
    if deviations is None or not deviations.instance_level:
        return view
    return DeviatingView(view, deviations, world, array)
