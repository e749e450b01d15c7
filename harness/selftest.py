"""`smis-harness selftest`: does the harness catch what the simulated provider gets wrong on purpose?

Runs the clean simulated targets (the pair, with every group its target file lists, and the SLD trio)
and every deviation profile (fixtures/deviations/*.yaml) on the target its answer key names
(`expect: target`), each as its own `smis-harness run` process, and compares each run's in-scope row
verdicts with the answer key (`expect: fail / not_observed`; every other row in scope PASS):

* a row the key lists under `fail` that is not FAIL is *missed* (a PASS there is a false pass), the same
  for `not_observed`; a listed row that was caught is *caught*;
* any other in-scope row of a profile run that is not PASS is a *false alarm*;
* any in-scope row of a clean run that is not PASS is a *flake* (`--runs K` runs each clean target K
  times; a conformant simulated provider gives no reason for anything but PASS);
* a run that crashed, timed out, was interrupted, left the arrays out of their natural state, ended
  with the overall verdict `error` or has an ERROR row in scope is an *error*: none of its expected
  cells counts as caught.

Exit 0 only with every expected cell caught, no false alarm, no error and no flake; 1 otherwise (the
reason is the last line); 2 for usage errors (no such profile directory, a profile that does not load
or has no answer key, a report directory in use), before any run starts.

The comparison (`judge_run`) is pure: it reads a results.json document and the answer key.
"""

from __future__ import annotations

