"""CIM-XML server end to end: pywbem, pywbemcli and sblim-wbemcli against a FakedWBEMConnection backend."""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pywbem
import pywbem_mock
from pywbem import CIMClassName, CIMError, CIMInstanceName, CIMParameter, Uint16, Uint32

from harness.mock.cimxml import CIMXMLServer

NS = "root/cimv2"
USER, PASSWORD = "smis", "s3cret-pw"

MOF = """
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, Translatable);
Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride, ToSubclass);
Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride, ToSubclass);
Qualifier Static : boolean = false, Scope(method), Flavor(DisableOverride, ToSubclass);

    [Description("A person")]
class TST_Person {
    [Key] string Name;
    uint16 Age;
};

    [Association]
class TST_Friendship {
    [Key] TST_Person REF Left;
    [Key] TST_Person REF Right;
    string Since;
};

class TST_Service {
    [Key] string Name;
    uint32 Frob([In] uint16 Count, [In] string Label, [In] TST_Person REF Target,
                [In(false), Out] string Result);
        [Static]
    uint16 Ping([In] string Text, [In(false), Out] string Echo, [In(false), Out] TST_Person REF Who);
};

instance of TST_Person as $alice { Name = "Alice"; Age = 30; };
instance of TST_Person as $bob { Name = "Bob"; Age = 40; };
instance of TST_Person as $carol { Name = "Carol"; Age = 50; };
instance of TST_Friendship { Left = $alice; Right = $bob; Since = "2001"; };
instance of TST_Friendship { Left = $alice; Right = $carol; Since = "2002"; };
instance of TST_Service { Name = "svc"; };
"""

ALICE = CIMInstanceName("TST_Person", {"Name": "Alice"}, namespace=NS)
BOB = CIMInstanceName("TST_Person", {"Name": "Bob"}, namespace=NS)
SVC = CIMInstanceName("TST_Service", {"Name": "svc"}, namespace=NS)


class ServiceProvider(pywbem_mock.MethodProvider):
    """Frob: returns 2*Count and "Label->Target.Name"; Ping (static): echoes Text and returns Bob's path."""

    provider_classnames = "TST_Service"

    def __init__(self, cimrepository: Any) -> None:
        super().__init__(cimrepository)
        self.calls: list[tuple[str, Any, dict[str, CIMParameter]]] = []

    def InvokeMethod(self, methodname: str, localobject: Any, params: Any) -> Any:
        self.calls.append((methodname, localobject, dict(params)))
        if methodname.lower() == "frob":
            target = params["Target"].value
            result = f"{params['Label'].value}->{target.keybindings['Name']}"
            return Uint32(params["Count"].value * 2), [CIMParameter("Result", "string", value=result)]
        return Uint16(7), {"Echo": params["Text"].value, "Who": BOB.copy()}


def make_backend() -> tuple[pywbem_mock.FakedWBEMConnection, ServiceProvider]:
    conn = pywbem_mock.FakedWBEMConnection(default_namespace=NS)
    conn.compile_mof_string(MOF, namespace=NS)
    provider = ServiceProvider(conn.cimrepository)
    conn.register_provider(provider, namespaces=NS)
    return conn, provider


@pytest.fixture(scope="module")
def backend() -> tuple[pywbem_mock.FakedWBEMConnection, ServiceProvider]:
    return make_backend()


@pytest.fixture(scope="module")
def http_server(backend: Any) -> Iterator[CIMXMLServer]:
    with CIMXMLServer(backend[0], users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture(scope="module")
def https_server(backend: Any) -> Iterator[CIMXMLServer]:
    with CIMXMLServer(backend[0], users={USER: PASSWORD}, tls=True) as server:
        yield server


@pytest.fixture(params=["http", "https"])
def server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> CIMXMLServer:
    # requests lets these override WBEMConnection(ca_certs=...): keep them out of the way.
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    return request.getfixturevalue(f"{request.param}_server")


def connect(server: CIMXMLServer, creds: tuple[str, str] = (USER, PASSWORD)) -> pywbem.WBEMConnection:
    return pywbem.WBEMConnection(server.url, creds, default_namespace=NS, ca_certs=server.ca_cert_path,
                                 timeout=20)


def names(objs: list[Any]) -> list[str]:
    return sorted((o.path if hasattr(o, "path") else o).keybindings["Name"] for o in objs)


def client_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}


