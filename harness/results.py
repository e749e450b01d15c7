"""Result files of a run: results.jsonl (appended as each row finishes), observations.jsonl (as each
observation is taken), transcript.jsonl and results.json (written at the end).

A crash loses nothing already decided: every row is on disk the moment it is judged.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.array_cli import Transcript
from harness.observe import Observation
from harness.spec import load_spec
from harness.verdicts import SEVERITY


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_report_dir(base: Path = Path("reports")) -> Path:
    return base / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class ResultsWriter:
    def __init__(self, report_dir: Path) -> None:
        self.report_dir = report_dir
        report_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl_path = report_dir / "results.jsonl"
        self.observations_path = report_dir / "observations.jsonl"
        self.rows: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._observations = self.observations_path.open("a")

    def append(self, row: dict[str, Any]) -> None:
        with self._lock:
            self.rows[row["id"]] = row
            with self.jsonl_path.open("a") as sink:
                sink.write(json.dumps(row) + "\n")

    def write_observation(self, observation: Observation) -> None:
        line = json.dumps(observation.to_dict()) + "\n"
        with self._lock:
            if not self._observations.closed:
                self._observations.write(line)
                self._observations.flush()

    def finish(
        self,
        manifest: dict[str, Any],
        events: list[dict[str, Any]],
        observation_count: int,
        transcript: Transcript,
        final_state: dict[str, Any],
    ) -> dict[str, Any]:
        with self._lock:
            self._observations.close()
        with (self.report_dir / "transcript.jsonl").open("w") as sink:
            for entry in transcript.entries:
                sink.write(json.dumps(asdict(entry)) + "\n")
        document = {
            "manifest": manifest,
            "final_state": final_state,
            "rows": all_rows(self.rows),
            "events": events,
            "errata": load_spec().errata,
            "evidence": {
                "observations": "observations.jsonl",
                "transcript": "transcript.jsonl",
                "observation_count": observation_count,
                "command_count": len(transcript.entries),
            },
        }
        (self.report_dir / "results.json").write_text(json.dumps(document, indent=2))
        return document


def all_rows(decided: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per documented id, in the spec's order; ids the run did not address are skipped."""
    spec = load_spec()
    rows = []
    for row_id, row in spec.rows.items():
        entry = decided.get(row_id) or {
            "id": row_id,
            "verdict": "skipped",
            "array": row.array,
            "expected": {},
            "observed": {},
            "reason": "not run: not selected, or not addressable with this target's topology",
            "evidence": [],
            "erratum": row.erratum,
        }
        rows.append({**entry, "table": row.table})
    return rows



def merge_group_runs(report_dir: Path, runs: dict[str, Path]) -> dict[str, Any]:
    """results.json for several groups: each row's verdict is the worst over the groups that ran it
    (skipped only where every group skipped it); each group's own result stays in `groups`."""
    documents = {
        g: json.loads((d / "results.json").read_text()) for g, d in runs.items() if (d / "results.json").exists()
    }
    rows = []
    for row_id in load_spec().rows:
        per_group = {g: next(r for r in doc["rows"] if r["id"] == row_id) for g, doc in documents.items()}
        # a rule one group could not exercise says nothing against the groups that did
        neutral = ("skipped", "not_observed") if row_id.startswith("RULE-") else ("skipped",)
        ran = {g: r for g, r in per_group.items() if r["verdict"] not in neutral} or per_group
        worst = min(ran.values(), key=lambda r: [str(v) for v in SEVERITY].index(r["verdict"]))
        deciding = [g for g, r in ran.items() if r["verdict"] == worst["verdict"]]
        rows.append({
            **worst,
            "reason": "; ".join(f"{g}: {ran[g]['reason']}" for g in deciding),
            "evidence": [],
            "groups": {g: {"verdict": r["verdict"], "reason": r["reason"], "run": runs[g].name}
                       for g, r in per_group.items()},
        })  # fmt: skip
    first = next(iter(documents.values()), {"manifest": {}})
    manifest = {**first["manifest"], "groups": list(documents), "group": None,
                "group_runs": {g: str(runs[g].name) for g in documents}}  # fmt: skip
    document = {
        "manifest": manifest,
        "final_state": {g: doc.get("final_state") for g, doc in documents.items()},
        "rows": rows,
        "events": [],
        "errata": load_spec().errata,
        "evidence": {"group_runs": {g: str(runs[g].name) for g in documents}},
    }
    (report_dir / "results.json").write_text(json.dumps(document, indent=2))
    return document
