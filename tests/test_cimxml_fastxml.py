"""The fast CIM-XML writer (``harness.mock.cimxml_fastxml``) against pywbem's own encoder.

For every instance and instance path the simulated arrays serve, the codec's reply fragments (now
written by the fast writer) must parse, with the same private pywbem parser the server uses, into
objects equal to the originals, and into the same tuple tree as pywbem's ``tocimxmlstr()`` output
after the codec's empty-tag expansion. Shapes the fast writer does not handle must fall back to
pywbem.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pywbem import (
    Char16,
    CIMDateTime,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    CIMQualifier,
    MissingKeybindingsWarning,
    Real32,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    tocimxmlstr,
)
from pywbem._tupleparse import TupleParser
from pywbem._tupletree import xml_to_tupletree_sax

from harness.deviation_format import Deviation
from harness.mock import cimxml_codec as codec
from harness.mock import cimxml_fastxml as fast
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.clock import ManualClock
from harness.mock.deviations import Deviations
from harness.mock.topology import WorldSpec, build_world

HOST = "mock.example:5989"
QUALIFIER_DEFAULTS = {
    "propagated": False,
    "overridable": True,
    "tosubclass": True,
    "toinstance": False,
    "translatable": False,
}
DEVIATIONS = Deviations(
    [
        Deviation(id="no-percent", cim_omit=["PercentSynced", "rolereversed"]),
        Deviation(id="null-mode", array="primary", cim={"Mode": None, "SyncMaintained": False, "CopyType": 32768}),
    ]
)


# --------------------------------------------------------------------------- helpers


def parse(xml: str) -> Any:
    """An XML fragment through the server's own parser: tuple tree and parsed object."""
    assert "/>" not in xml
    tree = xml_to_tupletree_sax(xml, "fragment")
    obj = TupleParser().parse_any(tree)
    if isinstance(obj, tuple):  # OBJECTPATH parses to (name, attrs, path)
        obj = obj[2]
    return tree, obj


def old_instance_xml(inst: CIMInstance) -> str:
    return inst.tocimxmlstr(ignore_path=True)


def old_instancename_xml(path: CIMInstanceName) -> str:
    return path.tocimxmlstr(ignore_host=True, ignore_namespace=True)


def old_instancepath_xml(path: CIMInstanceName) -> str:
    return tocimxmlstr(path)


def expanded(xml: str) -> str:
    """What the codec sends for pywbem's output: empty-element tags written as open/close pairs."""
    return codec._EMPTY_TAG.sub(r"<\1\2></\1>", xml)


def received(inst: CIMInstance, path: CIMInstanceName | None = None) -> CIMInstance:
    """The instance as a client reads it back: with ``path``; absent PROPAGATED and flavor attributes
    take their DTD defaults."""
    copy = inst.copy()
    copy.path = path
    quals = list(copy.qualifiers.values())
    for prop in copy.properties.values():
        if prop.propagated is None:
            prop.propagated = False
        quals.extend(prop.qualifiers.values())
    for qual in quals:
        for flavor, default in QUALIFIER_DEFAULTS.items():
            if getattr(qual, flavor) is None:
                setattr(qual, flavor, default)
    return copy


def full_path(path: CIMInstanceName, namespace: str) -> CIMInstanceName:
    """As the dispatcher completes a path: this server's host unless the backend gave one."""
    path = path.copy()
    path.namespace = path.namespace or namespace
    path.host = path.host or HOST
    return path


def check_instance(inst: CIMInstance, namespace: str) -> None:
    """INSTANCE plus every wrapper the codec writes an instance in."""
    assert fast.instance_xml(inst) is not None, f"fast writer fell back for {inst.classname}"
    new = codec.instance_xml(inst)
    old = expanded(old_instance_xml(inst))
    assert new == old  # byte-identical to pywbem + the codec's expansion (same escaping, attribute order)
    tree, obj = parse(new)
    assert tree == xml_to_tupletree_sax(old, "old")
    assert obj == received(inst)

    path = full_path(inst.path, namespace)
    check_path(path)
    with_path = inst.copy()
    with_path.path = path
    local_path = path.copy()
    local_path.host = local_path.namespace = None
    cases: list[tuple[Callable[[CIMInstance], str], CIMInstance, str]] = [
        (
            codec.named_instance_xml,
            received(inst, local_path),
            f"<VALUE.NAMEDINSTANCE>{old_instancename_xml(path)}{old_instance_xml(inst)}</VALUE.NAMEDINSTANCE>",
        ),
        (
            codec.object_with_path_xml,
            received(inst, path),
            f"<VALUE.OBJECTWITHPATH>{old_instancepath_xml(path)}{old_instance_xml(inst)}</VALUE.OBJECTWITHPATH>",
        ),
        (
            codec.instance_with_path_xml,
            received(inst, path),
            f"<VALUE.INSTANCEWITHPATH>{old_instancepath_xml(path)}{old_instance_xml(inst)}</VALUE.INSTANCEWITHPATH>",
        ),
    ]
    for encode, expected_obj, old_wrapped in cases:
        new = encode(with_path)
        assert new == expanded(old_wrapped)
        tree, obj = parse(new)
        assert tree == xml_to_tupletree_sax(expanded(old_wrapped), "old")
        assert obj == expected_obj


