"""Reaching a stage: the planner's legs carried out on the arrays (commands over the CLI, event and fault
actions), each leg ending when the arrays show the stage's entry condition.

Its collaborators are injected: the arrays' CLI handles, the poller (samples into the timeline, waits with
deadlines, marks events), the action runner and the run clock. Unit tests drive it with scripted ones.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from harness.actions import ActionError
from harness.array_cli import CliError, CliResult
from harness.cim import CimError
from harness.config import TargetConfig
from harness.console import Display, LineDisplay
from harness.observation import Observation, RunClock, Timeline
from harness.poll import group_state
from harness.stages import (
    NATURAL,
    PASS_THROUGH,
    Leg,
    NoPath,
    StageGraph,
    Step,
    command_text,
    entry_check,
    infer_stage,
    time_limit_name,
)

Progress = Callable[[str], None]
LINK_DOWN_STAGES = ("primary_down", "recover_failed")
WINDOW_COMMANDS = ("failover", "recover", "restore")


class StageError(Exception):
    """A stage could not be reached; the message says which step and why."""


class StageUnreachable(StageError):
    """The configured actions cannot take the pair to the stage (its rows are SKIPPED with this reason)."""


class StageTimeout(StageError):
    """Every step was done, but the arrays never showed the stage's entry condition within its time limit."""


@dataclass
class Visit:
    stage: str
    entered_at: float  # run time from which settled observations count
    entered: dict[str, float] | None = None  # per array: when the sample that confirmed the stage started
    window: tuple[float, float] | None = None  # the in-progress window (command run time)
    command: CliResult | None = None
    error: str | None = None  # a step failed or could not run: the stage's rows are ERROR
    timeout: str | None = None  # the commands were accepted, the stage never arrived: its settled rows FAIL


class DrivenArray(Protocol):
    """What the driver needs of one array (harness.connections.ArrayHandle)."""

    key: str
    cli: Any  # .run(command, timeout=) -> CliResult
    cim: Any  # .probe_entities(group) -> dict
    group: Any
    group_name: str