import glob as globbing
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from harness.child_runs import (
    KILL_GRACE,
    RUN_TIMEOUT,
    Children,
    harness_command,
    last_line,
    read_results,
    signals_to,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
TARGETS = ("pair", "sld")
NO_PROFILES = ("", "none", "NONE")
CAUGHT, MISSED, FALSE_ALARM, FLAKE, ERROR, PASS, OUT = (
    "caught", "missed", "false_alarm", "flake", "error", "pass", "out_of_scope")  # fmt: skip
OUTCOME_LABELS = {CAUGHT: "caught", MISSED: "MISSED", FALSE_ALARM: "FALSE ALARM", FLAKE: "FLAKE", ERROR: "ERROR",
                  PASS: "pass", OUT: "out of scope"}  # fmt: skip


class SelftestUsageError(ValueError):
    """Bad input to the self-test; the message names the option or file and the cause."""


# --------------------------------------------------------------------------- what runs


@dataclass(frozen=True)
class Key:
    """An answer key: the rows that must FAIL, those that must be NOT_OBSERVED, those the deviation leaves
    unexercised (SKIPPED); every other row in scope PASS."""

    fail: tuple[str, ...] = ()
    not_observed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    def expected(self, row_id: str) -> str:
        if row_id in self.fail:
            return "fail"
        if row_id in self.not_observed:
            return "not_observed"
        if row_id in self.skipped:
            return "skipped"
        return "pass"

    @property
    def rows(self) -> tuple[str, ...]:
        return (*self.fail, *self.not_observed)


@dataclass(frozen=True)
class Case:
    """One `smis-harness run` of the self-test."""

    name: str  # its directory under the self-test's report dir
    kind: str  # "clean" or "profile"
    target: str  # "pair" or "sld"
    key: Key = Key()
    profile: Path | None = None
    repeat: int = 1  # which of the --runs repetitions of a clean target
    groups: tuple[str, ...] = ()  # the groups under test when not the target's own (`expect.groups`)

    def arguments(self, config: Path | None = None) -> list[str]:
        """`config`: the target written with `groups` (see `with_groups`)."""
        args = ["--config", str(config or target_file(self.target))]
        if self.profile is not None:
            args += ["--deviations", str(self.profile)]
        return args


def with_groups(target: str, groups: Sequence[str], path: Path) -> Path:
    """The packaged simulated target with other groups under test, written to `path`."""
    import yaml

    document = yaml.safe_load(target_file(target).read_text())
    document["groups"] = list(groups)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def first_group(target: str) -> tuple[str, ...]:
    """A profile runs on the target's first group unless its key names others: one group shows what the
    provider does wrong (the clean targets tour every group of the target)."""
    import yaml

    groups = yaml.safe_load(target_file(target).read_text()).get("groups") or []
    return tuple(groups[:1])


def target_file(target: str) -> Path:
    """The packaged simulated target (identical to fixtures/mock-<target>.yaml)."""
    return Path(str(resources.files("harness") / "targets" / f"mock-{target}.yaml"))


def default_profiles() -> str:
    """fixtures/deviations/*.yaml of the checkout the harness runs from, else of the current directory."""
    checkout = Path(__file__).resolve().parents[1] / "fixtures" / "deviations"
    base = checkout if checkout.is_dir() else Path("fixtures") / "deviations"
    return str(base / "*.yaml")


def find_profiles(patterns: Sequence[str]) -> list[Path]:
    """The profile files the --profiles values name (globs, files or directories; "" or "none": none)."""
    found: list[Path] = []
    for pattern in patterns:
        if pattern.strip() in NO_PROFILES:
            continue
        path = Path(pattern).expanduser()
        if path.is_dir():
            matches = sorted(path.glob("*.yaml"))
            if not matches:
                raise SelftestUsageError(f"--profiles {pattern}: the directory holds no *.yaml profile")
        elif globbing.has_magic(pattern):
            parent = _literal_parent(path)
            if not parent.is_dir():
                raise SelftestUsageError(f"--profiles {pattern}: no such profile directory: {parent}")
            matches = sorted(Path(p) for p in globbing.glob(str(path)) if Path(p).is_file())
            if not matches:
                raise SelftestUsageError(f"--profiles {pattern}: no profile matches it in {parent}")
        elif path.is_file():
            matches = [path]
        elif not path.parent.is_dir():
            raise SelftestUsageError(f"--profiles {pattern}: no such profile directory: {path.parent}")
        else:
            raise SelftestUsageError(f"--profiles {pattern}: no such profile file")
        found += [m for m in matches if m.resolve() not in {f.resolve() for f in found}]
    return found


def _literal_parent(path: Path) -> Path:
    parts = []
    for part in path.parts:
        if globbing.has_magic(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def load_profile(path: Path) -> tuple[str, Key, tuple[str, ...]]:
    """(target, key) of a profile: its deviations checked in full as a run would, its `expect:` required."""
    from harness.deviation_format import DeviationError, load_deviations, load_expect

    try:
        load_deviations(path)
        expect = load_expect(path)
    except DeviationError as exc:
        text = str(exc)
        where = "" if text.startswith(str(path)) else f"{path}: "
        raise SelftestUsageError(f"profile {where}{text}") from None
    if expect is None:
        raise SelftestUsageError(
            f"profile {path}: no answer key; give it a top-level `expect:` (target: pair|sld, fail: [...], "
            "not_observed: [...])"
        )
    if not expect.fail and not expect.not_observed:
        raise SelftestUsageError(f"profile {path}: `expect:` lists no row under fail or not_observed: nothing to catch")
    key = Key(tuple(expect.fail), tuple(expect.not_observed), tuple(expect.skipped))
    return expect.target, key, tuple(expect.groups or ())


def plan_cases(profiles: Sequence[Path], runs: int) -> list[Case]:
    """The clean targets `runs` times each, then every profile; longest first (pair runs tour the DR sequence)."""
    cases: list[Case] = []
    for repeat in range(1, runs + 1):
        for target in TARGETS:
            name = f"clean-{target}" if runs == 1 else f"clean-{target}-{repeat}"
            cases.append(Case(name, "clean", target, repeat=repeat))
    names = {c.name for c in cases}
    loaded = []
    for path in profiles:
        target, key, groups = load_profile(path)
        name = path.stem
        suffix = 2
        while name in names:
            name = f"{path.stem}-{suffix}"
            suffix += 1
        names.add(name)
        loaded.append(Case(name, "profile", target, key, path.resolve(), groups=groups or first_group(target)))
    return sorted(cases + loaded, key=lambda c: (c.target != "pair", c.kind != "clean", c.repeat))


# --------------------------------------------------------------------------- judging one run


@dataclass
class CellResult:
    row: str
    expected: str  # fail / not_observed / pass
    got: str | None  # the row's verdict, None when the run gave none
    outcome: str  # caught / missed / false_alarm / flake / error / pass / out_of_scope
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "expected": self.expected, "got": self.got, "outcome": self.outcome,
                "reason": self.reason}  # fmt: skip


@dataclass
class RunResult:
    case: Case
    cells: list[CellResult] = field(default_factory=list)
    error: str | None = None
    verdict: str | None = None
    headline: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    command: list[str] = field(default_factory=list)
    run_dir: str = ""
    log: str = ""

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.cells if c.outcome == outcome)

    @property
    def expected_cells(self) -> list[CellResult]:
        return [c for c in self.cells if c.expected in ("fail", "not_observed")]

    def summary(self) -> str:
        if self.error:
            return f"ERROR: {self.error}"
        parts = []
        expected = self.expected_cells
        if expected:
            parts.append(f"{self.count(CAUGHT)}/{len(expected)} caught")
        for outcome, label in ((MISSED, "missed"), (FALSE_ALARM, "false alarm"), (FLAKE, "flake")):
            n = self.count(outcome)
            if n:
                parts.append(f"{n} {label}{'s' if n > 1 and outcome != MISSED else ''}")
        if not expected and not parts:
            parts.append(f"all {sum(1 for c in self.cells if c.outcome == PASS)} rows in scope PASS")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        c = self.case
        return {
            "name": c.name, "kind": c.kind, "target": c.target, "repeat": c.repeat,
            "profile": str(c.profile) if c.profile else None,
            "expect": {"fail": list(c.key.fail), "not_observed": list(c.key.not_observed)},
            "command": self.command, "run_dir": self.run_dir, "log": self.log, "exit_code": self.exit_code,
            "seconds": round(self.seconds, 1), "verdict": self.verdict, "headline": self.headline,
            "error": self.error, "summary": self.summary(),
            "counts": {o: self.count(o) for o in (CAUGHT, MISSED, FALSE_ALARM, FLAKE, ERROR)},
            "cells": [cell.to_dict() for cell in self.cells],
        }  # fmt: skip


