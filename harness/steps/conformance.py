"""Steps for features/*.feature.

The Given takes the pair to the row's stage and judges the row there, once (`Run.table_row`, recorded
once); the row's result is handed on (`target_fixture`). Each Then asserts exactly its own values: the
Role/SyncStatus step the cells read from the CLI, the CopyState/SyncState/ProgressStatus step the cells
read from CIM, so the step that fails is the one whose value is wrong (`harness.steps.outcomes`). A row
that could not be judged stops in the Given: SKIPPED (skip), NOT_OBSERVED (xfail), ERROR (fail).
"""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then

from harness.results import RowResult
from harness.run import Run
from harness.steps.outcomes import assert_cells, assert_verdict, decided
from harness.tour import Tour

SLD_BACKUP = ("sync_secondary", "periodic_secondary")
PAIR = ("primary", "secondary")


# ---------------------------------------------------------------- Table 107
@given(parsers.parse('the remote-copy pair has reached stage "{stage}" ({when})'), target_fixture="row_result")
def _reach(request: pytest.FixtureRequest, harness_run: Run | Tour, row_id: str) -> RowResult:
    return decided(request, harness_run.table_row(row_id))


@then(parsers.parse('the {array} array shows Role/SyncStatus "{role}/{sync_status}"'))
def _role_sync(request: pytest.FixtureRequest, row_result: RowResult, array: str) -> None:
    assert_cells(request, row_result, "cli", (array,))


@then(
    parsers.parse(
        'the {array} array reports CopyState "{copy_state}", SyncState "{sync_state}", '
        'ProgressStatus "{progress}"'
    )
)
def _cim_values(request: pytest.FixtureRequest, row_result: RowResult, array: str) -> None:
    assert_cells(request, row_result, "cim", (array,))


# ---------------------------------------------------------------- Table 106
@given(parsers.parse('the remote-copy pair is in normal operation with volumes "{status}"'),
       target_fixture="row_result")  # fmt: skip
def _normal(request: pytest.FixtureRequest, harness_run: Run | Tour, row_id: str) -> RowResult:
    return decided(request, harness_run.table_row(row_id))


@then(parsers.parse('every array shows SyncStatus "{status}"'))
def _every_sync(request: pytest.FixtureRequest, row_result: RowResult) -> None:
    assert_cells(request, row_result, "cli", PAIR)


@then(
    parsers.parse(
        'every array reports CopyState "{copy_state}", SyncState "{sync_state}", ProgressStatus "{progress}"'
    )
)
def _every_cim(request: pytest.FixtureRequest, row_result: RowResult) -> None:
    assert_cells(request, row_result, "cim", PAIR)


# ---------------------------------------------------------------- SLD
@given("an SLD trio in normal operation", target_fixture="row_result")
def _sld(request: pytest.FixtureRequest, harness_run: Run | Tour, row_id: str) -> RowResult:
    return decided(request, harness_run.table_row(row_id))


@then(
    parsers.parse(
        'the backup link pairs report CopyState "{copy_state}", SyncState "{sync_state}", '
        'ProgressStatus "{progress}"'
    )
)
def _sld_values(request: pytest.FixtureRequest, row_result: RowResult) -> None:
    assert_cells(request, row_result, "cim", SLD_BACKUP)


@then("the backup link pairs have SystemElement on the sync_secondary and SyncedElement on the periodic_secondary")
def _sld_direction(row_result: RowResult) -> None:
    assert_verdict(row_result)


@then(
    'showrcopy on the sync_secondary and the periodic_secondary shows the backup group with Role "Secondary" '
    'and Status "Backup"'
)
def _sld_cli(row_result: RowResult) -> None:
    assert_verdict(row_result)


# ---------------------------------------------------------------- rules
@given("the run's observations so far", target_fixture="observations")
def _observations(harness_run: Run | Tour) -> int:
    """Every row has been judged (rules come last): the pair is taken back to natural first, so the way back
    is observed too; hands on how many observations the rules will be checked over."""
    return harness_run.observations_so_far()


@then(parsers.parse("rule {rule_id} holds on every observation"))
def _rule(request: pytest.FixtureRequest, harness_run: Run | Tour, rule_id: str, observations: int) -> None:
    assert_verdict(decided(request, harness_run.rule(rule_id)))
