"""Read one group's state from an array's CLI: `showrcopy targets` + `showrcopy groups <group>`."""

from __future__ import annotations

from harness.array_cli import ArrayCli, CliResult
from harness.observe import CliView, CliVolume
from harness.showrcopy import Group, RemoteCopyReport, ShowrcopyParseError, parse_showrcopy, parse_showsys


class CliReadError(Exception):
    """The CLI answered, but not with what a 3PAR array prints; the message says what and where."""


def read_group(cli: ArrayCli, group: str, peer: str) -> tuple[CliView, list[CliResult]]:
    """The group's row toward `peer` (target system name), its volumes and the target's status."""
    targets = _checked(cli.run("showrcopy targets"), "showrcopy targets")
    target_status = next((t.status for t in _parse(cli, targets).targets if t.name == peer), None)
    groups = _checked(cli.run(f"showrcopy groups {group}"), f"showrcopy groups {group}")
    found = [g for g in _parse(cli, groups).groups if g.name == group]
    if not found:
        raise CliReadError(f"{cli.array}: showrcopy groups {group} printed no group named {group}")
    return _view(found[0], peer, target_status), [targets, groups]


def _parse(cli: ArrayCli, result: CliResult) -> RemoteCopyReport:
    try:
        return parse_showrcopy(result.stdout)
    except ShowrcopyParseError as exc:
        raise CliReadError(f"{cli.array}: cannot parse `{result.command}` output: {exc}") from None


def _checked(result: CliResult, what: str) -> CliResult:
    if not result.ok:
        raise CliReadError(f"{result.array}: {what} failed: {result.error_text()}")
    return result


def _view(group: Group, peer: str, target_status: str | None) -> CliView:
    rows = group.targets or []
    row = next((t for t in rows if t.target == peer), None)
    others = tuple((t.target, t.status, t.role) for t in rows if t is not row)
    volumes = tuple(
        CliVolume(v.local_vv, v.remote_vv, v.sync_status, v.raw_sync_status, v.last_sync_time)
        for v in group.volumes
        if v.target in (None, peer)
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
    )


def read_identity(cli: ArrayCli) -> tuple[str, str, str]:
    """(system name, serial, OS version line) from showsys and showversion."""
    sys_result = _checked(cli.run("showsys"), "showsys")
    try:
        info = parse_showsys(sys_result.stdout)
    except ShowrcopyParseError as exc:
        raise CliReadError(f"{cli.array}: cannot parse showsys output: {exc}") from None
    version = _checked(cli.run("showversion"), "showversion")
    release = next((ln.strip() for ln in version.stdout.splitlines() if ln.strip()), "")
    return info.name, info.serial, release
