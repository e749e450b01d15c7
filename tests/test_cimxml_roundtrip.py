"""Real pywbem client requests through pywbem's *private* request parser and back (no sockets).

The mock CIMOM decodes requests with ``pywbem._tupletree``/``pywbem._tupleparse``, which are not public
API. These tests pin the exact shapes that parser produces for requests built by pywbem's own client
(and by sblim-wbemcli), so a pywbem upgrade that changes them fails here first.
"""

from __future__ import annotations

from typing import Any

import pytest
import pywbem
import pywbem_mock
from pywbem import CIMClassName, CIMInstanceName, CIMParameter, CIMXMLParseError, Uint16, Uint32
from pywbem._tupleparse import TupleParser
from pywbem._tupletree import xml_to_tupletree_sax

from harness.mock import cimxml_codec as codec
from harness.mock.cimxml import CIMXMLDispatcher

NS = "root/cimv2"
MOF = """
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, Translatable);
Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride, ToSubclass);
Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride, ToSubclass);

class RT_Node { [Key] string Id; uint16 Weight; };
[Association] class RT_Link { [Key] RT_Node REF Src; [Key] RT_Node REF Dst; };
class RT_Tool {
    [Key] string Id;
    uint32 Run([In] uint16 Count, [In] string Label, [In] RT_Node REF Target, [In(false), Out] string Said);
};
instance of RT_Node as $a { Id = "a"; Weight = 1; };
instance of RT_Node as $b { Id = "b"; Weight = 2; };
instance of RT_Node as $c { Id = "c"; Weight = 3; };
instance of RT_Link { Src = $a; Dst = $b; };
instance of RT_Link { Src = $a; Dst = $c; };
instance of RT_Tool { Id = "t"; };
"""
A = CIMInstanceName("RT_Node", {"Id": "a"}, namespace=NS)
B = CIMInstanceName("RT_Node", {"Id": "b"}, namespace=NS)
TOOL = CIMInstanceName("RT_Tool", {"Id": "t"}, namespace=NS)


class ToolProvider(pywbem_mock.MethodProvider):
    provider_classnames = "RT_Tool"

    def InvokeMethod(self, methodname: str, localobject: Any, params: Any) -> Any:
        said = f"{params['Label'].value}:{params['Target'].value.keybindings['Id']}"
        return Uint32(params["Count"].value + 1), [CIMParameter("Said", "string", value=said)]


@pytest.fixture(scope="module")
def dispatcher() -> CIMXMLDispatcher:
    backend = pywbem_mock.FakedWBEMConnection(default_namespace=NS)
    backend.compile_mof_string(MOF, namespace=NS)
    backend.register_provider(ToolProvider(backend.cimrepository), namespaces=NS)
    return CIMXMLDispatcher(backend)


class Wire:
    """Stands in for pywbem's HTTP layer: records each decoded request and the reply bytes."""

    def __init__(self, dispatcher: CIMXMLDispatcher) -> None:
        self.dispatcher = dispatcher
        self.requests: list[codec.CIMRequest] = []
        self.replies: list[bytes] = []

    def __call__(self, conn: Any, req_data: Any, cimxml_headers: Any) -> tuple[bytes, None]:
        body = req_data.encode("utf-8") if isinstance(req_data, str) else req_data
        headers = dict(cimxml_headers)
        self.requests.append(codec.decode_request(body))
        reply = self.dispatcher.handle(body, host="rt.example:5989", cimmethod=headers["CIMMethod"],
                                       cimobject=headers["CIMObject"])
        self.replies.append(reply.body)
        return reply.body, None

    @property
    def last_params(self) -> dict[str, Any]:
        return dict(self.requests[-1].params)


@pytest.fixture
def wire(dispatcher: CIMXMLDispatcher, monkeypatch: pytest.MonkeyPatch) -> Wire:
    wire = Wire(dispatcher)
    monkeypatch.setattr("pywbem._cim_operations.wbem_request", wire)
    return wire


@pytest.fixture
def conn(wire: Wire) -> pywbem.WBEMConnection:
    return pywbem.WBEMConnection("http://roundtrip.invalid:5988", ("u", "p"), default_namespace=NS)


def ids(objs: list[Any]) -> list[str]:
    return sorted((o.path if hasattr(o, "path") else o).keybindings["Id"] for o in objs)