# --------------------------------------------------------------------------- server basics


def test_properties_and_loopback_only(http_server: CIMXMLServer, https_server: CIMXMLServer) -> None:
    assert http_server.url == f"http://127.0.0.1:{http_server.port}" and http_server.port > 0
    assert http_server.ca_cert_path is None
    assert https_server.url == f"https://127.0.0.1:{https_server.port}"
    assert Path(https_server.ca_cert_path).read_text().startswith("-----BEGIN CERTIFICATE-----")
    with pytest.raises(ValueError, match="loopback"):
        CIMXMLServer(object(), host="0.0.0.0")


# --------------------------------------------------------------------------- pywbem client


def test_pywbem_class_operations(server: CIMXMLServer) -> None:
    conn = connect(server)
    assert sorted(conn.EnumerateClassNames()) == ["TST_Friendship", "TST_Person", "TST_Service"]
    assert sorted(c.classname for c in conn.EnumerateClasses()) == ["TST_Friendship", "TST_Person",
                                                                     "TST_Service"]
    person = conn.GetClass("TST_Person", LocalOnly=False, IncludeQualifiers=True)
    assert list(person.properties) == ["Name", "Age"]
    assert person.qualifiers["Description"].value == "A person"
    frob = conn.GetClass("TST_Service").methods["Frob"]
    assert frob.return_type == "uint32"
    assert [(p.name, p.type) for p in frob.parameters.values()] == [
        ("Count", "uint16"), ("Label", "string"), ("Target", "reference"), ("Result", "string")]
    quals = {q.name: q for q in conn.EnumerateQualifiers()}
    assert quals["Description"].scopes["CLASS"] is True  # Scope(any) travelled without SCOPE ANY=...
    assert conn.GetQualifier("Key").scopes["REFERENCE"] is True


def test_pywbem_instance_operations(server: CIMXMLServer) -> None:
    conn = connect(server)
    insts = conn.EnumerateInstances("TST_Person")
    assert names(insts) == ["Alice", "Bob", "Carol"]
    assert {i.path.keybindings["Name"]: i["Age"] for i in insts} == {"Alice": 30, "Bob": 40, "Carol": 50}
    assert all(i.path.namespace == NS for i in insts)
    only_name = conn.EnumerateInstances("TST_Person", PropertyList=["Name"])
    assert [list(i.properties) for i in only_name] == [["Name"]] * 3
    assert names(conn.EnumerateInstanceNames("TST_Person")) == ["Alice", "Bob", "Carol"]
    alice = conn.GetInstance(ALICE)
    assert alice["Age"] == 30 and isinstance(alice["Age"], Uint16)
    with pytest.raises(CIMError) as exc:
        conn.GetInstance(CIMInstanceName("TST_Person", {"Name": "Nobody"}, namespace=NS))
    assert exc.value.status_code == pywbem.CIM_ERR_NOT_FOUND


def test_pywbem_association_operations(server: CIMXMLServer) -> None:
    conn = connect(server)
    refs = conn.References(ALICE)
    assert sorted(r["Since"] for r in refs) == ["2001", "2002"]
    assert all(r.path.classname == "TST_Friendship" and r.path.host == f"127.0.0.1:{server.port}"
               for r in refs)
    assert sorted(r["Right"].keybindings["Name"] for r in refs) == ["Bob", "Carol"]
    ref_names = conn.ReferenceNames(ALICE, ResultClass="TST_Friendship", Role="Left")
    assert sorted(p.keybindings["Right"].keybindings["Name"] for p in ref_names) == ["Bob", "Carol"]
    assert conn.ReferenceNames(ALICE, Role="Right") == []
    assert names(conn.Associators(ALICE, AssocClass="TST_Friendship", ResultRole="Right")) == ["Bob", "Carol"]
    assert names(conn.AssociatorNames(ALICE)) == ["Bob", "Carol"]
    assert names(conn.AssociatorNames(BOB)) == ["Alice"]
    # class-level association operations (CLASSPATH / OBJECTPATH encodings)
    assert [p.classname for p in conn.ReferenceNames(CIMClassName("TST_Person", namespace=NS))] == [
        "TST_Friendship"]
    [(cls_path, cls)] = conn.References(CIMClassName("TST_Person", namespace=NS))
    assert cls_path.classname == cls.classname == "TST_Friendship"


