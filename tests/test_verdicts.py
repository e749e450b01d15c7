"""Tests for harness.verdicts: row verdicts from hand-made observations (no I/O)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from harness.observation import CimPair, CimView, CliView, CliVolume, Observation
from harness.results import Cell, Outcome, RowResult, Verdict
from harness.spec import load_spec
from harness.verdicts import (
    NOT_REPORTED,
    Expectation,
    Mismatch,
    compare,
    error,
    format_value,
    judge_each,
    judge_in_progress,
    judge_settled,
    skipped,
    stage_not_reached,
)

VOLUMES = ("vv1", "vv2")

# --------------------------------------------------------------------------- factories


def make_pair(local: str, values: tuple[int, int, int], **overrides: Any) -> CimPair:
    copy_state, sync_state, progress = values
    props: dict[str, Any] = {"CopyState": copy_state, "SyncState": sync_state, "ProgressStatus": progress}
    omitted = tuple(k for k, v in overrides.items() if v is NOT_REPORTED)
    props.update({k: v for k, v in overrides.items() if v is not NOT_REPORTED})
    for key in omitted:
        props.pop(key, None)
    return CimPair(
        path=f'TPD_RemoteStorageSynchronized.SystemElement="{local}"',
        system_element=f'TPD_StorageVolume.DeviceID="{local}"',
        synced_element=f'TPD_StorageVolume.DeviceID="{local}.r"',
        system_element_local=True,
        synced_element_local=False,
        system_element_class="TPD_StorageVolume",
        synced_element_class="TPD_StorageVolume",
        local_volume=local,
        properties=props,
        omitted=omitted,
    )


def make_obs(
    seq: int,
    *,
    array: str = "secondary",
    role: str = "Primary-Rev",
    sync_status: str | dict[str, str] = "Stopped",
    values: tuple[int, int, int] = (10, 12, 2),
    pair_values: dict[str, tuple[int, int, int]] | None = None,
    cim_error: str | None = None,
    cli_error: str | None = None,
    stage: str | None = "failover",
    overrides: dict[str, Any] | None = None,
) -> Observation:
    statuses = sync_status if isinstance(sync_status, dict) else dict.fromkeys(VOLUMES, sync_status)
    volumes = tuple(CliVolume(vv, f"{vv}.r", st, st, None) for vv, st in statuses.items())
    pair_values = pair_values or {}
    pairs = tuple(make_pair(vv, pair_values.get(vv, values), **(overrides or {})) for vv in VOLUMES)
    cli = CliView("rcg.r1", "s3par-a", "Stopped", role, "Sync", "failed", volumes)
    return Observation(
        array=array,
        seq=seq,
        t_start=float(seq),
        t_end=seq + 0.2,
        wall=f"2024-01-01T00:00:{seq:02d}Z",
        cim=None if cim_error else CimView("3PAR:rcg.r1", pairs),
        cim_error=cim_error,
        cli=None if cli_error else cli,
        cli_error=cli_error,
        stage=stage,
    )


def exp_t107_02() -> Expectation:
    return Expectation.from_row(load_spec().rows["T107-02"])


def exp_t107_03() -> Expectation:
    return Expectation.from_row(load_spec().rows["T107-03"])


FAILING_OVER = (10, 12, 11)
SPLITTING = (10, 12, 10)
DONE = (10, 12, 2)


# --------------------------------------------------------------------------- expectations and compare


def test_expectation_from_spec_row_uses_the_spec_integers_and_erratum() -> None:
    exp = exp_t107_02()
    assert exp.array == "secondary"
    assert (exp.role, exp.sync_status) == ("Primary-Rev", "Stopped")
    assert exp.cim == {"CopyState": 10, "SyncState": 12, "ProgressStatus": 11}
    assert exp.names["ProgressStatus"] == "Failing Over"
    assert exp.erratum == "E1"


def test_expectation_from_table106_row_needs_arrays() -> None:
    row = load_spec().rows["T106-03"]
    with pytest.raises(ValueError, match="names no array"):
        Expectation.from_row(row)
    exp = Expectation.from_row(row, array=("primary", "secondary"))
    assert exp.arrays == ("primary", "secondary")
    assert exp.role is None and exp.sync_status == "Synced"


def test_compare_matching_observation_has_no_mismatch() -> None:
    assert compare(make_obs(1, values=FAILING_OVER), exp_t107_02()) == []


def test_compare_reports_role_volume_and_every_pair() -> None:
    obs = make_obs(
        1,
        role="Secondary",
        sync_status={"vv1": "Stopped", "vv2": "Syncing"},
        pair_values={"vv1": FAILING_OVER, "vv2": SPLITTING},
    )
    by_field = {m.field: m for m in compare(obs, exp_t107_02())}
    assert set(by_field) == {"role", "sync_status", "ProgressStatus"}
    assert by_field["role"].text == "Role expected Primary-Rev, observed Secondary"
    assert by_field["sync_status"].text == "SyncStatus expected Stopped, observed Syncing on vv2 (1 of 2 volumes)"
    assert by_field["ProgressStatus"].text == (
        "ProgressStatus expected Failing Over (11), observed Splitting (10) on vv2 (1 of 2 pairs)"
    )


def test_compare_missing_property_is_not_reported() -> None:
    obs = make_obs(1, values=FAILING_OVER, overrides={"ProgressStatus": NOT_REPORTED})
    [mismatch] = compare(obs, exp_t107_02())
    assert mismatch == Mismatch("ProgressStatus", 11, (NOT_REPORTED,), ("vv1", "vv2"), 2)
    assert mismatch.text == "ProgressStatus expected Failing Over (11), observed not reported"


def test_compare_no_pairs_is_a_mismatch() -> None:
    obs = make_obs(1, values=FAILING_OVER)
    obs = replace(obs, cim=CimView("3PAR:rcg.r1", ()))
    texts = [m.text for m in compare(obs, exp_t107_02())]
    assert "CopyState expected FailedOver (10), observed no pairs" in texts


def test_compare_refuses_a_sample_with_an_error() -> None:
    with pytest.raises(ValueError, match="CIM: timed out"):
        compare(make_obs(1, cim_error="timed out"), exp_t107_02())


def test_format_value_names_and_integers() -> None:
    assert format_value("ProgressStatus", 10) == "Splitting (10)"
    assert format_value("CopyState", 99) == "unknown (99)"
    assert format_value("CopyState", None) == "NULL"
    assert format_value("CopyState", NOT_REPORTED) == "not reported"
    assert format_value("role", "Primary-Rev") == "Primary-Rev"
    assert format_value("RequestedCopyState", 15) == "Not Applicable (15)"  # CopyState's value map
    assert format_value("RoleReversed", True) == "true"
    assert format_value("CopyState", "4") == "'4'"  # text is not the integer
    assert format_value("WhenSynced", 7) == "7"  # no value map: the integer as is


# --------------------------------------------------------------------------- in progress


def test_in_progress_passes_if_any_sample_matches() -> None:
    samples = [make_obs(1, values=SPLITTING), make_obs(2, values=FAILING_OVER), make_obs(3, values=DONE)]
    result = judge_in_progress(exp_t107_02(), samples)
    assert result.verdict == Verdict.PASS
    assert result.evidence == [2]
    assert result.observed["ProgressStatus"] == {"name": "Failing Over", "value": 11}
    assert "as expected in sample seq 2 during failover" in result.reason


def test_in_progress_fails_with_most_frequent_mismatch_and_count() -> None:
    samples = [make_obs(seq, values=SPLITTING) for seq in range(1, 5)]
    result = judge_in_progress(exp_t107_02(), samples)
    assert result.verdict == Verdict.FAIL
    assert result.reason == (
        "secondary: ProgressStatus expected Failing Over (11), observed Splitting (10) in 4 samples during failover"
    )
    assert result.evidence == [1, 2, 3, 4]
    assert result.expected["ProgressStatus"] == {"name": "Failing Over", "value": 11}
    assert result.observed["ProgressStatus"] == {"name": "Splitting", "value": 10}
    assert result.erratum == "E1"


def test_in_progress_failure_counts_samples_per_value() -> None:
    samples = [
        make_obs(1, values=SPLITTING),
        make_obs(2, values=SPLITTING),
        make_obs(3, values=DONE),
        make_obs(4, values=SPLITTING, role="Secondary"),
    ]
    result = judge_in_progress(exp_t107_02(), samples)
    assert result.verdict == Verdict.FAIL
    assert result.reason.startswith(
        "secondary: ProgressStatus expected Failing Over (11), observed Splitting (10) in 3 of 4 samples; "
    )
    assert "Role expected Primary-Rev, observed Secondary in 1 of 4 samples" in result.reason


def test_in_progress_not_observed_when_the_window_had_no_sample() -> None:
    result = judge_in_progress(exp_t107_02(), [], window=(10.0, 10.4), stage="failover")
    assert result.verdict == Verdict.NOT_OBSERVED
    assert result.reason == (
        "secondary: no comparable sample during the 0.4 s failover window; "
        "the command finished before any sample showed the state"
    )


def test_in_progress_error_when_every_sample_failed_to_read() -> None:
    """A connection that broke says nothing about the state: ERROR, not NOT_OBSERVED."""
    samples = [make_obs(1, cim_error="connection refused"), make_obs(2, cli_error="ssh timeout")]
    result = judge_in_progress(exp_t107_02(), samples, window=(1.0, 2.5))
    assert result.verdict == Verdict.ERROR
    assert "1.5 s failover window: the array could not be read" in result.reason
    assert "CIM: connection refused (1 sample)" in result.reason
    assert "CLI: ssh timeout (1 sample)" in result.reason


# --------------------------------------------------------------------------- settled


def test_settled_transient_then_expected_state_held_passes() -> None:
    samples = [make_obs(1, values=FAILING_OVER), make_obs(2, values=SPLITTING)]
    samples += [make_obs(seq, values=DONE) for seq in (3, 4, 5)]
    result = judge_settled(exp_t107_03(), samples, settle_samples=3, final=False)
    assert result is not None
    assert result.verdict == Verdict.PASS
    assert result.evidence == [3, 4, 5]
    assert "settled over 3 samples (seq 3-5) after failover" in result.reason


def test_settled_in_a_different_state_fails_naming_both_values() -> None:
    samples = [make_obs(seq, values=SPLITTING) for seq in (7, 8, 9)]
    result = judge_settled(exp_t107_03(), samples, settle_samples=3, final=False)
    assert result is not None
    assert result.verdict == Verdict.FAIL
    assert result.reason == (
        "secondary settled over 3 samples (seq 7-9) after failover: "
        "ProgressStatus expected Completed (2), observed Splitting (10)"
    )
    assert result.observed["ProgressStatus"] == {"name": "Splitting", "value": 10}
    assert result.expected["ProgressStatus"] == {"name": "Completed", "value": 2}


def test_settled_first_run_decides() -> None:
    samples = [make_obs(seq, values=SPLITTING) for seq in (1, 2, 3)]
    samples += [make_obs(seq, values=DONE) for seq in (4, 5, 6)]
    result = judge_settled(exp_t107_03(), samples, settle_samples=3, final=True)
    assert result is not None and result.verdict == Verdict.FAIL
    assert result.evidence == [1, 2, 3]


def test_settled_waits_while_not_final() -> None:
    samples = [make_obs(1, values=SPLITTING), make_obs(2, values=DONE), make_obs(3, values=SPLITTING)]
    assert judge_settled(exp_t107_03(), samples, settle_samples=3, final=False) is None


def test_settled_never_settled_when_final() -> None:
    samples = [make_obs(1, values=SPLITTING), make_obs(2, values=DONE), make_obs(3, values=SPLITTING)]
    result = judge_settled(exp_t107_03(), samples, settle_samples=3, final=True)
    assert result is not None
    assert result.verdict == Verdict.FAIL
    assert "never settled after failover" in result.reason
    assert "last observed (seq 3): Role Primary-Rev, SyncStatus Stopped, CopyState FailedOver (10)" in result.reason
    assert "ProgressStatus Splitting (10)" in result.reason
    assert "expected Role Primary-Rev, SyncStatus Stopped, CopyState FailedOver (10), SyncState Broken (12), " in (
        result.reason
    )
    assert result.evidence == [1, 2, 3]


def test_settled_error_samples_do_not_break_a_run() -> None:
    samples = [make_obs(1, values=DONE), make_obs(2, cim_error="timeout"), make_obs(3, values=DONE)]
    samples.append(make_obs(4, values=DONE))
    result = judge_settled(exp_t107_03(), samples, settle_samples=3, final=False)
    assert result is not None and result.verdict == Verdict.PASS
    assert result.evidence == [1, 3, 4]


def test_settled_a_change_on_one_pair_resets_the_run() -> None:
    samples = [
        make_obs(1, values=DONE),
        make_obs(2, values=DONE),
        make_obs(3, pair_values={"vv2": SPLITTING}),
        make_obs(4, values=DONE),
    ]
    assert judge_settled(exp_t107_03(), samples, settle_samples=3, final=False) is None


def test_settled_error_when_no_sample_was_comparable() -> None:
    samples = [make_obs(1, cim_error="401 Unauthorized"), make_obs(2, cim_error="401 Unauthorized")]
    result = judge_settled(exp_t107_03(), samples, settle_samples=3, final=True)
    assert result is not None
    assert result.verdict == Verdict.ERROR
    assert "CIM: 401 Unauthorized (2 samples)" in result.reason
    assert judge_settled(exp_t107_03(), samples, settle_samples=3, final=False) is None


def test_settled_rejects_zero_settle_samples() -> None:
    with pytest.raises(ValueError):
        judge_settled(exp_t107_03(), [], settle_samples=0, final=True)


def test_cim_only_expectation_ignores_cli_errors() -> None:
    exp = Expectation("SLD-01", "sync_secondary", None, None, {"CopyState": 2, "SyncState": 2, "ProgressStatus": 3})
    samples = [make_obs(seq, array="sync_secondary", values=(2, 2, 3), cli_error="ssh down") for seq in (1, 2)]
    result = judge_settled(exp, samples, settle_samples=2, final=True)
    assert result is not None and result.verdict == Verdict.PASS


# --------------------------------------------------------------------------- several arrays (Table 106)


def table106_exp() -> Expectation:
    return Expectation.from_row(load_spec().rows["T106-03"], array=("primary", "secondary"))


def synced(seq: int, array: str, values: tuple[int, int, int] = (4, 6, 2)) -> Observation:
    role = "Primary" if array == "primary" else "Secondary"
    return make_obs(seq, array=array, role=role, sync_status="Synced", values=values, stage="normal")


def test_judge_each_passes_when_every_array_passes() -> None:
    by_array = {a: [synced(s, a) for s in (1, 2, 3)] for a in ("primary", "secondary")}
    result = judge_each(table106_exp(), by_array, settle_samples=3)
    assert result is not None
    assert result.verdict == Verdict.PASS
    assert result.array == ("primary", "secondary")
    assert set(result.observed) == {"primary", "secondary"}
    assert result.evidence == [1, 2, 3]


def test_judge_each_fails_and_names_each_failing_array() -> None:
    by_array = {
        "primary": [synced(s, "primary") for s in (1, 2, 3)],
        "secondary": [synced(s, "secondary", (4, 6, 6)) for s in (4, 5, 6)],
    }
    result = judge_each(table106_exp(), by_array, settle_samples=3)
    assert result is not None
    assert result.verdict == Verdict.FAIL
    assert result.reason == (
        "1 of 2 arrays fail (secondary): secondary settled over 3 samples (seq 4-6) in normal operation: "
        "ProgressStatus expected Completed (2), observed Synchronizing (6)"
    )
    assert result.evidence == [1, 2, 3, 4, 5, 6]


def test_judge_each_waits_for_every_array_unless_final() -> None:
    by_array = {"primary": [synced(s, "primary") for s in (1, 2, 3)], "secondary": [synced(4, "secondary")]}
    assert judge_each(table106_exp(), by_array, settle_samples=3, final=False) is None
    result = judge_each(table106_exp(), by_array, settle_samples=3, final=True)
    assert result is not None and result.verdict == Verdict.FAIL
    assert "secondary: the state never settled" in result.reason


def test_judge_each_in_progress_mode_and_missing_array() -> None:
    exp = replace(table106_exp(), row_id="X")
    result = judge_each(exp, {"primary": [synced(1, "primary")]}, in_progress=True, window=(0.0, 1.0))
    assert result is not None
    assert result.verdict == Verdict.NOT_OBSERVED
    assert result.reason.startswith("1 of 2 arrays not observed (secondary): secondary: no comparable sample")


# --------------------------------------------------------------------------- constructors and JSON


class Uint16(int):
    """Stands in for pywbem's integer subclasses."""


