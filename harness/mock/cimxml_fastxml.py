"""Fast CIM-XML writer for the mock CIMOM's hot path: CIMInstance and CIMInstanceName.

pywbem's ``tocimxmlstr()`` builds a minidom tree per object (about 1.4 ms for one
TPD_RemoteStorageSynchronized instance). This module writes the same elements and attributes,
in the same order and with the same escaping as minidom, straight into a list of strings, and
never writes an empty-element tag (``<X/>``): sblim-wbemcli cannot read those, so elements
without content are written as ``<X></X>`` (what ``cimxml_codec`` otherwise does by regex).

Only the shapes the mock serves are handled: properties with scalar or array values of string,
boolean, integer and datetime type, reference properties, NULL values, CLASSORIGIN/PROPAGATED,
qualifiers with plain values, and keybindings of string, boolean, number, datetime and reference
type. Anything else (embedded objects, real or char16 values, NULL array elements, keyless paths,
qualifiers with unusual values, objects of unexpected types) raises :class:`Unsupported`; the
``*_xml`` functions here return ``None`` then, and ``cimxml_codec`` falls back to pywbem.
``tests/test_cimxml_fastxml.py`` checks the output against pywbem's encoder on everything the mock
serves.
"""

from __future__ import annotations

from pywbem import CIMDateTime, CIMInstance, CIMInstanceName, CIMProperty, CIMQualifier
from pywbem._cim_types import CIMInt

__all__ = [
    "Unsupported",
    "instance_xml",
    "instancename_xml",
    "path_xml",
]


class Unsupported(Exception):
    """The object has a shape this writer does not handle; use pywbem's encoder instead."""


def _esc(data: str) -> str:
    """Escape like minidom's ``_write_data`` (used for both text and attribute values)."""
    if "&" in data:
        data = data.replace("&", "&amp;")
    if "<" in data:
        data = data.replace("<", "&lt;")
    if '"' in data:
        data = data.replace('"', "&quot;")
    if ">" in data:
        data = data.replace(">", "&gt;")
    return data


def _atom(value: object) -> str:
    """The VALUE text of a scalar, as ``pywbem._cim_types.atomic_to_cim_xml`` writes it, escaped."""
    cls = type(value)
    if cls is str:
        return _esc(value)  # type: ignore[arg-type]
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, CIMInt) or cls is int:
        return str(value)
    if isinstance(value, CIMDateTime):
        return str(value)
    raise Unsupported(f"value of type {cls.__name__}")


def _bool_attr(name: str, value: object) -> str:
    if value is None:
        return ""
    if type(value) is not bool:
        raise Unsupported(f"{name} attribute {value!r}")
    return f' {name}="{"true" if value else "false"}"'


def _str_attr(name: str, value: object) -> str:
    if value is None:
        return ""
    if type(value) is not str:
        raise Unsupported(f"{name} attribute {value!r}")
    return f' {name}="{_esc(value)}"'


# --------------------------------------------------------------------------- paths


def _keybinding(out: list[str], key: str, value: object) -> None:
    out.append(f'<KEYBINDING NAME="{_esc(key)}">')
    cls = type(value)
    if cls is str:
        out.append(f'<KEYVALUE VALUETYPE="string" TYPE="string">{_esc(value)}</KEYVALUE>')  # type: ignore[arg-type]
    elif cls is bool:
        out.append(f'<KEYVALUE VALUETYPE="boolean" TYPE="boolean">{"TRUE" if value else "FALSE"}</KEYVALUE>')
    elif isinstance(value, CIMInstanceName):
        out.append("<VALUE.REFERENCE>")
        _path(out, value, value.host, value.namespace)
        out.append("</VALUE.REFERENCE>")
    elif isinstance(value, CIMDateTime):
        out.append(f'<KEYVALUE VALUETYPE="string" TYPE="{value.cimtype}">{value}</KEYVALUE>')
    elif isinstance(value, CIMInt):
        out.append(f'<KEYVALUE VALUETYPE="numeric" TYPE="{value.cimtype}">{value}</KEYVALUE>')
    elif cls is int:  # pywbem writes no TYPE: a bare int carries no CIM type
        out.append(f'<KEYVALUE VALUETYPE="numeric">{value}</KEYVALUE>')
    else:  # Char16 (a str subclass), bytes, floats, anything odd
        raise Unsupported(f"keybinding {key!r} of type {cls.__name__}")
    out.append("</KEYBINDING>")


def _path(out: list[str], path: CIMInstanceName, host: str | None, namespace: str | None) -> None:
    """INSTANCENAME, LOCALINSTANCEPATH or INSTANCEPATH, exactly as ``CIMInstanceName.tocimxml`` writes
    `path` with this `host` and `namespace` (None: left out); the path object is not changed."""
    if type(path) is not CIMInstanceName:
        raise Unsupported(f"path of type {type(path).__name__}")
    kbs = path.keybindings
    if not kbs:  # pywbem warns about keyless paths: leave that to it
        raise Unsupported("instance path without keybindings")
    close = ""
    if namespace is not None:
        spaces = "".join(f'<NAMESPACE NAME="{_esc(ns)}"></NAMESPACE>' for ns in namespace.split("/"))
        local = f"<LOCALNAMESPACEPATH>{spaces}</LOCALNAMESPACEPATH>"
        if host is None:
            out.append(f"<LOCALINSTANCEPATH>{local}")
            close = "</LOCALINSTANCEPATH>"
        else:
            out.append(f"<INSTANCEPATH><NAMESPACEPATH><HOST>{_esc(host)}</HOST>{local}</NAMESPACEPATH>")
            close = "</INSTANCEPATH>"
    out.append(f'<INSTANCENAME CLASSNAME="{_esc(path.classname)}">')
    for key, value in kbs.items():
        _keybinding(out, key, value)
    out.append("</INSTANCENAME>")
    if close:
        out.append(close)


