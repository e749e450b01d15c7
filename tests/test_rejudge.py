"""A recorded run judged again offline (`smis-harness rejudge`, `bundle --verify --rejudge`).

One run against the simulated pair with the E1 deviation (T107-02 FAILs: ProgressStatus Splitting (10)
where the manual says Failing Over (11)) is recorded; rejudging it with this harness gives every verdict,
reason, observed value and cell again, from observations rebuilt from the recording alone. Changing the
verdict logic in-process changes exactly the rows it should. A bundle re-judged checks out untouched and
fails once a verdict in its results.json was edited (even with the hashes and the report made to match).
Secrets the run's operations carried never reach recording/.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import rules
from harness import verdicts as verdict_logic
from harness.overall import judge_run
from harness.rejudge import ELAPSED, RunFiles, rejudge, run_rejudge
from harness.report.bundle import make_bundle
from harness.report.render import render_run
from harness.result_files import overall_fields
from tests.test_run_command import DEVIATIONS, _real_config, lab_pair, no_traceback, output, smis

__all__ = ["lab_pair"]  # the fixture, shared with test_run_command

SPLITTING, FAILING_OVER = 10, 11


@pytest.fixture(scope="module")
def e1_run(tmp_path_factory: pytest.TempPathFactory, one_group_pair: Path) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("e1")
    report = base / "run"
    proc = smis("run", "--config", str(one_group_pair), "--deviations", str(DEVIATIONS / "e1-failover-splitting.yaml"),
                "--report-dir", str(report), cwd=base)  # fmt: skip
    assert proc.returncode == 1, output(proc)  # not conformant: T107-02
    yield report


def rows(path: Path) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in json.loads(path.read_text())["rows"]}


def test_the_recording_is_written_as_the_run_goes_and_stays_small(e1_run: Path) -> None:
    recording = e1_run / "recording"
    samples = [json.loads(line) for line in (recording / "samples.jsonl").read_text().splitlines()]
    operations = [json.loads(line) for line in (recording / "cim.jsonl").read_text().splitlines()]
    observations = (e1_run / "observations.jsonl").read_text().splitlines()
    assert samples[0] == {"kind": "recording", "format": 1}
    assert len([s for s in samples if s["kind"] == "sample"]) == len(observations), "one sample line per observation"
    ops = {o["op"] for o in operations}
    assert {"References", "Associators", "GetInstance", "EnumerateInstances"} <= ops, ops  # preflight too
    assert any("same_as" in o for o in operations), "a repeated answer is written once"
    size = sum(p.stat().st_size for p in recording.iterdir())
    assert size < 6_000_000, f"recording/ is {size} bytes"
    events = json.loads((e1_run / "results.json").read_text())["events"]
    judged = [e["row"] for e in events if e["kind"] == "judge"]
    assert "T107-02" in judged and "RULE-09" in judged and len(judged) == len(set(judged))
    assert any(e["kind"] == "leg" for e in events)


def test_rejudging_an_unchanged_harness_gives_every_verdict_and_value_again(e1_run: Path, tmp_path: Path) -> None:
    proc = smis("rejudge", str(e1_run), "--out", str(tmp_path / "again"), cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert "all as recorded" in proc.stdout and "every verdict as recorded" in proc.stdout, proc.stdout
    before, after = rows(e1_run / "results.json"), rows(tmp_path / "again" / "results.json")
    assert list(before) == list(after)
    for row_id, row in before.items():
        again = after[row_id]
        assert again["verdict"] == row["verdict"], row_id
        assert ELAPSED.sub("<t>", again["reason"]) == ELAPSED.sub("<t>", row["reason"]), row_id
        assert (again["observed"], again["cells"], again["evidence"]) == (row["observed"], row["cells"],
                                                                           row["evidence"]), row_id  # fmt: skip
    t107_02 = after["T107-02"]
    assert t107_02["verdict"] == "fail" and "observed Splitting (10)" in t107_02["reason"], t107_02
    [progress] = [c for c in t107_02["cells"] if c["column"] == "ProgressStatus"]
    assert progress["outcome"] == "fail" and progress["expected"] == "Failing Over (11)", progress
    assert t107_02["observed"] == before["T107-02"]["observed"] and t107_02["observed"]["seq"] == progress["seq"]
    summary = json.loads((tmp_path / "again" / "rejudge.json").read_text())
    assert summary["verdict_changes"] == [] and summary["observations"]["differ_from_recorded"] == []
    recorded = (e1_run / "observations.jsonl").read_text().splitlines()
    rebuilt = (tmp_path / "again" / "observations.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in rebuilt] == sorted((json.loads(x) for x in recorded), key=lambda o: o["seq"])
    assert (tmp_path / "again" / "index.html").is_file()


def test_rejudging_with_changed_verdict_logic_lists_the_rows_that_changed(
    e1_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    same = verdict_logic._same

    def reads_e1_the_other_way(observed: Any, expected: int) -> bool:  # Splitting taken for Failing Over
        return same(observed, expected) or (expected == FAILING_OVER and observed == SPLITTING)

    monkeypatch.setattr(verdict_logic, "_same", reads_e1_the_other_way)
    monkeypatch.setitem(rules.CHECKS, "RULE-03", lambda obs, derived: ["a rule made stricter"])
    printed: list[str] = []
    assert run_rejudge([str(e1_run)], str(tmp_path / "again"), printed.append) == 1
    changes = [line for line in printed if line.startswith(("T1", "RULE-"))]
    assert len(changes) == 2, printed
    assert changes[0].startswith("T107-02: fail -> pass: secondary: ") and "Failing Over (11) as expected" in changes[0]
    assert changes[1].startswith("RULE-03: pass -> fail: ") and "a rule made stricter" in changes[1]
    assert rows(tmp_path / "again" / "results.json")["T107-02"]["verdict"] == "pass"
    assert json.loads((tmp_path / "again" / "results.json").read_text())["verdict"] == "not_conformant"  # RULE-03


def test_a_settle_count_the_recording_cannot_serve_is_error_not_a_guess(e1_run: Path) -> None:
    files = dict(RunFiles.from_dir(e1_run).files)
    document = json.loads(files["results.json"])
    document["manifest"]["config"]["polling"]["settle_samples"] = 50  # the configuration is an input too
    files["results.json"] = json.dumps(document).encode()
    result = rejudge(RunFiles("changed", files))
    changed = {c.row: c for c in result.changes}
    t107_03 = changed["T107-03"]
    assert (t107_03.was, t107_03.now) == ("pass", "error")
    assert t107_03.reason.startswith("cannot be decided from the recording: its samples of stage failover")
    assert "T107-02" not in changed, "in-progress rows do not wait for samples to agree"


def test_bundle_verify_rejudge_passes_untouched_and_fails_on_an_edited_verdict(e1_run: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "run.tar.gz"
    make_bundle(e1_run, bundle)
    with tarfile.open(bundle) as archive:
        assert {"run/recording/cim.jsonl", "run/recording/samples.jsonl"} <= set(archive.getnames())
    proc = smis("bundle", "--verify", str(bundle), "--rejudge", cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert "rejudge: every bundled verdict is the one its recording gives" in proc.stdout

    # a forger turns T107-02 into a pass, makes the overall verdict, the report and the hashes agree with it
    forged = tmp_path / "forged" / "run"
    shutil.copytree(e1_run, forged, ignore=shutil.ignore_patterns("rejudged"))
    document = json.loads((forged / "results.json").read_text())
    for row in document["rows"]:
        if row["id"] == "T107-02":
            row.update(verdict="pass", reason="secondary: as expected")
            row["cells"] = [{**c, "outcome": "pass"} for c in row["cells"]]
    document.update(overall_fields(judge_run(document["rows"], final_states=[document["final_state"]])))
    (forged / "results.json").write_text(json.dumps(document, indent=2))
    render_run(forged)
    make_bundle(forged, tmp_path / "forged.tar.gz")
    plain = smis("bundle", "--verify", str(tmp_path / "forged.tar.gz"), cwd=tmp_path)
    assert plain.returncode == 0, output(plain)  # every hash and the stated verdict agree
    proc = smis("bundle", "--verify", str(tmp_path / "forged.tar.gz"), "--rejudge", cwd=tmp_path)
    assert proc.returncode == 1, output(proc)
    assert "rejudge: T107-02: bundled pass, its recording gives fail: secondary: ProgressStatus expected" in proc.stdout
    assert "MISMATCH" in proc.stdout


def test_usage_errors_are_exit_2_with_a_message(e1_run: Path, tmp_path: Path) -> None:
    unrecorded = tmp_path / "unrecorded"
    shutil.copytree(e1_run, unrecorded, ignore=shutil.ignore_patterns("recording", "rejudged"))
    for args, phrase in (
        (["rejudge", str(unrecorded)], "no recording"),
        (["rejudge", str(tmp_path / "absent")], "no such directory"),
        (["rejudge", str(tmp_path)], "not a finished run directory"),
        (["bundle", str(e1_run), "--rejudge"], "--rejudge with --verify"),
    ):
        proc = smis(*args, cwd=tmp_path)
        assert proc.returncode == 2 and phrase in proc.stderr, output(proc)
        no_traceback(proc)
    make_bundle(unrecorded, tmp_path / "unrecorded.tar.gz")
    proc = smis("bundle", "--verify", str(tmp_path / "unrecorded.tar.gz"), "--rejudge", cwd=tmp_path)
    assert proc.returncode == 1 and "cannot judge the bundled run again" in proc.stdout, output(proc)


LEAKY_OPERATIONS = '''
import os

import pytest
from pywbem import CIMInstanceName

from harness.plugin import PLUGIN


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """CIM operations whose arguments (and the provider's error text) carry the passwords, as a harness bug
    or a hostile provider could: the recorder records them, the recording must not show them."""
    if "T106-03" not in item.nodeid:
        return
    run = item.config.stash[PLUGIN].start()
    cim = run.journey.connections.arrays["primary"].cim.conn
    for variable in ("SMIS_TEST_PRIMARY_CIM_PW", "SMIS_TEST_PRIMARY_SSH_PW"):
        secret = os.environ[variable]
        for call in (lambda: cim.EnumerateInstances("TPD_" + secret),
                     lambda: cim.GetInstance(CIMInstanceName("TPD_StorageVolume", {"DeviceID": secret},
                                                             namespace="root/tpd"))):
            try:
                call()
            except Exception:
                pass
'''


def test_no_secret_reaches_the_recording_even_when_operations_carry_it(tmp_path: Path, lab_pair: dict) -> None:
    config, env = _real_config(tmp_path, lab_pair, disruptive=False)
    (tmp_path / "leaky_operations.py").write_text(LEAKY_OPERATIONS)
    report = tmp_path / "r"
    proc = smis("run", "--config", str(config), "--report-dir", str(report), "T106-03", "--", "-p",
                "leaky_operations", cwd=tmp_path, env={**env, "PYTHONPATH": str(tmp_path)})  # fmt: skip
    assert proc.returncode in (0, 3), output(proc)
    recording = report / "recording"
    operations = (recording / "cim.jsonl").read_text()
    assert operations.count("**********") >= 4, "the secrets reached the recorder, and were masked"
    secrets = [v for v in env.values() if len(v) >= 3]
    assert secrets
    leaks = [(str(p), s) for p in report.rglob("*") if p.is_file() for s in secrets if s.encode() in p.read_bytes()]
    assert not leaks, leaks
    again = smis("rejudge", str(report), cwd=tmp_path)
    assert again.returncode == 0, output(again)  # masked values do not stop the run being judged again

