"""Target configuration: loading, error reporting, secrets handling, built-in targets, simulated arrays."""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import (
    ARRAY_KEYS,
    ConfigError,
    ManualAction,
    ScriptAction,
    SimForceSyncStatus,
    SimResetToNew,
    TargetConfig,
    bind_group,
    builtin_config,
    control_body,
    is_simulator_action,
    load_config,
)
from harness.mock.cimxml_tls import make_self_signed_cert

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
LAB_ENV = (
    "SMIS_PRIMARY_PASSWORD",
    "SMIS_SECONDARY_PASSWORD",
    "SMIS_PRIMARY_SSH_PASSWORD",
    "SMIS_SECONDARY_SSH_PASSWORD",
)
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
FILE_NAME = "target-under-test.yaml"

CIM_SECRET = "Cim-S3cr3t-from-env-7f1a"
SSH_SECRET = "Ssh-S3cr3t-from-file-9b2c"


# --------------------------------------------------------------------------- helpers


def real_pair() -> dict[str, Any]:
    """A valid target for a real pair (env vars T_<KEY>_CIM / T_<KEY>_SSH, ca.pem and pdu next to the file)."""
    arrays = {}
    for index, key in enumerate(ARRAY_KEYS["pair"]):
        arrays[key] = {
            "identity": {"system_name": f"lab-{key}", "serial": f"161234{index}"},
            "cim": {
                "url": f"https://10.0.0.{index + 1}:5989",
                "user": "smisuser",
                "password_env": f"T_{key.upper()}_CIM",
                "ca_cert": "ca.pem",
            },
            "ssh": {
                "host": f"10.0.0.{index + 1}",
                "user": "3paradm",
                "password_env": f"T_{key.upper()}_SSH",
                "host_key": HOST_KEY,
            },
        }
    return {
        "topology": "pair",
        "groups": ["rcg_lab"],
        "arrays": arrays,
        "events": {
            "primary_down": {"kind": "manual", "prompt": "power off the primary"},
            "primary_up": {"kind": "script", "command": ["./pdu", "on", "12"], "timeout": 60},
        },
    }


def simulated_pair() -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / "mock-pair.yaml").read_text())


@functools.cache
def ca_pem() -> str:
    """A real PEM certificate (ca_cert must hold one)."""
    with tempfile.TemporaryDirectory() as directory:
        cert, _ = make_self_signed_cert(directory)
        return Path(cert).read_text()


def lab_files(directory: Path) -> None:
    """The files real_pair() names: ca.pem and an executable ./pdu."""
    (directory / "ca.pem").write_text(ca_pem())
    (directory / "pdu").write_text("#!/bin/sh\nexit 0\n")
    (directory / "pdu").chmod(0o755)


def lab_example(directory: Path) -> Path:
    """fixtures/lab-example.yaml as a user fills it in: copied, with the CA certificates it names."""
    (directory / "certs").mkdir()
    for name in ("3par-lab-a-ca.pem", "3par-lab-b-ca.pem"):
        (directory / "certs" / name).write_text(ca_pem())
    path = directory / "lab-example.yaml"
    path.write_text((FIXTURES / "lab-example.yaml").read_text())
    return path


@pytest.fixture
def lab_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in ARRAY_KEYS["pair"]:
        monkeypatch.setenv(f"T_{key.upper()}_CIM", f"cim-{key}")
        monkeypatch.setenv(f"T_{key.upper()}_SSH", f"ssh-{key}")
    lab_files(tmp_path)
    return tmp_path


def write(tmp_path: Path, data: dict[str, Any] | str) -> Path:
    path = tmp_path / FILE_NAME
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert FILE_NAME in message or path.name in message
    assert "Traceback" not in message
    assert "errors.pydantic.dev" not in message
    assert "For further information" not in message
    assert info.value.__cause__ is None
    return message


