"""The run's console (harness.console) on a fake stream: plain lines off a terminal, one live line per row
redrawn in place on one, the verdict table and the headline last, everything through the redaction."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from harness.console import ERASE, Console, LineDisplay, verdict_table

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Result:
    id: str
    verdict: str
    reason: str


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


DOCUMENT = {
    "headline": "NOT CONFORMANT: 1 of 3 rows in scope failed; 32 out of scope",
    "overall": {"problems": ["pytest could not collect x: boom"]},
    "rows": [
        {"id": "T106-03", "verdict": "pass", "in_scope": True, "array": ["primary", "secondary"],
         "reason": "primary: SyncStatus Synced, CopyState Synchronized (4) " + "x" * 200},
        {"id": "T107-02", "verdict": "fail", "in_scope": True, "array": "secondary",
         "reason": "secondary: CopyState Split (6) where the manual says FailedOver (10) " + "y" * 200},
        {"id": "T107-05", "verdict": "not_observed", "in_scope": True, "array": "primary", "reason": "no sample"},
        {"id": "T107-09", "verdict": "skipped", "in_scope": False, "array": None, "reason": "not run: not selected"},
    ],
}  # fmt: skip


def events(display: LineDisplay | Console) -> None:
    """What a journey and a run say for one row."""
    display.row_started("T107-02", "failover", True)
    display.note("stage natural -> failover")
    display.note("  on secondary: setrcopygroup failover -f -waittask rcg.r1 (time limit 60s)")
    display.waiting("stage failover", 0.0, 60)
    display.waiting("primary: group Started", 5.2, 60, by="stage failover")
    display.waiting("3 settled samples", 0.0, None, by="T107-02")
    display.waiting("3 identical samples of secondary at stage failover", 5.0, 62.0, by="T107-02")
    display.row_decided(Result("T107-02", "fail", "secondary: CopyState Split (6)"))


PLAIN_LINES = [
    "T107-02: stage failover (in progress)",
    "stage natural -> failover",
    "  on secondary: setrcopygroup failover -f -waittask rcg.r1 (time limit 60s)",
    "  waiting for stage failover (limit 60s)",
    "  stage failover: waiting for primary: group Started (5s elapsed, 55s left)",
    "  T107-02: waiting for 3 settled samples",
    "  T107-02: waiting for 3 identical samples of secondary at stage failover (5s elapsed, 57s left)",
    "T107-02: FAIL secondary: CopyState Split (6)",
]


def test_line_display_says_what_the_harness_always_printed() -> None:
    lines: list[str] = []
    events(LineDisplay(lines.append))
    assert lines == PLAIN_LINES
    LineDisplay(lines.append).row_decided(Result("T107-05", "not_observed", "no sample"))
    assert lines[-1] == "T107-05: NOT OBSERVED no sample"


def test_off_a_terminal_every_event_is_one_plain_line_and_the_headline_comes_last() -> None:
    out, err = io.StringIO(), io.StringIO()
    console = Console(out, err=err)
    assert not console.live  # a StringIO is no terminal
    events(console)
    assert out.getvalue().splitlines() == PLAIN_LINES
    console.finish(DOCUMENT, "results: /r/results.json")
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[-1] == DOCUMENT["headline"]
    assert err.getvalue() == "results: /r/results.json\n"
    table = lines[len(PLAIN_LINES) :]
    assert table[0].split() == ["row", "array", "verdict", "reason"] and set(table[1]) == {"-", " "}
    rows = {line.split()[0]: line for line in table[2:-2]}
    assert set(rows) == {"T106-03", "T107-02", "T107-05"}, "rows out of scope are not listed"
    assert rows["T106-03"].split()[1:4] == ["primary,", "secondary", "PASS"]
    assert len(rows["T106-03"]) <= 120 and rows["T106-03"].endswith("...")  # a PASS reason is cut
    assert rows["T107-02"].endswith("y" * 200), "in a log, a failure's reason stays whole"
    assert "NOT OBSERVED" in rows["T107-05"] and rows["T107-05"].endswith("no sample")
    assert table[-2] == "problem: pytest could not collect x: boom"


def test_plain_lines_go_through_pytests_writer_while_attached() -> None:
    out, through = io.StringIO(), []
    console = Console(out, shows_pytest=True, live=None)
    console.attach(through.append)
    console.row_started("T106-03", "natural", False)
    console.detach()
    console.note("after pytest")
    assert through == ["T106-03: stage natural"] and out.getvalue() == "after pytest\n"


def test_on_a_terminal_one_live_line_per_row_is_redrawn_in_place_then_replaced_by_its_final_line() -> None:
    out, clock = io.StringIO(), Clock()
    console = Console(out, err=io.StringIO(), live=True, width=70, clock=clock, refresh=0)
    console.note("preflight passed: group rcg natural on every array")  # no row yet: a line of its own
    console.row_started("T107-02", "failover", True)
    assert out.getvalue().endswith(ERASE + "T107-02 stage failover (in progress)  0s")
    # a step of the row: a line of its own above the live line (free text is never hidden), which comes back
    clock.now += 1
    console.note("  on secondary: setrcopygroup failover -f -waittask rcg.r1 (time limit 60s)")
    assert out.getvalue().endswith(ERASE + "  on secondary: setrcopygroup failover -f -waittask rcg.r1 (time limit "
                                   "60s)\n" + ERASE + "T107-02 stage failover (in progress)  1s")  # fmt: skip
    console.waiting("stage failover", 0.0, 60)
    clock.now += 3
    console.tick()
    # cut to one column less than the width: a full line would wrap, and the carriage return reach only its end
    shown = out.getvalue().rsplit(ERASE, 1)[1]
    assert shown == "T107-02 stage failover (in progress)  3s / 60s  waiting for stage ..." and len(shown) == 69
    console.tick()  # nothing changed: nothing drawn
    assert out.getvalue().count("3s / 60s") == 1
    console.row_decided(Result("T107-02", "pass", "secondary: Role Primary-Rev, CopyState FailedOver (10) " * 3))
    screen = out.getvalue()
    final = screen.rsplit(ERASE, 1)[1]
    assert final.startswith("T107-02: PASS secondary: Role Primary-Rev") and final.endswith("...\n")
    assert len(final) == 71  # cut to the width, and the line ends
    assert screen.startswith("preflight passed: group rcg natural on every array\n")
    # nothing left on the live line: a note now is a line of its own again
    console.note("teardown: group back in its natural state")
    assert out.getvalue().endswith("...\nteardown: group back in its natural state\n")
    drawn = [piece for line in out.getvalue().split("\n") for piece in line.split(ERASE)]
    assert all(len(piece) <= 69 for piece in drawn if piece.startswith("T107-02 stage")), drawn


def test_a_wait_outside_a_row_is_live_too_and_a_heartbeat_gives_its_limit() -> None:
    out, clock = io.StringIO(), Clock()
    console = Console(out, live=True, width=100, clock=clock, refresh=0)
    console.note("teardown: the arrays show stage failover; returning rcg to natural")
    console.waiting("stage recover", 0.0, 120)
    assert out.getvalue().endswith(ERASE + "0s / 120s  waiting for stage recover")
    clock.now += 7
    console.waiting("primary: group Started with volumes Synced", 7.0, 120, by="stage recover")
    heartbeat = "7s / 120s  stage recover: waiting for primary: group Started with volumes Synced"
    assert out.getvalue().endswith(ERASE + heartbeat)
    console.note("stage recover -> restore")  # the wait is over: the live line goes, the note stays
    assert out.getvalue().endswith("Synced" + ERASE + "stage recover -> restore\n")
    console.row_started("T106-03", "natural", False)
    console.waiting("3 settled samples", 0.0, None, by="T106-03")  # the row's own wait: its id once
    assert out.getvalue().endswith(ERASE + "T106-03 stage natural  0s  waiting for 3 settled samples")
    console.settle()  # the row's test ended undecided (a crash, an interrupt)
    assert out.getvalue().endswith(ERASE) and console.live_text() is None


def test_redraws_wait_for_the_refresh_interval() -> None:
    out, clock = io.StringIO(), Clock()
    console = Console(out, live=True, width=100, clock=clock, refresh=10)
    console._start_ticker = lambda: None  # type: ignore[method-assign]  # the test draws by hand
    console.row_started("T107-02", "failover", True)
    console.waiting("x", 1.0, 60)  # a heartbeat 1 s after the last draw: not yet
    assert "waiting for x" not in out.getvalue()
    clock.now += 10
    console.waiting("x", 11.0, 60)
    assert out.getvalue().endswith("11s / 60s  waiting for x")


def test_every_text_written_goes_through_the_redaction() -> None:
    secret = "s3cr3t-pw"
    for live in (False, True):
        out, err = io.StringIO(), io.StringIO()
        console = Console(out, err=err, live=live, width=200, refresh=0)
        console.redact = lambda text: text.replace(secret, "**********")
        console.row_started(f"T107-02 {secret}", "failover", True)
        console.note(f"  on secondary: login {secret}")
        console.waiting(f"stage {secret}", 0.0, 60, by=secret)
        console.row_decided(Result("T107-02", "error", f"login failed with {secret}"))
        document = {**DOCUMENT, "headline": f"ERROR: {secret}",
                    "rows": [{**DOCUMENT["rows"][1], "reason": f"bad {secret}"}]}  # fmt: skip
        console.finish(document, f"results: /{secret}/results.json")
        assert secret not in out.getvalue() + err.getvalue(), live
        assert out.getvalue().splitlines()[-1] == "ERROR: **********"


def test_the_table_cuts_every_reason_to_the_terminal_width_and_names_an_empty_scope() -> None:
    lines = verdict_table(DOCUMENT["rows"], 70, cut_all=True)
    assert all(len(line) <= 70 for line in lines) and len(lines) == 5
    assert [line[29:41].strip() for line in lines[2:]] == ["PASS", "FAIL", "NOT OBSERVED"]
    assert verdict_table([DOCUMENT["rows"][3]], 70) == ["no row in scope"]