def test_enumerate_instances_params_and_booleans(conn: pywbem.WBEMConnection, wire: Wire) -> None:
    insts = conn.EnumerateInstances("RT_Node", DeepInheritance=True, LocalOnly=False, IncludeQualifiers=False,
                                    IncludeClassOrigin=True, PropertyList=["Id"])
    req = wire.requests[-1]
    assert (req.intrinsic, req.method, req.namespace, req.msg_id, req.protocol_version) == (
        True, "EnumerateInstances", NS, "1001", "1.0")
    params = wire.last_params
    assert params["ClassName"] == CIMClassName("RT_Node")
    # only these four boolean IPARAMVALUEs are converted to bool by the private parser
    for name, value in (("DeepInheritance", True), ("LocalOnly", False), ("IncludeQualifiers", False),
                        ("IncludeClassOrigin", True)):
        assert params[name] is value, name
    assert params["PropertyList"] == ["Id"]
    assert ids(insts) == ["a", "b", "c"] and [list(i.properties) for i in insts] == [["Id"]] * 3
    assert all(i.path.namespace == NS for i in insts)


def test_pull_params_stay_strings(conn: pywbem.WBEMConnection, wire: Wire) -> None:
    opened = conn.OpenEnumerateInstances("RT_Node", MaxObjectCount=1, OperationTimeout=30, ContinueOnError=False)
    params = wire.last_params
    assert params["MaxObjectCount"] == "1"
    assert params["OperationTimeout"] == "30"
    assert params["ContinueOnError"] == "FALSE"
    assert len(opened.instances) == 1 and not opened.eos
    pulled = conn.PullInstancesWithPath(opened.context, MaxObjectCount=5)
    params = wire.last_params
    assert params == {"EnumerationContext": opened.context[0], "MaxObjectCount": "5"}
    assert pulled.eos and ids(opened.instances + pulled.instances) == ["a", "b", "c"]
    assert all(i.path.host == "rt.example:5989" for i in pulled.instances)
    paths = conn.OpenEnumerateInstancePaths("RT_Node", MaxObjectCount=1)
    conn.CloseEnumeration(paths.context)
    assert wire.requests[-1].method == "CloseEnumeration"
    assert wire.last_params == {"EnumerationContext": paths.context[0]}
    assert b"<IRETURNVALUE" not in wire.replies[-1]  # CloseEnumeration is void


def test_instance_and_object_names(conn: pywbem.WBEMConnection, wire: Wire) -> None:
    assert conn.GetInstance(A)["Weight"] == 1
    inst_name = wire.last_params["InstanceName"]
    assert isinstance(inst_name, CIMInstanceName) and inst_name.namespace is None
    assert dict(inst_name.keybindings) == {"Id": "a"}

    refs = conn.References(A, ResultClass="RT_Link", Role="Src")
    params = wire.last_params
    assert isinstance(params["ObjectName"], CIMInstanceName)
    assert params["ResultClass"] == CIMClassName("RT_Link") and params["Role"] == "Src"
    assert sorted(r["Dst"].keybindings["Id"] for r in refs) == ["b", "c"]

    assert ids(conn.AssociatorNames(A, AssocClass="RT_Link", ResultRole="Dst")) == ["b", "c"]
    assert wire.last_params["AssocClass"] == CIMClassName("RT_Link")
    assert ids(conn.Associators(B)) == ["a"]
    assert [p.classname for p in conn.ReferenceNames(CIMClassName("RT_Node", namespace=NS))] == ["RT_Link"]
    assert isinstance(wire.last_params["ObjectName"], CIMClassName)


def test_methodcall_from_pywbem_has_paramtypes(conn: pywbem.WBEMConnection, wire: Wire) -> None:
    rv, out = conn.InvokeMethod("Run", TOOL, Count=Uint16(4), Label="go", Target=B)
    req = wire.requests[-1]
    assert not req.intrinsic and req.method == "Run" and req.namespace == NS
    assert req.target == TOOL
    assert req.params[:2] == [("Count", "uint16", "4"), ("Label", "string", "go")]
    name, ptype, target = req.params[2]
    assert (name, ptype) == ("Target", "reference") and target == B
    assert rv == 5 and isinstance(rv, Uint32) and out["Said"] == "go:b"


