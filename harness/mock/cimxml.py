"""Loopback CIM-XML (DSP0200/DSP0201) server over HTTP or HTTPS in front of any "backend".

The backend exposes pywbem ``WBEMConnection``-style operation methods (GetClass, EnumerateInstances,
References, InvokeMethod, ...) and raises ``pywbem.CIMError``; a ``pywbem_mock.FakedWBEMConnection``
qualifies. Pull operations are paged by this server from the backend's full result.

This module holds the HTTP(S) transport (``CIMXMLServer``); the CIM-XML work lives in
``cimxml_dispatch`` (operations), ``cimxml_params`` (parameter typing), ``cimxml_pull`` (enumeration
contexts), ``cimxml_codec`` (XML) and ``cimxml_tls`` (certificates). Their public names are
re-exported here.

    with CIMXMLServer(backend, users={"u": "pw"}, tls=True) as srv:
        conn = pywbem.WBEMConnection(srv.url, ("u", "pw"), ca_certs=srv.ca_cert_path)
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import ipaddress
import logging
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from harness.mock import cimxml_codec as codec
from harness.mock.cimxml_dispatch import CIMReply, CIMXMLDispatcher, Hangup
from harness.mock.cimxml_pull import DEFAULT_ENUM_TIMEOUT
from harness.mock.cimxml_pull import MAX_ENUM_CONTEXTS as MAX_ENUM_CONTEXTS  # re-exported
from harness.mock.cimxml_pull import MAX_ENUM_TIMEOUT as MAX_ENUM_TIMEOUT  # re-exported
from harness.mock.cimxml_tls import make_self_signed_cert, server_ssl_context

__all__ = ["CIMReply", "CIMXMLDispatcher", "CIMXMLServer", "make_self_signed_cert"]

log = logging.getLogger("harness.mock.cimxml")

DEFAULT_MAX_BODY = 4 * 1024 * 1024
_HOST_HDR = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "harness-cimxml/0.1"
    # Headers and body leave in separate writes: without TCP_NODELAY each reply waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        self.timeout = self.server.owner.socket_timeout  # type: ignore[misc]  # per connection, as the stdlib reads it
        self._tls_ok = True
        if isinstance(self.request, ssl.SSLSocket):  # handshake here, in the handler thread
            self.request.settimeout(self.timeout)
            try:
                self.request.do_handshake()
            except (OSError, ssl.SSLError) as exc:
                log.debug("TLS handshake with %s failed: %s", self.client_address[0], exc)
                self._tls_ok = False
        super().setup()

    def handle(self) -> None:
        if self._tls_ok:
            super().handle()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if not self.server.owner.is_available():  # powered-off array: hang up without answering
            log.debug("unavailable: dropping %s %s from %s", self.command, self.path, self.client_address[0])
            self.close_connection = True
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - " + format, self.client_address[0], *args)

    def _send(
        self, status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = (), close: bool = False
    ) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _not_allowed(self) -> None:
        self._send(405, b"only POST is supported\n", (("Allow", "POST"), ("Content-Type", "text/plain")))

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _user(self) -> str | None:
        """The authenticated user name ("" if auth is off), or None if the credentials are wrong."""
        users = self.server.owner.users
        if users is None:
            return ""
        scheme, _, cred = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(cred.strip(), validate=True).decode("utf-8").partition(":")
        except ValueError:
            return None
        expected = users.get(user)
        if not sep or expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return user

    def _refuse(self, status: int, text: str, length: int, headers: tuple[tuple[str, str], ...] = ()) -> None:
        """Answer an HTTP-level refusal; keep the connection only if the body could be consumed first."""
        log.debug("%d for %s %s from %s: %s", status, self.command, self.path, self.client_address[0], text)
        headers = (*headers, ("Content-Type", "text/plain"))
        if 0 <= length <= self.server.owner.max_body and not self.headers.get("Transfer-Encoding"):
            self.rfile.read(length)
            self._send(status, f"{text}\n".encode(), headers)
            return
        self._send(status, f"{text}\n".encode(), headers, close=True)
        # Lingering close: swallow some of what the client is still sending so it sees our answer
        # rather than a connection reset.
        budget = min(max(length, 0), 4 * self.server.owner.max_body)
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.settimeout(2.0)
            while budget > 0 and (chunk := self.rfile.read1(min(budget, 65536))):
                budget -= len(chunk)

    def do_POST(self) -> None:
        owner, started = self.server.owner, time.monotonic()
        try:
            length = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            length = -1
        user = self._user()
        if user is None:
            self._refuse(
                401, "authentication required", length, (("WWW-Authenticate", 'Basic realm="harness-cimxml"'),)
            )
            return
        if urlsplit(self.path).path != "/cimom":
            self._refuse(404, "CIM-XML is served at /cimom", length)
            return
        if length < 0 or self.headers.get("Transfer-Encoding"):
            self._refuse(411, "Content-Length required", -1)
            return
        if length > owner.max_body:
            self._refuse(413, f"request body too large (max {owner.max_body} bytes)", length)
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return
        if (self.headers.get("CIMOperation") or "").strip().lower() != "methodcall":
            self._cim_refusal(codec.RequestError(400, "unsupported-operation", "CIMOperation must be MethodCall"))
            return
        host = self.headers.get("Host", "")
        if not _HOST_HDR.match(host):
            host = owner.netloc
        try:
            reply = owner.dispatcher.handle(
                body, host=host, cimmethod=self.headers.get("CIMMethod"), cimobject=self.headers.get("CIMObject")
            )
        except codec.RequestError as exc:
            self._cim_refusal(exc)
            return
        except Hangup as exc:  # the backend's provider is not there: no answer at all
            log.debug("hanging up on %s: %s", self.client_address[0], exc)
            self.close_connection = True
            return
        except Exception:  # never drop the connection on a bug
            log.exception("CIM-XML request processing failed")
            self._send(500, b"internal server error\n", (("Content-Type", "text/plain"),))
            return
        log.debug(
            "%s user=%s %s ns=%s -> CIM status %d (%d bytes, %.1f ms)",
            self.client_address[0],
            user,
            reply.method,
            reply.namespace,
            reply.status,
            len(reply.body),
            (time.monotonic() - started) * 1000,
        )
        self._send(
            200, reply.body, (("Content-Type", 'application/xml; charset="utf-8"'), ("CIMOperation", "MethodResponse"))
        )

    def _cim_refusal(self, exc: codec.RequestError) -> None:
        log.debug("%d %s from %s: %s", exc.status, exc.cimerror, self.client_address[0], exc)
        self._send(exc.status, f"{exc}\n".encode(), (("CIMError", exc.cimerror), ("Content-Type", "text/plain")))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], owner: CIMXMLServer, ssl_context: ssl.SSLContext | None) -> None:
        self.owner = owner
        self.ssl_context = ssl_context
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_context is not None:  # the handshake itself happens in the handler thread
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.owner.is_available()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class CIMXMLServer:
    """A loopback CIM-XML server (DSP0200) over HTTP/HTTPS serving `backend` at ``/cimom``."""

    def __init__(
        self,
        backend: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        tls: bool = False,
        certfile: str | None = None,
        keyfile: str | None = None,
        backend_lock: Any = None,
        available: Callable[[], bool] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        enum_timeout: int = DEFAULT_ENUM_TIMEOUT,
        socket_timeout: float = 60.0,
    ) -> None:
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"CIMXMLServer only binds to loopback addresses, not {host!r}")
        self.host = host
        self.users = dict(users) if users is not None else None
        self.available = available
        self.max_body = max_body
        self.socket_timeout = socket_timeout
        self.dispatcher = CIMXMLDispatcher(backend, backend_lock=backend_lock, default_enum_timeout=enum_timeout)
        self.tls = tls
        self._port = port
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._ca_cert_path: str | None = None
        if tls:
            if certfile is None:
                tmpdir = tempfile.mkdtemp(prefix="cimxml-tls-")
                weakref.finalize(self, shutil.rmtree, tmpdir, True)
                certfile, keyfile = make_self_signed_cert(tmpdir, host if host != "localhost" else "127.0.0.1")
            self._ca_cert_path = certfile
            self._ssl_context = server_ssl_context(certfile, keyfile)

    # -- lifecycle

    def start(self) -> CIMXMLServer:
        if self._server is not None:
            raise RuntimeError("CIMXMLServer already started")
        self._server = _HTTPServer((self.host, self._port), self, self._ssl_context)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"cimxml-{self._port}", daemon=True
        )
        self._thread.start()
        log.debug("CIM-XML server listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.sockets_lock:
            open_sockets = list(server.open_sockets)
        for sock in open_sockets:  # wake handler threads parked on keep-alive connections
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.debug("CIM-XML server on port %d stopped", self._port)

    def __enter__(self) -> CIMXMLServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- properties

    @property
    def port(self) -> int:
        return self._port

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self._port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.netloc}"

    @property
    def ca_cert_path(self) -> str | None:
        """PEM file a client should trust: the generated self-signed cert (or the given certfile)."""
        return self._ca_cert_path

    def is_available(self) -> bool:
        if self.available is None:
            return True
        try:
            return bool(self.available())
        except Exception:
            log.warning("available() callback raised; treating the server as down", exc_info=True)
            return False
