"""The deviations file format: what `--deviations FILE` (or `simulated.deviations`) may say, and its check.

A deviations file lists rules that make the simulated provider non-conformant on purpose (README,
"Deviations"). This module reads and checks one (`load_deviations`): YAML through `harness.input_files`,
the rules' keys, names and bounds through the pydantic models below, and the property names and values
of `cim` / `cim_omit` / `cim_type` against TPD_RemoteStorageSynchronized as the modelled provider declares it
(`harness.cim_classes`). Every problem is a `DeviationError` naming the file or the rule and the field.
How the simulator applies the rules is `harness.mock.deviations` and `harness.mock.cim_deviate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pywbem import CIMDateTime, type_from_name

from harness.cim_classes import ClassInfo, PropInfo, provider_classes
from harness.input_files import InputFileError, YamlInputError, parse_yaml, read_text

ArrayName = Literal["primary", "secondary", "sync_secondary", "periodic_secondary"]
ArrayKey = ArrayName | Literal["any"]
RoleName = Literal["Primary", "Secondary", "Primary-Rev", "Secondary-Rev"]
SyncName = Literal["New", "Syncing", "Synced", "NotSynced", "Stale", "Stopped"]
GroupStatusName = Literal["Started", "Stopped", "Backup"]
OperationName = Literal["failover", "recover", "restore", "none"]
InstanceFault = Literal["omit", "not_found", "duplicate", "duplicate_swapped"]
"""What happens to a matching pair's TPD_RemoteStorageSynchronized instance:
omit               left out of every answer (Enumerate, References, Associators; GetInstance: CIM_ERR_NOT_FOUND)
not_found          CIM_ERR_NOT_FOUND for GetInstance of its path and for References / Associators from its
                   volumes; left out of EnumerateInstances
