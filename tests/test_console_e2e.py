"""What `smis-harness run` shows: plain lines into a pipe, read while the run goes on; a live line redrawn in
place on a terminal (a pseudo-terminal here); pytest's own output only with `-- -v`. Every way ends with the
verdict table and the overall headline as the last line of stdout. One group under test (`one_group_pair`):
each row is decided once."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
import tty
from pathlib import Path

ROWS = ["T106-03", "T107-02"]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PYTEST_LINE = re.compile(r"test_conformance\.py|^[.FEsx]+(\s+\[\s*\d+%\])?$|^=+ .* =+$|\b\d+ passed\b|PASSED")


def _smis() -> list[str]:
    script = Path(sys.executable).with_name("smis-harness")
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PY_COLORS", "FORCE_COLOR")}
    return {**env, **extra}


def _document(report: Path) -> dict:
    return json.loads((report / "results.json").read_text())


def _table(lines: list[str]) -> dict[str, str]:
    """The verdict table's rows (after its header and rule), by row id."""
    start = next(i for i, line in enumerate(lines) if line.split()[:4] == ["row", "array", "verdict", "reason"])
    assert set(lines[start + 1]) == {"-", " "}, lines[start + 1]
    return {line.split()[0]: line for line in lines[start + 2 : -1]}


def test_into_a_pipe_plain_lines_as_they_happen_a_verdict_table_and_the_headline_last(
    tmp_path: Path, one_group_pair: Path
) -> None:
    report = tmp_path / "r"
    proc = subprocess.Popen([*_smis(), "run", "--config", str(one_group_pair), "--report-dir", str(report), *ROWS],
                            cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=_env(TERM="xterm"))  # fmt: skip
    assert proc.stdout is not None
    lines, running_when_decided = [], {}
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if re.match(r"T10\d-\d\d: PASS ", line):
                running_when_decided[line[:7]] = proc.poll() is None
        stderr = proc.stderr.read() if proc.stderr else ""
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    shown = "\n".join(lines)
    assert proc.returncode == 0, shown[-3000:] + stderr[-3000:]
    assert running_when_decided == dict.fromkeys(ROWS, True), "each line is there as it happens, not at exit"
    assert "\r" not in shown + stderr and "\x1b" not in shown + stderr
    document = _document(report)
    assert lines[-1] == document["headline"]
    assert stderr.rstrip().splitlines()[-1] == f"results: {report / 'results.json'}"
    for row in ROWS:
        decided = [line for line in lines if line.startswith(f"{row}: ")]
        assert decided[-1].startswith(f"{row}: PASS "), decided
        assert len([d for d in decided if re.match(rf"{row}: (PASS|FAIL|ERROR|SKIPPED|NOT OBSERVED) ", d)]) == 1
    # the harness's own texts, each a line of its own (tests and people wait for them)
    for text in ("T107-02: stage failover (in progress)", "  waiting for stage failover (limit 60s)",
                 "  T106-03: waiting for 3 settled samples", "teardown: the arrays show stage failover"):  # fmt: skip
        assert any(line.startswith(text) for line in lines), text
    table = _table(lines)
    assert set(table) == set(ROWS) and all(" PASS " in line for line in table.values()), table
    assert [line for line in lines if PYTEST_LINE.search(line)] == [], "pytest's own output is hidden"
    assert "warnings summary" not in shown and "generated xml file" not in shown


def _run_on_a_terminal(report: Path, cwd: Path, columns: int, config: Path) -> tuple[int, str, str]:
    """Run with stdout on a pseudo-terminal `columns` wide (raw: no newline translation), stderr a pipe."""
    master, slave = os.openpty()
    tty.setraw(slave)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen([*_smis(), "run", "--config", str(config), "--report-dir", str(report), *ROWS], cwd=cwd,
                            stdout=slave,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env(TERM="xterm"))  # fmt: skip
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            screen += chunk
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        proc.wait(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, screen.decode(), stderr


def test_on_a_terminal_each_row_has_a_live_line_redrawn_in_place_then_its_final_line(
    tmp_path: Path, one_group_pair: Path
) -> None:
    report, columns = tmp_path / "r", 90
    code, screen, stderr = _run_on_a_terminal(report, tmp_path, columns, one_group_pair)
    assert code == 0, screen[-3000:] + stderr[-3000:]
    document = _document(report)
    # redrawn in place: carriage return and erase, the same row's line several times with the time going on
    live = [piece for piece in screen.split("\r\x1b[K") if piece.startswith("T107-02 stage failover (in progress)")]
    assert len(live) >= 3 and len({p.split("  ")[1] for p in live}) >= 2, live
    assert any("waiting for stage failover" in p for p in live), live
    assert all("\n" not in p and len(p) < columns for p in live), "a live line never wraps"
    # on the screen, once every redraw is applied: the final lines, the table, the headline last
    final = [ANSI.sub("", line.rsplit("\r", 1)[-1]) for line in screen.split("\n")]
    final = [line for line in final if line.strip()]
    assert final[-1] == document["headline"]
    for row in ROWS:
        decided = [line for line in final if line.startswith(f"{row}: ")]
        assert len(decided) == 1 and decided[0].startswith(f"{row}: PASS ") and len(decided[0]) <= columns
    table = _table(final)
    assert set(table) == set(ROWS) and all(len(line) <= columns for line in table.values()), table
    assert not any("test_conformance.py" in line or re.fullmatch(r"\.+.*", line) for line in final), final
    assert "  stage failover: waiting for" not in screen, "no heartbeat lines: the live line says it"
    assert stderr.rstrip().splitlines()[-1] == f"results: {report / 'results.json'}"


def test_dash_dash_v_shows_pytests_own_output_beside_the_console(tmp_path: Path) -> None:
    report = tmp_path / "r"
    command = [*_smis(), "run", "--report-dir", str(report), "T106-03", "--", "-v"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
                          env=_env())  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert any("test_conformance.py::" in line and "PASSED" in line for line in lines), proc.stdout
    assert any("test session starts" in line for line in lines) and any("1 passed" in line for line in lines)
    # the default pair tours its two groups together: each group's lines are named by it
    for group in ("rcg_sync_0", "rcg_periodic_1"):
        assert any(line.startswith(f"{group} T106-03: PASS ") for line in lines), "the harness's lines are still there"
        assert any(line == f"  {group} T106-03: waiting for 3 settled samples" for line in lines), "each on its own"
    assert set(_table(lines)) == {"T106-03"} and lines[-1] == _document(report)["headline"]
    assert "\r" not in proc.stdout and "\x1b" not in proc.stdout
