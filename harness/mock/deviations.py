"""Deviations: rules that make the simulated provider non-conformant on purpose.

The harness must notice them; the mock only applies them. A rule matches an
array's true state for a volume pair of a group at the moment of a reply (and,
with `pairs: N`, only the group's first N volume pairs), and changes what the
CIM side or the CLI side reports: property values (`cim`, `cim_omit`), the
instance itself (`instance`: left out, refused with CIM_ERR_NOT_FOUND, reported
twice, or twinned with a swapped second instance), an association's ends
(`swap_ends`), which operations serve a TPD_ReplicationEntity (`entity_visible_to`),
the CIM type a value is sent as (`cim_type`), how late values are answered (`stale`),
whole classes (`omit_class`), or showrcopy fields (`cli`). It never changes the world
itself, except `transient` without `arrays`, which changes how long a DR command runs
(with `arrays`, only those arrays' providers hide the command's in-progress state).

The file format (the rules' models, loading and checking a file, DeviationError) is
`harness.deviation_format`; this module only applies the rules.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict

from harness.deviation_format import Deviation, DeviationSet, InstanceFault
from harness.mock.world import Operation, Replication, VolumePair, World

log = logging.getLogger("harness.mock.deviations")


class StateFacts(BaseModel):
    """An array's true state for one volume pair of a group, as the deviation `when` keys see it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    sync_status: str
    group_status: str
    operation: str
    link: str
    mode: str = "sync"
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
        mode=rep.mode,
        pair_index=next(i for i, p in enumerate(rep.pairs) if p is pair),
    )


class Deviations(DeviationSet):
    """The rules, applied: which of them match an array's state, and what they change there."""

    @classmethod
    def of(cls, rules: DeviationSet | None) -> Deviations:
        """`rules` ready to apply (the same object if it already is; none: a conformant provider)."""
        if isinstance(rules, Deviations):
            return rules
        return cls(rules.rules if rules is not None else None)

    def apply_transients(self, world: World) -> None:
        for rule in self.rules:
            if rule.transient and rule.transient.arrays is None:
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

    def hidden_for(self, array: str, operation: Operation) -> float | None:
        """Seconds after which `array`'s provider stops showing `operation` in progress (None: it shows it
        as long as it runs): the shortest of the `transient` rules with `arrays` naming this array."""
        seconds = [
            rule.transient.seconds
            for rule in self.rules
            if rule.transient and rule.transient.arrays and array in rule.transient.arrays
            and rule.transient.operation == operation.value
        ]
        return min(seconds) if seconds else None

    def stale_seconds(self, array: str, facts: StateFacts) -> float | None:
        """How late this pair's values are answered on this array now (None: on time)."""
        seconds = [rule.stale.seconds for rule in self.matching(array, facts) if rule.stale]
        return max(seconds) if seconds else None

    def retyped(self, array: str, facts: StateFacts) -> dict[str, str]:
        """Property -> the CIM type its value is sent as, for this pair on this array."""
        types: dict[str, str] = {}
        for rule in self.matching(array, facts):
            types.update(rule.cim_type)
        return types

    @property
    def instance_level(self) -> bool:
        """Some rule changes instances, their ends, entity visibility or classes (not only property values)."""
        return any(rule.instance or rule.omit_class or rule.swap_ends or rule.entity_visible_to for rule in self.rules)

    def swaps_ends(self, array: str, classname: str, facts: StateFacts) -> bool:
        """This array reports `classname`'s instance for this pair (or group) with its two ends exchanged."""
        wanted = classname.lower()
        return any(wanted in (c.lower() for c in rule.swap_ends) for rule in self.matching(array, facts))

    def entity_visible(self, array: str, operation: str, facts: StateFacts) -> bool:
        """This pair's TPD_ReplicationEntity is also served by `operation` (EnumerateInstances, GetInstance)."""
        return any(operation in rule.entity_visible_to for rule in self.matching(array, facts))

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
