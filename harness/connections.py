"""Connections to the arrays of one run: both interfaces of each array, and the preflight checks.

Preflight proves the harness talks to the right arrays and group before anything
disruptive: identity per array (CIM and CLI) matches the config, each array's
remote-copy target toward its peer is found (`showrcopy -d targets`, see
harness.target_discovery), the group exists on every array (CIM and CLI), the pair
is in its natural synced state, and the Replication Services profile is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.array_cli import ArrayCli, CliError, SshEndpoint, Transcript
from harness.cim import ArrayCim, CimEndpoint, CimError, CimIdentity, GroupHandle
from harness.cim_read_choice import ReadChoice, choose_read, pin_read
from harness.cli_read import CliIdentity, CliReadError, read_group, read_identity, read_targets
from harness.config import ArrayConfig, TargetConfig
from harness.showrcopy import CliParseError, base_group_name, parse_showrcopy
from harness.stages import natural_problems
from harness.target_discovery import PeerIdentity, TargetChoice, TargetDiscoveryError, choose_target

REPLICATION_PROFILE = "Replication Services"
RecorderFactory = Callable[[str], Any]
"""Array key -> a pywbem.BaseOperationRecorder for that array's connection (one recorder per connection)."""


class PreflightError(Exception):
    """The run must not go on: the message says which array, what was expected, what was found."""


@dataclass
class ArrayHandle:
    key: str
    config: ArrayConfig
    cim: ArrayCim
    cli: ArrayCli
    identity: CimIdentity | None = None
    cli_identity: CliIdentity | None = None  # showsys / showversion
    group_name: str = ""  # the group under test as named on this array
    group: GroupHandle | None = None
    peer_key: str = ""
    peer_name: str = ""  # the peer's system name (showsys)
    target: TargetChoice | None = None  # this array's remote-copy target that leads to the peer
    reads: ReadChoice | None = None  # how polls read the group on this array (measured at preflight)

    @property
    def target_name(self) -> str:
        """The remote-copy target (as this array names it) that leads to the peer; set by preflight."""
        if self.target is None:
            raise RuntimeError(f"{self.key}: no remote-copy target chosen yet (preflight not run)")
        return self.target.name

    def manifest(self) -> dict[str, Any]:
        ident = self.identity
        return {
            "system_name": self.cli_identity.name if self.cli_identity else (ident.system_name if ident else None),
            "serial": self.cli_identity.serial if self.cli_identity else (ident.serial if ident else None),
            "os_version": self.cli_identity.release if self.cli_identity else None,
            "cim_url": self.config.cim.url,
            "namespace": self.config.cim.namespace,
            "interop_namespace": ident.interop_namespace if ident else None,
            "provider": ident.provider if ident else None,
            "provider_version": ident.provider_version if ident else None,
            "provider_description": ident.provider_description if ident else None,
            "simulated": ident.simulated if ident else None,
            "profiles": ident.profiles if ident else {},
            # the provider's own ValueMap/Values for the pair class (pywbem ValueMapping), as evidence
            "value_names": _names_json(ident.value_names) if ident else {},
            "group": self.group_name,
            "target": self.target.manifest() if self.target else None,
            "cim_reads": self.reads.manifest() if self.reads else None,
        }


