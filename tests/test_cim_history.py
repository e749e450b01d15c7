"""The simulated provider's answers do not depend on what other clients asked before.

The same raw CIM-XML requests are sent before and after other clients ran pywbem's profile tools
(AssociatorNames and References on CIM_RegisteredProfile, central instances), connected as
`localhost` instead of `127.0.0.1`, and asked with IncludeClassOrigin, PropertyList and
DeepInheritance; the reply bytes must be identical.
"""

from __future__ import annotations

import base64
import http.client
from collections.abc import Iterator

import pytest
import pywbem
from pywbem import CIMInstanceName, WBEMServer

from harness.mock import cim_paths as P
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.cimxml import CIMXMLServer
from harness.mock.world import World

USER, PASSWORD = "smisuser", "pw"
NS, INTEROP = "root/tpd", "interop"


@pytest.fixture
def server(world: World) -> Iterator[CIMXMLServer]:
    backend = ArrayCIMBackend(world, "primary")
    with CIMXMLServer(backend, users={USER: PASSWORD}, backend_lock=world.lock) as srv:
        yield srv


# --------------------------------------------------------------------------- raw requests


def _nsxml(namespace: str) -> str:
    return "".join(f'<NAMESPACE NAME="{n}"></NAMESPACE>' for n in namespace.split("/"))


