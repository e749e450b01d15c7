"""SLD backup-link checks that are not plain value comparisons (SLD-02 direction, SLD-03 CLI)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.observation import Observation

SYNC, PERIODIC = "sync_secondary", "periodic_secondary"
BACKUP_ARRAYS = (SYNC, PERIODIC)
CHECKS = {"SLD-02": "direction", "SLD-03": "cli"}
"""The SLD rows that are checks of their own rather than CIM values (SLD-01)."""


def direction_problems(latest: Mapping[str, Observation]) -> list[str]:
    """SLD-02: SystemElement on the synchronous secondary, SyncedElement on the periodic secondary."""
    problems = []
    for key, want_local_system in ((SYNC, True), (PERIODIC, False)):
        obs = latest.get(key)
        if obs is None or obs.cim is None:
            problems.append(f"{key}: no CIM observation ({obs.cim_error if obs else 'none'})")
            continue
        if not obs.cim.pairs:
            problems.append(f"{key}: the provider reports no backup-link pairs for the group")
        for pair in obs.cim.pairs:
            if pair.system_element_local != want_local_system or pair.synced_element_local == want_local_system:
                end = "SystemElement" if want_local_system else "SyncedElement"
                problems.append(
                    f"{key}: pair of {pair.local_volume} has SystemElement {pair.system_element} and "
                    f"SyncedElement {pair.synced_element}; expected this array's volume as {end}"
                )
    return problems


def backup_cli_problems(latest: Mapping[str, Observation]) -> list[str]:
    """SLD-03: showrcopy on both secondaries lists the backup group with Role Secondary, Status Backup."""
    problems = []
    for key in (SYNC, PERIODIC):
        obs = latest.get(key)
        if obs is None or obs.cli is None:
            problems.append(f"{key}: no CLI observation ({obs.cli_error if obs else 'none'})")
            continue
        view = obs.cli
        if (view.role, view.status) != ("Secondary", "Backup"):
            problems.append(
                f"{key}: group {view.group} toward {view.target} shows Role {view.role} and Status {view.status}; "
                "expected Role Secondary and Status Backup"
            )
    return problems


def evidence(latest: Mapping[str, Observation]) -> Sequence[int]:
    return [obs.seq for obs in latest.values()]
