"""The target configuration: which arrays the harness drives, how it reaches them, how it makes things happen.

A target file is YAML (see fixtures/lab-example.yaml for a commented template):

    topology: pair                     # pair | sld
    groups: [rcg_sync_0]               # groups under test, named as on the primary array
    simulated: {groups: 2}             # only for the built-in simulated arrays (the run starts them itself)
    arrays:                            # required unless `simulated` is given
      primary:   {identity: {...}, cim: {...}, ssh: {...}}
      secondary: {...}                 # sld: sync_secondary, periodic_secondary
    polling: {interval: 0.25, settle_samples: 3}
    time_limits: {default: 60, primary_down: 120, failover: 300, primary_up: 300, recover: 1800, restore: 1800}
    events: {primary_down: {kind: manual, prompt: ...}, primary_up: {...}}
    faults: {recover_fails: {kind: simulator, action: fail_next, operation: recover}}
    safety: {disruptive: false}

`load_config(path)` returns a validated, immutable `TargetConfig` or raises `ConfigError`,
whose message names the file, each field path (with its line) and what is wrong, one problem a line.

Secrets never live in model fields: the file names an environment variable (`password_env`)
or a file (`password_file`, `key_file`), read when `ArrayConfig.cim_password()` / `ssh_password()`
is called; the simulated arrays' random passwords and control token are kept in private
attributes (pydantic `PrivateAttr`, `SecretStr`), which `repr()`, `model_dump()`,
`redacted_dict()` and `config_hash()` never see.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.resources
import json
import os
import re
import types
import typing
from base64 import b64decode
from binascii import Error as Base64Error
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from harness.mock import control as _control

Topology = Literal["pair", "sld"]
ARRAY_KEYS: dict[str, tuple[str, ...]] = {
    "pair": ("primary", "secondary"),
    "sld": ("primary", "sync_secondary", "periodic_secondary"),
}
EVENT_KINDS = ("simulator", "cli", "script", "manual")
SIMULATOR_ACTIONS = (
    "array_down",
    "array_up",
    "link",
    "fail_next",
    "force_sync_status",
    "reset_to_new",
    "set_durations",
    "state",
)
GROUP_PLACEHOLDER = "{group}"
"""In cli commands, script arguments and manual prompts: replaced by the group under test (`bind_group`)."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
_SECRETISH = ("password", "passwd", "secret", "token", "passphrase")

Seconds = Annotated[float, Field(gt=0)]


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: where (dotted field path, "" for the file itself) and what."""

    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        if not self.where:
            return self.message if self.line is None else f"line {self.line}: {self.message}"
        at = f" (line {self.line})" if self.line is not None else ""
        return f"{self.where}{at}: {self.message}"


class ConfigError(ValueError):
    """A target configuration that cannot be used. The message names the file, the field paths and the fixes."""

    def __init__(self, source: str | Path, problems: str | Problem | Sequence[Problem]) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.source = str(source)
        self.problems: list[Problem] = _dedupe(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        if len(self.problems) == 1 and not self.problems[0].where:
            return f"{self.source}: {self.problems[0]}"
        count = len(self.problems)
        head = f"{self.source}: invalid target configuration ({count} problem{'s' if count != 1 else ''}):"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for p in problems:
        if (p.where, p.message) not in seen:
            seen.add((p.where, p.message))
            out.append(p)
    return out


def _fail(problems: list[tuple[str, str]]) -> None:
    """Raise the problems a validator found; `field` (first item) is a path below the model being validated."""
    if problems:
        field, message = problems[0]
        raise PydanticCustomError("config", "{message}", {"message": message, "field": field, "problems": problems})


def _ctx(info: ValidationInfo, key: str) -> Any:
    return info.context.get(key) if isinstance(info.context, Mapping) else None


def _resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """`~` expanded; a relative path is relative to the configuration file's directory."""
    if value is None:
        return None
    value = value.expanduser()
    base = _ctx(info, "base_dir")
    if not value.is_absolute() and base is not None:
        value = Path(base) / value
    return value


def _env_problem(var: str, what: str) -> str | None:
    value = os.environ.get(var)
    if value is None:
        return (
            f"environment variable {var} is not set: export {var}=<{what}> in the shell that runs "
            "smis-harness (or use password_file)"
        )
    if value == "":
        return f"environment variable {var} is set but empty: export {var}=<{what}>"
    return None


def _file_problem(path: Path, what: str) -> str | None:
    try:
        with path.open("rb") as fh:
            if not fh.read(1):
                return f"{what} {path} is empty"
    except FileNotFoundError:
        return f"cannot read {what} {path}: no such file"
    except IsADirectoryError:
        return f"cannot read {what} {path}: it is a directory"
    except PermissionError:
        return f"cannot read {what} {path}: permission denied (chmod 600 it for the user running smis-harness)"
    except OSError as exc:
        return f"cannot read {what} {path}: {exc.strerror or exc}"
    return None


def _read_secret_file(path: Path, where: str, source: str) -> str:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(source, Problem(where, f"cannot read password file {path}: {reason}")) from None
    return text.rstrip("\r\n")


def _read_secret_env(var: str, where: str, source: str, what: str) -> str:
    problem = _env_problem(var, what)
    if problem:
        raise ConfigError(source, Problem(where, problem))
    return os.environ[var]


