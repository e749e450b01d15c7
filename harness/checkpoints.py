"""What to observe for a row and when, and handing those observations to the verdicts.

A settled row is judged from the samples taken after its stage began, once `settle_samples` of them agree;
an in-progress row from the samples taken entirely while its command ran; SLD rows from one fresh sample of
both secondaries; rules from the whole timeline. Whatever the row, a change of the pair the harness did not
cause (`harness.interference`) turns it into ERROR and stops the run's judging.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness import sld
from harness.config import TargetConfig
from harness.console import Display, LineDisplay
from harness.driver import Driver, StageError, StageUnreachable, Visit
from harness.instance_set import instance_set_problems
from harness.interference import OutsideChange, outside_changes
from harness.observation import Observation, Timeline
from harness.overall import UNDECIDED
from harness.poll import sample_times, transient_checks, window_rows
from harness.results import RowResult, Verdict
from harness.rules import RuleContext, check_rules, table106_from_spec
from harness.spec import Spec
from harness.stages import NATURAL, NATURAL_ROLES, time_limit_name
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


class Checkpoints:
    def __init__(
        self,
        config: TargetConfig,
        group: str,
        driver: Driver,
        poller: Any,
        timeline: Timeline,
        spec: Spec,
        progress: Progress,
        watch_interference: bool = True,
        display: Display | None = None,
    ) -> None:
        self.config = config
        self.group = group
        self.driver = driver
        self.poller = poller
        self.timeline = timeline
        self.spec = spec
        self.progress = progress
        self.display: Display = display or LineDisplay(progress)
        self.watch_interference = watch_interference  # restore starts wherever the pair is, still moving
        self.interference: OutsideChange | None = None  # the first change the harness did not cause

    # ------------------------------------------------------------------ rows
    def row(self, exp: Expectation, stage: str, in_progress: bool) -> RowResult:
        """Drive to the row's stage and judge it there."""
        if self.disturbance():
            return self._undecided(exp.row_id, exp.array)
        self.display.row_started(exp.row_id, stage, in_progress)
        try:
            visit = self.driver.reach(stage)
        except StageUnreachable as exc:
            return skipped_result(exp.row_id, str(exc), exp.array)
        except StageError as exc:  # the pair could not be placed or did not settle where it was: nothing seen
            return self._undisturbed(error(exp.row_id, f"stage {stage} not reached: {exc}", exp.array))
        return self._undisturbed(self.judge(exp, visit, in_progress))

    def judge(self, exp: Expectation, visit: Visit, in_progress: bool) -> RowResult:
        if visit.error:
            return error(exp.row_id, visit.error, exp.array)
        if visit.timeout and not in_progress:
            return stage_not_reached(exp, {a: self.timeline.latest(a) for a in exp.arrays}, visit.timeout)
        if in_progress:
            return self._judge_window(exp, visit)
        return self._judge_settled(exp, visit)

    def _judge_window(self, exp: Expectation, visit: Visit) -> RowResult:
        if visit.window is None:
            return error(exp.row_id, f"stage {visit.stage} has no in-progress window", exp.array)
        start, end = visit.window
        by_array = {a: self.timeline.during(a, start, end) for a in exp.arrays}
        if len(exp.arrays) > 1:
            result = judge_each(exp, by_array, in_progress=True, window=visit.window, stage=visit.stage)
            assert result is not None  # in-progress judging always decides
            return result
        return judge_in_progress(exp, by_array[exp.arrays[0]], window=visit.window, stage=visit.stage)

    def _judge_settled(self, exp: Expectation, visit: Visit) -> RowResult:
        settle = self.config.polling.settle_samples
        deadline = self.driver.now() + self.config.time_limits.for_stage(time_limit_name(visit.stage))

        def attempt(final: bool) -> RowResult | None:
            by_array = {a: self.timeline.of(a, visit.entered_at) for a in exp.arrays}
            if len(exp.arrays) > 1:
                return judge_each(exp, by_array, settle_samples=settle, final=final, stage=visit.stage)
            return judge_settled(exp, by_array[exp.arrays[0]], settle, final, stage=visit.stage)

        self.display.waiting(f"{settle} settled samples", 0.0, None, by=exp.row_id)

        def heartbeat(elapsed: float, remaining: float) -> None:
            what = f"{settle} identical samples of {', '.join(exp.arrays)} at stage {visit.stage}"
            self.display.waiting(what, elapsed, elapsed + remaining, by=exp.row_id)

        result = self.poller.wait_for(lambda: attempt(False), deadline, heartbeat)
        final = result or attempt(True)
        assert final is not None  # a final attempt always decides
        return final

    def sld_row(self, row_id: str, check: str) -> RowResult:
        """SLD-02 (direction of the backup link's pairs) and SLD-03 (showrcopy on both secondaries)."""
        arrays = (sld.SYNC, sld.PERIODIC)
        if self.disturbance():
            return self._undecided(row_id, arrays)
        since = self.driver.reach(NATURAL).entered_at
        latest: dict[str, Observation] = {}

        def sampled() -> bool | None:
            for key in arrays:
                obs = self.timeline.latest(key, since)
                if obs is None:
                    return None
                latest[key] = obs
            return True

        self.poller.wait_for(sampled, self.driver.now() + self.config.time_limits.default)
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

    def rule(self, rule_id: str) -> RowResult:
        if self.disturbance():
            return self._undecided(rule_id)
        found = check_rules(list(self.timeline.observations), self._rule_context())[rule_id]
        evidence = [int(v["seq"]) for v in found.violations if v.get("seq") is not None]
        return RowResult(
            id=rule_id,
            verdict=found.verdict,
            array=None,
            expected={"rule": self.spec.rows[rule_id].text},
            observed={"checked": found.checked, "violations": found.violation_count, "examples": found.violations},
            reason=found.reason,
            evidence=evidence,
        )

    def _rule_context(self) -> RuleContext:
        return RuleContext(
            configured_roles={k: NATURAL_ROLES[k] for k in self.driver.observed},
            busy_windows=list(self.driver.busy),
            table106=table106_from_spec(self.spec),
            source_group=self.group,
            probes=list(self.driver.probes),
        )

    # ------------------------------------------------------------------ someone else acting on the pair
    def disturbance(self) -> str | None:
        """What someone else did to the pair (a change of role or group status while no step of the harness
        was under way), once seen: the run then stops judging and sends nothing more."""
        if self.interference is None and self.watch_interference:
            found = outside_changes(list(self.timeline.observations), list(self.driver.busy))
            if found:
                self.interference = found[0]
                self.progress(f"STOPPING: {self.interference.describe()}")
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

    # ------------------------------------------------------------------ preflight
    def check_polling(self) -> None:
        """Can the polling catch each command's in-progress state, given how long a sample takes?"""
        keys = self.driver.observed
        wanted = 2  # the first sample of an array may include finding the group

        def sampled() -> bool | None:
            return True if all(len(self.timeline.of(k)) >= wanted for k in keys) else None

        self.poller.wait_for(sampled, self.driver.now() + self.config.time_limits.default)
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