def describe(topology: str = "pair", port: int = 40000) -> dict[str, Any]:
    """Shaped like SimulatedArrays.describe()."""
    groups = ["rcg_sync_0", "rcg_periodic_1"] if topology == "pair" else ["rcg_sld_0"]
    arrays = {}
    for index, key in enumerate(ARRAY_KEYS[topology]):
        arrays[key] = {
            "system_name": f"s3par-sim-{'abc'[index]}",
            "serial": f"1600{index}",
            "system_id": 90000 + index,
            "cim_url": f"https://127.0.0.1:{port + 2 * index}",
            "namespace": "root/tpd",
            "interop_namespace": "interop",
            "user": "smisuser",
            "password": f"sim-cim-password-{key}-{port}",
            "ca_cert": f"/tmp/sim-{port}/cert.pem",
            "ssh_host": "127.0.0.1",
            "ssh_port": port + 2 * index + 1,
            "ssh_user": "3paradm",
            "ssh_password": f"sim-ssh-password-{key}-{port}",
            "ssh_host_key": HOST_KEY.replace("AAAAAAAA", "AQEBAQEB") + " comment",
        }
    return {
        "topology": topology,
        "groups": groups,
        "arrays": arrays,
        "control": {"url": f"http://127.0.0.1:{port + 99}/control", "token": f"sim-control-token-{port}"},
    }


def secrets_of(info: dict[str, Any]) -> list[str]:
    values = [info["control"]["token"]]
    for array in info["arrays"].values():
        values += [array["password"], array["ssh_password"]]
    return values


# --------------------------------------------------------------------------- valid files


def test_mock_pair_fixture_loads() -> None:
    config = load_config(FIXTURES / "mock-pair.yaml")
    assert config.topology == "pair"
    assert config.is_simulated and config.arrays is None
    assert config.groups == ["rcg_sync_0", "rcg_periodic_1"], "the default tours its sync and its periodic group"
    assert config.simulated is not None and config.simulated.behaviour == "3.1"
    assert is_simulator_action(config.events.primary_down)
    assert config.faults.sync_status_stale is not None
    assert config.source.endswith("mock-pair.yaml")


def test_mock_sld_fixture_loads() -> None:
    config = load_config(FIXTURES / "mock-sld.yaml")
    assert config.topology == "sld"
    assert config.array_keys == ("primary", "sync_secondary", "periodic_secondary")
    assert config.groups == ["rcg_sld_0"]


