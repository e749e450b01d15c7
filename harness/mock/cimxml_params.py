"""Parameter typing for the mock CIMOM: which IPARAMVALUEs each intrinsic operation takes, and how
intrinsic (IPARAMVALUE) and extrinsic (PARAMVALUE) values become what pywbem's WBEMConnection API
expects. Every malformed parameter is ``CIM_ERR_INVALID_PARAMETER``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIMClassName,
    CIMError,
    CIMInstanceName,
    CIMMethod,
    CIMParameter,
    cimtype,
    cimvalue,
)

__all__ = ["OPS", "OPS_LC", "convert_iparam", "invalid", "local_path", "out_items", "out_param", "typed_param"]

_UINT32_MAX = 2**32 - 1

_BOOL = {"DeepInheritance", "LocalOnly", "IncludeQualifiers", "IncludeClassOrigin", "ContinueOnError"}
_UINT32 = {"MaxObjectCount", "OperationTimeout"}
_CLASSNAMES = {"ClassName", "AssocClass", "ResultClass"}
_STRINGS = {"Role", "ResultRole", "FilterQueryLanguage", "FilterQuery", "EnumerationContext", "QualifierName"}
_GET = ("LocalOnly", "IncludeQualifiers", "IncludeClassOrigin", "PropertyList")
_OPEN = ("FilterQueryLanguage", "FilterQuery", "OperationTimeout", "ContinueOnError", "MaxObjectCount")
_ASSOC = ("AssocClass", "ResultClass", "Role", "ResultRole")
_REF = ("ResultClass", "Role")
_INST_OPTS = ("IncludeQualifiers", "IncludeClassOrigin", "PropertyList")

# operation -> (required params, optional params); every other parameter is CIM_ERR_INVALID_PARAMETER
OPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "GetClass": (("ClassName",), _GET),
    "EnumerateClasses": (
        (),
        ("ClassName", "DeepInheritance", "LocalOnly", "IncludeQualifiers", "IncludeClassOrigin"),
    ),
    "EnumerateClassNames": ((), ("ClassName", "DeepInheritance")),
    "GetInstance": (("InstanceName",), _GET),
    "EnumerateInstances": (("ClassName",), ("DeepInheritance", *_GET)),
    "EnumerateInstanceNames": (("ClassName",), ()),
    "References": (("ObjectName",), (*_REF, *_INST_OPTS)),
    "ReferenceNames": (("ObjectName",), _REF),
    "Associators": (("ObjectName",), (*_ASSOC, *_INST_OPTS)),
    "AssociatorNames": (("ObjectName",), _ASSOC),
    "GetQualifier": (("QualifierName",), ()),
    "EnumerateQualifiers": ((), ()),
    "OpenEnumerateInstances": (
        ("ClassName",),
        ("DeepInheritance", "IncludeClassOrigin", "PropertyList", *_OPEN),
    ),
    "OpenEnumerateInstancePaths": (("ClassName",), _OPEN),
    "OpenReferenceInstances": (("InstanceName",), (*_REF, "IncludeClassOrigin", "PropertyList", *_OPEN)),
    "OpenReferenceInstancePaths": (("InstanceName",), (*_REF, *_OPEN)),
    "OpenAssociatorInstances": (("InstanceName",), (*_ASSOC, "IncludeClassOrigin", "PropertyList", *_OPEN)),
    "OpenAssociatorInstancePaths": (("InstanceName",), (*_ASSOC, *_OPEN)),
    "PullInstancesWithPath": (("EnumerationContext", "MaxObjectCount"), ()),
    "PullInstancePaths": (("EnumerationContext", "MaxObjectCount"), ()),
    "CloseEnumeration": (("EnumerationContext",), ()),
}
OPS_LC = {name.lower(): name for name in OPS}


def invalid(msg: str) -> CIMError:
    return CIMError(CIM_ERR_INVALID_PARAMETER, msg)


# ---------------------------------------------------------------------------- intrinsic (IPARAMVALUE)


def convert_iparam(name: str, raw: Any, namespace: str) -> Any:
    """Type one IPARAMVALUE as the pywbem WBEMConnection API expects it."""
    if name in _BOOL:
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            raw = raw.strip().lower() == "true"
        if not isinstance(raw, bool):
            raise invalid(f"{name} must be a boolean, got {raw!r}")
        return raw
    if name in _UINT32:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise invalid(f"{name} must be a uint32, got {raw!r}") from None
        if not 0 <= value <= _UINT32_MAX:
            raise invalid(f"{name} out of uint32 range: {value}")
        return value
    if name in _CLASSNAMES:
        value = raw.classname if isinstance(raw, CIMClassName) else raw
        if not isinstance(value, str) or not value:
            raise invalid(f"{name} must be a class name, got {raw!r}")
        return value
    if name in _STRINGS:
        if not isinstance(raw, str):
            raise invalid(f"{name} must be a string, got {raw!r}")
        return raw
    if name == "PropertyList":
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(p, str | None) for p in items):
            raise invalid(f"PropertyList must be an array of strings, got {raw!r}")
        return [p for p in items if p is not None]
    allowed = (CIMInstanceName,) if name == "InstanceName" else (CIMInstanceName, CIMClassName)
    if not isinstance(raw, allowed):
        raise invalid(f"{name} has the wrong type: {type(raw).__name__}")
    return local_path(raw, namespace)


def local_path(path: Any, namespace: str) -> Any:
    """Copy of an incoming object path without host and with a namespace.

    sblim-wbemcli turns a reference argument ``root/cimv2:CLS.k="v"`` into HOST=root, namespace=cimv2:
    when host + "/" + namespace is the request namespace, that is what was meant.
    """
    path = path.copy()
    if path.host and path.namespace and f"{path.host}/{path.namespace}".lower() == namespace.lower():
        path.namespace = namespace
    path.host = None
    path.namespace = (path.namespace or namespace).strip("/")
    return path


# ---------------------------------------------------------------------------- extrinsic (PARAMVALUE)


def typed_param(pdef: CIMParameter, raw: Any, namespace: str) -> CIMParameter:
    """Type one METHODCALL input from its class definition (wbemcli sends no PARAMTYPE)."""

    def scalar(v: Any) -> Any:
        if pdef.type == "reference":
            if isinstance(v, str):
                v = CIMInstanceName.from_wbem_uri(v)
            if not isinstance(v, CIMInstanceName | CIMClassName):
                raise TypeError(f"expected a reference, got {type(v).__name__}")
            return local_path(v, namespace)
        if not isinstance(v, str):  # embedded CIMInstance/CIMClass, already parsed
            return v
        return cimvalue(v, pdef.type)

    try:
        if raw is None:
            value = None
        elif pdef.is_array:
            value = [None if v is None else scalar(v) for v in (raw if isinstance(raw, list) else [raw])]
        elif isinstance(raw, list):
            raise TypeError("array given for a scalar parameter")
        else:
            value = scalar(raw)
    except (TypeError, ValueError) as exc:
        raise invalid(f"parameter {pdef.name}: {exc}") from None
    return CIMParameter(
        pdef.name,
        pdef.type,
        value=value,
        is_array=pdef.is_array,
        reference_class=pdef.reference_class,
        embedded_object=pdef.embedded_object,
    )


def out_items(out: Any) -> list[tuple[str, Any]]:
    """The backend's output parameters (None, a mapping or a sequence) as (name, value) pairs."""
    if out is None:
        return []
    if isinstance(out, Mapping):
        return list(out.items())
    return [(p.name, p) if isinstance(p, CIMParameter) else (p[0], p[1]) for p in out]


def out_param(method: CIMMethod, name: str, value: Any) -> CIMParameter:
    """One output parameter, typed from the method definition when it declares it."""
    if isinstance(value, CIMParameter):
        return value
    pdef = method.parameters.get(name)
    if pdef is not None:
        if value is not None and pdef.type != "reference":
            value = [cimvalue(v, pdef.type) for v in value] if pdef.is_array else cimvalue(value, pdef.type)
        return CIMParameter(
            pdef.name,
            pdef.type,
            value=value,
            is_array=pdef.is_array,
            reference_class=pdef.reference_class,
            embedded_object=pdef.embedded_object,
        )
    try:
        ptype = cimtype(value)
    except (TypeError, ValueError):
        ptype = "string"
    return CIMParameter(name, ptype, value=value, is_array=isinstance(value, list))
