"""Deviations: rules that make the simulated provider non-conformant on purpose.

The harness must notice them; the mock only applies them. A rule matches an
array's true state for a volume pair of a group at the moment of a reply (and,
with `pairs: N`, only the group's first N volume pairs), and changes what the
CIM side or the CLI side reports: property values (`cim`, `cim_omit`), the
instance itself (`instance`: left out, refused with CIM_ERR_NOT_FOUND, reported
twice, or twinned with a swapped second instance), whole classes
(`omit_class`), or showrcopy fields (`cli`). It never changes the world itself,
except `transient`, which changes how long a DR command runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.input_files import InputFileError, YamlInputError, parse_yaml, read_text
from harness.mock.world import Operation, Replication, VolumePair, World

log = logging.getLogger("harness.mock.deviations")

ArrayKey = Literal["primary", "secondary", "sync_secondary", "periodic_secondary", "any"]
RoleName = Literal["Primary", "Secondary", "Primary-Rev", "Secondary-Rev"]
SyncName = Literal["New", "Syncing", "Synced", "NotSynced", "Stale", "Stopped"]
GroupStatusName = Literal["Started", "Stopped", "Backup"]
OperationName = Literal["failover", "recover", "restore", "none"]
InstanceFault = Literal["omit", "not_found", "duplicate", "duplicate_swapped"]
"""What happens to a matching pair's TPD_RemoteStorageSynchronized instance:
omit               left out of every answer (Enumerate, References, Associators; GetInstance: CIM_ERR_NOT_FOUND)
not_found          CIM_ERR_NOT_FOUND for GetInstance of its path and for References / Associators from its
                   volumes; left out of EnumerateInstances
duplicate          every answer that holds it holds it twice (the same path twice)
duplicate_swapped  a second instance for the same pair, SystemElement and SyncedElement swapped"""
OmittableClass = Literal["TPD_RemoteGroupSynchronized", "TPD_ReplicationEntity"]
"""Classes a deviation can leave unimplemented: the provider serves no instance of them (a pair whose remote
end cannot be resolved then keeps referencing the peer's volume, without UndiscoveredElement)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    role: RoleName | None = None
    sync_status: SyncName | None = None
    group_status: GroupStatusName | None = None
    operation: OperationName | None = None
    link: Literal["up", "down"] | None = None


class CliOverride(_Strict):
    role: RoleName | None = None
    sync_status: SyncName | None = None
    group_status: GroupStatusName | None = None


class Transient(_Strict):
    operation: Literal["failover", "recover", "restore"]
    seconds: float = Field(ge=0)


class Deviation(_Strict):
    id: str
    array: ArrayKey = "any"
    when: When = When()
    pairs: int | None = Field(default=None, ge=1)  # only the first N volume pairs of each group
    cim: dict[str, int | bool | str | None] = Field(default_factory=dict)
    cim_omit: list[str] = Field(default_factory=list)
    instance: InstanceFault | None = None
    omit_class: list[OmittableClass] = Field(default_factory=list)
    cli: CliOverride | None = None
    transient: Transient | None = None


class DeviationFile(_Strict):
    deviations: list[Deviation]


class DeviationError(ValueError):
    """A deviations file that cannot be used; the message names the file and the problem."""


class StateFacts(_Strict):
    """An array's true state for one volume pair of a group, as the deviation `when` keys see it."""

    role: str
    sync_status: str
    group_status: str
    operation: str
    link: str
    pair_index: int = 0  # the pair's position in its group (for `pairs: N`)


def facts_for(world: World, rep: Replication, pair: VolumePair, array: str) -> StateFacts:
    side = rep.side(array)
    peer = rep.peer(array).array
    return StateFacts(
        role=side.role.value,
        sync_status=pair.sync_status.value,
        group_status=side.status.value,
        operation=rep.operation.operation.value if rep.operation else "none",
        link="up" if world.target_status(array, peer) == "ready" else "down",
        pair_index=next(i for i, p in enumerate(rep.pairs) if p is pair),
    )


class Deviations:
    """The loaded rules; empty means a conformant provider."""

    def __init__(self, rules: list[Deviation] | None = None) -> None:
        self.rules = list(rules or [])

    @classmethod
    def load(cls, path: str | Path) -> Deviations:
        path = Path(path)
        try:
            _, data = parse_yaml(read_text(path))
        except InputFileError as exc:
            raise DeviationError(f"{path}: cannot read deviations file: {exc}") from None
        except YamlInputError as exc:
            raise DeviationError(f"{path}: {exc}") from None
        try:
            parsed = DeviationFile.model_validate(data)
        except ValidationError as exc:
            raise DeviationError(f"{path}: {_describe(exc)}") from None
        return cls(parsed.deviations)

    def apply_transients(self, world: World) -> None:
        for rule in self.rules:
            if rule.transient:
                op = Operation(rule.transient.operation)
                world.operation_durations[op] = rule.transient.seconds
                log.info("deviation %s: %s in-progress state lasts %ss", rule.id, op, rule.transient.seconds)

    def matching(self, array: str, facts: StateFacts) -> list[Deviation]:
        return [rule for rule in self.rules if _matches(rule, array, facts)]

    def cim_changes(self, array: str, facts: StateFacts) -> tuple[dict[str, object], set[str]]:
        """Properties to report instead, and properties to leave out, for this pair on this array."""
        values: dict[str, object] = {}
        omit: set[str] = set()
        for rule in self.matching(array, facts):
            values.update(rule.cim)
            omit.update(rule.cim_omit)
        return values, omit

    @property
    def instance_level(self) -> bool:
        """Some rule changes instances or classes (not only property values)."""
        return any(rule.instance or rule.omit_class for rule in self.rules)

    def instance_fault(self, array: str, facts: StateFacts) -> InstanceFault | None:
        """What happens to this pair's instance on this array (the first matching rule that says)."""
        return next((rule.instance for rule in self.matching(array, facts) if rule.instance), None)

    def omits_class(self, array: str, classname: str, facts: StateFacts) -> bool:
        """This array serves no instance of `classname` for this pair (or group: its first pair's facts)."""
        wanted = classname.lower()
        return any(wanted in (c.lower() for c in rule.omit_class) for rule in self.matching(array, facts))

    def cli_changes(self, array: str, facts: StateFacts) -> dict[str, str]:
        changes: dict[str, str] = {}
        for rule in self.matching(array, facts):
            if rule.cli:
                changes.update(rule.cli.model_dump(exclude_none=True))
        return changes


def _matches(rule: Deviation, array: str, facts: StateFacts) -> bool:
    if rule.array not in ("any", array):
        return False
    if rule.pairs is not None and facts.pair_index >= rule.pairs:
        return False
    wanted = rule.when.model_dump(exclude_none=True)
    return all(getattr(facts, key) == value for key, value in wanted.items())


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)
