"""SIGINT and SIGTERM during a run: new steps stop, teardown runs, every result file is written, and the
exit code says what happened (4 when the arrays were left out of their natural state). One group under test
(`one_group_pair`), so the run's own files are in its report dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _smis() -> list[str]:
    script = Path(sys.executable).with_name("smis-harness")
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]


def _start(report: Path, cwd: Path, config: Path, *select: str, env: dict[str, str] | None = None,
           ) -> subprocess.Popen[str]:  # fmt: skip
    return subprocess.Popen([*_smis(), "run", "--config", str(config), "--report-dir", str(report), *select],
                            cwd=cwd, text=True, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)  # fmt: skip


def _signal_when_sent(proc: subprocess.Popen[str], report: Path, command: str,
                     sig: signal.Signals) -> tuple[str, str]:  # fmt: skip
    """Send `sig` once `command` is in the run's transcript; the run's (stdout, stderr) when it has ended."""
    try:
        _wait_for_sent(proc, report / "transcript.jsonl", command)
        proc.send_signal(sig)
        return proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()


def _wait_for_sent(proc: subprocess.Popen[str], transcript: Path, command: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if transcript.exists() and command in transcript.read_text():
            return
        time.sleep(0.02)
    raise AssertionError(f"{command!r} was never sent (run ended: {proc.poll()})")


@pytest.mark.parametrize(
    ("sig", "code", "during"),
    [(signal.SIGTERM, 143, "failover"), (signal.SIGINT, 130, "failover"), (signal.SIGINT, 130, "recover"),
     (signal.SIGTERM, 143, "recover")],
)  # fmt: skip
def test_a_signal_during_a_dr_command_tears_down_and_writes_every_result_file(
    tmp_path: Path, sig: signal.Signals, code: int, during: str, one_group_pair: Path
) -> None:
    report = tmp_path / "r"
    proc = _start(report, tmp_path, one_group_pair)
    stdout, stderr = _signal_when_sent(proc, report, f"setrcopygroup {during}", sig)
    for name in ("results.json", "junit.xml", "index.html", "transcript.jsonl", "observations.jsonl"):
        assert (report / name).is_file(), f"{name} missing\n{stderr[-3000:]}"
    document = json.loads((report / "results.json").read_text())
    final = document["final_state"]
    # teardown planned from what the arrays showed (failover gone through or not), and got them back
    assert final["natural"] is True and proc.returncode == code, (final, stdout[-3000:])
    assert document["verdict"] == "error" and sig.name in document["headline"], document["headline"]
    assert document["overall"]["interrupted_by"] == sig.name
    undecided = [r for r in document["rows"] if r["in_scope"] and r["reason"].startswith("not decided")]
    assert undecided and all(sig.name in r["reason"] for r in undecided)
    assert not final["natural"] or final["commands_to_run"] == []
    assert stdout.strip().splitlines()[-1] == document["headline"]
    sent = [json.loads(line)["command"] for line in (report / "transcript.jsonl").read_text().splitlines()]
    assert any(c.startswith(f"setrcopygroup {during}") for c in sent)
    assert "Traceback" not in stderr


BREAKS_ON_INTERRUPT = """
def pytest_keyboard_interrupt(excinfo):
    raise SystemError("AST constructor recursion depth mismatch (before=84, after=22)")
"""


def test_pytest_failing_to_report_an_interrupt_still_leaves_the_result_files(tmp_path: Path,
                                                                             one_group_pair: Path) -> None:  # fmt: skip
    """Once in CI, pytest's own report of the interrupt raised SystemError out of pytest.main (CPython's AST
    parser, formatting the traceback): the run must still write its files and say so without a traceback."""
    (tmp_path / "breaks_on_interrupt.py").write_text(BREAKS_ON_INTERRUPT)
    report = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = _start(report, tmp_path, one_group_pair, "--", "-p", "breaks_on_interrupt", env=env)
    _, stderr = _signal_when_sent(proc, report, "setrcopygroup failover", signal.SIGTERM)
    for name in ("results.json", "junit.xml", "index.html", "transcript.jsonl", "observations.jsonl"):
        assert (report / name).is_file(), f"{name} missing\n{stderr[-3000:]}"
    document = json.loads((report / "results.json").read_text())
    assert document["verdict"] == "error" and proc.returncode == 143, (document["headline"], stderr[-2000:])
    assert "pytest itself failed after the run (SystemError" in stderr and "Traceback" not in stderr, stderr[-3000:]


def test_a_second_signal_skips_teardown_and_says_what_to_run_by_hand(tmp_path: Path, one_group_pair: Path) -> None:
    report, out, err = tmp_path / "r", tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout_file, err.open("w") as stderr_file:
        proc = subprocess.Popen([*_smis(), "run", "--config", str(one_group_pair), "--report-dir", str(report)],
                                cwd=tmp_path, text=True,
                                stdout=stdout_file, stderr=stderr_file, stdin=subprocess.DEVNULL)  # fmt: skip
        try:
            _wait_for_sent(proc, report / "transcript.jsonl", "setrcopygroup failover")
            proc.send_signal(signal.SIGINT)
            _wait_for_sent(proc, out, "teardown: the arrays show", timeout=60)  # progress lines go to the terminal
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    stdout, stderr = out.read_text(), err.read_text()
    document = json.loads((report / "results.json").read_text())
    final = document["final_state"]
    assert proc.returncode == 4, stderr[-3000:]
    assert final["natural"] is False and "teardown skipped" in final["problems"][0]
    assert final["commands_to_run"] and "setrcopygroup" in " ".join(final["commands_to_run"])
    assert "TEARDOWN SKIPPED" in stdout + stderr
    assert "NATURAL STATE" in document["headline"] and stdout.strip().splitlines()[-1] == document["headline"]
    assert "Traceback" not in stderr
