"""The harness's SSH side (paramiko) against a simulated array's SSH server: host keys, logins, transcripts."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from harness.array_cli import ArrayCli, CliError, HostKeyMismatch, SshEndpoint, Transcript, parse_host_key
from harness.mock.cli_sim import ArrayCLI
from harness.mock.sshd import ArraySSHServer
from harness.mock.topology import WorldSpec, build_world

PASSWORD = "s3cret-pw"
PASSPHRASE = "key-passphrase"


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An ed25519 key encrypted with a passphrase, and its public line."""
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path_factory.mktemp("keys") / "id_ed25519"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return path, public.decode()


@pytest.fixture(scope="module")
def server(client_key: tuple[Path, str]) -> Iterator[ArraySSHServer]:
    world = build_world(WorldSpec(groups=1, volumes_per_group=1))
    with ArraySSHServer(
        lambda: ArrayCLI(world, "primary"),
        users={"3paradm": PASSWORD},
        authorized_keys=[client_key[1]],
        system_name=world.arrays["primary"].system_name,
    ) as srv:
        yield srv


def cli_for(server: ArraySSHServer, transcript: Transcript | None = None, **overrides: object) -> ArrayCli:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "user": "3paradm",
        "password": lambda: PASSWORD,
        "host_key": server.host_key_line,
        "timeout": 10,
        "connect_retries": 1,
    }
    settings.update(overrides)
    return ArrayCli("primary", SshEndpoint(**settings), transcript or Transcript())  # type: ignore[arg-type]


def other_host_key() -> str:
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return raw.decode()


def test_commands_run_and_land_in_the_transcript(server: ArraySSHServer) -> None:
    transcript = Transcript()
    cli = cli_for(server, transcript)
    try:
        ok = cli.run("showsys")
        refused = cli.run("setrcopygroup restore -f nosuchgroup")
    finally:
        cli.close()
    assert ok.ok and "s3par-sim-a" in ok.stdout and ok.ref == "cli-0"
    assert not refused.ok and refused.error_text().startswith("Error:") and refused.ref == "cli-1"
    assert [e.command for e in transcript.entries] == ["showsys", "setrcopygroup restore -f nosuchgroup"]
    assert PASSWORD not in repr(transcript.entries)


def test_a_different_host_key_stops_before_login(server: ArraySSHServer) -> None:
    cli = cli_for(server, host_key=other_host_key())
    with pytest.raises(HostKeyMismatch, match="does not match the configured one"):
        cli.run("showsys")


def test_wrong_password_is_named_as_a_login_problem(server: ArraySSHServer) -> None:
    cli = cli_for(server, password=lambda: "wrong")
    with pytest.raises(CliError, match=r"SSH login rejected; check ssh\.user and the password or key"):
        cli.run("showsys")


def test_login_with_an_encrypted_key_and_its_passphrase(server: ArraySSHServer, client_key: tuple[Path, str]) -> None:
    cli = cli_for(server, password=None, key_file=str(client_key[0]), key_passphrase=lambda: PASSPHRASE)
    try:
        assert cli.run("showversion").ok
    finally:
        cli.close()


def test_a_closed_port_says_what_to_check() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cli = ArrayCli("primary", SshEndpoint("127.0.0.1", port, host_key=other_host_key(), timeout=5), Transcript())
    with pytest.raises(CliError, match=r"cannot connect over SSH .*check host and port"):
        cli.run("showsys")


def test_host_key_lines_with_or_without_a_host_field() -> None:
    line = other_host_key()
    assert parse_host_key(line).get_name() == "ssh-ed25519"
    assert parse_host_key(f"[10.0.0.1]:22 {line} comment").get_base64() == line.split()[1]
    with pytest.raises(CliError, match="not a valid ssh-ed25519 key"):
        parse_host_key("ssh-ed25519 AAAAnotbase64!!")


def test_a_signal_during_a_command_of_the_main_thread_never_lands_inside_the_ssh_exchange(
    server: ArraySSHServer,
) -> None:
    """The interrupt reaches the waiting main thread; the exchange itself completes (its result still reaches
    the transcript) and the connection, which the poller shares, keeps working."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt("SIGALRM as SIGINT")

    transcript = Transcript()
    cli = cli_for(server, transcript)
    group = "rcg_sync_0"
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        assert cli.run(f"stoprcopygroup -f {group}").ok
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            cli.run(f"startrcopygroup -wait {group}")  # returns once the volumes resynced (about 1 s)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(transcript.entries) < 2:
            time.sleep(0.05)
        done = threading.Thread(target=lambda: cli.run("showrcopy groups"), daemon=True)
        done.start()
        done.join(timeout=10)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        cli.close()
    assert [(e.command, e.status) for e in transcript.entries][:2] == [
        (f"stoprcopygroup -f {group}", 0), (f"startrcopygroup -wait {group}", 0)]
    assert not done.is_alive(), "a command after the interrupt hangs"


def test_commands_of_several_threads_on_one_connection_all_get_their_exit_status(server: ArraySSHServer) -> None:
    """Quick commands from pollers beside a DR command on the same connection: none loses its channel to a
    stray EOF of another (without the fix about one command in 40 ended with exit status -1 here)."""
    transcript = Transcript()
    cli = cli_for(server, transcript)
    group = "rcg_sync_0"
    stop = time.monotonic() + 8

    def poll() -> None:
        while time.monotonic() < stop:
            cli.run("showrcopy targets")
            cli.run(f"showrcopy groups {group}")

    pollers = [threading.Thread(target=poll, daemon=True) for _ in range(2)]
    try:
        for poller in pollers:
            poller.start()
        while time.monotonic() < stop:
            cli.run(f"stoprcopygroup -f {group}")
            cli.run(f"startrcopygroup -wait {group}")
        for poller in pollers:
            poller.join(timeout=30)
    finally:
        cli.close()
    odd = [(e.command, e.status, e.stderr) for e in transcript.entries if e.status != 0]
    assert odd == [] and len(transcript.entries) > 100, odd