def test_pywbem_pull_operations_page_with_max_object_count(server: CIMXMLServer) -> None:
    conn = connect(server)
    first = conn.OpenEnumerateInstances("TST_Person", MaxObjectCount=1)
    assert len(first.instances) == 1 and first.eos is False and isinstance(first.context[0], str)
    pages, result = [first.instances], first
    while not result.eos:
        result = conn.PullInstancesWithPath(result.context, MaxObjectCount=1)
        pages.append(result.instances)
    assert [len(p) for p in pages] == [1, 1, 1, 0] or [len(p) for p in pages] == [1, 1, 1]
    got = [i for page in pages for i in page]
    assert names(got) == ["Alice", "Bob", "Carol"]
    assert all(i.path.namespace == NS and i.path.host for i in got)
    assert result.context is None

    # everything in one go -> EndOfSequence at once, no context
    whole = conn.OpenEnumerateInstances("TST_Person", MaxObjectCount=10)
    assert whole.eos is True and whole.context is None and names(whole.instances) == ["Alice", "Bob", "Carol"]

    # MaxObjectCount=0 (and its NULL default) returns nothing but a context
    empty = conn.OpenEnumerateInstancePaths("TST_Person")
    assert empty.paths == [] and empty.eos is False
    paths = conn.PullInstancePaths(empty.context, MaxObjectCount=2)
    assert len(paths.paths) == 2 and paths.eos is False
    rest = conn.PullInstancePaths(paths.context, MaxObjectCount=2)
    assert len(rest.paths) == 1 and rest.eos is True
    assert names(paths.paths + rest.paths) == ["Alice", "Bob", "Carol"]

    refs = conn.OpenReferenceInstances(ALICE, MaxObjectCount=1)
    more = conn.PullInstancesWithPath(refs.context, MaxObjectCount=5)
    assert more.eos is True
    assert sorted(r["Since"] for r in refs.instances + more.instances) == ["2001", "2002"]
    assert names(conn.OpenAssociatorInstances(ALICE, MaxObjectCount=5).instances) == ["Bob", "Carol"]
    assert names(list(conn.IterAssociatorInstances(ALICE, MaxObjectCount=1))) == ["Bob", "Carol"]
    assert names(list(conn.IterAssociatorInstancePaths(ALICE, MaxObjectCount=1))) == ["Bob", "Carol"]
    assert len(list(conn.IterReferenceInstancePaths(ALICE, MaxObjectCount=1))) == 2
    assert names(list(conn.IterEnumerateInstances("TST_Person", MaxObjectCount=2))) == ["Alice", "Bob", "Carol"]