def _imethod(method: str, namespace: str, params: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="{method}">'
        f"<LOCALNAMESPACEPATH>{_nsxml(namespace)}</LOCALNAMESPACEPATH>{params}"
        "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def _classname(name: str) -> str:
    return f'<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="{name}"></CLASSNAME></IPARAMVALUE>'


def _object(name: str, path: CIMInstanceName) -> str:
    return f'<IPARAMVALUE NAME="{name}">{path.tocimxmlstr(ignore_host=True, ignore_namespace=True)}</IPARAMVALUE>'


def _method(method: str, path: CIMInstanceName, params: str) -> bytes:
    inst = path.tocimxmlstr(ignore_host=True, ignore_namespace=True)
    return (
        '<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="1002" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="{method}">'
        f"<LOCALINSTANCEPATH><LOCALNAMESPACEPATH>{_nsxml(path.namespace)}</LOCALNAMESPACEPATH>{inst}"
        f"</LOCALINSTANCEPATH>{params}</METHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def _post(server: CIMXMLServer, body: bytes, method: str, namespace: str, host: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    headers = {
        "Host": host,
        "Content-Type": 'application/xml; charset="utf-8"',
        "CIMOperation": "MethodCall",
        "CIMMethod": method,
        "CIMObject": namespace.replace("/", "%2F"),
        "Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    }
    try:
        conn.request("POST", "/cimom", body=body, headers=headers)
        resp = conn.getresponse()
        assert resp.status == 200
        return resp.read()
    finally:
        conn.close()


def _requests(world: World) -> list[tuple[str, str, bytes]]:
    """(method, namespace, body): instances, names, associations and a method, in both namespaces."""
    arr = world.arrays["primary"]
    system = P.system_path(arr, NS)
    volume = P.volume_path(arr, next(iter(arr.volumes.values())), NS)
    group = P.group_path(next(name for name, _ in world.groups_on("primary")), NS)
    caps = P.capabilities_path(arr, NS)
    reqs: list[tuple[str, str, bytes]] = []
    for ns, classes in (
        (NS, ["TPD_RemoteStorageSynchronized", "TPD_StorageSystem", "CIM_ManagedElement", "CIM_Dependency"]),
        (INTEROP, ["CIM_RegisteredProfile", "CIM_ObjectManager", "CIM_ElementConformsToProfile", "CIM_Namespace"]),
    ):
        for cls in classes:
            reqs.append(("EnumerateInstances", ns, _imethod("EnumerateInstances", ns, _classname(cls))))
            reqs.append(("EnumerateInstanceNames", ns, _imethod("EnumerateInstanceNames", ns, _classname(cls))))
    for path in (system, volume, group):
        for op in ("References", "ReferenceNames", "Associators", "AssociatorNames"):
            reqs.append((op, NS, _imethod(op, NS, _object("ObjectName", path))))
        reqs.append(("GetInstance", NS, _imethod("GetInstance", NS, _object("InstanceName", path))))
    for op in ("Associators", "AssociatorNames", "References", "ReferenceNames"):
        reqs.append(
            (
                op,
                INTEROP,
                _imethod(
                    op,
                    INTEROP,
                    _classname("CIM_RegisteredProfile").replace(
                        'IPARAMVALUE NAME="ClassName"', 'IPARAMVALUE NAME="ObjectName"'
                    ),
                ),
            )
        )
    reqs.append(("GetClass", NS, _imethod("GetClass", NS, _classname("TPD_RemoteStorageSynchronized"))))
    rtype = '<PARAMVALUE NAME="ReplicationType" PARAMTYPE="uint16"><VALUE>4</VALUE></PARAMVALUE>'
    reqs.append(("GetSupportedCopyStates", NS, _method("GetSupportedCopyStates", caps, rtype)))
    return reqs


def _answers(server: CIMXMLServer, world: World, host: str) -> list[bytes]:
    return [_post(server, body, method, ns, host) for method, ns, body in _requests(world)]


# --------------------------------------------------------------------------- other clients


def _profile_tools(url: str) -> None:
    """What pywbem's WBEMServer and its profile tools ask, connected through `url`."""
    conn = pywbem.WBEMConnection(url, (USER, PASSWORD), default_namespace=NS, timeout=20)
    server = WBEMServer(conn)
    assert server.brand
    for profile in server.profiles:
        conn.AssociatorNames(profile.path)
        conn.ReferenceNames(profile.path)
        conn.Associators(profile.path, AssocClass="CIM_ElementConformsToProfile")
        server.get_central_instances(profile.path, reference_direction="snia")
    for path in conn.EnumerateInstanceNames("CIM_ManagedElement", namespace=INTEROP):
        conn.AssociatorNames(path)
        conn.References(path)
    conn.close()


def _class_origin_and_filters(url: str) -> None:
    """Requests that ask for more (CLASSORIGIN) or less (PropertyList, DeepInheritance=False)."""
    conn = pywbem.WBEMConnection(url, (USER, PASSWORD), default_namespace=NS, timeout=20)
    for ns in (NS, INTEROP):
        for inst in conn.EnumerateInstances("CIM_ManagedElement", namespace=ns, IncludeClassOrigin=True):
            conn.GetInstance(inst.path, IncludeClassOrigin=True)
            conn.GetInstance(inst.path, PropertyList=["ElementName"])
            conn.Associators(inst.path, IncludeClassOrigin=True)
            conn.References(inst.path, IncludeClassOrigin=True, PropertyList=["SystemElement"])
        conn.EnumerateInstances("CIM_ManagedElement", namespace=ns, DeepInheritance=False)
        conn.EnumerateInstances("CIM_Dependency", namespace=ns, IncludeClassOrigin=True)
        list(conn.IterEnumerateInstances("CIM_ManagedElement", namespace=ns, IncludeClassOrigin=True,
                                         MaxObjectCount=3))  # fmt: skip
    conn.GetClass("TPD_RemoteStorageSynchronized", IncludeClassOrigin=True, LocalOnly=False)
    conn.close()


# --------------------------------------------------------------------------- the test


def test_answers_do_not_depend_on_other_clients(server: CIMXMLServer, world: World) -> None:
    by_ip, by_name = f"127.0.0.1:{server.port}", f"localhost:{server.port}"
    before = {host: _answers(server, world, host) for host in (by_ip, by_name)}
    assert before[by_ip] != before[by_name]  # the host part of paths follows the request's Host header
    assert all(b"<IRETURNVALUE>" in a or b"<RETURNVALUE" in a for a in before[by_ip])
    assert not any(b"CLASSORIGIN" in a for a in before[by_ip] if b"<CLASS " not in a)

    for url in (f"http://{by_name}", f"http://{by_ip}"):
        _profile_tools(url)
        _class_origin_and_filters(url)

    for host, expected in before.items():
        after = _answers(server, world, host)
        for (method, ns, _), old, new in zip(_requests(world), expected, after, strict=True):
            assert new == old, f"{method} in {ns} (Host {host}) answers differently after other clients' requests"


class FixedBackend:
    """Answers every request with the same objects, as a careless backend might: local paths, no host."""

    namespaces = [NS]

    def __init__(self) -> None:
        self.path = CIMInstanceName("TPD_StorageSystem", {"CreationClassName": "TPD_StorageSystem", "Name": "1"})
        self.inst = pywbem.CIMInstance("TPD_StorageSystem", properties={"Name": "1"}, path=self.path)

    def References(self, ObjectName: object, **kwargs: object) -> list[pywbem.CIMInstance]:
        return [self.inst]

    def AssociatorNames(self, ObjectName: object, **kwargs: object) -> list[CIMInstanceName]:
        return [self.path]


def test_the_server_never_changes_what_the_backend_returns() -> None:
    from harness.mock.cimxml_dispatch import CIMXMLDispatcher

    backend = FixedBackend()
    dispatcher = CIMXMLDispatcher(backend)
    target = _object("ObjectName", backend.path)
    requests = [(op, _imethod(op, NS, target)) for op in ("References", "AssociatorNames")]
    open_params = target.replace('"ObjectName"', '"InstanceName"')
    open_params += '<IPARAMVALUE NAME="MaxObjectCount"><VALUE>10</VALUE></IPARAMVALUE>'
    requests.append(("OpenReferenceInstances", _imethod("OpenReferenceInstances", NS, open_params)))

    def answers(host: str) -> list[bytes]:
        replies = [dispatcher.handle(body, host=host, cimmethod=op, cimobject=NS).body for op, body in requests]
        return [r.split(b'<PARAMVALUE NAME="EnumerationContext"')[0] for r in replies]

    first = answers("a.example:5989")
    assert all(b"<HOST>a.example:5989</HOST>" in reply for reply in first)
    assert all(b"b.example" in reply for reply in answers("b.example:5989"))
    assert answers("a.example:5989") == first
    assert backend.path.host is None and backend.path.namespace is None and backend.inst.path.host is None