@dataclass
class Connections:
    config: TargetConfig
    arrays: dict[str, ArrayHandle]
    transcript: Transcript
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (source key, target key) under test

    @classmethod
    def open(cls, config: TargetConfig, transcript: Transcript, recorder: RecorderFactory | None = None) -> Connections:
        """Both interfaces of every array; `recorder(key)` gives the pywbem operation recorder of an array's
        connection (the run's recording: harness.recording.Recording.recorder)."""
        arrays = {
            key: _handle(key, config.array(key), transcript, recorder(key) if recorder else None)
            for key in config.array_keys
        }
        return cls(config, arrays, transcript)

    def close(self) -> None:
        for handle in self.arrays.values():
            handle.cli.close()
            handle.cim.close()

    def peers(self) -> dict[str, str]:
        """Which array each observed array is checked against (its target for the group under test)."""
        if self.config.topology == "pair":
            return {"primary": "secondary", "secondary": "primary"}
        return {"sync_secondary": "periodic_secondary", "periodic_secondary": "sync_secondary",
                "primary": "sync_secondary"}  # fmt: skip

    def preflight(
        self, group: str, progress: Callable[[str], None] | None = None, require_natural: bool = True
    ) -> None:
        """Identity of every array, the target toward each peer, the group on every array and (unless
        `require_natural` is off, as for `smis-harness restore`) the group in its natural state."""
        problems: list[str] = []
        for handle in self.arrays.values():
            problems += self._identity_problems(handle)
        if problems:
            raise PreflightError("; ".join(problems))
        for key, peer in self.peers().items():
            handle = self.arrays[key]
            handle.peer_key, handle.peer_name = peer, self._system_name(peer)
            problems += self._target_problems(handle, progress)
        if problems:
            raise PreflightError("; ".join(problems))
        for handle in self.arrays.values():
            problems += self._group_problems(handle, group)
        if problems:
            raise PreflightError("; ".join(problems))
        if require_natural:
            problems += self._natural_state_problems()
        if problems:
            raise PreflightError("; ".join(problems))
        self._choose_reads(progress)

    def _choose_reads(self, progress: Callable[[str], None] | None) -> None:
        """How each observed array's polls read the group: the cheapest path measured on its provider, within
        `polling.max_cim_connections` (harness.cim_read_choice)."""
        limit = self.config.polling.max_cim_connections
        for key in self.observed_keys():
            handle = self.arrays[key]
            assert handle.group is not None
            path = handle.config.cim.read
            handle.reads = choose_read(handle.cim, handle.group, limit) if path == "measure" else \
                pin_read(handle.cim, handle.group, path, limit)  # fmt: skip
            if progress is not None:
                progress(handle.reads.line(key))

    def _system_name(self, key: str) -> str:
        handle = self.arrays[key]
        assert handle.cli_identity is not None
        return handle.cli_identity.name

    def _target_problems(self, handle: ArrayHandle, progress: Callable[[str], None] | None) -> list[str]:
        """Choose the array's remote-copy target toward its peer (never assumed from the peer's name)."""
        peer = self.arrays[handle.peer_key].cli_identity
        assert peer is not None
        try:
            targets, source = read_targets(handle.cli)
            handle.target = choose_target(
                handle.key, targets, PeerIdentity(handle.peer_key, peer.name, peer.system_id),
                handle.config.target, source,
            )  # fmt: skip
        except (CliError, CliReadError) as exc:
            return [f"{handle.key}: CLI: {exc}"]
        except TargetDiscoveryError as exc:
            return [str(exc)]
        if progress is not None:
            progress(f"{handle.key}: remote-copy target {handle.target.name} leads to {handle.peer_key} {peer.name}: "
                     f"{handle.target.reason}")  # fmt: skip
        return []

    def _identity_problems(self, handle: ArrayHandle) -> list[str]:
        key = handle.key
        try:
            handle.identity = handle.cim.discover()
        except CimError as exc:
            return [f"{key}: CIM: {exc}"]
        try:
            handle.cli_identity = read_identity(handle.cli)
        except (CliError, CliReadError) as exc:
            return [f"{key}: CLI: {exc}"]
        problems = []
        expected = handle.config.identity
        name, serial = handle.cli_identity.name, handle.cli_identity.serial
        if expected is not None:
            for what, want, cli_value, cim_value in (
                ("system name", expected.system_name, name, handle.identity.system_name),
                ("serial", expected.serial, serial, handle.identity.serial),
            ):
                if want is None:
                    continue
                if cli_value != want:
                    problems.append(f"{key}: showsys reports {what} {cli_value!r}, the config expects {want!r}")
                if cim_value is not None and cim_value != want and what == "system name":
                    problems.append(f"{key}: the provider reports {what} {cim_value!r}, the config expects {want!r}")
        if REPLICATION_PROFILE not in handle.identity.profiles:
            found = ", ".join(sorted(handle.identity.profiles)) or "none"
            problems.append(f"{key}: the SNIA {REPLICATION_PROFILE} profile is not registered (registered: {found})")
        return problems

    def _group_problems(self, handle: ArrayHandle, group: str) -> list[str]:
        if handle.key == "primary":
            handle.group_name = group
        else:
            try:
                handle.group_name = self._peer_group_name(handle, group)
            except PreflightError as exc:
                return [str(exc)]
        try:
            handle.group = handle.cim.find_group(handle.group_name)
        except CimError as exc:
            return [f"{handle.key}: CIM: {exc}"]
        if not handle.group.members:
            return [f"{handle.key}: the provider reports no member volumes for group {handle.group_name}"]
        return []

    def _peer_group_name(self, handle: ArrayHandle, group: str) -> str:
        """The group's name on a secondary: `<group>.r<primary id>` as `showrcopy groups` lists it."""
        try:
            result = handle.cli.run("showrcopy groups")
        except CliError as exc:
            raise PreflightError(f"{handle.key}: CLI: {exc}") from None
        if not result.ok:
            raise PreflightError(f"{handle.key}: showrcopy groups failed: {result.error_text()}")
        try:
            report = parse_showrcopy(result.stdout)
        except CliParseError as exc:
            raise PreflightError(f"{handle.key}: cannot parse showrcopy groups: {exc}") from None
        toward_primary = handle.target_name if handle.peer_key == "primary" else None
        for candidate in report.groups:
            base, _ = base_group_name(candidate.name)
            targets = {t.target for t in candidate.targets} | {candidate.target}
            if base == group and (toward_primary is None or toward_primary in targets):
                return candidate.name
        via = f" with target {toward_primary}" if toward_primary else ""
        raise PreflightError(f"{handle.key}: no remote-copy group for {group}{via} (looked for {group}.r<id>)")

    def _natural_state_problems(self) -> list[str]:
        problems = []
        for key in self.observed_keys():
            handle = self.arrays[key]
            try:
                view, _ = read_group(handle.cli, handle.group_name, handle.target_name)
            except (CliError, CliReadError) as exc:
                problems.append(f"{key}: CLI: {exc}")
                continue
            problems += natural_problems(key, view, self.config.topology)
        return problems

    def observed_keys(self) -> list[str]:
        return list(self.peers())


