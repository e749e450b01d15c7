"""`smis-harness selftest`: the comparison with the answer key on fabricated results.json documents, its
usage errors, and end to end on real runs (two small profiles; a profile with a wrong answer key)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.selftest import (
    CAUGHT,
    ERROR,
    FALSE_ALARM,
    FLAKE,
    MISSED,
    OUT,
    PASS,
    Case,
    Key,
    Options,
    judge_run,
    matrix_lines,
    plan_cases,
    render_html,
    selftest,
    totals,
    verdict_reason,
)
from harness.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
DEVIATIONS = ROOT / "fixtures" / "deviations"
IDS = list(load_spec().rows)
PAIR_IDS = [i for i in IDS if not i.startswith("SLD-")]
SLD_IDS = [i for i in IDS if i.startswith(("SLD-", "RULE-")) and i not in ("RULE-04", "RULE-09")]


def results(verdicts: dict[str, str] | None = None, *, target: str = "pair", verdict: str | None = None,
            **overall: Any) -> dict[str, Any]:  # fmt: skip
    """A results.json document as a run writes it: every documented row, in scope as on `target`."""
    verdicts = verdicts or {}
    in_scope = PAIR_IDS if target == "pair" else SLD_IDS
    rows = []
    for row_id in IDS:
        row: dict[str, Any] = {"id": row_id, "in_scope": row_id in in_scope, "reason": f"reason of {row_id}"}
        if row_id in in_scope:
            row["verdict"] = verdicts.get(row_id, "pass")
        else:
            row.update(verdict="skipped", out_of_scope="not on this target")
        rows.append(row)
    counted = [r["verdict"] for r in rows if r["in_scope"]]
    if verdict is None:
        verdict = ("not_conformant" if "fail" in counted else "error" if "error" in counted
                   else "incomplete" if set(counted) - {"pass"} else "conformant")  # fmt: skip
    return {"verdict": verdict, "headline": f"{verdict.upper()}: ...", "exit_code": 0,
            "overall": {"interrupted_by": None, "left_unnatural": False, **overall}, "rows": rows}  # fmt: skip


def profile(fail: tuple[str, ...] = (), not_observed: tuple[str, ...] = (), target: str = "pair") -> Case:
    return Case("p", "profile", target, Key(fail, not_observed), Path("p.yaml"))


def outcomes(result: Any) -> dict[str, str]:
    return {c.row: c.outcome for c in result.cells if c.outcome not in (PASS, OUT)}


# --------------------------------------------------------------------------- the comparison


def test_rows_the_key_lists_with_their_verdict_are_caught_and_nothing_else_is_flagged() -> None:
    case = profile(("T107-02", "RULE-01"), ("T107-05",))
    run = judge_run(case, results({"T107-02": "fail", "RULE-01": "fail", "T107-05": "not_observed"}), 1)
    assert run.error is None
    assert outcomes(run) == {"T107-02": CAUGHT, "RULE-01": CAUGHT, "T107-05": CAUGHT}
    t = totals([run], 1.0)
    assert (t.expected_cells, t.caught, t.missed, t.false_alarms, t.errors, t.flakes) == (3, 3, 0, 0, 0, 0)
    assert t.ok and t.detection_rate == 1.0
    assert all(c.outcome == OUT for c in run.cells if c.row.startswith("SLD-"))


@pytest.mark.parametrize(
    ("got", "why"),
    [("pass", "a false pass"), ("not_observed", "expected fail, got not_observed"), ("skipped", "got skipped")],
)
def test_a_listed_fail_row_with_another_verdict_is_missed(got: str, why: str) -> None:
    run = judge_run(profile(("T107-02",)), results({"T107-02": got}), 3)
    assert outcomes(run) == {"T107-02": MISSED}
    [cell] = [c for c in run.cells if c.row == "T107-02"]
    assert why in cell.reason and "reason of T107-02" in cell.reason
    t = totals([run], 1.0)
    assert (t.caught, t.missed, t.detection_rate, t.ok) == (0, 1, 0.0, False)
    assert "T107-02 (expected fail, got " + got + ")" in verdict_reason([run], t)


def test_a_listed_not_observed_row_that_failed_or_passed_is_missed() -> None:
    for got in ("fail", "pass"):
        run = judge_run(profile((), ("T107-02",)), results({"T107-02": got}), 1)
        assert outcomes(run) == {"T107-02": MISSED}, got


def test_an_unlisted_row_not_pass_is_a_false_alarm() -> None:
    run = judge_run(profile(("T107-02",)), results({"T107-02": "fail", "T106-03": "fail", "RULE-08": "not_observed"}))
    assert outcomes(run) == {"T107-02": CAUGHT, "T106-03": FALSE_ALARM, "RULE-08": FALSE_ALARM}
    t = totals([run], 1.0)
    assert (t.caught, t.false_alarms, t.ok) == (1, 2, False)
    reason = verdict_reason([run], t)
    assert reason.startswith("selftest: FAILED: 2 false alarms: ") and "p: T106-03 (expected pass, got fail)" in reason


def test_a_listed_row_out_of_scope_is_missed_not_caught() -> None:
    run = judge_run(profile(("T107-02",), target="sld"), results(target="sld"), 0)
    assert outcomes(run) == {"T107-02": MISSED}
    assert "out of scope" in next(c.reason for c in run.cells if c.row == "T107-02")


@pytest.mark.parametrize(
    ("document", "exit_code", "failure", "why"),
    [
        (None, -9, "crashed: no results.json was written (exit code -9)", "crashed"),
        (None, None, "timed out after 1200 s (stopped with SIGTERM)", "timed out"),
        (results({"T107-02": "fail"}, interrupted_by="SIGINT"), 130, None, "interrupted (SIGINT)"),
        (results({"T107-02": "fail"}, verdict="error"), 1, None, "overall verdict error"),
        (results({"T107-02": "fail", "T107-05": "error"}), 1, None, "T107-05 ERROR"),
        (results({"T107-02": "fail"}, left_unnatural=True), 4, None, "natural state"),
        (results({"T107-02": "fail"}), 2, None, "exit code 2"),
    ],
    ids=["crashed", "timed-out", "interrupted", "verdict-error", "error-row", "left-unnatural", "usage"],
)
def test_a_broken_run_is_an_error_and_never_caught(
    document: dict[str, Any] | None, exit_code: int | None, failure: str | None, why: str
) -> None:
    run = judge_run(profile(("T107-02",)), document, exit_code, failure)
    assert run.error and why in run.error, run.error
    assert outcomes(run).get("T107-02") == ERROR, "the FAIL it shows is not counted as caught"
    t = totals([run], 1.0)
    assert (t.caught, t.errors, t.false_alarms, t.ok) == (0, 1, 0, False)
    assert "1 error: p: " in verdict_reason([run], t)


def test_a_clean_target_row_not_pass_is_a_flake_and_the_rest_passes() -> None:
    clean = [Case("clean-pair-1", "clean", "pair", repeat=1), Case("clean-pair-2", "clean", "pair", repeat=2)]
    runs = [judge_run(clean[0], results()), judge_run(clean[1], results({"T106-02": "not_observed"}), 3)]
    assert outcomes(runs[0]) == {} and outcomes(runs[1]) == {"T106-02": FLAKE}
    t = totals(runs, 1.0)
    assert (t.expected_cells, t.flakes, t.false_alarms, t.detection_rate, t.ok) == (0, 1, 0, None, False)
    assert "1 flake: clean-pair-2: T106-02 (expected pass, got not_observed)" in verdict_reason(runs, t)
    assert verdict_reason(runs[:1], totals(runs[:1], 1.0)).startswith("selftest: OK: no expected cell")


def test_matrix_names_every_expected_row_and_each_fault_with_its_reason() -> None:
    run = judge_run(profile(("T107-02", "T107-03")), results({"T107-02": "fail", "T106-06": "fail"}))
    text = "\n".join(matrix_lines([run]))
    assert "T107-02 caught" in text and "T107-03 MISSED" in text and "T106-06 FALSE ALARM (fail)" in text
    assert "MISSED: p T107-03: expected fail, got pass: a false pass" in text
    assert "FALSE ALARM: p T106-06: expected pass, got fail" in text


def test_html_is_self_contained_and_shows_the_matrix() -> None:
    from harness.selftest import document

    run = judge_run(profile(("T107-02",)), results({"T107-02": "fail", "T106-06": "fail"}))
    t = totals([run], 2.0)
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    html = render_html(document([run], t, Options(), Path("x"), verdict_reason([run], t), now, now, None))
    assert "<style>" in html and "http://" not in html and "https://" not in html and "<link" not in html
    assert 'data-row="T107-02" data-outcome="caught"' in html
    assert 'data-row="T106-06" data-outcome="false_alarm"' in html
    assert "selftest: FAILED: 1 false alarm" in html


# --------------------------------------------------------------------------- what runs, and usage errors


def test_plan_runs_the_clean_targets_k_times_and_each_profile_on_its_target() -> None:
    cases = plan_cases(sorted(DEVIATIONS.glob("*.yaml")), runs=2)
    clean = [(c.name, c.target) for c in cases if c.kind == "clean"]
    assert sorted(clean) == [("clean-pair-1", "pair"), ("clean-pair-2", "pair"), ("clean-sld-1", "sld"),
                             ("clean-sld-2", "sld")]  # fmt: skip
    by_name = {c.name: c for c in cases if c.kind == "profile"}
    assert set(by_name) == {p.stem for p in DEVIATIONS.glob("*.yaml")}
    assert by_name["sld-backup-not-dormant"].target == "sld"
    assert by_name["e1-failover-splitting"].key == Key(("T107-02",), ())
    assert by_name["failover-not-observable"].key == Key((), ("T107-02",))
    pair_config = Path(by_name["e1-failover-splitting"].arguments()[1])
    assert yaml.safe_load(pair_config.read_text())["groups"] == ["rcg_sync_0", "rcg_periodic_1"]


def test_every_profile_in_the_catalogue_has_an_answer_key() -> None:
    assert len(plan_cases(sorted(DEVIATIONS.glob("*.yaml")), runs=0)) == len(list(DEVIATIONS.glob("*.yaml")))


def _usage(tmp_path: Path, capsys: pytest.CaptureFixture[str], **kwargs: Any) -> str:
    assert selftest(Options(**kwargs), out=lambda _: None) == 2
    return capsys.readouterr().err


def test_usage_errors_exit_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = _usage(tmp_path, capsys, profiles=[str(tmp_path / "nope" / "*.yaml")])
    assert "no such profile directory" in missing and str(tmp_path / "nope") in missing
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no profile matches" in _usage(tmp_path, capsys, profiles=[str(empty / "*.yaml")])
    bad = tmp_path / "bad.yaml"
    bad.write_text("expect: {fail: [T107-02]}\ndeviations: [{id: x, cim: {NoSuchProperty: 1}}]\n")
    message = _usage(tmp_path, capsys, profiles=[str(bad)])
    assert str(bad) in message and "NoSuchProperty" in message
    wrong_row = tmp_path / "wrong-row.yaml"
    wrong_row.write_text("expect: {fail: [T107-99]}\ndeviations: [{id: x}]\n")
    assert "T107-99" in _usage(tmp_path, capsys, profiles=[str(wrong_row)])
    no_key = tmp_path / "no-key.yaml"
    no_key.write_text("deviations: [{id: x}]\n")
    assert "no answer key" in _usage(tmp_path, capsys, profiles=[str(no_key)])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert "in use" in _usage(tmp_path, capsys, report_dir=str(busy), profiles=[""], runs=1)
    assert (busy / "notes.txt").read_text() == "mine" and len(list(busy.iterdir())) == 1
    assert "nothing to run" in _usage(tmp_path, capsys, profiles=["none"], runs=0)


def test_usage_error_from_the_command_line_has_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness.command_line", "selftest", "--profiles",
                           str(tmp_path / "x" / "*")], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr and "no such profile directory" in done.stderr


# --------------------------------------------------------------------------- end to end, on real runs


def _selftest(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = tmp_path / "selftest"
    done = subprocess.run(
        [sys.executable, "-m", "harness.command_line", "selftest", "--report-dir", str(report), *args],
        capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )  # fmt: skip
    assert (report / "selftest.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads((report / "selftest.json").read_text())


@pytest.mark.slow
def test_selftest_of_two_small_profiles_catches_both(tmp_path: Path) -> None:
    done, doc = _selftest(tmp_path, "--jobs", "2", "--profiles", str(DEVIATIONS / "sld-backup-not-dormant.yaml"),
                          "--profiles", str(DEVIATIONS / "e1-failover-splitting.yaml"))  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-2000:]
    assert out.strip().splitlines()[-1].startswith("selftest: OK: 100 % detection"), out[-2000:]
    runs = {r["name"]: r for r in doc["runs"]}
    assert set(runs) == {"clean-pair", "clean-sld", "sld-backup-not-dormant", "e1-failover-splitting"}
    assert doc["totals"] | {"wall_seconds": 0} == {"runs": 4, "expected_cells": 2, "caught": 2, "missed": 0,
                                                   "detection_rate": 1.0, "false_alarms": 0, "errors": 0,
                                                   "flakes": 0, "wall_seconds": 0}  # fmt: skip
    cells = {r: {c["row"]: c["outcome"] for c in run["cells"]} for r, run in runs.items()}
    assert cells["e1-failover-splitting"]["T107-02"] == "caught"
    assert cells["sld-backup-not-dormant"]["SLD-01"] == "caught"
    assert cells["clean-sld"]["T107-02"] == "out_of_scope"
    # every rule is exercised on a default target, or out of scope there with the reason
    rules = [i for i in IDS if i.startswith("RULE-")]
    assert {r: cells["clean-pair"][r] for r in rules} == dict.fromkeys(rules, "pass")
    sld_rules = {c["row"]: c for c in runs["clean-sld"]["cells"] if c["row"] in rules}
    assert {r for r, c in sld_rules.items() if c["outcome"] == "out_of_scope"} == {"RULE-04", "RULE-09"}
    assert all("DR sequence" in sld_rules[r]["reason"] for r in ("RULE-04", "RULE-09"))
    # the clean pair toured both its groups
    merged = json.loads((Path(runs["clean-pair"]["run_dir"]) / "results.json").read_text())
    assert merged["manifest"]["groups"] == ["rcg_sync_0", "rcg_periodic_1"] and merged["verdict"] == "conformant"
    assert re.search(r"^e1-failover-splitting +pair +not_conformant +T107-02 caught$", out, re.M), out
    assert "detection rate: 100.0 % (2/2 expected cells caught)" in out
    html = (tmp_path / "selftest" / "index.html").read_text()
    assert 'data-run="e1-failover-splitting"' in html and 'data-outcome="caught"' in html


@pytest.mark.slow
def test_selftest_with_a_wrong_answer_key_exits_1_naming_the_missed_row(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    wrong = profiles / "sld-wrong-key.yaml"
    shutil.copy(DEVIATIONS / "sld-backup-not-dormant.yaml", wrong)
    document = yaml.safe_load(wrong.read_text())
    assert document["expect"] == {"target": "sld", "fail": ["SLD-01"], "not_observed": []}
    document["expect"]["fail"] = ["SLD-02"]  # the deviation fails SLD-01, not SLD-02
    wrong.write_text(yaml.safe_dump(document))
    done, doc = _selftest(tmp_path, "--runs", "0", "--profiles", str(profiles / "*.yaml"))
    assert done.returncode == 1, done.stdout[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("selftest: FAILED:"), last
    assert "sld-wrong-key: SLD-02 (expected fail, got pass)" in last and "false alarm" in last, last
    assert "MISSED: sld-wrong-key SLD-02: expected fail, got pass: a false pass" in done.stdout
    assert doc["ok"] is False and doc["exit_code"] == 1
    assert [(m["run"], m["row"], m["got"]) for m in doc["missed"]] == [("sld-wrong-key", "SLD-02", "pass")]
    assert [(f["run"], f["row"], f["got"]) for f in doc["false_alarms"]] == [("sld-wrong-key", "SLD-01", "fail")]
    assert doc["totals"]["detection_rate"] == 0.0