# --------------------------------------------------------------------------- event and fault actions


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_STRICT = ConfigDict(extra="forbid", frozen=True)


class SimArrayDown(_control.ArrayDown):
    """Power an array off (`scope: power`) or drop only its remote-copy links (`scope: links`)."""

    model_config = _STRICT
    kind: Literal["simulator"]


class SimArrayUp(_control.ArrayUp):
    model_config = _STRICT
    kind: Literal["simulator"]


class SimLink(_control.LinkAction):
    model_config = _STRICT
    kind: Literal["simulator"]


class SimFailNext(_control.FailNext):
    model_config = _STRICT
    kind: Literal["simulator"]


class SimForceSyncStatus(_control.ForceSyncStatus):
    """`group` left out: the runner supplies the group under test (`bind_group`)."""

    model_config = _STRICT
    kind: Literal["simulator"]
    group: str | None = None


class SimResetToNew(_control.ResetToNew):
    """`group` left out: the runner supplies the group under test (`bind_group`)."""

    model_config = _STRICT
    kind: Literal["simulator"]
    group: str | None = None


class SimSetDurations(_control.SetDurations):
    model_config = _STRICT
    kind: Literal["simulator"]


class SimState(_control.State):
    model_config = _STRICT
    kind: Literal["simulator"]


SimulatorAction = Annotated[
    SimArrayDown | SimArrayUp | SimLink | SimFailNext | SimForceSyncStatus | SimResetToNew | SimSetDurations | SimState,
    Field(discriminator="action"),
]
"""A request to the simulated arrays' control interface; the runner supplies its url and token."""


class CliAction(_Strict):
    """A command run through the array CLI over SSH (the array's `ssh` settings)."""

    kind: Literal["cli"]
    array: str
    command: str = Field(min_length=1)
    during: Seconds | None = None
    """Faults only: run this many seconds after the fault's command starts, while it runs (e.g. drop the
    link while recover runs); without it the action runs before the command."""


class ScriptAction(_Strict):
    """A local program (argv list, no shell), e.g. a PDU or switch-port script; must exit 0 within `timeout`."""

    kind: Literal["script"]
    command: list[str] = Field(min_length=1)
    timeout: Seconds = 300
    during: Seconds | None = None
    """Faults only: run this many seconds after the fault's command starts (see CliAction.during)."""


class ManualAction(_Strict):
    """An operator does it (pulls cables, powers off); the harness shows `prompt` and waits up to `timeout`."""

    kind: Literal["manual"]
    prompt: str = Field(min_length=1)
    timeout: Seconds = 1800
    during: Seconds | None = None
    """Faults only: prompt this many seconds after the fault's command starts (see CliAction.during)."""


EventAction = Annotated[SimulatorAction | CliAction | ScriptAction | ManualAction, Field(discriminator="kind")]
_SIMULATOR_TYPES = (
    SimArrayDown,
    SimArrayUp,
    SimLink,
    SimFailNext,
    SimForceSyncStatus,
    SimResetToNew,
    SimSetDurations,
    SimState,
)


def is_simulator_action(action: object) -> bool:
    return isinstance(action, _SIMULATOR_TYPES)


def control_body(action: BaseModel) -> dict[str, Any]:
    """The JSON body to POST to the simulator's control url for a `kind: simulator` action."""
    if not is_simulator_action(action):
        raise TypeError(f"not a simulator action: {type(action).__name__}")
    return action.model_dump(mode="json", exclude={"kind"}, exclude_none=True)


def bind_group(action: Any, group: str) -> Any:
    """The action for one group under test: a simulator action without `group` gets it; `{group}` is replaced."""
    if isinstance(action, SimForceSyncStatus | SimResetToNew):
        name = group if action.group is None else action.group.replace(GROUP_PLACEHOLDER, group)
        return action.model_copy(update={"group": name})
    if isinstance(action, CliAction):
        return action.model_copy(update={"command": action.command.replace(GROUP_PLACEHOLDER, group)})
    if isinstance(action, ScriptAction):
        return action.model_copy(update={"command": [a.replace(GROUP_PLACEHOLDER, group) for a in action.command]})
    if isinstance(action, ManualAction):
        return action.model_copy(update={"prompt": action.prompt.replace(GROUP_PLACEHOLDER, group)})
    return action


class Events(_Strict):
    """How the harness makes things happen that the array CLI cannot."""

    primary_down: EventAction | None = None
    primary_up: EventAction | None = None


class Faults(_Strict):
    """How to provoke the states only a fault produces (rows needing an absent fault are not run)."""

    recover_fails: EventAction | None = None
    restore_fails: EventAction | None = None
    sync_status_new: EventAction | None = None
    sync_status_notsynced: EventAction | None = None
    sync_status_stale: EventAction | None = None


# --------------------------------------------------------------------------- arrays


class Identity(_Strict):
    """What the array must report (showsys / CIM), so the harness never drives the wrong array."""

    system_name: str | None = None
    serial: str | None = None

    @field_validator("serial", mode="before")
    @classmethod
    def _serial_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_given(self) -> Identity:
        if self.system_name is None and self.serial is None:
            _fail([("", "give system_name and/or serial, as `showsys` prints them")])
        return self