NORMAL_EXIT_CODES = {0, 1, 3}
"""`smis-harness run`'s exit codes for a run that ended by itself (conformant, not conformant or error,
incomplete); 2 (usage), 4 (arrays left unnatural), 130/143 (interrupted) and anything else are errors."""


def run_error(document: dict[str, Any] | None, exit_code: int | None, failure: str | None = None) -> str | None:
    """Why a run counts as an error (never as caught), or None when its verdicts can be compared."""
    if failure:
        return failure
    if document is None:
        return f"no results.json was written (exit code {exit_code})"
    overall = document.get("overall") or {}
    if overall.get("interrupted_by"):
        return f"the run was interrupted ({overall['interrupted_by']})"
    if overall.get("left_unnatural") or exit_code == 4:
        return "the arrays were left out of their natural state (exit code 4)"
    if document.get("verdict") == "error":
        return f"overall verdict error: {document.get('headline', '')}"
    if exit_code is not None and exit_code not in NORMAL_EXIT_CODES:
        return f"exit code {exit_code}: {document.get('headline', '')}"
    broken = [r for r in document.get("rows", []) if r.get("in_scope") and r.get("verdict") == "error"]
    if broken:
        return f"{broken[0]['id']} ERROR: {broken[0].get('reason', '')}" + (
            f" (and {len(broken) - 1} more ERROR rows)" if len(broken) > 1 else "")  # fmt: skip
    return None


