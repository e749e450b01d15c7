"""The simulator's control interface: pure dispatch and its HTTP front."""

import json
import urllib.error
import urllib.request

import pytest

from harness.mock.clock import ManualClock
from harness.mock.control import ControlError, ControlServer, apply_control
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import World


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
    assert [op.value for op in world.faults.fail_next] == ["recover"]


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