def test_a_row_round_trips_through_its_dict() -> None:
    samples = [make_obs(seq, values=SPLITTING, role="Primary") for seq in (1, 2, 3)]
    by_array = {"primary": [synced(s, "primary") for s in (1, 2, 3)],
                "secondary": [synced(s, "secondary", (4, 6, 6)) for s in (4, 5, 6)]}  # fmt: skip
    results = [
        judge_in_progress(exp_t107_02(), samples),
        judge_settled(exp_t107_03(), samples, 3, True),
        judge_each(table106_exp(), by_array),
        judge_in_progress(exp_t107_02(), [], window=(0.0, 1.0)),
        replace(skipped("SLD-01", "topology is pair"), table="sld", in_scope=False, out_of_scope="needs a trio"),
        replace(error("T107-05", "boom", "secondary"), recorded_verdict=Verdict.PASS, groups={"g": {"x": "y"}}),
    ]
    for result in results:
        assert result is not None
        data = json.loads(json.dumps(result.to_dict()))
        again = RowResult.from_dict(data)
        assert again == result, result.id
        assert again.to_dict() == data
    assert RowResult.from_dict(json.loads(json.dumps(results[2].to_dict()))).array == ("primary", "secondary")


def test_a_row_written_before_cells_existed_reads_with_none() -> None:
    old = {"id": "T107-02", "verdict": "pass", "array": "secondary", "expected": {}, "observed": {"seq": 3},
           "reason": "as expected", "evidence": [3], "erratum": "E1"}  # fmt: skip
    row = RowResult.from_dict(old)
    assert row.cells == [] and row.verdict == Verdict.PASS and row.evidence == [3]
    with pytest.raises(ValueError, match="not a result row"):
        RowResult.from_dict({"id": "T107-02", "verdict": "great"})
    with pytest.raises(ValueError, match="not a cell"):
        RowResult.from_dict({**old, "cells": [{"column": "CopyState"}]})