def check_path(path: CIMInstanceName) -> None:
    """INSTANCENAME, INSTANCEPATH (or LOCALINSTANCEPATH) and OBJECTPATH of one path."""
    assert fast.path_xml(path, path.host, path.namespace) is not None, f"fast writer fell back for {path}"
    name_only = path.copy()
    name_only.host = name_only.namespace = None
    for encode, old, expected in (
        (codec.instancename_xml, old_instancename_xml(path), name_only),
        (codec.instancepath_xml, old_instancepath_xml(path), path),
        (codec.objectpath_xml, f"<OBJECTPATH>{old_instancepath_xml(path)}</OBJECTPATH>", path),
    ):
        new = encode(path)
        assert new == expanded(old)
        tree, obj = parse(new)
        assert tree == xml_to_tupletree_sax(expanded(old), "old")
        assert obj == expected


# --------------------------------------------------------------------------- the mock's objects


def served(b: ArrayCIMBackend) -> Iterator[tuple[str, list[CIMInstance], list[CIMInstanceName]]]:
    """(label, instances, paths) for every class in both namespaces, then References/Associators of each."""
    every: list[tuple[str, CIMInstanceName]] = []
    for ns in b.namespaces:
        for cls in b.EnumerateClassNames(namespace=ns, DeepInheritance=True):
            insts = b.EnumerateInstances(cls, namespace=ns, DeepInheritance=True)
            origin = b.EnumerateInstances(cls, namespace=ns, IncludeClassOrigin=True, IncludeQualifiers=True)
            names = b.EnumerateInstanceNames(cls, namespace=ns)
            every.extend((ns, i.path) for i in insts)
            yield f"{ns}:{cls}", [*insts, *origin], names
    for ns, path in every:
        path = path.copy()
        path.namespace = path.namespace or ns
        refs = b.References(path, IncludeClassOrigin=True)
        assocs = b.Associators(path)
        yield f"refs/assocs of {path}", [*refs, *assocs], [*b.ReferenceNames(path), *b.AssociatorNames(path)]


def check_backend(b: ArrayCIMBackend) -> dict[str, Any]:
    """Check every distinct object ``served`` yields (pywbem's repr shows every attribute)."""
    seen: dict[str, Any] = {"instances": 0, "paths": 0, "classes": set(), "hosts": 0}
    done: set[str] = set()
    for _label, insts, paths in served(b):
        for inst in insts:
            if repr(inst) not in done:
                done.add(repr(inst))
                check_instance(inst, b.namespace)
                seen["instances"] += 1
                seen["classes"].add(inst.classname)
        for path in paths:
            if repr(path) not in done:
                done.add(repr(path))
                check_path(full_path(path, b.namespace))
                seen["paths"] += 1
                seen["hosts"] += path.host is not None
    return seen


@pytest.mark.parametrize("topology", ["pair", "sld"])
@pytest.mark.parametrize("deviations", [None, DEVIATIONS], ids=["honest", "deviant"])
def test_every_served_object_matches_pywbem(topology: str, deviations: Deviations | None) -> None:
    world = build_world(WorldSpec(topology=topology, groups=2, volumes_per_group=2), clock=ManualClock())
    for array in world.arrays:
        seen = check_backend(ArrayCIMBackend(world, array, deviations))
        assert seen["instances"] > 50 and seen["paths"] > 20
        assert "TPD_RemoteStorageSynchronized" in seen["classes"]


def test_link_down_replication_entity_and_peer_hosts() -> None:
    clock = ManualClock()
    world = build_world(WorldSpec(topology="pair", groups=2, volumes_per_group=2), clock=clock)
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    sec = ArrayCIMBackend(world, "secondary", DEVIATIONS)
    seen = check_backend(sec)
    assert "TPD_ReplicationEntity" in seen["classes"]
    world.set_power("primary", True)
    seen = check_backend(ArrayCIMBackend(world, "secondary"))
    assert seen["hosts"] > 0  # peer volumes carry the peer array's host


def test_deviant_values_reach_the_wire() -> None:
    world = build_world(WorldSpec(topology="pair", groups=1, volumes_per_group=1), clock=ManualClock())
    b = ArrayCIMBackend(world, "primary", DEVIATIONS)
    (pair, *_) = b.EnumerateInstances("TPD_RemoteStorageSynchronized")
    xml = codec.instance_xml(pair)
    assert '<PROPERTY NAME="Mode" TYPE="uint16"></PROPERTY>' in xml
    assert '<PROPERTY NAME="SyncMaintained" TYPE="boolean"><VALUE>FALSE</VALUE></PROPERTY>' in xml
    assert "PercentSynced" not in xml and "RoleReversed" not in xml


# --------------------------------------------------------------------------- synthetic shapes

NASTY = "a&b<c>d\"e'f"