class CimConfig(_Strict):
    """The array's SMI-S provider (CIMOM), reached with pywbem over CIM-XML."""

    url: str
    namespace: str = "root/tpd"
    interop_namespace: str | None = None
    """None: discover it with pywbem's WBEMServer."""
    user: str = Field(min_length=1)
    password_env: str | None = None
    password_file: Path | None = None
    ca_cert: Path | None = None
    verify: StrictBool = True
    timeout: Seconds = 30

    _secret: SecretStr | None = PrivateAttr(default=None)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError(
                "config", "{message}", {"message": "expected a URL like https://10.0.0.1:5989 (http or https)"}
            )
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise PydanticCustomError(
                "config", "{message}", {"message": "the port is not a number from 1 to 65535 (the CIMOM: 5989)"}
            ) from None
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise PydanticCustomError(
                "config", "{message}", {"message": "give only scheme://host:port (e.g. https://10.0.0.1:5989)"}
            )
        return value.rstrip("/")

    @field_validator("password_env")
    @classmethod
    def _check_env_name(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("password_file", "ca_cert")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> CimConfig:
        problems: list[tuple[str, str]] = []
        problems += _password_source_problems(
            self.password_env, self.password_file, info, "the CIM password", allow_none=bool(_ctx(info, "in_memory"))
        )
        https = self.url.startswith("https:")
        if https and self.verify and self.ca_cert is None:
            problems.append(
                (
                    "ca_cert",
                    "an https url needs the CIMOM's CA certificate to verify it: give ca_cert: <PEM file> "
                    "(or verify: false to skip verification, not recommended)",
                )
            )
        if self.ca_cert is not None and not self.verify:
            problems.append(("verify", "verify: false contradicts ca_cert; remove one of them"))
        if not https and self.ca_cert is not None:
            problems.append(("ca_cert", "ca_cert is only used with https:// urls; use https or remove ca_cert"))
        _fail(problems)
        return self


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise PydanticCustomError(
            "config",
            "{message}",
            {"message": "must be the NAME of an environment variable (letters, digits, _), not a password"},
        )
    return value


def _password_source_problems(
    env: str | None, file: Path | None, info: ValidationInfo, what: str, *, allow_none: bool
) -> list[tuple[str, str]]:
    if env is not None and file is not None:
        return [("password_file", "password_env is given too: give exactly one of password_env or password_file")]
    if env is None and file is None:
        if allow_none:
            return []
        return [
            (
                "password_env",
                f"missing: give password_env (an environment variable holding {what}) or password_file "
                "(never the password itself)",
            )
        ]
    if not _ctx(info, "check_secrets"):
        return []
    if env is not None:
        problem = _env_problem(env, what)
        return [("password_env", problem)] if problem else []
    assert file is not None
    problem = _file_problem(file, "password file")
    return [("password_file", problem)] if problem else []


def _host_key_problem(line: str) -> str | None:
    parts = line.split()
    if len(parts) < 2:
        return "expected '<key type> <base64 key>', e.g. the output of `ssh-keyscan -t ed25519 HOST` without the host"
    key_type, blob = parts[0], parts[1]
    if key_type not in _SSH_KEY_TYPES:
        if len(parts) >= 3 and parts[1] in _SSH_KEY_TYPES:
            return "remove the leading host name: give only '<key type> <base64 key>' (as in ssh-keyscan output)"
        return f"unknown SSH key type {key_type!r}; expected one of {', '.join(_SSH_KEY_TYPES)}"
    try:
        raw = b64decode(blob, validate=True)
    except (Base64Error, ValueError):
        return "the key is not valid base64 (was it cut short when pasting?)"
    fields = _ssh_strings(raw)
    if fields is None or len(fields) < 2:
        return "the key is incomplete (was it cut short when pasting?)"
    if fields[0] != key_type.encode():
        return f"the base64 key is not a key of type {key_type} (pasted with the wrong type?)"
    return None


def _ssh_strings(blob: bytes) -> list[bytes] | None:
    """An SSH public key blob as its length-prefixed strings; None when it is cut short."""
    out: list[bytes] = []
    pos = 0
    while pos < len(blob):
        if pos + 4 > len(blob):
            return None
        size = int.from_bytes(blob[pos : pos + 4], "big")
        pos += 4
        if pos + size > len(blob):
            return None
        out.append(blob[pos : pos + size])
        pos += size
    return out


class SshConfig(_Strict):
    """The array CLI over SSH. The host key is always verified."""

    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    user: str = Field(min_length=1)
    password_env: str | None = None
    password_file: Path | None = None
    key_file: Path | None = None
    key_passphrase_env: str | None = None
    host_key: str | None = None
    known_hosts: Path | None = None
    timeout: Seconds = 30

    _secret: SecretStr | None = PrivateAttr(default=None)

    @field_validator("password_env", "key_passphrase_env")
    @classmethod
    def _check_env_name(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("password_file", "key_file", "known_hosts")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @field_validator("host_key")
    @classmethod
    def _check_host_key(cls, value: str | None) -> str | None:
        if value is not None:
            problem = _host_key_problem(value)
            if problem:
                raise PydanticCustomError("config", "{message}", {"message": problem})
            value = " ".join(value.split()[:2])
        return value

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> SshConfig:
        problems: list[tuple[str, str]] = []
        given = [k for k in ("password_env", "password_file", "key_file") if getattr(self, k) is not None]
        if len(given) > 1:
            problems.append((given[1], f"give exactly one of password_env, password_file or key_file, not {given}"))
        elif not given and not _ctx(info, "in_memory"):
            problems.append(
                (
                    "password_env",
                    "missing: give one of password_env (an environment variable holding the SSH password), "
                    "password_file or key_file (a private key)",
                )
            )
        elif given and _ctx(info, "check_secrets"):
            if self.password_env:
                problem = _env_problem(self.password_env, "the SSH password")
                if problem:
                    problems.append(("password_env", problem))
            elif self.password_file:
                problem = _file_problem(self.password_file, "password file")
                if problem:
                    problems.append(("password_file", problem))
            elif self.key_file:
                problem = _file_problem(self.key_file, "key file")
                if problem:
                    problems.append(("key_file", problem))
        if self.key_passphrase_env is not None:
            if self.key_file is None:
                problems.append(("key_passphrase_env", "only used with key_file"))
            elif _ctx(info, "check_secrets"):
                problem = _env_problem(self.key_passphrase_env, "the key's passphrase")
                if problem:
                    problems.append(("key_passphrase_env", problem))
        if self.host_key is None and self.known_hosts is None:
            problems.append(
                (
                    "host_key",
                    "missing: host keys are always verified; give host_key: '<type> <base64>' "
                    "(from `ssh-keyscan -t ed25519 HOST`) or known_hosts: <file>",
                )
            )
        elif self.host_key is not None and self.known_hosts is not None:
            problems.append(("known_hosts", "host_key is given too: give exactly one of host_key or known_hosts"))
        _fail(problems)
        return self


class ArrayConfig(_Strict):
    """One array: expected identity, its CIMOM and its CLI."""

    identity: Identity | None = None
    cim: CimConfig
    ssh: SshConfig

    _key: str = PrivateAttr(default="")
    _source: str = PrivateAttr(default="<target configuration>")

    @property
    def key(self) -> str:
        """primary, secondary, sync_secondary or periodic_secondary."""
        return self._key

    def _where(self, part: str) -> str:
        return f"arrays.{self._key or '?'}.{part}"

    def cim_password(self) -> str:
        """The CIM password, read now (environment, file or the simulator's in-memory store)."""
        cim = self.cim
        if cim._secret is not None:
            return cim._secret.get_secret_value()
        if cim.password_env is not None:
            return _read_secret_env(cim.password_env, self._where("cim.password_env"), self._source, "the CIM password")
        if cim.password_file is not None:
            return _read_secret_file(cim.password_file, self._where("cim.password_file"), self._source)
        raise ConfigError(self._source, Problem(self._where("cim"), "no CIM password source"))

    def ssh_password(self) -> str | None:
        """The SSH password, read now; None when the array is reached with `key_file`."""
        ssh = self.ssh
        if ssh._secret is not None:
            return ssh._secret.get_secret_value()
        if ssh.password_env is not None:
            return _read_secret_env(ssh.password_env, self._where("ssh.password_env"), self._source, "the SSH password")
        if ssh.password_file is not None:
            return _read_secret_file(ssh.password_file, self._where("ssh.password_file"), self._source)
        if ssh.key_file is not None:
            return None
        raise ConfigError(self._source, Problem(self._where("ssh"), "no SSH password or key source"))

    def ssh_key_passphrase(self) -> str | None:
        if self.ssh.key_passphrase_env is None:
            return None
        where = self._where("ssh.key_passphrase_env")
        return _read_secret_env(self.ssh.key_passphrase_env, where, self._source, "the key's passphrase")

    def _secret_values(self) -> list[str]:
        return [s.get_secret_value() for s in (self.cim._secret, self.ssh._secret) if s is not None]


# --------------------------------------------------------------------------- run settings


class SimulatedOptions(_Strict):
    """World options for the built-in simulated arrays (harness.mock: WorldSpec and SimulatedArrays)."""

    groups: int = Field(default=2, ge=1)
    volumes_per_group: int = Field(default=2, ge=1)
    scale: int = Field(default=0, ge=0)
    seed: int = 0
    behaviour: Literal["3.1", "10.5"] = "3.1"
    tls: StrictBool = True
    deviations: Path | None = None

    @field_validator("behaviour", mode="before")
    @classmethod
    def _behaviour_text(cls, value: Any) -> Any:
        # YAML reads `behaviour: 3.1` as a number
        return str(value) if isinstance(value, float | int) and not isinstance(value, bool) else value

    @field_validator("deviations")
    @classmethod
    def _deviations(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        value = _resolve_path(value, info)
        if value is not None and _ctx(info, "check_secrets"):
            from harness.mock.cim_view import load_deviations
            from harness.mock.deviations import DeviationError

            try:
                load_deviations(value)
            except DeviationError as exc:
                raise PydanticCustomError("config", "{message}", {"message": str(exc)}) from None
        return value

    def world_spec(self, topology: Topology) -> Any:
        """The harness.mock.topology.WorldSpec for these options."""
        from harness.mock.topology import WorldSpec

        return WorldSpec(
            topology=topology,
            groups=self.groups,
            volumes_per_group=self.volumes_per_group,
            scale=self.scale,
            seed=self.seed,
            behaviour=self.behaviour,
        )

    def load_deviations(self) -> Any:
        """harness.mock.deviations.Deviations from `deviations` (empty when not given)."""
        from harness.mock.cim_view import load_deviations
        from harness.mock.deviations import Deviations

        return load_deviations(self.deviations) if self.deviations else Deviations()


class Polling(_Strict):
    interval: Seconds = 0.25
    """Seconds between observations."""
    settle_samples: int = Field(default=3, ge=1)
    """Consecutive identical observations that count as a settled state."""


class TimeLimits(_Strict):
    """Seconds each stage may take before the run reports it as timed out; `default` for other stages."""

    default: Seconds = 60
    primary_down: Seconds = 120
    failover: Seconds = 300
    primary_up: Seconds = 300
    recover: Seconds = 1800
    restore: Seconds = 1800

    def for_stage(self, stage: str) -> float:
        value = getattr(self, stage, None) if stage in type(self).model_fields else None
        return float(value if value is not None else self.default)


class Safety(_Strict):
    disruptive: StrictBool = False
    """Disruptive rows run only with this true AND --allow-disruptive on the command line."""


@dataclass(frozen=True)
class SimulatorControl:
    """Where `kind: simulator` actions go: POST url, Authorization: Bearer <token>."""

    url: str
    token: SecretStr

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token.get_secret_value()}", "Content-Type": "application/json"}


def _array_key_problems(topology: str, keys: Iterable[str]) -> list[tuple[str, str]]:
    wanted = ARRAY_KEYS.get(topology)
    if wanted is None:
        return []
    keys = list(keys)
    problems: list[tuple[str, str]] = []
    missing = [k for k in wanted if k not in keys]
    for key in keys:
        if key not in wanted:
            hint = _did_you_mean(key, [k for k in wanted if k in missing] or list(wanted))
            problems.append(
                (f"arrays.{key}", f"not an array of topology {topology} (its arrays: {', '.join(wanted)}){hint}")
            )
    if missing:
        problems.append(
            ("arrays", f"topology {topology} needs arrays {', '.join(wanted)}; missing: {', '.join(missing)}")
        )
    return problems


class TargetConfig(_Strict):
    """A whole target: topology, groups, arrays (or the simulated ones), timing, events, faults, safety."""

    topology: Topology
    groups: list[str] = Field(default_factory=list)
    simulated: SimulatedOptions | None = None
    arrays: dict[str, ArrayConfig] | None = None
    polling: Polling = Field(default_factory=Polling)
    time_limits: TimeLimits = Field(default_factory=TimeLimits)
    events: Events = Field(default_factory=Events)
    faults: Faults = Field(default_factory=Faults)
    safety: Safety = Field(default_factory=Safety)

    _source: str = PrivateAttr(default="<target configuration>")
    _control: SimulatorControl | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> TargetConfig:
        problems: list[tuple[str, str]] = []
        filled = bool(_ctx(info, "in_memory"))
        if self.simulated is None and self.arrays is None:
            keys = ", ".join(ARRAY_KEYS[self.topology])
            problems.append(
                (
                    "arrays",
                    f"missing: describe the arrays under test ({keys}), or add a `simulated:` section "
                    "to use the built-in simulated arrays",
                )
            )
        if self.simulated is not None and self.arrays is not None and not filled:
            problems.append(
                (
                    "arrays",
                    "not allowed with `simulated:` (the simulated arrays' addresses and credentials are filled "
                    "in at run time); remove one of the two sections",
                )
            )
        if self.arrays is not None:
            problems += _array_key_problems(self.topology, self.arrays)
            if self.simulated is None:
                for key, array in self.arrays.items():
                    if array.identity is None:
                        problems.append(
                            (
                                f"arrays.{key}.identity",
                                "missing: give the expected system_name and/or serial (as `showsys` prints them) "
                                "so the harness never drives the wrong array",
                            )
                        )
        if not self.groups and self.simulated is None:
            problems.append(("groups", "missing: list the remote-copy group(s) under test, named as on the primary"))
        for index, name in enumerate(self.groups):
            if not name.strip():
                problems.append((f"groups.{index}", "empty group name"))
            elif name in self.groups[:index]:
                problems.append((f"groups.{index}", f"{name} is listed twice"))
        valid_arrays = ARRAY_KEYS[self.topology]
        for section in ("events", "faults"):
            model = getattr(self, section)
            for name in type(model).model_fields:
                action = getattr(model, name)
                where = f"{section}.{name}"
                if action is None:
                    continue
                if is_simulator_action(action) and self.simulated is None:
                    problems.append(
                        (
                            f"{where}.kind",
                            "kind: simulator needs the built-in simulated arrays (`simulated:`); for real arrays "
                            "use manual, script or cli",
                        )
                    )
                for field in ("array", "a", "b"):
                    value = getattr(action, field, None)
                    if isinstance(value, str) and value not in valid_arrays:
                        problems.append(
                            (
                                f"{where}.{field}",
                                f"{value!r} is not an array of topology {self.topology} "
                                f"({', '.join(valid_arrays)}){_did_you_mean(value, valid_arrays)}",
                            )
                        )
        _fail(problems)
        if self.arrays:
            for key, array in self.arrays.items():
                array._key = key
        return self

    # ---- access

    @property
    def source(self) -> str:
        """The file this configuration came from (or a description of where it came from)."""
        return self._source

    @property
    def array_keys(self) -> tuple[str, ...]:
        return ARRAY_KEYS[self.topology]

    @property
    def is_simulated(self) -> bool:
        return self.simulated is not None

    def array(self, key: str) -> ArrayConfig:
        if self.arrays is None:
            raise ConfigError(
                self._source,
                Problem(
                    "arrays", "not filled in yet: start the simulated arrays and call with_simulated_arrays(describe)"
                ),
            )
        return self.arrays[key]

    def simulator_control(self) -> SimulatorControl | None:
        """The simulated arrays' control url and token (None until with_simulated_arrays, and for real arrays)."""
        return self._control

    def action_specs(self, group: str | None = None) -> dict[str, dict[str, Any]]:
        """Events and faults that are configured, as plain JSON-able dicts by name (primary_down, recover_fails...).

        With `group`, each action is bound to that group under test (`bind_group`). This is the shape
        harness.actions.ActionRunner takes; the simulator's url and token come from `simulator_control()`.
        """
        specs: dict[str, dict[str, Any]] = {}
        for section in (self.events, self.faults):
            for name in type(section).model_fields:
                action = getattr(section, name)
                if action is not None:
                    if group is not None:
                        action = bind_group(action, group)
                    specs[name] = action.model_dump(mode="json", exclude_none=True)
        return specs

    def disruptive_allowed(self, allow_disruptive_flag: bool) -> bool:
        """Disruptive rows run only when the file says so AND the command line says --allow-disruptive;
        the built-in simulated arrays, started and discarded by the run itself, need only the file's consent."""
        if self.is_simulated:
            return self.safety.disruptive
        return self.safety.disruptive and allow_disruptive_flag

    # ---- the simulated arrays

    def with_simulated_arrays(self, describe: Mapping[str, Any]) -> TargetConfig:
        """This configuration with its arrays filled from `SimulatedArrays.describe()` output.

        Passwords and the control token go to private in-memory attributes, never into fields.
        Events and faults not given in the file default to the simulator's control actions.
        """
        where = f"{self._source} (simulated arrays)"
        if self.simulated is None:
            raise ConfigError(self._source, Problem("simulated", "missing: this configuration is for real arrays"))
        if describe.get("topology") != self.topology:
            raise ConfigError(
                where,
                Problem("topology", f"is {self.topology} but the simulated arrays are {describe.get('topology')}"),
            )
        available = list(describe.get("groups", []))
        groups = list(self.groups) or available
        problems = [
            Problem(f"groups.{i}", f"{g} is not a group of the simulated arrays (they have: {', '.join(available)})")
            for i, g in enumerate(groups)
            if g not in available
        ]
        if problems:
            raise ConfigError(where, problems)
        arrays: dict[str, Any] = {}
        for key, info in describe["arrays"].items():
            ca_cert = info.get("ca_cert")
            arrays[key] = {
                "identity": {"system_name": info.get("system_name"), "serial": info.get("serial")},
                "cim": {
                    "url": info["cim_url"],
                    "namespace": info.get("namespace", "root/tpd"),
                    "interop_namespace": info.get("interop_namespace"),
                    "user": info["user"],
                    "ca_cert": ca_cert,
                },
                "ssh": {
                    "host": info["ssh_host"],
                    "port": info["ssh_port"],
                    "user": info["ssh_user"],
                    "host_key": info["ssh_host_key"],
                },
            }
        data = self.model_dump(mode="python", exclude={"arrays", "groups", "events", "faults"})
        data.update(
            arrays=arrays,
            groups=groups,
            events=_merge_defaults(self.events, _SIMULATED_EVENTS),
            faults=_merge_defaults(self.faults, _SIMULATED_FAULTS),
        )
        try:
            filled = TargetConfig.model_validate(data, context={"in_memory": True})
        except ValidationError as exc:
            raise ConfigError(where, _problems_from(exc, data, {})) from None
        filled._source = self._source
        assert filled.arrays is not None
        for key, array in filled.arrays.items():
            info = describe["arrays"][key]
            array._source = self._source
            array.cim._secret = SecretStr(str(info["password"]))
            array.ssh._secret = SecretStr(str(info["ssh_password"]))
        control = describe.get("control")
        if control:
            filled._control = SimulatorControl(url=str(control["url"]), token=SecretStr(str(control["token"])))
        return filled

    # ---- for the run manifest

    def _secret_values(self) -> list[str]:
        values = [v for a in (self.arrays or {}).values() for v in a._secret_values()]
        if self._control is not None:
            values.append(self._control.token.get_secret_value())
        return [v for v in values if v]

    def redacted_dict(self) -> dict[str, Any]:
        """The configuration as a JSON-able dict without any secret value (names of env vars and files only)."""
        data = self.model_dump(mode="json")
        secrets = self._secret_values()
        return _scrub(data, secrets) if secrets else data

    def config_hash(self) -> str:
        """sha256 of the canonical redacted configuration.

        For simulated arrays the per-start `arrays` (ephemeral ports, fresh host keys and certificates)
        are left out, so every run of the same file has the same hash.
        """
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def canonical_json(self) -> str:
        """What `config_hash` hashes: the redacted configuration as sorted, compact JSON."""
        data = self.redacted_dict()
        if self.simulated is not None:
            data.pop("arrays", None)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


_SIMULATED_EVENTS: dict[str, dict[str, Any]] = {
    "primary_down": {"kind": "simulator", "action": "array_down", "array": "primary"},
    "primary_up": {"kind": "simulator", "action": "array_up", "array": "primary"},
}
_SIMULATED_FAULTS: dict[str, dict[str, Any]] = {
    "recover_fails": {"kind": "simulator", "action": "fail_next", "operation": "recover"},
    "restore_fails": {"kind": "simulator", "action": "fail_next", "operation": "restore"},
    "sync_status_new": {"kind": "simulator", "action": "reset_to_new", "array": "primary"},
    "sync_status_notsynced": {
        "kind": "simulator",
        "action": "force_sync_status",
        "array": "primary",
        "status": "NotSynced",
    },
    "sync_status_stale": {"kind": "simulator", "action": "force_sync_status", "array": "primary", "status": "Stale"},
}


def _merge_defaults(model: BaseModel, defaults: dict[str, dict[str, Any]]) -> dict[str, Any]:
    given = model.model_dump(mode="python", exclude_none=True)
    return {**defaults, **given}


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "**********")
    return value


# --------------------------------------------------------------------------- loading


def load_config(path: str | Path) -> TargetConfig:
    """Read, validate and check a target file (environment variables and password files must be usable)."""
    path = Path(path).expanduser()
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            source,
            "no such configuration file (fixtures/lab-example.yaml is a template for real arrays; "
            "without --config the built-in simulated pair is used)",
        ) from None
    except IsADirectoryError:
        raise ConfigError(source, "is a directory, not a configuration file") from None
    except PermissionError:
        raise ConfigError(source, "cannot read the configuration file: permission denied") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(source, f"cannot read the configuration file: {exc.strerror or exc}") from None
    return _parse(text, source, base_dir=path.absolute().parent)


