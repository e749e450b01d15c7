"""The simulator's control interface: pure dispatch and its HTTP front."""

import dataclasses
import http.client
import json
import math
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config.actions import SIMULATOR_ACTIONS
from harness.control_schema import MAX_DURATION
from harness.mock.clock import ManualClock
from harness.mock.control import ControlError, ControlServer, apply_control
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import Durations, World


@pytest.fixture
def world() -> World:
    return build_world(WorldSpec(groups=1, volumes_per_group=1), clock=ManualClock())


def sides(answer: dict) -> dict:
    return answer["state"]["groups"][0]["sides"]


def test_array_down_and_up(world: World) -> None:
    answer = apply_control(world, {"action": "array_down", "array": "primary"})
    assert answer["state"]["arrays"]["primary"]["powered"] is False
    assert answer["state"]["links"][0]["lost"] is True
    answer = apply_control(world, {"action": "array_up", "array": "primary"})
    assert answer["state"]["arrays"]["primary"]["powered"] is True
    assert answer["state"]["links"][0]["lost"] is False


def test_links_only_scope_keeps_array_powered(world: World) -> None:
    answer = apply_control(world, {"action": "array_down", "array": "primary", "scope": "links"})
    assert answer["state"]["arrays"]["primary"]["powered"] is True
    assert answer["state"]["links"][0]["cabled"] is False


def test_force_and_reset(world: World) -> None:
    answer = apply_control(
        world, {"action": "force_sync_status", "array": "primary", "group": "rcg_sync_0", "status": "Stale"}
    )
    assert answer["state"]["groups"][0]["sync_status"] == ["Stale"]
    answer = apply_control(world, {"action": "reset_to_new", "array": "primary", "group": "rcg_sync_0"})
    assert answer["state"]["groups"][0]["sync_status"] == ["New"]
    assert sides(answer)["primary"]["status"] == "Stopped"


def test_fail_next_arms_the_world(world: World) -> None:
    apply_control(world, {"action": "fail_next", "operation": "recover"})
    apply_control(world, {"action": "fail_next", "operation": "restore", "group": "rcg_sync_0"})
    assert sorted((op.value, group) for op, group in world.faults.fail_next) == [
        ("recover", None), ("restore", "rcg_sync_0")
    ]


def test_set_durations(world: World) -> None:
    apply_control(world, {"action": "set_durations", "durations": {"failover": 3.5}})
    assert world.durations.failover == 3.5


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"action": "explode"}, "action"),
        ({"action": "array_down"}, "array"),
        ({"action": "array_down", "array": "tertiary"}, "unknown array 'tertiary'"),
        ({"action": "force_sync_status", "array": "primary", "group": "nope", "status": "Stale"}, "does not exist"),
        ({"action": "set_durations", "durations": {"warp": 1}}, "unknown duration(s) warp"),
        ({"action": "fail_next", "operation": "failover"}, "operation"),
        ([1, 2], "invalid control request"),
    ],
)
def test_bad_requests_say_what_is_wrong(world: World, payload: object, message: str) -> None:
    with pytest.raises(ControlError, match=message.replace("(", r"\(").replace(")", r"\)")):
        apply_control(world, payload)


