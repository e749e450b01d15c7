"""The overall verdict never says more than was seen: judging rules (fast) and the paths by which a run
could end looking conformant without being so (end to end, through `smis-harness run`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.overall import judge_run, scoped_rows
from harness.spec import load_spec

ALL_IDS = list(load_spec().rows)
PAIR_IDS = [i for i, r in load_spec().rows.items() if r.table != "sld"]


def _row(row_id: str, verdict: str, reason: str = "r") -> dict[str, Any]:
    return {"id": row_id, "verdict": verdict, "reason": reason}


def _all(verdict: str = "pass", **overrides: str) -> dict[str, dict[str, Any]]:
    return {i: _row(i, overrides.get(i.replace("-", "_"), verdict)) for i in PAIR_IDS}


# --------------------------------------------------------------------------- judging


def test_every_row_in_scope_passing_is_conformant_and_out_of_scope_rows_do_not_count() -> None:
    rows = scoped_rows(_all(), topology="pair", selected=None, undecided_why="-")
    overall = judge_run(rows)
    assert (overall.verdict, overall.exit_code) == ("conformant", 0)
    assert set(overall.out_of_scope) == {"SLD-01", "SLD-02", "SLD-03"}
    assert overall.counts == {"pass": len(PAIR_IDS)}


@pytest.mark.parametrize(
    ("overrides", "verdict", "code", "fragment"),
    [
        ({"T107_02": "not_observed"}, "incomplete", 3, "1 row not observed (T107-02)"),
        ({"T107_05": "skipped"}, "incomplete", 3, "1 row skipped (r)"),
        ({"T107_05": "error"}, "error", 1, "1 row in error (T107-05)"),
        ({"T107_05": "fail", "T107_06": "error"}, "not_conformant", 1, "1 row failed (T107-05)"),
    ],
)
def test_any_row_not_passing_lowers_the_verdict(overrides: dict, verdict: str, code: int, fragment: str) -> None:
    rows = scoped_rows(_all(**overrides), topology="pair", selected=None, undecided_why="-")
    overall = judge_run(rows)
    assert (overall.verdict, overall.exit_code) == (verdict, code)
    assert overall.headline.startswith(verdict.replace("_", " ").upper() + ": ") and fragment in overall.headline


def test_a_row_in_scope_never_decided_is_an_error_naming_why() -> None:
    decided = _all()
    del decided["T107-09"]
    rows = scoped_rows(decided, topology="pair", selected=None, undecided_why="the run was interrupted")
    row = next(r for r in rows if r["id"] == "T107-09")
    assert (row["verdict"], row["reason"]) == ("error", "not decided: the run was interrupted")
    assert judge_run(rows).verdict == "error"


def test_a_row_whose_test_broke_after_it_was_recorded_is_an_error() -> None:
    broke = {"T106-03": "pytest teardown failed: RuntimeError: boom"}
    rows = scoped_rows(_all(), topology="pair", selected=None, undecided_why="-", problems_by_row=broke)
    row = next(r for r in rows if r["id"] == "T106-03")
    assert row["verdict"] == "error" and row["recorded_verdict"] == "pass" and "boom" in row["reason"]


def test_selection_and_topology_decide_the_scope() -> None:
    rows = scoped_rows({"T106-03": _row("T106-03", "pass")}, topology="pair", selected={"T106-03"}, undecided_why="-")
    overall = judge_run(rows)
    assert overall.verdict == "conformant" and overall.counts == {"pass": 1}
    assert overall.out_of_scope["T107-02"] == "not selected"
    sld = scoped_rows({}, topology="sld", selected=None, undecided_why="-")
    out = {r["id"] for r in sld if not r["in_scope"]}
    assert out == {i for i in ALL_IDS if i.startswith("T10")} | {"RULE-04", "RULE-09"}


def test_nothing_in_scope_is_incomplete_never_conformant() -> None:
    rows = scoped_rows({}, topology="pair", selected={"SLD-01"}, undecided_why="-")
    overall = judge_run(rows)
    assert (overall.verdict, overall.exit_code) == ("incomplete", 3) and "no row in scope" in overall.headline


def test_run_level_problems_make_an_error_even_when_every_row_passed() -> None:
    rows = scoped_rows(_all(), topology="pair", selected=None, undecided_why="-")
    overall = judge_run(rows, problems=["pytest could not collect x"])
    assert overall.verdict == "error" and "pytest could not collect x" in overall.headline


def test_arrays_left_out_of_their_natural_state_take_precedence() -> None:
    rows = scoped_rows(_all(), topology="pair", selected=None, undecided_why="-")
    overall = judge_run(rows, final_states=[{"natural": False, "commands_to_run": ["x"]}])
    assert overall.exit_code == 4 and "NATURAL STATE" in overall.headline


# --------------------------------------------------------------------------- end to end


def _smis() -> list[str]:
    script = Path(sys.executable).with_name("smis-harness")
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]


CRASHING_PLUGIN = '''
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if "T106-05" in item.nodeid:
        raise RuntimeError("harness bug while judging (planted by the test)")

@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    if "T106-03" in item.nodeid:
        raise RuntimeError("harness bug after the verdict (planted by the test)")
'''


def test_a_crash_inside_the_harness_is_an_error_not_a_pass(tmp_path: Path, one_group_pair: Path) -> None:
    (tmp_path / "crashing_plugin.py").write_text(CRASHING_PLUGIN)
    report = tmp_path / "r"
    proc = subprocess.run(
        [*_smis(), "run", "--config", str(one_group_pair), "--report-dir", str(report), "T106-03", "T106-05", "--",
         "-p", "crashing_plugin"],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    document = json.loads((report / "results.json").read_text())
    assert (proc.returncode, document["verdict"]) == (1, "error"), proc.stdout[-3000:] + proc.stderr[-2000:]
    rows = {r["id"]: r for r in document["rows"]}
    assert rows["T106-05"]["verdict"] == "error" and "planted by the test" in rows["T106-05"]["reason"]
    assert rows["T106-03"]["verdict"] == "error" and rows["T106-03"]["recorded_verdict"] == "pass"
    assert proc.stdout.strip().splitlines()[-1] == document["headline"]
    suite = ET.parse(report / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["smis-harness.verdict"] == "error"
    html = (report / "index.html").read_text()
    assert 'data-overall="error"' in html


def test_an_interrupted_run_is_never_conformant(tmp_path: Path, one_group_pair: Path) -> None:
    """SIGINT (Ctrl-C) during the DR tour: the rows not yet decided are errors, and so is the run."""
    report = tmp_path / "r"
    proc = subprocess.Popen(
        [*_smis(), "run", "--config", str(one_group_pair), "--report-dir", str(report)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    jsonl = report / "results.jsonl"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 10:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    document = json.loads((report / "results.json").read_text())
    expected_code = 130 if document["final_state"]["natural"] else 4
    assert proc.returncode == expected_code and document["verdict"] == "error", stdout[-3000:]
    undecided = [r for r in document["rows"] if r["in_scope"] and r["reason"].startswith("not decided")]
    assert undecided and all(r["verdict"] == "error" for r in undecided)
    assert "interrupted" in document["headline"]


def test_rerun_runs_only_the_rows_left_unsettled_and_lists_what_changed(
    tmp_path: Path, one_group_pair: Path
) -> None:
    (tmp_path / "crashing_plugin.py").write_text(CRASHING_PLUGIN.replace("T106-03", "T106-99"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    first = subprocess.run([*_smis(), "run", "--config", str(one_group_pair), "--report-dir", "a", "T106-03", "T106-05",
                            "--", "-p", "crashing_plugin"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)  # fmt: skip
    assert first.returncode == 1, first.stdout[-2000:]
    again = subprocess.run([*_smis(), "run", "--rerun", "a", "--report-dir", "b"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)  # fmt: skip
    document = json.loads((tmp_path / "b" / "results.json").read_text())
    assert again.returncode == 0 and document["verdict"] == "conformant", again.stdout[-3000:]
    assert [r["id"] for r in document["rows"] if r["in_scope"]] == ["T106-05"], "only the row in error ran again"
    assert document["manifest"]["rerun_of"] == str((tmp_path / "a").resolve())
    changes = json.loads((tmp_path / "b" / "rerun.json").read_text())
    assert changes["changed"] == {"T106-05": {"before": "error", "now": "pass"}}
    assert "T106-05: error -> pass" in again.stdout
    assert again.stdout.strip().splitlines()[-1] == document["headline"]

    deviations = Path(__file__).parent.parent / "fixtures" / "deviations" / "e1-failover-splitting.yaml"
    changed = subprocess.run([*_smis(), "run", "--rerun", "a", "--deviations", str(deviations), "--report-dir", "c"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert changed.returncode == 2 and "configuration changed since" in changed.stderr, changed.stderr
    nothing = subprocess.run([*_smis(), "run", "--rerun", "b", "--report-dir", "d"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert nothing.returncode == 0 and "nothing to rerun" in nothing.stdout