def test_pywbem_pull_context_errors(server: CIMXMLServer) -> None:
    conn = connect(server)
    opened = conn.OpenEnumerateInstances("TST_Person", MaxObjectCount=1)
    conn.CloseEnumeration(opened.context)
    with pytest.raises(CIMError) as exc:
        conn.PullInstancesWithPath(opened.context, MaxObjectCount=1)
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_ENUMERATION_CONTEXT
    with pytest.raises(CIMError) as exc:
        conn.CloseEnumeration(opened.context)
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_ENUMERATION_CONTEXT
    # a paths context cannot be pulled as instances
    paths = conn.OpenEnumerateInstancePaths("TST_Person", MaxObjectCount=1)
    with pytest.raises(CIMError) as exc:
        conn.PullInstancesWithPath(paths.context, MaxObjectCount=1)
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_ENUMERATION_CONTEXT
    conn.CloseEnumeration(paths.context)

    with pytest.raises(CIMError) as exc:
        conn.OpenEnumerateInstances("TST_Person", FilterQueryLanguage="DMTF:FQL", FilterQuery="Age > 35")
    assert exc.value.status_code == pywbem.CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED
    with pytest.raises(CIMError) as exc:
        conn.OpenEnumerateInstances("TST_Person", ContinueOnError=True)
    assert exc.value.status_code == pywbem.CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED
    with pytest.raises(CIMError) as exc:
        conn.OpenEnumerateInstances("TST_Person", OperationTimeout=0)
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_OPERATION_TIMEOUT

    # contexts expire after OperationTimeout seconds of inactivity
    short = conn.OpenEnumerateInstances("TST_Person", MaxObjectCount=1, OperationTimeout=1)
    time.sleep(1.3)
    with pytest.raises(CIMError) as exc:
        conn.PullInstancesWithPath(short.context, MaxObjectCount=1)
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_pywbem_invoke_method(server: CIMXMLServer, backend: Any) -> None:
    provider = backend[1]
    conn = connect(server)
    rv, out = conn.InvokeMethod("Frob", SVC, Count=Uint16(21), Label="hi", Target=BOB)
    assert rv == 42 and isinstance(rv, Uint32)
    assert out["Result"] == "hi->Bob"
    name, target, params = provider.calls[-1]
    assert name == "Frob" and target.keybindings["Name"] == "svc"
    assert isinstance(params["Count"].value, Uint16) and params["Count"].value == 21
    assert params["Target"].value == BOB

    rv, out = conn.InvokeMethod("Ping", CIMClassName("TST_Service", namespace=NS), Text="yo")
    assert rv == 7 and isinstance(rv, Uint16)
    assert out["Echo"] == "yo" and out["Who"].keybindings["Name"] == "Bob"

    with pytest.raises(CIMError) as exc:
        conn.InvokeMethod("NoSuchMethod", SVC)
    assert exc.value.status_code == pywbem.CIM_ERR_METHOD_NOT_FOUND
    with pytest.raises(CIMError) as exc:
        conn.InvokeMethod("Frob", SVC, Bogus="x")
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_PARAMETER
    with pytest.raises(CIMError) as exc:
        conn.InvokeMethod("Frob", SVC, Count="not-a-number")
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_PARAMETER


def test_pywbem_wrong_namespace(server: CIMXMLServer) -> None:
    with pytest.raises(CIMError) as exc:
        connect(server).EnumerateInstances("TST_Person", namespace="root/nowhere")
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_NAMESPACE


def test_pywbem_bad_credentials(server: CIMXMLServer) -> None:
    with pytest.raises(pywbem.AuthError):
        connect(server, (USER, "wrong")).EnumerateInstanceNames("TST_Person")
    assert len(connect(server).EnumerateInstanceNames("TST_Person")) == 3