def post(url: str, token: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_http_front_requires_token_and_reports_errors(world: World) -> None:
    with ControlServer(world, token="s3cret") as server:
        status, body = post(server.url, "wrong", b'{"action": "state"}')
        assert status == 401
        status, body = post(server.url, "s3cret", b"{not json")
        assert status == 400 and "not JSON" in body["error"]
        status, body = post(server.url, "s3cret", b'{"action": "array_down", "array": "secondary"}')
        assert status == 200 and body["state"]["arrays"]["secondary"]["powered"] is False


# --------------------------------------------------------------------------- hostile requests


@pytest.fixture
def control(world: World) -> Iterator[tuple[ControlServer, World]]:
    with ControlServer(world, token=TOKEN) as server:
        yield server, world


TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON_HEADERS = {**AUTH, "Content-Type": "application/json"}


def raw(server: ControlServer, data: bytes, *, half_close: bool = False) -> tuple[int, dict]:
    """Send bytes as they are (no client library fixing them up); the status and JSON body of the answer."""
    host, port = server._httpd.server_address[:2]
    with socket.create_connection((host, port), timeout=15) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def request(
    server: ControlServer, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, dict]:
    host, port = server._httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=15)
    try:
        conn.request(method, path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        return reply.status, json.loads(data) if data else {}
    finally:
        conn.close()


def _post(body: bytes, headers: dict[str, str] | None = None) -> bytes:
    headers = {"Content-Length": str(len(body)), **AUTH, **(headers or {})}
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST /control HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode() + body


DEEP = b"[" * 20000 + b"]" * 20000
MALFORMED = {
    # name: (raw request bytes, expected status, phrase of the error)
    "get": (b"GET /control HTTP/1.1\r\nHost: x\r\n\r\n", 405, "use POST"),
    "delete": (b"DELETE /control HTTP/1.1\r\nHost: x\r\n\r\n", 405, "use POST"),
    "unknown-method": (b"BREW /control HTTP/1.1\r\nHost: x\r\n\r\n", 501, "Unsupported method"),
    "garbage-request-line": (b"GARBAGE\r\n\r\n", 400, "request"),
    "wrong-path": (_post(b'{"action": "state"}').replace(b"/control", b"/admin", 1), 404, "no such endpoint"),
    "no-token": (_post(b'{"action": "state"}').replace(b"Authorization", b"X-Nothing"), 401, "token"),
    "wrong-token": (_post(b'{"action": "state"}').replace(TOKEN.encode(), b"guess"), 401, "token"),
    "no-length": (
        b"POST /control HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n\r\n",
        411,
        "Content-Length",
    ),
    "chunked": (_post(b"", {"Transfer-Encoding": "chunked"}) + b"0\r\n\r\n", 411, "Transfer-Encoding"),
    "length-not-a-number": (_post(b"{}", {"Content-Length": "lots"}), 400, "Content-Length"),
    "length-negative": (_post(b"{}", {"Content-Length": "-5"}), 400, "Content-Length"),
    "huge-body": (_post(b"", {"Content-Length": str(1 << 30)}), 413, "at most"),
    "not-json": (_post(b"{not json"), 400, "not JSON"),
    "not-utf8": (_post(b'{"action": "\xff\xfe"}'), 400, "not JSON"),
    "nan-literal": (_post(b'{"action": "set_durations", "durations": {"failover": NaN}}'), 400, "finite"),
    "infinity-literal": (_post(b'{"action": "set_durations", "durations": {"failover": Infinity}}'), 400, "finite"),
    "overflowing-number": (_post(b'{"action": "set_durations", "durations": {"failover": 1e400}}'), 400, "finite"),
    "absurd-duration": (_post(b'{"action": "set_durations", "durations": {"failover": 1e308}}'), 400, "86400"),
    "negative-duration": (_post(b'{"action": "set_durations", "durations": {"failover": -1}}'), 400, "greater than 0"),
    "duration-as-text": (_post(b'{"action": "set_durations", "durations": {"failover": "3"}}'), 400, "number"),
    "huge-integer": (_post(b'{"action": "state", "x": ' + b"9" * 5000 + b"}"), 400, "not JSON"),
    "deep-nesting": (_post(DEEP), 400, "not JSON"),
    "json-list": (_post(b"[1, 2]"), 400, "invalid control request"),
    "json-null": (_post(b"null"), 400, "invalid control request"),
    "empty-body": (_post(b""), 400, "not JSON"),
    "unknown-action": (_post(b'{"action": "explode"}'), 400, "action"),
    "missing-field": (_post(b'{"action": "link", "a": "primary"}'), 400, "Field required"),
    "bool-as-text": (_post(b'{"action": "link", "a": "primary", "b": "secondary", "up": "no"}'), 400, "boolean"),
    "array-as-number": (_post(b'{"action": "array_down", "array": 1}'), 400, "string"),
    "extra-field": (_post(b'{"action": "state", "sudo": true}'), 400, "sudo"),
    "long-array-name": (_post(b'{"action": "array_up", "array": "' + b"x" * 60000 + b'"}'), 400, "unknown array"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_every_malformed_request_gets_a_4xx_json_error(control: tuple[ControlServer, World], case: str) -> None:
    server, world = control
    before = dataclasses.asdict(world.durations)
    data, expected, phrase = MALFORMED[case]
    status, body = raw(server, data)
    assert status == expected, body
    assert isinstance(body.get("error"), str) and phrase in body["error"], body
    assert len(body["error"]) < 1000, "an error message never echoes a whole body"
    assert dataclasses.asdict(world.durations) == before
    assert request(server, "POST", "/control", b'{"action": "state"}', JSON_HEADERS)[0] == 200, "still serving"


def test_a_body_shorter_than_its_length_is_a_400(control: tuple[ControlServer, World]) -> None:
    server, _ = control
    status, body = raw(server, _post(b'{"action": "state"}', {"Content-Length": "500"}), half_close=True)
    assert status == 400 and "ended after" in body["error"], body


def test_nan_durations_are_refused_and_waits_stay_finite(control: tuple[ControlServer, World]) -> None:
    """`set_durations {failover: NaN}` once made `setrcopygroup failover -waittask` wait forever."""
    server, world = control
    for value in ("NaN", "Infinity", "-Infinity", "1e308", "0", "-1e-9"):
        text = f'{{"action": "set_durations", "durations": {{"failover": {value}}}}}'.encode()
        status, _ = request(server, "POST", "/control", text, JSON_HEADERS)
        assert status == 400, value
    assert world.durations.failover == Durations().failover
    status, _ = request(server, "POST", "/control", b'{"action": "set_durations", "durations": {"failover": 86400}}',
                        JSON_HEADERS)  # fmt: skip
    assert status == 200 and world.durations.failover == 86400


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = ("array", "a", "b", "up", "scope", "operation", "group", "status", "volume", "durations")
_PLAUSIBLE = st.sampled_from(
    ["primary", "secondary", "tertiary", "rcg_sync_0", "power", "links", "recover", "Stale", "NotSynced", "", "x" * 300]
)
_REQUESTS = st.fixed_dictionaries(
    {"action": st.sampled_from([*SIMULATOR_ACTIONS, "explode", ""]) | st.text(max_size=12)},
    optional={
        **{f: _PLAUSIBLE | _JSON for f in _FIELDS},
        "durations": st.dictionaries(
            st.sampled_from(["failover", "recover", "warp"]) | st.text(max_size=8),
            st.floats() | st.integers() | _JSON,
            max_size=3,
        ),
    },
)
_BODIES = (
    _REQUESTS.map(lambda r: json.dumps(r).encode())
    | _JSON.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODIES)
def test_fuzzed_bodies_never_get_a_500_or_a_traceback(control: tuple[ControlServer, World], body: bytes) -> None:
    server, world = control
    status, answer = request(server, "POST", "/control", body, JSON_HEADERS)
    assert status == 200 or 400 <= status < 500, (status, answer)
    if status == 200:
        assert answer.get("ok") is True and "state" in answer
    else:
        assert isinstance(answer.get("error"), str) and "Traceback" not in answer["error"], answer
    for name, seconds in dataclasses.asdict(world.durations).items():
        assert math.isfinite(seconds) and 0 < seconds <= MAX_DURATION, (name, seconds)