# --------------------------------------------------------------------------- instances


def _qualifier(out: list[str], q: CIMQualifier) -> None:
    if type(q) is not CIMQualifier:
        raise Unsupported("qualifier of unexpected type")
    out.append(
        f'<QUALIFIER NAME="{_esc(q.name)}" TYPE="{_esc(q.type)}"'
        f"{_bool_attr('PROPAGATED', q.propagated)}{_bool_attr('OVERRIDABLE', q.overridable)}"
        f"{_bool_attr('TOSUBCLASS', q.tosubclass)}{_bool_attr('TOINSTANCE', q.toinstance)}"
        f"{_bool_attr('TRANSLATABLE', q.translatable)}>"
    )
    value = q.value
    if value is None:
        pass
    elif isinstance(value, list | tuple):
        if any(v is None for v in value):
            raise Unsupported("NULL element in a qualifier array")
        out.append("<VALUE.ARRAY>")
        out.extend(f"<VALUE>{_atom(v)}</VALUE>" for v in value)
        out.append("</VALUE.ARRAY>")
    else:
        out.append(f"<VALUE>{_atom(value)}</VALUE>")
    out.append("</QUALIFIER>")


def _property(out: list[str], p: CIMProperty) -> None:
    if type(p) is not CIMProperty:
        raise Unsupported("property of unexpected type")
    if p.embedded_object is not None:
        raise Unsupported(f"embedded object in property {p.name!r}")
    name = _esc(p.name)
    origin = p.class_origin
    origin = "" if origin is None else _str_attr("CLASSORIGIN", origin)
    propagated = p.propagated
    propagated = "" if propagated is None else _bool_attr("PROPAGATED", propagated)
    value = p.value
    if p.is_array:
        if p.type == "reference":
            raise Unsupported("reference array")
        size = "" if p.array_size is None else f' ARRAYSIZE="{_esc(str(p.array_size))}"'
        out.append(f'<PROPERTY.ARRAY NAME="{name}" TYPE="{_esc(p.type)}"{size}{origin}{propagated}>')
        for q in p.qualifiers.values():
            _qualifier(out, q)
        if value is not None:
            if any(v is None for v in value):
                raise Unsupported(f"NULL element in array property {p.name!r}")
            out.append("<VALUE.ARRAY>")
            out.extend(f"<VALUE>{_atom(v)}</VALUE>" for v in value)
            out.append("</VALUE.ARRAY>")
        out.append("</PROPERTY.ARRAY>")
    elif p.type == "reference":
        refclass = _str_attr("REFERENCECLASS", p.reference_class)
        out.append(f'<PROPERTY.REFERENCE NAME="{name}"{refclass}{origin}{propagated}>')
        for q in p.qualifiers.values():
            _qualifier(out, q)
        if value is not None:
            out.append("<VALUE.REFERENCE>")
            _path(out, value, value.host, value.namespace)
            out.append("</VALUE.REFERENCE>")
        out.append("</PROPERTY.REFERENCE>")
    else:
        out.append(f'<PROPERTY NAME="{name}" TYPE="{_esc(p.type)}"{origin}{propagated}>')
        for q in p.qualifiers.values():
            _qualifier(out, q)
        if value is not None:
            out.append(f"<VALUE>{_atom(value)}</VALUE>")
        out.append("</PROPERTY>")


def _instance(out: list[str], inst: CIMInstance) -> None:
    if type(inst) is not CIMInstance:
        raise Unsupported("instance of unexpected type")
    out.append(f'<INSTANCE CLASSNAME="{_esc(inst.classname)}">')
    for q in inst.qualifiers.values():
        _qualifier(out, q)
    for p in inst.properties.values():
        _property(out, p)
    out.append("</INSTANCE>")


# --------------------------------------------------------------------------- entry points


def instance_xml(inst: CIMInstance) -> str | None:
    """INSTANCE (the path is ignored), or None if pywbem must write this one."""
    out: list[str] = []
    try:
        _instance(out, inst)
    except Exception:  # Unsupported, or a malformed object: pywbem's encoder decides what to do
        return None
    return "".join(out)


def path_xml(path: CIMInstanceName, host: str | None, namespace: str | None) -> str | None:
    """What ``path.tocimxmlstr()`` writes for a copy of `path` with this `host` and `namespace` (None: left
    out), or None if unsupported. Nested references are written as they are."""
    out: list[str] = []
    try:
        _path(out, path, host, namespace)
    except Exception:  # Unsupported, or a malformed object: pywbem's encoder decides what to do
        return None
    return "".join(out)


def instancename_xml(path: CIMInstanceName) -> str | None:
    """INSTANCENAME (host and namespace ignored), or None if unsupported."""
    return path_xml(path, None, None)
