"""Result files of a run: results.jsonl (appended as each row finishes), observations.jsonl (as each
observation is taken), transcript.jsonl (as each command is sent and as it ends) and results.json
(written at the end).

A crash loses nothing already decided: every row is on disk the moment it is judged.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.array_cli import Transcript
from harness.observation import Observation
from harness.overall import Overall, judge_run, scoped_rows
from harness.recording import RECORDING_DIR
from harness.redact import Redactor
from harness.results import SEVERITY, RowResult
from harness.spec import load_spec


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_report_dir(base: Path = Path("reports")) -> Path:
    return base / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class ResultsWriter:
    """Every line and document passes through `redactor` (set once the run knows its secrets)."""

    def __init__(self, report_dir: Path, redactor: Redactor | None = None) -> None:
        self.report_dir = report_dir
        self.redactor = redactor or Redactor()
        report_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl_path = report_dir / "results.jsonl"
        self.observations_path = report_dir / "observations.jsonl"
        self.rows: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._observations = self.observations_path.open("a")
        self._transcript = (report_dir / "transcript.jsonl").open("a")
        self._recording: dict[str, Any] = {}  # file name in recording/ -> open file (created on first line)
        self._closed = False

    def append(self, row: dict[str, Any]) -> None:
        with self._lock:
            row = self.redactor.data(row)
            self.rows[row["id"]] = row
            with self.jsonl_path.open("a") as sink:
                sink.write(json.dumps(row) + "\n")

    def write_observation(self, observation: Observation) -> None:
        line = self.redactor.text(json.dumps(observation.to_dict())) + "\n"
        with self._lock:
            if not self._observations.closed:
                self._observations.write(line)
                self._observations.flush()

    def write_transcript(self, entry: dict[str, Any]) -> None:
        """One CLI command as it is sent, and again when it ends (the same `ref`; the later line wins)."""
        line = self.redactor.text(json.dumps(entry)) + "\n"
        with self._lock:
            if not self._transcript.closed:
                self._transcript.write(line)
                self._transcript.flush()

    def write_recording(self, name: str, record: dict[str, Any]) -> None:
        """One line of the run's recording (harness.recording): its strings redacted, then the line."""
        line = self.redactor.text(json.dumps(self.redactor.data(record))) + "\n"
        with self._lock:
            if self._closed:
                return
            sink = self._recording.get(name)
            if sink is None:
                (self.report_dir / RECORDING_DIR).mkdir(exist_ok=True)
                sink = self._recording[name] = (self.report_dir / RECORDING_DIR / name).open("a")
            sink.write(line)
            sink.flush()

    def finish(
        self,
        manifest: dict[str, Any],
        events: list[dict[str, Any]],
        observation_count: int,
        transcript: Transcript,
        final_state: dict[str, Any],
        scope: RunScope,
    ) -> dict[str, Any]:
        with self._lock:
            self._closed = True
            self._observations.close()
            self._transcript.close()
            for sink in self._recording.values():
                sink.close()
        # redacted before judging: the headline shortens reasons, which could cut a secret past recognition
        rows = self.redactor.data(typed_rows(scoped_rows(
            self.rows,
            topology=manifest.get("topology"),
            selected=scope.selected,
            undecided_why=scope.undecided_why(),
            problems_by_row=scope.problems_by_row,
        )))  # fmt: skip
        overall = judge_run(rows, problems=self.redactor.data(scope.problems), final_states=[final_state],
                            interrupted_by=scope.interrupted_by)  # fmt: skip
        document = {
            **overall_fields(overall),
            "manifest": manifest,
            "final_state": final_state,
            "rows": rows,
            "events": events,
            "errata": load_spec().errata,
            "evidence": {
                "observations": "observations.jsonl",
                "transcript": "transcript.jsonl",
                "observation_count": observation_count,
                "command_count": len(transcript.entries),
                **({"recording": f"{RECORDING_DIR}/"} if self._recording else {}),
            },
        }
        document = self.redactor.data(document)
        (self.report_dir / "results.json").write_text(json.dumps(document, indent=2))
        return document


