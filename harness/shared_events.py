"""Actions that act on the arrays, not on one group: done once for every group of a shared tour.

An event such as `primary_down` takes the primary away for every group on it; a fault that names no group
(`recover_fails`: "the next recover fails") acts on whichever group's command comes next. Which is which
is read from the configuration: an action is the same for every group when binding it to a group under
test (`harness.config.actions.bind_group`) changes nothing.

`SharedEvents` is where the groups of one round meet: a group's driver that comes to a shared event waits
until every other group of the round has come to it too (or is done with its round), then the event is
carried out once and every group that waited gets its evidence. Each execution is kept (`executed`) with
the groups it was done for, so the tour can count it as its own doing for the groups it was not done for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.config import TargetConfig
from harness.config.actions import Events, Faults
from harness.driver import LINK_DOWN_STAGES
from harness.stages import StageGraph

Outcome = tuple[bool, Any]  # (done, evidence) or (False, the exception it raised)


@dataclass(frozen=True)
class SharedActions:
    """The configured actions that are the same for every group under test."""

    events: frozenset[str] = frozenset()  # done once for all groups (primary_down, primary_up)
    faults: frozenset[str] = frozenset()  # act on the next command of any group: their legs run one group at a time
    link_faults: frozenset[str] = frozenset()  # drop the link (recover_fails): done once, the commands concurrent

    @property
    def once(self) -> frozenset[str]:
        """Carried out once for every group of a round (`SharedEvents`)."""
        return self.events | self.link_faults

    @property
    def in_turns(self) -> frozenset[str]:
        """Their legs run one group after the other."""
        return self.faults - self.link_faults


def shared_actions(config: TargetConfig, groups: Sequence[str]) -> SharedActions:
    """Which events and faults act on the arrays rather than on one group (the same bound to every group);
    with one group, none."""
    if len(groups) < 2:
        return SharedActions()
    specs = [config.action_specs(g) for g in groups]
    same = {name for name, spec in specs[0].items() if all(s.get(name) == spec for s in specs[1:])}
    if config.is_simulated:  # the simulator's defaults for what the file leaves out act on the arrays too
        same |= {name for name in config.action_names() if name not in specs[0] and not _names_group(name)}
    faults = frozenset(same & set(Faults.model_fields))
    return SharedActions(frozenset(same & set(Events.model_fields)), faults, faults & _link_faults())


def _link_faults() -> frozenset[str]:
    """Faults whose stage is one of a lost link (`recover_failed`: the link drops while recover runs): what they
    do acts on every group's link, so the groups' commands run together after it, and each sees it fail."""
    edges = StageGraph().edges
    return frozenset(s.name for legs in edges.values() for target, steps in legs for s in steps
                     if s.kind == "fault" and target in LINK_DOWN_STAGES)  # fmt: skip


def _names_group(name: str) -> bool:
    """The simulator's default faults that take the group under test (`reset_to_new`, `force_sync_status`)."""
    return name.startswith("sync_status_")


@dataclass(frozen=True)
class Execution:
    """One shared event, carried out once."""

    name: str
    start: float  # run time
    end: float
    done_for: frozenset[str]  # the groups that waited for it (their own legs cover it)
    idle: frozenset[str]  # the groups done with their round or not in it: it changed their pair under them


@dataclass
class SharedEvents:
    """Where the groups of one round meet at a shared event (see the module's doc)."""

    groups: Sequence[str]
    clock: Callable[[], float]  # run time
    executed: list[Execution] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _active: set[str] = field(default_factory=set)
    _waiting: dict[str, str] = field(default_factory=dict)  # group -> the event it waits for, in arrival order
    _outcomes: dict[str, Outcome] = field(default_factory=dict)
    _executing: bool = False

    def begin(self, groups: Iterable[str]) -> None:
        """A round starts: these groups take part (each leaves when its round is over)."""
        with self._cond:
            self._active = set(groups)

    def leave(self, group: str) -> None:
        with self._cond:
            self._active.discard(group)
            self._cond.notify_all()

    def run(self, group: str, name: str, execute: Callable[[], Any]) -> Any:
        """Wait until every group of the round has come to an event or is done, then carry out `name` once
        (by whichever of its groups gets there first) and return its evidence to each of them."""
        with self._cond:
            self._active.add(group)
            self._waiting[group] = name
            self._cond.notify_all()
            while group not in self._outcomes:
                if self._executing or not self._all_here() or next(iter(self._waiting.values())) != name:
                    self._cond.wait()
                    continue
                self._execute(name, execute)
            done, value = self._outcomes.pop(group)
        if not done:
            raise value
        return value

    def _all_here(self) -> bool:
        return self._active <= set(self._waiting)

    def _execute(self, name: str, execute: Callable[[], Any]) -> None:
        """Carry out the event (the lock released meanwhile; every group of the round waits)."""
        done_for = frozenset(g for g, n in self._waiting.items() if n == name)
        idle = frozenset(g for g in self.groups if g not in self._waiting)
        self._executing = True
        start = self.clock()
        self._cond.release()
        try:
            outcome: Outcome = (True, execute())
        except Exception as exc:  # every group that waited for it gets the failure
            outcome = (False, exc)
        finally:
            self._cond.acquire()
            self._executing = False
        self.executed.append(Execution(name, start, self.clock(), done_for, idle))
        for g in done_for:
            del self._waiting[g]
            self._outcomes[g] = outcome
        self._cond.notify_all()


class GroupActions:
    """One group's action runner (`harness.actions.ActionRunner`) as its driver sees it in a shared tour:
    shared events go through `SharedEvents`, everything else to the group's own runner."""

    def __init__(self, runner: Any, group: str, shared: frozenset[str], events: SharedEvents) -> None:
        self.runner = runner
        self.group = group
        self.shared = shared
        self.events = events
        self.actions: dict[str, dict[str, Any]] = runner.actions

    def available(self) -> set[str]:
        available: set[str] = self.runner.available()
        return available

    def run(self, name: str) -> Any:
        if name in self.shared:
            return self.events.run(self.group, name, lambda: self.runner.run(name))
        return self.runner.run(name)
