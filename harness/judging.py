"""Judging a row is a pure function of (observations, events, config).

The live run (`harness.checkpoints`) decides *when* to judge: it drives the pair to a row's stage and waits
for samples. What it then decides is computed here, from a list of observations and a `Judging` (what the
row is judged on: its stage visit, its window, the samples there were when it was decided), and the
`Judging` is written into the timeline as a `judge` event. `smis-harness rejudge` (harness.rejudge) calls
the same functions with the observations rebuilt from the run's recording and the `judge` and `leg`
events of its results.json, so a recorded run is judged again by the current harness code.

Events this module reads and writes:

- `judge` (one per row decided on observations): `row`, `kind` (table | sld | rule), `array`, the
  visit (`stage`, `in_progress`, `entered_at`, `window`, `error`, `timeout`), for settled rows `deadline`
  and `final` (decided at the deadline, with whatever had settled), `through_seq` (the last observation
  of the timeline when the row was decided), `checked_seq` (the last one when the check for someone else
  acting on the pair ran after it), SLD rows' `check` and `since`, rules' `observed` arrays;
- `leg` (one per leg the driver travelled, at its end): `source`, `target`, `start`, `end`: the busy
  intervals of the rules and of the interference check (the run time from its first step until its stage
  was seen; `end` null: the leg was interrupted, its command may still run), and when the pair left a stage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from harness import sld
from harness.instance_set import instance_set_problems
from harness.interference import OutsideChange, outside_changes
from harness.observation import Observation, Timeline
from harness.results import RowResult, Verdict
from harness.rules import RuleContext, check_rules, table106_from_spec
from harness.spec import Spec
from harness.stages import NATURAL_ROLES
from harness.verdicts import Expectation, error, judge_each, judge_in_progress, judge_settled, stage_not_reached

JUDGE = "judge"
LEG = "leg"
PROBE = "entity_probe"
TABLE, SLD, RULE = "table", "sld", "rule"


@dataclass(frozen=True)
class Judging:
    """What one row was judged on (a `judge` event; see the module's doc)."""

    row: str
    kind: str  # TABLE | SLD | RULE
    array: str | tuple[str, ...] | None = None
    stage: str | None = None
    in_progress: bool = False
    entered_at: float | None = None  # run time from which settled observations count
    entered: Mapping[str, float] | None = None  # per array: when the sample that confirmed the stage started
    window: tuple[float, float] | None = None  # the in-progress window (the command's run time)
    error: str | None = None  # a step failed: the row is ERROR
    timeout: str | None = None  # the stage never arrived: a settled row FAILs
    deadline: float | None = None  # settled rows: run time at which the row is decided with what settled
    final: bool = False  # settled rows: decided at the deadline (not by samples that agreed)
    through_seq: int = -1  # the last observation of the timeline when the row was decided (-1: none)
    checked_seq: int = -1  # the last observation when the interference check ran after the decision
    check: str | None = None  # SLD rows: direction | cli
    since: float | None = None  # SLD rows: run time from which the latest observation of each array counts
    observed: tuple[str, ...] = ()  # rules: the observed arrays (their natural roles are the configured ones)

    def event(self) -> dict[str, Any]:
        data = asdict(self)
        data["array"] = list(self.array) if isinstance(self.array, tuple) else self.array
        data["window"] = list(self.window) if self.window else None
        data["observed"] = list(self.observed)
        data["entered"] = dict(self.entered) if self.entered is not None else None
        return data

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Judging:
        array = event.get("array")
        window = event.get("window")
        return cls(
            row=str(event["row"]),
            kind=str(event.get("judged") or TABLE),
            array=tuple(array) if isinstance(array, list) else array,
            stage=event.get("stage"),
            in_progress=bool(event.get("in_progress")),
            entered_at=event.get("entered_at"),
            entered=event.get("entered"),
            window=(float(window[0]), float(window[1])) if window else None,
            error=event.get("error"),
            timeout=event.get("timeout"),
            deadline=event.get("deadline"),
            final=bool(event.get("final")),
            through_seq=int(event.get("through_seq", -1)),
            checked_seq=int(event.get("checked_seq", -1)),
            check=event.get("check"),
            since=event.get("since"),
            observed=tuple(event.get("observed") or ()),
        )


def judge_event(judging: Judging) -> dict[str, Any]:
    """The `judge` event's details (`Poller.mark(JUDGE, **...)`; `kind` is the event's own, so the row's
    kind is `judged`)."""
    data = judging.event()
    data["judged"] = data.pop("kind")
    return data


def last_seq(observations: Sequence[Observation]) -> int:
    return observations[-1].seq if observations else -1


def upto(observations: Sequence[Observation], seq: int) -> list[Observation]:
    """The observations a decision saw: those up to and including `seq` (the timeline is in seq order)."""
    return [o for o in observations if o.seq <= seq]


# --------------------------------------------------------------------------- Table 106/107 rows (and SLD-01)


def judge_table_row(
    exp: Expectation,
    judging: Judging,
    observations: Sequence[Observation],
    settle_samples: int,
    final: bool | None = None,
) -> RowResult | None:
    """A documented row judged at its stage visit from `observations` (the run's timeline, in order).

    A failed step is ERROR; a stage that never arrived FAILs a settled row with what was last observed; an
    in-progress row is judged from the samples taken entirely inside its window; a settled row from the
    samples that started once its stage was entered (None while they have not settled and not `final`;
    `final` defaults to the judging's)."""
    if judging.error:
        return error(exp.row_id, judging.error, exp.array)
    timeline = Timeline(list(observations))
    if judging.timeout and not judging.in_progress:
        return stage_not_reached(exp, {a: timeline.latest(a) for a in exp.arrays}, judging.timeout)
    if judging.in_progress:
        return judge_window(exp, timeline, judging.window, judging.stage)
    since = judging.entered_at if judging.entered_at is not None else 0.0
    entered = {a: (judging.entered or {}).get(a, since) for a in exp.arrays}
    return judge_settled_at(exp, timeline, entered, settle_samples, judging.final if final is None else final,
                            judging.stage)  # fmt: skip


def judge_window(
    exp: Expectation, timeline: Timeline, window: tuple[float, float] | None, stage: str | None
) -> RowResult:
    if window is None:
        return error(exp.row_id, f"stage {stage} has no in-progress window", exp.array)
    start, end = window
    by_array = {a: timeline.during(a, start, end) for a in exp.arrays}
    if len(exp.arrays) > 1:
        result = judge_each(exp, by_array, in_progress=True, window=window, stage=stage)
        assert result is not None  # in-progress judging always decides
        return result
    return judge_in_progress(exp, by_array[exp.arrays[0]], window=window, stage=stage)


def judge_settled_at(
    exp: Expectation,
    timeline: Timeline,
    since: Mapping[str, float],
    settle_samples: int,
    final: bool,
    stage: str | None,
) -> RowResult | None:
    """`since`: per array, the run time from which its samples count."""
    by_array = {a: timeline.of(a, since[a]) for a in exp.arrays}
    if len(exp.arrays) > 1:
        return judge_each(exp, by_array, settle_samples=settle_samples, final=final, stage=stage)
    return judge_settled(exp, by_array[exp.arrays[0]], settle_samples, final, stage=stage)


# --------------------------------------------------------------------------- SLD-02, SLD-03


def sld_latest(observations: Sequence[Observation], since: float) -> dict[str, Observation]:
    """The latest observation of each backup array that started at or after `since` (arrays without one
    left out; the first missing array ends the list, as the live wait reads them in order)."""
    timeline = Timeline(list(observations))
    latest: dict[str, Observation] = {}
    for key in sld.BACKUP_ARRAYS:
        obs = timeline.latest(key, since)
        if obs is None:
            break
        latest[key] = obs
    return latest


def judge_sld_row(row_id: str, check: str, latest: Mapping[str, Observation], spec: Spec) -> RowResult:
    """SLD-02 (direction of the backup link's pairs) and SLD-03 (showrcopy on both secondaries)."""
    arrays = sld.BACKUP_ARRAYS
    problems = sld.direction_problems(latest) if check == "direction" else sld.backup_cli_problems(latest)
    if check == "direction":
        problems += [f"{k}: instance set: {p}" for k, obs in latest.items() for p in instance_set_problems(obs)]
    if len(latest) < len(arrays):
        problems = ["no observation of both secondaries within the time limit"]
    row = spec.rows[row_id]
    return RowResult(
        id=row_id,
        verdict=Verdict.FAIL if problems else Verdict.PASS,
        array=arrays,
        expected={"rule": row.text},
        observed={"problems": problems},
        reason="; ".join(problems) if problems else f"{row.text}: as expected on both secondaries",
        evidence=list(sld.evidence(latest)),
    )


# --------------------------------------------------------------------------- rules


def rule_context(
    observed: Sequence[str],
    busy: Sequence[tuple[float, float]],
    probes: Sequence[Mapping[str, Any]],
    group: str,
    spec: Spec,
) -> RuleContext:
    return RuleContext(
        configured_roles={k: NATURAL_ROLES[k] for k in observed},
        busy_windows=list(busy),
        table106=table106_from_spec(spec),
        source_group=group,
        probes=[dict(p) for p in probes],
    )


def judge_rule(rule_id: str, observations: Sequence[Observation], context: RuleContext, spec: Spec) -> RowResult:
    found = check_rules(list(observations), context)[rule_id]
    evidence = [int(v["seq"]) for v in found.violations if v.get("seq") is not None]
    return RowResult(
        id=rule_id,
        verdict=found.verdict,
        array=None,
        expected={"rule": spec.rows[rule_id].text},
        observed={"checked": found.checked, "violations": found.violation_count, "examples": found.violations},
        reason=found.reason,
        evidence=evidence,
    )


# --------------------------------------------------------------------------- someone else acting on the pair


def first_outside_change(
    observations: Sequence[Observation], busy: Sequence[tuple[float, float]]
) -> OutsideChange | None:
    found = outside_changes(list(observations), list(busy))
    return found[0] if found else None


def disturbed(result: RowResult, disturbance: str | None) -> RowResult:
    """The row's verdict, unless the pair changed under the harness while it was being judged."""
    if disturbance is None:
        return result
    return replace(result, verdict=Verdict.ERROR, reason=f"{disturbance} (what was judged: {result.verdict!s}: "
                   f"{result.reason})")  # fmt: skip


# --------------------------------------------------------------------------- from the events


def legs(events: Sequence[Mapping[str, Any]]) -> list[tuple[float, float]]:
    """The busy intervals the `leg` events give, in order (an interrupted leg's has no end: still open)."""
    return [(float(e["start"]), math.inf if e.get("end") is None else float(e["end"])) for e in events
            if e.get("kind") == LEG]  # fmt: skip


def probes(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The RULE-04 probe results the `entity_probe` events give (harness.driver)."""
    return [{k: v for k, v in e.items() if k not in ("kind", "group")} for e in events if e.get("kind") == PROBE]
