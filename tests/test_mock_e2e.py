"""The simulated arrays end to end, through their real protocols, as a client sees them.

`smis-harness mock serve` runs as a subprocess for the command-line contract and the CIM
client interoperability checks (pywbem, pywbemcli, sblim-wbemcli over HTTPS). The DR
sequences start `SimulatedArrays` in-process and then touch it only through its protocols:
SSH (paramiko, host key pinned from the JSON description), the HTTP control interface and
CIM-XML over HTTPS (pywbem). Timed mechanics run on short durations; every wait polls with
a deadline, and an in-progress state must be seen before its end state or the test fails.

These are integration tests of the mock, not of the harness: nothing from harness outside
harness.mock is used.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import paramiko
import pytest
import pywbem
from pywbem import CIMInstance, CIMInstanceName

from harness.mock.deviations import Deviations
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import Durations
from tests.server_output import first_json_line

T = TypeVar("T")

RSS = "TPD_RemoteStorageSynchronized"
GROUP_CLASS = "TPD_RemoteReplicationGroup"
MEMBER_CLASS = "TPD_RemoteReplicationGroupMember"
STATE_PROPS = ["CopyState", "SyncState", "ProgressStatus"]
STARTUP_TIMEOUT = 60.0
EXIT_TIMEOUT = 10.0
WAIT_TIMEOUT = 30.0
IO_TIMEOUT = 15.0
CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

# (CopyState, SyncState, ProgressStatus) of TPD_RemoteStorageSynchronized
State = tuple[int, int | None, int]
SYNCHRONIZED: State = (4, 6, 2)  # Synchronized / Synchronized / Completed
BROKEN: State = (5, 12, 2)  # Broken / Broken / Completed
FAILING_OVER: State = (10, 12, 11)  # FailedOver / Broken / Failing Over
FAILED_OVER: State = (10, 12, 2)  # FailedOver / Broken / Completed
RECOVERING: State = (3, 10, 8)  # Unsynchronized / RestoreInProgress / Restoring
FAILING_BACK: State = (4, 6, 12)  # Synchronized / Synchronized / Failing Back
NEW: State = (2, 5, 19)  # Initialized / ResyncInProgress / Requires Activate
NOT_SYNCED: State = (5, 12, 2)  # Broken / Broken / Completed
STALE: State = (13, 12, 2)  # Skewed / Broken / Completed
STOPPED: State = (8, 14, 3)  # Inactive / Frozen / Dormant
BACKUP: State = (2, 2, 3)  # Initialized / Initialized / Dormant

# Long enough that an in-progress state is seen by polling on a loaded machine, short enough for a suite.
DR_DURATIONS = Durations(
    link_detect=0.3, failover=3.0, recover=3.0, restore=3.0, initial_sync=0.5, resync=0.5, periodic_sync=0.5
)

ARRAY_FIELDS = {
    "system_name", "serial", "cim_url", "namespace", "interop_namespace", "user", "password", "ca_cert",
    "ssh_host", "ssh_port", "ssh_user", "ssh_password", "ssh_host_key",
}  # fmt: skip


# =============================================================================== polling
def wait_for(what: str, probe: Callable[[], T], ok: Callable[[T], bool], timeout: float = WAIT_TIMEOUT) -> T:
    """Poll `probe` until `ok` holds; fail with the last value seen once the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {value!r}")
        time.sleep(0.05)


def catch_in_progress(what: str, probe: Callable[[], T], during: T, after: T, timeout: float = WAIT_TIMEOUT) -> T:
    """Poll until `probe` shows `during`; fail if `after` (the end state) shows up first."""
    seen: list[T] = []

    def ok(value: T) -> bool:
        if value == after:
            raise AssertionError(f"{what}: reached {after!r} without showing {during!r}; seen {seen!r}")
        if not seen or seen[-1] != value:
            seen.append(value)
        return value == during

    return wait_for(what, probe, ok, timeout)


# =============================================================================== `mock serve` subprocess
@dataclass
class Served:
    proc: subprocess.Popen[str]
    info: dict[str, Any]


def serve_command() -> list[str]:
    """`smis-harness mock serve`: the installed console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("smis-harness")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]
    return [*base, "mock", "serve"]


def start_serve(*args: str) -> Served:
    """Start `smis-harness mock serve ARGS` and read its JSON line (with a deadline)."""
    proc = subprocess.Popen(
        [*serve_command(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Served(proc, first_json_line(proc, "mock serve", lambda: proc.communicate(timeout=EXIT_TIMEOUT)[1],
                                        STARTUP_TIMEOUT))


def stop_serve(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM) -> tuple[int, str, str]:
    """Signal the server and collect (exit status, remaining stdout, stderr); kill it if it hangs."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"mock serve did not exit within {EXIT_TIMEOUT}s of {sig.name}") from None
    return proc.returncode, out, err


