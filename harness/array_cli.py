"""The SSH side: a paramiko session to one array's CLI, commands with transcripts.

Host keys are always verified (a configured key line or a known_hosts file); a
mismatch stops the run. Errors from the array are recognised by a non-zero exit
status (the text starts with `Error:` on stderr), never by searching stdout.
"""

from __future__ import annotations

import base64
import binascii
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import paramiko

TOO_MANY_SESSIONS = "Too many local CLI connections."
BROKEN_SESSION = -2
"""Exit status recorded for a command whose SSH session broke before the array answered. Not -1: paramiko
gives -1 for a channel the array closed without an exit status, which is the array's answer."""
SESSION_BROKE = "the SSH session broke while running"


def session_broke(result: CliResult) -> bool:
    """Whether a transcript entry is a broken session, not an answer (transcripts written before
    BROKEN_SESSION was -2 gave it -1, with this module's message)."""
    return result.status == BROKEN_SESSION or (result.status == -1 and SESSION_BROKE in result.stderr)


class CliError(Exception):
    """The CLI could not be reached or used; the message names the cause and what to do."""


class HostKeyMismatch(CliError):
    """The array presented a host key other than the configured one: stop, do not talk to it."""


@dataclass(frozen=True)
class SshEndpoint:
    host: str
    port: int = 22
    user: str = "3paradm"
    password: Callable[[], str] | None = None
    key_file: str | None = None
    key_passphrase: Callable[[], str | None] | None = None
    host_key: str | None = None  # "ssh-ed25519 AAAA..." as in known_hosts without the host field
    known_hosts: str | None = None
    timeout: float = 30.0
    connect_retries: int = 5


@dataclass(frozen=True)
class CliResult:
    array: str
    command: str
    stdout: str
    stderr: str
    status: int
    t_start: float
    t_end: float
    ref: str = ""  # id in the run's transcript, set when recorded

    @property
    def ok(self) -> bool:
        return self.status == 0

    def error_text(self) -> str:
        text = (self.stderr or self.stdout).strip()
        return text or f"exit status {self.status}"


@dataclass
class Transcript:
    """Every command sent to every array and what came back, in order (evidence).

    With a `sink`, each command is handed on twice as it happens: when sent (`"state": "sent"`, so a
    run killed mid-command still shows what it sent) and when it ended (the whole result, same `ref`).
    An `observer` is told each ref as its command is sent, in the sending thread (the run's recording
    ties the commands of a sample to it: harness.recording).
    """

    entries: list[CliResult] = field(default_factory=list)
    sink: Callable[[dict[str, Any]], None] | None = None
    observer: Callable[[str], None] | None = None
    _sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, array: str, command: str, t_start: float) -> str:
        """Note a command as it leaves; returns its ref for `add`."""
        with self._lock:
            ref = f"cli-{self._sent}"
            self._sent += 1
        if self.observer is not None:
            self.observer(ref)
        if self.sink is not None:
            self.sink({"ref": ref, "array": array, "command": command, "t_start": t_start, "state": "sent"})
        return ref

    def add(self, result: CliResult, ref: str | None = None) -> CliResult:
        recorded = replace(result, ref=ref or self.send(result.array, result.command, result.t_start))
        with self._lock:
            self.entries.append(recorded)
        if self.sink is not None:
            self.sink({**asdict(recorded), "state": "ended"})
        return recorded