def test_results_are_json_serializable() -> None:
    samples = [make_obs(seq, values=SPLITTING) for seq in (1, 2, 3)]
    samples.append(make_obs(4, pair_values={"vv1": (Uint16(10), Uint16(12), Uint16(10))}, stage="failover"))
    results: list[RowResult] = [
        judge_in_progress(exp_t107_02(), samples),
        judge_in_progress(exp_t107_02(), [], window=(0.0, 1.0)),
        judge_settled(exp_t107_03(), samples, 3, True) or skipped("never", "unreachable"),
        judge_each(table106_exp(), {a: [synced(s, a) for s in (1, 2, 3)] for a in ("primary", "secondary")})
        or skipped("never", "unreachable"),
        skipped("SLD-01", "topology is pair"),
        error("T107-05", "recover could not be issued", array="secondary"),
    ]
    mixed = make_obs(5, sync_status={"vv1": "Stopped", "vv2": "Syncing"}, pair_values={"vv2": SPLITTING})
    results.append(judge_settled(exp_t107_03(), [mixed], 1, True) or skipped("never", "unreachable"))
    for result in results:
        data = json.loads(json.dumps(result.to_dict()))
        assert data["verdict"] in {"pass", "fail", "not_observed", "skipped", "error"}
    mixed_dict = results[-1].to_dict()
    assert mixed_dict["observed"]["sync_status"] == "mixed"
    assert mixed_dict["observed"]["ProgressStatus"]["by_pair"]["vv2"] == {"name": "Splitting", "value": 10}
    assert results[3].to_dict()["array"] == ["primary", "secondary"]


