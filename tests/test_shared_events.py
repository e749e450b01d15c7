"""One tour for several groups: events that act on the arrays are done once for the groups of a round, a
group that is done (or failed) never holds the others up, and what acts on one group stays per group."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import yaml

from harness.config import builtin_config, load_config
from harness.shared_events import GroupActions, SharedEvents, shared_actions

GROUPS = ["g1", "g2", "g3"]


class Runner:
    """An action runner that counts what it carries out."""

    def __init__(self, log: list[str], group: str) -> None:
        self.log = log
        self.group = group
        self.actions: dict[str, dict[str, Any]] = {"primary_down": {}, "sync_status_new": {}}

    def available(self) -> set[str]:
        return set(self.actions)

    def run(self, name: str) -> dict[str, Any]:
        time.sleep(0.01)
        self.log.append(f"{name} by {self.group}")
        return {"name": name}


def in_threads(work: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}

    def one(group: str) -> None:
        try:
            results[group] = work[group]()
        except Exception as exc:
            results[group] = exc

    threads = [threading.Thread(target=one, args=(g,)) for g in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads), "a group never got past the shared event"
    return results


def test_an_event_is_done_once_for_every_group_that_reaches_it() -> None:
    events = SharedEvents(GROUPS, time.monotonic)
    events.begin(GROUPS)
    log: list[str] = []
    actions = {g: GroupActions(Runner(log, g), g, frozenset({"primary_down"}), events) for g in GROUPS}

    def group(g: str) -> Any:
        time.sleep(0.02 * GROUPS.index(g))  # the groups come to it one after the other
        try:
            return actions[g].run("primary_down")
        finally:
            events.leave(g)

    results = in_threads({g: (lambda g=g: group(g)) for g in GROUPS})
    assert [entry.split()[0] for entry in log] == ["primary_down"], log
    assert all(results[g] == {"name": "primary_down"} for g in GROUPS)
    (execution,) = events.executed
    assert execution.done_for == set(GROUPS) and not execution.idle


def test_a_fault_on_one_group_runs_per_group() -> None:
    events = SharedEvents(GROUPS, time.monotonic)
    events.begin(GROUPS)
    log: list[str] = []
    actions = {g: GroupActions(Runner(log, g), g, frozenset({"primary_down"}), events) for g in GROUPS}
    in_threads({g: (lambda g=g: actions[g].run("sync_status_new")) for g in GROUPS})
    assert sorted(log) == [f"sync_status_new by {g}" for g in GROUPS]
    assert not events.executed


def test_a_group_that_is_done_does_not_hold_the_others_up_and_is_named_idle() -> None:
    events = SharedEvents(GROUPS, time.monotonic)
    events.begin(GROUPS)
    log: list[str] = []
    runner = {g: GroupActions(Runner(log, g), g, frozenset({"primary_down"}), events) for g in GROUPS}

    def failing() -> None:
        time.sleep(0.05)
        events.leave("g3")  # its command was refused: its round is over before the event

    def reaching(g: str) -> Any:
        try:
            return runner[g].run("primary_down")
        finally:
            events.leave(g)

    results = in_threads({"g1": lambda: reaching("g1"), "g2": lambda: reaching("g2"), "g3": failing})
    assert results["g1"] == results["g2"] == {"name": "primary_down"}
    (execution,) = events.executed
    assert execution.done_for == {"g1", "g2"} and execution.idle == {"g3"}
    assert len(log) == 1


def test_an_event_that_fails_fails_for_every_group_that_waited() -> None:
    events = SharedEvents(GROUPS[:2], time.monotonic)
    events.begin(GROUPS[:2])
    calls: list[str] = []

    def broken() -> Any:
        calls.append("x")
        raise RuntimeError("the control interface is gone")

    def group(g: str) -> Any:
        try:
            return events.run(g, "primary_down", broken)
        finally:
            events.leave(g)

    results = in_threads({g: (lambda g=g: group(g)) for g in GROUPS[:2]})
    assert calls == ["x"]
    assert all(isinstance(results[g], RuntimeError) for g in GROUPS[:2])


def test_which_actions_act_on_the_arrays() -> None:
    config = builtin_config("pair")
    shared = shared_actions(config, list(config.groups))
    assert shared.events == {"primary_down", "primary_up"}
    assert shared.link_faults == {"recover_fails"}, "its failed recover drops every group's link: done once"
    assert shared.in_turns == set(), "the built-in pair arms each group's own restore failure: no turns"
    assert not shared.faults & {"sync_status_new", "sync_status_notsynced", "sync_status_stale", "restore_fails"}, (
        "they name a group"
    )
    assert not shared_actions(config, [config.groups[0]]).once


class Specs:
    """A target's configured actions, bound to each group as `TargetConfig.action_specs` binds them."""

    is_simulated = False

    def action_specs(self, group: str) -> dict[str, dict[str, Any]]:
        return {
            "primary_down": {"kind": "script", "command": ["pdu", "off"]},
            "restore_fails": {"kind": "cli", "array": "primary", "command": f"arm-restore-failure {group}"},
            "recover_fails": {"kind": "script", "command": ["drop-link"], "during": 2},
        }


def test_a_restore_failure_that_names_no_group_runs_in_turns(tmp_path: Path) -> None:
    document = yaml.safe_load(Path(builtin_config("pair").source).read_text())
    document["faults"]["restore_fails"] = {"kind": "simulator", "action": "fail_next", "operation": "restore"}
    (tmp_path / "pair.yaml").write_text(yaml.safe_dump(document))
    config = load_config(tmp_path / "pair.yaml")
    assert shared_actions(config, list(config.groups)).in_turns == {"restore_fails"}, "'the next restore fails'"


def test_an_action_that_names_its_group_is_per_group() -> None:
    shared = shared_actions(Specs(), ["a", "b"])  # type: ignore[arg-type]
    assert shared.events == {"primary_down"}
    assert shared.faults == {"recover_fails"} and shared.in_turns == set()
