"""Driving on a scripted pair (manual time, no servers): which steps a stage takes, in which order, what a
refused command or a stage that never comes does, and the way back. Each test runs in milliseconds."""

from __future__ import annotations

import math
from typing import Any

import pytest

from harness.driver import Driver
from harness.judging import first_outside_change, legs
from harness.stages import NATURAL
from harness.teardown import commands_to_run, return_to_natural
from tests.scripted_pair import scripted


def driver_for(s: dict[str, Any], progress: list[str] | None = None) -> Driver:
    lines = progress if progress is not None else []
    return Driver(s["config"], "rcg", s["handles"], ["primary", "secondary"], s["poller"], s["actions"],
                  s["timeline"], s["pair"].clock, lines.append)  # fmt: skip


def kinds(s: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in s["timeline"].events]


def test_failover_is_reached_through_primary_down_then_the_command_on_the_secondary() -> None:
    s = scripted()
    driver = driver_for(s)
    visit = driver.reach("failover")
    assert s["actions"].ran == ["primary_down"]
    assert s["pair"].sent == [("secondary", "setrcopygroup failover -f -waittask rcg.r1")]
    # each leg ends with its busy interval (`leg`: from its first step until its stage was seen)
    assert kinds(s) == ["event", "event_done", "leg", "stage", "command", "command_done", "leg", "stage"]
    legs = [(e["start"], e["end"]) for e in s["timeline"].events if e["kind"] == "leg"]
    assert legs == driver.busy
    assert visit.stage == "failover" and visit.error is None and visit.timeout is None
    assert visit.window is not None and visit.window[1] - visit.window[0] == s["pair"].durations["failover"]
    assert driver.current == "failover" and len(driver.busy) == 2
    assert all(start <= end for start, end in driver.busy)


def test_a_visit_is_reused_while_the_pair_stays_at_its_stage() -> None:
    s = scripted()
    driver = driver_for(s)
    first = driver.reach("failover")
    assert driver.reach("failover") is first and len(s["pair"].sent) == 1


def test_a_refused_command_is_an_error_of_the_stage_and_the_pair_is_placed_again_from_what_it_shows() -> None:
    s = scripted()
    s["pair"].fail_next.add("failover")
    driver = driver_for(s)
    visit = driver.reach("failover")
    assert visit.error is not None and "refused setrcopygroup failover" in visit.error and visit.timeout is None
    assert driver.current == "unknown"
    assert driver.reach("failover") is visit and len(s["pair"].sent) == 1  # the stage's other rows: same error
    driver.reach(NATURAL)  # placed from what the arrays show (primary down, not failed over), then back
    assert s["actions"].ran == ["primary_down", "primary_up"]
    assert [c for _, c in s["pair"].sent][1:] == ["startrcopygroup -wait rcg"] and driver.current == NATURAL


def test_a_stage_that_never_comes_after_an_accepted_command_is_a_timeout_with_the_condition_waited_for() -> None:
    s = scripted(time_limits=scripted()["config"].time_limits.model_copy(update={"recover": 5}))
    s["pair"].volumes_stay_syncing = True
    driver = driver_for(s)
    visit = driver.reach("recover")
    assert visit.timeout is not None and visit.error is None
    assert "not seen within 5s" in visit.timeout and "group Started with volumes Synced" in visit.timeout
    assert driver.current == "unknown"


def test_a_stage_missing_its_action_is_unreachable_with_the_action_named() -> None:
    s = scripted(actions=("primary_down",))
    driver = driver_for(s)
    try:
        driver.reach("primary_up")
    except Exception as exc:
        assert type(exc).__name__ == "StageUnreachable" and "primary_up" in str(exc)
    else:
        raise AssertionError("primary_up reached without its action")
    assert s["pair"].sent == [] and s["actions"].ran == []


def test_teardown_plans_from_what_the_arrays_show_and_gets_back_to_natural() -> None:
    s = scripted()
    driver = driver_for(s)
    driver.reach("failover")
    driver.current = "primary_down"  # what the harness last believed; the arrays show failover
    final = return_to_natural(driver, s["actions"].actions)
    assert final["natural"] is True and final["problems"] == [] and final["commands_to_run"] == []
    assert [c for _, c in s["pair"].sent][1:] == ["setrcopygroup recover -f -waittask rcg.r1",
                                                   "setrcopygroup restore -f -waittask rcg.r1"]  # fmt: skip
    assert s["actions"].ran == ["primary_down", "primary_up"]
    assert driver.current == NATURAL


def test_teardown_sends_nothing_when_someone_else_acts_on_the_pair_and_says_what_to_run_by_hand() -> None:
    s = scripted()
    driver = driver_for(s)
    driver.reach("failover")
    sent = list(s["pair"].sent)
    lines: list[str] = []
    driver.progress = lines.append
    final = return_to_natural(driver, s["actions"].actions, disturbed="the pair changed under the harness: x")
    assert s["pair"].sent == sent and s["actions"].ran == ["primary_down"]
    assert final["natural"] is False and final["teardown"].startswith("not attempted")
    assert final["commands_to_run"][0].startswith("event primary_up")
    assert any("setrcopygroup recover" in c for c in final["commands_to_run"])
    assert any(line.startswith("TEARDOWN NOT ATTEMPTED") for line in lines)


def test_commands_to_run_by_hand_follow_the_planner_from_the_stage_the_arrays_show() -> None:
    s = scripted()
    driver = driver_for(s)
    driver.reach("primary_up")
    commands = commands_to_run(driver, s["actions"].actions)
    assert commands == ["on secondary: setrcopygroup recover -f -waittask rcg.r1",
                        "on secondary: setrcopygroup restore -f -waittask rcg.r1"]  # fmt: skip


def test_an_interrupted_leg_stays_busy_so_what_its_command_still_does_is_not_someone_else() -> None:
    s = scripted()
    driver = driver_for(s)
    driver.reach("primary_down")

    def interrupt(now: float) -> None:
        if s["pair"].running == "failover":
            raise KeyboardInterrupt("SIGINT received")

    s["poller"].before_sample.append(interrupt)
    with pytest.raises(KeyboardInterrupt):
        driver.reach("failover")
    s["poller"].before_sample.clear()
    leg = [e for e in s["timeline"].events if e["kind"] == "leg"][-1]
    assert leg["target"] == "failover" and leg["end"] is None and driver.busy[-1][1] == math.inf
    s["poller"].run_for(0.5)
    s["pair"].set("secondary", status="Started")  # the interrupted command goes on on the array
    s["poller"].sample()
    observations = s["timeline"].observations
    assert first_outside_change(observations, driver.busy) is None
    assert first_outside_change(observations, legs(s["timeline"].events)) is None  # as rejudge rebuilds it
    closed = [*driver.busy[:-1], (driver.busy[-1][0], leg["t"])]
    assert first_outside_change(observations, closed) is not None  # a window closed at the interruption: found
