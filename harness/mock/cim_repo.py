"""The simulated provider's CIM classes: MOF compiled once per process, plus fast lookups.

Class operations (GetClass, EnumerateClasses, ...) are answered by a pywbem_mock
FakedWBEMConnection that holds only classes and qualifier declarations; instances are
never stored there (cim_view computes them from the world on every call).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIMClass,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
)
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


class ClassRepository:
    """Compiled classes for a set of namespaces (the same classes in each)."""

    def __init__(self, namespaces: Iterable[str]) -> None:
        self.namespaces = list(namespaces)
        self.conn = FakedWBEMConnection(default_namespace=self.namespaces[0])
        self.lock = threading.RLock()
        mof = [(MOF_DIR / name).read_text() for name in MOF_FILES]
        for ns in self.namespaces:
            if ns not in self.conn.namespaces:
                self.conn.add_namespace(ns)
            for text in mof:
                self.conn.compile_mof_string(text, namespace=ns)
        store = self.conn.cimrepository.get_class_store(self.namespaces[0])
        by_name = {c.classname.lower(): c for c in store.iter_values()}
        self.classes: dict[str, ClassInfo] = {k: _class_info(c, by_name) for k, c in by_name.items()}

    # ------------------------------------------------------------ lookups
    def namespace(self, namespace: str | None) -> str:
        """The namespace as the repository spells it; CIM_ERR_INVALID_NAMESPACE if unknown."""
        if namespace is None:
            return self.namespaces[0]
        wanted = namespace.strip("/").lower()
        for ns in self.namespaces:
            if ns.lower() == wanted:
                return ns
        raise CIMError(CIM_ERR_INVALID_NAMESPACE, f"namespace {namespace!r} does not exist")

    def info(self, classname: str) -> ClassInfo:
        """Class information; CIM_ERR_INVALID_CLASS if the class does not exist."""
        try:
            return self.classes[classname.lower()]
        except KeyError:
            raise CIMError(CIM_ERR_INVALID_CLASS, f"class {classname!r} does not exist") from None

    def has(self, classname: str) -> bool:
        return classname.lower() in self.classes

    def is_a(self, classname: str, parent: str) -> bool:
        """classname is parent or one of its subclasses (False for unknown classes)."""
        info = self.classes.get(classname.lower())
        return info is not None and parent.lower() in info.ancestors

    def call(self, operation: str, *args: object, **kwargs: object) -> object:
        """Run a class operation on the compiled repository (serialised: pywbem_mock is not thread-safe)."""
        with self.lock:
            return getattr(self.conn, operation)(*args, **kwargs)


@functools.lru_cache(maxsize=8)
def class_repository(namespaces: tuple[str, ...]) -> ClassRepository:
    """The compiled classes for these namespaces, compiled once per process."""
    return ClassRepository(namespaces)


def make_instance(
    info: ClassInfo,
    path: CIMInstanceName,
    values: Mapping[str, object],
    want: set[str] | None = None,
    class_origin: bool = False,
) -> CIMInstance:
    """A CIMInstance of `info` with `values` (property name -> typed value), limited to `want`.

    `want` holds lower-case property names (a PropertyList); None means all properties.
    """
    props = []
    for name, value in values.items():
        key = name.lower()
        if want is not None and key not in want:
            continue
        p = info.properties[key]
        prop = CIMProperty(p.name, value, type=p.type, reference_class=p.reference_class, is_array=p.is_array)
        if class_origin:
            prop.class_origin = p.class_origin
            prop.propagated = p.class_origin is not None and p.class_origin.lower() != info.name.lower()
        props.append(prop)
    return CIMInstance(info.name, properties=props, path=path)