def judge_run(
    case: Case, document: dict[str, Any] | None, exit_code: int | None = None, failure: str | None = None
) -> RunResult:
    """Compare a run's results.json document with the case's answer key (pure)."""
    from harness.spec import load_spec

    result = RunResult(case, exit_code=exit_code)
    result.error = run_error(document, exit_code, failure)
    rows = {r["id"]: r for r in (document or {}).get("rows", []) if isinstance(r, dict) and "id" in r}
    if document is not None:
        result.verdict = document.get("verdict")
        result.headline = str(document.get("headline", ""))
    for row_id in load_spec().rows:
        expected = case.key.expected(row_id)
        row = rows.get(row_id)
        got = row.get("verdict") if row else None
        reason = str(row.get("reason", "")) if row else "not in results.json"
        in_scope = bool(row and row.get("in_scope", True))
        if row is not None and not in_scope:
            why = row.get("out_of_scope") or "out of scope"
            if expected == "pass":
                result.cells.append(CellResult(row_id, expected, got, OUT, why))
            else:  # the key asks for a row the run could not judge: not caught
                result.cells.append(CellResult(row_id, expected, got, ERROR if result.error else MISSED,
                                               f"expected {expected}, but the row is out of scope: {why}"))
            continue
        if expected == "skipped":  # left unexercised by the deviation: neither caught nor a false alarm
            outcome = ERROR if result.error else (PASS if got == "skipped" else FALSE_ALARM)
            text = reason if outcome == PASS else f"expected skipped (not exercised), got {got or 'nothing'}: {reason}"
            result.cells.append(CellResult(row_id, expected, got, outcome, text))
        elif expected != "pass":
            if result.error is None and got == expected:
                outcome = CAUGHT
            elif result.error is not None:
                outcome = ERROR
            else:
                outcome = MISSED
            if outcome != CAUGHT:
                false_pass = ": a false pass" if got == "pass" and expected == "fail" else ""
                reason = f"expected {expected}, got {got or 'nothing'}{false_pass}: {reason}"
            result.cells.append(CellResult(row_id, expected, got, outcome, reason))
        elif got == "pass":
            result.cells.append(CellResult(row_id, expected, got, PASS, reason))
        elif result.error is not None:
            result.cells.append(CellResult(row_id, expected, got, ERROR, reason))
        else:
            outcome = FLAKE if case.kind == "clean" else FALSE_ALARM
            result.cells.append(CellResult(row_id, expected, got, outcome, f"expected pass, got {got}: {reason}"))
    return result


# --------------------------------------------------------------------------- the whole self-test


@dataclass
class Totals:
    expected_cells: int
    caught: int
    missed: int
    false_alarms: int
    errors: int
    flakes: int
    runs: int
    wall_seconds: float

    @property
    def detection_rate(self) -> float | None:
        return self.caught / self.expected_cells if self.expected_cells else None

    @property
    def ok(self) -> bool:
        return self.caught == self.expected_cells and not (self.false_alarms or self.errors or self.flakes)

    def to_dict(self) -> dict[str, Any]:
        rate = self.detection_rate
        return {"runs": self.runs, "expected_cells": self.expected_cells, "caught": self.caught, "missed": self.missed,
                "detection_rate": None if rate is None else round(rate, 4), "false_alarms": self.false_alarms,
                "errors": self.errors, "flakes": self.flakes, "wall_seconds": round(self.wall_seconds, 1)}  # fmt: skip


def totals(results: Sequence[RunResult], wall_seconds: float) -> Totals:
    expected = [c for r in results for c in r.expected_cells]
    return Totals(
        expected_cells=len(expected),
        caught=sum(1 for c in expected if c.outcome == CAUGHT),
        missed=sum(1 for c in expected if c.outcome == MISSED),
        false_alarms=sum(r.count(FALSE_ALARM) for r in results),
        errors=sum(1 for r in results if r.error),
        flakes=sum(r.count(FLAKE) for r in results),
        runs=len(results),
        wall_seconds=wall_seconds,
    )


