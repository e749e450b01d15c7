"""Tests for harness.rules: RULE-01..RULE-09 on hand-made observations (no I/O)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from harness.observation import CimGroupSync, CimPair, CimView, CliView, CliVolume, Observation
from harness.results import Verdict
from harness.rules import MAX_STORED_VIOLATIONS, RULE_IDS, RuleContext, check_rules, table106_from_spec
from harness.verdicts import NOT_REPORTED

VOLUMES = (("vv1", "rvv1"), ("vv2", "rvv2"))
GROUP = {"primary": "rcg", "secondary": "rcg.r1234"}
REQUESTED = {5: 4, 13: 4, 4: 15, 8: 15, 10: 15}

# --------------------------------------------------------------------------- factories


def volume_path(name: str, system: str) -> str:
    return f'//{system}/root/tpd:TPD_StorageVolume.DeviceID="{name}",SystemName="{system}"'


def entity_path(remote: str, prefix: str = "3PAR") -> str:
    return f'root/tpd:TPD_ReplicationEntity.InstanceID="{prefix}:{remote}"'


def make_pair(
    local: str,
    remote: str,
    *,
    source: bool,
    values: tuple[int, int, int],
    role_reversed: bool,
    sync_mode: bool,
    link_down: bool,
    **overrides: Any,
) -> CimPair:
    """A conforming pair for the situation described; `overrides` change properties (NOT_REPORTED drops one)."""
    copy_state, sync_state, progress = values
    local_end = (volume_path(local, "local"), True, "TPD_StorageVolume")
    if link_down:
        remote_end = (entity_path(remote), False, "TPD_ReplicationEntity")
    else:
        remote_end = (volume_path(remote, "peer"), False, "TPD_StorageVolume")
    system, synced = (local_end, remote_end) if source else (remote_end, local_end)
    props: dict[str, Any] = {
        "CopyState": copy_state,
        "SyncState": sync_state,
        "ProgressStatus": progress,
        "RequestedCopyState": REQUESTED.get(copy_state, 4),
        "Mode": 2 if sync_mode else 3,
        "CopyType": 3 if sync_mode else 2,
        "SyncType": 6,
        "ReplicaType": 2,
        "WhenSynced": None if sync_mode else "20240101120000.000000+000",
        "RoleReversed": role_reversed,
        "UndiscoveredElement": (3 if source else 2) if link_down else None,
    }
    props.update(overrides)
    omitted = tuple(k for k, v in props.items() if v is NOT_REPORTED)
    for key in omitted:
        del props[key]
    return CimPair(
        path=f"TPD_RemoteStorageSynchronized[{local}]",
        system_element=system[0],
        synced_element=synced[0],
        system_element_local=system[1],
        synced_element_local=synced[1],
        system_element_class=system[2],
        synced_element_class=synced[2],
        local_volume=local,
        properties=props,
        omitted=omitted,
    )


def make_obs(
    seq: int,
    array: str,
    role: str,
    sync_status: str,
    values: tuple[int, int, int],
    *,
    target_status: str = "ready",
    status: str = "Started",
    mode: str = "Sync",
    t: float | None = None,
    group_syncs: tuple[CimGroupSync, ...] | None = None,
    statuses: dict[str, str] | None = None,
    **overrides: Any,
) -> Observation:
    link_down = target_status != "ready"
    statuses = statuses or {vv: sync_status for vv, _ in VOLUMES}
    pairs = tuple(
        make_pair(
            local,
            remote,
            source=role in ("Primary", "Primary-Rev"),
            values=values,
            role_reversed=role.endswith("-Rev"),
            sync_mode=mode == "Sync",
            link_down=link_down,
            **overrides,
        )
        for local, remote in VOLUMES
    )
    if group_syncs is None:
        group_syncs = (CimGroupSync('G="rcg"', 'G="rcg.r1234"', "rcg", "rcg.r1234", {}),)
    volumes = tuple(CliVolume(local, remote, statuses[local], statuses[local], None) for local, remote in VOLUMES)
    cli = CliView(GROUP[array], "peer", status, role, mode, target_status, volumes)
    start = float(seq) if t is None else t
    return Observation(
        array=array,
        seq=seq,
        t_start=start,
        t_end=start + 0.5,
        wall="2024-01-01T00:00:00Z",
        cim=CimView(f"3PAR:{GROUP[array]}", pairs, group_syncs),
        cli=cli,
    )


def dr_run() -> list[Observation]:
    """A conforming run through the whole DR sequence (sync group), both arrays where reachable."""
    synced, broken, done_fo = (4, 6, 2), (5, 12, 2), (10, 12, 2)
    return [
        make_obs(1, "primary", "Primary", "Synced", synced),
        make_obs(2, "secondary", "Secondary", "Synced", synced),
        make_obs(3, "secondary", "Secondary", "Stopped", broken, target_status="failed", status="Stopped"),
        make_obs(4, "secondary", "Primary-Rev", "Stopped", (10, 12, 11), target_status="failed", status="Stopped"),
        make_obs(5, "secondary", "Primary-Rev", "Stopped", done_fo, target_status="failed", status="Stopped"),
        make_obs(6, "secondary", "Primary-Rev", "Stopped", broken, status="Stopped"),
        make_obs(7, "primary", "Secondary-Rev", "Stopped", broken, status="Stopped"),
        make_obs(8, "secondary", "Primary-Rev", "Syncing", (3, 10, 8)),
        make_obs(9, "primary", "Secondary-Rev", "Syncing", (3, 10, 8)),
        make_obs(10, "secondary", "Primary-Rev", "Synced", synced),
        make_obs(11, "primary", "Secondary-Rev", "Synced", synced),
        make_obs(12, "secondary", "Primary-Rev", "Synced", (4, 6, 12)),
        make_obs(13, "primary", "Secondary-Rev", "Synced", (4, 6, 12)),
        make_obs(14, "primary", "Primary", "Synced", synced),
        make_obs(15, "secondary", "Secondary", "Synced", synced),
    ]


def context(**changes: Any) -> RuleContext:
    base = RuleContext(
        configured_roles={"primary": "Primary", "secondary": "Secondary"},
        busy_windows=[(3.9, 5.0), (7.9, 9.0), (11.9, 13.0)],
        table106=table106_from_spec(),
    )
    return replace(base, **changes)


def violations(result_messages: list[dict[str, Any]]) -> list[str]:
    return [v["message"] for v in result_messages]


def only(rule_id: str, observations: list[Observation], ctx: RuleContext | None = None) -> Any:
    return check_rules(observations, ctx or context())[rule_id]


# --------------------------------------------------------------------------- the whole run


def test_conforming_dr_run_passes_every_rule() -> None:
    results = check_rules(dr_run(), context())
    assert list(results) == list(RULE_IDS)
    for rule_id, result in results.items():
        assert result.verdict == Verdict.PASS, (rule_id, result.reason, result.violations)
        assert result.checked > 0
        assert result.violation_count == 0


def test_no_observations_means_nothing_exercised() -> None:
    results = check_rules([], context())
    assert {r.verdict for r in results.values()} == {Verdict.SKIPPED}
    assert all(r.reason.startswith("not exercised") for r in results.values())


def test_observations_with_errors_are_skipped() -> None:
    broken = [replace(o, cim=None, cim_error="timeout", cli=None, cli_error="ssh refused") for o in dr_run()]
    results = check_rules(broken, context())
    assert {r.verdict for r in results.values()} == {Verdict.SKIPPED}


def test_table106_from_spec() -> None:
    table = table106_from_spec()
    assert table["Synced"] == {"CopyState": 4, "SyncState": 6, "ProgressStatus": 2}
    assert table["New"] == {"CopyState": 2, "SyncState": 5, "ProgressStatus": 19}
    assert set(table) == {"New", "Syncing", "Synced", "NotSynced", "Stale", "Stopped"}


def test_results_are_json_serializable_and_capped() -> None:
    bad = [
        make_obs(seq, "secondary", "Secondary", "Stopped", (10, 12, 2), target_status="failed", status="Stopped")
        for seq in range(1, 31)
    ]
    result = only("RULE-01", bad)
    assert result.violation_count == 60  # 30 observations x 2 pairs
    assert len(result.violations) == MAX_STORED_VIOLATIONS
    assert result.reason.startswith("60 violations in 30 checked observations; first (seq 1, secondary): ")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["verdict"] == "fail" and data["violations"][0]["seq"] == 1 and data["violations"][0]["t"] == 1.0


# --------------------------------------------------------------------------- RULE-01


def test_rule01_failedover_on_configured_role_is_a_violation() -> None:
    obs = make_obs(3, "secondary", "Secondary", "Stopped", (10, 12, 2), target_status="failed", status="Stopped")
    result = only("RULE-01", [obs])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == (
        "pair vv1: CopyState FailedOver (10) with role Secondary and target status failed; "
        "allowed only on Primary-Rev/Secondary-Rev while the target is not ready"
    )
    assert result.violations[0]["seq"] == 3 and result.violations[0]["array"] == "secondary"


def test_rule01_failedover_with_the_link_up_is_a_violation() -> None:
    obs = make_obs(6, "secondary", "Primary-Rev", "Stopped", (10, 12, 2), status="Stopped")
    result = only("RULE-01", [obs])
    assert result.verdict == Verdict.FAIL
    assert "with role Primary-Rev and target status ready" in result.violations[0]["message"]


# --------------------------------------------------------------------------- RULE-02


def test_rule02_role_reversed_false_on_reversed_role() -> None:
    obs = make_obs(10, "secondary", "Primary-Rev", "Synced", (4, 6, 2), RoleReversed=False)
    result = only("RULE-02", [obs])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == "pair vv1: RoleReversed False with role Primary-Rev, expected True"


def test_rule02_missing_role_reversed() -> None:
    obs = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), RoleReversed=NOT_REPORTED)
    result = only("RULE-02", [obs])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == "pair vv1: RoleReversed not reported (role Primary, expected False)"


# --------------------------------------------------------------------------- RULE-03


def test_rule03_references_not_swapped_after_reversal() -> None:
    obs = make_obs(10, "secondary", "Primary-Rev", "Synced", (4, 6, 2))
    pairs = tuple(
        replace(
            p,
            system_element=p.synced_element,
            synced_element=p.system_element,
            system_element_local=False,
            synced_element_local=True,
        )
        for p in obs.cim.pairs
    )
    obs = replace(obs, cim=replace(obs.cim, pairs=pairs))
    result = only("RULE-03", [obs])
    assert result.verdict == Verdict.FAIL
    message = violations(result.violations)[0]
    assert message.startswith(
        "pair vv1: role Primary-Rev makes this array the current source, expected SystemElement local and "
        "SyncedElement remote, observed SystemElement remote ("
    )


def test_rule03_skips_backup_groups() -> None:
    obs = make_obs(1, "secondary", "Secondary", "Synced", (2, 2, 3), status="Backup")
    pairs = tuple(replace(p, system_element_local=True, synced_element_local=False) for p in obs.cim.pairs)
    obs = replace(obs, cim=replace(obs.cim, pairs=pairs))
    assert only("RULE-03", [obs]).verdict == Verdict.SKIPPED


# --------------------------------------------------------------------------- RULE-04


def link_down_obs(**overrides: Any) -> Observation:
    return make_obs(
        3, "secondary", "Secondary", "Stopped", (5, 12, 2), target_status="failed", status="Stopped", **overrides
    )


def test_rule04_undiscovered_element_naming_a_storage_volume() -> None:
    obs = link_down_obs(UndiscoveredElement=3)  # secondary: SystemElement is the remote entity, 3 names SyncedElement
    result = only("RULE-04", [obs])
    assert result.verdict == Verdict.FAIL
    messages = violations(result.violations)
    assert any("UndiscoveredElement SyncedElement (3) but that end is a TPD_StorageVolume" in m for m in messages), (
        messages
    )
    assert any("SystemElement references a TPD_ReplicationEntity" in m for m in messages), messages


def test_rule04_entity_end_without_undiscovered_element() -> None:
    result = only("RULE-04", [link_down_obs(UndiscoveredElement=None)])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == (
        'pair vv1: SystemElement references a TPD_ReplicationEntity (root/tpd:TPD_ReplicationEntity.InstanceID="3PAR:'
        'rvv1") but UndiscoveredElement is NULL'
    )


def test_rule04_entity_instance_id_must_name_the_remote_volume() -> None:
    obs = link_down_obs()
    pairs = tuple(replace(p, system_element=entity_path("other")) for p in obs.cim.pairs)
    result = only("RULE-04", [replace(obs, cim=replace(obs.cim, pairs=pairs))])
    assert result.verdict == Verdict.FAIL
    assert "has no InstanceID '3PAR:rvv1' or 'HP_3PAR:rvv1'" in violations(result.violations)[0]


def test_rule04_volume_name_must_match_exactly_and_hp_prefix_is_accepted() -> None:
    obs = link_down_obs()
    remote = {"vv1": "rvv1", "vv2": "rvv2"}
    longer = tuple(replace(p, system_element=entity_path(remote[p.local_volume] + "0")) for p in obs.cim.pairs)
    result = only("RULE-04", [replace(obs, cim=replace(obs.cim, pairs=longer))])
    assert result.verdict == Verdict.FAIL
    assert 'InstanceID="3PAR:rvv10"' in result.violations[0]["message"]
    hp = tuple(replace(p, system_element=entity_path(remote[p.local_volume], "HP_3PAR")) for p in obs.cim.pairs)
    assert only("RULE-04", [replace(obs, cim=replace(obs.cim, pairs=hp))]).verdict == Verdict.PASS


def test_rule04_probes() -> None:
    good = {
        "array": "secondary",
        "t": 3.5,
        "enumerate_found_entity": False,
        "getinstance_found_entity": False,
        "associators_found_entity": True,
    }
    assert only("RULE-04", [], context(probes=[good])).verdict == Verdict.PASS
    bad = dict(good, enumerate_found_entity=True, associators_found_entity=False)
    result = only("RULE-04", [], context(probes=[good, bad]))
    assert result.verdict == Verdict.FAIL
    assert result.checked == 2
    assert violations(result.violations) == [
        "probe: EnumerateInstances returned a TPD_ReplicationEntity; it must be reachable only via Associators",
        "probe: Associators did not return the TPD_ReplicationEntity of the unresolvable end",
    ]
    assert result.violations[0]["array"] == "secondary" and result.violations[0]["t"] == 3.5


def test_rule04_skipped_without_link_down() -> None:
    result = only("RULE-04", [make_obs(1, "primary", "Primary", "Synced", (4, 6, 2))])
    assert result.verdict == Verdict.SKIPPED
    assert "no observation saw the link down" in result.reason


def test_rule04_skipped_when_link_down_but_no_entity() -> None:
    obs = link_down_obs()
    pairs = tuple(
        replace(
            p,
            system_element_class="TPD_StorageVolume",
            system_element=volume_path("rvv", "peer"),
            properties={**p.properties, "UndiscoveredElement": None},
        )
        for p in obs.cim.pairs
    )
    result = only("RULE-04", [replace(obs, cim=replace(obs.cim, pairs=pairs))])
    assert result.verdict == Verdict.SKIPPED
    assert "the link was down in 1 observation" in result.reason


# --------------------------------------------------------------------------- RULE-05 .. RULE-07


def test_rule05_requested_copy_state() -> None:
    broken = make_obs(
        3,
        "secondary",
        "Secondary",
        "Stopped",
        (5, 12, 2),
        target_status="failed",
        status="Stopped",
        RequestedCopyState=15,
    )
    result = only("RULE-05", [broken])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == (
        "pair vv1: CopyState Broken (5), RequestedCopyState expected Synchronized (4), observed Not Applicable (15)"
    )
    synced = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), RequestedCopyState=NOT_REPORTED)
    assert violations(only("RULE-05", [synced]).violations)[0] == (
        "pair vv1: CopyState Synchronized (4), RequestedCopyState expected Not Applicable (15), observed not reported"
    )
    syncing = make_obs(8, "secondary", "Primary-Rev", "Syncing", (3, 10, 8), RequestedCopyState=15)
    assert only("RULE-05", [syncing]).verdict == Verdict.SKIPPED


def test_rule06_when_synced_null_in_sync_mode() -> None:
    obs = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), WhenSynced="20240101120000.000000+000")
    result = only("RULE-06", [obs])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == (
        "pair vv1: Sync group but WhenSynced is 20240101120000.000000+000, expected NULL"
    )
    periodic = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), mode="Periodic")
    assert only("RULE-06", [periodic]).verdict == Verdict.SKIPPED


def test_rule06_takes_the_mode_from_the_group_not_the_pair() -> None:
    """A wrong Mode is RULE-07's: it neither hides WhenSynced on a sync group nor makes a periodic group's
    WhenSynced a violation."""
    hidden = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), Mode=3, WhenSynced="20240101120000.000000+000")
    result = only("RULE-06", [hidden])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0].startswith("pair vv1: Sync group but WhenSynced is 2024")
    invented = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), mode="Periodic", Mode=2)
    assert only("RULE-06", [invented]).verdict == Verdict.SKIPPED
    unknown = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), WhenSynced="20240101120000.000000+000")
    result = only("RULE-06", [unknown], context(modes={"primary": None}))
    assert violations(result.violations)[0].startswith("pair vv1: Mode Synchronous (2) but WhenSynced")


def test_rule07_mode_and_copy_type_follow_the_cli_mode() -> None:
    periodic = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), mode="Periodic")
    assert only("RULE-07", [periodic]).verdict == Verdict.PASS
    wrong = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), mode="Periodic", Mode=2)
    result = only("RULE-07", [wrong])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == (
        "pair vv1: Mode expected Asynchronous (3) (Periodic group), observed Synchronous (2)"
    )


def test_rule07_sync_type_and_replica_type() -> None:
    obs = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), SyncType=7, ReplicaType=NOT_REPORTED)
    messages = violations(only("RULE-07", [obs]).violations)
    assert "pair vv1: SyncType expected Mirror (6), observed unknown (7)" in messages
    assert "pair vv1: ReplicaType expected Full Copy (2), observed not reported" in messages


def test_rule07_context_mode_overrides_the_cli() -> None:
    obs = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2))  # sync pairs
    result = only("RULE-07", [obs], context(modes={"primary": "Periodic"}))
    assert result.verdict == Verdict.FAIL
    assert only("RULE-07", [obs], context(modes={"primary": None})).verdict == Verdict.PASS


# --------------------------------------------------------------------------- RULE-08


def test_rule08_normal_operation_matches_table106() -> None:
    obs = make_obs(1, "primary", "Primary", "Synced", (4, 6, 6))
    result = only("RULE-08", [obs])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == (
        "pair vv1 (showrcopy Synced): ProgressStatus expected Completed (2), observed Synchronizing (6)"
    )


def test_rule08_ignores_busy_windows_reversed_roles_and_link_down() -> None:
    wrong = (4, 6, 6)
    observations = [
        make_obs(4, "primary", "Primary", "Synced", wrong),  # inside busy window (3.9, 5.0)
        make_obs(20, "secondary", "Primary-Rev", "Synced", wrong),
        make_obs(21, "secondary", "Secondary", "Synced", wrong, target_status="failed"),
        make_obs(22, "secondary", "Secondary", "Synced", wrong, status="Backup"),
    ]
    result = only("RULE-08", observations)
    assert result.verdict == Verdict.SKIPPED
    assert "normal operation" in result.reason


def test_rule08_busy_window_overlap_counts() -> None:
    obs = make_obs(1, "primary", "Primary", "Synced", (4, 6, 6), t=3.6)  # spans 3.6-4.1, window starts 3.9
    assert only("RULE-08", [obs]).verdict == Verdict.SKIPPED


def test_rule08_matches_pairs_to_their_own_volume() -> None:
    statuses = {"vv1": "Synced", "vv2": "Syncing"}
    obs = make_obs(1, "primary", "Primary", "Synced", (4, 6, 2), statuses=statuses)
    pairs = (
        obs.cim.pairs[0],
        replace(
            obs.cim.pairs[1],
            properties={**obs.cim.pairs[1].properties, "CopyState": 3, "SyncState": 5, "ProgressStatus": 6},
        ),
    )
    good = replace(obs, cim=replace(obs.cim, pairs=pairs))
    assert only("RULE-08", [good]).verdict == Verdict.PASS
    swapped = replace(obs, cim=replace(obs.cim, pairs=(pairs[1], pairs[0])))
    assert only("RULE-08", [swapped]).verdict == Verdict.PASS  # order does not matter, names do
    result = only("RULE-08", [obs])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0] == (
        "pair vv2 (showrcopy Syncing): CopyState expected Unsynchronized (3), observed Synchronized (4)"
    )


def test_rule08_unmatched_pair_uses_a_shared_status() -> None:
    obs = make_obs(1, "primary", "Primary", "Synced", (4, 6, 6))
    pairs = tuple(replace(p, local_volume=None) for p in obs.cim.pairs)
    result = only("RULE-08", [replace(obs, cim=replace(obs.cim, pairs=pairs))])
    assert result.verdict == Verdict.FAIL
    assert violations(result.violations)[0].startswith("pair TPD_RemoteStorageSynchronized[vv1] (showrcopy Synced): ")


# --------------------------------------------------------------------------- RULE-09


def swapped_group_sync() -> tuple[CimGroupSync, ...]:
    return (CimGroupSync('G="rcg.r1234"', 'G="rcg"', "rcg.r1234", "rcg", {}),)


def test_rule09_source_group_swapped_after_failover() -> None:
    run = dr_run()
    run[5] = replace(run[5], cim=replace(run[5].cim, group_syncs=swapped_group_sync()))
    result = only("RULE-09", run)
    assert result.verdict == Verdict.FAIL
    assert result.violation_count == 1
    assert result.violations[0]["seq"] == 6
    assert result.violations[0]["message"] == (
        "TPD_RemoteGroupSynchronized SystemElement is group 'rcg.r1234' (SyncedElement 'rcg'), "
        "expected the configured source group 'rcg'"
    )


def test_rule09_wrong_group_on_primary() -> None:
    obs = make_obs(
        1, "primary", "Primary", "Synced", (4, 6, 2), group_syncs=(CimGroupSync("a", "b", "rcg.r99", "rcg", {}),)
    )
    result = only("RULE-09", [obs], context(failover_seen=True))
    assert result.verdict == Verdict.FAIL
    assert "SystemElement is group 'rcg.r99'" in result.violations[0]["message"]


def test_rule09_skipped_without_failover() -> None:
    run = [o for o in dr_run() if o.cli and not o.cli.role.endswith("-Rev")]
    result = only("RULE-09", run)
    assert result.verdict == Verdict.SKIPPED
    assert "no failover was seen" in result.reason
    assert only("RULE-09", run, context(failover_seen=True)).verdict == Verdict.PASS


def test_rule09_violation_before_failover_still_fails() -> None:
    run = [o for o in dr_run() if o.cli and not o.cli.role.endswith("-Rev")]
    run[1] = replace(run[1], cim=replace(run[1].cim, group_syncs=swapped_group_sync()))
    result = only("RULE-09", run)
    assert result.verdict == Verdict.FAIL


def test_rule09_checked_counts_only_after_failover() -> None:
    result = only("RULE-09", dr_run())
    assert result.verdict == Verdict.PASS
    assert result.checked == 12  # seq 4..15
    assert "'rcg'" in result.reason


def test_rule09_source_group_from_context() -> None:
    result = only("RULE-09", dr_run(), context(source_group="other"))
    assert result.verdict == Verdict.FAIL


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_reports_a_reason(rule_id: str) -> None:
    assert only(rule_id, dr_run()).reason


# --------------------------------------------------------------------------- classes and properties not implemented


def without_group_syncs(observations: list[Observation]) -> list[Observation]:
    return [replace(o, cim=replace(o.cim, group_syncs=())) if o.cim else o for o in observations]


def test_rule09_fails_not_implemented_when_no_group_sync_is_ever_reported() -> None:
    result = only("RULE-09", without_group_syncs(dr_run()))
    assert result.verdict == Verdict.FAIL
    assert result.reason.startswith("not implemented: no observation reported a TPD_RemoteGroupSynchronized")
    assert result.violation_count == 15
    assert result.violations[0]["message"] == "no TPD_RemoteGroupSynchronized reported for group rcg"
    # also without a failover: the class is missing whatever the stage
    natural = [o for o in without_group_syncs(dr_run()) if o.cli and not o.cli.role.endswith("-Rev")]
    assert only("RULE-09", natural).verdict == Verdict.FAIL


def test_rule09_fails_when_the_group_sync_vanishes_in_some_observations() -> None:
    run = dr_run()
    run[4] = replace(run[4], cim=replace(run[4].cim, group_syncs=()))
    result = only("RULE-09", run)
    assert result.verdict == Verdict.FAIL
    assert not result.reason.startswith("not implemented")
    assert [v["seq"] for v in result.violations] == [5]
    assert "no TPD_RemoteGroupSynchronized reported for group rcg.r1234" in result.reason


def test_rule09_refused_read_is_a_violation() -> None:
    from harness.observation import CimRefusal

    refusal = CimRefusal("References TPD_RemoteGroupSynchronized", "group rcg", "CIM_ERR_INVALID_PARAMETER",
                         "unknown ResultClass")  # fmt: skip
    run = [replace(o, cim=replace(o.cim, group_syncs=(), refusals=(refusal,))) if o.cim else o for o in dr_run()]
    result = only("RULE-09", run)
    assert result.verdict == Verdict.FAIL
    assert result.reason.startswith("not implemented: ")
    assert "answered CIM_ERR_INVALID_PARAMETER: unknown ResultClass" in result.reason


def test_rule09_backup_groups_need_no_group_sync() -> None:
    obs = make_obs(1, "secondary", "Secondary", "Stopped", (2, 2, 3), status="Backup", group_syncs=())
    result = only("RULE-09", [obs])
    assert result.verdict == Verdict.SKIPPED and result.reason.startswith("not exercised")


def test_rule02_fails_not_implemented_when_role_reversed_is_never_reported() -> None:
    run = [
        replace(o, cim=replace(o.cim, pairs=tuple(
            replace(p, properties={k: v for k, v in p.properties.items() if k != "RoleReversed"},
                    omitted=(*p.omitted, "RoleReversed")) for p in o.cim.pairs)))
        for o in dr_run()
    ]  # fmt: skip
    result = only("RULE-02", run)
    assert result.verdict == Verdict.FAIL
    assert result.reason.startswith("not implemented: no TPD_RemoteStorageSynchronized instance carried")
    assert "RoleReversed not reported" in result.reason
    one_missing = dr_run()
    one_missing[0] = run[0]
    partial = only("RULE-02", one_missing)
    assert partial.verdict == Verdict.FAIL and not partial.reason.startswith("not implemented")


def link_down_without_entities() -> list[Observation]:
    """The provider keeps naming the peer's volume while the link is down, without UndiscoveredElement."""
    run = dr_run()
    out = []
    for obs in run:
        if obs.cli is not None and obs.cli.target_status != "ready":
            pairs = tuple(
                replace(p, system_element_class="TPD_StorageVolume", synced_element_class="TPD_StorageVolume",
                        properties={**p.properties, "UndiscoveredElement": None})
                for p in obs.cim.pairs
            )  # fmt: skip
            obs = replace(obs, cim=replace(obs.cim, pairs=pairs))
        out.append(obs)
    return out


def test_rule04_fails_not_implemented_when_no_entity_ever_appears() -> None:
    probe = {"array": "secondary", "t": 3.5, "associators_found_entity": False, "enumerate_found_entity": False,
             "getinstance_found_entity": False}  # fmt: skip
    result = only("RULE-04", link_down_without_entities(), context(probes=[probe]))
    assert result.verdict == Verdict.FAIL
    assert result.reason.startswith("not implemented: TPD_ReplicationEntity: while the link was down")
    assert "Associators did not return the TPD_ReplicationEntity" in result.reason
    skipped = only("RULE-04", link_down_without_entities())
    assert skipped.verdict == Verdict.SKIPPED and "link was down in 3 observations" in skipped.reason
