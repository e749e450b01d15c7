"""Transport-free CIM-XML (DSP0200) processing for the mock CIMOM: request bytes in, response bytes out.

``CIMXMLDispatcher`` checks a decoded request against its HTTP headers and the backend's namespaces,
types its parameters (``cimxml_params``), runs the intrinsic operation or extrinsic method on the
backend, and encodes the result or the ``CIMError`` (``cimxml_codec``). Pull operations are paged
here from the backend's full result (``cimxml_pull``).

Nothing the backend returns is changed here: a reply's paths get the request's namespace and the
server's host (from the request's Host header) as they are written (``cimxml_codec.located``), so
one client's request never shows in another client's answer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_METHOD_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMMethod,
    cimvalue,
)

from harness.mock import cimxml_codec as codec
from harness.mock.cimxml_params import OPS, OPS_LC, convert_iparam, invalid, out_items, out_param, typed_param
from harness.mock.cimxml_pull import DEFAULT_ENUM_TIMEOUT, Enumeration, EnumerationContexts, pop_open_options

__all__ = ["CIMReply", "CIMXMLDispatcher", "Hangup"]

log = logging.getLogger("harness.mock.cimxml")  # the server's logger: one name for the whole CIMOM


@dataclass
class CIMReply:
    """Outcome of one CIM-XML request: the HTTP body plus a summary for the request log."""

    body: bytes
    method: str
    namespace: str
    status: int  # CIM status code, 0 = success


class Hangup(Exception):
    """Raised by a backend that must not answer this request at all: the server closes the connection
    without a reply (a provider that went away; harness.mock.replay plays a recorded connection error)."""


class CIMXMLDispatcher:
    """Transport-free CIM-XML processing: request bytes in, response bytes out."""

    def __init__(
        self, backend: Any, *, backend_lock: Any = None, default_enum_timeout: int = DEFAULT_ENUM_TIMEOUT
    ) -> None:
        self.backend = backend
        self.lock = backend_lock if backend_lock is not None else threading.RLock()
        self.default_enum_timeout = default_enum_timeout
        self._enums = EnumerationContexts()

    # -- entry point

    def handle(self, body: bytes, *, host: str, cimmethod: str | None = None, cimobject: str | None = None) -> CIMReply:
        """Process one request. Raises codec.RequestError for HTTP-level refusals (400/501)."""
        req = codec.decode_request(body)
        self._check_headers(req, cimmethod, cimobject)
        try:
            self._check_namespace(req.namespace)
            out = self._imethod(req, host) if req.intrinsic else self._invoke(req)
            return CIMReply(out, req.method, req.namespace, 0)
        except CIMError as exc:
            err = exc
        except Hangup:
            raise
        except Exception as exc:
            log.warning("CIM-XML %s failed unexpectedly", req.method, exc_info=True)
            err = CIMError(CIM_ERR_FAILED, f"internal error: {type(exc).__name__}: {exc}")
        encode = codec.imethod_response if req.intrinsic else codec.method_response
        return CIMReply(encode(req, error=err), req.method, req.namespace, int(err.status_code))

    @staticmethod
    def _check_headers(req: codec.CIMRequest, cimmethod: str | None, cimobject: str | None) -> None:
        """DSP0200 7.3: CIMMethod/CIMObject headers must agree with the body (header-mismatch)."""
        if cimmethod is None or unquote(cimmethod).strip().lower() != req.method.lower():
            raise codec.RequestError(
                400, "header-mismatch", f"CIMMethod header {cimmethod!r} does not match {req.method!r}"
            )
        if (
            req.intrinsic
            and cimobject is not None
            and unquote(cimobject).strip().strip("/").lower() != req.namespace.lower()
        ):
            raise codec.RequestError(
                400, "header-mismatch", f"CIMObject header {cimobject!r} does not match {req.namespace!r}"
            )

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
        op = OPS_LC.get(req.method.lower())
        if op is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"intrinsic method {req.method!r} is not supported")
        required, optional = OPS[op]
        canon = {n.lower(): n for n in (*required, *optional)}
        params: dict[str, Any] = {}
        for name, raw in req.params:
            key = canon.get(name.lower())
            if key is None:
                raise invalid(f"{op} has no parameter {name!r}")
            if raw is not None:  # an IPARAMVALUE without value is NULL, i.e. the default
                params[key] = convert_iparam(key, raw, req.namespace)
        missing = [n for n in required if n not in params]
        if missing:
            raise invalid(f"{op} requires parameter(s) {', '.join(missing)}")
        result, out_params = getattr(self, f"_op_{op}")(req.namespace, host, params)
        return codec.imethod_response(req, returnvalue=result, out_params=out_params)

    @staticmethod
    def _checked(inst: Any) -> CIMInstance:
        if not isinstance(inst, CIMInstance) or inst.path is None:
            raise CIMError(CIM_ERR_FAILED, f"backend returned an instance without path: {inst!r}")
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
        return "".join(codec.named_instance_xml(self._checked(i)) for i in insts), ""

    def _op_EnumerateInstanceNames(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        paths = self._call("EnumerateInstanceNames", p.pop("ClassName"), namespace=ns)
        return "".join(codec.instancename_xml(path) for path in paths), ""

    def _objects_with_path(self, objs: list[Any], ns: str, host: str) -> str:
        """VALUE.OBJECTWITHPATHs; class-level results come as (CIMClassName, CIMClass) tuples."""
        return "".join(
            codec.object_with_path_xml(obj if isinstance(obj, tuple) else self._checked(obj), ns, host) for obj in objs
        )

    def _op_References(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._objects_with_path(self._call("References", p.pop("ObjectName"), **p), ns, host), ""

    def _op_Associators(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._objects_with_path(self._call("Associators", p.pop("ObjectName"), **p), ns, host), ""

    def _op_ReferenceNames(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        paths = self._call("ReferenceNames", p.pop("ObjectName"), **p)
        return "".join(codec.objectpath_xml(x, ns, host) for x in paths), ""

    def _op_AssociatorNames(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        paths = self._call("AssociatorNames", p.pop("ObjectName"), **p)
        return "".join(codec.objectpath_xml(x, ns, host) for x in paths), ""

    def _op_GetQualifier(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return codec.qualifier_decl_xml(self._call("GetQualifier", p["QualifierName"], namespace=ns)), ""

    def _op_EnumerateQualifiers(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return "".join(codec.qualifier_decl_xml(q) for q in self._call("EnumerateQualifiers", namespace=ns)), ""

    # -- pull operations (paged here from the backend's full result)

    def _open(
        self, ns: str, host: str, p: dict[str, Any], backend_op: str, target: str, paths: bool
    ) -> tuple[str, str]:
        timeout, max_count = pop_open_options(p, self.default_enum_timeout)
        subject = p.pop(target)
        if backend_op in ("EnumerateInstances", "EnumerateInstanceNames"):
            result = self._call(backend_op, subject, namespace=ns, **p)
        else:
            result = self._call(backend_op, subject, **p)
        if paths:
            items = [codec.instancepath_xml(x, ns, host) for x in result]
        else:
            items = [codec.instance_with_path_xml(self._checked(i), ns, host) for i in result]
        return self._enums.open(Enumeration(ns, "paths" if paths else "instances", items, timeout, 0.0), max_count)

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
        return self._enums.pull(ns, p["EnumerationContext"], "instances", p["MaxObjectCount"])

    def _op_PullInstancePaths(self, ns: str, host: str, p: dict[str, Any]) -> tuple[str, str]:
        return self._enums.pull(ns, p["EnumerationContext"], "paths", p["MaxObjectCount"])

    def _op_CloseEnumeration(self, ns: str, host: str, p: dict[str, Any]) -> tuple[None, str]:
        self._enums.close(ns, p["EnumerationContext"])
        return None, ""

    # -- extrinsic methods

    def _invoke(self, req: codec.CIMRequest) -> bytes:
        """METHODCALL: type the inputs from the class definition (wbemcli sends no PARAMTYPE)."""
        target = req.target
        assert target is not None  # a METHODCALL always names its object (the request parser checks)
        klass = self._call(
            "GetClass", target.classname, namespace=req.namespace, LocalOnly=False, IncludeQualifiers=True
        )
        method: CIMMethod | None = klass.methods.get(req.method)
        if method is None:
            raise CIMError(CIM_ERR_METHOD_NOT_FOUND, f"class {klass.classname} has no method {req.method}")
        params = []
        for name, _paramtype, raw in req.params:
            pdef = method.parameters.get(name)
            if pdef is None:
                raise invalid(f"method {method.name} has no parameter {name!r}")
            params.append(typed_param(pdef, raw, req.namespace))
        return_value, out = self._call("InvokeMethod", req.method, target, Params=params)
        if return_value is not None and method.return_type:
            return_value = cimvalue(return_value, method.return_type)
        out_xml = "".join(codec.paramvalue_xml(out_param(method, name, value)) for name, value in out_items(out))
        return codec.method_response(req, return_type=method.return_type, return_value=return_value, out_params=out_xml)
