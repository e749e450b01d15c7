"""results.json of a run of several targets (`harness.multi_target`): every documented row once, with each
target's verdict kept beside it (`targets`), and the overall verdict judged over those rows by
`harness.overall`, never more than was seen:

* a target says nothing about a row that does not apply to it (out of its scope: an SLD row on a pair,
  a Table 106/107 row on a trio, a row not selected): such a row is judged only over the targets where it
  is in scope, and it is out of scope only where it is out of scope on every target;
* over the targets where it is in scope, a row is the worst it was (FAIL, ERROR, NOT_OBSERVED, SKIPPED,
  PASS): it is PASS only if it PASSed on every one of them. A row in scope on a target but SKIPPED or
  NOT_OBSERVED there was not seen there: another target's PASS does not speak for it;
* a target whose run did not end by itself (crashed, killed, timed out, never started, interrupted) makes
  the run `error`, the problem naming the target; its rows not decided are ERROR "not decided: target
  <name>: <why>".

The merge itself (`combine_rows`, `merge_documents`) is pure: documents in, document out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.overall import ERROR, NOT_CONFORMANT, judge_run, scoped_rows
from harness.result_files import now_iso, overall_fields, typed_rows
from harness.results import SEVERITY
from harness.spec import load_spec

WORST_FIRST = [str(v) for v in SEVERITY]


@dataclass
class TargetRun:
    """One target of the run: what it is, where its files went, and how its worker ended."""

    name: str  # its directory under the run's report dir
    config: str  # the config file
    config_hash: str
    topology: str
    selected: set[str] | None = None  # row ids the user selected (None: every row, or pytest's own selection)
    document: dict[str, Any] | None = None  # its results.json; None when it wrote none
    decided: dict[str, dict[str, Any]] = field(default_factory=dict)  # results.jsonl rows of a run without results.json
    exit_code: int | None = None
    failure: str | None = None  # why its worker did not end by itself, or None
    seconds: float = 0.0
    log: str = ""

    def rows(self) -> list[dict[str, Any]]:
        """Its rows: those of its results.json, else what it decided with every other row in scope ERROR."""
        if self.document is not None:
            return [r for r in self.document.get("rows", []) if isinstance(r, dict) and "id" in r]
        why = f"target {self.name}: {self.failure or 'no results.json was written'}"
        return scoped_rows(self.decided, topology=self.topology, selected=self.selected, undecided_why=why)

    def problems(self) -> list[str]:
        """Its run-level problems, each naming the target."""
        if self.document is None:
            where = f"; log: {self.log}" if self.log else ""
            why = self.failure or "no results.json was written"
            return [f"target {self.name}: {why} (exit code {self.exit_code}{where})"]
        stated = self.document.get("overall") or {}
        found = [f"target {self.name}: {p}" for p in stated.get("problems") or []]
        if self.failure:
            found.append(f"target {self.name}: {self.failure}")
        if not found and self._unexplained():
            found.append(f"target {self.name}: its run ended {self.document.get('verdict')}: "
                         f"{self.document.get('headline', '')}")  # fmt: skip
        return found

    def _unexplained(self) -> bool:
        """Its stated verdict is error or not conformant, but no row in scope says so (an edited file, another
        harness version): the combined run must not come out better than that."""
        if self.document is None or self.document.get("verdict") not in (ERROR, NOT_CONFORMANT):
            return False
        return not any(r.get("in_scope", True) and r.get("verdict") in ("fail", "error") for r in self.rows())

    def final_states(self) -> list[Any]:
        """Its final state, or each group's (a target of several groups)."""
        state = (self.document or {}).get("final_state") or {}
        if not isinstance(state, dict) or "natural" in state:
            return [state]
        return list(state.values())

    def interrupted_by(self) -> str | None:
        return ((self.document or {}).get("overall") or {}).get("interrupted_by")

    def summary(self) -> dict[str, Any]:
        """Its entry in the combined manifest."""
        doc = self.document or {}
        return {"name": self.name, "run": self.name, "config_source": self.config, "config_hash": self.config_hash,
                "topology": self.topology, "log": self.log, "exit_code": self.exit_code,
                "seconds": round(self.seconds, 1), "failure": self.failure, "verdict": doc.get("verdict"),
                "headline": doc.get("headline"), "manifest": doc.get("manifest")}  # fmt: skip


def combine_rows(per_target: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One row per documented id, in the spec's order, from each target's rows (see the module's rules)."""
    rows = []
    for row_id in load_spec().rows:
        found = {t: _row(rows_of, row_id, t) for t, rows_of in per_target.items()}
        rows.append(_combined_row(row_id, found))
    return rows


def _row(rows: Sequence[Mapping[str, Any]], row_id: str, target: str) -> dict[str, Any]:
    for row in rows:
        if row.get("id") == row_id:
            return dict(row)
    return {"id": row_id, "verdict": "error", "in_scope": True, "reason": f"target {target}: its results hold no "
            f"row {row_id}", "expected": {}, "observed": {}, "evidence": []}  # fmt: skip


def _combined_row(row_id: str, found: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    in_scope = {t: r for t, r in found.items() if r.get("in_scope", True)}
    per_target = {t: _target_entry(r, t) for t, r in found.items()}
    if not in_scope:
        first = next(iter(found.values()))
        why = "; ".join(dict.fromkeys(str(r.get("out_of_scope") or "out of scope") for r in found.values()))
        return {**_plain(first), "verdict": "skipped", "in_scope": False, "out_of_scope": why,
                "reason": first.get("reason") or f"not run: {why}", "evidence": [], "targets": per_target}  # fmt: skip
    worst = min(in_scope.values(), key=lambda r: WORST_FIRST.index(str(r.get("verdict"))))
    deciding = [t for t, r in in_scope.items() if r.get("verdict") == worst.get("verdict")]
    row = {**_plain(worst), "in_scope": True, "evidence": [], "targets": per_target,
           "reason": "; ".join(f"{t}: {in_scope[t].get('reason', '')}" for t in deciding)}  # fmt: skip
    row.pop("out_of_scope", None)
    return row


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A target's row without what only holds within that target (its groups)."""
    return {k: v for k, v in row.items() if k not in ("groups", "targets")}


def _target_entry(row: Mapping[str, Any], target: str) -> dict[str, Any]:
    entry = {"verdict": row.get("verdict"), "reason": row.get("reason", ""), "in_scope": row.get("in_scope", True),
             "run": target}  # fmt: skip
    if row.get("out_of_scope"):
        entry["out_of_scope"] = row["out_of_scope"]
    return entry


def merge_documents(runs: Sequence[TargetRun], *, interrupted_by: str | None = None,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The combined results.json document of `runs` (pure)."""
    rows = typed_rows(combine_rows({run.name: run.rows() for run in runs}))
    problems = [p for run in runs for p in run.problems()]
    signals = [interrupted_by, *(run.interrupted_by() for run in runs)]
    overall = judge_run(rows, problems=problems, final_states=[s for run in runs for s in run.final_states()],
                        interrupted_by=next((s for s in signals if s), None))  # fmt: skip
    manifest = {"targets": [run.summary() for run in runs], "finished": now_iso(), **(extra or {})}
    return {
        **overall_fields(overall),
        "manifest": manifest,
        "final_state": {run.name: (run.document or {}).get("final_state") for run in runs},
        "rows": rows,
        "events": [],
        "errata": load_spec().errata,
        "evidence": {"target_runs": {run.name: run.name for run in runs}},
    }


def write_combined(report_dir: Path, document: Mapping[str, Any]) -> Path:
    path = report_dir / "results.json"
    path.write_text(json.dumps(document, indent=2))
    return path
