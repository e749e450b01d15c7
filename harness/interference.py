"""Changes to the pair that no step of the harness caused: someone else acting on the arrays.

The facts a DR command changes are each array's role and group status (`showrcopy`). A change of
either between two consecutive CLI observations of one array, when no step of the harness was under
way between them, is not the harness's doing: a run that sees one stops with ERROR "the pair changed
under the harness" instead of charging what it then observes to the provider.

The arrays also change these facts by themselves in reaction to what happened before; those reactions
are not interference (each is named in `own_reaction`). Volume sync status is not a fact here: periodic
groups resynchronise on their own schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.observation import CliView, Observation

CHANGED_UNDER = "the pair changed under the harness"


@dataclass(frozen=True)
class OutsideChange:
    """One array's role or group status changed while the harness was not acting on the pair."""

    array: str
    group: str
    before_seq: int
    after_seq: int
    t: float  # run time of the observation that shows the change
    was: tuple[str, str]  # (role, status)
    now: tuple[str, str]

    def describe(self) -> str:
        return (f"{CHANGED_UNDER}: {self.array}: group {self.group} went from {'/'.join(self.was)} to "
                f"{'/'.join(self.now)} (seq {self.before_seq} -> {self.after_seq}, {self.t:.1f}s into the run) "
                "while no command, event or fault of the harness was under way; someone else may be acting "
                "on the pair")  # fmt: skip


def own_reaction(before: CliView, after: CliView) -> bool:
    """Changes an array makes by itself, after a step of the harness has ended:

    - the original primary learns of a failover once it talks to its peer again (Primary -> Secondary-Rev,
      group Stopped);
    - a group stops when its target is no longer ready (the array noticed the lost link);
    - a group with `auto_recover` restarts by itself once its target is ready again.
    """
    same_role = before.role == after.role
    if before.role == "Primary" and after.role == "Secondary-Rev" and after.status == "Stopped":
        return True
    if same_role and (before.status, after.status) == ("Started", "Stopped"):
        return after.target_status != "ready"
    if same_role and (before.status, after.status) == ("Stopped", "Started"):
        return "auto_recover" in after.options and after.target_status == "ready"
    return False


def outside_changes(observations: Iterable[Observation], busy: Sequence[tuple[float, float]]) -> list[OutsideChange]:
    """Every change of role or group status between consecutive CLI observations of one array that no busy
    window (a step of the harness, from its start until its stage was seen) overlaps, in timeline order."""
    last: dict[str, Observation] = {}
    found = []
    for obs in observations:
        if obs.cli is None:
            continue
        before = last.get(obs.array)
        last[obs.array] = obs
        if before is None or before.cli is None:
            continue
        was, now = _facts(before.cli), _facts(obs.cli)
        if was == now or _overlaps(busy, before.t_start, obs.t_end) or own_reaction(before.cli, obs.cli):
            continue
        found.append(OutsideChange(obs.array, obs.cli.group, before.seq, obs.seq, obs.t_start, was, now))
    return found


def _facts(view: CliView) -> tuple[str, str]:
    return (view.role, view.status)


def _overlaps(busy: Sequence[tuple[float, float]], start: float, end: float) -> bool:
    return any(b_start <= end and start <= b_end for b_start, b_end in busy)
