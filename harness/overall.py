"""The run's overall verdict, its scope and its exit code: computed here and nowhere else.

The verdict never says more than was seen:

* `conformant`: every row in scope PASSed (and at least one row was in scope);
* `not_conformant`: some row in scope FAILed (a provider fault was seen);
* `error`: no FAIL, but the harness or a connection broke: an ERROR row, a row never decided, a
  pytest error, an interrupted run;
* `incomplete`: none of the above, but some row in scope was NOT_OBSERVED or SKIPPED (or nothing
  was in scope).

In scope = selected by the user (ids, tags, pytest selection) and applicable to the target's
topology. Rows out of scope are listed with the reason and never counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.spec import Row, load_spec

CONFORMANT = "conformant"
NOT_CONFORMANT = "not_conformant"
INCOMPLETE = "incomplete"
ERROR = "error"
WORST_FIRST = (NOT_CONFORMANT, ERROR, INCOMPLETE, CONFORMANT)
"""Which overall verdict wins when several runs (groups, targets) make one."""

EXIT_CODES = {CONFORMANT: 0, NOT_CONFORMANT: 1, ERROR: 1, INCOMPLETE: 3}
EXIT_USAGE = 2
EXIT_NOT_NATURAL = 4
"""Takes precedence over every other code: the arrays were left out of their natural state."""
EXIT_SIGNALS = {"SIGINT": 130, "SIGTERM": 143}
"""An interrupted run (arrays back in their natural state) exits as shells expect: 128 + signal number."""

UNDECIDED = "not decided"


@dataclass(frozen=True)
class Overall:
    verdict: str
    headline: str  # "INCOMPLETE: 25 rows skipped (...)": the report's headline and the console's last line
    counts: dict[str, int]  # verdict -> rows in scope
    out_of_scope: dict[str, str]  # row id -> why it is not counted
    problems: list[str] = field(default_factory=list)  # run-level failures (pytest errors, interruption)
    left_unnatural: bool = False
    interrupted_by: str | None = None  # SIGINT / SIGTERM

    @property
    def exit_code(self) -> int:
        if self.left_unnatural:
            return EXIT_NOT_NATURAL
        return EXIT_SIGNALS.get(self.interrupted_by or "", EXIT_CODES[self.verdict])

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "headline": self.headline,
            "exit_code": self.exit_code,
            "counts": self.counts,
            "out_of_scope": self.out_of_scope,
            "problems": self.problems,
            "left_unnatural": self.left_unnatural,
            "interrupted_by": self.interrupted_by,
        }


def out_of_scope_reason(row: Row, topology: str | None, selected: set[str] | None) -> str | None:
    """Why a documented row does not count for this run, or None when it is in scope."""
    if selected is not None and row.id not in selected:
        return "not selected"
    if row.table in ("table106", "table107") and topology not in (None, "pair"):
        return f"{_table_name(row.table)} rows need a pair target: an SLD trio run drives no DR"
    if row.table == "sld" and topology not in (None, "sld"):
        return "SLD rows need an SLD trio target (e.g. --config fixtures/mock-sld.yaml)"
    if row.table == "rules" and row.needs == "dr_tour" and topology not in (None, "pair"):
        return "only the DR sequence exercises this rule, and an SLD trio run drives no DR"
    return None


def scoped_rows(
    decided: Mapping[str, dict[str, Any]],
    *,
    topology: str | None,
    selected: set[str] | None,
    undecided_why: str,
    problems_by_row: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One entry per documented id in the spec's order, each with `in_scope`: a row in scope that was
    never decided is ERROR "not decided: <why>"; a row whose pytest item broke after its verdict was
    recorded is ERROR too (the recorded verdict is kept in `recorded_verdict`); a row out of scope that
    was not run is SKIPPED "not run: <why out of scope>"."""
    problems_by_row = problems_by_row or {}
    rows = []
    for row_id, spec_row in load_spec().rows.items():
        reason_out = out_of_scope_reason(spec_row, topology, selected)
        broke = problems_by_row.get(row_id)
        if row_id in decided:
            entry = dict(decided[row_id])
            if broke and entry["verdict"] not in ("fail", "error"):
                entry.update(recorded_verdict=entry["verdict"], verdict="error", reason=f"{UNDECIDED}: {broke}")
        elif reason_out is not None:
            entry = _not_run(spec_row, "skipped", f"not run: {reason_out}")
        else:
            entry = _not_run(spec_row, "error", f"{UNDECIDED}: {broke or undecided_why}")
        entry.update(table=spec_row.table, in_scope=reason_out is None)
        if reason_out is not None:
            entry["out_of_scope"] = reason_out
        rows.append(entry)
    return rows


