"""The CIM classes of the modelled provider, compiled from the MOF in harness/mof/ (written for this
project) into plain descriptions: `ClassInfo` and `PropInfo` (names, types, value maps, methods).

The simulated provider serves these classes (`harness.mock.cim_repo`); the property names and values a
deviations file gives are checked against them (`harness.deviation_format`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pywbem import CIMClass, CIMProperty
    from pywbem_mock import FakedWBEMConnection

MOF_DIR = Path(__file__).parent / "mof"
MOF_FILES = ("qualifiers.mof", "cim_core.mof", "cim_interop.mof", "tpd.mof")


@dataclass(frozen=True)
class PropInfo:
    name: str
    type: str
    is_array: bool
    reference_class: str | None
    class_origin: str | None
    values: Mapping[str, int]  # Values name -> integer, for the single integers of the ValueMap


@dataclass(frozen=True)
class ClassInfo:
    name: str
    superclass: str | None
    ancestors: frozenset[str]  # lower-case names of this class and all its superclasses
    properties: Mapping[str, PropInfo]  # lower-case name -> property (own and inherited)
    methods: Mapping[str, str]  # lower-case name -> method name
    method_params: Mapping[str, Mapping[str, tuple[str, bool]]]  # method -> param -> (type, is_array)
    association: bool

    def prop(self, name: str) -> PropInfo:
        return self.properties[name.lower()]


def compile_classes(conn: FakedWBEMConnection, namespaces: Iterable[str]) -> dict[str, ClassInfo]:
    """Compile the MOF into each namespace of `conn` (the same classes in each); lower-case name -> ClassInfo."""
    namespaces = list(namespaces)
    mof = [(MOF_DIR / name).read_text() for name in MOF_FILES]
    for ns in namespaces:
        if ns not in conn.namespaces:
            conn.add_namespace(ns)
        for text in mof:
            conn.compile_mof_string(text, namespace=ns)
    store = conn.cimrepository.get_class_store(namespaces[0])
    by_name = {c.classname.lower(): c for c in store.iter_values()}
    return {k: _class_info(c, by_name) for k, c in by_name.items()}


@functools.cache
def provider_classes() -> Mapping[str, ClassInfo]:
    """Every class of the MOF, compiled once per process (lower-case name -> ClassInfo)."""
    from pywbem_mock import FakedWBEMConnection

    namespace = "root/tpd"  # any namespace: only the class descriptions are kept
    return compile_classes(FakedWBEMConnection(default_namespace=namespace), [namespace])


def _value_names(prop: CIMProperty) -> dict[str, int]:
    vmap = prop.qualifiers.get("ValueMap")
    values = prop.qualifiers.get("Values")
    if vmap is None or values is None or vmap.value is None or values.value is None:
        return {}
    names: dict[str, int] = {}
    for raw, name in zip(vmap.value, values.value, strict=False):
        try:
            names[name] = int(raw, 0)
        except ValueError:
            continue  # a range such as ".." or "0x8000.."
    return names


def _class_info(cls: CIMClass, by_name: Mapping[str, CIMClass]) -> ClassInfo:
    ancestors = []
    cur: CIMClass | None = cls
    while cur is not None:
        ancestors.append(cur.classname.lower())
        cur = by_name.get(cur.superclass.lower()) if cur.superclass else None
    props = {
        p.name.lower(): PropInfo(
            name=p.name,
            type=p.type,
            is_array=p.is_array,
            reference_class=p.reference_class,
            class_origin=p.class_origin,
            values=_value_names(p),
        )
        for p in cls.properties.values()
    }
    params = {
        m.name.lower(): {q.name.lower(): (q.type, q.is_array) for q in m.parameters.values()}
        for m in cls.methods.values()
    }
    assoc = cls.qualifiers.get("Association")
    return ClassInfo(
        name=cls.classname,
        superclass=cls.superclass,
        ancestors=frozenset(ancestors),
        properties=props,
        methods={m.lower(): m for m in cls.methods},
        method_params=params,
        association=bool(assoc and assoc.value),
    )