duplicate          every answer that holds it holds it twice (the same path twice)
duplicate_swapped  a second instance for the same pair, SystemElement and SyncedElement swapped"""
OmittableClass = Literal["TPD_RemoteGroupSynchronized", "TPD_ReplicationEntity"]
"""Classes a deviation can leave unimplemented: the provider serves no instance of them (a pair whose remote
end cannot be resolved then keeps referencing the peer's volume, without UndiscoveredElement)."""
PAIR_CLASS = "TPD_RemoteStorageSynchronized"
"""The class whose properties `cim`, `cim_omit` and `cim_type` name."""
SwappableClass = Literal["TPD_RemoteStorageSynchronized", "TPD_RemoteGroupSynchronized"]
"""Associations whose SystemElement and SyncedElement `swap_ends` exchanges."""
EntityOperation = Literal["EnumerateInstances", "GetInstance"]
"""Operations `entity_visible_to` lets serve a TPD_ReplicationEntity (the manual: Associators only)."""
CimTypeName = Literal["string", "uint8", "uint16", "uint32", "uint64", "sint8", "sint16", "sint32", "sint64"]
"""The CIM types `cim_type` can send a property's value as."""
GROUP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
"""A group name as the array (and the target configuration's `groups:`) accepts it."""
_INTEGER_TYPES = {"uint8", "uint16", "uint32", "uint64", "sint8", "sint16", "sint32", "sint64"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    role: RoleName | None = None
    sync_status: SyncName | None = None
    group_status: GroupStatusName | None = None
    operation: OperationName | None = None
    link: Literal["up", "down"] | None = None
    mode: Literal["sync", "periodic"] | None = None  # the group's replication mode


class CliOverride(_Strict):
    role: RoleName | None = None
    sync_status: SyncName | None = None
    group_status: GroupStatusName | None = None


class Transient(_Strict):
    """How long a DR command's in-progress state lasts. Without `arrays`: the command itself runs that long in
    the simulated world (every array). With `arrays`: the command keeps its duration and only those arrays'
    providers show its in-progress state, for `seconds`, then answer as if no command ran."""

    operation: Literal["failover", "recover", "restore"]
    seconds: float = Field(ge=0, le=86400)
    arrays: list[ArrayName] | None = Field(default=None, min_length=1)

    @field_validator("arrays")
    @classmethod
    def _once_each(cls, arrays: list[str] | None) -> list[str] | None:
        if arrays is not None and len(set(arrays)) != len(arrays):
            raise ValueError("an array is listed twice")
        return arrays


class Stale(_Strict):
    """The provider answers a pair's values as they were `seconds` ago (as far as it was asked then)."""

    seconds: float = Field(gt=0, le=3600)


class Deviation(_Strict):
    id: str
    array: ArrayKey = "any"
    when: When = When()
    pairs: int | None = Field(default=None, ge=1)  # only the first N volume pairs of each group
    cim: dict[str, int | bool | str | None] = Field(default_factory=dict)
    cim_omit: list[str] = Field(default_factory=list)
    instance: InstanceFault | None = None
    omit_class: list[OmittableClass] = Field(default_factory=list)
    cli: CliOverride | None = None
    transient: Transient | None = None
    swap_ends: list[SwappableClass] = Field(default_factory=list)
    entity_visible_to: list[EntityOperation] = Field(default_factory=list)
    stale: Stale | None = None
    cim_type: dict[str, CimTypeName] = Field(default_factory=dict)


class Expect(_Strict):
    """What the harness must find against this provider (the self-test's answer key): `fail`,
    `not_observed` and `skipped` rows, every other row in scope PASS, on the simulated `target` (its
    `groups` under test, if given)."""

    target: Literal["pair", "sld"] = "pair"
    groups: list[str] | None = Field(default=None, min_length=1)  # groups under test (default: the target's)
    fail: list[str] = Field(default_factory=list)
    not_observed: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # in scope but not exercised (e.g. RULE-06 on a periodic group)

    @model_validator(mode="after")
    def _one_verdict_each(self) -> Self:
        listed = [*self.fail, *self.not_observed, *self.skipped]
        twice = sorted({i for i in listed if listed.count(i) > 1})
        if twice:
            raise ValueError(f"rows listed twice (one verdict each): {', '.join(twice)}")
        return self

    @field_validator("groups")
    @classmethod
    def _group_names(cls, groups: list[str] | None) -> list[str] | None:
        for name in groups or []:
            if not GROUP_NAME.fullmatch(name):
                raise ValueError(f"{name[:40]!r} is not a group name: letters, digits, _ . - (starting with a "
                                 "letter, digit or _), at most 64 characters")
        if groups is not None and len(set(groups)) != len(groups):
            raise ValueError("a group is listed twice")
        return groups

    @field_validator("fail", "not_observed", "skipped")
    @classmethod
    def _documented_rows(cls, ids: list[str]) -> list[str]:
        from harness.spec import load_spec

        unknown = [i for i in ids if i not in load_spec().rows]
        if unknown:
            raise ValueError(f"not documented row ids: {', '.join(unknown)} (ids like T107-02, SLD-01, RULE-04)")
        return ids


class DeviationFile(_Strict):
    deviations: list[Deviation]
    expect: Expect | None = None


class DeviationError(ValueError):
    """A deviations file that cannot be used; the message names the file and the problem."""


class DeviationSet:
    """The rules of a deviations file; empty means a conformant provider."""

    def __init__(self, rules: Iterable[Deviation] | None = None) -> None:
        self.rules = list(rules or [])

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """The file's rules, their format checked (YAML, keys, names, bounds), not yet their CIM names."""
        return cls(_parse(Path(path)).deviations)


def load_expect(path: str | Path) -> Expect | None:
    """The file's answer key for the self-test (`expect:`), if it has one. The simulator never sees it."""
    return _parse(Path(path)).expect


def _parse(path: Path) -> DeviationFile:
    try:
        _, data = parse_yaml(read_text(path))
    except InputFileError as exc:
        raise DeviationError(f"{path}: cannot read deviations file: {exc}") from None
    except YamlInputError as exc:
        raise DeviationError(f"{path}: {exc}") from None
    try:
        return DeviationFile.model_validate(data)
    except ValidationError as exc:
        raise DeviationError(f"{path}: {_describe(exc)}") from None


def load_deviations(path: str | Path) -> DeviationSet:
    """A deviations file, checked in full: its format, then the property and value names of every rule
    against TPD_RemoteStorageSynchronized (DeviationError names the rule, the property and what is allowed)."""
    deviations = DeviationSet.load(path)
    check_cim(deviations.rules, provider_classes()[PAIR_CLASS.lower()])
    return deviations


def check_cim(rules: Iterable[Deviation], info: ClassInfo) -> None:
    """Every rule's `cim`, `cim_omit` and `cim_type` name properties of `info` and give values they can take."""
    for rule in rules:
        cim_values(rule, info)
        cim_omitted(rule, info)
        cim_retyped(rule, info)


def cim_values(rule: Deviation, info: ClassInfo) -> list[tuple[PropInfo, object, object]]:
    """(property, value as written, CIM value it stands for) for each entry of the rule's `cim`."""
    values: list[tuple[PropInfo, object, object]] = []
    for name, raw in rule.cim.items():
        prop = cim_property(info, rule.id, name)
        values.append((prop, raw, cim_value(rule.id, prop, raw)))
    return values


def cim_omitted(rule: Deviation, info: ClassInfo) -> list[PropInfo]:
    """The properties the rule's `cim_omit` leaves out (never a key)."""
    props = [cim_property(info, rule.id, name) for name in rule.cim_omit]
    for prop in props:
        if prop.type == "reference":
            raise DeviationError(f"deviation {rule.id!r}: key {prop.name} cannot be omitted")
    return props


def cim_retyped(rule: Deviation, info: ClassInfo) -> list[tuple[PropInfo, str]]:
    """(property, CIM type it is sent as) for each entry of the rule's `cim_type`: integer properties only
    (sent as their decimal text, or in another integer type), never a reference or an array, never the type
    the property already has."""
    retyped: list[tuple[PropInfo, str]] = []
    for name, type_name in rule.cim_type.items():
        prop = cim_property(info, rule.id, name)
        where = f"deviation {rule.id!r}: cim_type {prop.name}"
        if prop.type not in _INTEGER_TYPES or prop.is_array:
            raise DeviationError(f"{where}: only integer properties can be sent as another type ({prop.name} is "
                                 f"{prop.type}{'[]' if prop.is_array else ''})")
        if type_name == prop.type:
            raise DeviationError(f"{where}: {type_name} is already its type")
        retyped.append((prop, type_name))
    return retyped


def cim_property(info: ClassInfo, rule_id: str, name: str) -> PropInfo:
    """The property `name` of `info`; DeviationError listing the properties a rule can name if it has none."""
    try:
        return info.prop(name)
    except KeyError:
        allowed = ", ".join(sorted(p.name for p in info.properties.values() if p.type != "reference"))
        raise DeviationError(
            f"deviation {rule_id!r}: {info.name} has no property {name!r} (properties: {allowed})"
        ) from None


def cim_value(rule_id: str, prop: PropInfo, raw: object) -> object:
    """The CIM value a rule's raw value stands for (a Values name, an integer, a boolean, a string, a
    datetime, or None for NULL); DeviationError naming the rule if it does not fit the property."""
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
        return _integer(where, prop, raw)
    if isinstance(raw, str):
        return _from_text(where, prop, raw)
    raise DeviationError(f"{where}: unsupported value {raw!r}")


def _integer(where: str, prop: PropInfo, raw: int) -> object:
    if prop.type not in _INTEGER_TYPES:
        raise DeviationError(f"{where} is {prop.type}, not an integer: {raw!r}")
    try:
        return type_from_name(prop.type)(raw)
    except ValueError:
        raise DeviationError(f"{where}: {raw} is out of range for {prop.type}") from None


def _from_text(where: str, prop: PropInfo, raw: str) -> object:
    """A Values name, a string or a CIM datetime."""
    if prop.values:
        if raw not in prop.values:
            raise DeviationError(f"{where}: value {raw!r} is not one of its Values: {', '.join(prop.values)}")
        return type_from_name(prop.type)(prop.values[raw])
    if prop.type == "string":
        return raw
    if prop.type == "datetime":
        try:
            return CIMDateTime(raw)
        except ValueError as exc:
            raise DeviationError(f"{where}: {raw!r} is not a CIM datetime: {exc}") from None
    raise DeviationError(f"{where} is {prop.type} without a value map: {raw!r}")


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)