def test_constructors() -> None:
    assert skipped("SLD-01", "topology is pair").verdict == Verdict.SKIPPED
    assert error("T107-05", "boom").reason == "boom"
    assert [v.value for v in Verdict] == ["pass", "fail", "not_observed", "skipped", "error"]


# --------------------------------------------------------------------------- cells


def outcomes(result: RowResult | None) -> list[tuple[str, str, str, str | None, str]]:
    assert result is not None
    return [(c.array, c.column, c.expected, c.observed, str(c.outcome)) for c in result.cells]


def test_settled_cells_fail_only_where_the_value_differs() -> None:
    samples = [make_obs(seq, values=SPLITTING) for seq in (7, 8, 9)]
    result = judge_settled(exp_t107_03(), samples, settle_samples=3, final=False)
    assert outcomes(result) == [
        ("secondary", "Role/SyncStatus", "Primary-Rev/Stopped", "Primary-Rev/Stopped", "pass"),
        ("secondary", "CopyState", "FailedOver (10)", "FailedOver (10)", "pass"),
        ("secondary", "SyncState", "Broken (12)", "Broken (12)", "pass"),
        ("secondary", "ProgressStatus", "Completed (2)", "Splitting (10)", "fail"),
    ]
    assert result is not None and {c.seq for c in result.cells} == {9}
    passed = judge_settled(exp_t107_03(), [make_obs(s) for s in (1, 2, 3)], settle_samples=3, final=False)
    assert passed is not None and {c.outcome for c in passed.cells} == {Outcome.PASS}


