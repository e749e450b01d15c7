"""What to observe for a row and when, and handing those observations to the verdicts.

A settled row is judged from the samples taken after its stage began, once `settle_samples` of them agree;
an in-progress row from the samples taken entirely while its command ran; SLD rows from one fresh sample of
both secondaries; rules from the whole timeline. Whatever the row, a change of the pair the harness did not
cause (`harness.interference`) turns it into ERROR and stops the run's judging.

What is decided is computed by `harness.judging` from the timeline's observations, and what each row was
judged on is marked in the timeline (a `judge` event), so a recorded run can be judged again offline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness import sld
from harness.config import TargetConfig
from harness.console import Display, LineDisplay
from harness.driver import Driver, StageError, StageUnreachable, Visit
from harness.interference import OutsideChange
from harness.judging import (
    JUDGE,
    RULE,
    SLD,
    TABLE,
    Judging,
    disturbed,
    first_outside_change,
    judge_event,
    judge_rule,
    judge_sld_row,
    judge_table_row,
    last_seq,
    rule_context,
    sld_latest,
)
from harness.observation import Observation, Timeline
from harness.overall import UNDECIDED
from harness.poll import sample_times, transient_checks, window_rows
from harness.results import RowResult
from harness.rules import RuleContext
from harness.spec import Spec
from harness.stages import NATURAL, time_limit_name
from harness.verdicts import Expectation, error
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
        self.judged: Judging | None = None  # what the last row was judged on (its `judge` event)
        self._checked_seq = -1  # the last observation the interference check has seen

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
        return self._decided(self._undisturbed(self.judge(exp, visit, in_progress)))

    def judge(self, exp: Expectation, visit: Visit, in_progress: bool) -> RowResult:
        """The row judged at this visit (`harness.judging.judge_table_row`); `self.judged` says on what."""
        judging = Judging(exp.row_id, TABLE, exp.array, visit.stage, in_progress, visit.entered_at, visit.entered,
                          visit.window, visit.error, visit.timeout)  # fmt: skip
        if visit.error or (visit.timeout and not in_progress) or in_progress:
            seen = list(self.timeline.observations)
            result = judge_table_row(exp, judging, seen, self.config.polling.settle_samples)
            assert result is not None  # only settled rows wait
            self.judged = replace(judging, through_seq=last_seq(seen))
            return result
        return self._judge_settled(exp, judging)

    def _judge_settled(self, exp: Expectation, judging: Judging) -> RowResult:
        settle = self.config.polling.settle_samples
        deadline = self.driver.now() + self.config.time_limits.for_stage(time_limit_name(judging.stage or ""))
        judging = replace(judging, deadline=deadline)
        seen: list[Observation] = []

        def attempt(final: bool) -> RowResult | None:
            seen[:] = self.timeline.observations
            return judge_table_row(exp, judging, seen, settle, final)

        self.display.waiting(f"{settle} settled samples", 0.0, None, by=exp.row_id)

        def heartbeat(elapsed: float, remaining: float) -> None:
            what = f"{settle} identical samples of {', '.join(exp.arrays)} at stage {judging.stage}"
            self.display.waiting(what, elapsed, elapsed + remaining, by=exp.row_id)

        result = self.poller.wait_for(lambda: attempt(False), deadline, heartbeat)
        final = result is None
        if final:
            result = attempt(True)
        assert result is not None  # a final attempt always decides
        self.judged = replace(judging, final=final, through_seq=last_seq(seen))
        return result

    def sld_row(self, row_id: str, check: str) -> RowResult:
        """SLD-02 (direction of the backup link's pairs) and SLD-03 (showrcopy on both secondaries)."""
        arrays = (sld.SYNC, sld.PERIODIC)
        if self.disturbance():
            return self._undecided(row_id, arrays)
        since = self.driver.reach(NATURAL).entered_at
        seen: list[Observation] = []
        latest: dict[str, Observation] = {}

        def sampled() -> bool | None:
            seen[:] = self.timeline.observations
            latest.clear()
            latest.update(sld_latest(seen, since))
            return True if len(latest) == len(arrays) else None

        self.poller.wait_for(sampled, self.driver.now() + self.config.time_limits.default)
        result = judge_sld_row(row_id, check, latest, self.spec)
        self.judged = Judging(row_id, SLD, arrays, NATURAL, check=check, since=since, through_seq=last_seq(seen))
        return self._decided(self._undisturbed(result))

    def rule(self, rule_id: str) -> RowResult:
        if self.disturbance():
            return self._undecided(rule_id)
        seen = list(self.timeline.observations)
        result = judge_rule(rule_id, seen, self._rule_context(), self.spec)
        self.judged = Judging(rule_id, RULE, observed=tuple(self.driver.observed), through_seq=last_seq(seen))
        return self._decided(result)

    def _rule_context(self) -> RuleContext:
        return rule_context(self.driver.observed, self.driver.busy, self.driver.probes, self.group, self.spec)

    def _decided(self, result: RowResult) -> RowResult:
        """Mark what the row was judged on (a `judge` event), for re-judging the recorded run."""
        if self.judged is not None and self.judged.row == result.id:
            self.poller.mark(JUDGE, **judge_event(replace(self.judged, checked_seq=self._checked_seq)))
        self.judged = None
        return result

    # ------------------------------------------------------------------ someone else acting on the pair
    def disturbance(self) -> str | None:
        """What someone else did to the pair (a change of role or group status while no step of the harness
        was under way), once seen: the run then stops judging and sends nothing more."""
        if self.interference is None and self.watch_interference:
            seen = list(self.timeline.observations)
            self._checked_seq = last_seq(seen)
            found = first_outside_change(seen, self.driver.busy)
            if found:
                self.interference = found
                self.progress(f"STOPPING: {self.interference.describe()}")
                self.poller.mark("pair_changed", reason=self.interference.describe())
        return self.interference.describe() if self.interference else None

    def _undisturbed(self, result: RowResult) -> RowResult:
        """The row's verdict, unless the pair changed under the harness while it was being judged."""
        return disturbed(result, self.disturbance())

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