def test_lab_example_loads_with_env_vars(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in LAB_ENV:
        monkeypatch.setenv(name, f"value-of-{name}")
    config = load_config(lab_example(tmp_path))
    assert config.topology == "pair" and not config.is_simulated
    assert config.safety.disruptive is False
    assert not config.disruptive_allowed(True)
    primary = config.array("primary")
    assert primary.key == "primary"
    assert primary.cim.url == "https://10.0.0.1:5989"
    assert primary.cim.interop_namespace is None
    assert primary.cim.ca_cert == tmp_path / "certs" / "3par-lab-a-ca.pem"  # relative to the file
    assert primary.identity is not None and primary.identity.serial == "1612345"
    assert primary.cim_password() == "value-of-SMIS_PRIMARY_PASSWORD"
    assert primary.ssh_password() == "value-of-SMIS_PRIMARY_SSH_PASSWORD"
    assert isinstance(config.events.primary_down, ManualAction)
    assert isinstance(config.events.primary_up, ManualAction)


def test_lab_example_without_env_vars_names_each_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in LAB_ENV:
        monkeypatch.delenv(name, raising=False)
    message = load_error(lab_example(tmp_path))
    for name in LAB_ENV:
        assert name in message
    assert "arrays.primary.cim.password_env" in message
    assert "arrays.secondary.ssh.password_env" in message
    assert "export" in message
    assert len(message.splitlines()) == 1 + len(LAB_ENV)  # one heading, one line per problem


def test_real_pair_from_python_dict(lab_env: Path) -> None:
    config = load_config(write(lab_env, real_pair()))
    assert config.array("secondary").cim_password() == "cim-secondary"
    assert isinstance(config.events.primary_up, ScriptAction)
    assert config.time_limits.for_stage("recover") == 1800
    assert config.time_limits.for_stage("settle") == config.time_limits.default
    assert config.polling.settle_samples == 3


def test_password_file_and_key_file(lab_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = real_pair()
    (lab_env / "cim.pw").write_text("from-file\n")
    (lab_env / "id_ed25519").write_text("PRIVATE KEY\n")
    data["arrays"]["primary"]["cim"] = {**data["arrays"]["primary"]["cim"], "password_file": "cim.pw"}
    del data["arrays"]["primary"]["cim"]["password_env"]
    ssh = data["arrays"]["primary"]["ssh"]
    del ssh["password_env"], ssh["host_key"]
    ssh.update(key_file="id_ed25519", known_hosts="~/known_hosts")
    monkeypatch.setenv("HOME", str(lab_env))
    (lab_env / "known_hosts").write_text(f"10.0.0.1 {HOST_KEY}\n")
    config = load_config(write(lab_env, data))
    primary = config.array("primary")
    assert primary.cim_password() == "from-file"
    assert primary.ssh_password() is None
    assert primary.ssh.key_file == lab_env / "id_ed25519"
    assert primary.ssh.known_hosts == lab_env / "known_hosts"


def test_http_needs_no_ca_and_verify_false_is_an_opt_out(lab_env: Path) -> None:
    data = real_pair()
    data["arrays"]["primary"]["cim"]["url"] = "http://10.0.0.1:5988"
    del data["arrays"]["primary"]["cim"]["ca_cert"]
    del data["arrays"]["secondary"]["cim"]["ca_cert"]
    data["arrays"]["secondary"]["cim"]["verify"] = False
    config = load_config(write(lab_env, data))
    assert config.array("secondary").cim.verify is False


# --------------------------------------------------------------------------- errors

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for m in mutations:
            m(data)

    return mutate


def _rename_array(old: str, new: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["arrays"][new] = data["arrays"].pop(old)

    return mutate


ERROR_CASES: list[tuple[str, Mutation, str, str]] = [
    # (id, mutation of real_pair(), field path in the message, hint in the message)
    ("wrong-type-number", _set("arrays.primary.cim.timeout", "soon"), "arrays.primary.cim.timeout", "valid number"),
    ("wrong-type-mapping", _set("arrays.primary.ssh", "10.0.0.1"), "arrays.primary.ssh", "expected a mapping"),
    ("wrong-type-bool", _set("safety.disruptive", "maybe"), "safety.disruptive", "expected true or false"),
    ("wrong-type-argv", _set("events.primary_up.command", "pdu on 12"), "events.primary_up.command", "argv list"),
    ("bad-url", _set("arrays.primary.cim.url", "10.0.0.1:5989"), "arrays.primary.cim.url", "https://10.0.0.1:5989"),
    ("bad-topology", _set("topology", "pairs"), "topology", "did you mean 'pair'"),
    ("unknown-key", _set("arrays.primary.cim.urll", "x"), "arrays.primary.cim.urll", "did you mean 'url'"),
    ("unknown-top-key", _set("time_limit", {}), "time_limit", "did you mean 'time_limits'"),
    (
        "unknown-event",
        _set("events.primary_dwn", {"kind": "manual", "prompt": "x"}),
        "events.primary_dwn",
        "did you mean 'primary_down'",
    ),
    (
        "unknown-fault",
        _set("faults.recover_fail", {"kind": "manual", "prompt": "x"}),
        "faults.recover_fail",
        "did you mean 'recover_fails'",
    ),
    (
        "unknown-key-in-action",
        _set("events.primary_down.promt", "x"),
        "events.primary_down.promt",
        "did you mean 'prompt'",
    ),
    ("literal-password", _set("arrays.primary.ssh.password", "x"), "arrays.primary.ssh.password", "password_env"),
    (
        "array-not-in-topology",
        _rename_array("secondary", "sync_secondary"),
        "arrays.sync_secondary",
        "did you mean 'secondary'",
    ),
    ("array-missing", _delete("arrays.secondary"), "arrays", "missing: secondary"),
    ("sld-keys", _set("topology", "sld"), "arrays", "missing: sync_secondary, periodic_secondary"),
    (
        "both-passwords",
        _set("arrays.primary.cim.password_file", "/etc/hostname"),
        "arrays.primary.cim.password_file",
        "exactly one of password_env or password_file",
    ),
    ("no-password", _delete("arrays.primary.cim.password_env"), "arrays.primary.cim.password_env", "give password_env"),
    (
        "ssh-two-sources",
        _set("arrays.secondary.ssh.key_file", "/etc/hostname"),
        "arrays.secondary.ssh.key_file",
        "exactly one of password_env, password_file or key_file",
    ),
    ("ssh-no-source", _delete("arrays.secondary.ssh.password_env"), "arrays.secondary.ssh.password_env", "key_file"),
    (
        "env-var-missing",
        _set("arrays.primary.cim.password_env", "T_NOT_EXPORTED_ANYWHERE"),
        "arrays.primary.cim.password_env",
        "export T_NOT_EXPORTED_ANYWHERE",
    ),
    (
        "env-var-not-a-name",
        _set("arrays.primary.ssh.password_env", "pass word!"),
        "arrays.primary.ssh.password_env",
        "NAME of an environment variable",
    ),
    (
        "password-file-missing",
        _both(_delete("arrays.primary.cim.password_env"), _set("arrays.primary.cim.password_file", "no-such.pw")),
        "arrays.primary.cim.password_file",
        "no such file",
    ),
    (
        "password-file-is-dir",
        _both(_delete("arrays.primary.ssh.password_env"), _set("arrays.primary.ssh.password_file", ".")),
        "arrays.primary.ssh.password_file",
        "directory",
    ),
    ("https-without-ca", _delete("arrays.secondary.cim.ca_cert"), "arrays.secondary.cim.ca_cert", "verify: false"),
    (
        "ca-and-verify-false",
        _set("arrays.secondary.cim.verify", False),
        "arrays.secondary.cim.verify",
        "contradicts ca_cert",
    ),
    ("no-host-key", _delete("arrays.primary.ssh.host_key"), "arrays.primary.ssh.host_key", "known_hosts"),
    (
        "bad-host-key",
        _set("arrays.primary.ssh.host_key", "10.0.0.1 " + HOST_KEY),
        "arrays.primary.ssh.host_key",
        "remove the leading host name",
    ),
    (
        "truncated-host-key",
        _set("arrays.primary.ssh.host_key", HOST_KEY[:40]),
        "arrays.primary.ssh.host_key",
        "cut short",
    ),
    ("unknown-kind", _set("events.primary_down.kind", "manaul"), "events.primary_down.kind", "did you mean 'manual'"),
    ("missing-kind", _delete("events.primary_down.kind"), "events.primary_down.kind", "simulator, cli, script, manual"),
    (
        "simulator-on-real-arrays",
        _set("events.primary_down", {"kind": "simulator", "action": "array_down", "array": "primary"}),
        "events.primary_down.kind",
        "use manual, script or cli",
    ),
    (
        "cli-array-unknown",
        _set("events.primary_down", {"kind": "cli", "array": "primry", "command": "x"}),
        "events.primary_down.array",
        "did you mean 'primary'",
    ),
    ("time-limit-zero", _set("time_limits.failover", 0), "time_limits.failover", "must be > 0 seconds"),
    ("time-limit-negative", _set("time_limits.default", -5), "time_limits.default", "must be > 0 seconds"),
    ("polling-zero", _set("polling.interval", 0), "polling.interval", "must be >= 0.01 seconds"),
    ("no-identity", _delete("arrays.primary.identity"), "arrays.primary.identity", "system_name and/or serial"),
    ("empty-identity", _set("arrays.primary.identity", {}), "arrays.primary.identity", "system_name and/or serial"),
    ("no-groups", _delete("groups"), "groups", "group(s) under test"),
    ("duplicate-group", _set("groups", ["a", "a"]), "groups.1", "listed twice"),
    ("no-arrays", _delete("arrays"), "arrays", "simulated:"),
]


@pytest.mark.parametrize(("mutate", "where", "hint"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_error_names_file_field_and_fix(lab_env: Path, mutate: Mutation, where: str, hint: str) -> None:
    data = real_pair()
    mutate(data)
    message = load_error(write(lab_env, data))
    problem_lines = [line.strip() for line in message.splitlines()]
    assert any(line.startswith(f"{where} (line ") or line.startswith(f"{where}:") for line in problem_lines), message
    assert hint in message


def test_problem_lines_carry_yaml_line_numbers(lab_env: Path) -> None:
    data = real_pair()
    data["time_limits"] = {"default": 60, "recover": 0}
    path = write(lab_env, data)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith("recover:"))
    message = load_error(path)
    assert f"time_limits.recover (line {line}): must be > 0 seconds, got 0" in message


def test_several_problems_one_per_line(lab_env: Path) -> None:
    data = real_pair()
    data["arrays"]["primary"]["cim"]["urll"] = "x"
    del data["arrays"]["secondary"]["ssh"]["host_key"]
    data["time_limits"] = {"recover": -1}
    data["events"]["primary_down"]["kind"] = "magic"
    message = load_error(write(lab_env, data))
    lines = message.splitlines()
    assert lines[0].endswith("invalid target configuration (4 problems):")
    assert FILE_NAME in lines[0]
    assert len(lines) == 5
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(
        ["arrays.primary.cim.urll", "arrays.secondary.ssh.host_key", "time_limits.recover", "events.primary_down.kind"]
    )


def test_unknown_simulator_action(tmp_path: Path) -> None:
    data = simulated_pair()
    data["events"]["primary_down"]["action"] = "array_off"
    message = load_error(write(tmp_path, data))
    assert "events.primary_down.action" in message
    assert "unknown simulator action 'array_off'" in message
    assert "array_down" in message


def test_simulator_action_fields_are_checked(tmp_path: Path) -> None:
    data = simulated_pair()
    data["faults"]["sync_status_stale"]["status"] = "Synced"
    data["faults"]["recover_fails"]["operationn"] = "recover"
    data["events"]["primary_up"]["array"] = "secondry"
    message = load_error(write(tmp_path, data))
    assert "faults.sync_status_stale.status" in message and "'NotSynced' or 'Stale'" in message
    assert "faults.recover_fails.operationn" in message and "did you mean 'operation'" in message


def test_simulator_action_array_must_be_in_topology(tmp_path: Path) -> None:
    data = simulated_pair()
    data["events"]["primary_up"]["array"] = "secondry"
    message = load_error(write(tmp_path, data))
    assert "events.primary_up.array" in message and "did you mean 'secondary'" in message


def test_simulated_and_arrays_together(lab_env: Path) -> None:
    data = real_pair()
    data["simulated"] = {"groups": 1}
    message = load_error(write(lab_env, data))
    assert "arrays" in message and "not allowed with `simulated:`" in message


@pytest.mark.parametrize(("behaviour", "ok"), [(3.1, True), ("10.5", True), (10.5, True), ("9.9", False)])
def test_simulated_behaviour(tmp_path: Path, behaviour: Any, ok: bool) -> None:
    data = simulated_pair()
    data["simulated"]["behaviour"] = behaviour
    path = write(tmp_path, data)
    if ok:
        assert load_config(path).simulated.behaviour == str(behaviour)  # type: ignore[union-attr]
    else:
        assert "simulated.behaviour" in load_error(path)


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        ("own", None),
        ("shared", None),
        ("rc_{own_id}_to_{peer}", None),
        ("{peers}", "unknown placeholder {peers}"),
        ("peers", "neither a style nor a template"),
        ("rc {peer}", "cannot contain spaces"),
        ("{peer!r}", "no format or conversion"),
    ],
)
def test_simulated_target_names(tmp_path: Path, names: str, problem: str | None) -> None:
    data = simulated_pair()
    data["simulated"].update(target_names=names, period=2)
    path = write(tmp_path, data)
    if problem is None:
        spec = load_config(path).simulated.world_spec("pair")  # type: ignore[union-attr]
        assert (spec.target_names, spec.period) == (names, 2.0)
    else:
        message = load_error(path)
        assert "simulated.target_names" in message and problem in message and "{own_id}" in message


def test_simulated_deviations_file_is_checked(tmp_path: Path) -> None:
    data = simulated_pair()
    data["simulated"]["deviations"] = "devs.yaml"
    message = load_error(write(tmp_path, data))
    assert "simulated.deviations" in message and "devs.yaml" in message
    (tmp_path / "devs.yaml").write_text("deviations:\n  - id: x\n    array: secondary\n    cim: {ProgressStatus: 3}\n")
    config = load_config(tmp_path / FILE_NAME)
    assert config.simulated is not None and config.simulated.deviations == tmp_path / "devs.yaml"
    assert len(config.simulated.load_deviations().rules) == 1


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    message = load_error(path)
    assert "no such configuration file" in message
    assert "lab-example.yaml" in message


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "topology: pair\ngroups: [a, b\narrays:\n  primary: {}\n")
    message = load_error(path)
    assert "not valid YAML" in message
    assert "line 3, column 7" in message


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "topology: pair\n  groups: [a]\n"))
    assert "line 2" in message and "not valid YAML" in message


