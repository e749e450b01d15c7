"""Loopback CIM-XML (DSP0200/DSP0201) server over HTTP or HTTPS in front of any "backend".

The backend exposes pywbem ``WBEMConnection``-style operation methods (GetClass, EnumerateInstances,
References, InvokeMethod, ...) and raises ``pywbem.CIMError``; a ``pywbem_mock.FakedWBEMConnection``
qualifies. Pull operations are paged by this server from the backend's full result.

    with CIMXMLServer(backend, users={"u": "pw"}, tls=True) as srv:
        conn = pywbem.WBEMConnection(srv.url, ("u", "pw"), ca_certs=srv.ca_cert_path)
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hmac
import ipaddress
import logging
import re
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pywbem import (
    CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED,
    CIM_ERR_FAILED,
    CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED,
    CIM_ERR_INVALID_ENUMERATION_CONTEXT,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_OPERATION_TIMEOUT,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_METHOD_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIM_ERR_SERVER_LIMITS_EXCEEDED,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMMethod,
    CIMParameter,
    cimtype,
    cimvalue,
)

from harness.mock import cimxml_codec as codec

__all__ = ["CIMReply", "CIMXMLDispatcher", "CIMXMLServer", "make_self_signed_cert"]

log = logging.getLogger("harness.mock.cimxml")

DEFAULT_MAX_BODY = 4 * 1024 * 1024
DEFAULT_ENUM_TIMEOUT = 300  # seconds an idle enumeration context lives (OperationTimeout=NULL)
MAX_ENUM_TIMEOUT = 3600
MAX_ENUM_CONTEXTS = 256
_UINT32_MAX = 2**32 - 1
_HOST_HDR = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")

# ---------------------------------------------------------------------------- intrinsic parameters

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
_OPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "GetClass": (("ClassName",), _GET),
    "EnumerateClasses": ((), ("ClassName", "DeepInheritance", "LocalOnly", "IncludeQualifiers",
                              "IncludeClassOrigin")),
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
    "OpenEnumerateInstances": (("ClassName",), ("DeepInheritance", "IncludeClassOrigin", "PropertyList",
                                                *_OPEN)),
    "OpenEnumerateInstancePaths": (("ClassName",), _OPEN),
    "OpenReferenceInstances": (("InstanceName",), (*_REF, "IncludeClassOrigin", "PropertyList", *_OPEN)),
    "OpenReferenceInstancePaths": (("InstanceName",), (*_REF, *_OPEN)),
    "OpenAssociatorInstances": (("InstanceName",), (*_ASSOC, "IncludeClassOrigin", "PropertyList", *_OPEN)),
    "OpenAssociatorInstancePaths": (("InstanceName",), (*_ASSOC, *_OPEN)),
    "PullInstancesWithPath": (("EnumerationContext", "MaxObjectCount"), ()),
    "PullInstancePaths": (("EnumerationContext", "MaxObjectCount"), ()),
    "CloseEnumeration": (("EnumerationContext",), ()),
}
_OPS_LC = {name.lower(): name for name in _OPS}


def _invalid(msg: str) -> CIMError:
    return CIMError(CIM_ERR_INVALID_PARAMETER, msg)


def _convert_iparam(name: str, raw: Any, namespace: str) -> Any:
    """Type one IPARAMVALUE as the pywbem WBEMConnection API expects it."""
    if name in _BOOL:
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            raw = raw.strip().lower() == "true"
        if not isinstance(raw, bool):
            raise _invalid(f"{name} must be a boolean, got {raw!r}")
        return raw
    if name in _UINT32:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise _invalid(f"{name} must be a uint32, got {raw!r}") from None
        if not 0 <= value <= _UINT32_MAX:
            raise _invalid(f"{name} out of uint32 range: {value}")
        return value
    if name in _CLASSNAMES:
        value = raw.classname if isinstance(raw, CIMClassName) else raw
        if not isinstance(value, str) or not value:
            raise _invalid(f"{name} must be a class name, got {raw!r}")
        return value
    if name in _STRINGS:
        if not isinstance(raw, str):
            raise _invalid(f"{name} must be a string, got {raw!r}")
        return raw
    if name == "PropertyList":
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(p, str | None) for p in items):
            raise _invalid(f"PropertyList must be an array of strings, got {raw!r}")
        return [p for p in items if p is not None]
    allowed = (CIMInstanceName,) if name == "InstanceName" else (CIMInstanceName, CIMClassName)
    if not isinstance(raw, allowed):
        raise _invalid(f"{name} has the wrong type: {type(raw).__name__}")
    return _local_path(raw, namespace)


def _local_path(path: Any, namespace: str) -> Any:
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


# ---------------------------------------------------------------------------- dispatcher


@dataclass
class _Enumeration:
    namespace: str
    kind: str  # "instances" | "paths"
    items: list[str]  # pre-encoded VALUE.INSTANCEWITHPATH / INSTANCEPATH elements
    timeout: float
    expires: float
    pos: int = 0


@dataclass
class CIMReply:
    """Outcome of one CIM-XML request: the HTTP body plus a summary for the request log."""

    body: bytes
    method: str
    namespace: str
    status: int  # CIM status code, 0 = success


class CIMXMLDispatcher:
    """Transport-free CIM-XML processing: request bytes in, response bytes out."""

    def __init__(self, backend: Any, *, backend_lock: Any = None,
                 default_enum_timeout: int = DEFAULT_ENUM_TIMEOUT) -> None:
        self.backend = backend
        self.lock = backend_lock if backend_lock is not None else threading.RLock()
        self.default_enum_timeout = default_enum_timeout
        self._enums: dict[str, _Enumeration] = {}
        self._enum_lock = threading.Lock()

    # -- entry point

    def handle(self, body: bytes, *, host: str, cimmethod: str | None = None,
               cimobject: str | None = None) -> CIMReply:
        """Process one request. Raises codec.RequestError for HTTP-level refusals (400/501)."""
        req = codec.decode_request(body)
        self._check_headers(req, cimmethod, cimobject)
        try:
            self._check_namespace(req.namespace)
            out = self._imethod(req, host) if req.intrinsic else self._invoke(req)
            return CIMReply(out, req.method, req.namespace, 0)
        except CIMError as exc:
            err = exc
        except Exception as exc:
            log.warning("CIM-XML %s failed unexpectedly", req.method, exc_info=True)
            err = CIMError(CIM_ERR_FAILED, f"internal error: {type(exc).__name__}: {exc}")
        encode = codec.imethod_response if req.intrinsic else codec.method_response
        return CIMReply(encode(req, error=err), req.method, req.namespace, int(err.status_code))

    @staticmethod
    def _check_headers(req: codec.CIMRequest, cimmethod: str | None, cimobject: str | None) -> None:
        """DSP0200 7.3: CIMMethod/CIMObject headers must agree with the body (header-mismatch)."""
        if cimmethod is None or unquote(cimmethod).strip().lower() != req.method.lower():
            raise codec.RequestError(400, "header-mismatch",
                                     f"CIMMethod header {cimmethod!r} does not match {req.method!r}")
        if req.intrinsic and cimobject is not None and \
                unquote(cimobject).strip().strip("/").lower() != req.namespace.lower():
            raise codec.RequestError(400, "header-mismatch",
                                     f"CIMObject header {cimobject!r} does not match {req.namespace!r}")

    def _call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        func = getattr(self.backend, op, None)
        if func is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{op} is not supported by this server")
        with self.lock:
            return func(*args, **kwargs)

    def _check_namespace(self, namespace: str) -> None:
        with self.lock:
            known = getattr(self.backend, "namespaces", None)
            if known is None:
                return
            known = {str(ns).strip("/").lower() for ns in known}
        if namespace.lower() not in known:
            raise CIMError(CIM_ERR_INVALID_NAMESPACE, f"namespace {namespace!r} does not exist")

    # -- intrinsic operations

    def _imethod(self, req: codec.CIMRequest, host: str) -> bytes:
        op = _OPS_LC.get(req.method.lower())
        if op is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"intrinsic method {req.method!r} is not supported")
        required, optional = _OPS[op]
        canon = {n.lower(): n for n in (*required, *optional)}
        params: dict[str, Any] = {}
        for name, raw in req.params:
            key = canon.get(name.lower())
            if key is None:
                raise _invalid(f"{op} has no parameter {name!r}")
            if raw is not None:  # an IPARAMVALUE without value is NULL, i.e. the default
                params[key] = _convert_iparam(key, raw, req.namespace)
        missing = [n for n in required if n not in params]
        if missing:
            raise _invalid(f"{op} requires parameter(s) {', '.join(missing)}")
        result, out_params = getattr(self, f"_op_{op}")(req.namespace, host, params)
        return codec.imethod_response(req, returnvalue=result, out_params=out_params)

    @staticmethod
    def _full_path(path: Any, namespace: str, host: str) -> Any:
        """Local paths (no host, or pywbem_mock's placeholder) name this server as their host; a path the
        backend gave a host of its own (a peer array's object) keeps it. Backends return fresh objects,
        so they are completed in place rather than copied (copies cost at scale)."""
        path.namespace = path.namespace or namespace
        if not path.host or path.host.startswith("FakedUrl"):
            path.host = host
        return path

    def _with_path(self, inst: CIMInstance, namespace: str, host: str) -> CIMInstance:
        if not isinstance(inst, CIMInstance) or inst.path is None:
            raise CIMError(CIM_ERR_FAILED, f"backend returned an instance without path: {inst!r}")
        inst.path = self._full_path(inst.path, namespace, host)
        return inst

    def _op_GetClass(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return codec.class_xml(self._call("GetClass", p.pop("ClassName"), namespace=ns, **p)), ""

    def _op_EnumerateClasses(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return "".join(codec.class_xml(c) for c in self._call("EnumerateClasses", namespace=ns, **p)), ""

    def _op_EnumerateClassNames(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        names = self._call("EnumerateClassNames", namespace=ns, **p)
        return "".join(codec.classname_xml(n) for n in names), ""

    def _op_GetInstance(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return codec.instance_xml(self._call("GetInstance", p.pop("InstanceName"), **p)), ""

    def _op_EnumerateInstances(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        insts = self._call("EnumerateInstances", p.pop("ClassName"), namespace=ns, **p)
        return "".join(codec.named_instance_xml(self._with_path(i, ns, host)) for i in insts), ""

    def _op_EnumerateInstanceNames(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        paths = self._call("EnumerateInstanceNames", p.pop("ClassName"), namespace=ns)
        return "".join(codec.instancename_xml(path) for path in paths), ""

    def _objects_with_path(self, objs: list[Any], ns: str, host: str) -> str:
        parts = []
        for obj in objs:
            if isinstance(obj, tuple):  # class-level: (CIMClassName, CIMClass)
                parts.append(codec.object_with_path_xml((self._full_path(obj[0], ns, host), obj[1])))
            else:
                parts.append(codec.object_with_path_xml(self._with_path(obj, ns, host)))
        return "".join(parts)

    def _op_References(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._objects_with_path(self._call("References", p.pop("ObjectName"), **p), ns, host), ""

    def _op_Associators(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._objects_with_path(self._call("Associators", p.pop("ObjectName"), **p), ns, host), ""

    def _op_ReferenceNames(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        paths = self._call("ReferenceNames", p.pop("ObjectName"), **p)
        return "".join(codec.objectpath_xml(self._full_path(x, ns, host)) for x in paths), ""

    def _op_AssociatorNames(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        paths = self._call("AssociatorNames", p.pop("ObjectName"), **p)
        return "".join(codec.objectpath_xml(self._full_path(x, ns, host)) for x in paths), ""

    def _op_GetQualifier(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return codec.qualifier_decl_xml(self._call("GetQualifier", p["QualifierName"], namespace=ns)), ""

    def _op_EnumerateQualifiers(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return "".join(codec.qualifier_decl_xml(q) for q in self._call("EnumerateQualifiers", namespace=ns)), ""

    # -- pull operations (paged here from the backend's full result)

    def _open(self, ns: str, host: str, p: dict[str, Any], backend_op: str, target: str,
              paths: bool) -> tuple[str, str]:
        if p.pop("FilterQuery", None) is not None and p.get("FilterQueryLanguage") is None:
            raise _invalid("FilterQuery requires FilterQueryLanguage")
        if p.pop("FilterQueryLanguage", None) is not None:
            raise CIMError(CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED, "filtered enumerations are not supported")
        if p.pop("ContinueOnError", False):
            raise CIMError(CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED, "ContinueOnError is not supported")
        timeout = p.pop("OperationTimeout", self.default_enum_timeout)
        if not 0 < timeout <= MAX_ENUM_TIMEOUT:
            raise CIMError(CIM_ERR_INVALID_OPERATION_TIMEOUT,
                           f"OperationTimeout must be 1..{MAX_ENUM_TIMEOUT} seconds")
        max_count = p.pop("MaxObjectCount", 0)
        subject = p.pop(target)
        if backend_op in ("EnumerateInstances", "EnumerateInstanceNames"):
            result = self._call(backend_op, subject, namespace=ns, **p)
        else:
            result = self._call(backend_op, subject, **p)
        if paths:
            items = [codec.instancepath_xml(self._full_path(x, ns, host)) for x in result]
        else:
            items = [codec.instance_with_path_xml(self._with_path(i, ns, host)) for i in result]
        enum = _Enumeration(ns, "paths" if paths else "instances", items, timeout, 0.0)
        if len(items) <= max_count:
            return "".join(items), codec.pull_params_xml(True, None)
        with self._enum_lock:
            self._expire_enums()
            if len(self._enums) >= MAX_ENUM_CONTEXTS:
                raise CIMError(CIM_ERR_SERVER_LIMITS_EXCEEDED, "too many open enumeration contexts")
            enum_id = secrets.token_hex(12)
            self._enums[enum_id] = enum
            return self._page(enum_id, enum, max_count)

    def _expire_enums(self) -> None:
        now = time.monotonic()
        for key in [k for k, e in self._enums.items() if e.expires < now]:
            del self._enums[key]

    def _page(self, enum_id: str, enum: _Enumeration, count: int) -> tuple[str, str]:
        chunk = enum.items[enum.pos:enum.pos + count]
        enum.pos += len(chunk)
        if enum.pos >= len(enum.items):
            del self._enums[enum_id]
            return "".join(chunk), codec.pull_params_xml(True, None)
        enum.expires = time.monotonic() + enum.timeout
        return "".join(chunk), codec.pull_params_xml(False, enum_id)

    def _take_enum(self, ns: str, enum_id: str, kind: str | None) -> _Enumeration:
        self._expire_enums()
        enum = self._enums.get(enum_id)
        if enum is None or enum.namespace.lower() != ns.lower() or kind not in (None, enum.kind):
            raise CIMError(CIM_ERR_INVALID_ENUMERATION_CONTEXT, f"invalid enumeration context {enum_id!r}")
        return enum

    def _pull(self, ns: str, p: dict[str, Any], kind: str) -> tuple[str, str]:
        with self._enum_lock:
            enum = self._take_enum(ns, p["EnumerationContext"], kind)
            return self._page(p["EnumerationContext"], enum, p["MaxObjectCount"])

    def _op_OpenEnumerateInstances(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._open(ns, host, p, "EnumerateInstances", "ClassName", paths=False)

    def _op_OpenEnumerateInstancePaths(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._open(ns, host, p, "EnumerateInstanceNames", "ClassName", paths=True)

    def _op_OpenReferenceInstances(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._open(ns, host, p, "References", "InstanceName", paths=False)

    def _op_OpenReferenceInstancePaths(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._open(ns, host, p, "ReferenceNames", "InstanceName", paths=True)

    def _op_OpenAssociatorInstances(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._open(ns, host, p, "Associators", "InstanceName", paths=False)

    def _op_OpenAssociatorInstancePaths(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._open(ns, host, p, "AssociatorNames", "InstanceName", paths=True)

    def _op_PullInstancesWithPath(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._pull(ns, p, "instances")

    def _op_PullInstancePaths(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._pull(ns, p, "paths")

    def _op_CloseEnumeration(self, ns: str, host: str, p: dict[str, Any]) -> tuple[None, str]:
        with self._enum_lock:
            self._take_enum(ns, p["EnumerationContext"], None)
            del self._enums[p["EnumerationContext"]]
        return None, ""

    # -- extrinsic methods

    def _invoke(self, req: codec.CIMRequest) -> bytes:
        """METHODCALL: type the inputs from the class definition (wbemcli sends no PARAMTYPE)."""
        target = req.target
        klass = self._call("GetClass", target.classname, namespace=req.namespace, LocalOnly=False,
                           IncludeQualifiers=True)
        method: CIMMethod | None = klass.methods.get(req.method)
        if method is None:
            raise CIMError(CIM_ERR_METHOD_NOT_FOUND, f"class {klass.classname} has no method {req.method}")
        params = []
        for name, _paramtype, raw in req.params:
            pdef = method.parameters.get(name)
            if pdef is None:
                raise _invalid(f"method {method.name} has no parameter {name!r}")
            params.append(_typed_param(pdef, raw, req.namespace))
        return_value, out = self._call("InvokeMethod", req.method, target, Params=params)
        if return_value is not None and method.return_type:
            return_value = cimvalue(return_value, method.return_type)
        out_xml = "".join(codec.paramvalue_xml(_out_param(method, name, value))
                          for name, value in _out_items(out))
        return codec.method_response(req, return_type=method.return_type, return_value=return_value,
                                     out_params=out_xml)


def _typed_param(pdef: CIMParameter, raw: Any, namespace: str) -> CIMParameter:
    def scalar(v: Any) -> Any:
        if pdef.type == "reference":
            if isinstance(v, str):
                v = CIMInstanceName.from_wbem_uri(v)
            if not isinstance(v, CIMInstanceName | CIMClassName):
                raise TypeError(f"expected a reference, got {type(v).__name__}")
            return _local_path(v, namespace)
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
        raise _invalid(f"parameter {pdef.name}: {exc}") from None
    return CIMParameter(pdef.name, pdef.type, value=value, is_array=pdef.is_array,
                        reference_class=pdef.reference_class, embedded_object=pdef.embedded_object)


def _out_items(out: Any) -> list[tuple[str, Any]]:
    if out is None:
        return []
    if isinstance(out, Mapping):
        return list(out.items())
    return [(p.name, p) if isinstance(p, CIMParameter) else (p[0], p[1]) for p in out]


def _out_param(method: CIMMethod, name: str, value: Any) -> CIMParameter:
    if isinstance(value, CIMParameter):
        return value
    pdef = method.parameters.get(name)
    if pdef is not None:
        if value is not None and pdef.type != "reference":
            value = [cimvalue(v, pdef.type) for v in value] if pdef.is_array else cimvalue(value, pdef.type)
        return CIMParameter(pdef.name, pdef.type, value=value, is_array=pdef.is_array,
                            reference_class=pdef.reference_class, embedded_object=pdef.embedded_object)
    try:
        ptype = cimtype(value)
    except (TypeError, ValueError):
        ptype = "string"
    return CIMParameter(name, ptype, value=value, is_array=isinstance(value, list))


# ---------------------------------------------------------------------------- TLS


def make_self_signed_cert(directory: str | Path, host: str = "127.0.0.1") -> tuple[str, str]:
    """Write a self-signed (CA:TRUE) cert + key for `host`/localhost; return (cert_path, key_path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harness mock CIMOM")])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt.append(x509.DNSName(host))
    if host != "127.0.0.1":
        alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    now = datetime.datetime.now(datetime.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True,
                                     content_commitment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = Path(directory) / "cimom-cert.pem", Path(directory) / "cimom-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return str(cert_path), str(key_path)


# ---------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "harness-cimxml/0.1"
    # Headers and body leave in separate writes: without TCP_NODELAY each reply waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        self.timeout = self.server.owner.socket_timeout
        self._tls_ok = True
        if isinstance(self.request, ssl.SSLSocket):  # handshake here, in the handler thread
            self.request.settimeout(self.timeout)
            try:
                self.request.do_handshake()
            except (OSError, ssl.SSLError) as exc:
                log.debug("TLS handshake with %s failed: %s", self.client_address[0], exc)
                self._tls_ok = False
        super().setup()

    def handle(self) -> None:
        if self._tls_ok:
            super().handle()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if not self.server.owner.is_available():  # powered-off array: hang up without answering
            log.debug("unavailable: dropping %s %s from %s", self.command, self.path, self.client_address[0])
            self.close_connection = True
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - " + format, self.client_address[0], *args)

    def _send(self, status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = (),
              close: bool = False) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _not_allowed(self) -> None:
        self._send(405, b"only POST is supported\n", (("Allow", "POST"), ("Content-Type", "text/plain")))

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _user(self) -> str | None:
        """The authenticated user name ("" if auth is off), or None if the credentials are wrong."""
        users = self.server.owner.users
        if users is None:
            return ""
        scheme, _, cred = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(cred.strip(), validate=True).decode("utf-8").partition(":")
        except ValueError:
            return None
        expected = users.get(user)
        if not sep or expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return user

    def _refuse(self, status: int, text: str, length: int, headers: tuple[tuple[str, str], ...] = ()) -> None:
        """Answer an HTTP-level refusal; keep the connection only if the body could be consumed first."""
        log.debug("%d for %s %s from %s: %s", status, self.command, self.path, self.client_address[0], text)
        headers = (*headers, ("Content-Type", "text/plain"))
        if 0 <= length <= self.server.owner.max_body and not self.headers.get("Transfer-Encoding"):
            self.rfile.read(length)
            self._send(status, f"{text}\n".encode(), headers)
            return
        self._send(status, f"{text}\n".encode(), headers, close=True)
        # Lingering close: swallow some of what the client is still sending so it sees our answer
        # rather than a connection reset.
        budget = min(max(length, 0), 4 * self.server.owner.max_body)
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.settimeout(2.0)
            while budget > 0 and (chunk := self.rfile.read1(min(budget, 65536))):
                budget -= len(chunk)

    def do_POST(self) -> None:
        owner, started = self.server.owner, time.monotonic()
        try:
            length = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            length = -1
        user = self._user()
        if user is None:
            self._refuse(401, "authentication required", length,
                         (("WWW-Authenticate", 'Basic realm="harness-cimxml"'),))
            return
        if urlsplit(self.path).path != "/cimom":
            self._refuse(404, "CIM-XML is served at /cimom", length)
            return
        if length < 0 or self.headers.get("Transfer-Encoding"):
            self._refuse(411, "Content-Length required", -1)
            return
        if length > owner.max_body:
            self._refuse(413, f"request body too large (max {owner.max_body} bytes)", length)
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return
        if (self.headers.get("CIMOperation") or "").strip().lower() != "methodcall":
            self._cim_refusal(codec.RequestError(400, "unsupported-operation", "CIMOperation must be MethodCall"))
            return
        host = self.headers.get("Host", "")
        if not _HOST_HDR.match(host):
            host = owner.netloc
        try:
            reply = owner.dispatcher.handle(body, host=host, cimmethod=self.headers.get("CIMMethod"),
                                            cimobject=self.headers.get("CIMObject"))
        except codec.RequestError as exc:
            self._cim_refusal(exc)
            return
        except Exception:  # never drop the connection on a bug
            log.exception("CIM-XML request processing failed")
            self._send(500, b"internal server error\n", (("Content-Type", "text/plain"),))
            return
        log.debug("%s user=%s %s ns=%s -> CIM status %d (%d bytes, %.1f ms)", self.client_address[0], user,
                  reply.method, reply.namespace, reply.status, len(reply.body),
                  (time.monotonic() - started) * 1000)
        self._send(200, reply.body, (("Content-Type", 'application/xml; charset="utf-8"'),
                                     ("CIMOperation", "MethodResponse")))

    def _cim_refusal(self, exc: codec.RequestError) -> None:
        log.debug("%d %s from %s: %s", exc.status, exc.cimerror, self.client_address[0], exc)
        self._send(exc.status, f"{exc}\n".encode(), (("CIMError", exc.cimerror), ("Content-Type", "text/plain")))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], owner: CIMXMLServer, ssl_context: ssl.SSLContext | None):
        self.owner = owner
        self.ssl_context = ssl_context
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_context is not None:  # the handshake itself happens in the handler thread
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.owner.is_available()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class CIMXMLServer:
    """A loopback CIM-XML server (DSP0200) over HTTP/HTTPS serving `backend` at ``/cimom``."""

    def __init__(
        self,
        backend: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        tls: bool = False,
        certfile: str | None = None,
        keyfile: str | None = None,
        backend_lock: Any = None,
        available: Callable[[], bool] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        enum_timeout: int = DEFAULT_ENUM_TIMEOUT,
        socket_timeout: float = 60.0,
    ) -> None:
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"CIMXMLServer only binds to loopback addresses, not {host!r}")
        self.host = host
        self.users = dict(users) if users is not None else None
        self.available = available
        self.max_body = max_body
        self.socket_timeout = socket_timeout
        self.dispatcher = CIMXMLDispatcher(backend, backend_lock=backend_lock, default_enum_timeout=enum_timeout)
        self.tls = tls
        self._port = port
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._ca_cert_path: str | None = None
        if tls:
            if certfile is None:
                tmpdir = tempfile.mkdtemp(prefix="cimxml-tls-")
                weakref.finalize(self, shutil.rmtree, tmpdir, True)
                certfile, keyfile = make_self_signed_cert(tmpdir, host if host != "localhost" else "127.0.0.1")
            self._ca_cert_path = certfile
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(certfile, keyfile)
            self._ssl_context = ctx

    # -- lifecycle

    def start(self) -> CIMXMLServer:
        if self._server is not None:
            raise RuntimeError("CIMXMLServer already started")
        self._server = _HTTPServer((self.host, self._port), self, self._ssl_context)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"cimxml-{self._port}", daemon=True)
        self._thread.start()
        log.debug("CIM-XML server listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.sockets_lock:
            open_sockets = list(server.open_sockets)
        for sock in open_sockets:  # wake handler threads parked on keep-alive connections
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.debug("CIM-XML server on port %d stopped", self._port)

    def __enter__(self) -> CIMXMLServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- properties

    @property
    def port(self) -> int:
        return self._port

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self._port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.netloc}"

    @property
    def ca_cert_path(self) -> str | None:
        """PEM file a client should trust: the generated self-signed cert (or the given certfile)."""
        return self._ca_cert_path

    def is_available(self) -> bool:
        if self.available is None:
            return True
        try:
            return bool(self.available())
        except Exception:
            log.warning("available() callback raised; treating the server as down", exc_info=True)
            return False
