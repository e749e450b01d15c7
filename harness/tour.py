"""One tour for several groups on one pair: every row is driven and judged for all groups under test at once.

Each group keeps its own `harness.run.Run` (connections, poller, timeline, driver, result files in
`<report-dir>/<group>/`); the tour gives them one simulated pair, one array lock and one run clock, and
takes them through each row together: each group's driver in its own thread, so the groups' commands run
concurrently (each in-progress row judged on its own command's window), while an event that acts on the
arrays (`harness.shared_events`) is carried out once, when every group of the round has come to it.
A row whose legs need a fault that names no group ("the next restore fails") is driven one group after
the other; a fault that drops the link for every group (recover_fails) is done once, like an event.
A group whose leg fails has its own rows ERROR/FAIL; the others go on.

What the tour does to the pair for other groups counts as the harness's own doing for every group it
affects: a shared event (or a turn of another group) that a group did not wait for is added to that
group's busy windows (and marked as a `leg` of its timeline), so it is never "someone else changed the
pair", while a change nobody of the tour made still is.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from harness.config import ConfigError, TargetConfig
from harness.console import Decided, Display, LineDisplay
from harness.deviation_format import DeviationError
from harness.interrupts import Interrupts
from harness.journey import Progress, stderr_progress
from harness.lock import ArrayLocks
from harness.observation import RunClock
from harness.result_files import RunScope, merge_group_runs
from harness.results import SEVERITY, RowResult, Verdict
from harness.run import Run, lock_arrays, start_simulator
from harness.shared_events import GroupActions, SharedActions, SharedEvents, shared_actions
from harness.spec import load_spec
from harness.stages import NoPath, row_stage

T = TypeVar("T")
TOUR_LEG = "tour"  # the `source` of a `leg` that another group's step (or a shared event) made for this one


class Tour:
    """The run of several groups on one pair (`harness.run.Run`'s interface for the pytest plugin)."""

    def __init__(
        self,
        config: TargetConfig,
        groups: list[str],
        *,
        report_dir: Path,
        allow_disruptive: bool = False,
        progress: Progress = stderr_progress,
        manifest_extra: dict[str, Any] | None = None,
        display: Display | None = None,
    ) -> None:
        self.config = config
        self.groups = groups
        self.report_dir = report_dir
        self.progress = progress
        self.allow_disruptive = config.disruptive_allowed(allow_disruptive)
        self.t0 = time.monotonic()
        self.clock = RunClock(self.t0)
        self.events = SharedEvents(groups, self.clock.now)
        self.shared = SharedActions()
        self.display = display or LineDisplay(progress)
        self.manifest_extra = {**(manifest_extra or {}), "tour": {"groups": list(groups)}}
        self.runs = {g: self._group_run(g) for g in groups}
        self.locks = ArrayLocks()
        self.sim: Any = None
        self.combined: dict[str, Verdict] = {}  # row id -> the verdict its pytest test had

    def _group_run(self, group: str) -> Run:
        run = Run(self.config, report_dir=self.report_dir / group, allow_disruptive=self.allow_disruptive,
                  group=group, progress=_prefixed(self.progress, group), display=GroupDisplay(self.display, group),
                  manifest_extra=self.manifest_extra, t0=self.t0, wrap_actions=self._wrap)  # fmt: skip
        run.locks = None  # the tour holds the arrays' lock
        return run

    @property
    def redactor(self) -> Any:
        return self.runs[self.groups[0]].redactor

    # ------------------------------------------------------------------ start
    def start(self) -> Tour:
        """One simulated pair (if simulated), one lock of the arrays, then every group's preflight."""
        problem = self._start_pair()
        if problem:
            self.progress(f"smis-harness: {problem}")
            for run in self.runs.values():
                run.setup_error = problem
            return self
        self.shared = shared_actions(self.runs[self.groups[0]].config, self.groups)
        self.progress(f"one tour for groups {', '.join(self.groups)}: commands per group, "
                      f"{_names(self.shared.once)} once for all groups, legs with {_names(self.shared.in_turns)} "
                      "one group after the other")  # fmt: skip
        self._round(lambda run: run.start(), concurrent=True)
        return self

    def _start_pair(self) -> str | None:
        if self.config.is_simulated:
            try:
                self.sim = start_simulator(self.config)
            except (ConfigError, DeviationError, OSError) as exc:
                return f"the simulated arrays did not start: {exc}"
            for run in self.runs.values():
                run.use_simulator(self.sim)
            self.progress(f"started simulated {self.config.topology} on loopback")
            return None
        if self.allow_disruptive:
            return lock_arrays(self.config, self.locks, self.report_dir)
        return None

    def _wrap(self, group: str, runner: Any) -> GroupActions:
        return GroupActions(runner, group, self.shared.once, self.events)

    # ------------------------------------------------------------------ rows
    def table_row(self, row_id: str) -> RowResult:
        concurrent = not self._needs_turns(row_id)
        return self._combine(row_id, self._round(lambda run: run.table_row(row_id), concurrent))

    def record_skip(self, row_id: str, reason: str, array: str | tuple[str, ...] | None = None) -> RowResult:
        return self._combine(row_id, {g: r.record_skip(row_id, reason, array) for g, r in self.runs.items()})

    def observations_so_far(self) -> int:
        """Teardown for every group at once (events once), then how many observations the rules see."""
        return sum(self._round(lambda run: run.observations_so_far(), concurrent=True).values())

    def rule(self, rule_id: str) -> RowResult:
        self.observations_so_far()
        return self._combine(rule_id, {g: r.rule(rule_id) for g, r in self.runs.items()})

    def _needs_turns(self, row_id: str) -> bool:
        """A leg on the way to the row's stage needs a fault that names no group: one group after the other."""
        row = load_spec().rows[row_id]
        if not self.shared.in_turns or row.table not in ("table106", "table107"):
            return False
        stage = row_stage(row)
        for run in self.runs.values():
            driver = run.journey.driver if run.journey else None
            if driver is None:
                continue
            if driver.current == "unknown":
                return True  # where it starts from is not known yet: safe
            try:
                legs = driver.graph.plan(driver.current, stage)
            except NoPath:
                continue
            if any(s.kind == "fault" and s.name in self.shared.in_turns for leg in legs for s in leg.steps):
                return True
        return False

    def _combine(self, row_id: str, results: Mapping[str, RowResult]) -> RowResult:
        """The row's pytest outcome: the worst verdict over the groups that ran it (as `merge_group_runs`),
        with that group's cells; the reason names the groups."""
        neutral = (Verdict.SKIPPED, Verdict.NOT_OBSERVED) if row_id.startswith("RULE") else (Verdict.SKIPPED,)
        ran = {g: r for g, r in results.items() if r.verdict not in neutral} or dict(results)
        worst = min(ran.values(), key=lambda r: SEVERITY.index(r.verdict))
        reason = "; ".join(f"{g}: {r.reason}" for g, r in ran.items() if r.verdict == worst.verdict)
        self.combined[row_id] = worst.verdict
        return replace(worst, reason=reason)

    # ------------------------------------------------------------------ rounds
    def _round(self, work: Callable[[Run], T], concurrent: bool) -> dict[str, T]:
        """`work` for every group: at once (events shared), or one group after the other (turns)."""
        if concurrent:
            return self._together(work, self.groups)
        results: dict[str, T] = {}
        for group in self.groups:
            results.update(self._together(work, [group]))
        return results

    def _together(self, work: Callable[[Run], T], groups: list[str]) -> dict[str, T]:
        started = self.clock.now()
        already = len(self.events.executed)
        self.events.begin(groups)
        outcomes: dict[str, tuple[bool, Any]] = {}

        def one(group: str) -> None:
            try:
                outcomes[group] = (True, work(self.runs[group]))
            except BaseException as exc:  # handed to the main thread
                outcomes[group] = (False, exc)
            finally:
                self.events.leave(group)

        if len(groups) == 1:
            one(groups[0])  # in the main thread: an interrupt reaches the group's step as in a one-group run
        else:
            _join_all([threading.Thread(target=one, args=(g,), name=f"group {g}", daemon=True) for g in groups])
        self._count_as_own(self.events.executed[already:], [g for g in self.groups if g not in groups], started)
        for done, value in outcomes.values():
            if not done:
                raise value
        return {g: outcomes[g][1] for g in groups}

    def _count_as_own(self, executed: list[Any], idle: list[str], started: float) -> None:
        """A shared event a group did not wait for, or another group's turn, changed its pair under it: a
        busy window of that group (until now), and it is placed again from what its arrays show."""
        now = self.clock.now()
        windows: dict[str, list[tuple[float, float, str]]] = {g: [(started, now, "turn")] for g in idle}
        for execution in executed:
            for group in self.groups:
                if group not in execution.done_for:
                    windows.setdefault(group, []).append((execution.start, now, execution.name))
                if group in execution.idle:
                    self._replace(group)
        for group, spans in windows.items():
            self._busy(group, spans)

    def _busy(self, group: str, spans: list[tuple[float, float, str]]) -> None:
        journey = self.runs[group].journey
        if journey is None or journey.driver is None or journey.poller is None:
            return
        for start, end, why in spans:
            journey.driver.busy.append((start, end))
            journey.poller.mark("leg", source=TOUR_LEG, target=why, start=start, end=end)

    def _replace(self, group: str) -> None:
        journey = self.runs[group].journey
        if journey is not None and journey.driver is not None:
            journey.driver.current = "unknown"
            journey.driver.last_visit = None

    # ------------------------------------------------------------------ end
    def finish(self, scope: RunScope | None = None, interrupts: Interrupts | None = None) -> dict[str, Any]:
        """Every group back to natural at once, each group's result files, then the merged results.json."""
        scope = scope or RunScope()
        interrupts = interrupts or Interrupts()
        interrupts.tearing_down = True
        if not interrupts.skipped_teardown:
            try:
                self._round(lambda run: run.journey.teardown() if run.journey else None, concurrent=True)
            except KeyboardInterrupt:
                self.progress("teardown was interrupted; each group's results say what is left to do")
        try:
            for run in self.runs.values():
                run.finish(self._scope_for(scope), interrupts)
        finally:
            self.locks.release()
            if self.sim is not None:
                self.sim.stop()
        return merge_group_runs(self.report_dir, {g: self.report_dir / g for g in self.groups})

    def _scope_for(self, scope: RunScope) -> RunScope:
        """The session's scope for one group: a row's test that failed because of a verdict (some group's
        FAIL or ERROR) is no harness problem for the others."""
        own = copy.deepcopy(scope)
        own.problems_by_row = {row: text for row, text in scope.problems_by_row.items()
                               if self.combined.get(row, Verdict.PASS) == Verdict.PASS}  # fmt: skip
        return own


def tour_plan(config: TargetConfig) -> list[str]:
    """What the dry-run plan says of a shared tour (nothing for one group)."""
    groups = list(config.groups)
    if len(groups) < 2:
        return []
    shared = shared_actions(config, groups)
    lines = [f"groups {', '.join(groups)} share this one tour on one pair, each judged on its own observations:",
             "  each command below is sent for every group at once (its own group name; in-progress rows judged "
             "on their own command's window)",
             f"  done once for all groups: {_names(shared.once)}"]  # fmt: skip
    if shared.in_turns:
        lines.append(f"  legs with {_names(shared.in_turns)} (no group named: it acts on the next command) run one "
                     "group after the other")  # fmt: skip
    per_group = sorted(set(config.action_names()) - shared.faults - shared.events)
    if per_group:
        lines.append(f"  run for each group: {', '.join(per_group)}")
    return lines


def _join_all(threads: list[threading.Thread]) -> None:
    """Start and join every thread; an interrupt waits for them all (no group is left driving alone)."""
    for thread in threads:
        thread.start()
    interrupted: KeyboardInterrupt | None = None
    for thread in threads:
        while thread.is_alive():
            try:
                thread.join()
            except KeyboardInterrupt as exc:
                interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted


def _names(names: frozenset[str]) -> str:
    return ", ".join(sorted(names)) or "no event"


def _prefixed(progress: Progress, group: str) -> Progress:
    return lambda text: progress(f"[{group}] {text}")


@dataclass(frozen=True)
class _GroupDecided:
    id: str
    verdict: Any
    reason: str


class GroupDisplay:
    """A group's rows and waits on the run's display, named by the group."""

    def __init__(self, display: Display, group: str) -> None:
        self.display = display
        self.group = group

    def note(self, text: str) -> None:
        self.display.note(f"[{self.group}] {text}")

    def row_started(self, row_id: str, stage: str, in_progress: bool) -> None:
        self.display.row_started(f"{self.group} {row_id}", stage, in_progress)

    def waiting(self, what: str, elapsed: float, limit: float | None, *, by: str | None = None) -> None:
        self.display.waiting(what, elapsed, limit, by=f"{self.group} {by}" if by else self.group)

    def row_decided(self, result: Decided) -> None:
        self.display.row_decided(_GroupDecided(f"{self.group} {result.id}", result.verdict, result.reason))
