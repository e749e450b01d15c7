"""Steps for features/*.feature. Thin: each parses its text and calls harness.run.Run."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import given, parsers, then

from harness.drive import TABLE106_STAGES, stage_for_row
from harness.results import RowResult, Verdict
from harness.run import Run
from harness.spec import load_spec
from harness.verdicts import Expectation

PAIR = ("primary", "secondary")


@pytest.fixture
def row_context() -> dict[str, Any]:
    return {}


def _cim_expectation(copy_state: str, sync_state: str, progress: str) -> tuple[dict[str, int], dict[str, str]]:
    enums = load_spec().enums
    names = {"CopyState": copy_state, "SyncState": sync_state, "ProgressStatus": progress}
    try:
        return {prop: enums[prop][name] for prop, name in names.items()}, names
    except KeyError as exc:
        pytest.fail(f"feature file names an unknown value {exc} (not in the DMTF value maps)", pytrace=False)


def enforce(result: RowResult) -> None:
    """Turn a row verdict into the pytest outcome (JUnit shows the same)."""
    if result.verdict == Verdict.PASS:
        return
    if result.verdict == Verdict.SKIPPED:
        pytest.skip(result.reason)
    if result.verdict == Verdict.NOT_OBSERVED:
        pytest.xfail(f"NOT OBSERVED: {result.reason}")
    pytest.fail(f"{str(result.verdict).upper()}: {result.reason}", pytrace=False)


# ---------------------------------------------------------------- Table 107
@given(parsers.parse('the remote-copy pair has reached stage "{stage}" ({when})'))
def _reach(row_context: dict[str, Any], stage: str, when: str) -> None:
    row_context["stage"] = stage_for_row("table107", stage=stage, when=when, sync_status=None)
    row_context["in_progress"] = when == "in_progress"


@then(parsers.parse('the {array} array shows Role/SyncStatus "{role}/{sync_status}"'))
def _role_sync(row_context: dict[str, Any], array: str, role: str, sync_status: str) -> None:
    row_context.update(array=array, role=role, sync_status=sync_status)


@then(
    parsers.parse(
        'the {array} array reports CopyState "{copy_state}", SyncState "{sync_state}", '
        'ProgressStatus "{progress}"'
    )
)
def _cim_values(
    harness_run: Run, row_id: str, row_context: dict[str, Any], array: str, copy_state: str, sync_state: str,
    progress: str,
) -> None:  # fmt: skip
    cim, names = _cim_expectation(copy_state, sync_state, progress)
    spec_row = load_spec().rows[row_id]
    exp = Expectation(row_id, array, row_context["role"], row_context["sync_status"], cim, names, spec_row.erratum)
    if harness_run.config.topology != "pair":
        enforce(harness_run.record_skip(row_id, "Table 107 rows run against a pair; use a pair target", array))
    enforce(harness_run.row(exp, row_context["stage"], row_context["in_progress"]))


# ---------------------------------------------------------------- Table 106
@given(parsers.parse('the remote-copy pair is in normal operation with volumes "{status}"'))
def _normal(row_context: dict[str, Any], status: str) -> None:
    row_context["stage"] = TABLE106_STAGES[status]
    row_context["in_progress"] = status == "Syncing"


@then(parsers.parse('every array shows SyncStatus "{status}"'))
def _every_sync(row_context: dict[str, Any], status: str) -> None:
    row_context["sync_status"] = status


@then(
    parsers.parse(
        'every array reports CopyState "{copy_state}", SyncState "{sync_state}", ProgressStatus "{progress}"'
    )
)
def _every_cim(
    harness_run: Run, row_id: str, row_context: dict[str, Any], copy_state: str, sync_state: str, progress: str
) -> None:
    cim, names = _cim_expectation(copy_state, sync_state, progress)
    exp = Expectation(row_id, PAIR, None, row_context["sync_status"], cim, names)
    if harness_run.config.topology != "pair":
        enforce(harness_run.record_skip(row_id, "Table 106 rows run against a pair; use a pair target", PAIR))
    enforce(harness_run.row(exp, row_context["stage"], row_context["in_progress"]))


# ---------------------------------------------------------------- SLD
@given("an SLD trio in normal operation")
def _sld(harness_run: Run, row_id: str) -> None:
    if harness_run.config.topology != "sld":
        enforce(harness_run.record_skip(row_id, "the target is a pair: SLD rows need an SLD trio (mock-sld.yaml)"))


@then(
    parsers.parse(
        'the backup link pairs report CopyState "{copy_state}", SyncState "{sync_state}", '
        'ProgressStatus "{progress}"'
    )
)
def _sld_values(harness_run: Run, row_id: str, copy_state: str, sync_state: str, progress: str) -> None:
    cim, names = _cim_expectation(copy_state, sync_state, progress)
    exp = Expectation(row_id, ("sync_secondary", "periodic_secondary"), None, None, cim, names)
    enforce(harness_run.row(exp, "natural", in_progress=False))


@then("the backup link pairs have SystemElement on the sync_secondary and SyncedElement on the periodic_secondary")
def _sld_direction(harness_run: Run, row_id: str) -> None:
    enforce(harness_run.sld_row(row_id, "direction"))


@then(
    'showrcopy on the sync_secondary and the periodic_secondary shows the backup group with Role "Secondary" '
    'and Status "Backup"'
)
def _sld_cli(harness_run: Run, row_id: str) -> None:
    enforce(harness_run.sld_row(row_id, "cli"))


# ---------------------------------------------------------------- rules
@given("the run's observations so far")
def _observations() -> None:
    """Rules look at the whole timeline; nothing to drive."""


@then(parsers.parse("rule {rule_id} holds on every observation"))
def _rule(harness_run: Run, rule_id: str) -> None:
    enforce(harness_run.rule(rule_id))