def verdict_reason(results: Sequence[RunResult], t: Totals, interrupted: str | None = None) -> str:
    """The last line: why the self-test passed or failed, naming the first few cells at fault."""
    if t.ok and not interrupted:
        rate = "no expected cell (no profile)" if t.detection_rate is None else "100 % detection"
        return f"selftest: OK: {rate}, no false alarm, no error, no flake ({t.runs} runs)"
    parts = [f"interrupted ({interrupted})"] if interrupted else []

    def cells(outcome: str) -> str:
        found = [f"{r.case.name}: {c.row} (expected {c.expected}, got {c.got or 'nothing'})"
                 for r in results for c in r.cells if c.outcome == outcome]  # fmt: skip
        shown = "; ".join(found[:4]) + (f"; ... {len(found) - 4} more" if len(found) > 4 else "")
        return shown

    if t.caught < t.expected_cells:
        parts.append(f"detection {t.caught}/{t.expected_cells}")
    if t.missed:
        parts.append(f"{t.missed} missed: {cells(MISSED)}")
    if t.false_alarms:
        parts.append(f"{t.false_alarms} false alarm{'s' * (t.false_alarms > 1)}: {cells(FALSE_ALARM)}")
    if t.errors:
        errs = [f"{r.case.name}: {r.error}" for r in results if r.error]
        parts.append(f"{t.errors} error{'s' * (t.errors > 1)}: " + "; ".join(_short(e, 160) for e in errs[:3]))
    if t.flakes:
        parts.append(f"{t.flakes} flake{'s' * (t.flakes > 1)}: {cells(FLAKE)}")
    return "selftest: FAILED: " + " | ".join(parts)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Options:
    jobs: int = 1
    runs: int = 1
    report_dir: str | None = None
    profiles: list[str] = field(default_factory=list)


def claim_report_dir(given: str | None) -> Path:
    """The self-test's directory: absent (created) or empty; default reports/selftest-<UTC time>."""
    if given is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for attempt in range(1, 100):
            path = Path("reports") / (f"selftest-{stamp}" + ("" if attempt == 1 else f"-{attempt}"))
            try:
                path.mkdir(parents=True, exist_ok=False)
            except FileExistsError:
                continue
            except OSError as exc:
                raise SelftestUsageError(f"cannot create {path}: {exc.strerror or exc}; give --report-dir") from None
            return path
        raise SelftestUsageError("99 self-tests of this second already have a directory; give --report-dir DIR")
    if not given.strip():
        raise SelftestUsageError("--report-dir: empty directory name; give a directory, or leave it out")
    path = Path(given).expanduser()
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise SelftestUsageError(f"--report-dir {path}: not a directory")
        entries = sorted(p.name for p in path.iterdir())
        if entries:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise SelftestUsageError(f"--report-dir {path} is in use: it holds {len(entries)} "
                                     f"entr{'ies' if len(entries) > 1 else 'y'} ({shown}); give a new or empty "
                                     "directory")  # fmt: skip
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".selftest-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise SelftestUsageError(f"--report-dir {path}: cannot create or write it: {exc.strerror or exc}") from None
    return path


class Runner:
    """Runs the cases as `smis-harness run` processes, at most `jobs` at once; stops them on SIGINT/SIGTERM."""

    def __init__(self, base: Path, jobs: int, say: Callable[[str], None]) -> None:
        self.base = base
        self.jobs = jobs
        self.say = say
        self.children = Children(RUN_TIMEOUT, KILL_GRACE)
        self.lock = threading.Lock()
        self.done = 0

    @property
    def stopped_by(self) -> str | None:
        return self.children.stopped_by

    def command(self, case: Case) -> list[str]:
        config = None
        if case.groups:
            config = with_groups(case.target, case.groups, self.base / "configs" / f"{case.name}.yaml")
        return [*harness_command(), "run", *case.arguments(config), "--report-dir", str(self.base / case.name)]

    def run_all(self, cases: Sequence[Case]) -> list[RunResult]:
        self.total = len(cases)
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="selftest") as pool:
            return list(pool.map(self.run_one, cases))

    def interrupt(self, signum: int) -> None:
        """Stop launching runs; pass the signal once to each running run (it tears down and writes its files)."""
        count = self.children.interrupt(signum)
        if count is not None:
            self.say(f"selftest: {self.stopped_by}: stopping {count} running run(s); no new run starts")

    def run_one(self, case: Case) -> RunResult:
        command = self.command(case)
        run_dir = self.base / case.name
        log = self.base / f"{case.name}.log"
        if self.children.stop.is_set():
            result = judge_run(case, None, None, f"not run: the self-test was interrupted ({self.stopped_by})")
            return self._finish(result, command, None, None, 0.0)
        finished = self.children.run(case.name, command, log)
        failure = finished.failure
        if self.stopped_by and failure is None:
            failure = f"the self-test was interrupted ({self.stopped_by}) while it ran"
        document, problem = read_results(run_dir)
        if document is None and failure is None:
            failure = f"crashed: {problem} (exit code {finished.code}); last output: {last_line(log)}"
        result = judge_run(case, document, finished.code, failure)
        return self._finish(result, command, run_dir, log, finished.seconds)

    def _finish(
        self, result: RunResult, command: list[str], run_dir: Path | None, log: Path | None, seconds: float
    ) -> RunResult:
        result.command, result.seconds = command, seconds
        result.run_dir, result.log = str(run_dir or ""), str(log or "")
        with self.lock:
            self.done += 1
            done = self.done
        case = result.case
        self.say(f"[{done}/{self.total}] {case.name} ({case.target}): {result.summary()}  ({seconds:.1f} s)")
        return result