@dataclass
class RunScope:
    """What pytest selected and what broke outside the row verdicts (from the pytest plugin)."""

    selected: set[str] | None = None  # row ids collected after the user's selection; None: every row
    problems: list[str] = field(default_factory=list)  # run-level: pytest errors, interruption, setup
    problems_by_row: dict[str, str] = field(default_factory=dict)  # row id -> how its pytest item broke
    interrupted: bool = False
    interrupted_by: str | None = None  # the signal, when one stopped the run

    def undecided_why(self) -> str:
        if self.interrupted:
            by = f" ({self.interrupted_by})" if self.interrupted_by else ""
            return f"the run was interrupted{by} before this row was decided"
        if self.problems:
            return f"the run broke before this row was decided ({self.problems[0]})"
        return "the row's test never ran to a verdict"


def typed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the schema writes them: a row made ERROR after its cells were judged (its pytest item
    broke) has them not judged."""
    return [RowResult.from_dict(row).to_dict() for row in rows]


def overall_fields(overall: Overall) -> dict[str, Any]:
    """The top-level fields of results.json that state the overall verdict."""
    return {"verdict": overall.verdict, "headline": overall.headline, "exit_code": overall.exit_code,
            "overall": overall.to_dict()}  # fmt: skip


def merge_group_runs(report_dir: Path, runs: dict[str, Path]) -> dict[str, Any]:
    """results.json for several groups: each row's verdict is the worst over the groups that ran it
    (skipped only where every group skipped it), with the cells of the first group that gave it; each
    group's own result stays in `groups`. The overall verdict is judged over the merged rows, with every
    group's run-level problems."""
    documents = {
        g: json.loads((d / "results.json").read_text()) for g, d in runs.items() if (d / "results.json").exists()
    }
    rows = []
    for row_id, spec_row in load_spec().rows.items():
        per_group = {g: next(r for r in doc["rows"] if r["id"] == row_id) for g, doc in documents.items()}
        # a rule one group could not exercise says nothing against the groups that did
        neutral = ("skipped", "not_observed") if spec_row.table == "rules" else ("skipped",)
        ran = {g: r for g, r in per_group.items() if r["verdict"] not in neutral} or per_group
        worst_row = min(ran.values(), key=lambda r: [str(v) for v in SEVERITY].index(r["verdict"]))
        deciding = [g for g, r in ran.items() if r["verdict"] == worst_row["verdict"]]
        rows.append({
            **worst_row,
            "reason": "; ".join(f"{g}: {ran[g]['reason']}" for g in deciding),
            "evidence": [],
            "groups": {g: {"verdict": r["verdict"], "reason": r["reason"], "run": runs[g].name}
                       for g, r in per_group.items()},
        })  # fmt: skip
    first: dict[str, Any] = next(iter(documents.values()), {"manifest": {}})
    manifest = {**first["manifest"], "groups": list(documents), "group": None,
                "group_runs": {g: str(runs[g].name) for g in documents}}  # fmt: skip
    missing = [g for g in runs if g not in documents]
    problems = [p for doc in documents.values() for p in (doc.get("overall") or {}).get("problems", [])]
    problems += [f"group {g}: no results.json was written" for g in missing]
    signals = [(d.get("overall") or {}).get("interrupted_by") for d in documents.values()]
    rows = typed_rows(rows)
    overall = judge_run(rows, problems=problems, final_states=[d.get("final_state") for d in documents.values()],
                        interrupted_by=next((s for s in signals if s), None))  # fmt: skip
    document = {
        **overall_fields(overall),
        "manifest": manifest,
        "final_state": {g: doc.get("final_state") for g, doc in documents.items()},
        "rows": rows,
        "events": [],
        "errata": load_spec().errata,
        "evidence": {"group_runs": {g: str(runs[g].name) for g in documents}},
    }
    (report_dir / "results.json").write_text(json.dumps(document, indent=2))
    return document