def _not_run(row: Row, verdict: str, reason: str) -> dict[str, Any]:
    return {"id": row.id, "verdict": verdict, "array": row.array, "expected": {}, "observed": {},
            "reason": reason, "evidence": [], "erratum": row.erratum}  # fmt: skip


def judge_run(
    rows: Iterable[dict[str, Any]],
    *,
    problems: Iterable[str] = (),
    final_states: Iterable[Any] = (),
    interrupted_by: str | None = None,
) -> Overall:
    """The overall verdict of rows produced by `scoped_rows` (rows without `in_scope` count)."""
    rows = list(rows)
    counted = [r for r in rows if r.get("in_scope", True)]
    out = {r["id"]: r.get("out_of_scope") or "out of scope" for r in rows if not r.get("in_scope", True)}
    counts = Counter(str(r.get("verdict")) for r in counted)
    problems = [p for p in problems if p]
    unnatural = any(isinstance(s, dict) and s.get("natural") is False for s in final_states)
    verdict = _verdict(counts, problems, len(counted))
    headline = _headline(verdict, counted, counts, problems, out)
    if unnatural:
        headline += "; THE ARRAYS WERE LEFT OUT OF THEIR NATURAL STATE (final_state.commands_to_run)"
    return Overall(verdict, headline, dict(sorted(counts.items())), out, problems, unnatural, interrupted_by)


def worst(verdicts: Iterable[str]) -> str:
    found = set(verdicts)
    return next((v for v in WORST_FIRST if v in found), INCOMPLETE)


def _verdict(counts: Counter[str], problems: list[str], in_scope: int) -> str:
    if counts.get("fail"):
        return NOT_CONFORMANT
    if problems or any(v not in ("pass", "skipped", "not_observed") for v in counts):
        return ERROR
    if counts.get("skipped") or counts.get("not_observed") or in_scope == 0:
        return INCOMPLETE
    return CONFORMANT


def _headline(
    verdict: str, rows: list[dict[str, Any]], counts: Counter[str], problems: list[str], out: dict[str, str]
) -> str:
    total = len(rows)
    parts: list[str] = []
    if verdict == CONFORMANT:
        parts.append(f"all {_n(total, 'row')} in scope passed")
    elif total == 0:
        parts.append("no row in scope was checked")
    else:
        parts += _grouped(rows, "fail", "failed")
        parts += problems
        parts += _grouped(rows, "error", "in error")
        parts += _grouped(rows, "not_observed", "not observed")
        parts += _grouped(rows, "skipped", "skipped")
        parts.append(f"{counts.get('pass', 0)} of {_n(total, 'row')} in scope passed")
    if out:
        parts.append(f"{len(out)} out of scope")
    return f"{verdict.replace('_', ' ').upper()}: " + "; ".join(parts)


def _grouped(rows: list[dict[str, Any]], verdict: str, label: str) -> list[str]:
    """'2 rows not observed (T107-02, T107-05)'; skipped rows and rows never decided are grouped by reason
    instead ('25 rows skipped (disruptive: ...)'), biggest group first."""
    chosen = [r for r in rows if r.get("verdict") == verdict]
    if verdict == "skipped":
        return _by_reason(chosen, label)
    undecided = [r for r in chosen if str(r.get("reason", "")).startswith(UNDECIDED)]
    decided = [r for r in chosen if r not in undecided]
    parts = [f"{_n(len(decided), 'row')} {label} ({_ids(decided)})"] if decided else []
    return parts + _by_reason(undecided, UNDECIDED)


def _by_reason(rows: list[dict[str, Any]], label: str) -> list[str]:
    reasons = Counter(_short(str(r.get("reason") or "no reason given").removeprefix(f"{UNDECIDED}: ")) for r in rows)
    return [f"{_n(n, 'row')} {label} ({reason})" for reason, n in reasons.most_common()]


def _ids(rows: list[dict[str, Any]], limit: int = 6) -> str:
    ids = [str(r["id"]) for r in rows]
    return ", ".join(ids) if len(ids) <= limit else ", ".join(ids[:limit]) + f", … {len(ids) - limit} more"


def _short(reason: str, limit: int = 80) -> str:
    reason = reason.split("; ")[0].strip()
    return reason if len(reason) <= limit else reason[: limit - 1].rstrip() + "…"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _table_name(table: str) -> str:
    return {"table106": "Table 106", "table107": "Table 107"}.get(table, table)
