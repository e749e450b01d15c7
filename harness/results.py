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
from harness.observe import Timeline
from harness.spec import load_spec


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

    def append(self, row: dict[str, Any]) -> None:
        with self._lock:
            self.rows[row["id"]] = row
            with self.jsonl_path.open("a") as sink:
                sink.write(json.dumps(row) + "\n")

    def finish(
        self, manifest: dict[str, Any], timeline: Timeline, transcript: Transcript, final_state: dict[str, Any]
    ) -> dict[str, Any]:
        with (self.report_dir / "transcript.jsonl").open("w") as sink:
            for entry in transcript.entries:
                sink.write(json.dumps(asdict(entry)) + "\n")
        document = {
            "manifest": manifest,
            "final_state": final_state,
            "rows": all_rows(self.rows),
            "events": timeline.events,
            "errata": load_spec().errata,
            "evidence": {
                "observations": "observations.jsonl",
                "transcript": "transcript.jsonl",
                "observation_count": len(timeline.observations),
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
