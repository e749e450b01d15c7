"""A whole target (`TargetConfig`): validation across sections, access for the run, the simulated arrays
filled in at run time, and the redacted form and hash for the run manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, ValidationInfo, model_validator

from harness.config.actions import Events, Faults, bind_group, is_simulator_action
from harness.config.arrays import ArrayConfig
from harness.config.base import _ctx, _Strict
from harness.config.errors import ConfigError, Problem, _did_you_mean, _fail
from harness.config.settings import Polling, Safety, SimulatedOptions, TimeLimits
from harness.config.topology import ARRAY_KEYS, Topology, _array_key_problems
from harness.config.validation_errors import _problems_from


@dataclass(frozen=True)
class SimulatorControl:
    """Where `kind: simulator` actions go: POST url, Authorization: Bearer <token>."""

    url: str
    token: SecretStr

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token.get_secret_value()}", "Content-Type": "application/json"}


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
        problems += _group_problems(self.groups)
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

    def action_names(self) -> set[str]:
        """Events and faults a run of this target can carry out: the configured ones, plus for the
        built-in simulated arrays the control actions `with_simulated_arrays` fills in by default."""
        names = set(self.action_specs())
        if self.is_simulated:
            names |= set(_SIMULATED_EVENTS) | set(_SIMULATED_FAULTS)
        return names

    def transport_warnings(self) -> list[str]:
        """What this target's CIM transport leaves unprotected (plain http, verify: false), one sentence each:
        printed when a run starts and kept in the run manifest."""
        if self.simulated is not None:
            if self.simulated.tls:
                return []
            return ["simulated.tls is false: the simulated arrays serve CIM-XML over plain http on loopback"]
        warnings: list[str] = []
        for key, array in (self.arrays or {}).items():
            where = f"arrays.{key}.cim"
            if array.cim.url.startswith("http:"):
                warnings.append(
                    f"{where}.url {array.cim.url} is plain http: the CIM password and every answer cross the "
                    "network unencrypted, and nothing proves the answers come from the array; use https "
                    "(port 5989) with ca_cert"
                )
            elif not array.cim.verify:
                warnings.append(
                    f"{where}.verify is false: the CIMOM's certificate is not checked, so anyone on the network "
                    "path can pose as the array and read the CIM password; give ca_cert instead"
                )
        return warnings

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
        known = set(available)
        problems = [
            Problem(f"groups.{i}", f"{g} is not a group of the simulated arrays (they have: {', '.join(available)})")
            for i, g in enumerate(groups)
            if g not in known
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
            raise ConfigError(where, _problems_from(exc, data, {}, root=TargetConfig)) from None
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

    def secret_values(self) -> list[str]:
        """Every secret value the run may hold (passwords, passphrases, the simulator's control token), read
        from wherever the file names them: what `harness.redact` removes from every output."""
        values = [v for a in (self.arrays or {}).values() for v in a.secret_values()]
        if self._control is not None:
            values.append(self._control.token.get_secret_value())
        return sorted({v for v in values if v})

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
    # a failed restore acts on its group alone: each group of a shared tour arms its own
    "restore_fails": {"kind": "simulator", "action": "fail_next", "operation": "restore", "group": "{group}"},
    "sync_status_new": {"kind": "simulator", "action": "reset_to_new", "array": "primary"},
    "sync_status_notsynced": {
        "kind": "simulator",
        "action": "force_sync_status",
        "array": "primary",
        "status": "NotSynced",
    },
    "sync_status_stale": {"kind": "simulator", "action": "force_sync_status", "array": "primary", "status": "Stale"},
}


_GROUP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
"""The names the array accepts; a name is also a directory of a multi-group run and a word of CLI commands,
so a space, `;`, `/` or `..` must never get through."""


def _group_problems(groups: list[str]) -> list[tuple[str, str]]:
    """Empty names and repeats (each repeat names the first place), in one pass over the list."""
    problems: list[tuple[str, str]] = []
    first: dict[str, int] = {}
    for index, name in enumerate(groups):
        if not name.strip():
            problems.append((f"groups.{index}", "empty group name"))
        elif not _GROUP_NAME.fullmatch(name):
            problems.append(
                (
                    f"groups.{index}",
                    f"{name[:40]!r} is not a group name: letters, digits, _ . - (starting with a letter, digit "
                    "or _), at most 64 characters, as the array names groups",
                )
            )
        elif name in first:
            problems.append((f"groups.{index}", f"{name} is listed twice (first as groups.{first[name]})"))
        else:
            first[name] = index
    return problems


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
