"""The ways one poll can ask a group's pairs, all giving the answers `cim_view` turns into the same view.

- `serial`: one References per member volume, in the group's order, on the array's connection
  (`ArrayCim.ask_serial`).
- `pooled`: the same References, asked concurrently over a small pool of connections (harness.cim_pool);
  the answers are put back in the group's order and cut where the serial read would have stopped (the first
  failure that is not a refusal), so the view and its errors are the serial read's.
- `enumeration`: one EnumerateInstances of TPD_RemoteStorageSynchronized (same PropertyList), each instance
  given to every member volume it names as SystemElement or SyncedElement (what References from that
  volume answers), in the enumeration's order. A member no instance names is asked its References, so a
  volume the provider refuses (CIM_ERR_NOT_FOUND) or that has no pair answers as it does today. An
  enumeration refused with a CIM status falls back to the serial read for that poll; a transport failure is
  the read's failure (CimError). Preflight chooses this path only when the array is small and both reads
  gave the same view (harness.cim_read_choice).

`enumerated_answers` is also what re-judging a recorded run calls (harness.rejudge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pywbem
from pywbem import CIMInstanceName, WBEMConnection

from harness.cim import (
    PAIR_CLASS,
    PAIR_PROPERTIES,
    Answer,
    ArrayCim,
    GroupAnswers,
    GroupHandle,
    ask_group_syncs,
    ask_member,
    failed,
    member_path,
)
from harness.cim_pool import CimPool

SERIAL, POOLED, ENUMERATION = "serial", "pooled", "enumeration"
PATHS = (SERIAL, POOLED, ENUMERATION)
MemberAsker = Callable[[str], Answer | None]
"""A member volume's References answer (None: not asked, as when a recording does not hold it)."""


# --------------------------------------------------------------------------- pooled


def pooled_asker(pool: CimPool) -> Callable[[GroupHandle], GroupAnswers]:
    """The serial read's answers, asked over `pool`'s connections concurrently."""

    def ask(group: GroupHandle) -> GroupAnswers:
        members = list(group.members)
        tasks: list[Callable[[WBEMConnection], Answer]] = [_member_task(m) for m in members]
        tasks.append(lambda conn: ask_group_syncs(conn, group))
        answers = pool.run(tasks, stop=failed)
        return _in_order(members, answers)

    return ask


def _member_task(member_text: str) -> Callable[[WBEMConnection], Answer]:
    return lambda conn: ask_member(conn, member_text)


def _in_order(members: list[str], answers: list[Answer | None]) -> GroupAnswers:
    pairs: list[tuple[str, Answer]] = []
    for member, answer in zip(members, answers, strict=False):
        assert answer is not None  # every task up to the first failure ran
        pairs.append((member, answer))
        if failed(answer):
            return GroupAnswers(tuple(pairs), None)
    return GroupAnswers(tuple(pairs), answers[-1])


# --------------------------------------------------------------------------- enumeration


def enumerate_pairs(conn: WBEMConnection) -> Answer:
    """Every TPD_RemoteStorageSynchronized of the array, with the poll's PropertyList."""
    try:
        # every property the PropertyList names, inherited ones too, as References answers them
        return Answer(result=conn.EnumerateInstances(PAIR_CLASS, LocalOnly=False, DeepInheritance=True,
                                                     PropertyList=PAIR_PROPERTIES))  # fmt: skip
    except pywbem.Error as exc:
        return Answer(error=exc)


def enumeration_asker(cim: ArrayCim) -> Callable[[GroupHandle], GroupAnswers]:
    """One enumeration per poll, References only for members it does not name (see the module's doc)."""

    def ask(group: GroupHandle) -> GroupAnswers:
        enumeration = enumerate_pairs(cim.conn)
        if isinstance(enumeration.error, pywbem.CIMError):
            return cim.ask_serial(group)  # the provider refused the enumeration: the References speak
        return enumerated_answers(group, enumeration, lambda m: ask_member(cim.conn, m),
                                  lambda: ask_group_syncs(cim.conn, group))  # fmt: skip

    return ask


def enumerated_answers(
    group: GroupHandle, enumeration: Answer, ask: MemberAsker, syncs: Callable[[], Answer | None]
) -> GroupAnswers:
    """The group's answers from one enumeration of the pair class: each member's instances as References from
    it would answer them; `ask(member)` answers a member no instance names; `syncs()` the group's References.
    An enumeration that failed is the read's failure (on the first member)."""
    members = list(group.members)
    if enumeration.error is not None:
        return GroupAnswers(((members[0], enumeration),), None)
    named = instances_by_member(members, enumeration.result or [])
    pairs: list[tuple[str, Answer]] = []
    for member in members:
        answer = Answer(result=named[member]) if named[member] else ask(member)
        if answer is None:
            return GroupAnswers(tuple(pairs), None)
        pairs.append((member, answer))
        if failed(answer):
            return GroupAnswers(tuple(pairs), None)
    return GroupAnswers(tuple(pairs), syncs())


def instances_by_member(members: Iterable[str], instances: Iterable[pywbem.CIMInstance]) -> dict[str, list[Any]]:
    """For each member volume, the instances (in their order) that name it as SystemElement or SyncedElement."""
    keys = {member_key(member_path(m)): m for m in members}
    named: dict[str, list[Any]] = {m: [] for m in keys.values()}
    for inst in instances:
        seen: set[str] = set()
        for role in ("SystemElement", "SyncedElement"):
            ref = inst.path.keybindings.get(role) if inst.path is not None else None
            member = keys.get(member_key(ref)) if isinstance(ref, CIMInstanceName) else None
            if member is not None and member not in seen:
                seen.add(member)
                named[member].append(inst)
    return named


def member_key(path: CIMInstanceName) -> tuple[str, frozenset[tuple[str, str]]]:
    """What names a volume whatever host or namespace a reference to it carries: class and keys."""
    return path.classname.lower(), frozenset((k.lower(), str(v)) for k, v in path.keybindings.items())


def refs_by_member(asked: Mapping[str, Answer]) -> MemberAsker:
    """A MemberAsker answering from recorded answers."""
    return lambda member: asked.get(member)
