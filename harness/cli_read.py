"""Read from an array's CLI: one group's state, the remote-copy targets, the system's identity."""

from __future__ import annotations

from typing import NamedTuple

from harness.array_cli import ArrayCli, CliResult
from harness.observation import CliView, CliVolume
from harness.showrcopy import CliParseError, Group, RemoteCopyReport, Target, parse_showrcopy, parse_showsys


class CliReadError(Exception):
    """The CLI answered, but not with what a 3PAR array prints; the message says what and where."""


class CliIdentity(NamedTuple):
    """What `showsys` and `showversion` say about the array."""

    name: str
    serial: str
    release: str
    system_id: int


def read_group(cli: ArrayCli, group: str, target: str) -> tuple[CliView, list[CliResult]]:
    """The group's row toward `target` (the remote-copy target's name), its volumes and the target's status."""
    targets = _checked(cli.run("showrcopy targets"), "showrcopy targets")
    target_status = next((t.status for t in _parse(cli, targets).targets if t.name == target), None)
    groups = _checked(cli.run(f"showrcopy groups {group}"), f"showrcopy groups {group}")
    found = [g for g in _parse(cli, groups).groups if g.name == group]
    if not found:
        raise CliReadError(f"{cli.array}: showrcopy groups {group} printed no group named {group}")
    return _view(found[0], target, target_status), [targets, groups]


def read_targets(cli: ArrayCli) -> tuple[list[Target], str]:
    """The array's remote-copy targets and the command that listed them.

    `showrcopy -d targets` shows the system behind each target (SysName, SysID); an array
    that refuses `-d` is asked `showrcopy targets`, and the command named says so.
    """
    detailed = cli.run("showrcopy -d targets")
    if detailed.ok:
        return _parse(cli, detailed).targets, "showrcopy -d targets"
    plain = _checked(cli.run("showrcopy targets"), "showrcopy targets")
    return _parse(cli, plain).targets, f"showrcopy targets (-d refused: {detailed.error_text()})"


def _parse(cli: ArrayCli, result: CliResult) -> RemoteCopyReport:
    try:
        return parse_showrcopy(result.stdout)
    except CliParseError as exc:
        raise CliReadError(f"{cli.array}: cannot parse `{result.command}` output: {exc}") from None


def _checked(result: CliResult, what: str) -> CliResult:
    if not result.ok:
        raise CliReadError(f"{result.array}: {what} failed: {result.error_text()}")
    return result


def _view(group: Group, target: str, target_status: str | None) -> CliView:
    rows = group.targets or []
    row = next((t for t in rows if t.target == target), None)
    others = tuple((t.target, t.status, t.role) for t in rows if t is not row)
    volumes = tuple(
        CliVolume(v.local_vv, v.remote_vv, v.sync_status, v.raw_sync_status, v.last_sync_time)
        for v in group.volumes
        if v.target in (None, target)
    )
    return CliView(
        group=group.name,
        target=row.target if row else group.target,
        status=row.status if row else group.status,
        role=row.role if row else group.role,
        mode=row.mode if row else group.mode,
        target_status=target_status,
        volumes=volumes,
        backup_targets=others,
        options=tuple(row.options if row else group.options),
    )


def read_identity(cli: ArrayCli) -> CliIdentity:
    """System name, serial and id from showsys; the OS version line from showversion."""
    sys_result = _checked(cli.run("showsys"), "showsys")
    try:
        info = parse_showsys(sys_result.stdout)
    except CliParseError as exc:
        raise CliReadError(f"{cli.array}: cannot parse showsys output: {exc}") from None
    version = _checked(cli.run("showversion"), "showversion")
    release = next((ln.strip() for ln in version.stdout.splitlines() if ln.strip()), "")
    return CliIdentity(info.name, info.serial, release, info.id)
