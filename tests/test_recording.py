"""The recording's parts, without servers: pywbem objects and errors written as JSON and rebuilt exactly, the
operation recorder on a pywbem connection (pywbem_mock), one sample's refs by phase, redaction of CIM-XML in
JSON, and judging as a pure function: rows judged on the scripted pair are judged the same again from the
timeline's observations and events alone."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import pywbem
import pywbem_mock
from pywbem import CIMDateTime, CIMInstance, CIMInstanceName, CIMProperty, Uint16

from harness.array_cli import BROKEN_SESSION, SESSION_BROKE, CliError, CliResult
from harness.cim import CimEndpoint, describe_failure
from harness.recording import (
    CIM_FILE,
    SAMPLES_FILE,
    Recording,
    decode,
    decode_error,
    encode,
    encode_error,
)
from harness.redact import MASK, Redactor
from harness.rejudge import ReplayCli, judge_again
from harness.spec import load_spec
from harness.verdicts import Expectation
from tests.scripted_pair import scripted, someone_stops_the_group
from tests.test_checkpoints import checkpoints_for, expectation

SPEC = load_spec()
NS = "root/tpd"
MOF = """
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
class RC_Volume { [Key] string DeviceID; string ElementName; };
[Association] class RC_Pair { [Key] RC_Volume REF SystemElement; [Key] RC_Volume REF SyncedElement;
                              uint16 CopyState; datetime WhenSynced; boolean RoleReversed; uint16 Mode; };
instance of RC_Volume as $a { DeviceID = "a"; ElementName = "vol a"; };
instance of RC_Volume as $b { DeviceID = "b"; ElementName = "vol b"; };
instance of RC_Pair { SystemElement = $a; SyncedElement = $b; CopyState = 6;
                      WhenSynced = "20240102030405.000000+000"; RoleReversed = false; };
