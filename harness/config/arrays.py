"""One array under test: its expected identity, its CIMOM (`cim:`) and its CLI over SSH (`ssh:`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from harness.config.base import RequestSeconds, _ctx, _resolve_path, _Strict
from harness.config.errors import ConfigError, Problem, _fail
from harness.config.files import _ca_cert_problem, _known_hosts_problem
from harness.config.host_keys import _host_key_problem
from harness.config.secrets import (
    _env_name,
    _env_problem,
    _file_problem,
    _password_source_problems,
    _read_secret_env,
    _read_secret_file,
)


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
    timeout: RequestSeconds = 30
    read: Literal["measure", "serial", "pooled", "enumeration"] = "measure"
    """How polls read the group (harness.cim_reads): `measure` chooses at preflight by measuring each path;
    a path named is used without measuring (a replay pins the path its recording was made with)."""

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
        elif self.ca_cert is not None and _ctx(info, "check_secrets"):
            problem = _ca_cert_problem(self.ca_cert)
            if problem:
                problems.append(("ca_cert", problem))
        _fail(problems)
        return self


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
    timeout: RequestSeconds = 30
    read: Literal["measure", "serial", "pooled", "enumeration"] = "measure"
    """How polls read the group (harness.cim_reads): `measure` chooses at preflight by measuring each path;
    a path named is used without measuring (a replay pins the path its recording was made with)."""

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
        elif self.known_hosts is not None and _ctx(info, "check_secrets"):
            problem = _known_hosts_problem(self.known_hosts, self.host, self.port)
            if problem:
                problems.append(("known_hosts", problem))
        _fail(problems)
        return self


class ArrayConfig(_Strict):
    """One array: expected identity, its CIMOM and its CLI."""

    identity: Identity | None = None
    cim: CimConfig
    ssh: SshConfig
    target: str | None = None
    """The remote-copy target on this array that leads to its peer, as `showrcopy targets` names it.
    Optional: preflight finds it from `showrcopy -d targets` (SysName/SysID); when given, it must
    be listed and, where -d shows SysName/SysID, lead to the peer."""

    @field_validator("target")
    @classmethod
    def _check_target(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,63}", value):
            raise PydanticCustomError(
                "config", "{message}", {"message": "expected a target name as `showrcopy targets` prints it "
                                                   "(letters, digits, _ . - :; no spaces)"}
            )  # fmt: skip
        if value == "receive":
            raise PydanticCustomError(
                "config", "{message}", {"message": "`receive` names this array's inbound links, not a target"}
            )
        return value

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

    def secret_values(self) -> list[str]:
        """Every secret of this array that can be read now (for redacting outputs); unreadable ones are skipped."""
        values = self._secret_values()
        for read in (self.cim_password, self.ssh_password, self.ssh_key_passphrase):
            try:
                values.append(read() or "")
            except ConfigError:
                continue
        return [v for v in values if v]
