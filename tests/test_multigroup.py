"""Several groups under test: one tour of the DR sequence for all of them (harness.tour); results merge per row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from harness.result_files import merge_group_runs
from harness.spec import load_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def write_run(directory: Path, verdicts: dict[str, str]) -> Path:
    directory.mkdir(parents=True)
    rows = [
        {"id": row_id, "verdict": verdicts.get(row_id, "pass"), "array": None, "expected": {}, "observed": {},
         "reason": f"{directory.name} {row_id}", "evidence": [1], "erratum": None}
        for row_id in load_spec().rows
    ]  # fmt: skip
    document = {"manifest": {"harness_version": "x", "group": directory.name}, "rows": rows, "final_state": {}}
    (directory / "results.json").write_text(json.dumps(document))
    return directory


def test_merge_keeps_the_worst_verdict_and_each_groups_detail(tmp_path: Path) -> None:
    runs = {
        "g1": write_run(tmp_path / "g1", {"T107-02": "fail", "RULE-06": "pass", "T107-05": "not_observed"}),
        "g2": write_run(tmp_path / "g2", {"T107-02": "pass", "RULE-06": "not_observed", "SLD-01": "skipped"}),
    }
    document = merge_group_runs(tmp_path, runs)
    rows = {r["id"]: r for r in document["rows"]}
    assert rows["T107-02"]["verdict"] == "fail" and rows["T107-02"]["reason"] == "g1: g1 T107-02"
    assert rows["T107-02"]["groups"]["g2"]["verdict"] == "pass"
    # a rule one group could not exercise says nothing against the group that did
    assert rows["RULE-06"]["verdict"] == "pass"
    # an in-progress row one group never caught stays NOT_OBSERVED
    assert rows["T107-05"]["verdict"] == "not_observed"
    # a row skipped by one group only takes the verdict of the group that ran it
    assert rows["SLD-01"]["verdict"] == "pass"
    assert document["manifest"]["groups"] == ["g1", "g2"]
    assert json.loads((tmp_path / "results.json").read_text())["rows"] == document["rows"]


def test_two_simulated_groups_each_tour_and_merge(tmp_path: Path) -> None:
    config = yaml.safe_load((FIXTURES / "mock-pair.yaml").read_text())
    config["groups"] = ["rcg_sync_0", "rcg_periodic_1"]
    path = tmp_path / "two-groups.yaml"
    path.write_text(yaml.safe_dump(config))
    report = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "harness.command_line", "run", "--config", str(path), "--report-dir", str(report),
         "T107-01", "T107-02", "T107-03", "RULE-07"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    merged = json.loads((report / "results.json").read_text())
    rows = {r["id"]: r for r in merged["rows"]}
    for row_id in ("T107-01", "T107-02", "T107-03", "RULE-07"):
        assert rows[row_id]["verdict"] == "pass", rows[row_id]
        assert set(rows[row_id]["groups"]) == {"rcg_sync_0", "rcg_periodic_1"}
    for group, secondary_name in (("rcg_sync_0", "rcg_sync_0.r"), ("rcg_periodic_1", "rcg_periodic_1.r")):
        own = json.loads((report / group / "results.json").read_text())
        assert own["manifest"]["group"] == group
        assert own["manifest"]["arrays"]["secondary"]["group"].startswith(secondary_name)
        assert own["final_state"]["natural"] is True
    assert (report / "index.html").is_file()