"""


def pair_instance() -> CIMInstance:
    volume = CIMInstanceName("TPD_StorageVolume", {"SystemName": "1663110", "DeviceID": "v0"}, namespace=NS,
                             host="10.0.0.1")  # fmt: skip
    path = CIMInstanceName("TPD_RemoteStorageSynchronized", {"SystemElement": volume, "SyncedElement": volume.copy()},
                           namespace=NS, host="array:5989")  # fmt: skip
    props = {"CopyState": Uint16(6), "RoleReversed": False, "WhenSynced": CIMDateTime("20240102030405.000000+000"),
             "Mode": CIMProperty("Mode", None, type="uint16", propagated=False)}  # fmt: skip
    inst = CIMInstance("TPD_RemoteStorageSynchronized", props, path=path)
    for prop in inst.properties.values():
        prop.propagated = False  # as pywbem's parser gives it
    return inst


# --------------------------------------------------------------------------- objects and errors


def test_instances_paths_and_values_are_rebuilt_exactly_from_their_cimxml() -> None:
    inst = pair_instance()
    local = inst.path.copy()
    local.host = None
    bare = local.copy()
    bare.namespace = None
    value = [inst, inst.path, local, bare, Uint16(7), CIMDateTime("20240102030405.000000+000"), None, True, "x"]
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value
    assert [type(v) for v in back] == [type(v) for v in value]
    assert back[0].path == inst.path and back[0].path.host == "array:5989"  # the path travels with the instance


ERRORS = [
    pywbem.CIMError(pywbem.CIM_ERR_NOT_FOUND, "no such volume"),
    pywbem.CIMError(pywbem.CIM_ERR_INVALID_CLASS),
    pywbem.ConnectionError("SSL error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
    pywbem.AuthError("Authentication failed"),
    pywbem.TimeoutError("The client timed out"),
    pywbem.HTTPError(500, "Internal Server Error", cimerror="request-not-valid"),
    pywbem.CIMXMLParseError("Element 'VALUE' missing", response_data="<CIM>...</CIM>"),
]


@pytest.mark.parametrize("exc", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_is_rebuilt_as_the_same_class_with_the_same_text(exc: pywbem.Error) -> None:
    back = decode_error(json.loads(json.dumps(encode_error(exc))))
    assert type(back) is type(exc) and str(back) == str(exc)
    endpoint = CimEndpoint("https://array:5989", "u", lambda: "", timeout=5)
    assert describe_failure(endpoint, back) == describe_failure(endpoint, exc)  # what the harness reads of it


# --------------------------------------------------------------------------- the operation recorder


def recording_on_mock(lines: list[tuple[str, dict[str, Any]]]) -> tuple[Recording, pywbem_mock.FakedWBEMConnection]:
    recording = Recording(lambda name, line: lines.append((name, json.loads(json.dumps(line)))), time.monotonic())
    conn = pywbem_mock.FakedWBEMConnection(default_namespace=NS)
    conn.compile_mof_string(MOF, namespace=NS)
    conn.add_operation_recorder(recording.recorder("primary"))
    return recording, conn


def test_each_operation_is_one_line_with_its_arguments_result_and_timing_and_a_repeat_is_same_as() -> None:
    lines: list[tuple[str, dict[str, Any]]] = []
    recording, conn = recording_on_mock(lines)
    volume = CIMInstanceName("RC_Volume", {"DeviceID": "a"}, namespace=NS)
    with recording.capture() as capture:
        capture.enter("cim")
        first = conn.References(volume, ResultClass="RC_Pair")
        again = conn.References(volume, ResultClass="RC_Pair")
        with pytest.raises(pywbem.CIMError):
            conn.GetInstance(CIMInstanceName("RC_Volume", {"DeviceID": "nope"}, namespace=NS))
    recording.close()
    cim = [line for name, line in lines if name == CIM_FILE]
    assert [line["op"] for line in cim] == ["References", "References", "GetInstance"]
    assert capture.refs["cim"] == [line["ref"] for line in cim], "the sample knows its operations"
    assert decode(cim[0]["args"])["ObjectName"] == volume and decode(cim[0]["args"])["ResultClass"] == "RC_Pair"
    def read(instances: list[CIMInstance]) -> list[tuple[CIMInstanceName, dict[str, Any]]]:
        return [(i.path, dict(i.items())) for i in instances]  # paths, property names and values

    assert read(decode(cim[0]["result"])) == read(first) == read(again)
    assert cim[1]["same_as"] == cim[0]["ref"] and "result" not in cim[1], "an identical answer is not written twice"
    assert cim[2]["error"]["class"] == "CIMError" and cim[2]["error"]["status_code"] == pywbem.CIM_ERR_NOT_FOUND
    assert all(line["t"] >= 0 and line["dt"] >= 0 for line in cim)
    assert lines[0] == (SAMPLES_FILE, {"kind": "recording", "format": 1})


def test_two_threads_on_one_connection_keep_their_own_operations() -> None:
    lines: list[tuple[str, dict[str, Any]]] = []
    recording, conn = recording_on_mock(lines)
    refs: dict[str, list[str]] = {}

    def worker(device: str) -> None:
        with recording.capture() as capture:
            for _ in range(20):
                conn.GetInstance(CIMInstanceName("RC_Volume", {"DeviceID": device}, namespace=NS))
            refs[device] = capture.refs["cli"]

    threads = [threading.Thread(target=worker, args=(d,)) for d in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recording.close()
    by_ref = {line["ref"]: line for name, line in lines if name == CIM_FILE}
    for device, mine in refs.items():
        assert len(mine) == 20
        assert all(decode(by_ref[r]["args"])["InstanceName"].keybindings["DeviceID"] == device for r in mine)


def test_cimxml_in_json_is_redacted_whatever_the_secret_holds() -> None:
    secret = "pa&ss<wo>rd\"with'\\all"
    redactor = Redactor([secret])
    lines: list[str] = []
    recording = Recording(lambda name, line: lines.append(redactor.text(json.dumps(redactor.data(line)))),
                          time.monotonic())  # fmt: skip
    path = CIMInstanceName("RC_Volume", {"DeviceID": secret}, namespace=NS)
    recording.operation("primary", "GetInstance", {"InstanceName": path}, 0.0, 0.1, None,
                        pywbem.CIMError(pywbem.CIM_ERR_NOT_FOUND, f"no instance {path}"))  # fmt: skip
    recording.operation("primary", "GetInstance", {"InstanceName": path}, 0.2, 0.1, CIMInstance("RC_Volume", path=path),
                        None)  # fmt: skip
    recording.close()
    text = "\n".join(lines)
    assert MASK in text and "with'" not in text and "pa&amp;ss" not in text and "pa&ss" not in text


# --------------------------------------------------------------------------- the CLI played back


def result(command: str, status: int = 0, ref: str = "cli-1") -> CliResult:
    return CliResult("primary", command, "out", "the SSH session broke" if status else "", status, 0.0, 0.1, ref)


def test_the_replayed_cli_answers_as_array_cli_run_does() -> None:
    assert ReplayCli("primary", [result("showsys")], None).run("showsys").ref == "cli-1"
    retried = ReplayCli("primary", [result("showsys", BROKEN_SESSION, "cli-1"), result("showsys", 0, "cli-2")], None)
    assert retried.run("showsys").ref == "cli-2", "a broken session is retried, as ArrayCli.run does"
    closed = CliResult("primary", "showsys", "", "", -1, 0.0, 0.1, "cli-1")  # the array closed the channel
    assert ReplayCli("primary", [closed], None).run("showsys") is closed, "an answer without an exit status"
    legacy = CliResult("primary", "showsys", "", f"primary: {SESSION_BROKE} 'showsys': EOF", -1, 0.0, 0.1, "cli-1")
    assert ReplayCli("primary", [legacy, result("showsys", 0, "cli-2")], None).run("showsys").ref == "cli-2"
    with pytest.raises(CliError, match="cannot connect"):
        ReplayCli("primary", [], "primary: cannot connect over SSH").run("showsys")
    with pytest.raises(CliError, match="now sends `showrcopy`"):
        ReplayCli("primary", [result("showsys")], None).run("showrcopy")


# --------------------------------------------------------------------------- judging is a pure function


def test_rows_judged_on_the_scripted_pair_are_judged_the_same_again_from_observations_and_events() -> None:
    s = scripted()
    checkpoints = checkpoints_for(s)
    table106 = Expectation.from_row(SPEC.rows["T106-03"], SPEC, array=("primary", "secondary"))
    live = {
        "T106-03": checkpoints.row(table106, "natural", in_progress=False),
        "T107-01": checkpoints.row(expectation("T107-01"), "primary_down", in_progress=False),
        "T107-02": checkpoints.row(expectation("T107-02"), "failover", in_progress=True),
        "T107-03": checkpoints.row(expectation("T107-03"), "failover", in_progress=False),
    }
    live.update({rule: checkpoints.rule(rule) for rule in ("RULE-01", "RULE-04", "RULE-07", "RULE-09")})
    document = {"events": s["timeline"].events,
                "manifest": {"group": "rcg", "config": {"polling": {"settle_samples": 3}}}}  # fmt: skip
    again = judge_again(document, list(s["timeline"].observations), SPEC)
    assert set(again) == set(live)
    for row_id, result in live.items():
        assert again[row_id].to_dict() == result.to_dict(), row_id
    judged = [e for e in s["timeline"].events if e["kind"] == "judge"]
    assert [e["row"] for e in judged] == list(live), "one judge event per row, in the order judged"


def test_someone_else_acting_on_the_pair_is_found_again_from_the_events() -> None:
    s = scripted()
    checkpoints = checkpoints_for(s, provider=lambda pair: None)

    someone_stops_the_group(s, after=0.3)  # after the row's first sample, before it settles
    table106 = Expectation.from_row(SPEC.rows["T106-03"], SPEC, array=("primary", "secondary"))
    live = checkpoints.row(table106, "natural", in_progress=False)
    assert live.verdict == "error" and "changed under the harness" in live.reason
    document = {"events": s["timeline"].events,
                "manifest": {"group": "rcg", "config": {"polling": {"settle_samples": 3}}}}  # fmt: skip
    assert judge_again(document, list(s["timeline"].observations), SPEC)["T106-03"].to_dict() == live.to_dict()
