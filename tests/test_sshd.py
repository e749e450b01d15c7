"""The simulated arrays' SSH server, over real SSH on loopback (paramiko and asyncssh clients)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator

import asyncssh
import paramiko
import pytest

from harness.mock.cli_sim import ArrayCLI
from harness.mock.sshd import TOO_MANY, ArraySSHServer
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import Durations, Operation, World
from harness.showrcopy import parse_showrcopy

USER = "3paradm"
PASSWORD = "s3cret-Pw"
TIMEOUT = 10.0


@pytest.fixture
def world() -> World:
    durations = Durations(link_detect=0.05, failover=0.6, recover=0.6, restore=0.4, initial_sync=0.3, resync=0.3)
    return build_world(WorldSpec(topology="pair", groups=1, volumes_per_group=2), durations=durations)


@pytest.fixture
def client_key() -> paramiko.ECDSAKey:
    return paramiko.ECDSAKey.generate()


@pytest.fixture
def async_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
def powered() -> dict[str, bool]:
    return {"on": True}


@pytest.fixture
def server(
    world: World, client_key: paramiko.ECDSAKey, async_key: asyncssh.SSHKey, powered: dict[str, bool]
) -> Iterator[ArraySSHServer]:
    keys = [
        f"{client_key.get_name()} {client_key.get_base64()} test@paramiko",
        async_key.export_public_key("openssh").decode().strip(),
    ]
    srv = ArraySSHServer(
        lambda: ArrayCLI(world, "secondary", poll_interval=0.02),
        users={USER: PASSWORD},
        authorized_keys=keys,
        system_name=world.arrays["secondary"].system_name,
        max_sessions=3,
        available=lambda: powered["on"],
    )
    with srv:
        yield srv


def paramiko_client(srv: ArraySSHServer, **kwargs: object) -> paramiko.SSHClient:
    """A client that accepts exactly the server's published host key (RejectPolicy otherwise)."""
    client = paramiko.SSHClient()
    key_type, b64 = srv.host_key_line.split()
    assert key_type == "ssh-ed25519"
    client.get_host_keys().add(f"[127.0.0.1]:{srv.port}", key_type, paramiko.Ed25519Key(data=base64.b64decode(b64)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    options: dict[str, object] = {"username": USER, "password": PASSWORD}
    options.update(kwargs)
    client.connect("127.0.0.1", port=srv.port, look_for_keys=False, allow_agent=False, timeout=TIMEOUT, **options)
    return client


def exec_(client: paramiko.SSHClient, command: str, stdin: str | None = None) -> tuple[str, str, int]:
    sin, sout, serr = client.exec_command(command, timeout=TIMEOUT)
    if stdin is not None:
        sin.write(stdin)
        sin.flush()
    sin.channel.shutdown_write()
    out, err = sout.read().decode(), serr.read().decode()
    return out, err, sout.channel.recv_exit_status()


def read_until(chan: paramiko.Channel, marker: bytes, deadline: float = TIMEOUT) -> bytes:
    data = b""
    end = time.monotonic() + deadline
    chan.settimeout(0.2)
    while marker not in data:
        if time.monotonic() > end:
            raise AssertionError(f"{marker!r} not seen; got {data!r}")
        try:
            chunk = chan.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    return data


def read_all(chan: paramiko.Channel) -> bytes:
    data = b""
    chan.settimeout(TIMEOUT)
    while chunk := chan.recv(65536):
        data += chunk
    return data


def secondary_group(world: World) -> str:
    return world.groups_on("secondary")[0][0]


def primary_lost(world: World) -> None:
    world.set_power("primary", False)
    time.sleep(world.durations.link_detect + 0.05)
    assert world.target_status("secondary", "primary") == "failed"


# --------------------------------------------------------------------------- login


def test_password_login_and_exec(server: ArraySSHServer, world: World) -> None:
    with paramiko_client(server) as client:
        out, err, status = exec_(client, "showrcopy groups")
    assert (err, status) == ("", 0)
    [group] = parse_showrcopy(out).groups
    assert (group.name, group.role, group.status) == (secondary_group(world), "Secondary", "Started")


def test_wrong_password_is_rejected(server: ArraySSHServer) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(server, password="wrong")
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(server, username="nobody")


def test_unknown_host_key_is_rejected_by_the_client(server: ArraySSHServer) -> None:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException):
        client.connect(
            "127.0.0.1", port=server.port, username=USER, password=PASSWORD, look_for_keys=False, allow_agent=False
        )
    client.close()


def test_key_login_with_paramiko(server: ArraySSHServer, client_key: paramiko.ECDSAKey) -> None:
    with paramiko_client(server, password=None, pkey=client_key) as client:
        out, _, status = exec_(client, "showversion -s")
    assert (out, status) == ("3.1.1 (MU1)\n", 0)


def test_key_login_with_asyncssh(server: ArraySSHServer, async_key: asyncssh.SSHKey) -> None:
    async def main() -> asyncssh.SSHCompletedProcess:
        known = asyncssh.import_known_hosts(f"[127.0.0.1]:{server.port} {server.host_key_line}\n")
        async with asyncssh.connect(
            "127.0.0.1",
            server.port,
            username=USER,
            client_keys=[async_key],
            known_hosts=known,
            agent_path=None,
            password=None,
        ) as conn:
            return await conn.run("showrcopy targets; showrcopy -bogus", check=False)

    result = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert result.exit_status == 1
    assert result.stderr == "Error: Invalid option -bogus\n"
    assert parse_showrcopy(result.stdout).targets[0].status == "ready"


# --------------------------------------------------------------------------- exec


def test_semicolons_stderr_and_exit_status(server: ArraySSHServer) -> None:
    with paramiko_client(server) as client:
        out, err, status = exec_(client, "showversion ; frobnicate; showsys")
        assert status == 0 and 'Error: invalid command name "frobnicate"' in err
        assert out.startswith("Release version ") and "---Name" in out
        out, err, status = exec_(client, "showsys; setrcopygroup restore -f nosuch")
        assert status == 1
        assert err == "Error: group matching nosuch does not exist on the system\n"
        assert "error" not in out.lower()


def test_confirmation_answered_over_stdin(server: ArraySSHServer, world: World) -> None:
    group = secondary_group(world)
    primary_lost(world)
    with paramiko_client(server) as client:
        out, err, status = exec_(client, f"setrcopygroup failover {group}", stdin="n\n")
        assert (status, err) == (0, "")
        assert out == f"Are you sure you want to failover group(s) {group}?\nselect q=quit y=yes n=no: "
        assert world.groups_on("secondary")[0][1][0].side("secondary").role.value == "Secondary"

        out, err, status = exec_(client, f"setrcopygroup failover {group}", stdin="y\n")
        assert (status, err) == (0, "")
        assert out.startswith("Are you sure")
        assert f"Failover started for group {group} (task " in out
    assert world.groups_on("secondary")[0][1][0].side("secondary").role.value == "Primary-Rev"


def test_waittask_blocks_until_done(server: ArraySSHServer, world: World) -> None:
    group = secondary_group(world)
    primary_lost(world)
    with paramiko_client(server) as client:
        started = time.monotonic()
        out, err, status = exec_(client, f"setrcopygroup failover -f -waittask {group}")
        elapsed = time.monotonic() - started
        assert (status, err) == (0, "")
        assert elapsed >= world.durations.failover * 0.9
        assert out.splitlines()[-1].startswith("Task ") and out.endswith(" done\n")
        assert not world.operation_running("secondary", group)

        world.set_power("primary", True)
        world.arm_failure(Operation.RECOVER)
        out, err, status = exec_(client, f"setrcopygroup recover -f -waittask {group}")
        assert status == 1
        assert err == "Error: remote copy link lost\n"
        assert "Recover started" in out


# --------------------------------------------------------------------------- interactive shell


def test_interactive_shell_with_pty(server: ArraySSHServer, world: World) -> None:
    prompt = f"{world.arrays['secondary'].system_name} cli% ".encode()
    with paramiko_client(server) as client:
        chan = client.invoke_shell()
        assert read_until(chan, prompt) == prompt
        chan.send(b"setclienv csvtable 1\nshowrcopy groups\n")
        text = prompt + read_until(chan, b"LastSyncTime\r\n")
        chan.send(b"exit\n")
        text += read_all(chan)
        assert chan.recv_exit_status() == 0
    lines = text.decode().split("\r\n")
    assert lines[0] == prompt.decode() + "setclienv csvtable 1"  # echoed after the prompt
    assert lines[1] == prompt.decode() + "showrcopy groups"
    assert lines[-2:] == [prompt.decode() + "exit", ""]
    output = "\n".join(lines[2:]).split(prompt.decode() + "exit")[0]
    assert parse_showrcopy(output).groups[0].name == secondary_group(world)
    assert "Name,Target,Status,Role,Mode,Options" in output


def test_interactive_shell_confirmation_reads_the_next_line(server: ArraySSHServer, world: World) -> None:
    group = secondary_group(world)
    primary_lost(world)
    prompt = f"{world.arrays['secondary'].system_name} cli% ".encode()
    with paramiko_client(server) as client:
        chan = client.invoke_shell()
        read_until(chan, prompt)
        chan.send(f"setrcopygroup failover {group}\n".encode())
        assert b"select q=quit y=yes n=no: " in read_until(chan, b"n=no: ")
        chan.send(b"y\n")
        assert b"Failover started" in read_until(chan, prompt)
        chan.send(b"exit\n")
        read_all(chan)
    assert world.groups_on("secondary")[0][1][0].side("secondary").role.value == "Primary-Rev"


def test_shell_without_pty(server: ArraySSHServer, async_key: asyncssh.SSHKey) -> None:
    async def main() -> tuple[str, str, int | None]:
        known = asyncssh.import_known_hosts(f"[127.0.0.1]:{server.port} {server.host_key_line}\n")
        async with asyncssh.connect(
            "127.0.0.1", server.port, username=USER, password=PASSWORD, known_hosts=known, client_keys=None
        ) as conn:
            result = await conn.run(input="showversion -s\nfrobnicate\nexit\n", term_type=None, check=False)
            return str(result.stdout), str(result.stderr), result.exit_status

    out, err, status = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert status == 0
    prompt = f"{server.system_name} cli% "
    assert out == f"{prompt}3.1.1 (MU1)\n{prompt}{prompt}"  # no echo without a pty
    assert err == 'Error: invalid command name "frobnicate"\n'


# --------------------------------------------------------------------------- limits and power


def test_session_cap(server: ArraySSHServer) -> None:
    prompt = f"{server.system_name} cli% ".encode()
    clients = [paramiko_client(server) for _ in range(server.max_sessions)]
    try:
        shells = []
        for client in clients:
            chan = client.invoke_shell()
            read_until(chan, prompt)
            shells.append(chan)
        with paramiko_client(server) as extra:
            out, err, status = exec_(extra, "showversion -s")
            assert (out, err.strip()) == ("", TOO_MANY)
            assert status != 0
            shells[0].send(b"exit\n")
            read_all(shells[0])
            time.sleep(0.1)
            out, err, status = exec_(extra, "showversion -s")
            assert (out, err, status) == ("3.1.1 (MU1)\n", "", 0)
    finally:
        for client in clients:
            client.close()


def test_powered_off_array_refuses_connections(server: ArraySSHServer, powered: dict[str, bool]) -> None:
    prompt = f"{server.system_name} cli% ".encode()
    with paramiko_client(server) as client:
        chan = client.invoke_shell()
        read_until(chan, prompt)
        powered["on"] = False
        read_all(chan)  # the open session is dropped
        assert chan.closed or chan.eof_received
    with pytest.raises((paramiko.SSHException, OSError, EOFError)):
        paramiko_client(server)

    async def attempt() -> None:
        known = asyncssh.import_known_hosts(f"[127.0.0.1]:{server.port} {server.host_key_line}\n")
        async with asyncssh.connect(
            "127.0.0.1", server.port, username=USER, password=PASSWORD, known_hosts=known, client_keys=None
        ):
            pass

    with pytest.raises((asyncssh.Error, OSError)):
        asyncio.run(asyncio.wait_for(attempt(), TIMEOUT))
    powered["on"] = True
    with paramiko_client(server) as client:
        assert exec_(client, "showversion -s")[2] == 0


def test_host_key_persisted_at_path(tmp_path: object, world: World) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "keys" / "host_ed25519"
    with ArraySSHServer(lambda: ArrayCLI(world, "primary"), users={USER: PASSWORD}, host_key_path=path) as first:
        line = first.host_key_line
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    with ArraySSHServer(lambda: ArrayCLI(world, "primary"), users={USER: PASSWORD}, host_key_path=path) as again:
        assert again.host_key_line == line
        with paramiko_client(again) as client:
            assert exec_(client, "showversion -s")[2] == 0