class Driver:
    def __init__(
        self,
        config: TargetConfig,
        group: str,
        arrays: Mapping[str, DrivenArray],
        observed: Sequence[str],
        poller: Any,
        actions: Any,
        timeline: Timeline,
        clock: RunClock,
        progress: Progress,
        display: Display | None = None,
    ) -> None:
        self.config = config
        self.group = group  # as named on the primary
        self.arrays = arrays
        self.observed = list(observed)
        self.poller = poller
        self.actions = actions
        self.graph = StageGraph(available=actions.available())
        self.timeline = timeline
        self.clock = clock
        self.progress = progress
        self.display: Display = display or LineDisplay(progress)
        self.current = NATURAL
        self.last_visit: Visit | None = None
        self.busy: list[tuple[float, float]] = []  # run time of every leg, from its first step until its stage
        self.probes: list[dict[str, Any]] = []  # RULE-04 entity probes while a link was down
        self.manual_wait = 0.0  # a manual action's own time limit for the wait that follows it

    def now(self) -> float:
        return self.clock.now()

    # ------------------------------------------------------------------ reaching a stage
    def reach(self, stage: str) -> Visit:
        """Drive the pair to `stage` (or reuse the visit if the pair is still there) and return the visit."""
        if self.last_visit is not None and self.last_visit.stage == stage:
            return self.last_visit
        if self.current == stage and stage == NATURAL:
            self.last_visit = Visit(NATURAL, entered_at=self.now())
            return self.last_visit
        if self.current == "unknown":
            self.current = self.settled_stage()
            self.progress(f"the pair looks like stage {self.current}; planning from there")
        try:
            legs = self.graph.plan(self.current, stage)
        except NoPath as exc:
            raise StageUnreachable(str(exc)) from None
        visit: Visit | None = None
        for leg in legs:
            visit = self._travel(leg)
            if visit.error or visit.timeout:
                break
        assert visit is not None
        if visit.timeout and visit.stage != stage:  # an earlier stage never arrived: nothing seen of this one
            visit = replace(visit, error=visit.timeout, timeout=None)
        self.last_visit = visit
        return visit

    def _travel(self, leg: Leg) -> Visit:
        self.poller.stage = f"{leg.source}->{leg.target}"
        self.progress(f"stage {leg.source} -> {leg.target}")
        started = self.now()
        visit = Visit(leg.target, entered_at=started)
        interrupted = True
        try:
            during: Step | None = None
            for step in leg.steps:
                if step.kind == "fault" and self._acts_during(step):
                    during = step  # runs while the next command runs
                    continue
                self._do(step, visit, during)
                during = None
            confirming = self._await_entry(leg.target)
            interrupted = False
        except StageTimeout as exc:
            interrupted = False
            return self._lost(visit, leg, exc, arrived_late=leg.steps[-1].kind == "command")
        except (StageError, ActionError, CliError) as exc:
            interrupted = False
            return self._lost(visit, leg, exc)
        finally:
            self._end_leg(leg, started, interrupted)
        # the samples that showed the stage count towards settling it
        visit.entered = {k: o.t_start for k, o in confirming.items()}
        visit.entered_at = min(visit.entered.values(), default=self.now())
        if leg.target in LINK_DOWN_STAGES:
            self._probe_entities()
        self.current = PASS_THROUGH.get(leg.target, leg.target)
        self.poller.stage = leg.target
        self.poller.mark("stage", stage=leg.target)
        return visit

    def _end_leg(self, leg: Leg, started: float, interrupted: bool) -> None:
        """The leg's busy window. An interrupted leg's stays open: the command it sent may still be running on
        the array, and what it then does is the harness's doing, not someone else's (harness.interference)."""
        ended = math.inf if interrupted else self.now()
        self.busy.append((started, ended))
        self.poller.mark("leg", source=leg.source, target=leg.target, start=started,
                         end=None if interrupted else ended)  # fmt: skip

    def _lost(self, visit: Visit, leg: Leg, exc: Exception, arrived_late: bool = False) -> Visit:
        """The stage was not reached. After an accepted command that is the arrays' doing (`timeout`: the
        stage's settled rows FAIL with what was observed); otherwise the harness or the lab's (`error`)."""
        text = f"stage {leg.target} not reached: {exc}"
        if arrived_late:
            visit.timeout = text
        else:
            visit.error = text
        self.current = "unknown"
        self.progress(text)
        self.poller.mark("stage_error", stage=leg.target, error=str(exc))
        return visit

    def _probe_entities(self) -> None:
        """RULE-04 probe while the link is down: entities only through Associators, never Enumerate/Get."""
        for key in self.observed:
            handle = self.arrays[key]
            if handle.group is None:
                continue
            try:
                found = handle.cim.probe_entities(handle.group)
            except CimError as exc:
                self.poller.mark("probe_error", array=key, error=str(exc))
                continue
            latest = self.timeline.latest(key)  # the link-down observation the probe goes with (evidence)
            probe = {"array": key, "t": round(self.now(), 3), "seq": latest.seq if latest else None, **found}
            self.probes.append(probe)
            self.poller.mark("entity_probe", **probe)

    # ------------------------------------------------------------------ steps
    def _acts_during(self, step: Step) -> bool:
        return self.actions.actions.get(step.name, {}).get("during") is not None

    def _action(self, step: Step) -> None:
        spec = self.actions.actions.get(step.name, {})
        if spec.get("kind") == "manual":  # the operator's own time limit governs the wait that follows
            self.manual_wait = max(self.manual_wait, float(spec.get("timeout", 0)))
        self.poller.mark(step.kind, name=step.name)
        self.progress(f"  {step.kind} action {step.name}")
        evidence = self.actions.run(step.name)
        self.poller.mark(f"{step.kind}_done", name=step.name, evidence=evidence)
        self.poller.wake()

    def _do(self, step: Step, visit: Visit, during: Step | None = None) -> None:
        if step.kind != "command":
            self._action(step)
            return
        handle = self.arrays[step.array or ""]
        text = command_text(step.name, handle.group_name)
        limit = self.config.time_limits.for_stage(step.name if step.name in WINDOW_COMMANDS else "default")
        self.progress(f"  on {handle.key}: {text} (time limit {limit:g}s)")
        self.poller.mark("command", array=handle.key, command=text)
        with self.poller.command():  # samples back to back while it runs
            if during is None:
                result = handle.cli.run(text, timeout=limit)
            else:
                result = self._run_with_fault(handle.cli, text, limit, during)
        self.poller.mark("command_done", array=handle.key, command=text, status=result.status, transcript=result.ref)
        if step.expect_failure and result.ok:
            raise StageError(f"{text} on {handle.key} succeeded although its failure was armed")
        if not step.expect_failure and not result.ok:
            raise StageError(f"{handle.key} refused {text}: {result.error_text()}")
        if step.window:
            visit.window = (self.clock.rel(result.t_start), self.clock.rel(result.t_end))
            visit.command = result

    def _run_with_fault(self, cli: Any, text: str, limit: float, fault: Step) -> CliResult:
        """Run a command while a fault action acts `during` seconds after it started."""
        outcome: dict[str, Any] = {}

        def command() -> None:
            try:
                outcome["result"] = cli.run(text, timeout=limit)
            except CliError as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=command, name="command", daemon=True)
        worker.start()
        worker.join(float(self.actions.actions[fault.name]["during"]))
        self._action(fault)
        worker.join(limit)
        if "error" in outcome:
            raise outcome["error"]
        if "result" not in outcome:
            raise StageError(f"{text} did not finish within {limit:g}s")
        result: CliResult = outcome["result"]
        return result

    # ------------------------------------------------------------------ what the arrays show
    def _await_entry(self, stage: str) -> dict[str, Observation]:
        """Wait until the CLI shows the stage's entry condition (fresh samples of every observed array);
        the samples that showed it."""
        since = self.now()
        limit = max(self.config.time_limits.for_stage(time_limit_name(stage)), self.manual_wait)
        self.manual_wait = 0.0
        check = entry_check(stage, self.config.topology)
        waiting: list[str] = []

        def satisfied() -> dict[str, Observation] | None:
            latest = {k: self.timeline.latest(k, since) for k in self.observed}
            if any(obs is None for obs in latest.values()):
                waiting[:] = ["a fresh observation of every array"]
                return None
            waiting[:] = check(latest)
            return None if waiting else {k: o for k, o in latest.items() if o is not None}

        self.display.waiting(f"stage {stage}", 0.0, limit)

        def heartbeat(elapsed: float, remaining: float) -> None:
            what = "; ".join(waiting) or "the stage's entry condition"
            self.display.waiting(what, elapsed, elapsed + remaining, by=f"stage {stage}")

        confirming: dict[str, Observation] | None = self.poller.wait_for(satisfied, since + limit, heartbeat)
        if confirming is None:
            raise StageTimeout(f"not seen within {limit:g}s; still waiting for: {'; '.join(waiting)}")
        return confirming

    def fresh_views(self, since: float) -> dict[str, Observation]:
        """One observation of each array taken after `since` (waits up to the default time limit)."""
        latest: dict[str, Observation] = {}

        def fresh() -> bool | None:
            for key in self.observed:
                obs = self.timeline.latest(key, since)
                if obs is None:
                    return None
                latest[key] = obs
            return True

        self.poller.wait_for(fresh, since + self.config.time_limits.default)
        return latest

    def settled_stage(self) -> str:
        """The stage the arrays show once it stops moving: the same CLI state in `settle_samples` fresh rounds
        and that stage's entry condition met (a command the harness no longer waits for may still be
        running on the array: a recover still resyncing, or failing half way)."""
        started = self.now()
        previous: tuple[Any, ...] | None = None
        agreeing = 0
        limits = self.config.time_limits
        while True:
            latest = self.fresh_views(self.now())
            views = {k: o.cli for k, o in latest.items() if o.cli is not None}
            state = tuple(sorted((k, group_state(v)) for k, v in views.items()))
            agreeing = agreeing + 1 if state == previous else 1
            previous = state
            stage = infer_stage(views, self.config.topology)
            entered = stage is not None and not entry_check(stage, self.config.topology)(dict(latest))
            if stage is not None and entered and agreeing >= self.config.polling.settle_samples:
                return stage
            if self.now() >= started + max(limits.for_stage(time_limit_name(stage or "")), limits.default):
                summary = "; ".join(f"{k}: {v.role}/{v.status} target {v.target_status}" for k, v in views.items())
                where = f"looks like {stage} but its entry condition was not met" if stage else "cannot be placed"
                raise StageError(f"the pair {where} ({summary or 'no CLI view'})")