def synthetic() -> CIMInstance:
    peer = CIMInstanceName("X_Peer", {"Name": NASTY, "Id": Uint32(7)}, namespace="root/x&y", host="peer<1>.example")
    path = CIMInstanceName(
        "X_Thing",
        {
            "KS": NASTY,
            "KEmpty": "",
            "KN": Uint64(2**40),
            "KI": 5,
            "KB": True,
            "KF": False,
            "KD": CIMDateTime("20261125120000.000000+000"),
            "KR": peer,
        },
        namespace="root/tpd",
        host="h&h",
    )
    return CIMInstance(
        "X_Thing",
        properties=[
            CIMProperty("S", NASTY, class_origin="X_Base", propagated=True),
            CIMProperty("Empty", ""),
            CIMProperty("NullS", None, type="string", class_origin="X_Thing", propagated=False),
            CIMProperty("U8", Uint8(255)),
            CIMProperty("U16", Uint16(0), qualifiers=[CIMQualifier("Description", "d & <q>", tosubclass=True)]),
            CIMProperty("B", False),
            CIMProperty("D", CIMDateTime("00000001020304.000005:000")),
            CIMProperty("NullD", None, type="datetime"),
            CIMProperty("Ref", peer, reference_class="X_Peer", class_origin="X_Base", propagated=True),
            CIMProperty("NullRef", None, type="reference", reference_class="X_Peer"),
            CIMProperty("AS", ["x", NASTY, ""], class_origin="X_Base"),
            CIMProperty("AU", [Uint16(1), Uint16(2)], array_size=2),
            CIMProperty("AB", [True, False]),
            CIMProperty("AEmpty", [], type="uint32"),
            CIMProperty("ANull", None, type="string", is_array=True),
        ],
        qualifiers=[
            CIMQualifier("Flags", ["a", "b"], overridable=False, toinstance=True, translatable=False),
            CIMQualifier("Weight", Uint32(3), propagated=True),
            CIMQualifier("Nothing", None, type="string"),
        ],
        path=path,
    )


def test_synthetic_shapes_match_pywbem() -> None:
    inst = synthetic()
    check_instance(inst, "root/tpd")
    check_path(inst.path["KR"])
    local = inst.path.copy()
    local.host = None  # LOCALINSTANCEPATH: not a valid OBJECTPATH, so only the bare element
    new = codec.instancepath_xml(local)
    assert new.startswith("<LOCALINSTANCEPATH>") and new == expanded(old_instancepath_xml(local))
    assert parse(new)[1] == local


def test_paths_are_completed_as_written_never_changed() -> None:
    """A reply names this server (the request's Host) for local paths; a peer's host stays; FakedUrl goes."""
    inst = synthetic()
    bare = inst.path.copy()
    bare.host = bare.namespace = None
    peer = inst.path.copy()
    peer.host = "peer.example:5989"
    faked = bare.copy()
    faked.host = "FakedUrl:5988"
    for path, expected_host in ((bare, HOST), (peer, "peer.example:5989"), (faked, HOST)):
        before = path.copy()
        completed = path.copy()
        completed.namespace, completed.host = path.namespace or "root/tpd", expected_host
        assert codec.instancepath_xml(path, "root/tpd", HOST) == expanded(old_instancepath_xml(completed))
        with_path = CIMInstance(inst.classname, properties=inst.properties, path=path)
        assert f"{expanded(old_instancepath_xml(completed))}" in codec.object_with_path_xml(with_path, "root/tpd", HOST)
        assert path == before and path.host == before.host  # nothing changed in place


@pytest.mark.parametrize(
    "change",
    [
        lambda i: i.properties.__setitem__("E", CIMProperty("E", CIMInstance("X_Emb"), embedded_object="instance")),
        lambda i: i.properties.__setitem__("R32", CIMProperty("R32", Real32(1.5))),
        lambda i: i.properties.__setitem__("C", CIMProperty("C", Char16("c"))),
        lambda i: i.properties.__setitem__("AN", CIMProperty("AN", ["x", None])),
        lambda i: i.path.keybindings.__setitem__("KC", Char16("c")),
        lambda i: i.path.keybindings.__setitem__("KX", CIMInstanceName("X_Keyless")),
    ],
    ids=["embedded", "real32", "char16", "null-array-element", "char16-key", "keyless-ref"],
)
def test_unhandled_shapes_fall_back_to_pywbem(change: Callable[[CIMInstance], None]) -> None:
    inst = synthetic()
    change(inst)
    path = full_path(inst.path, "root/tpd")
    assert fast.instance_xml(inst) is None or fast.path_xml(path, path.host, path.namespace) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingKeybindingsWarning)  # the keyless reference key
        # the part that fell back is pywbem's own text (its empty tags are expanded in the envelope)
        assert expanded(codec.instance_xml(inst)) == expanded(old_instance_xml(inst))
        assert expanded(codec.instancepath_xml(path)) == expanded(old_instancepath_xml(path))
        local = inst.path.copy()  # completed while written, by copy: the backend's object stays as it was
        assert expanded(codec.instancepath_xml(local, "root/tpd", HOST)) == expanded(old_instancepath_xml(path))
        assert local == inst.path
    # what pywbem wrote still parses back to the original
    assert TupleParser().parse_any(xml_to_tupletree_sax(codec.instance_xml(inst), "x")) == received(inst)
