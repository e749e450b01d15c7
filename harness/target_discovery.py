"""Which remote-copy target of an array leads to its peer (pure logic, no I/O).

Targets are named by whoever created them (on the real Alletra MP pair in
fixtures/captures, the target on E18U31 that leads to D22U27 is named
``AlletraMP_E18U31``), so a target's name says nothing about the array behind it.
``showrcopy -d targets`` does: ``SysName`` and ``SysID`` are the peer's system name
and id as its ``showsys`` prints them.  The choice, in order:

1. ``-d`` shows SysName/SysID: the one target whose SysName and SysID both agree with
   the peer's ``showsys`` (a configured ``target:`` must be that target);
2. ``-d`` shows no identity (older OS, or a simulator): the configured ``target:``,
   else the target named after the peer's ``showsys`` name.

Anything else (no match, several matches, a target whose SysName and SysID disagree,
a configured target that is not listed or leads elsewhere) stops the run with a
message listing every target seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.showrcopy import Target

__all__ = ["PeerIdentity", "TargetChoice", "TargetDiscoveryError", "choose_target", "describe_target"]


class TargetDiscoveryError(Exception):
    """No single target can be shown to lead to the peer: the message lists what was seen and the remedy."""


@dataclass(frozen=True)
class PeerIdentity:
    """The array a target must lead to: its config key and its identity as its ``showsys`` prints it."""

    key: str
    name: str
    system_id: int | None

    def describe(self) -> str:
        ident = "" if self.system_id is None else f", SysID {self.system_id}"
        return f"{self.key} ({self.name}{ident})"


@dataclass(frozen=True)
class TargetChoice:
    """The target chosen on one array toward its peer, and why (for the progress line and the manifest)."""

    name: str
    peer: str  # the peer's config key
    reason: str

    def manifest(self) -> dict[str, str]:
        return {"name": self.name, "peer": self.peer, "reason": self.reason}


def describe_target(target: Target) -> str:
    """``AlletraMP_E18U31 (SysName AlletraMP_D22U27, SysID 188150, ready)``."""
    parts = []
    if target.sys_name is not None:
        parts.append(f"SysName {target.sys_name}")
    if target.sys_id is not None:
        parts.append(f"SysID {target.sys_id}")
    parts.append(target.status)
    return f"{target.name} ({', '.join(parts)})"


def _verdicts(target: Target, peer: PeerIdentity) -> list[bool]:
    """For each identity column the target shows: does it name the peer?"""
    checks = []
    if target.sys_name is not None:
        checks.append(target.sys_name == peer.name)
    if target.sys_id is not None and peer.system_id is not None:
        checks.append(target.sys_id == peer.system_id)
    return checks


def choose_target(
    array: str, targets: Sequence[Target], peer: PeerIdentity, configured: str | None, source: str
) -> TargetChoice:
    """The target on `array` that leads to `peer`; `source` names the command the targets came from."""
    seen = "; ".join(describe_target(t) for t in targets) or "none"
    where = f"{array}: {source} lists {seen}"
    remedy = f"give arrays.{array}.target: <name of the target on {array} that leads to {peer.key}> in the config"
    if not targets:
        raise TargetDiscoveryError(f"{where}: no remote-copy target leads to {peer.describe()}; is remote copy set up?")
    if any(t.sys_name is not None or t.sys_id is not None for t in targets):
        return _by_identity(array, targets, peer, configured, where, remedy)
    return _by_name(array, targets, peer, configured, where, remedy)


def _by_identity(
    array: str, targets: Sequence[Target], peer: PeerIdentity, configured: str | None, where: str, remedy: str
) -> TargetChoice:
    split = [t.name for t in targets if len(set(_verdicts(t, peer))) > 1]
    if split:
        raise TargetDiscoveryError(
            f"{where}: target {split[0]} shows SysName and SysID that disagree about {peer.describe()}; "
            "check the remote-copy configuration of the pair"
        )
    matches = [t for t in targets if _verdicts(t, peer) and all(_verdicts(t, peer))]
    shown = f"SysName/SysID match the {peer.key}'s showsys ({peer.name}" + (
        f", {peer.system_id})" if peer.system_id is not None else ")"
    )
    if configured is not None:
        chosen = next((t for t in targets if t.name == configured), None)
        if chosen is None:
            raise TargetDiscoveryError(f"{where}: the configured target {configured} is not listed; {remedy}")
        if chosen not in matches:
            raise TargetDiscoveryError(
                f"{where}: the configured target {configured} does not lead to {peer.describe()}; {remedy}"
            )
        return TargetChoice(configured, peer.key, f"configured target; {shown}")
    if len(matches) == 1:
        return TargetChoice(matches[0].name, peer.key, shown)
    if not matches:
        raise TargetDiscoveryError(f"{where}: no target leads to {peer.describe()}; check the pair or {remedy}")
    names = ", ".join(t.name for t in matches)
    raise TargetDiscoveryError(f"{where}: several targets lead to {peer.describe()} ({names}); {remedy}")


def _by_name(
    array: str, targets: Sequence[Target], peer: PeerIdentity, configured: str | None, where: str, remedy: str
) -> TargetChoice:
    unconfirmed = "no SysName/SysID in the output to confirm where it leads"
    if configured is not None:
        if not any(t.name == configured for t in targets):
            raise TargetDiscoveryError(f"{where}: the configured target {configured} is not listed; {remedy}")
        return TargetChoice(configured, peer.key, f"configured target; {unconfirmed}")
    if any(t.name == peer.name for t in targets):
        return TargetChoice(peer.name, peer.key, f"named after the {peer.key}'s showsys name; {unconfirmed}")
    raise TargetDiscoveryError(
        f"{where}: none shows SysName/SysID and none is named {peer.name}, so none can be shown to lead to "
        f"{peer.describe()}; {remedy}"
    )