def test_duplicate_key_is_reported(tmp_path: Path) -> None:
    text = (FIXTURES / "mock-pair.yaml").read_text() + "\ntopology: sld\n"
    message = load_error(write(tmp_path, text))
    assert "duplicate key 'topology'" in message


@pytest.mark.parametrize(("text", "hint"), [("", "the file is empty"), ("- a\n- b\n", "got a list")])
def test_not_a_mapping(tmp_path: Path, text: str, hint: str) -> None:
    assert hint in load_error(write(tmp_path, text))


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


# --------------------------------------------------------------------------- secrets


def _secret_lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("T_SECRET_CIM", CIM_SECRET)
    (tmp_path / "ssh.pw").write_text(SSH_SECRET + "\n")
    lab_files(tmp_path)
    data = real_pair()
    for key in ARRAY_KEYS["pair"]:
        monkeypatch.setenv(f"T_{key.upper()}_CIM", CIM_SECRET)
        data["arrays"][key]["cim"]["password_env"] = "T_SECRET_CIM"
        ssh = data["arrays"][key]["ssh"]
        del ssh["password_env"]
        ssh["password_file"] = "ssh.pw"
    return write(tmp_path, data)


def _assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


def test_secrets_resolve_lazily_and_never_appear(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = load_config(_secret_lab(monkeypatch, tmp_path))
    primary = config.array("primary")
    assert primary.cim_password() == CIM_SECRET
    assert primary.ssh_password() == SSH_SECRET
    secrets = [CIM_SECRET, SSH_SECRET]
    _assert_no_secret(json.dumps(config.redacted_dict()), secrets)
    _assert_no_secret(config.canonical_json(), secrets)
    _assert_no_secret(config.model_dump_json(), secrets)
    for obj in (config, primary, primary.cim, primary.ssh):
        _assert_no_secret(repr(obj), secrets)
        _assert_no_secret(str(obj), secrets)
    # the names of the sources are kept: they are what the manifest should show
    redacted = config.redacted_dict()
    assert redacted["arrays"]["primary"]["cim"]["password_env"] == "T_SECRET_CIM"
    assert redacted["arrays"]["primary"]["ssh"]["password_file"] == str(tmp_path / "ssh.pw")
    # lazily: a changed environment is seen at the next call
    monkeypatch.setenv("T_SECRET_CIM", "rotated")
    assert primary.cim_password() == "rotated"


def test_secrets_never_in_error_messages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _secret_lab(monkeypatch, tmp_path)
    data = yaml.safe_load(path.read_text())
    cim = data["arrays"]["primary"]["cim"]
    cim["password"] = "Literal-pa55word-in-file"  # an unknown key holding a literal password
    cim["user"] = ["not", "a", "string"]
    data["arrays"]["secondary"]["cim"]["password_env"] = "Literal-pa55word-in-env-field!"
    del data["arrays"]["secondary"]["ssh"]["host_key"]
    message = load_error(write(tmp_path, data))
    _assert_no_secret(message, [CIM_SECRET, SSH_SECRET, "Literal-pa55word-in-file", "Literal-pa55word-in-env-field"])
    assert "arrays.primary.cim.password" in message


def test_secret_read_failure_at_run_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = load_config(_secret_lab(monkeypatch, tmp_path))
    monkeypatch.delenv("T_SECRET_CIM")
    with pytest.raises(ConfigError) as info:
        config.array("primary").cim_password()
    message = str(info.value)
    assert FILE_NAME in message and "arrays.primary.cim.password_env" in message and "export T_SECRET_CIM" in message
    (tmp_path / "ssh.pw").unlink()
    with pytest.raises(ConfigError) as info:
        config.array("secondary").ssh_password()
    assert "arrays.secondary.ssh.password_file" in str(info.value)
    _assert_no_secret(str(info.value), [SSH_SECRET, CIM_SECRET])


def test_config_hash_is_stable_and_tracks_changes(lab_env: Path) -> None:
    first = load_config(write(lab_env, real_pair()))
    again = load_config(write(lab_env, real_pair()))
    assert first.config_hash() == again.config_hash()
    assert len(first.config_hash()) == 64
    changed = real_pair()
    changed["time_limits"] = {"recover": 10}
    assert load_config(write(lab_env, changed)).config_hash() != first.config_hash()


def test_config_hash_does_not_depend_on_secret_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _secret_lab(monkeypatch, tmp_path)
    before = load_config(path).config_hash()
    monkeypatch.setenv("T_SECRET_CIM", "another-value")
    assert load_config(path).config_hash() == before


# --------------------------------------------------------------------------- simulated arrays


def test_with_simulated_arrays_fills_arrays_and_keeps_secrets_private() -> None:
    info = describe()
    config = builtin_config("pair").with_simulated_arrays(info)
    assert config.arrays is not None and set(config.arrays) == {"primary", "secondary"}
    primary = config.array("primary")
    src = info["arrays"]["primary"]
    assert primary.identity is not None
    assert (primary.identity.system_name, primary.identity.serial) == (src["system_name"], src["serial"])
    assert primary.cim.url == src["cim_url"] and primary.cim.ca_cert == Path(src["ca_cert"])
    assert primary.cim.interop_namespace == "interop"
    assert (primary.ssh.host, primary.ssh.port, primary.ssh.user) == ("127.0.0.1", src["ssh_port"], "3paradm")
    assert primary.ssh.host_key is not None and src["ssh_host_key"].startswith(primary.ssh.host_key)
    assert primary.cim_password() == src["password"]
    assert primary.ssh_password() == src["ssh_password"]
    assert primary.cim.password_env is None and primary.cim.password_file is None
    control = config.simulator_control()
    assert control is not None and control.url == info["control"]["url"]
    assert control.headers()["Authorization"] == f"Bearer {info['control']['token']}"
    secrets = secrets_of(info)
    for text in (
        json.dumps(config.redacted_dict()),
        config.canonical_json(),
        config.model_dump_json(),
        repr(config),
        str(config),
        repr(control),
        repr(primary),
    ):
        _assert_no_secret(text, secrets)


def test_with_simulated_arrays_defaults_events_and_faults(tmp_path: Path) -> None:
    data = simulated_pair()
    del data["events"], data["faults"]
    data["events"] = {
        "primary_down": {"kind": "simulator", "action": "array_down", "array": "primary", "scope": "links"}
    }
    config = load_config(write(tmp_path, data)).with_simulated_arrays(describe())
    assert control_body(config.events.primary_down) == {"action": "array_down", "array": "primary", "scope": "links"}
    assert control_body(config.events.primary_up) == {"action": "array_up", "array": "primary"}
    for name in ("recover_fails", "restore_fails", "sync_status_new", "sync_status_notsynced", "sync_status_stale"):
        assert is_simulator_action(getattr(config.faults, name)), name


def test_with_simulated_arrays_groups(tmp_path: Path) -> None:
    data = simulated_pair()
    del data["groups"]
    config = load_config(write(tmp_path, data)).with_simulated_arrays(describe())
    assert config.groups == ["rcg_sync_0", "rcg_periodic_1"]
    data["groups"] = ["rcg_sync_0", "rcg_nope"]
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data)).with_simulated_arrays(describe())
    assert "groups.1" in str(info.value) and "rcg_nope" in str(info.value) and FILE_NAME in str(info.value)


