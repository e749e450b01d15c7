"""The simulated provider's CIM classes: MOF compiled once per process, plus fast lookups.

The MOF and its compiled descriptions (ClassInfo, PropInfo) are `harness.cim_classes`; this module
serves them.

Class operations (GetClass, EnumerateClasses, ...) are answered by a pywbem_mock
FakedWBEMConnection that holds only classes and qualifier declarations; instances are
never stored there (cim_view computes them from the world on every call).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
)
from pywbem_mock import FakedWBEMConnection

from harness.cim_classes import ClassInfo, compile_classes


class ClassRepository:
    """Compiled classes for a set of namespaces (the same classes in each)."""

    def __init__(self, namespaces: Iterable[str]) -> None:
        self.namespaces = list(namespaces)
        self.conn = FakedWBEMConnection(default_namespace=self.namespaces[0])
        self.lock = threading.RLock()
        self.classes: dict[str, ClassInfo] = compile_classes(self.conn, self.namespaces)

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

    def call(self, operation: str, *args: object, **kwargs: object) -> Any:
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
