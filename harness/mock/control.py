"""The simulator's control interface: what the array CLI cannot do.

Take an array (or only its links) down and up, make the next recover/restore
fail, force volumes NotSynced or Stale, return a group to New, change durations.
Requests are JSON objects with an "action" field; `apply_control` is the pure
dispatcher and `ControlServer` serves it over HTTP on loopback:

    POST /control   Authorization: Bearer <token>   {"action": "array_down", "array": "primary"}

Actions (fields):
    array_down   array, scope = "power" (default: servers stop answering too) | "links"
    array_up     array            (power on and reconnect every link of that array)
    link         a, b, up
    fail_next    operation = "recover" | "restore"
    force_sync_status  array, group (name on that array), status = "NotSynced" | "Stale", volume (optional)
    reset_to_new array, group
    set_durations  durations = {name: seconds} (names of world.Durations)
    state        (no fields): a summary of every array, link and group, for humans and debugging
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from harness.mock.world import ArrayCommandError, Durations, Operation, SyncStatus, World

log = logging.getLogger("harness.mock.control")


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArrayDown(_Action):
    action: Literal["array_down"]
    array: str
    scope: Literal["power", "links"] = "power"


class ArrayUp(_Action):
    action: Literal["array_up"]
    array: str


class LinkAction(_Action):
    action: Literal["link"]
    a: str
    b: str
    up: bool


class FailNext(_Action):
    action: Literal["fail_next"]
    operation: Literal["recover", "restore"]


class ForceSyncStatus(_Action):
    action: Literal["force_sync_status"]
    array: str
    group: str
    status: Literal["NotSynced", "Stale"]
    volume: str | None = None


class ResetToNew(_Action):
    action: Literal["reset_to_new"]
    array: str
    group: str


class SetDurations(_Action):
    action: Literal["set_durations"]
    durations: dict[str, float]


class State(_Action):
    action: Literal["state"]


ControlRequest = Annotated[
    ArrayDown | ArrayUp | LinkAction | FailNext | ForceSyncStatus | ResetToNew | SetDurations | State,
    Field(discriminator="action"),
]
_REQUEST = TypeAdapter(ControlRequest)


class ControlError(ValueError):
    """A control request that cannot be carried out; the message says why."""


def apply_control(world: World, payload: Any) -> dict[str, Any]:
    """Carry out one control request; returns a JSON-able answer."""
    try:
        request = _REQUEST.validate_python(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors())
        raise ControlError(f"invalid control request: {problems}") from None
    with world.lock:
        if hasattr(request, "array") and request.array not in world.arrays:
            raise ControlError(f"unknown array {request.array!r}; known: {', '.join(world.arrays)}")
        try:
            _dispatch(world, request)
        except (ArrayCommandError, KeyError) as exc:
            raise ControlError(str(exc).strip("'\"")) from None
        return {"ok": True, "state": describe_state(world)}


def _dispatch(world: World, request: Any) -> None:
    match request:
        case ArrayDown(scope="power"):
            world.set_power(request.array, False)
        case ArrayDown(scope="links"):
            for link in world.links:
                if request.array in (link.a, link.b):
                    world.set_link(link.a, link.b, False)
        case ArrayUp():
            world.set_power(request.array, True)
            for link in world.links:
                if request.array in (link.a, link.b):
                    world.set_link(link.a, link.b, True)
        case LinkAction():
            world.set_link(request.a, request.b, request.up)
        case FailNext():
            world.arm_failure(Operation(request.operation))
        case ForceSyncStatus():
            world.force_sync_status(request.array, request.group, SyncStatus(request.status), request.volume)
        case ResetToNew():
            world.reset_to_new(request.array, request.group)
        case SetDurations():
            _set_durations(world, request.durations)
        case State():
            pass


def _set_durations(world: World, durations: dict[str, float]) -> None:
    known = {f.name for f in fields(Durations)}
    unknown = sorted(set(durations) - known)
    if unknown:
        raise ControlError(f"unknown duration(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    for name, seconds in durations.items():
        if seconds <= 0:
            raise ControlError(f"duration {name} must be positive, got {seconds}")
        world.set_duration(name, seconds)


def describe_state(world: World) -> dict[str, Any]:
    """The world as a JSON-able summary (for people and logs; the harness observes through CIM and CLI)."""
    now = world.now()
    return {
        "time": round(now, 3),
        "arrays": {k: {"system_name": a.system_name, "powered": a.powered} for k, a in world.arrays.items()},
        "links": [
            {"a": lk.a, "b": lk.b, "cabled": lk.cabled, "lost": lk.lost_at is not None, "detected": lk.detected}
            for lk in world.links
        ],
        "groups": [
            {
                "name": rep.name,
                "mode": rep.mode,
                "backup": rep.backup,
                "operation": rep.operation.operation.value if rep.operation else None,
                "last_result": (
                    {"operation": rep.last_result.operation.value, "ok": rep.last_result.ok}
                    if rep.last_result
                    else None
                ),
                "sides": {
                    s.array: {"group": s.group_name, "role": s.role.value, "status": s.status.value}
                    for s in rep.sides()
                },
                "sync_status": sorted({p.sync_status.value for p in rep.pairs}),
            }
            for rep in world.replications
            if not rep.noise
        ],
    }


class ControlServer:
    """Serves apply_control over HTTP on loopback, guarded by a bearer token."""

    def __init__(self, world: World, token: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.world = world
        self.token = token
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/control"

    def start(self) -> ControlServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="mock-control", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ControlServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: ControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/control":
                self._reply(404, {"error": f"no such endpoint {self.path}; use POST /control"})
                return
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {server.token}".encode()):
                self._reply(401, {"error": "missing or wrong bearer token"})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(min(length, 1 << 20)) or b"null")
                answer = apply_control(server.world, payload)
            except json.JSONDecodeError as exc:
                self._reply(400, {"error": f"body is not JSON: {exc}"})
                return
            except ControlError as exc:
                self._reply(400, {"error": str(exc)})
                return
            log.info("control: %s", payload.get("action") if isinstance(payload, dict) else payload)
            self._reply(200, answer)

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("control http: " + format, *args)

    return Handler