def test_tls_handshake_failure_does_not_hurt_the_server(https_server: CIMXMLServer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_connection(("127.0.0.1", https_server.port), timeout=5) as sock:
        sock.sendall(b"POST /cimom HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")  # plain HTTP
        sock.recv(100)
    untrusted = ssl.create_default_context()  # does not trust the self-signed cert
    with pytest.raises(ssl.SSLCertVerificationError), \
            socket.create_connection(("127.0.0.1", https_server.port), timeout=5) as sock, \
            untrusted.wrap_socket(sock, server_hostname="127.0.0.1"):
        pass
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert len(connect(https_server).EnumerateInstanceNames("TST_Person")) == 3


# --------------------------------------------------------------------------- raw HTTP error handling


def raw_post(server: CIMXMLServer, body: bytes, *, method: str = "EnumerateInstanceNames",
             auth: tuple[str, str] | None = (USER, PASSWORD), extra: dict[str, str] | None = None,
             verb: str = "POST", path: str = "/cimom") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    headers = {"Content-Type": 'application/xml; charset="utf-8"', "CIMOperation": "MethodCall",
               "CIMMethod": method, "CIMObject": "root%2Fcimv2"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    headers.update(extra or {})
    try:
        conn.request(verb, path, body=body if verb != "GET" else None, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def imethodcall(method: str, params: str = "", namespace: str = NS, msg_id: str = "77") -> bytes:
    nss = "".join(f'<NAMESPACE NAME="{n}"/>' for n in namespace.split("/"))
    return (f'<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
            f'<MESSAGE ID="{msg_id}" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="{method}">'
            f"<LOCALNAMESPACEPATH>{nss}</LOCALNAMESPACEPATH>{params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
            ).encode()


ENUM_NAMES = imethodcall("EnumerateInstanceNames", '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="TST_Person"/>'
                                                   "</IPARAMVALUE>")


def assert_still_serving(server: CIMXMLServer) -> None:
    status, headers, body = raw_post(server, ENUM_NAMES)
    assert status == 200, body
    assert headers["cimoperation"] == "MethodResponse"
    assert headers["content-type"].startswith("application/xml")
    assert body.count(b"<INSTANCENAME ") == 3
    assert b'<MESSAGE ID="77" PROTOCOLVERSION="1.0">' in body


def test_raw_success_reply_shape(http_server: CIMXMLServer) -> None:
    status, headers, body = raw_post(http_server, ENUM_NAMES)
    assert status == 200
    assert headers["content-type"] == 'application/xml; charset="utf-8"'
    assert b'<IMETHODRESPONSE NAME="EnumerateInstanceNames"><IRETURNVALUE><INSTANCENAME ' in body
    assert b"/>" not in body  # no empty-element tags (sblim-wbemcli cannot parse them)


@pytest.mark.parametrize(
    ("auth", "label"), [((USER, "nope"), "wrong password"), (("mallory", PASSWORD), "unknown user"),
                        (None, "no credentials")])
def test_raw_bad_credentials_401(http_server: CIMXMLServer, auth: Any, label: str) -> None:
    status, headers, _ = raw_post(http_server, ENUM_NAMES, auth=auth)
    assert status == 401, label
    assert headers["www-authenticate"].startswith("Basic realm=")
    assert_still_serving(http_server)


@pytest.mark.parametrize("body", [b"<CIM><MESSAGE", b"this is not xml", b""])
def test_raw_malformed_xml_400(http_server: CIMXMLServer, body: bytes) -> None:
    status, headers, _ = raw_post(http_server, body)
    assert status == 400
    assert headers["cimerror"] == "request-not-well-formed"
    assert_still_serving(http_server)


def test_raw_invalid_cimxml_400(http_server: CIMXMLServer) -> None:
    status, headers, _ = raw_post(http_server, b'<CIM CIMVERSION="2.0" DTDVERSION="2.0"><FOO/></CIM>')
    assert (status, headers["cimerror"]) == (400, "request-not-valid")
    status, headers, _ = raw_post(http_server, ENUM_NAMES.replace(b'CIMVERSION="2.0"', b'CIMVERSION="3.0"'))
    assert (status, headers["cimerror"]) == (501, "unsupported-cim-version")
    status, headers, _ = raw_post(http_server, ENUM_NAMES, method="GetClass")
    assert (status, headers["cimerror"]) == (400, "header-mismatch")
    status, headers, _ = raw_post(http_server, ENUM_NAMES, extra={"CIMOperation": "Nonsense"})
    assert (status, headers["cimerror"]) == (400, "unsupported-operation")
    assert_still_serving(http_server)


def test_raw_multireq_is_refused(http_server: CIMXMLServer) -> None:
    body = (b'<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
            b'<MESSAGE ID="1" PROTOCOLVERSION="1.0"><MULTIREQ><SIMPLEREQ/><SIMPLEREQ/></MULTIREQ>'
            b"</MESSAGE></CIM>")
    status, headers, _ = raw_post(http_server, body)
    assert (status, headers["cimerror"]) == (501, "multiple-requests-unsupported")
    assert_still_serving(http_server)


def test_raw_oversized_body_413(backend: Any) -> None:
    with CIMXMLServer(backend[0], users={USER: PASSWORD}, max_body=2048) as small:
        status, _, _ = raw_post(small, ENUM_NAMES + b" " * 4096)
        assert status == 413
        assert_still_serving(small)
    # the default limit is 4 MiB
    with CIMXMLServer(backend[0], users={USER: PASSWORD}) as default:
        status, _, _ = raw_post(default, b" " * (4 * 1024 * 1024 + 1))
        assert status == 413
        assert_still_serving(default)


def test_raw_unknown_operation_not_supported(http_server: CIMXMLServer) -> None:
    status, _, body = raw_post(http_server, imethodcall("FrobnicateEverything"), method="FrobnicateEverything")
    assert status == 200
    assert re.search(rb'<IMETHODRESPONSE NAME="FrobnicateEverything"><ERROR CODE="7" ', body)
    # a known operation with an unknown parameter is CIM_ERR_INVALID_PARAMETER
    status, _, body = raw_post(http_server, imethodcall("EnumerateClassNames",
                                                        '<IPARAMVALUE NAME="Bogus"><VALUE>1</VALUE></IPARAMVALUE>'),
                               method="EnumerateClassNames")
    assert status == 200 and b'<ERROR CODE="4" ' in body
    assert_still_serving(http_server)


def test_raw_wrong_namespace(http_server: CIMXMLServer) -> None:
    body = ENUM_NAMES.replace(b'<NAMESPACE NAME="cimv2"/>', b'<NAMESPACE NAME="nowhere"/>')
    status, _, reply = raw_post(http_server, body, extra={"CIMObject": "root%2Fnowhere"})
    assert status == 200 and b'<ERROR CODE="3" ' in reply  # CIM_ERR_INVALID_NAMESPACE
    assert_still_serving(http_server)


@pytest.mark.parametrize("verb", ["GET", "PUT", "DELETE"])
def test_raw_other_http_methods_405(http_server: CIMXMLServer, verb: str) -> None:
    status, headers, _ = raw_post(http_server, b"", verb=verb)
    assert status == 405 and headers["allow"] == "POST"
    assert_still_serving(http_server)


def test_raw_wrong_path_404(http_server: CIMXMLServer) -> None:
    status, _, _ = raw_post(http_server, ENUM_NAMES, path="/elsewhere")
    assert status == 404
    assert_still_serving(http_server)


class PassThroughBackend:
    """Only the operation methods (no `namespaces`): the backend's own errors must come through."""

    def __init__(self, inner: Any, explode_on: str | None = None) -> None:
        self.inner, self.explode_on = inner, explode_on

    def __getattr__(self, name: str) -> Any:
        if name == "namespaces":
            raise AttributeError(name)
        if name == self.explode_on:
            def explode(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("backend exploded")
            return explode
        return getattr(self.inner, name)


def test_backend_errors_pass_through(backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with CIMXMLServer(PassThroughBackend(backend[0], explode_on="EnumerateInstances"),
                      users={USER: PASSWORD}) as srv:
        conn = connect(srv)
        with pytest.raises(CIMError) as exc:  # raised by FakedWBEMConnection itself
            conn.EnumerateInstanceNames("TST_Person", namespace="root/nowhere")
        assert exc.value.status_code == pywbem.CIM_ERR_INVALID_NAMESPACE
        with pytest.raises(CIMError) as exc:
            conn.EnumerateInstances("TST_Person")
        assert exc.value.status_code == pywbem.CIM_ERR_FAILED
        assert "backend exploded" in exc.value.status_description
        assert len(conn.EnumerateInstanceNames("TST_Person")) == 3


def test_backend_lock_is_held_around_backend_calls(backend: Any) -> None:
    lock = threading.Lock()
    seen: list[bool] = []

    class Checking(PassThroughBackend):
        def __getattr__(self, name: str) -> Any:
            attr = super().__getattr__(name)
            if not callable(attr):
                return attr

            def call(*args: Any, **kwargs: Any) -> Any:
                seen.append(lock.locked())
                return attr(*args, **kwargs)
            return call

    with CIMXMLServer(Checking(backend[0]), users={USER: PASSWORD}, backend_lock=lock) as srv:
        conn = connect(srv)
        results: list[int] = []

        def worker() -> None:
            results.append(len(conn.EnumerateInstances("TST_Person")))

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert connect(srv).InvokeMethod("Frob", SVC, Count=Uint16(1), Label="a", Target=BOB)[0] == 2
    assert results == [3] * 6
    assert len(seen) >= 8 and all(seen)


# --------------------------------------------------------------------------- availability


def test_unavailable_server_drops_connections(backend: Any) -> None:
    up = {"value": True}
    with CIMXMLServer(backend[0], users={USER: PASSWORD}, available=lambda: up["value"]) as srv:
        conn = connect(srv)
        assert len(conn.EnumerateInstanceNames("TST_Person")) == 3  # keeps a pooled connection
        up["value"] = False
        with pytest.raises(pywbem.ConnectionError):
            conn.EnumerateInstanceNames("TST_Person")
        with pytest.raises(pywbem.ConnectionError):
            connect(srv).EnumerateInstanceNames("TST_Person")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"POST /cimom HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            answer = b""
            with contextlib.suppress(ConnectionResetError):
                answer = sock.recv(100)
            assert answer == b""  # closed without an answer
        up["value"] = True
        assert len(conn.EnumerateInstanceNames("TST_Person")) == 3


# --------------------------------------------------------------------------- logging


def test_requests_are_logged_without_secrets(http_server: CIMXMLServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="harness.mock.cimxml")
    connect(http_server).EnumerateInstanceNames("TST_Person")
    raw_post(http_server, ENUM_NAMES, auth=(USER, "wrong-pw-xyz"))
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "harness.mock.cimxml")
    assert "EnumerateInstanceNames ns=root/cimv2 -> CIM status 0" in text
    assert "401" in text
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, "wrong-pw-xyz", token, "Authorization"):
        assert secret not in text


# --------------------------------------------------------------------------- pywbemcli


def pywbemcli(server: CIMXMLServer, *args: str) -> str:
    cmd = ["pywbemcli", "-s", server.url, "-u", USER, "-p", PASSWORD, "-C", os.devnull]
    cmd += ["--ca-certs", server.ca_cert_path] if server.ca_cert_path else ["--no-verify"]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, env=client_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


@pytest.mark.skipif(shutil.which("pywbemcli") is None, reason="pywbemcli is not installed")
def test_pywbemcli(server: CIMXMLServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="harness.mock.cimxml")
    assert pywbemcli(server, "class", "enumerate", "--names-only").split() == [
        "TST_Friendship", "TST_Person", "TST_Service"]
    out = pywbemcli(server, "instance", "enumerate", "TST_Person")
    assert out.count("instance of TST_Person") == 3
    assert re.findall(r'Name = "(\w+)";', out) == ["Alice", "Bob", "Carol"]
    out = pywbemcli(server, "instance", "references", 'TST_Person.Name="Alice"')
    assert out.count("instance of TST_Friendship") == 2
    assert re.findall(r'Since = "(\d+)";', out) == ["2001", "2002"]
    out = pywbemcli(server, "--pull-max-cnt", "1", "-o", "table", "instance", "enumerate", "TST_Person")
    assert re.findall(r'"(\w+)"\s+\|\s+(\d+)', out) == [("Alice", "30"), ("Bob", "40"), ("Carol", "50")]
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert "OpenEnumerateInstances" in log_text and "PullInstancesWithPath" in log_text  # pull ops used


# --------------------------------------------------------------------------- sblim-wbemcli

needs_wbemcli = pytest.mark.skipif(shutil.which("wbemcli") is None,
                                   reason="sblim-wbemcli (`wbemcli`) is not on PATH")


def wbemcli(server: CIMXMLServer, op: str, obj: str, *args: str, opts: tuple[str, ...] = ()) -> list[str]:
    scheme = "https" if server.ca_cert_path else "http"
    tls = ("-noverify",) if scheme == "https" else ()
    url = f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:{server.port}/{NS}" + (f":{obj}" if obj else "")
    proc = subprocess.run(["wbemcli", op, *tls, *opts, url, *args], capture_output=True, text=True,
                          env=client_env(), timeout=60)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr + proc.stdout
    return sorted(proc.stdout.splitlines())


@needs_wbemcli
def test_wbemcli_reads_instances(server: CIMXMLServer) -> None:
    host = f"127.0.0.1:{server.port}"
    assert wbemcli(server, "ei", "TST_Person") == [
        f'{host}/{NS}:TST_Person.Name="{n}" Name="{n}",Age={a}' for n, a in (("Alice", 30), ("Bob", 40),
                                                                              ("Carol", 50))]
    assert wbemcli(server, "ein", "TST_Person") == [f'{host}/{NS}:TST_Person.Name="{n}"'
                                                    for n in ("Alice", "Bob", "Carol")]
    assert wbemcli(server, "gi", 'TST_Person.Name="Bob"', opts=("-nl",)) == [
        "", "-Age=40", '-Name="Bob"', f'{host}/{NS}:TST_Person.Name="Bob"']
    # class definitions carry value-less <PROPERTY .../> elements, which wbemcli only reads as open/close pairs
    assert wbemcli(server, "gc", "TST_Person") == [f"{host}/{NS}:TST_Person Name=,Age="]
    assert wbemcli(server, "ecn", "") == [f"{host}/{NS}:{c}" for c in ("TST_Friendship", "TST_Person",
                                                                       "TST_Service")]


@needs_wbemcli
def test_wbemcli_reads_associations(server: CIMXMLServer) -> None:
    host = f"127.0.0.1:{server.port}"
    assert wbemcli(server, "ain", 'TST_Person.Name="Alice"', opts=("-ac", "TST_Friendship")) == [
        f'{host}/{NS}:TST_Person.Name="Bob"', f'{host}/{NS}:TST_Person.Name="Carol"']
    assert wbemcli(server, "ai", 'TST_Person.Name="Bob"') == [f'{host}/{NS}:TST_Person.Name="Alice" '
                                                             'Name="Alice",Age=30']
    refs = wbemcli(server, "ri", 'TST_Person.Name="Alice"')
    assert len(refs) == 2 and all(r.startswith(f"{host}/{NS}:TST_Friendship.") for r in refs)
    assert [re.search(r'Since="(\d+)"', r).group(1) for r in refs] == ["2001", "2002"]
    ref_names = wbemcli(server, "rin", 'TST_Person.Name="Carol"')
    assert len(ref_names) == 1 and 'Right=root/cimv2:TST_Person.Name="Carol"' in ref_names[0]


@needs_wbemcli
def test_wbemcli_calls_methods(server: CIMXMLServer, backend: Any) -> None:
    # wbemcli sends no PARAMTYPE and turns "root/cimv2:..." into HOST=root + namespace cimv2
    out = wbemcli(server, "cm", 'TST_Service.Name="svc"',
                  'Frob.Count=5,Label="x y",Target=root/cimv2:TST_Person.Name="Carol"')
    assert out == [f'127.0.0.1:{server.port}/{NS}:TST_Service.Name="svc" Frob: 10, Result (string): x y->Carol']
    _, _, params = backend[1].calls[-1]
    assert isinstance(params["Count"].value, Uint16)
    assert params["Target"].value == CIMInstanceName("TST_Person", {"Name": "Carol"}, namespace=NS)
    out = wbemcli(server, "cm", "TST_Service", 'Ping.Text="hello"')
    assert "Ping: 7" in out[0] and "Echo (string): hello" in out[0]


@needs_wbemcli
def test_wbemcli_verifies_generated_ca(https_server: CIMXMLServer) -> None:
    url = f"https://{USER}:{PASSWORD}@127.0.0.1:{https_server.port}/{NS}:TST_Person"
    proc = subprocess.run(["wbemcli", "ein", "-cacert", https_server.ca_cert_path, url], capture_output=True,
                          text=True, env=client_env(), timeout=60)
    assert proc.returncode == 0 and proc.stdout.count("TST_Person.Name=") == 3, proc.stderr
    bad = subprocess.run(["wbemcli", "ein", url], capture_output=True, text=True, env=client_env(), timeout=60)
    assert "TST_Person.Name=" not in bad.stdout  # the system CA bundle does not trust our cert