def test_a_wrong_cli_role_fails_the_cli_cell_and_no_cim_cell() -> None:
    samples = [make_obs(seq, role="Primary") for seq in (1, 2, 3)]
    result = judge_settled(exp_t107_03(), samples, settle_samples=3, final=True)
    assert result is not None and result.verdict == Verdict.FAIL
    assert result.reason == (
        "secondary settled over 3 samples (seq 1-3) after failover: Role expected Primary-Rev, observed Primary"
    )
    [cli] = result.cells_for("cli", "secondary")
    assert (cli.observed, cli.outcome) == ("Primary/Stopped", Outcome.FAIL)
    assert [c.outcome for c in result.cells_for("cim", "secondary")] == [Outcome.PASS] * 3
    assert result.cells_for("cli", "primary") == []


def test_mixed_volumes_show_every_status_in_the_cli_cell() -> None:
    mixed = make_obs(5, sync_status={"vv1": "Stopped", "vv2": "Syncing"}, pair_values={"vv2": SPLITTING})
    result = judge_settled(exp_t107_03(), [mixed], 1, True)
    cli, *_, progress = outcomes(result)
    assert cli[1:] == ("Role/SyncStatus", "Primary-Rev/Stopped", "Primary-Rev/Stopped / Syncing", "fail")
    assert progress[3:] == ("Completed (2) / Splitting (10)", "fail")