class ArrayCli:
    """One SSH connection to an array; each command runs on its own exec channel."""

    def __init__(
        self, array: str, endpoint: SshEndpoint, transcript: Transcript, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.array = array
        self.endpoint = endpoint
        self.transcript = transcript
        self.clock = clock
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def run(self, command: str, stdin: str | None = None, timeout: float | None = None) -> CliResult:
        """Run one command line; a lost connection is re-established once.

        From the main thread, where a signal raises KeyboardInterrupt, the exchange runs on a thread of its
        own and the interrupt lands in the wait for it, never inside paramiko: the poller shares this
        connection's transport, and an interrupt between paramiko's lock and its `try` leaves the lock held
        and every later command to the array hanging. The interrupted command goes on; its result still
        reaches the transcript."""
        if threading.current_thread() is not threading.main_thread():
            return self._run(command, stdin, timeout)
        future: Future[CliResult] = Future()

        def exchange() -> None:
            try:
                future.set_result(self._run(command, stdin, timeout))
            except BaseException as exc:  # handed to the waiting thread
                future.set_exception(exc)

        threading.Thread(target=exchange, name=f"cli-{self.array}", daemon=True).start()
        return future.result()

    def _run(self, command: str, stdin: str | None, timeout: float | None) -> CliResult:
        for attempt in (1, 2):
            client = self._connected()
            t_start = self.clock()
            ref = self.transcript.send(self.array, command, t_start)
            try:
                result = self._exec(client, command, stdin, timeout or self.endpoint.timeout, t_start)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                self.close()
                message = f"{self._where()}: {SESSION_BROKE} {command!r}: {exc}"
                broken = CliResult(self.array, command, "", message, BROKEN_SESSION, t_start, self.clock())
                self.transcript.add(broken, ref)
                if attempt == 2:
                    raise CliError(message) from None
                continue
            return self.transcript.add(result, ref)
        raise AssertionError("unreachable")

    def _exec(
        self, client: paramiko.SSHClient, command: str, stdin: str | None, timeout: float, t_start: float
    ) -> CliResult:
        chan_in, chan_out, chan_err = client.exec_command(command, timeout=timeout)
        if stdin is not None:
            chan_in.write(stdin)
            chan_in.flush()
            chan_in.channel.shutdown_write()
        # Without input no EOF is sent: a command the array ends at once may have its channel closed (and its
        # number reused for another thread's command) before the EOF goes out, and paramiko sends it anyway:
        # the server takes it for the new channel's (asyncssh then drops that channel: exit status -1).
        stdout = chan_out.read().decode(errors="replace")
        stderr = chan_err.read().decode(errors="replace")
        status = chan_out.channel.recv_exit_status()
        return CliResult(self.array, command, stdout, stderr, status, t_start, self.clock())

    def _where(self) -> str:
        return f"{self.array} ({self.endpoint.user}@{self.endpoint.host}:{self.endpoint.port})"

    def _connected(self) -> paramiko.SSHClient:
        with self._lock:
            transport = self._client.get_transport() if self._client is not None else None
            if self._client is not None and transport is not None and transport.is_active():
                return self._client
            self._client = self._connect()
            return self._client

    def _connect(self) -> paramiko.SSHClient:
        delay = 0.5
        for attempt in range(1, self.endpoint.connect_retries + 1):
            try:
                return self._connect_once()
            except CliError as exc:
                if TOO_MANY_SESSIONS not in str(exc) or attempt == self.endpoint.connect_retries:
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _connect_once(self) -> paramiko.SSHClient:
        ep = self.endpoint
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self._trust_host_key(client)
        password = ep.password() if ep.password else None
        try:
            client.connect(
                ep.host,
                port=ep.port,
                sock=_tcp_nodelay(socket.create_connection((ep.host, ep.port), timeout=ep.timeout)),
                username=ep.user,
                password=password,
                key_filename=ep.key_file,
                passphrase=ep.key_passphrase() if ep.key_passphrase else None,
                timeout=ep.timeout,
                banner_timeout=ep.timeout,
                auth_timeout=ep.timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException as exc:
            raise HostKeyMismatch(
                f"{self._where()}: the host key does not match the configured one (got {exc.key.get_name()} "
                f"{exc.key.get_base64()[:24]}...); refusing to talk to this host. If the array was re-keyed, "
                "update ssh.host_key in the config after verifying the new key."
            ) from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise HostKeyMismatch(
                    f"{self._where()}: the host key is unknown; set ssh.host_key or ssh.known_hosts in the config"
                ) from None
            if isinstance(exc, paramiko.AuthenticationException):
                raise CliError(f"{self._where()}: SSH login rejected; check ssh.user and the password or key") from None
            raise CliError(f"{self._where()}: SSH failed: {exc}") from None
        except TimeoutError:
            raise CliError(f"{self._where()}: no SSH answer within {ep.timeout:g}s; check host and port") from None
        except EOFError:
            raise CliError(f"{self._where()}: the SSH server closed the connection during login") from None
        except OSError as exc:
            reason = exc.strerror or exc
            raise CliError(f"{self._where()}: cannot connect over SSH ({reason}); check host and port") from None
        return client

    def _trust_host_key(self, client: paramiko.SSHClient) -> None:
        ep = self.endpoint
        if ep.known_hosts:
            try:
                client.load_host_keys(str(Path(ep.known_hosts).expanduser()))
            except OSError as exc:
                where = self._where()
                raise CliError(f"{where}: cannot read ssh.known_hosts {ep.known_hosts}: {exc.strerror}") from None
        if ep.host_key:
            name = ep.host if ep.port == 22 else f"[{ep.host}]:{ep.port}"
            key = parse_host_key(ep.host_key)
            client.get_host_keys().add(name, key.get_name(), key)


def _tcp_nodelay(sock: socket.socket) -> socket.socket:
    """Small SSH packets must leave at once: with Nagle on, each command waited ~40 ms for a delayed ACK."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def parse_host_key(line: str) -> paramiko.PKey:
    """A host key line ("ssh-ed25519 AAAA... [comment]", optionally led by host names) as a paramiko key."""
    parts = line.split()
    if len(parts) >= 3 and not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        parts = parts[1:]
    if len(parts) < 2:
        raise CliError(f"ssh.host_key {line[:40]!r} is not a key line like 'ssh-ed25519 AAAA...'")
    try:
        return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1]))
    except (binascii.Error, paramiko.SSHException, ValueError) as exc:
        raise CliError(f"ssh.host_key is not a valid {parts[0]} key: {exc}") from None
