"""CIM-XML (DSP0201) request decoding and response encoding for the mock CIMOM.

Requests are decoded with pywbem's *private* tuple-tree parser (``pywbem._tupletree`` and
``pywbem._tupleparse``); ``tests/test_cimxml_roundtrip.py`` pins its behaviour. Payload objects are
encoded with pywbem's public ``tocimxmlstr()``, except instances and instance paths, which go through
the faster string writer in ``cimxml_fastxml`` (it falls back to ``tocimxmlstr()`` for shapes it does
not handle; ``tests/test_cimxml_fastxml.py`` checks both agree). The envelope is written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from pywbem import (
    CIMClass,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMParameter,
    CIMQualifierDeclaration,
    CIMVersionError,
    DTDVersionError,
    ProtocolVersionError,
    XMLParseError,
    tocimxmlstr,
)
from pywbem._tupleparse import TupleParser  # private API, pinned by pyproject + roundtrip test
from pywbem._tupletree import xml_to_tupletree_sax  # private API, pinned likewise

from harness.mock import cimxml_fastxml as fast

__all__ = [
    "CIMRequest",
    "RequestError",
    "class_xml",
    "classname_xml",
    "decode_request",
    "error_xml",
    "imethod_response",
    "instance_with_path_xml",
    "instance_xml",
    "instancename_xml",
    "instancepath_xml",
    "located",
    "method_response",
    "named_instance_xml",
    "object_with_path_xml",
    "objectpath_xml",
    "paramvalue_xml",
    "pull_params_xml",
    "qualifier_decl_xml",
]

XML_DECL = '<?xml version="1.0" encoding="utf-8" ?>\n'
_EMPTY_TAG = re.compile(r"<([A-Za-z_][\w.\-]*)((?:\s+[^<>]*?)?)\s*/>")


class RequestError(Exception):
    """A request that must be refused at the HTTP level (DSP0200 7.x), e.g. 400 + CIMError header."""

    def __init__(self, status: int, cimerror: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.cimerror = cimerror


@dataclass
class CIMRequest:
    """A decoded SIMPLEREQ: an intrinsic (IMETHODCALL) or extrinsic (METHODCALL) call."""

    msg_id: str
    protocol_version: str
    intrinsic: bool
    method: str
    namespace: str
    # IMETHODCALL: [(name, value)]; METHODCALL: [(name, paramtype or None, value)]
    params: list[tuple[Any, ...]] = field(default_factory=list)
    # METHODCALL only: CIMInstanceName or CIMClassName (namespace set, host stripped)
    target: CIMInstanceName | CIMClassName | None = None


def _elements(children: list[Any]) -> list[tuple[Any, ...]]:
    return [c for c in children if isinstance(c, tuple)]


def decode_request(body: bytes) -> CIMRequest:
    """Decode a CIM-XML request body; raise RequestError for anything that is not a valid SIMPLEREQ."""
    if b"<!DOCTYPE" in body[:4096].upper():
        raise RequestError(400, "request-not-valid", "DOCTYPE declarations are not accepted")
    try:
        tree = xml_to_tupletree_sax(body, "CIM-XML request")
    except XMLParseError as exc:
        raise RequestError(400, "request-not-well-formed", str(exc).splitlines()[0]) from None
    except Exception as exc:  # the SAX layer can raise other odd errors on garbage input
        raise RequestError(400, "request-not-well-formed", f"{type(exc).__name__}: {exc}") from None
    # MULTIREQ is "not implemented" in pywbem's parser: answer it per DSP0200 before parsing.
    if isinstance(tree, tuple) and tree[0] == "CIM":
        for msg in _elements(tree[2]):
            if msg[0] == "MESSAGE" and any(k[0] == "MULTIREQ" for k in _elements(msg[2])):
                raise RequestError(501, "multiple-requests-unsupported", "MULTIREQ is not supported")
    try:
        cim = TupleParser().parse_cim(tree)
    except CIMVersionError as exc:
        raise RequestError(501, "unsupported-cim-version", str(exc)) from None
    except DTDVersionError as exc:
        raise RequestError(501, "unsupported-dtd-version", str(exc)) from None
    except ProtocolVersionError as exc:
        raise RequestError(501, "unsupported-protocol-version", str(exc)) from None
    except Exception as exc:  # CIMXMLParseError, or anything the parser trips over
        raise RequestError(400, "request-not-valid", f"{type(exc).__name__}: {exc}") from None
    message = cim[2]
    if message[0] != "MESSAGE" or message[2][0] != "SIMPLEREQ":
        raise RequestError(400, "request-not-valid", "expected CIM/MESSAGE/SIMPLEREQ")
    msg_attrs, call = message[1], message[2][2]
    if call[0] == "IMETHODCALL":
        return CIMRequest(
            msg_attrs["ID"], msg_attrs["PROTOCOLVERSION"], True, call[1]["NAME"], call[2].strip("/"), list(call[3])
        )
    target = call[2].copy()
    target.host = None
    target.namespace = (target.namespace or "").strip("/")
    return CIMRequest(
        msg_attrs["ID"], msg_attrs["PROTOCOLVERSION"], False, call[1]["NAME"], target.namespace, list(call[3]), target
    )


# --------------------------------------------------------------------------- payload encoders


def instance_xml(inst: CIMInstance) -> str:
    xml = fast.instance_xml(inst)
    return inst.tocimxmlstr(ignore_path=True) if xml is None else xml


def class_xml(klass: CIMClass) -> str:
    return klass.tocimxmlstr()


def classname_xml(name: str | CIMClassName) -> str:
    return f"<CLASSNAME NAME={quoteattr(getattr(name, 'classname', name))}/>"


def instancename_xml(path: CIMInstanceName) -> str:
    xml = fast.instancename_xml(path)
    return path.tocimxmlstr(ignore_host=True, ignore_namespace=True) if xml is None else xml


def located(path: CIMInstanceName | CIMClassName, namespace: str | None, host: str | None) -> tuple[Any, Any]:
    """The (namespace, host) a reply writes for `path`: its own, completed with the request's namespace and
    the server's host where it has none (or pywbem_mock's ``FakedUrl`` placeholder host)."""
    own_host = path.host
    return path.namespace or namespace, own_host if own_host and not own_host.startswith("FakedUrl") else host


def instancepath_xml(
    path: CIMInstanceName | CIMClassName, namespace: str | None = None, host: str | None = None
) -> str:
    """INSTANCEPATH / CLASSPATH of `path`, completed by `located` (the path object is never changed)."""
    ns, where = located(path, namespace, host)
    xml = fast.path_xml(path, where, ns) if isinstance(path, CIMInstanceName) else None
    if xml is not None:
        return xml
    if (ns, where) != (path.namespace, path.host):
        path = path.copy()
        path.namespace, path.host = ns, where
    return tocimxmlstr(path)


def named_instance_xml(inst: CIMInstance) -> str:
    return f"<VALUE.NAMEDINSTANCE>{instancename_xml(inst.path)}{instance_xml(inst)}</VALUE.NAMEDINSTANCE>"


def object_with_path_xml(
    obj: CIMInstance | tuple[CIMClassName, CIMClass], namespace: str | None = None, host: str | None = None
) -> str:
    if isinstance(obj, tuple):
        path, body = instancepath_xml(obj[0], namespace, host), class_xml(obj[1])
    else:
        path, body = instancepath_xml(obj.path, namespace, host), instance_xml(obj)
    return f"<VALUE.OBJECTWITHPATH>{path}{body}</VALUE.OBJECTWITHPATH>"


def instance_with_path_xml(inst: CIMInstance, namespace: str | None = None, host: str | None = None) -> str:
    path = instancepath_xml(inst.path, namespace, host)
    return f"<VALUE.INSTANCEWITHPATH>{path}{instance_xml(inst)}</VALUE.INSTANCEWITHPATH>"


def objectpath_xml(path: CIMInstanceName | CIMClassName, namespace: str | None = None, host: str | None = None) -> str:
    return f"<OBJECTPATH>{instancepath_xml(path, namespace, host)}</OBJECTPATH>"


def qualifier_decl_xml(qd: CIMQualifierDeclaration) -> str:
    """QUALIFIER.DECLARATION without the non-DTD ``SCOPE ANY`` attribute (pywbem's client rejects it)."""
    qd = qd.copy()
    scopes = {k.upper(): bool(v) for k, v in qd.scopes.items()}
    if scopes.pop("ANY", False):
        scopes = dict.fromkeys(
            ("CLASS", "ASSOCIATION", "REFERENCE", "PROPERTY", "METHOD", "PARAMETER", "INDICATION"), True
        )
    qd.scopes = scopes
    return qd.tocimxmlstr()


def paramvalue_xml(param: CIMParameter) -> str:
    """PARAMVALUE (with PARAMTYPE) for an output parameter."""
    return param.tocimxmlstr(as_value=True)


def pull_params_xml(end_of_sequence: bool, context: str | None) -> str:
    """The EndOfSequence and EnumerationContext output PARAMVALUEs of Open*/Pull* responses."""
    eos = "TRUE" if end_of_sequence else "FALSE"
    ctx = "" if context is None else f"<VALUE>{escape(context)}</VALUE>"
    return (
        f'<PARAMVALUE NAME="EndOfSequence" PARAMTYPE="boolean"><VALUE>{eos}</VALUE></PARAMVALUE>'
        f'<PARAMVALUE NAME="EnumerationContext" PARAMTYPE="string">{ctx}</PARAMVALUE>'
    )


# --------------------------------------------------------------------------- envelopes


def error_xml(exc: CIMError) -> str:
    desc = exc.status_description or ""
    insts = "".join(instance_xml(i) for i in (exc.instances or []))
    return f'<ERROR CODE="{int(exc.status_code)}" DESCRIPTION={quoteattr(desc)}>{insts}</ERROR>'


def _finish(msg_id: str, protocol_version: str, inner: str) -> bytes:
    xml = (
        f'<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID={quoteattr(msg_id)} '
        f"PROTOCOLVERSION={quoteattr(protocol_version)}><SIMPLERSP>{inner}</SIMPLERSP></MESSAGE></CIM>"
    )
    # sblim-wbemcli's parser cannot read empty-element tags: write explicit open/close pairs. The fast
    # writer never writes one (and escaped text cannot contain "/>"), so a reply built only from its
    # output skips the regex, which costs as much as the encoding on a large enumeration.
    if "/>" in xml:
        xml = _EMPTY_TAG.sub(r"<\1\2></\1>", xml)
    return (XML_DECL + xml).encode("utf-8")


def imethod_response(
    req: CIMRequest, *, returnvalue: str | None = None, out_params: str = "", error: CIMError | None = None
) -> bytes:
    """IMETHODRESPONSE with ERROR, or IRETURNVALUE (None = void) followed by PARAMVALUEs."""
    if error is not None:
        body = error_xml(error)
    else:
        body = ("" if returnvalue is None else f"<IRETURNVALUE>{returnvalue}</IRETURNVALUE>") + out_params
    return _finish(
        req.msg_id, req.protocol_version, f"<IMETHODRESPONSE NAME={quoteattr(req.method)}>{body}</IMETHODRESPONSE>"
    )


def method_response(
    req: CIMRequest,
    *,
    return_type: str | None = None,
    return_value: Any = None,
    out_params: str = "",
    error: CIMError | None = None,
) -> bytes:
    """METHODRESPONSE with ERROR, or RETURNVALUE followed by output PARAMVALUEs."""
    if error is not None:
        body = error_xml(error)
    else:
        value = ""
        if return_value is not None:
            value = tocimxmlstr(return_value)
            if isinstance(return_value, CIMInstanceName | CIMClassName):
                value = f"<VALUE.REFERENCE>{value}</VALUE.REFERENCE>"
        ptype = f" PARAMTYPE={quoteattr(return_type)}" if return_type else ""
        body = f"<RETURNVALUE{ptype}>{value}</RETURNVALUE>{out_params}"
    return _finish(
        req.msg_id, req.protocol_version, f"<METHODRESPONSE NAME={quoteattr(req.method)}>{body}</METHODRESPONSE>"
    )
