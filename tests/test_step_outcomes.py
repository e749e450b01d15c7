"""The failing step is the one whose value is wrong: with a provider whose CLI prints a wrong Role the
Role/SyncStatus step fails and the CIM step passes; with one whose CIM reports a wrong ProgressStatus the
reverse, as pytest-bdd's cucumber JSON (what a certification reviewer reads) reports them. Test ids are the
row ids; pytest-xdist and pytest-randomly are refused with a message, nothing started."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROLE_STEP = "Role/SyncStatus"
CIM_STEP = "reports CopyState"


def _smis() -> list[str]:
    script = Path(sys.executable).with_name("smis-harness")
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report, cucumber = tmp_path / "report", tmp_path / "cucumber.json"
    done = subprocess.run([*_smis(), "run", "--report-dir", str(report), *args, "--", f"--cucumberjson={cucumber}"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert cucumber.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads(cucumber.read_text())


def _steps(cucumber: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Row id -> step text -> status, from the cucumber JSON."""
    out: dict[str, dict[str, str]] = {}
    for feature in cucumber:
        for element in feature["elements"]:
            row = element["name"].split()[0]
            out[row] = {step["name"]: step["result"]["status"] for step in element["steps"]}
    return out


def _status(steps: dict[str, str], needle: str) -> str:
    [status] = [s for text, s in steps.items() if needle in text]
    return status


def test_a_cli_only_deviation_fails_the_role_step_and_passes_the_cim_step(tmp_path: Path) -> None:
    deviations = str(ROOT / "fixtures" / "deviations" / "cli-role-wrong.yaml")
    done, cucumber = _run(tmp_path, "--deviations", deviations, "T107-02", "T107-03", "T107-03b")
    steps = _steps(cucumber)
    for row in ("T107-02", "T107-03"):
        assert _status(steps[row], ROLE_STEP) == "failed", steps[row]
        assert _status(steps[row], CIM_STEP) == "passed", steps[row]
        assert _status(steps[row], "has reached stage") == "passed"
    assert set(steps["T107-03b"].values()) == {"passed"}
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    assert {r["id"]: r["verdict"] for r in results["rows"] if r["in_scope"]} == {
        "T107-02": "fail", "T107-03": "fail", "T107-03b": "pass"}  # fmt: skip
    assert done.returncode == 1


def test_a_cim_only_deviation_fails_the_cim_step_and_passes_the_role_step(tmp_path: Path) -> None:
    deviations = str(ROOT / "fixtures" / "deviations" / "e1-failover-splitting.yaml")
    done, cucumber = _run(tmp_path, "--deviations", deviations, "T107-02")
    steps = _steps(cucumber)["T107-02"]
    assert _status(steps, ROLE_STEP) == "passed" and _status(steps, CIM_STEP) == "failed", steps
    assert done.returncode == 1


def test_test_ids_are_the_row_ids(tmp_path: Path) -> None:
    done = subprocess.run([*_smis(), "run", "--report-dir", str(tmp_path / "r"), "--dry-run"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "harness.plugin", "--pyargs", "harness.suite", "--collect-only", "-q",
         "-p", "no:cacheprovider", "--harness-report-dir", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    ids = [line.rsplit("[", 1)[-1].rstrip("]") for line in collected.stdout.splitlines() if "::" in line]
    assert "T107-02" in ids and "SLD-01" in ids and "RULE-09" in ids and len(ids) == 35, collected.stdout[-2000:]
    assert all(len(line) < 80 for line in collected.stdout.splitlines() if "::" in line)


def test_pytest_xdist_is_refused_with_a_message_and_nothing_runs(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    done = subprocess.run([*_smis(), "run", "--report-dir", str(tmp_path / "r"), "--", "-n", "2"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "pytest-xdist" in done.stderr and "leave out -n" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r" / "results.json").exists()


def test_pytest_randomly_is_refused_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "randomly.py").write_text('"""stands in for pytest-randomly: registered under its name"""\n')
    env = {"PYTHONPATH": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run([*_smis(), "run", "--report-dir", str(tmp_path / "r"), "--", "-p", "randomly"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "-p no:randomly" in done.stderr and "Traceback" not in done.stderr
