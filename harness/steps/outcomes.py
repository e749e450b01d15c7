"""Step outcomes: a row's verdict turned into the outcome of the step each value belongs to.

pytest-bdd stops a scenario at the first step that raises and reports every later step failed too. A row
whose CLI shows a wrong Role but whose CIM values are right must show the Role step failed and the CIM step
passed, so a Then step with a wrong value does not raise: it records the failure (`assert_cells`), the
plugin marks that step failed in pytest-bdd's step report when the step ends (`mark_step_failed`) and fails
the test once the scenario is over (`failures`). Where pytest-bdd keeps no step report, the step raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from harness.results import RowResult, Verdict

FAILURES = pytest.StashKey[list[str]]()
MARKED = pytest.StashKey[int]()
RESULT = pytest.StashKey[RowResult]()


def decided(request: pytest.FixtureRequest, result: RowResult) -> RowResult:
    """The row's result for its Then steps, or the outcome that stops the scenario: SKIPPED skips, NOT_OBSERVED
    is an expected failure (nothing was seen, nothing is claimed), ERROR fails the step that judged it."""
    request.node.stash[RESULT] = result
    if result.verdict == Verdict.SKIPPED:
        pytest.skip(result.reason)
    if result.verdict == Verdict.NOT_OBSERVED:
        pytest.xfail(f"NOT OBSERVED: {result.reason}")
    if result.verdict == Verdict.ERROR:
        pytest.fail(f"ERROR: {result.reason}", pytrace=False)
    return result


def assert_cells(request: pytest.FixtureRequest, result: RowResult, interface: str, arrays: Sequence[str]) -> None:
    """This step's values: the row's cells read through `interface` on `arrays`; a wrong one fails this step."""
    cells = [c for a in arrays for c in result.cells_for(interface, a)]
    wrong = [c for c in cells if c.outcome == "fail"]
    if wrong:
        texts = [f"{c.array}: {c.column} expected {c.expected}, observed {c.observed}" for c in wrong]
        _fail_step(request, f"{str(result.verdict).upper()} {result.id}: " + "; ".join(texts))


def assert_verdict(result: RowResult) -> None:
    """A step that states the whole row (SLD-02/03, a rule): it fails when the row is not PASS."""
    if result.verdict != Verdict.PASS:
        pytest.fail(f"{str(result.verdict).upper()}: {result.reason}", pytrace=False)


def _fail_step(request: pytest.FixtureRequest, text: str) -> None:
    node = request.node
    if _step_report(node) is None:  # no step report to mark: fail the usual way
        pytest.fail(text, pytrace=False)
    node.stash.setdefault(FAILURES, []).append(text)


def mark_step_failed(node: pytest.Item) -> None:
    """After a step: if it recorded a failure, mark it failed in pytest-bdd's report of the scenario."""
    found = len(node.stash.get(FAILURES, []))
    if found > node.stash.get(MARKED, 0):
        node.stash[MARKED] = found
        report = _step_report(node)
        if report is not None:
            report.current_step_report.finalize(failed=True)


def failures(node: pytest.Item) -> list[str]:
    """The step failures recorded during the scenario (the test fails with them once it is over); a row whose
    verdict is not PASS fails its test even if no step named a wrong value (never a passing test for it)."""
    recorded: list[str] = node.stash.get(FAILURES, [])
    found = list(recorded)
    result = node.stash.get(RESULT, None)
    if not found and result is not None and result.verdict != Verdict.PASS:
        found.append(f"{str(result.verdict).upper()}: {result.reason}")
    return found


def _step_report(node: pytest.Item) -> Any | None:
    """pytest-bdd's report of the scenario being run: a registry by item since 8, an item attribute before."""
    try:
        from pytest_bdd.reporting import scenario_reports_registry
    except ImportError:
        return getattr(node, "__scenario_report__", None)
    return scenario_reports_registry.get(node)