# --------------------------------------------------------------------------- output


def matrix_lines(results: Sequence[RunResult], width: int = 120) -> list[str]:
    """The detection matrix as text: one line per run, its expected rows and what became of them, then
    every missed cell, false alarm, flake and error on a line of its own with the reason."""
    name_w = max([len(r.case.name) for r in results] + [7])
    lines = [f"{'profile':<{name_w}}  target  {'verdict':<14}  expected rows: outcome"]
    for r in results:
        marks = [f"{c.row} {OUTCOME_LABELS[c.outcome]}" for c in r.expected_cells]
        marks += [f"{c.row} {OUTCOME_LABELS[c.outcome]} ({c.got})" for c in r.cells
                  if c.outcome in (FALSE_ALARM, FLAKE)]  # fmt: skip
        if r.error:
            marks.append(f"ERROR: {_short(r.error, 80)}")
        if not marks:
            marks = [f"(none) all {r.count(PASS)} rows in scope PASS"]
        head = f"{r.case.name:<{name_w}}  {r.case.target:<6}  {(r.verdict or '-'):<14}  "
        lines += _wrap(head, marks, width)
    details = [(r, c) for r in results for c in r.cells if c.outcome in (MISSED, FALSE_ALARM, FLAKE)]
    if details:
        lines.append("")
    for r, c in details:
        lines.append(f"{OUTCOME_LABELS[c.outcome]}: {r.case.name} {c.row}: {_short(c.reason, max(width - 30, 60))}")
    for r in results:
        if r.error:
            log = f" (log: {r.log})" if r.log else ""
            lines.append(f"ERROR: {r.case.name}: {_short(r.error, max(width - 20, 60))}{log}")
    return lines


def _wrap(head: str, marks: list[str], width: int) -> list[str]:
    lines, current = [], head
    for i, mark in enumerate(marks):
        piece = mark + ("," if i < len(marks) - 1 else "")
        if len(current) + len(piece) + 1 > width and current.strip() != head.strip() and current != head:
            lines.append(current.rstrip())
            current = " " * len(head)
        current += piece + " "
    lines.append(current.rstrip())
    return lines


def totals_lines(t: Totals, options: Options) -> list[str]:
    rate = t.detection_rate
    caught = f"({t.caught}/{t.expected_cells} expected cells caught)"
    detection = "n/a (no profile ran)" if rate is None else f"{100 * rate:.1f} % {caught}"
    clean = options.runs
    return [
        f"detection rate: {detection}",
        f"false alarms:   {t.false_alarms}",
        f"errors:         {t.errors}",
        f"flakes:         {t.flakes} (rows in scope not PASS, {clean} run{'s' * (clean != 1)} of each clean target)",
        f"wall time:      {_duration(t.wall_seconds)} ({t.runs} runs, --jobs {options.jobs})",
    ]


def _duration(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.1f} s" if minutes else f"{rest:.1f} s"