def test_with_simulated_arrays_topology_mismatch() -> None:
    with pytest.raises(ConfigError) as info:
        builtin_config("pair").with_simulated_arrays(describe("sld"))
    assert "topology" in str(info.value)


def test_with_simulated_arrays_needs_simulated_section(lab_env: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(write(lab_env, real_pair())).with_simulated_arrays(describe())


def test_simulated_config_hash_ignores_per_start_details() -> None:
    config = builtin_config("sld")
    a = config.with_simulated_arrays(describe("sld", port=41000))
    b = config.with_simulated_arrays(describe("sld", port=42000))
    assert a.redacted_dict() != b.redacted_dict()  # the manifest shows where the arrays were
    assert a.config_hash() == b.config_hash() == config.config_hash()


def test_simulator_faults_are_accepted_by_the_simulator() -> None:
    from harness.mock.clock import ManualClock
    from harness.mock.control import apply_control
    from harness.mock.topology import build_world

    for kind in ("pair", "sld"):
        config = builtin_config(kind)  # type: ignore[arg-type]
        assert config.simulated is not None
        world = build_world(config.simulated.world_spec(config.topology), clock=ManualClock())
        group = config.groups[0]
        actions = [getattr(config.faults, n) for n in type(config.faults).model_fields]
        actions += [config.events.primary_down, config.events.primary_up]
        for action in actions:
            assert action is not None
            answer = apply_control(world, control_body(bind_group(action, group)))
            assert answer["ok"] is True


def test_action_specs_are_plain_dicts_bound_to_the_group(lab_env: Path) -> None:
    config = builtin_config("pair").with_simulated_arrays(describe())
    specs = config.action_specs("rcg_sync_0")
    assert set(specs) == {
        "primary_down",
        "primary_up",
        "recover_fails",
        "restore_fails",
        "sync_status_new",
        "sync_status_notsynced",
        "sync_status_stale",
    }
    assert specs["sync_status_stale"] == {
        "kind": "simulator",
        "action": "force_sync_status",
        "array": "primary",
        "group": "rcg_sync_0",
        "status": "Stale",
    }
    json.dumps(specs)
    real = load_config(write(lab_env, real_pair())).action_specs()
    assert set(real) == {"primary_down", "primary_up"}
    assert real["primary_up"] == {"kind": "script", "command": [str(lab_env / "pdu"), "on", "12"], "timeout": 60.0}


def test_bind_group() -> None:
    reset = SimResetToNew(kind="simulator", action="reset_to_new", array="primary")
    assert bind_group(reset, "g1").group == "g1"
    pinned = SimForceSyncStatus(
        kind="simulator", action="force_sync_status", array="primary", group="x", status="Stale"
    )
    assert bind_group(pinned, "g1").group == "x"
    script = ScriptAction(kind="script", command=["/bin/fault", "--group", "{group}"])
    assert bind_group(script, "g1").command == ["/bin/fault", "--group", "g1"]
    manual = ManualAction(kind="manual", prompt="Break {group} now")
    assert bind_group(manual, "g1").prompt == "Break g1 now"
    with pytest.raises(TypeError):
        control_body(manual)


def test_models_are_immutable(lab_env: Path) -> None:
    config = load_config(write(lab_env, real_pair()))
    with pytest.raises(ValueError):
        config.topology = "sld"  # type: ignore[misc]


def test_revalidating_a_dump_needs_the_secrets_again() -> None:
    config = builtin_config("pair").with_simulated_arrays(describe())
    with pytest.raises(ValueError):
        TargetConfig.model_validate(copy.deepcopy(config.model_dump()))


def test_with_real_simulated_arrays() -> None:
    service = pytest.importorskip("harness.mock.service", exc_type=ImportError)
    config = builtin_config("pair")
    assert config.simulated is not None
    with service.SimulatedArrays(config.simulated.world_spec(config.topology), tls=config.simulated.tls) as sim:
        info = sim.describe()
        filled = config.with_simulated_arrays(info)
    assert filled.groups == info["groups"][: len(filled.groups)]
    assert filled.array("secondary").cim_password() == info["arrays"]["secondary"]["password"]
    _assert_no_secret(json.dumps(filled.redacted_dict()) + repr(filled), secrets_of(info))


# --------------------------------------------------------------------------- built-in targets


@pytest.mark.parametrize("kind", ["pair", "sld"])
def test_builtin_config(kind: str) -> None:
    config = builtin_config(kind)  # type: ignore[arg-type]
    assert config.topology == kind and config.is_simulated
    assert config.safety.disruptive is True
    # the run's own simulated arrays need only the file's consent, not --allow-disruptive
    assert config.disruptive_allowed(True) and config.disruptive_allowed(False)


def test_builtin_config_unknown_kind() -> None:
    with pytest.raises(ConfigError):
        builtin_config("trio")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["mock-pair.yaml", "mock-sld.yaml"])
def test_packaged_targets_identical_to_fixtures(name: str) -> None:
    packaged = importlib.resources.files("harness") / "targets" / name
    assert packaged.read_bytes() == (FIXTURES / name).read_bytes()
    assert (ROOT / "harness" / "targets" / name).read_bytes() == (FIXTURES / name).read_bytes()


def test_package_data_includes_targets() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"targets/*.yaml"' in text


def test_no_real_passwords_in_shipped_files() -> None:
    for name in ("mock-pair.yaml", "mock-sld.yaml", "lab-example.yaml"):
        data = yaml.safe_load((FIXTURES / name).read_text())
        text = json.dumps(data)
        assert '"password":' not in text


def test_env_is_untouched_by_loading(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in LAB_ENV:
        monkeypatch.setenv(name, "x")
    before = dict(os.environ)
    load_config(lab_example(tmp_path))
    assert dict(os.environ) == before