def test_in_progress_cells_come_from_the_sample_that_came_closest() -> None:
    """Only the CLI is wrong; the CIM side showed Failing Over in one sample: only the CLI cell fails."""
    samples = [make_obs(1, role="Primary", values=DONE), make_obs(2, role="Primary", values=FAILING_OVER),
               make_obs(3, role="Primary", values=DONE)]  # fmt: skip
    result = judge_in_progress(exp_t107_02(), samples)
    assert result.verdict == Verdict.FAIL
    assert result.reason == (
        "secondary: Role expected Primary-Rev, observed Primary in 3 samples; ProgressStatus expected Failing Over "
        "(11), observed Completed (2) in 2 of 3 samples during failover"
    )
    assert [(c.column, c.observed, str(c.outcome)) for c in result.cells] == [
        ("Role/SyncStatus", "Primary/Stopped", "fail"),
        ("CopyState", "FailedOver (10)", "pass"),
        ("SyncState", "Broken (12)", "pass"),
        ("ProgressStatus", "Failing Over (11)", "pass"),
    ]
    assert {c.seq for c in result.cells} == {2} and result.observed["seq"] == 2


def test_in_progress_cim_only_deviation_fails_the_cim_cell() -> None:
    result = judge_in_progress(exp_t107_02(), [make_obs(seq, values=SPLITTING) for seq in (1, 2)])
    assert [str(c.outcome) for c in result.cells] == ["pass", "pass", "pass", "fail"]
    assert result.cells[3].observed == "Splitting (10)" and result.cells[3].expected == "Failing Over (11)"
    passed = judge_in_progress(exp_t107_02(), [make_obs(1, values=SPLITTING), make_obs(2, values=FAILING_OVER)])
    assert passed.verdict == Verdict.PASS and {c.outcome for c in passed.cells} == {Outcome.PASS}
    assert {c.seq for c in passed.cells} == {2}


