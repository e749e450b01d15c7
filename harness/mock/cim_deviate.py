"""Deviations on the CIM side: validate the rules against the class, apply them per volume pair.

Rule values name the class's own ValueMap/Values entries ("Splitting"), or give integers,
booleans or None (NULL); they are translated through the compiled class qualifiers.
"""

from __future__ import annotations

from pywbem import CIMDateTime, type_from_name

from harness.mock.cim_repo import ClassInfo, PropInfo
from harness.mock.deviations import DeviationError, Deviations, facts_for
from harness.mock.world import Replication, VolumePair, World

_INTEGER_TYPES = {"uint8", "uint16", "uint32", "uint64", "sint8", "sint16", "sint32", "sint64"}


def _typed(rule_id: str, prop: PropInfo, raw: object) -> object:
    """The CIM value a rule's raw value stands for; DeviationError naming the rule if it fits not."""
    where = f"deviation {rule_id!r}: property {prop.name}"
    if prop.type == "reference":
        raise DeviationError(f"{where} is a key reference and cannot be changed")
    if raw is None:
        return None
    if prop.is_array:
        raise DeviationError(f"{where} is an array, which deviations cannot set")
    if isinstance(raw, bool):
        if prop.type != "boolean":
            raise DeviationError(f"{where} is {prop.type}, not boolean: {raw!r}")
        return raw
    if isinstance(raw, int):
        if prop.type not in _INTEGER_TYPES:
            raise DeviationError(f"{where} is {prop.type}, not an integer: {raw!r}")
        try:
            return type_from_name(prop.type)(raw)
        except ValueError:
            raise DeviationError(f"{where}: {raw} is out of range for {prop.type}") from None
    if isinstance(raw, str):
        if prop.values:
            if raw not in prop.values:
                allowed = ", ".join(prop.values)
                raise DeviationError(f"{where}: value {raw!r} is not one of its Values: {allowed}")
            return type_from_name(prop.type)(prop.values[raw])
        if prop.type == "string":
            return raw
        if prop.type == "datetime":
            try:
                return CIMDateTime(raw)
            except ValueError as exc:
                raise DeviationError(f"{where}: {raw!r} is not a CIM datetime: {exc}") from None
        raise DeviationError(f"{where} is {prop.type} without a value map: {raw!r}")
    raise DeviationError(f"{where}: unsupported value {raw!r}")


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
            for name, raw in rule.cim.items():
                prop = self._prop(rule.id, name)
                self._typed[(prop.name.lower(), type(raw).__name__, raw)] = _typed(rule.id, prop, raw)
                self.active = True
            for name in rule.cim_omit:
                prop = self._prop(rule.id, name)
                if prop.type == "reference":
                    raise DeviationError(f"deviation {rule.id!r}: key {prop.name} cannot be omitted")
                self.active = True

    def _prop(self, rule_id: str, name: str) -> PropInfo:
        try:
            return self.info.prop(name)
        except KeyError:
            allowed = ", ".join(sorted(p.name for p in self.info.properties.values() if p.type != "reference"))
            raise DeviationError(
                f"deviation {rule_id!r}: {self.info.name} has no property {name!r} (properties: {allowed})"
            ) from None

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