# =============================================================================== clients
def client_env() -> dict[str, str]:
    """The environment for CIM client subprocesses: no CA bundle override, so --ca-certs decides."""
    return {k: v for k, v in os.environ.items() if k not in CA_VARS}


def require_client(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (on PATH)"
        if os.environ.get("SMIS_REQUIRE_ALL_CLIENTS") == "1":
            pytest.fail(f"{message}, and SMIS_REQUIRE_ALL_CLIENTS=1")
        pytest.skip(message)
    return path


def cim(array: dict[str, Any]) -> pywbem.WBEMConnection:
    """A pywbem connection that trusts exactly the array's generated certificate."""
    conn = pywbem.WBEMConnection(
        array["cim_url"],
        (array["user"], array["password"]),
        default_namespace=array["namespace"],
        ca_certs=array["ca_cert"],
        timeout=IO_TIMEOUT,
    )
    conn.session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace ca_certs
    return conn


def state_of(inst: CIMInstance) -> State:
    copy, sync, progress = (inst[name] for name in STATE_PROPS)
    return int(copy), None if sync is None else int(sync), int(progress)


def group_pairs(array: dict[str, Any], group: str) -> list[CIMInstance]:
    """The group's TPD_RemoteStorageSynchronized, read as the harness reads them: group -> members -> References."""
    conn = cim(array)
    try:
        groups = [g for g in conn.EnumerateInstanceNames(GROUP_CLASS) if g["InstanceID"].endswith(f":{group}")]
        assert len(groups) == 1, f"group {group} on {array['system_name']}: {groups}"
        volumes = conn.AssociatorNames(groups[0], AssocClass=MEMBER_CLASS, ResultClass="TPD_StorageVolume")
        pairs: list[CIMInstance] = []
        for vol in volumes:
            pairs.extend(conn.References(vol, ResultClass=RSS, PropertyList=STATE_PROPS))
        assert pairs, f"no pairs for group {group}"
        return pairs
    finally:
        conn.close()


def group_state(array: dict[str, Any], group: str) -> State | set[State]:
    """The state every pair of the group shows, or the set of differing states."""
    states = {state_of(p) for p in group_pairs(array, group)}
    return next(iter(states)) if len(states) == 1 else states


@dataclass
class CLIResult:
    stdout: str
    stderr: str
    status: int


def ssh(array: dict[str, Any], command: str) -> CLIResult:
    """Run one CLI command over SSH, accepting exactly the host key the description published."""
    client = paramiko.SSHClient()
    key_type, b64 = array["ssh_host_key"].split()[:2]
    assert key_type == "ssh-ed25519"
    host_id = f"[{array['ssh_host']}]:{array['ssh_port']}"
    client.get_host_keys().add(host_id, key_type, paramiko.Ed25519Key(data=base64.b64decode(b64)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        array["ssh_host"],
        port=array["ssh_port"],
        username=array["ssh_user"],
        password=array["ssh_password"],
        look_for_keys=False,
        allow_agent=False,
        timeout=IO_TIMEOUT,
        banner_timeout=IO_TIMEOUT,
        auth_timeout=IO_TIMEOUT,
    )
    with client:
        stdin, stdout, stderr = client.exec_command(command, timeout=IO_TIMEOUT)
        stdin.close()
        out, err = stdout.read().decode(), stderr.read().decode()
        return CLIResult(out, err, stdout.channel.recv_exit_status())


def cli_ok(array: dict[str, Any], command: str) -> str:
    result = ssh(array, command)
    assert result.status == 0 and not result.stderr, f"{command}: {result}"
    return result.stdout


@dataclass
class GroupBlock:
    """One block of `showrcopy groups`: a group toward one target, with its volumes' SyncStatus."""

    name: str
    target: str
    status: str
    role: str
    mode: str
    sync: list[str] = field(default_factory=list)

    @property
    def summary(self) -> tuple[str, str, str]:
        """(Role, Status, the common SyncStatus without a percentage, or 'mixed')."""
        base = {s.split()[0] for s in self.sync}
        return self.role, self.status, base.pop() if len(base) == 1 else "mixed"


def parse_groups(text: str) -> list[GroupBlock]:
    """The group blocks of plain-text `showrcopy groups` (header words decide which lines are rows)."""
    blocks: list[GroupBlock] = []
    in_groups = False
    for line in text.splitlines():
        if line.startswith("Group Information"):
            in_groups = True
            continue
        words = line.split()
        if not in_groups or not words or words[0] in ("Name", "LocalVV"):
            continue
        if line.startswith(" "):  # LocalVV ID RemoteVV ID SyncStatus LastSyncTime ("NA" or "<date> <time> <zone>")
            blocks[-1].sync.append(" ".join(words[4 : -1 if words[-1] == "NA" else -3]))
        else:
            blocks.append(GroupBlock(*words[:5]))
    return blocks


def show_group(array: dict[str, Any], group: str) -> tuple[str, str, str]:
    """(Role, Status, SyncStatus) of a single-target group, from `showrcopy groups <group>` over SSH."""
    blocks = parse_groups(cli_ok(array, f"showrcopy groups {group}"))
    assert [b.name for b in blocks] == [group], blocks
    return blocks[0].summary


def control(info: dict[str, Any], action: str, **fields: Any) -> dict[str, Any]:
    """POST one control request; raise with the server's error text on a refusal."""
    body = json.dumps({"action": action, **fields}).encode()
    request = urllib.request.Request(
        info["control"]["url"],
        data=body,
        headers={"Authorization": f"Bearer {info['control']['token']}", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=IO_TIMEOUT) as reply:
            return json.load(reply)
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"control {action} refused ({exc.code}): {exc.read().decode()}") from None


def group_summary(info: dict[str, Any], name: str) -> dict[str, Any]:
    """The control `state` summary of the replication named `name` on its source."""
    [group] = [g for g in control(info, "state")["state"]["groups"] if g["name"] == name]
    return group


def secondary_name(info: dict[str, Any], group: str) -> str:
    """The group's name on a secondary: `<group>.r<system id of the primary>`."""
    return f"{group}.r{info['arrays']['primary']['system_id']}"


# =============================================================================== fixtures
@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """`smis-harness mock serve --topology pair --groups 2`, shared by the read-only client tests."""
    server = start_serve("--topology", "pair", "--groups", "2")
    try:
        yield server
    finally:
        stop_serve(server.proc)


@pytest.fixture
def dr_pair() -> Iterator[dict[str, Any]]:
    """An in-process pair on DR_DURATIONS; tests reach it only through its protocols (its description)."""
    with SimulatedArrays(WorldSpec(topology="pair", groups=2), durations=DR_DURATIONS) as sim:
        yield sim.describe()


# =============================================================================== `mock serve`
def test_serve_prints_one_json_line_with_every_documented_field(served: Served) -> None:
    info = served.info
    assert set(info) == {"topology", "groups", "arrays", "control"}
    assert info["topology"] == "pair"
    assert info["groups"] == ["rcg_sync_0", "rcg_periodic_1"]
    assert set(info["arrays"]) == {"primary", "secondary"}
    for key, array in info["arrays"].items():
        assert set(array) >= ARRAY_FIELDS, f"{key}: missing {ARRAY_FIELDS - set(array)}"
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", array["cim_url"]), array["cim_url"]
        assert (array["namespace"], array["interop_namespace"]) == ("root/tpd", "interop")
        assert array["user"] and array["password"] and array["ssh_user"] and array["ssh_password"]
        assert Path(array["ca_cert"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert array["ssh_host"] == "127.0.0.1" and isinstance(array["ssh_port"], int)
        assert re.fullmatch(r"ssh-ed25519 [A-Za-z0-9+/=]+", array["ssh_host_key"])
    primary, secondary = info["arrays"]["primary"], info["arrays"]["secondary"]
    assert primary["system_name"] != secondary["system_name"] and primary["serial"] != secondary["serial"]
    assert primary["password"] != secondary["password"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/control", info["control"]["url"])
    assert info["control"]["token"]
    # the published identities are the ones the arrays report
    assert f" {primary['system_name']} " in cli_ok(primary, "showsys")
    assert control(info, "state")["state"]["arrays"]["primary"]["powered"] is True


def test_control_requires_the_token(served: Served) -> None:
    wrong = {**served.info, "control": {**served.info["control"], "token": "not-the-token"}}
    with pytest.raises(AssertionError, match=r"\(401\)"):
        control(wrong, "state")
    with pytest.raises(AssertionError, match=r"\(400\).*unknown array"):
        control(served.info, "array_down", array="tertiary")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_exits_0_promptly_on_signal(sig: signal.Signals) -> None:
    server = start_serve("--groups", "1")
    started = time.monotonic()
    status, rest, err = stop_serve(server.proc, sig)
    assert status == 0, err
    assert time.monotonic() - started < EXIT_TIMEOUT
    assert rest == "", "nothing but the one JSON line goes to stdout"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("deviations:\n  - id: typo\n    cim: {CopyStat: Broken}\n", ["typo", "CopyStat"]),
        ("deviations:\n  - id: extra\n    colour: red\n", ["colour"]),
        ("deviations:\n  - id: bad-value\n    cim: {CopyState: Brokn}\n", ["bad-value", "Brokn"]),
        ("deviations: [\n", ["YAML"]),
    ],
    ids=["unknown-property", "unknown-key", "unknown-value-name", "not-yaml"],
)
def test_serve_refuses_a_broken_deviations_file(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    proc = subprocess.run(
        [*serve_command(), "--deviations", str(path)], capture_output=True, text=True, timeout=STARTUP_TIMEOUT
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("smis-harness mock serve: "), proc.stderr
    assert all(n in proc.stderr for n in needles), proc.stderr


def test_serve_sld_lists_three_arrays() -> None:
    server = start_serve("--topology", "sld", "--groups", "1")
    try:
        info = server.info
        assert info["topology"] == "sld"
        assert list(info["arrays"]) == ["primary", "sync_secondary", "periodic_secondary"]
        assert all(set(a) >= ARRAY_FIELDS for a in info["arrays"].values())
        assert len({a["cim_url"] for a in info["arrays"].values()}) == 3
    finally:
        status, _, err = stop_serve(server.proc)
    assert status == 0, err


# =============================================================================== three CIM clients
def _expect_four_synchronized_pairs(states: list[State], modes: list[int]) -> None:
    assert states == [SYNCHRONIZED] * 4
    assert sorted(modes) == [2, 2, 3, 3]  # Synchronous (rcg_sync_0), Asynchronous (rcg_periodic_1)


def test_pywbem_reads_pairs_over_https(served: Served) -> None:
    primary = served.info["arrays"]["primary"]
    conn = cim(primary)
    try:
        pairs = conn.EnumerateInstances(RSS)
    finally:
        conn.close()
    _expect_four_synchronized_pairs([state_of(p) for p in pairs], [int(p["Mode"]) for p in pairs])
    for p in pairs:
        assert p["SystemElement"]["SystemName"] == primary["serial"]
        assert p["SyncedElement"]["SystemName"] == served.info["arrays"]["secondary"]["serial"]
        assert p["RoleReversed"] is False and p["SyncMaintained"] is True


def test_pywbem_refuses_an_untrusted_certificate(served: Served) -> None:
    primary, secondary = served.info["arrays"]["primary"], served.info["arrays"]["secondary"]
    conn = cim({**primary, "ca_cert": secondary["ca_cert"]})
    with pytest.raises(pywbem.ConnectionError):
        conn.EnumerateInstanceNames(RSS)


def test_pywbemcli_reads_pairs_over_https(served: Served) -> None:
    tool = require_client("pywbemcli")
    primary = served.info["arrays"]["primary"]
    base = [
        tool, "-s", primary["cim_url"], "-u", primary["user"], "-p", primary["password"],
        "--ca-certs", primary["ca_cert"], "-C", os.devnull, "-d", primary["namespace"],
    ]  # fmt: skip

    def run(*args: str) -> str:
        proc = subprocess.run([*base, *args], capture_output=True, text=True, env=client_env(), timeout=120)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc.stdout

    mof = run("instance", "enumerate", RSS)
    assert mof.count(f"instance of {RSS} {{") == 4
    found = re.findall(r"CopyState = (\d+);\s+SyncState = (\d+);\s+ProgressStatus = (\d+);", mof)
    states = [(int(c), int(s), int(p)) for c, s, p in found]
    _expect_four_synchronized_pairs(states, [int(m) for m in re.findall(r"\bMode = (\d+);", mof)])
    table = run("-o", "table", "instance", "enumerate", RSS, "--pl", "CopyState", "--pl", "ProgressStatus")
    assert table.count("4 (Synchronized)") == 4 and table.count("2 (Completed)") == 4, table


def test_wbemcli_reads_pairs_over_https(served: Served) -> None:
    tool = require_client("wbemcli")
    primary = served.info["arrays"]["primary"]
    port = primary["cim_url"].rsplit(":", 1)[1]
    url = f"https://{primary['user']}:{primary['password']}@127.0.0.1:{port}/{primary['namespace']}:{RSS}"
    proc = subprocess.run(
        [tool, "ei", "-cacert", primary["ca_cert"], url], capture_output=True, text=True, env=client_env(), timeout=60
    )
    assert proc.returncode == 0 and not proc.stderr, proc.stderr + proc.stdout
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and all(f":{RSS}.SystemElement=" in line for line in lines), proc.stdout
    states = [
        tuple(map(int, m.groups()))
        for line in lines
        if (m := re.search(r",CopyState=(\d+),SyncState=(\d+),ProgressStatus=(\d+),", line))
    ]
    _expect_four_synchronized_pairs(states, [int(m) for m in re.findall(r",Mode=(\d+),", proc.stdout)])
    assert all(f'SystemName="{primary["serial"]}"' in line for line in lines)


def test_wbemserver_finds_interop_and_replication_services_profile(served: Served) -> None:
    primary = served.info["arrays"]["primary"]
    conn = cim(primary)
    try:
        server = pywbem.WBEMServer(conn)
        assert server.interop_ns == primary["interop_namespace"]
        assert primary["namespace"] in server.namespaces
        [profile] = server.get_selected_profiles("SNIA", "Replication Services", "1.4.0")
        assert profile["RegisteredVersion"] == "1.4.0"
        [service] = server.get_central_instances(profile.path)
        assert service.classname == "TPD_ReplicationService"
        assert service["SystemName"] == primary["serial"]
    finally:
        conn.close()


def test_refusals_over_ssh_leave_the_pair_untouched(served: Served) -> None:
    info = served.info
    primary, secondary = info["arrays"]["primary"], info["arrays"]["secondary"]
    remote = secondary_name(info, "rcg_sync_0")
    refused = ssh(secondary, f"setrcopygroup failover -f {remote}")  # started, link up
    assert refused.status != 0 and re.search(r"^Error: .*not stopped$", refused.stderr, re.M), refused
    refused = ssh(secondary, f"setrcopygroup recover -f {remote}")  # never failed over
    assert refused.status != 0 and refused.stderr.startswith("Error: "), refused
    refused = ssh(primary, "setrcopygroup failover -f rcg_sync_0")  # not the secondary
    assert refused.status != 0 and "secondary" in refused.stderr, refused
    refused = ssh(primary, "showrcopy groups no_such_group")
    assert refused.status != 0 and "no_such_group" in refused.stderr, refused
    assert show_group(primary, "rcg_sync_0") == ("Primary", "Started", "Synced")
    assert group_state(secondary, remote) == SYNCHRONIZED


# =============================================================================== Table 107: the DR sequence
def test_table107_dr_sequence_through_the_protocols(dr_pair: dict[str, Any]) -> None:
    info = dr_pair
    primary, secondary = info["arrays"]["primary"], info["arrays"]["secondary"]
    group = "rcg_sync_0"
    remote = secondary_name(info, group)
    assert show_group(secondary, remote) == ("Secondary", "Started", "Synced")
    assert group_state(primary, group) == group_state(secondary, remote) == SYNCHRONIZED

    # primary down: it answers nothing; the secondary notices the lost link
    control(info, "array_down", array="primary")
    with pytest.raises(pywbem.ConnectionError):
        cim(primary).EnumerateInstanceNames(RSS)
    with pytest.raises((paramiko.SSHException, OSError, EOFError)):
        ssh(primary, "showrcopy")
    wait_for("the secondary to stop the group", lambda: show_group(secondary, remote),
             lambda s: s[:2] == ("Secondary", "Stopped"))  # fmt: skip
    wait_for("Broken on the secondary", lambda: group_state(secondary, remote), lambda s: s == BROKEN)

    # failover on the secondary: FailedOver / Broken / Failing Over while it runs
    out = cli_ok(secondary, f"setrcopygroup failover -f {remote}")
    assert f"Failover started for group {remote}" in out
    catch_in_progress("failover", lambda: group_state(secondary, remote), FAILING_OVER, FAILED_OVER)
    assert show_group(secondary, remote)[:2] == ("Primary-Rev", "Stopped")
    wait_for("the failover to end", lambda: group_state(secondary, remote), lambda s: s == FAILED_OVER)
    assert show_group(secondary, remote)[:2] == ("Primary-Rev", "Stopped")

    # the primary returns and learns it is the reversed secondary
    control(info, "array_up", array="primary")
    wait_for("the primary to turn Secondary-Rev", lambda: show_group(primary, group),
             lambda s: s[:2] == ("Secondary-Rev", "Stopped"))  # fmt: skip
    assert group_state(primary, group) == BROKEN

    # recover from the secondary: both sides sync back, Unsynchronized / RestoreInProgress / Restoring
    out = cli_ok(secondary, f"setrcopygroup recover -f {remote}")
    assert f"Recover started for group {remote}" in out
    catch_in_progress("recover", lambda: group_state(secondary, remote), RECOVERING, SYNCHRONIZED)
    assert show_group(secondary, remote) == ("Primary-Rev", "Started", "Syncing")
    assert show_group(primary, group) == ("Secondary-Rev", "Started", "Syncing")
    assert group_state(primary, group) == RECOVERING
    wait_for("the recover to end", lambda: group_state(secondary, remote), lambda s: s == SYNCHRONIZED)
    assert show_group(secondary, remote) == ("Primary-Rev", "Started", "Synced")
    assert show_group(primary, group) == ("Secondary-Rev", "Started", "Synced")
    assert group_state(primary, group) == SYNCHRONIZED

    # a second recover on the started group is refused and changes nothing
    refused = ssh(secondary, f"setrcopygroup recover -f {remote}")
    assert refused.status != 0 and re.search(r"^Error: .*not stopped$", refused.stderr, re.M), refused
    assert group_summary(info, group)["operation"] is None

    # restore: Failing Back while it runs, then natural roles, synced
    out = cli_ok(secondary, f"setrcopygroup restore -f {remote}")
    assert f"Restore started for group {remote}" in out
    catch_in_progress("restore", lambda: group_state(secondary, remote), FAILING_BACK, SYNCHRONIZED)
    assert group_state(primary, group) == FAILING_BACK
    wait_for("the restore to end", lambda: show_group(secondary, remote),
             lambda s: s == ("Secondary", "Started", "Synced"))  # fmt: skip
    assert show_group(primary, group) == ("Primary", "Started", "Synced")
    assert group_state(primary, group) == group_state(secondary, remote) == SYNCHRONIZED
    assert group_summary(info, group)["last_result"] == {"operation": "restore", "ok": True}


# =============================================================================== Table 106: volume states
def test_table106_states_through_the_protocols(dr_pair: dict[str, Any]) -> None:
    info = dr_pair
    primary, secondary = info["arrays"]["primary"], info["arrays"]["secondary"]
    group, other = "rcg_sync_0", "rcg_periodic_1"
    remote = secondary_name(info, group)

    control(info, "reset_to_new", array="primary", group=group)
    assert show_group(primary, group) == ("Primary", "Stopped", "New")
    assert group_state(primary, group) == group_state(secondary, remote) == NEW

    cli_ok(primary, f"startrcopygroup {group}")
    wait_for("the initial sync", lambda: show_group(primary, group), lambda s: s == ("Primary", "Started", "Synced"))
    assert group_state(primary, group) == SYNCHRONIZED

    control(info, "force_sync_status", array="primary", group=group, status="NotSynced")
    assert show_group(primary, group) == ("Primary", "Started", "NotSynced")
    assert group_state(primary, group) == NOT_SYNCED

    control(info, "force_sync_status", array="primary", group=group, status="Stale")
    assert show_group(primary, group) == ("Primary", "Started", "Stale")
    assert group_state(primary, group) == STALE

    cli_ok(primary, f"stoprcopygroup -f {group}")
    assert show_group(primary, group) == ("Primary", "Stopped", "Stopped")
    assert show_group(secondary, remote) == ("Secondary", "Stopped", "Stopped")
    assert group_state(primary, group) == group_state(secondary, remote) == STOPPED

    assert group_state(primary, other) == SYNCHRONIZED  # the other group never moved


# =============================================================================== SLD backup link
def test_sld_backup_group_on_both_secondaries() -> None:
    with SimulatedArrays(WorldSpec(topology="sld", groups=1, volumes_per_group=2)) as sim:
        info = sim.describe()
        arrays = info["arrays"]
        sync_sec, periodic_sec = arrays["sync_secondary"], arrays["periodic_secondary"]
        backup_name = secondary_name(info, "rcg_sld_0")
        for me, peer in ((sync_sec, periodic_sec), (periodic_sec, sync_sec)):
            blocks = parse_groups(cli_ok(me, "showrcopy groups"))
            backup = [b for b in blocks if b.target == peer["system_name"]]
            assert [(b.name, b.role, b.status) for b in backup] == [(backup_name, "Secondary", "Backup")]
            active = [b for b in blocks if b.target == arrays["primary"]["system_name"]]
            assert [(b.name, b.summary) for b in active] == [(backup_name, ("Secondary", "Started", "Synced"))]

        for me in (sync_sec, periodic_sec):
            conn = cim(me)
            try:
                pairs = conn.EnumerateInstances(RSS)
            finally:
                conn.close()
            backup_pairs = [p for p in pairs if p["SystemElement"]["SystemName"] != arrays["primary"]["serial"]]
            assert [state_of(p) for p in backup_pairs] == [BACKUP, BACKUP]
            for p in backup_pairs:  # SystemElement is the sync secondary's volume, on both ends of the link
                assert p["SystemElement"]["SystemName"] == sync_sec["serial"]
                assert p["SyncedElement"]["SystemName"] == periodic_sec["serial"]
            assert sorted(state_of(p) for p in pairs if p not in backup_pairs) == [SYNCHRONIZED] * 2


# =============================================================================== deviations
DEVIATIONS_YAML = """\
deviations:
  - id: secondary-reports-skewed
    array: secondary
    when: {role: Secondary, sync_status: Synced}
    cim: {CopyState: Skewed}
  - id: secondary-cli-says-stale
    array: secondary
    when: {group_status: Started}
    cli: {sync_status: Stale}
"""


def _pairs_by_key(array: dict[str, Any]) -> dict[tuple[str, str], CIMInstance]:
    """Every pair on `array`, keyed by its (SystemElement, SyncedElement) volumes, host left out."""
    conn = cim(array)
    try:
        pairs = conn.EnumerateInstances(RSS)
    finally:
        conn.close()

    def key(ref: CIMInstanceName) -> str:
        return f"{ref['SystemName']}/{ref['DeviceID']}"

    return {(key(p["SystemElement"]), key(p["SyncedElement"])): p for p in pairs}


def _differences(honest: dict[str, Any], deviant: dict[str, Any]) -> dict[tuple[str, str], dict[str, tuple]]:
    """Per pair, the properties whose values differ between two servers of one world."""
    h, d = _pairs_by_key(honest), _pairs_by_key(deviant)
    assert set(h) == set(d)
    out: dict[tuple[str, str], dict[str, tuple]] = {}
    for key in h:
        assert set(h[key].properties) == set(d[key].properties)
        changed = {n: (h[key][n], d[key][n]) for n in h[key].properties if h[key][n] != d[key][n]}
        if changed:
            out[key] = changed
    return out


def test_deviation_file_changes_exactly_the_matching_values(tmp_path: Path) -> None:
    path = tmp_path / "deviations.yaml"
    path.write_text(DEVIATIONS_YAML)
    spec = WorldSpec(topology="pair", groups=2)
    world = build_world(spec, durations=DR_DURATIONS)
    # two front ends on one world: the same state, served conformant and deviant
    with SimulatedArrays(spec, world=world) as honest_sim, \
            SimulatedArrays(spec, world=world, deviations=Deviations.load(path)) as deviant_sim:  # fmt: skip
        honest, deviant = honest_sim.describe(), deviant_sim.describe()
        remote_sync = secondary_name(honest, "rcg_sync_0")
        remote_periodic = secondary_name(honest, "rcg_periodic_1")

        assert _differences(honest["arrays"]["primary"], deviant["arrays"]["primary"]) == {}
        diffs = _differences(honest["arrays"]["secondary"], deviant["arrays"]["secondary"])
        assert len(diffs) == 4 and all(d == {"CopyState": (4, 13)} for d in diffs.values()), diffs
        assert show_group(honest["arrays"]["secondary"], remote_sync) == ("Secondary", "Started", "Synced")
        assert show_group(deviant["arrays"]["secondary"], remote_sync) == ("Secondary", "Started", "Stale")
        assert show_group(deviant["arrays"]["primary"], "rcg_sync_0") == ("Primary", "Started", "Synced")

        # once rcg_sync_0 is stopped its pairs match neither rule; rcg_periodic_1 still does
        cli_ok(deviant["arrays"]["primary"], "stoprcopygroup -f rcg_sync_0")
        diffs = _differences(honest["arrays"]["secondary"], deviant["arrays"]["secondary"])
        assert len(diffs) == 2 and all(d == {"CopyState": (4, 13)} for d in diffs.values()), diffs
        assert group_state(deviant["arrays"]["secondary"], remote_sync) == STOPPED
        assert group_state(deviant["arrays"]["secondary"], remote_periodic) == (13, 6, 2)
        assert show_group(deviant["arrays"]["secondary"], remote_sync) == ("Secondary", "Stopped", "Stopped")
        assert show_group(deviant["arrays"]["secondary"], remote_periodic) == ("Secondary", "Started", "Stale")


def test_transient_zero_makes_failover_in_progress_unobservable(tmp_path: Path) -> None:
    path = tmp_path / "transient.yaml"
    path.write_text("deviations:\n  - id: instant-failover\n    transient: {operation: failover, seconds: 0}\n")
    spec = WorldSpec(topology="pair", groups=1)
    with SimulatedArrays(spec, durations=DR_DURATIONS, deviations=Deviations.load(path)) as sim:
        info = sim.describe()
        secondary = info["arrays"]["secondary"]
        remote = secondary_name(info, "rcg_sync_0")
        control(info, "array_down", array="primary")
        wait_for("Broken on the secondary", lambda: group_state(secondary, remote), lambda s: s == BROKEN)
        cli_ok(secondary, f"setrcopygroup failover -f {remote}")
        # the very first look after the command already shows the end state
        assert group_state(secondary, remote) == FAILED_OVER
        summary = group_summary(info, "rcg_sync_0")
        assert summary["operation"] is None and summary["last_result"] == {"operation": "failover", "ok": True}
        assert show_group(secondary, remote)[:2] == ("Primary-Rev", "Stopped")


# =============================================================================== OS 10.5 arrays, periodic groups
SYNCING: State = (3, 5, 6)  # Unsynchronized / ResyncInProgress / Synchronizing


def periodic_view(array: dict[str, Any], group: str) -> tuple[str, str | None]:
    """(the volumes' common SyncStatus without a percentage, the Last-Sync of the Options) over SSH."""
    text = cli_ok(array, f"showrcopy groups {group}")
    [block] = parse_groups(text)
    match = re.search(r"Last-Sync (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+)", text)
    return block.summary[2], match.group(1) if match else None


def test_serve_10_5_pair_names_its_targets_and_syncs_periodic_groups_every_period() -> None:
    server = start_serve("--behaviour", "10.5", "--period", "2")
    try:
        arrays = server.info["arrays"]
        primary, secondary = arrays["primary"], arrays["secondary"]
        # targets named as on the captured pair; -d shows the peer behind each truthfully
        for array, peer in ((primary, secondary), (secondary, primary)):
            text = cli_ok(array, "showrcopy -d targets")
            header, row = text.rstrip("\n").split("\n")[-2:]
            assert header.split() == ["Name", "ID", "Type", "Status", "Options", "Version", "Policy", "Socks",
                                      "Buffsz", "SysName", "SysID", "RemoteName", "RemoteID"]  # fmt: skip
            cells = row.split()
            assert cells[0] == secondary["system_name"]  # on the secondary too: not named after its peer
            assert (cells[9], int(cells[10]), cells[11]) == (peer["system_name"], peer["system_id"], cells[0])
        # one system id text in showsys and showsys -d; the release as OS 10.5 prints it
        ident = cli_ok(primary, "showsys").split("\n")[2].split()[0]
        assert ident == f"0x{primary['system_id']:X}"
        assert re.search(rf"^System ID +: +{ident}$", cli_ok(primary, "showsys -d"), re.M)
        assert cli_ok(primary, "showversion").startswith("Release version 10.5")
        # every 2 s the periodic group copies its changes: Syncing on both interfaces, then a later Last-Sync
        group, remote = "rcg_periodic_1", secondary_name(server.info, "rcg_periodic_1")
        _, before = periodic_view(primary, group)
        assert before is not None and "Period 2s" in cli_ok(primary, f"showrcopy groups {group}")
        wait_for("a Syncing window in the CLI", lambda: periodic_view(secondary, remote)[0], lambda s: s == "Syncing")
        wait_for("a Syncing window in CIM", lambda: group_state(primary, group), lambda s: s == SYNCING)
        wait_for("Last-Sync to advance", lambda: periodic_view(primary, group),
                 lambda v: v[0] == "Synced" and v[1] is not None and v[1] > before)  # fmt: skip
        assert group_state(secondary, remote) in (SYNCHRONIZED, SYNCING)
    finally:
        stop_serve(server.proc)