def test_table106_cells_per_array() -> None:
    by_array = {
        "primary": [synced(s, "primary") for s in (1, 2, 3)],
        "secondary": [synced(s, "secondary", (4, 6, 6)) for s in (4, 5, 6)],
    }
    result = judge_each(table106_exp(), by_array, settle_samples=3)
    assert result is not None and result.verdict == Verdict.FAIL
    assert [c.column for c in result.cells_for("cim", "primary")] == ["CopyState", "SyncState", "ProgressStatus"]
    assert [(c.column, c.expected, c.observed) for c in result.cells_for("cli", "primary")] == [
        ("SyncStatus", "Synced", "Synced")
    ]
    assert [c.outcome for c in result.cells_for("cli", "secondary")] == [Outcome.PASS]
    assert [(c.array, c.column, c.observed) for c in result.failed_cells] == [
        ("secondary", "ProgressStatus", "Synchronizing (6)")
    ]
    assert len(result.cells) == 8


def test_a_wrong_instance_set_fails_the_cim_cells_only() -> None:
    dropped = [replace(o, cim=CimView("3PAR:rcg.r1", o.cim.pairs[1:])) for o in (make_obs(s) for s in (1, 2, 3))
               if o.cim is not None]  # fmt: skip
    result = judge_settled(exp_t107_03(), dropped, settle_samples=3, final=False)
    assert result is not None and result.verdict == Verdict.FAIL and "instance set" in result.reason
    text = "instance set: vv1: no TPD_RemoteStorageSynchronized although showrcopy lists the pair vv1 -> vv1.r"
    assert [(c.observed, c.outcome) for c in result.cells_for("cim", "secondary")] == [(text, Outcome.FAIL)] * 3
    assert [c.outcome for c in result.cells_for("cli", "secondary")] == [Outcome.PASS]
    wrong_role = [replace(o, cli=replace(o.cli, role="Primary")) for o in dropped if o.cli is not None]
    failed = judge_settled(exp_t107_03(), wrong_role, settle_samples=3, final=False)
    assert failed is not None and [c.outcome for c in failed.cells_for("cli", "secondary")] == [Outcome.FAIL]


def test_stage_not_reached_judges_the_state_last_observed() -> None:
    exp = Expectation.from_row(load_spec().rows["T107-07"])
    last = make_obs(7, role="Primary-Rev", sync_status="Syncing", values=(3, 10, 8), stage="recover")
    result = stage_not_reached(exp, {"secondary": last}, "stage recover not reached")
    assert result.verdict == Verdict.FAIL
    assert outcomes(result) == [
        ("secondary", "Role/SyncStatus", "Primary-Rev/Synced", "Primary-Rev/Syncing", "fail"),
        ("secondary", "CopyState", "Synchronized (4)", "Unsynchronized (3)", "fail"),
        ("secondary", "SyncState", "Synchronized (6)", "RestoreInProgress (10)", "fail"),
        ("secondary", "ProgressStatus", "Completed (2)", "Restoring (8)", "fail"),
    ]
    nothing = stage_not_reached(exp, {}, "stage recover not reached")
    assert nothing.verdict == Verdict.FAIL
    assert {(c.observed, c.outcome) for c in nothing.cells} == {(None, Outcome.NOT_JUDGED)}


def test_cells_of_a_row_not_decided_pass_or_fail_are_not_judged() -> None:
    missed = judge_in_progress(exp_t107_02(), [], window=(0.0, 1.0))
    assert missed.verdict == Verdict.NOT_OBSERVED
    assert [(c.column, c.expected, c.observed, c.outcome) for c in missed.cells][3] == (
        "ProgressStatus", "Failing Over (11)", None, Outcome.NOT_JUDGED)
    failed = judge_in_progress(exp_t107_02(), [make_obs(1, values=SPLITTING)])
    disturbed = replace(failed, verdict=Verdict.ERROR, reason="the pair changed")  # as journey does
    assert {c.outcome for c in disturbed.cells} == {Outcome.NOT_JUDGED}
    assert disturbed.cells[3].observed == "Splitting (10)"
    assert RowResult.from_dict({**failed.to_dict(), "verdict": "error"}).cells == disturbed.cells


def test_cell_dict_names_every_field() -> None:
    cell = Cell("ProgressStatus", "cim", "secondary", "Failing Over (11)", "Splitting (10)", Outcome.FAIL, 4)
    assert cell.to_dict() == {"column": "ProgressStatus", "interface": "cim", "array": "secondary",
                              "expected": "Failing Over (11)", "observed": "Splitting (10)", "outcome": "fail",
                              "seq": 4}  # fmt: skip
    assert Cell.from_dict(cell.to_dict()) == cell