def builtin_config(kind: Literal["pair", "sld"] = "pair") -> TargetConfig:
    """The packaged target for the built-in simulated arrays (harness/targets/mock-<kind>.yaml)."""
    if kind not in ARRAY_KEYS:
        raise ConfigError(f"built-in target {kind!r}", f"unknown; choose one of {', '.join(ARRAY_KEYS)}")
    resource = importlib.resources.files("harness") / "targets" / f"mock-{kind}.yaml"
    with importlib.resources.as_file(resource) as file:
        return load_config(file)


def _parse(text: str, source: str, base_dir: Path | None) -> TargetConfig:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = str(exc.problem or exc.context or "syntax error")
        if exc.context and exc.problem:
            started = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            what += f" ({exc.context}{started})"
        place = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(source, f"{place}not valid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, f"not valid YAML: {exc}") from None
    if data is None:
        raise ConfigError(source, "the file is empty; expected a mapping with topology, groups, arrays or simulated")
    if not isinstance(data, dict):
        raise ConfigError(
            source, f"expected a mapping (topology: ..., groups: ...) at the top level, got {_yaml_type(data)}"
        )
    lines, duplicates = _line_index(node)
    early = [Problem(w, m, lines.get(tuple(w.split(".")))) for w, m in duplicates]
    if isinstance(data.get("arrays"), dict) and isinstance(data.get("topology"), str):
        early += [_problem_at(w, m, lines) for w, m in _array_key_problems(data["topology"], map(str, data["arrays"]))]
    try:
        config = TargetConfig.model_validate(data, context={"check_secrets": True, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(source, _by_line(early + _problems_from(exc, data, lines))) from None
    if early:
        raise ConfigError(source, _by_line(early))
    config._source = source
    for array in (config.arrays or {}).values():
        array._source = source
    return config


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line if p.line is not None else 1 << 30)


def _problem_at(where: str, message: str, lines: Mapping[tuple[str, ...], int]) -> Problem:
    parts = tuple(where.split(".")) if where else ()
    while parts and parts not in lines:
        parts = parts[:-1]
    return Problem(where, message, lines.get(parts))


def _line_index(node: yaml.Node | None) -> tuple[dict[tuple[str, ...], int], list[tuple[str, str]]]:
    """1-based line of every key / item by its path; duplicate keys found on the way."""
    lines: dict[tuple[str, ...], int] = {}
    duplicates: list[tuple[str, str]] = []

    def walk(n: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in n.value:
                key = str(key_node.value)
                here = (*path, key)
                if key in seen:
                    duplicates.append((".".join(here), f"duplicate key {key!r} (line {key_node.start_mark.line + 1})"))
                seen.add(key)
                lines.setdefault(here, key_node.start_mark.line + 1)
                walk(value_node, here)
        elif isinstance(n, yaml.SequenceNode):
            for index, item in enumerate(n.value):
                here = (*path, str(index))
                lines.setdefault(here, item.start_mark.line + 1)
                walk(item, here)

    if node is not None:
        walk(node, ())
    return lines, duplicates


def _yaml_type(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _clean_loc(raw: tuple[int | str, ...], data: Any, *, ends_with_tag: bool = False) -> list[str]:
    """Pydantic's loc without union tags: follow the input data, dropping parts that are not in it.

    The last part is kept even when absent (a missing key), unless the error is about a union tag.
    """
    out: list[str] = []
    node = data
    for index, part in enumerate(raw):
        last = index == len(raw) - 1 and not ends_with_tag
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            node = node[part]
            out.append(str(part))
        elif last:
            out.append(str(part))
            node = None
    return out


def _problems_from(exc: ValidationError, data: Any, lines: Mapping[tuple[str, ...], int]) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        raw = tuple(err["loc"])
        loc = _clean_loc(raw, data, ends_with_tag=err["type"].startswith("union_tag"))
        ctx = err.get("ctx") or {}
        if err["type"] == "config":
            for field, message in ctx.get("problems") or [(ctx.get("field", ""), err["msg"])]:
                parts = [*loc, *(p for p in str(field).split(".") if p)]
                problems.append(_problem_at(".".join(parts), message, lines))
            continue
        where, message = _describe_error(err, raw, loc)
        problems.append(_problem_at(where, message, lines))
    return problems


def _describe_error(err: Any, raw: tuple[int | str, ...], loc: list[str]) -> tuple[str, str]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    where = ".".join(loc)
    secretish = any(s in part.lower() for part in loc for s in _SECRETISH)
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        if any(s in key.lower() for s in _SECRETISH) and not key.endswith(("_env", "_file")):
            return where, (
                f"unknown key {key!r}: secrets are never written in the file; use password_env "
                "(an environment variable's name) or password_file"
            )
        valid = _valid_keys(raw[:-1])
        hint = _did_you_mean(key, valid)
        listing = f" (valid keys: {', '.join(valid)})" if valid else ""
        return where, f"unknown key {key!r}{hint}{listing}"
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        if "kind" in str(ctx.get("discriminator")):
            return f"{where}.kind", (
                f"unknown event kind {tag!r}{_did_you_mean(tag, EVENT_KINDS)} (kinds: {', '.join(EVENT_KINDS)})"
            )
        return f"{where}.action", (
            f"unknown simulator action {tag!r}{_did_you_mean(tag, SIMULATOR_ACTIONS)} "
            f"(actions: {', '.join(SIMULATOR_ACTIONS)})"
        )
    if kind == "union_tag_not_found":
        if "kind" in str(ctx.get("discriminator")):
            return f"{where}.kind", f"missing: every action needs kind: one of {', '.join(EVENT_KINDS)}"
        return f"{where}.action", f"missing: a simulator action needs action: one of {', '.join(SIMULATOR_ACTIONS)}"
    if kind == "missing":
        return where, "required key missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return where, f"expected a mapping (key: value lines), got {_yaml_type(value)}"
    if kind == "list_type":
        example = " (an argv list, e.g. [/usr/local/bin/pdu, off, '3'])" if loc[-1:] == ["command"] else ""
        return where, f"expected a list{example}, got {_yaml_type(value)}"
    if kind in ("greater_than", "greater_than_equal") and loc and loc[0] in ("time_limits", "polling"):
        bound = ctx.get("gt", ctx.get("ge"))
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        unit = " seconds" if loc[-1] != "settle_samples" else ""
        sign = ">" if kind == "greater_than" else ">="
        return where, f"must be {sign} {bound}{unit}, got {value!r}"
    if kind in ("bool_type", "bool_parsing"):
        return where, f"expected true or false, got {_short(value) if not secretish else _yaml_type(value)}"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = _did_you_mean(str(value), expected) if isinstance(value, str) else ""
        return where, f"{err['msg']}{hint}" + ("" if secretish else f" (got {_short(value)})")
    message = err["msg"]
    if not secretish and (value is None or isinstance(value, str | int | float | bool)):
        message += f" (got {_short(value)})"
    return where, message


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _valid_keys(raw: tuple[int | str, ...]) -> list[str]:
    """The field names of the model at a raw pydantic loc (tags included), for unknown-key suggestions."""
    tp: Any = TargetConfig
    for part in raw:
        tp = _step(tp, part)
        if tp is None:
            return []
    tp = _unwrap_optional(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _union_members(tp: Any) -> list[Any] | None:
    tp = _strip_annotated(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        return [_strip_annotated(m) for m in typing.get_args(tp) if m is not type(None)]
    return None


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _unwrap_optional(tp: Any) -> Any:
    members = _union_members(tp)
    while members is not None and len(members) == 1:
        tp = members[0]
        members = _union_members(tp)
    return _strip_annotated(tp)


def _literal_values(model: type[BaseModel]) -> Iterator[Any]:
    for field in model.model_fields.values():
        if typing.get_origin(field.annotation) is Literal:
            yield from typing.get_args(field.annotation)


def _matches_tag(tp: Any, tag: Any) -> bool:
    members = _union_members(tp)
    if members is not None:
        return any(_matches_tag(m, tag) for m in members)
    return isinstance(tp, type) and issubclass(tp, BaseModel) and tag in set(_literal_values(tp))


def _step(tp: Any, part: int | str) -> Any:
    tp = _unwrap_optional(tp)
    members = _union_members(tp)
    if members is not None:  # a discriminated union: `part` is the tag
        for member in members:
            if _matches_tag(member, part):
                return member
        return None
    origin = typing.get_origin(tp)
    if origin is dict:
        return typing.get_args(tp)[1]
    if origin is list:
        return typing.get_args(tp)[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str) and part in tp.model_fields:
        return tp.model_fields[part].annotation
    return None


__all__ = [
    "ARRAY_KEYS",
    "ArrayConfig",
    "CimConfig",
    "CliAction",
    "ConfigError",
    "EventAction",
    "Events",
    "Faults",
    "Identity",
    "ManualAction",
    "Polling",
    "Problem",
    "Safety",
    "ScriptAction",
    "SimulatedOptions",
    "SimulatorAction",
    "SimulatorControl",
    "SshConfig",
    "TargetConfig",
    "TimeLimits",
    "bind_group",
    "builtin_config",
    "control_body",
    "is_simulator_action",
    "load_config",
]
