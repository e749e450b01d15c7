"""An SSH server hosting the simulated CLI of one array (asyncssh, loopback, background thread).

    with ArraySSHServer(lambda: ArrayCLI(world, "primary"), users={"3paradm": pw},
                        system_name="s3par-sim-a", available=lambda: arr.powered) as srv:
        srv.port, srv.host_key_line

* Password and public-key login (keys from `authorized_keys`, OpenSSH lines,
  accepted for any user in `users`, or for any user when `users` is empty).
* Exec channel: the command line runs through `ArrayCLI.run` in a thread pool
  (never on the event loop); stdout and stderr stay separate; the exit status is
  the last command's. A confirmation prompt is written to stdout and answered by
  the next line the client sends on stdin (end of input: not confirmed).
* Shell channel (with or without a pty): ``<SystemName> cli% `` prompt, the input
  line echoed after the prompt when a pty was requested (output newlines become
  CRLF then), ``exit`` closes with status 0. Lines typed ahead are queued: the
  next command, or the answer to a confirmation prompt.
* More than `max_sessions` open session channels: the new one gets
  ``Too many local CLI connections.`` on stderr and exit status 1.
* While `available()` is False (array powered off) new TCP connections are reset
  at once, and open connections are dropped within a fraction of a second.

Passwords are never logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hmac
import logging
import os
import socket
import struct
import threading
import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal, Protocol

from cryptography.utils import CryptographyDeprecationWarning

with warnings.catch_warnings():  # asyncssh names DSA key types at import; cryptography >= 47 warns about it
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import asyncssh

from harness.mock.cli_sim import CommandResult, Confirm, OutputSink, SessionEnv

log = logging.getLogger("harness.mock.sshd")

TOO_MANY = "Too many local CLI connections."
_WATCH_INTERVAL = 0.2


class Unreachable(Exception):
    """Raised by a CLI backend whose array is not there for this command: the server drops the connection
    without an answer, as it does for a powered-off array (harness.mock.replay plays a recorded outage)."""


class CliBackend(Protocol):
    """What the server runs command lines on: the simulated CLI (`ArrayCLI`), or a recorded run's
    (harness.mock.replay_serve)."""

    def run(self, command_line: str, *, confirm: Confirm | None = None, session: SessionEnv | None = None,
            output: OutputSink | None = None, abort: threading.Event | None = None) -> CommandResult: ...  # fmt: skip


class ArraySSHServer:
    """One array's SSH endpoint; `start()`/`stop()` or use as a context manager."""

    def __init__(
        self,
        cli_factory: Callable[[], CliBackend],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: dict[str, str] | None = None,
        authorized_keys: list[str] | None = None,
        host_key_path: str | Path | None = None,
        system_name: str = "3PAR",
        max_sessions: int = 24,
        available: Callable[[], bool] | None = None,
        confirm_timeout: float = 300.0,
    ) -> None:
        self.cli_factory = cli_factory
        self.host = host
        self._requested_port = port
        self.users = dict(users or {})
        self.system_name = system_name
        self.max_sessions = max_sessions
        self.available = available or (lambda: True)
        self.confirm_timeout = confirm_timeout
        self._authorized = (
            asyncssh.import_authorized_keys("\n".join(authorized_keys) + "\n") if authorized_keys else None
        )
        self._host_key = _load_host_key(host_key_path)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._conns: set[asyncssh.SSHServerConnection] = set()
        self._sessions: set[_CLISession] = set()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._abort = threading.Event()
        self._options: asyncssh.SSHServerConnectionOptions | None = None
        self.port = 0

    # ----------------------------------------------------------------- lifecycle
    @property
    def host_key_line(self) -> str:
        """The public host key as an OpenSSH line, ``ssh-ed25519 AAAA...`` (no comment)."""
        public = self._host_key.export_public_key("openssh").decode()
        return " ".join(public.split()[:2])

    @property
    def prompt(self) -> str:
        return f"{self.system_name} cli% "

    def start(self) -> ArraySSHServer:
        if self._thread is not None:
            return self
        self._abort.clear()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.max_sessions + 4, thread_name_prefix=f"cli-{self.system_name}"
        )
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run_loop, name=f"sshd-{self.system_name}", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._abort.set()
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
            except (concurrent.futures.TimeoutError, RuntimeError):
                log.warning("ssh server %s did not close cleanly", self.system_name)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not loop.is_running():
            loop.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._loop = self._thread = self._executor = None

    def __enter__(self) -> ArraySSHServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run_loop(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    async def _open(self) -> None:
        self._options = asyncssh.SSHServerConnectionOptions(
            server_factory=functools.partial(_Server, self),
            server_host_keys=[self._host_key],
            encoding=None,
            line_editor=False,
            allow_pty=True,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=30,
        )
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._spawn(self._accept_loop())
        self._spawn(self._watch_power())

    async def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for session in list(self._sessions):
            session.abandon()
        for conn in list(self._conns):
            conn.abort()
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        assert self._loop is not None
        task: asyncio.Task[None] = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ----------------------------------------------------------------- connections
    async def _accept_loop(self) -> None:
        assert self._loop is not None and self._sock is not None
        while True:
            try:
                conn_sock, _ = await self._loop.sock_accept(self._sock)
            except (OSError, asyncio.CancelledError):
                return
            if not self._is_available():
                _reset(conn_sock)
                continue
            self._spawn(self._serve(conn_sock))

    async def _serve(self, conn_sock: socket.socket) -> None:
        try:
            await asyncssh.run_server(conn_sock, options=self._options)
        except (TimeoutError, asyncssh.Error, OSError) as exc:
            log.debug("ssh connection to %s ended during login: %s", self.system_name, exc)

    async def _watch_power(self) -> None:
        """A powered-off array drops its sessions."""
        while True:
            await asyncio.sleep(_WATCH_INTERVAL)
            if self._conns and not self._is_available():
                for session in list(self._sessions):
                    session.abandon()
                for conn in list(self._conns):
                    conn.abort()

    def _is_available(self) -> bool:
        try:
            return bool(self.available())
        except Exception:  # a broken callback must not kill the accept loop
            log.exception("available() failed for %s", self.system_name)
            return False

    def _check_password(self, username: str, password: str) -> bool:
        expected = self.users.get(username)
        if expected is None:
            return False
        return hmac.compare_digest(expected.encode(), password.encode())


class _Server(asyncssh.SSHServer):
    def __init__(self, owner: ArraySSHServer) -> None:
        self.owner = owner
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.owner._conns.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.owner._conns.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        owner = self.owner
        if owner._authorized is not None and self.conn is not None and (not owner.users or username in owner.users):
            self.conn.set_authorized_keys(owner._authorized)
        return True

    def password_auth_supported(self) -> bool:
        return bool(self.owner.users)

    def validate_password(self, username: str, password: str) -> bool:
        ok = self.owner._check_password(username, password)
        if not ok:
            log.info("ssh login to %s refused for user %r (password)", self.owner.system_name, username)
        return ok

    def public_key_auth_supported(self) -> bool:
        return self.owner._authorized is not None

    def session_requested(self) -> _CLISession:
        assert self.conn is not None
        return _CLISession(self.owner, self.conn)


class _CLISession(asyncssh.SSHServerSession):
    """One session channel: an exec command or an interactive shell."""

    def __init__(self, owner: ArraySSHServer, conn: asyncssh.SSHServerConnection) -> None:
        self.owner = owner
        self.conn = conn
        self.loop = asyncio.get_running_loop()
        self.chan: asyncssh.SSHServerChannel | None = None
        self.pty = False
        self.command: str | None = None
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.partial = bytearray()
        self.last_cr = False
        self.counted = False
        self.closed = False
        self.eof = False

    # ----------------------------------------------------------------- asyncssh callbacks
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes: object) -> bool:
        self.pty = True
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command.decode("utf-8", "replace") if isinstance(command, bytes) else command
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def session_started(self) -> None:
        owner = self.owner
        if len(owner._sessions) >= owner.max_sessions:
            self._write(TOO_MANY + "\n", stderr=True)
            self._exit(1)
            return
        owner._sessions.add(self)
        self.counted = True
        owner._spawn(self._exec() if self.command is not None else self._shell())

    def data_received(self, data: bytes, datatype: int | None) -> None:
        for byte in data:
            char = bytes([byte])
            if char == b"\n" and self.last_cr:
                self.last_cr = False
                continue
            self.last_cr = char == b"\r"
            if char in (b"\r", b"\n"):
                self._line_done()
            elif self.pty and char in (b"\x7f", b"\x08"):
                del self.partial[-1:]
            elif self.pty and char == b"\x03":
                self.partial.clear()
            elif self.pty and char == b"\x04" and not self.partial:
                self.eof_received()
            else:
                self.partial.extend(char)

    def eof_received(self) -> bool:
        if self.partial:
            self._line_done()
        self.eof = True
        self.lines.put_nowait(None)
        return True  # keep our side open: output and the exit status are still to come

    def connection_lost(self, exc: Exception | None) -> None:
        self.abandon()

    # ----------------------------------------------------------------- helpers
    def abandon(self) -> None:
        """The channel is gone (or the server stops): release anything waiting for input."""
        if self.counted:
            self.owner._sessions.discard(self)
            self.counted = False
        self.closed = True
        self.lines.put_nowait(None)

    def _line_done(self) -> None:
        self.lines.put_nowait(self.partial.decode("utf-8", "replace"))
        self.partial.clear()

    async def _next_line(self) -> str | None:
        line = await self.lines.get()
        if line is None:
            self.lines.put_nowait(None)  # end of input stays the end
        return line

    def _write(self, text: str, stderr: bool = False) -> None:
        if self.closed or self.chan is None or not text:
            return
        if self.pty:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        data = text.encode("utf-8", "replace")
        try:
            if stderr:
                self.chan.write_stderr(data)
            else:
                self.chan.write(data)
        except (asyncssh.Error, OSError, BrokenPipeError) as exc:
            log.debug("write to closed channel: %s", exc)

    def _write_threadsafe(self, stream: Literal["stdout", "stderr"], text: str) -> None:
        self.loop.call_soon_threadsafe(self._write, text, stream == "stderr")

    def _exit(self, status: int) -> None:
        if self.chan is not None and not self.closed:
            try:
                self.chan.exit(status)
            except (asyncssh.Error, OSError) as exc:
                log.debug("exit on closed channel: %s", exc)
        self.abandon()

    async def _ask(self, prompt: str) -> str:
        self._write(prompt)
        line = await self._next_line()
        if line is None:
            self._write("\n")
            raise EOFError
        if self.pty:
            self._write(line + "\n")
        return line

    def _confirm_threadsafe(self, prompt: str) -> str:
        """Called from the worker thread running the command: wait for the next input line."""
        future = asyncio.run_coroutine_threadsafe(self._ask(prompt), self.loop)
        try:
            return future.result(timeout=self.owner.confirm_timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise EOFError from None
        except concurrent.futures.CancelledError:
            raise EOFError from None

    async def _run(self, cli: CliBackend, line: str, env: SessionEnv) -> CommandResult:
        call = functools.partial(
            cli.run,
            line,
            confirm=self._confirm_threadsafe,
            session=env,
            output=self._write_threadsafe,
            abort=self.owner._abort,
        )
        return await self.loop.run_in_executor(self.owner._executor, call)

    async def _exec(self) -> None:
        assert self.command is not None
        try:
            result = await self._run(self.owner.cli_factory(), self.command, SessionEnv())
        except asyncio.CancelledError:
            raise
        except Unreachable as exc:
            log.debug("dropping the connection to %s: %s", self.owner.system_name, exc)
            self.abandon()
            self.conn.abort()
            return
        except Exception:
            log.exception("command failed on %s", self.owner.system_name)
            self._write("Error: internal error in the simulated CLI\n", stderr=True)
            self._exit(1)
            return
        self._exit(result.status)

    async def _shell(self) -> None:
        cli = self.owner.cli_factory()
        env = SessionEnv()
        while not self.closed:
            self._write(self.owner.prompt)
            line = await self._next_line()
            if line is None:
                break
            if self.pty:
                self._write(line + "\n")
            if not line.strip():
                continue
            try:
                result = await self._run(cli, line, env)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("command failed on %s", self.owner.system_name)
                self._write("Error: internal error in the simulated CLI\n", stderr=True)
                continue
            if result.exit_session:
                break
        self._exit(0)


def _load_host_key(path: str | Path | None) -> asyncssh.SSHKey:
    """The key at `path` (generated and saved there if missing), or a fresh ed25519 key."""
    if path is None:
        return asyncssh.generate_private_key("ssh-ed25519")
    path = Path(path)
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key("openssh"))
    return key


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset: the connection is refused as abruptly as we can after accept()."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