WBEMCLI_METHODCALL = b"""<?xml version="1.0" encoding="utf-8" ?>
<CIM CIMVERSION="2.0" DTDVERSION="2.0">
<MESSAGE ID="4711" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="Run"><LOCALINSTANCEPATH><LOCALNAMESPACEPATH>\
<NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH><INSTANCENAME CLASSNAME="RT_Tool"><KEYBINDING \
NAME="Id"><KEYVALUE VALUETYPE="string">t</KEYVALUE></KEYBINDING></INSTANCENAME></LOCALINSTANCEPATH><PARAMVALUE \
NAME="Count"><VALUE>3</VALUE></PARAMVALUE><PARAMVALUE NAME="Label"><VALUE>x y</VALUE></PARAMVALUE><PARAMVALUE \
NAME="Target"><VALUE.REFERENCE><INSTANCEPATH><NAMESPACEPATH><HOST>root</HOST><LOCALNAMESPACEPATH><NAMESPACE \
NAME="cimv2"></NAMESPACE></LOCALNAMESPACEPATH></NAMESPACEPATH><INSTANCENAME CLASSNAME="RT_Node"><KEYBINDING \
NAME="Id"><KEYVALUE VALUETYPE="string">c</KEYVALUE></KEYBINDING></INSTANCENAME></INSTANCEPATH></VALUE.REFERENCE>\
</PARAMVALUE></METHODCALL></SIMPLEREQ>
</MESSAGE></CIM>"""


def test_wbemcli_methodcall_without_paramtype(dispatcher: CIMXMLDispatcher) -> None:
    req = codec.decode_request(WBEMCLI_METHODCALL)
    assert req.params[:2] == [("Count", None, "3"), ("Label", None, "x y")]
    name, ptype, target = req.params[2]
    assert (name, ptype, target.host, target.namespace) == ("Target", None, "root", "cimv2")  # wbemcli quirk
    reply = dispatcher.handle(WBEMCLI_METHODCALL, host="h:1", cimmethod="Run", cimobject="root%2Fcimv2")
    assert reply.status == 0
    response = TupleParser().parse_cim(xml_to_tupletree_sax(reply.body, "reply"))[2][2][2]
    assert response[0] == "METHODRESPONSE"
    returnvalue, said = response[2]
    assert (returnvalue[1]["PARAMTYPE"], returnvalue[2]) == ("uint32", "4")
    assert said == ("Said", "string", "x y:c")


def test_multireq_is_not_parsed_by_pywbem() -> None:
    body = (b'<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><MULTIREQ>'
            b"</MULTIREQ></MESSAGE></CIM>")
    with pytest.raises(CIMXMLParseError, match="not implemented"):
        TupleParser().parse_cim(xml_to_tupletree_sax(body, "req"))
    with pytest.raises(codec.RequestError) as exc:
        codec.decode_request(body)
    assert (exc.value.status, exc.value.cimerror) == (501, "multiple-requests-unsupported")


def test_qualifier_scope_any_is_dropped(conn: pywbem.WBEMConnection, wire: Wire, dispatcher: CIMXMLDispatcher) -> None:
    key = dispatcher.backend.GetQualifier("Key", namespace=NS)
    raw = key.tocimxmlstr()
    assert 'ANY="false"' in raw  # what pywbem itself encodes for MOF-compiled declarations ...
    with pytest.raises(CIMXMLParseError):  # ... and what its own client refuses
        TupleParser().parse_any(xml_to_tupletree_sax(raw, "qd"))
    assert "ANY=" not in codec.qualifier_decl_xml(key)
    quals = {q.name: q for q in conn.EnumerateQualifiers()}
    assert quals["Key"].scopes["PROPERTY"] is True and quals["Key"].scopes["CLASS"] is False
    assert quals["Description"].scopes["METHOD"] is True  # Scope(any)


def test_replies_have_no_empty_element_tags(conn: pywbem.WBEMConnection, wire: Wire) -> None:
    conn.EnumerateInstanceNames("RT_Node")
    conn.GetClass("RT_Tool")
    conn.ReferenceNames(A)
    conn.OpenAssociatorInstancePaths(A, MaxObjectCount=1)
    assert len(wire.replies) == 4
    for reply in wire.replies:
        assert reply.startswith(b'<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0">')
        assert b"/>" not in reply
        assert b'<MESSAGE ID="1001" PROTOCOLVERSION="1.0">' in reply