def document(results: Sequence[RunResult], t: Totals, options: Options, base: Path, reason: str,
             started: datetime, ended: datetime, interrupted: str | None) -> dict[str, Any]:  # fmt: skip
    from harness import __version__

    def listed(outcome: str) -> list[dict[str, Any]]:
        return [{"run": r.case.name, **c.to_dict()} for r in results for c in r.cells if c.outcome == outcome]

    return {
        "selftest": True,
        "ok": t.ok and not interrupted,
        "exit_code": EXIT_OK if t.ok and not interrupted else EXIT_FAILED,
        "reason": reason,
        "harness_version": __version__,
        "started": started.isoformat(timespec="seconds"),
        "ended": ended.isoformat(timespec="seconds"),
        "interrupted_by": interrupted,
        "options": {"jobs": options.jobs, "runs": options.runs, "profiles": options.profiles, "report_dir": str(base)},
        "totals": t.to_dict(),
        "missed": listed(MISSED),
        "false_alarms": listed(FALSE_ALARM),
        "flakes": listed(FLAKE),
        "errors": [{"run": r.case.name, "reason": r.error, "log": r.log} for r in results if r.error],
        "runs": [r.to_dict() for r in results],
    }


def render_html(doc: dict[str, Any]) -> str:
    """The self-test as one self-contained page in the compliance report's look (its base template and CSS)."""
    from harness.report.model import TABLES
    from harness.report.render import _common, environment
    from harness.spec import load_spec

    spec = load_spec()
    columns = [(table, [r for r, row in spec.rows.items() if row.table == table]) for table in TABLES]
    columns = [(table, ids) for table, ids in columns if ids]
    runs = []
    for run in doc["runs"]:
        cells = {c["row"]: c for c in run["cells"]}
        link = Path(run["run_dir"]).name + "/index.html" if run["run_dir"] else ""
        runs.append({**run, "by_row": cells, "link": link})
    return environment().get_template("selftest.j2").render(
        doc=doc, runs=runs, columns=columns, labels=OUTCOME_LABELS, **_common())


def write_outputs(base: Path, doc: dict[str, Any]) -> tuple[Path, Path]:
    json_path = base / "selftest.json"
    json_path.write_text(json.dumps(doc, indent=2))
    html_path = base / "index.html"
    html_path.write_text(render_html(doc), encoding="utf-8")
    return json_path, html_path


def selftest(options: Options, out: Callable[[str], None] | None = None) -> int:
    """The whole self-test; returns the exit code."""
    say = out or (lambda line: print(line, flush=True))
    try:
        if options.jobs < 1:
            raise SelftestUsageError(f"--jobs must be at least 1, got {options.jobs}")
        if options.runs < 0:
            raise SelftestUsageError(f"--runs must not be negative, got {options.runs}")
        profiles = find_profiles(options.profiles or [default_profiles()])
        cases = plan_cases(profiles, options.runs)
        if not cases:
            raise SelftestUsageError("nothing to run: --runs 0 and no profile")
        base = claim_report_dir(options.report_dir)
    except SelftestUsageError as exc:
        print(f"smis-harness selftest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    started_at = datetime.now(UTC)
    started = time.monotonic()
    clean = sum(1 for c in cases if c.kind == "clean")
    say(f"selftest: {len(cases)} runs ({clean} of the clean targets, {len(cases) - clean} profiles), "
        f"at most {options.jobs} at once, into {base}")  # fmt: skip
    runner = Runner(base, options.jobs, say)
    with signals_to(runner.interrupt):
        results = runner.run_all(cases)
    t = totals(results, time.monotonic() - started)
    reason = verdict_reason(results, t, runner.stopped_by)
    doc = document(results, t, options, base, reason, started_at, datetime.now(UTC), runner.stopped_by)
    say("")
    for line in (*matrix_lines(results), "", *totals_lines(t, options)):
        say(line)
    try:
        json_path, html_path = write_outputs(base, doc)
        say(f"selftest: {json_path}")
        say(f"selftest: {html_path}")
    except OSError as exc:
        say(f"selftest: cannot write the self-test's files: {exc}")
    say(reason)
    return EXIT_OK if doc["ok"] else EXIT_FAILED


def run_command(args: Any) -> int:
    """`smis-harness selftest` from parsed arguments."""
    return selftest(Options(jobs=args.jobs, runs=args.runs, report_dir=args.report_dir, profiles=args.profiles or []))
