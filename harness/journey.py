"""A journey: one group under test taken through the stages its rows need, observed and judged.

A journey owns its sessions to the arrays, its poller and its driver; `harness.run.Run` owns the
journey, the simulated arrays and the result files. Nothing here is global: two runs in one process
do not interfere.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from harness import sld
from harness.actions import ActionError, ActionRunner, Control
from harness.array_cli import CliError, CliResult, Transcript
from harness.cim import CimError
from harness.config import ConfigError, TargetConfig
from harness.drive import NATURAL, PASS_THROUGH, Leg, NoPath, StageGraph, Step, command_text
from harness.instance_set import instance_set_problems
from harness.interference import OutsideChange, outside_changes
from harness.observe import Observation, Timeline
from harness.overall import UNDECIDED
from harness.poll import ArrayProbe, Poller, group_state, sample_times, transient_checks, window_rows
from harness.results import RowResult, Verdict
from harness.rules import RuleContext, check_rules, table106_from_spec
from harness.session import NATURAL_ROLES, PreflightError, Session, natural_problems
from harness.spec import load_spec
from harness.verdicts import (
    Expectation,
    error,
    judge_each,
    judge_in_progress,
    judge_settled,
    stage_not_reached,
)
from harness.verdicts import skipped as skipped_result

Progress = Callable[[str], None]
LINK_DOWN_STAGES = ("primary_down", "recover_failed")


TEARDOWN_ATTEMPTS = 3
"""Ways back to natural tried, each planned from what the arrays show at its start."""


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
    window: tuple[float, float] | None = None  # the in-progress window (command run time)
    command: CliResult | None = None
    error: str | None = None  # a step failed or could not run: the stage's rows are ERROR
    timeout: str | None = None  # the commands were accepted, the stage never arrived: its settled rows FAIL


def stderr_progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class RunContext:
    """What the journeys of one run share."""

    config: TargetConfig  # with the arrays filled in (simulated arrays already started)
    transcript: Transcript
    observation_sink: Callable[[Observation], None]
    allow_disruptive: bool
    progress: Progress = stderr_progress
    t0: float = field(default_factory=time.monotonic)
    seq: Iterator[int] = field(default_factory=itertools.count)


class Journey:
    def __init__(
        self, ctx: RunContext, group: str, require_natural: bool = True, watch_interference: bool = True
    ) -> None:
        self.ctx = ctx
        self.require_natural = require_natural
        self.watch_interference = watch_interference  # restore starts wherever the pair is, still moving
        self.interference: OutsideChange | None = None  # the first change the harness did not cause
        self.config = ctx.config
        self.group = group
        self.progress = ctx.progress
        self.spec = load_spec()
        self.allow_disruptive = ctx.allow_disruptive
        self.timeline = Timeline()
        self.transcript = ctx.transcript
        self.session: Session | None = None
        self.poller: Poller | None = None
        self.actions: ActionRunner | None = None
        self.graph: StageGraph | None = None
        self.current = NATURAL
        self.last_visit: Visit | None = None
        self.setup_error: str | None = None
        self.busy: list[tuple[float, float]] = []
        self.probes: list[dict[str, Any]] = []
        self.t0 = ctx.t0
        self.final_state: dict[str, Any] = {}
        self.torn_down = False
        self.manual_wait = 0.0  # a manual action's own time limit for the wait that follows it

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Connect, preflight, start observing."""
        try:
            self._start()
        except (PreflightError, CliError, ActionError, ConfigError) as exc:
            self.setup_error = f"preflight failed: {exc}"
            self.progress(f"smis-harness: {self.setup_error}")

    def _start(self) -> None:
        self.progress(f"connecting to {', '.join(self.config.array_keys)}")
        self.session = Session.open(self.config, self.transcript)
        self.session.preflight(self.group, self.progress, self.require_natural)
        natural = " natural" if self.require_natural else ""
        self.progress(f"preflight passed: group {self.group}{natural} on every array")
        control = self.config.simulator_control()
        self.actions = ActionRunner(
            self.config.action_specs(self.group),
            {k: h.cli for k, h in self.session.arrays.items()},
            Control(control.url, control.token.get_secret_value()) if control else None,
        )
        self.graph = StageGraph(available=self.actions.available())
        self.poller = Poller(
            self._probes(),
            self.timeline,
            self.config.polling.interval,
            self.t0,
            sink=self.ctx.observation_sink,
            seq=self.ctx.seq,
            group=self.group,
            min_gap=self.config.polling.min_gap,
        )
        self.poller.start()
        if self.allow_disruptive:
            self._check_polling()

    def _check_polling(self) -> None:
        """Preflight: can the polling catch each command's in-progress state, given how long a sample takes?"""
        assert self.poller is not None
        keys = self._observed()
        wanted = 2  # the first sample of an array may include finding the group

        def sampled() -> bool | None:
            return True if all(len(self.timeline.of(k)) >= wanted for k in keys) else None

        self.poller.wait_for(sampled, self.now() + self.config.time_limits.default)
        polling = self.config.polling
        checks = transient_checks(
            window_rows(self.spec.rows.values(), self.config.topology),
            polling.transients.model_dump(),
            polling.min_gap,
            sample_times(self.timeline, keys),
        )
        for check in checks:
            self.progress(f"preflight: polling: {check.describe()}")
        warnings = [c.describe() for c in checks if not c.ok]
        self.poller.mark("polling_check", ok=not warnings, warnings=warnings)

    def _probes(self) -> list[ArrayProbe]:
        assert self.session is not None
        probes = []
        for key in self.session.observed_keys():
            handle = self.session.arrays[key]
            peer_serial = None
            if self.config.topology == "sld":
                peer_ident = self.session.arrays[handle.peer_key].cli_identity
                peer_serial = peer_ident[1] if peer_ident else None
            probes.append(
                ArrayProbe(
                    key, handle.cim, handle.cli, handle.group, handle.group_name, handle.target_name, peer_serial
                )
            )
        return probes

    def teardown(self) -> None:
        """Return the group to its natural state (once); the rules then also judge the way back."""
        if self.torn_down or self.session is None or self.setup_error is not None:
            return
        self.torn_down = True
        self._teardown()

    def close(self) -> None:
        """Teardown (back to natural), stop observing, close the sessions."""
        try:
            self.teardown()
        finally:
            if self.poller is not None:
                self.poller.stop()
            if self.session is not None:
                self.session.close()

    def _teardown(self) -> None:
        """Back to natural, planned from what the arrays show now (never from the last stage the harness
        completed: an interrupted command may have gone through, or may still be running). A way back that
        goes wrong is planned again from what the arrays then show. Never raises; always sets final_state."""
        problems: list[str] = []
        disturbed = self.disturbance()
        if disturbed is not None:  # never fight another operator: send nothing more, say what is there
            self.progress(f"TEARDOWN NOT ATTEMPTED: {disturbed}; the harness sends nothing more to this pair")
        attempts = 0 if disturbed else TEARDOWN_ATTEMPTS
        for attempt in range(1, attempts + 1):
            problems = self._teardown_attempt()
            if not problems or attempt == TEARDOWN_ATTEMPTS:
                break
            self.progress(f"teardown attempt {attempt} did not get back ({'; '.join(problems)}); looking again")
        latest = self._fresh_views(self.now())  # one look after teardown: both for the check and the advice
        problems += self._natural_now(latest)
        self.final_state = {
            "natural": not problems,
            "stage": self.current,
            "problems": problems,
            "commands_to_run": [] if not problems else self.commands_to_run(latest),
            **({"teardown": f"not attempted: {disturbed}"} if disturbed else {}),
        }
        if problems:
            self.progress("TEARDOWN COULD NOT CONFIRM THE NATURAL STATE: " + "; ".join(problems))
            for cmd in self.final_state["commands_to_run"]:
                self.progress(f"  to restore by hand: {cmd}")
        else:
            self.progress("teardown: group back in its natural state")

    def _teardown_attempt(self) -> list[str]:
        try:
            self.current = self._settled_stage()
            self.progress(f"teardown: the arrays show stage {self.current}; returning {self.group} to natural")
            if self.current == NATURAL:
                return []
            self.last_visit = None
            visit = self.reach(NATURAL)
            return [str(visit.error or visit.timeout)] if visit.error or visit.timeout else []
        except StageError as exc:
            self.current = "unknown"
            return [str(exc)]
        except Exception as exc:  # teardown reports; it never takes the results down with it
            self.current = "unknown"
            return [f"teardown failed: {type(exc).__name__}: {exc}"]

    def _fresh_views(self, since: float) -> dict[str, Observation]:
        """One observation of each array taken after `since` (waits up to the default time limit)."""
        assert self.poller is not None
        latest: dict[str, Observation] = {}

        def fresh() -> bool | None:
            for key in self._observed():
                obs = self._latest(key, since)
                if obs is None:
                    return None
                latest[key] = obs
            return True

        self.poller.wait_for(fresh, since + self.config.time_limits.default)
        return latest

    def _settled_stage(self) -> str:
        """The stage the arrays show once it stops moving: the same CLI state in `settle_samples` fresh rounds
        and that stage's entry condition met (a command the harness no longer waits for may still be
        running on the array: a recover still resyncing, or failing half way)."""
        started = self.now()
        previous: tuple[Any, ...] | None = None
        agreeing = 0
        while True:
            latest = self._fresh_views(self.now())
            views = {k: o.cli for k, o in latest.items() if o.cli is not None}
            state = tuple(sorted((k, group_state(v)) for k, v in views.items()))
            agreeing = agreeing + 1 if state == previous else 1
            previous = state
            stage = infer_stage(views, self.config.topology)
            entered = stage is not None and not self._entry_condition(stage)(dict(latest))
            if entered and agreeing >= self.config.polling.settle_samples:
                return stage  # type: ignore[return-value]
            limit = self.config.time_limits.for_stage((stage or "").split(":")[0].removesuffix("_failed"))
            if self.now() >= started + max(limit, self.config.time_limits.default):
                summary = "; ".join(f"{k}: {v.role}/{v.status} target {v.target_status}" for k, v in views.items())
                where = f"looks like {stage} but its entry condition was not met" if stage else "cannot be placed"
                raise StageError(f"the pair {where} ({summary or 'no CLI view'})")

    def _natural_now(self, latest: dict[str, Observation]) -> list[str]:
        """What keeps the group from its natural state, from observations taken after teardown."""
        problems = []
        for key in self._observed():
            obs = latest.get(key)
            if obs is None:
                problems.append(f"{key}: not observed after teardown (no answer within the time limit)")
            elif obs.cli is None:
                problems.append(f"{key}: no CLI observation ({obs.cli_error})")
            else:
                problems += natural_problems(key, obs.cli, self.config.topology)
        return problems

    def commands_to_run(self, latest: dict[str, Observation] | None = None) -> list[str]:
        """What to do by hand to bring the group back: the planner's way from the stage the arrays show
        (`latest`, or observations taken now), else the generic sequence with the conditions under which
        each command applies."""
        assert self.session is not None
        names = {k: h.group_name for k, h in self.session.arrays.items()}
        latest = latest if latest is not None else self._fresh_views(self.now())
        views = {k: o.cli for k, o in latest.items() if o.cli is not None}
        stage = infer_stage(views, self.config.topology) or self.current
        if self.graph is not None and stage not in ("unknown", NATURAL):
            try:
                legs = self.graph.plan(stage, NATURAL)
            except NoPath:
                legs = []
            steps = [step for leg in legs for step in leg.steps]
            if steps:
                return [self._by_hand(step, names) for step in steps]
        return self._generic_restore_commands()

    def _by_hand(self, step: Step, names: dict[str, str]) -> str:
        if step.kind == "command":
            return step.describe(names)
        kind = (self.config.action_specs(self.group).get(step.name) or {}).get("kind", "not configured")
        return f"{step.kind} {step.name}: bring it about by hand (the configured action is {kind}), then go on"

    def _generic_restore_commands(self) -> list[str]:
        assert self.session is not None
        secondary = self.session.arrays.get("secondary")
        primary = self.session.arrays["primary"]
        commands = []
        if secondary is not None:
            on, g = f"on {secondary.key}:", secondary.group_name
            commands += [
                f"{on} setrcopygroup recover -f {g}  (if its role is Primary-Rev and the group is stopped)",
                f"{on} setrcopygroup restore -f {g}  (if its role is Primary-Rev and volumes are Synced)",
            ]
        commands.append(f"on {primary.key}: startrcopygroup {primary.group_name}  (if the group is stopped)")
        return commands

    # ------------------------------------------------------------------ driving
    def rel(self, monotonic_time: float) -> float:
        return monotonic_time - self.t0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def reach(self, stage: str) -> Visit:
        """Drive the pair to `stage` (or reuse the visit if the pair is still there) and return the visit."""
        if self.last_visit is not None and self.last_visit.stage == stage:
            return self.last_visit
        if self.current == stage and stage == NATURAL:
            visit = Visit(NATURAL, entered_at=self.now())
            self.last_visit = visit
            return visit
        assert self.graph is not None
        if self.current == "unknown":
            self.current = self._settled_stage()
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
        assert self.poller is not None
        self.poller.stage = f"{leg.source}->{leg.target}"
        self.progress(f"stage {leg.source} -> {leg.target}")
        started = self.now()
        visit = Visit(leg.target, entered_at=started)
        try:
            during: Step | None = None
            for step in leg.steps:
                if step.kind == "fault" and self._acts_during(step):
                    during = step  # runs while the next command runs
                    continue
                self._do(step, visit, during)
                during = None
            self._await_entry(leg.target)
        except StageTimeout as exc:
            return self._lost(visit, leg, exc, arrived_late=leg.steps[-1].kind == "command")
        except (StageError, ActionError, CliError) as exc:
            return self._lost(visit, leg, exc)
        finally:
            self.busy.append((started, self.now()))
        visit.entered_at = self.now()
        if leg.target in LINK_DOWN_STAGES:
            self._probe_entities()
        self.current = PASS_THROUGH.get(leg.target, leg.target)
        self.poller.stage = leg.target
        self.poller.mark("stage", stage=leg.target)
        return visit

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
        assert self.poller is not None
        self.poller.mark("stage_error", stage=leg.target, error=str(exc))
        return visit

    def _probe_entities(self) -> None:
        """RULE-04 probe while the link is down: entities only through Associators, never Enumerate/Get."""
        assert self.session is not None and self.poller is not None
        for key in self._observed():
            handle = self.session.arrays[key]
            if handle.group is None:
                continue
            try:
                found = handle.cim.probe_entities(handle.group)
            except CimError as exc:
                self.poller.mark("probe_error", array=key, error=str(exc))
                continue
            latest = self._latest(key)  # the link-down observation the probe goes with (evidence)
            probe = {"array": key, "t": round(self.now(), 3), "seq": latest.seq if latest else None, **found}
            self.probes.append(probe)
            self.poller.mark("entity_probe", **probe)

    def _acts_during(self, step: Step) -> bool:
        assert self.actions is not None
        return self.actions.actions.get(step.name, {}).get("during") is not None

    def _action(self, step: Step) -> None:
        assert self.poller is not None and self.actions is not None
        spec = self.actions.actions.get(step.name, {})
        if spec.get("kind") == "manual":  # the operator's own time limit governs the wait that follows
            self.manual_wait = max(self.manual_wait, float(spec.get("timeout", 0)))
        self.poller.mark(step.kind, name=step.name)
        self.progress(f"  {step.kind} action {step.name}")
        evidence = self.actions.run(step.name)
        self.poller.mark(f"{step.kind}_done", name=step.name, evidence=evidence)

    def _do(self, step: Step, visit: Visit, during: Step | None = None) -> None:
        assert self.poller is not None and self.session is not None and self.actions is not None
        if step.kind != "command":
            self._action(step)
            return
        handle = self.session.arrays[step.array or ""]
        text = command_text(step.name, handle.group_name)
        limit = self.config.time_limits.for_stage(
            step.name if step.name in ("failover", "recover", "restore") else "default"
        )
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
            visit.window = (self.rel(result.t_start), self.rel(result.t_end))
            visit.command = result

    def _run_with_fault(self, cli: Any, text: str, limit: float, fault: Step) -> CliResult:
        """Run a command while a fault action acts `during` seconds after it started."""
        assert self.actions is not None
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
        return outcome["result"]

    def _await_entry(self, stage: str) -> None:
        """Wait until the CLI shows the stage's entry condition (fresh samples of every observed array)."""
        assert self.poller is not None
        since = self.now()
        limit = max(self.config.time_limits.for_stage(stage.split(":")[0].removesuffix("_failed")), self.manual_wait)
        self.manual_wait = 0.0
        deadline = since + limit
        check = self._entry_condition(stage)
        waiting: list[str] = []

        def satisfied() -> bool | None:
            latest = {k: self._latest(k, since) for k in self._observed()}
            if any(obs is None for obs in latest.values()):
                waiting[:] = ["a fresh observation of every array"]
                return None
            problems = check(latest)
            waiting[:] = problems
            return True if not problems else None

        self.progress(f"  waiting for stage {stage} (limit {limit:g}s)")

        def heartbeat(elapsed: float, remaining: float) -> None:
            what = "; ".join(waiting) or "the stage's entry condition"
            self.progress(f"  stage {stage}: waiting for {what} ({elapsed:.0f}s elapsed, {remaining:.0f}s left)")

        if self.poller.wait_for(satisfied, deadline, heartbeat) is None:
            raise StageTimeout(f"not seen within {limit:g}s; still waiting for: {'; '.join(waiting)}")

    def _entry_condition(self, stage: str) -> Callable[[dict[str, Observation | None]], list[str]]:
        topology = self.config.topology

        def cli_of(latest: dict[str, Observation | None], key: str) -> Any:
            obs = latest.get(key)
            return obs.cli if obs else None

        def natural(latest: dict[str, Observation | None]) -> list[str]:
            problems = []
            for key in latest:
                view = cli_of(latest, key)
                problems += natural_problems(key, view, topology) if view else [f"{key}: CLI not readable"]
            return problems

        def primary_down(latest: dict[str, Observation | None]) -> list[str]:
            view = cli_of(latest, "secondary")
            if view is None or view.target_status == "ready" or view.status != "Stopped":
                return ["secondary: target not ready and group Stopped"]
            return []

        def primary_up(latest: dict[str, Observation | None]) -> list[str]:
            problems = []
            for key in latest:
                view = cli_of(latest, key)
                if view is None or view.target_status != "ready":
                    problems.append(f"{key}: reachable with target ready")
            return problems

        def volumes(status: str) -> Callable[[dict[str, Observation | None]], list[str]]:
            def check(latest: dict[str, Observation | None]) -> list[str]:
                view = cli_of(latest, "primary")
                if view is None or not view.volumes or any(v.sync_status != status for v in view.volumes):
                    return [f"primary: volumes {status}"]
                return []

            return check

        def started_synced(latest: dict[str, Observation | None]) -> list[str]:
            """The command returned; the stage begins when every array shows the group Started and Synced."""
            problems = []
            for key in latest:
                view = cli_of(latest, key)
                if view is None:
                    problems.append(f"{key}: CLI not readable")
                    continue
                statuses = sorted({v.sync_status for v in view.volumes})
                if view.status != "Started" or statuses != ["Synced"]:
                    shown = ", ".join(statuses) or "none"
                    problems.append(f"{key}: group Started with volumes Synced (now {view.status}, volumes {shown})")
            return problems

        def recover_failed(latest: dict[str, Observation | None]) -> list[str]:
            view = cli_of(latest, "secondary")
            return [] if view is not None and view.status == "Stopped" else ["secondary: group Stopped"]

        def nothing(latest: dict[str, Observation | None]) -> list[str]:
            return []

        if stage.startswith("normal:"):
            status = stage.split(":", 1)[1]
            return natural if status == "Syncing" else volumes(status)
        return {
            NATURAL: natural,
            "restore": natural,
            "primary_down": primary_down,
            "primary_up": primary_up,
            "recover": started_synced,
            "recover_failed": recover_failed,
        }.get(stage, nothing)

    def _during(self, array: str, start: float, end: float) -> list[Observation]:
        """Samples taken entirely while the command ran (one that ends after it may show the result)."""
        return [o for o in self.timeline.of(array, start, end) if o.t_end <= end]

    def _observed(self) -> list[str]:
        assert self.session is not None
        return self.session.observed_keys()

    def _latest(self, array: str, since: float = 0.0) -> Observation | None:
        for obs in reversed(self.timeline.observations):
            if obs.array == array:
                return obs if obs.t_start >= since else None
        return None

    # ------------------------------------------------------------------ judging
    def judge(self, exp: Expectation, visit: Visit, in_progress: bool) -> RowResult:
        if visit.error:
            return error(exp.row_id, visit.error, exp.array)
        assert self.poller is not None
        if visit.timeout and not in_progress:
            return stage_not_reached(exp, {a: self._latest(a) for a in exp.arrays}, visit.timeout)
        if in_progress:
            if visit.window is None:
                return error(exp.row_id, f"stage {visit.stage} has no in-progress window", exp.array)
            start, end = visit.window
            if len(exp.arrays) > 1:
                by_array = {a: self._during(a, start, end) for a in exp.arrays}
                result = judge_each(exp, by_array, in_progress=True, window=visit.window, stage=visit.stage)
                assert result is not None
                return result
            return judge_in_progress(
                exp, self._during(exp.arrays[0], start, end), window=visit.window, stage=visit.stage
            )
        settle = self.config.polling.settle_samples
        deadline = self.now() + self.config.time_limits.for_stage(visit.stage.split(":")[0])

        def attempt(final: bool) -> RowResult | None:
            if len(exp.arrays) > 1:
                by_array = {a: self.timeline.of(a, visit.entered_at) for a in exp.arrays}
                return judge_each(exp, by_array, settle_samples=settle, final=final, stage=visit.stage)
            samples = self.timeline.of(exp.arrays[0], visit.entered_at)
            return judge_settled(exp, samples, settle, final, stage=visit.stage)

        self.progress(f"  {exp.row_id}: waiting for {settle} settled samples")

        def heartbeat(elapsed: float, remaining: float) -> None:
            self.progress(
                f"  {exp.row_id}: still waiting for {settle} identical samples of {', '.join(exp.arrays)} "
                f"at stage {visit.stage} ({elapsed:.0f}s elapsed, {remaining:.0f}s left)"
            )

        result = self.poller.wait_for(lambda: attempt(False), deadline, heartbeat)
        return result or attempt(True)  # type: ignore[return-value]

    def evaluate_row(self, exp: Expectation, stage: str, in_progress: bool) -> RowResult:
        """Drive to the row's stage and judge it."""
        if self.setup_error:
            return skipped_result(exp.row_id, self.setup_error, exp.array)
        if stage != NATURAL and not self.allow_disruptive:
            reason = ("disruptive: runs only with `safety: disruptive: true` in the config and --allow-disruptive "
                      "on the command line")  # fmt: skip
            return skipped_result(exp.row_id, reason, exp.array)
        if self.disturbance():
            return self._undecided(exp.row_id, exp.array)
        self.progress(f"{exp.row_id}: stage {stage}{' (in progress)' if in_progress else ''}")
        try:
            visit = self.reach(stage)
        except StageUnreachable as exc:
            return skipped_result(exp.row_id, str(exc), exp.array)
        except StageError as exc:  # the pair could not be placed or did not settle where it was: nothing seen
            return self._undisturbed(error(exp.row_id, f"stage {stage} not reached: {exc}", exp.array))
        return self._undisturbed(self.judge(exp, visit, in_progress))

    def disturbance(self) -> str | None:
        """What someone else did to the pair (a change of role or group status while no step of the harness
        was under way), once seen: the run then stops judging and sends nothing more."""
        if self.interference is None and self.watch_interference:
            found = outside_changes(list(self.timeline.observations), list(self.busy))
            if found:
                self.interference = found[0]
                self.progress(f"STOPPING: {self.interference.describe()}")
                if self.poller is not None:
                    self.poller.mark("pair_changed", reason=self.interference.describe())
        return self.interference.describe() if self.interference else None

    def _undisturbed(self, result: RowResult) -> RowResult:
        """The row's verdict, unless the pair changed under the harness while it was being judged."""
        disturbed = self.disturbance()
        if disturbed is None:
            return result
        return replace(result, verdict=Verdict.ERROR, reason=f"{disturbed} (what was judged: {result.verdict!s}: "
                       f"{result.reason})")  # fmt: skip

    def _undecided(self, row_id: str, array: str | tuple[str, ...] | None = None) -> RowResult:
        return error(row_id, f"{UNDECIDED}: the run stopped: {self.disturbance()}", array)

    def evaluate_sld(self, row_id: str, check: str) -> RowResult:
        """SLD-02 (direction of the backup link's pairs) and SLD-03 (showrcopy on both secondaries)."""
        arrays = (sld.SYNC, sld.PERIODIC)
        if self.setup_error:
            return skipped_result(row_id, self.setup_error, arrays)
        if self.disturbance():
            return self._undecided(row_id, arrays)
        assert self.poller is not None
        since = self.reach(NATURAL).entered_at
        latest: dict[str, Observation] = {}

        def sampled() -> bool | None:
            for key in arrays:
                obs = self._latest(key, since)
                if obs is None:
                    return None
                latest[key] = obs
            return True

        self.poller.wait_for(sampled, self.now() + self.config.time_limits.default)
        problems = sld.direction_problems(latest) if check == "direction" else sld.backup_cli_problems(latest)
        if check == "direction":
            problems += [f"{k}: instance set: {p}" for k, obs in latest.items() for p in instance_set_problems(obs)]
        if len(latest) < len(arrays):
            problems = ["no observation of both secondaries within the time limit"]
        row = self.spec.rows[row_id]
        result = RowResult(
            id=row_id,
            verdict=Verdict.FAIL if problems else Verdict.PASS,
            array=arrays,
            expected={"rule": row.text},
            observed={"problems": problems},
            reason="; ".join(problems) if problems else f"{row.text}: as expected on both secondaries",
            evidence=list(sld.evidence(latest)),
        )
        return self._undisturbed(result)

    def evaluate_rule(self, rule_id: str) -> RowResult:
        if self.setup_error:
            return skipped_result(rule_id, self.setup_error)
        if self.disturbance():
            return self._undecided(rule_id)
        results = check_rules(list(self.timeline.observations), self._rule_context())
        found = results[rule_id]
        evidence = [int(v["seq"]) for v in found.violations if v.get("seq") is not None]
        row = RowResult(
            id=rule_id,
            verdict=found.verdict,
            array=None,
            expected={"rule": self.spec.rows[rule_id].text},
            observed={"checked": found.checked, "violations": found.violation_count, "examples": found.violations},
            reason=found.reason,
            evidence=evidence,
        )
        return row

    def _rule_context(self) -> RuleContext:
        assert self.session is not None
        keys = self._observed()
        return RuleContext(
            configured_roles={k: NATURAL_ROLES[k] for k in keys},
            busy_windows=list(self.busy),
            table106=table106_from_spec(self.spec),
            source_group=self.group,
            probes=list(self.probes),
        )

    def manifest_arrays(self) -> dict[str, Any]:
        if self.session is None:
            return {}
        return {k: h.manifest() for k, h in self.session.arrays.items()}


def infer_stage(views: dict[str, Any], topology: str) -> str | None:
    """The stage the CLI views describe, or None when they fit no stage of the graph."""
    secondary = views.get("secondary")
    if topology != "pair" or secondary is None:
        return NATURAL if all(not natural_problems(k, v, topology) for k, v in views.items()) and views else None
    statuses = {v.sync_status for v in secondary.volumes}
    link_up = secondary.target_status == "ready"
    if secondary.role == "Secondary":
        if all(not natural_problems(k, v, topology) for k, v in views.items()) and len(views) == 2:
            return NATURAL
        if not link_up:
            return "primary_down"
        single = next(iter(statuses)) if len(statuses) == 1 else None
        return {"Stopped": "normal:Stopped", "New": "normal:New", "NotSynced": "normal:NotSynced",
                "Stale": "normal:Stale", "Synced": "normal:Stopped"}.get(single or "")  # fmt: skip
    if secondary.role == "Primary-Rev":
        if not link_up:
            return "failover"
        if secondary.status == "Started":  # recovered, or still resyncing after recover returned
            return "recover"
        return "primary_up"
    return None