def _names_json(names: dict[str, dict[int, str]]) -> dict[str, dict[str, str]]:
    return {prop: {str(value): name for value, name in mapping.items()} for prop, mapping in names.items()}


def _handle(key: str, config: ArrayConfig, transcript: Transcript, recorder: Any) -> ArrayHandle:
    cim = config.cim
    ssh = config.ssh
    cim_endpoint = CimEndpoint(
        url=cim.url,
        user=cim.user,
        password=config.cim_password,
        namespace=cim.namespace,
        interop_namespace=cim.interop_namespace,
        ca_cert=str(cim.ca_cert) if cim.ca_cert else None,
        verify=cim.verify,
        timeout=float(cim.timeout),
    )
    ssh_endpoint = SshEndpoint(
        host=ssh.host,
        port=ssh.port,
        user=ssh.user,
        password=_password(config) if ssh.key_file is None else None,
        key_file=str(ssh.key_file) if ssh.key_file else None,
        key_passphrase=config.ssh_key_passphrase if ssh.key_file else None,
        host_key=ssh.host_key,
        known_hosts=str(ssh.known_hosts) if ssh.known_hosts else None,
        timeout=float(ssh.timeout),
    )
    return ArrayHandle(key, config, ArrayCim(cim_endpoint, recorder), ArrayCli(key, ssh_endpoint, transcript))


def _password(config: ArrayConfig) -> Callable[[], str]:
    """The SSH password, read when the connection is made (a missing one is a configuration error there)."""

    def read() -> str:
        return config.ssh_password() or ""

    return read
