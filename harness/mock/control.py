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
    fail_next    operation = "recover" | "restore", group (optional: only that group's next command)
    force_sync_status  array, group (name on that array), status = "NotSynced" | "Stale", volume (optional)
    reset_to_new array, group
    set_durations  durations = {name: seconds} (names of world.Durations; finite, > 0, at most a day)
    state        (no fields): a summary of every array, link and group, for humans and debugging

Fields are typed strictly (JSON strings, booleans and numbers, no coercion); the request models live in
`harness.control_schema`, shared with the target configuration's `kind: simulator` actions. Every
request the server cannot carry out gets a 4xx answer with a JSON body {"error": "..."}: a wrong path (404) or method
(405), a missing or wrong token (401), no Content-Length or a chunked body (411), a body over
`MAX_BODY` bytes (413), a body that is not JSON (NaN and Infinity included) or not a valid request
(400). A 500 would be a bug in the simulator.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness.control_schema import (
    ArrayDown,
    ArrayUp,
    ControlRequest,
    FailNext,
    ForceSyncStatus,
    LinkAction,
    ResetToNew,
    SetDurations,
    State,
)
from harness.mock.world import ArrayCommandError, Durations, Operation, SyncStatus, World

log = logging.getLogger("harness.mock.control")


MAX_BODY = 64 * 1024
"""Bytes a control request body may have (a request is a few hundred)."""

_REQUEST = TypeAdapter(ControlRequest)


class ControlError(ValueError):
    """A control request that cannot be carried out; the message says why."""


def apply_control(world: World, payload: Any) -> dict[str, Any]:
    """Carry out one control request; returns a JSON-able answer."""
    try:
        request = _REQUEST.validate_python(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [f"{'.'.join(_short(p, 40) for p in e['loc']) or 'request'}: {e['msg']}" for e in errors[:5]]
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise ControlError(f"invalid control request: {'; '.join(problems)}{more}") from None
    with world.lock:
        if hasattr(request, "array") and request.array not in world.arrays:
            raise ControlError(f"unknown array {_short(repr(request.array))}; known: {', '.join(world.arrays)}")
        try:
            _dispatch(world, request)
        except (ArrayCommandError, KeyError) as exc:
            raise ControlError(_short(str(exc).strip("'\""), 300)) from None
        return {"ok": True, "state": describe_state(world)}


def _short(value: object, limit: int = 60) -> str:
    """A value for a message, cut short: a request's strings can be as long as the body."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
            world.arm_failure(Operation(request.operation), request.group)
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
        listed = ", ".join(_short(name, 40) for name in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise ControlError(f"unknown duration(s) {listed}; known: {', '.join(sorted(known))}")
    for name, seconds in durations.items():
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


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-request is not news (the stock server prints a traceback)."""
        log.debug("control connection from %s ended with an error", client_address, exc_info=True)


Apply = Callable[[Any], dict[str, Any]]
"""A control request (the JSON body) -> the answer; raises ControlError to refuse it."""


class ControlServer:
    """Serves apply_control over HTTP on loopback, guarded by a bearer token. `apply` serves other requests
    than the world's (a replayed run's: harness.mock.replay_serve) through the same HTTP handling."""

    def __init__(self, world: World | None, token: str, host: str = "127.0.0.1", port: int = 0,
                 apply: Apply | None = None) -> None:  # fmt: skip
        if apply is None:
            if world is None:
                raise ValueError("ControlServer needs a world or an apply function")
            apply = functools.partial(apply_control, world)
        self.world = world
        self.apply = apply
        self.token = token
        self._httpd = _QuietHTTPServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/control"

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
        timeout = 10  # seconds a client may stall mid-request before the connection is dropped
        default_request_version = "HTTP/1.0"  # a garbled request line still gets a status line and JSON

        def do_POST(self) -> None:
            status, body = self._answer()
            self._reply(status, body)

        def do_GET(self) -> None:
            self._reply(405, {"error": f"method {self.command} not allowed; use POST /control"})

        do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

        def _answer(self) -> tuple[int, dict[str, Any]]:
            if self.path != "/control":
                return 404, {"error": f"no such endpoint {_short(self.path)}; use POST /control"}
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {server.token}".encode()):
                return 401, {"error": "missing or wrong bearer token"}
            body = self._body()
            if isinstance(body, tuple):
                return body
            try:
                payload = json.loads(body, parse_constant=_no_constant)
            except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, NaN, huge ints
                return 400, {"error": f"body is not JSON: {_short(str(exc), 200)}"}
            try:
                answer = server.apply(payload)
            except ControlError as exc:
                return 400, {"error": str(exc)}
            except Exception as exc:  # a bug in the simulator: say so, keep serving
                log.exception("control request failed")
                return 500, {"error": f"the simulator failed on this request: {type(exc).__name__}"}
            log.info("control: %s", payload.get("action") if isinstance(payload, dict) else payload)
            return 200, answer

        def _body(self) -> bytes | tuple[int, dict[str, Any]]:
            if self.headers.get("Transfer-Encoding"):
                return 411, {"error": "send the body with Content-Length (no Transfer-Encoding)"}
            text = self.headers.get("Content-Length")
            if text is None:
                return 411, {"error": "Content-Length required"}
            if not text.strip().isdigit():
                return 400, {"error": f"Content-Length is not a number of bytes: {_short(text)}"}
            length = int(text)
            if length > MAX_BODY:
                return 413, {"error": f"body of {length} bytes; a control request has at most {MAX_BODY}"}
            body = self.rfile.read(length)
            if len(body) < length:
                return 400, {"error": f"body ended after {len(body)} of {length} bytes"}
            return body

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """Errors the HTTP layer finds itself (a malformed request line, headers too long): JSON too."""
            self._reply(code, {"error": message or HTTPStatus(code).phrase})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            if status >= 400:
                self.close_connection = True  # an unread body must not be taken for the next request
            data = json.dumps(body).encode()
            self.send_response(status)
            if status == 405:
                self.send_header("Allow", "POST")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("control http: " + format, *args)

    return Handler


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (numbers must be finite)")
