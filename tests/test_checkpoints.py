"""Judging on a scripted pair (manual time, no servers): settled rows from the samples after their stage
began, in-progress rows from the samples taken while their command ran, rules over the timeline, and a
change the harness did not cause turning the row into ERROR. Each test runs in milliseconds."""

from __future__ import annotations

from typing import Any

from harness.checkpoints import Checkpoints
from harness.interference import CHANGED_UNDER
from harness.spec import load_spec
from harness.verdicts import Expectation, Verdict
from tests.scripted_pair import ScriptedPair, scripted, someone_stops_the_group
from tests.test_driver import driver_for

SPEC = load_spec()
ENUMS = SPEC.enums


def values(copy_state: str, sync_state: str, progress: str) -> dict[str, int]:
    return {"CopyState": ENUMS["CopyState"][copy_state], "SyncState": ENUMS["SyncState"][sync_state],
            "ProgressStatus": ENUMS["ProgressStatus"][progress]}  # fmt: skip


def honest_secondary(pair: ScriptedPair) -> None:
    """What a conformant provider reports on the secondary for the stages these tests visit (Table 107)."""
    s = pair.arrays["secondary"]
    if s.role == "Primary-Rev" and s.target_status != "ready":
        s.cim = values("FailedOver", "Broken", "Failing Over" if pair.running == "failover" else "Completed")
    elif s.role == "Secondary" and s.target_status != "ready":
        s.cim = values("Broken", "Broken", "Completed")


def checkpoints_for(s: dict[str, Any], provider: Any = honest_secondary) -> Checkpoints:
    s["poller"].before_sample.append(lambda now: provider(s["pair"]))
    driver = driver_for(s)
    return Checkpoints(s["config"], "rcg", driver, s["poller"], s["timeline"], SPEC, lambda text: None)


def expectation(row_id: str) -> Expectation:
    return Expectation.from_row(SPEC.rows[row_id], SPEC)



def test_a_settled_row_passes_once_settle_samples_agree_after_its_stage_began() -> None:
    s = scripted()
    result = checkpoints_for(s).row(expectation("T107-03"), "failover", in_progress=False)
    assert result.verdict == Verdict.PASS, result.reason
    settle = s["config"].polling.settle_samples
    assert f"settled over {settle} samples" in result.reason and len(result.evidence) == settle
    done = next(e for e in s["timeline"].events if e["kind"] == "command_done")
    judged = [o for o in s["timeline"].observations if o.seq in result.evidence]
    assert all(o.t_start >= done["t"] for o in judged)  # nothing from before the stage counts
    # the sample that showed the stage had begun is the first one its settling counts
    first_after = next(o for o in s["timeline"].observations if o.array == judged[0].array and o.t_start >= done["t"])
    assert judged[0].seq == first_after.seq


def test_an_in_progress_row_is_judged_only_from_samples_inside_the_command_window() -> None:
    s = scripted()
    result = checkpoints_for(s).row(expectation("T107-02"), "failover", in_progress=True)
    assert result.verdict == Verdict.PASS, result.reason
    command = next(e for e in s["timeline"].events if e["kind"] == "command")
    done = next(e for e in s["timeline"].events if e["kind"] == "command_done")
    [seq] = result.evidence
    sample = next(o for o in s["timeline"].observations if o.seq == seq)
    assert command["t"] <= sample.t_start and sample.t_end <= done["t"]


def test_a_wrong_value_fails_the_row_with_expected_and_observed_named() -> None:
    def splitting(pair: ScriptedPair) -> None:  # E1 read literally: Splitting (10) instead of Failing Over (11)
        honest_secondary(pair)
        if pair.running == "failover":
            pair.arrays["secondary"].cim["ProgressStatus"] = ENUMS["ProgressStatus"]["Splitting"]

    s = scripted()
    result = checkpoints_for(s, splitting).row(expectation("T107-02"), "failover", in_progress=True)
    assert result.verdict == Verdict.FAIL
    assert "ProgressStatus expected Failing Over (11), observed Splitting (10)" in result.reason


def test_a_transient_no_sample_caught_is_not_observed() -> None:
    s = scripted()
    s["pair"].durations["failover"] = 0.0  # returns before any sample is taken inside it
    result = checkpoints_for(s).row(expectation("T107-02"), "failover", in_progress=True)
    assert result.verdict == Verdict.NOT_OBSERVED, result.reason


def test_someone_else_stopping_the_group_mid_row_is_error_and_later_rows_are_not_judged() -> None:
    s = scripted()
    checkpoints = checkpoints_for(s, provider=lambda pair: None)

    someone_stops_the_group(s, after=0.3)  # after the row's first sample, before it settles
    table106 = Expectation.from_row(SPEC.rows["T106-03"], SPEC, array=("primary", "secondary"))
    first = checkpoints.row(table106, "natural", in_progress=False)
    assert first.verdict == Verdict.ERROR and first.reason.startswith(CHANGED_UNDER), first.reason
    later = checkpoints.row(expectation("T107-01"), "primary_down", in_progress=False)
    assert later.verdict == Verdict.ERROR and "not decided: the run stopped" in later.reason
    assert s["pair"].sent == [] and s["actions"].ran == []  # nothing was driven for the later row
    assert checkpoints.rule("RULE-01").verdict == Verdict.ERROR


def test_rules_are_judged_over_the_whole_timeline_with_the_driver_busy_windows() -> None:
    s = scripted()
    checkpoints = checkpoints_for(s)
    checkpoints.row(expectation("T107-03"), "failover", in_progress=False)
    rule = checkpoints.rule("RULE-01")
    assert rule.verdict == Verdict.PASS, rule.reason
    assert rule.observed["checked"] > 0
