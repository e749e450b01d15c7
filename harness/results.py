"""The typed result schema: a row's `Verdict`, its `Cell`s and the `RowResult` that holds them.

One row of results.jsonl / results.json is `RowResult.to_dict()`; `RowResult.from_dict` reads it back
(also rows written before cells existed: they have none). The judging is in `harness.verdicts`;
whoever shows a result (the report, pytest-bdd steps) takes the cells as given and judges nothing.

A cell is one expected value of a row on one array as one interface shows it:

    column     "Role/SyncStatus" (Table 107) or "SyncStatus" (Table 106): the CLI's cell;
               "CopyState", "SyncState", "ProgressStatus": the CIM cells
    interface  "cli" | "cim"
    array      topology key ("primary", "secondary", "sync_secondary", ...)
    expected   display text: "Primary-Rev/Stopped", "Failing Over (11)"
    observed   display text of the sample that decided the row on that array, None when that
               interface was not read there
    outcome    "pass" / "fail" (the value shown equals / differs from the expected one), "not_judged"
               (the row was not decided PASS or FAIL, or nothing was read)
    seq        the Observation the observed text is from
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

__all__ = ["CIM", "CLI", "SEVERITY", "Cell", "Outcome", "RowResult", "Verdict"]

CLI, CIM = "cli", "cim"


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_OBSERVED = "not_observed"
    SKIPPED = "skipped"
    ERROR = "error"


SEVERITY = (Verdict.FAIL, Verdict.ERROR, Verdict.NOT_OBSERVED, Verdict.SKIPPED, Verdict.PASS)
"""Worst first: which verdict wins when several results make one (arrays of a row, groups of a run)."""

DECIDED = (Verdict.PASS, Verdict.FAIL)


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_JUDGED = "not_judged"


@dataclass(frozen=True)
class Cell:
    """One expected value of a row on one array, as one interface showed it (see the module's doc)."""

    column: str
    interface: str  # CLI | CIM
    array: str
    expected: str
    observed: str | None
    outcome: Outcome
    seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "interface": self.interface, "array": self.array, "expected": self.expected,
                "observed": self.observed, "outcome": str(self.outcome), "seq": self.seq}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cell:
        """Raises ValueError for a cell that is not one (a missing field, an unknown outcome)."""
        try:
            seq = data.get("seq")
            return cls(str(data["column"]), str(data["interface"]), str(data["array"]), str(data["expected"]),
                       None if data.get("observed") is None else str(data["observed"]), Outcome(data["outcome"]),
                       None if seq is None else int(seq))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a cell ({exc!r}): {dict(data)!r}"[:300]) from None


@dataclass
class RowResult:
    """One documented row's result. Cells are judged only in a row decided PASS or FAIL: whatever makes
    the row anything else (here or later, with `dataclasses.replace`) leaves its cells not judged."""

    id: str
    verdict: Verdict
    array: str | tuple[str, ...] | None
    expected: dict[str, Any] = field(default_factory=dict)
    observed: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    evidence: list[int] = field(default_factory=list)
    erratum: str | None = None
    cells: list[Cell] = field(default_factory=list)
    # set once the run's scope is known (results.json, `harness.overall.scoped_rows`); None in results.jsonl
    table: str | None = None
    in_scope: bool | None = None
    out_of_scope: str | None = None  # why the row does not count
    recorded_verdict: Verdict | None = None  # the verdict recorded before the row's pytest item broke
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # several groups: group -> verdict, reason, run
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # several targets: name -> verdict, reason, ...

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)
        if self.verdict not in DECIDED:
            self.cells = [replace(c, outcome=Outcome.NOT_JUDGED) for c in self.cells]

    def cells_for(self, interface: str, array: str) -> list[Cell]:
        """The row's cells of one interface ("cli" | "cim") on one array, in column order. A step that
        checks a row's CLI or CIM values asserts each passes; empty when the row holds none there (a
        skipped row, an error before anything was judged, another array)."""
        return [c for c in self.cells if c.interface == interface and c.array == array]

    @property
    def failed_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.outcome == Outcome.FAIL]

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "verdict": str(self.verdict),
            "array": list(self.array) if isinstance(self.array, tuple) else self.array,
            "expected": _jsonable(self.expected),
            "observed": _jsonable(self.observed),
            "reason": self.reason,
            "evidence": [int(seq) for seq in self.evidence],
            "erratum": self.erratum,
            "cells": [c.to_dict() for c in self.cells],
        }
        scope = {"table": self.table, "in_scope": self.in_scope, "out_of_scope": self.out_of_scope,
                 "recorded_verdict": None if self.recorded_verdict is None else str(self.recorded_verdict)}  # fmt: skip
        out.update({k: v for k, v in scope.items() if v is not None})
        if self.groups:
            out["groups"] = _jsonable(self.groups)
        if self.targets:
            out["targets"] = _jsonable(self.targets)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RowResult:
        """A row as `to_dict` wrote it; a row without `cells` (written before they existed) has none.
        Raises ValueError for something that is not a row (no id, an unknown verdict, a malformed cell)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise ValueError(f"not a result row (no id): {data!r}"[:300])
        try:
            verdict = Verdict(str(data.get("verdict")))
            recorded = data.get("recorded_verdict")
            array = data.get("array")
            return cls(
                id=data["id"],
                verdict=verdict,
                array=tuple(str(a) for a in array) if isinstance(array, list | tuple) else array,
                expected=dict(data.get("expected") or {}),
                observed=dict(data.get("observed") or {}),
                reason=str(data.get("reason") or ""),
                evidence=[int(seq) for seq in data.get("evidence") or []],
                erratum=data.get("erratum"),
                cells=[Cell.from_dict(c) for c in data.get("cells") or []],
                table=data.get("table"),
                in_scope=data.get("in_scope"),
                out_of_scope=data.get("out_of_scope"),
                recorded_verdict=None if recorded is None else Verdict(recorded),
                groups={str(g): dict(v) for g, v in (data.get("groups") or {}).items()},
                targets={str(t): dict(v) for t, v in (data.get("targets") or {}).items()},
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"row {data['id']}: not a result row ({exc})") from None


def _jsonable(value: Any) -> Any:
    """JSON types for what observations carry (pywbem's integer subclasses, tuples, markers)."""
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
