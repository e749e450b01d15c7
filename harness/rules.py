"""RULE-01..RULE-09: the manual's prose rules, checked on every observation of a run.

Pure functions of data. Each rule looks at one `Observation` at a time (RULE-04 also at
explicit probe results, RULE-09 also at whether a failover was seen) and either does not
apply to it (the interface it needs is missing, or the situation it speaks of does not
arise), holds, or is violated with a message naming the pair and the values.

A rule that no observation exercised is SKIPPED ("not exercised: ..."), never PASS. A rule
that fails because the provider lacks a class or property the manual documents (RoleReversed,
TPD_ReplicationEntity, TPD_RemoteGroupSynchronized) says "not implemented: ..." first.

Values are named as the manual names them; the integers a provider returns come from the spec's
value maps (`_number`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.observation import CimGroupSync, CimPair, CimView, CliView, Observation
from harness.results import Verdict
from harness.showrcopy import base_group_name
from harness.spec import CIM_PROPERTIES, Spec, load_spec
from harness.verdicts import NOT_REPORTED, format_value, pair_value

__all__ = [
    "MAX_STORED_VIOLATIONS",
    "RULE_IDS",
    "RuleContext",
    "RuleResult",
    "check_rules",
    "table106_from_spec",
]

RULE_IDS = tuple(f"RULE-{n:02d}" for n in range(1, 10))
MAX_STORED_VIOLATIONS = 50

REVERSED_ROLES = frozenset({"Primary-Rev", "Secondary-Rev"})
SOURCE_ROLES = frozenset({"Primary", "Primary-Rev"})
TARGET_ROLES = frozenset({"Secondary", "Secondary-Rev"})
ENTITY_CLASS = "TPD_ReplicationEntity"
GROUP_SYNC_CLASS = "TPD_RemoteGroupSynchronized"
NOT_IMPLEMENTED = "not implemented: "
VOLUME_CLASS = "TPD_StorageVolume"
NORMAL_GROUP_STATUSES = frozenset({"Started", "Stopped"})


@dataclass
class RuleContext:
    configured_roles: dict[str, str]  # array key -> configured role: {"primary": "Primary", "secondary": "Secondary"}
    modes: dict[str, str | None] = field(default_factory=dict)  # array key -> Sync / Periodic (None: do not check)
    busy_windows: list[tuple[float, float]] = field(default_factory=list)  # DR command or stage transition running
    table106: dict[str, dict[str, int]] = field(default_factory=dict)  # SyncStatus -> expected CIM integers
    entity_prefixes: tuple[str, ...] = ("3PAR", "HP_3PAR")
    probes: list[dict[str, Any]] = field(default_factory=list)  # explicit RULE-04 probe results
    source_group: str | None = None  # the group's name on its configured primary; derived from the CLI if None
    failover_seen: bool = False  # a failover happened in the run (also derived from reversed roles)


@dataclass
class RuleResult:
    id: str
    verdict: Verdict
    violations: list[dict[str, Any]] = field(default_factory=list)  # first MAX_STORED_VIOLATIONS
    violation_count: int = 0  # every violation, stored or not
    checked: int = 0  # observations (and probes) that exercised the rule
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": str(self.verdict),
            "violations": [dict(v) for v in self.violations],
            "violation_count": self.violation_count,
            "checked": self.checked,
            "reason": self.reason,
        }


def table106_from_spec(spec: Spec | None = None) -> dict[str, dict[str, int]]:
    """SyncStatus -> {CopyState, SyncState, ProgressStatus} integers, from the spec's Table 106 rows."""
    spec = spec or load_spec()
    return {row.sync_status: spec.expected_ints(row) for row in spec.table("table106") if row.sync_status}


# --------------------------------------------------------------------------- helpers

# A check returns None when the observation does not exercise the rule, else the violation messages.
Check = Callable[[Observation, "_Derived"], list[str] | None]


@dataclass(frozen=True)
class _Derived:
    context: RuleContext
    source_group: str | None
    failover_from: float | None  # RULE-09 counts observations from this time on (None: no failover seen)


def _cim(obs: Observation) -> CimView | None:
    return obs.cim if obs.cim_error is None else None


def _cli(obs: Observation) -> CliView | None:
    return obs.cli if obs.cli_error is None else None


def _number(prop: str, name: str) -> int:
    return load_spec().number(prop, name)


def _is_number(value: Any, number: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and int(value) == number


def _is(value: Any, prop: str, name: str) -> bool:
    """`value` is the integer of the value of `prop` the manual names `name`."""
    return _is_number(value, _number(prop, name))


def _label(pair: CimPair) -> str:
    return f"pair {pair.local_volume}" if pair.local_volume else f"pair {pair.path}"


def _ready(cli: CliView) -> bool | None:
    """True / False for the CLI target status, None when it was not read."""
    return None if cli.target_status is None else cli.target_status.strip().lower() == "ready"


def _remote_volume(pair: CimPair, cli: CliView | None) -> str | None:
    if cli is None or pair.local_volume is None:
        return None
    return next((v.remote_vv for v in cli.volumes if v.local_vv == pair.local_volume), None)


# --------------------------------------------------------------------------- RULE-01 .. RULE-03


def rule01(obs: Observation, derived: _Derived) -> list[str] | None:
    """CopyState FailedOver only on a reversed role while the target is not ready."""
    cim, cli = _cim(obs), _cli(obs)
    if cim is None or cli is None:
        return None
    reversed_role = cli.role in REVERSED_ROLES
    ready = _ready(cli)
    failed_over = format_value("CopyState", _number("CopyState", "FailedOver"))
    out: list[str] = []
    for pair in cim.pairs:
        if not _is(pair_value(pair, "CopyState"), "CopyState", "FailedOver"):
            continue
        if reversed_role and ready is False:
            continue
        if reversed_role and ready is None:
            continue  # the target status was not read: cannot tell
        out.append(
            f"{_label(pair)}: CopyState {failed_over} with role {cli.role} and target status "
            f"{cli.target_status}; allowed only on Primary-Rev/Secondary-Rev while the target is not ready"
        )
    return out


def rule02(obs: Observation, derived: _Derived) -> list[str] | None:
    """RoleReversed is true exactly when the CLI role is Primary-Rev or Secondary-Rev."""
    cim, cli = _cim(obs), _cli(obs)
    if cim is None or cli is None or not cim.pairs:
        return None
    expected = cli.role in REVERSED_ROLES
    out: list[str] = []
    for pair in cim.pairs:
        value = pair_value(pair, "RoleReversed")
        if value is NOT_REPORTED:
            out.append(f"{_label(pair)}: RoleReversed not reported (role {cli.role}, expected {expected})")
        elif not isinstance(value, bool) or value != expected:
            out.append(f"{_label(pair)}: RoleReversed {value!r} with role {cli.role}, expected {expected}")
    return out


def rule03(obs: Observation, derived: _Derived) -> list[str] | None:
    """SystemElement is the current source, SyncedElement the current target."""
    cim, cli = _cim(obs), _cli(obs)
    if cim is None or cli is None or not cim.pairs or cli.status == "Backup":
        return None
    if cli.role in SOURCE_ROLES:
        system_local, side = True, "source"
    elif cli.role in TARGET_ROLES:
        system_local, side = False, "target"
    else:
        return None
    out: list[str] = []
    for pair in cim.pairs:
        if pair.system_element_local == system_local and pair.synced_element_local != system_local:
            continue
        out.append(
            f"{_label(pair)}: role {cli.role} makes this array the current {side}, expected SystemElement "
            f"{_where(system_local)} and SyncedElement {_where(not system_local)}, observed SystemElement "
            f"{_where(pair.system_element_local)} ({pair.system_element}) and SyncedElement "
            f"{_where(pair.synced_element_local)} ({pair.synced_element})"
        )
    return out


def _where(local: bool) -> str:
    return "local" if local else "remote"


# --------------------------------------------------------------------------- RULE-04


def rule04(obs: Observation, derived: _Derived) -> list[str] | None:
    """An unresolvable end is a TPD_ReplicationEntity named by UndiscoveredElement, InstanceID '<prefix>:<vv>'."""
    cim = _cim(obs)
    if cim is None:
        return None
    cli = _cli(obs)
    exercised = False
    out: list[str] = []
    for pair in cim.pairs:
        undiscovered = pair_value(pair, "UndiscoveredElement")
        has_entity = ENTITY_CLASS in (pair.system_element_class, pair.synced_element_class)
        if not has_entity and undiscovered in (None, NOT_REPORTED):
            continue
        exercised = True
        out.extend(_entity_problems(pair, undiscovered, cli, derived.context.entity_prefixes))
    return out if exercised else None


def _entity_problems(pair: CimPair, undiscovered: Any, cli: CliView | None, prefixes: Sequence[str]) -> list[str]:
    ends = {  # UndiscoveredElement's value names are the ends' names
        "SystemElement": (pair.system_element_class, pair.system_element),
        "SyncedElement": (pair.synced_element_class, pair.synced_element),
    }
    named = next((end for end in ends if _is(undiscovered, "UndiscoveredElement", end)), None)
    shown = format_value("UndiscoveredElement", undiscovered)
    out: list[str] = []
    if undiscovered not in (None, NOT_REPORTED) and named is None:
        out.append(f"{_label(pair)}: UndiscoveredElement {shown} names neither end")
    for end, (cls, path) in ends.items():
        if cls == ENTITY_CLASS and named != end:
            out.append(f"{_label(pair)}: {end} references a {ENTITY_CLASS} ({path}) but UndiscoveredElement is {shown}")
    if named is not None:
        end, (cls, path) = named, ends[named]
        if cls != ENTITY_CLASS:
            what = f"a {VOLUME_CLASS}" if cls == VOLUME_CLASS else f"class {cls}"
            out.append(
                f"{_label(pair)}: UndiscoveredElement {shown} but that end is {what} ({path}), not {ENTITY_CLASS}"
            )
        else:
            out.extend(_instance_id_problems(pair, end, path, _remote_volume(pair, cli), prefixes))
    return out


def _instance_id_problems(
    pair: CimPair, end: str, path: str, remote_vv: str | None, prefixes: Sequence[str]
) -> list[str]:
    wanted = [f"{prefix}:{remote_vv}" if remote_vv else f"{prefix}:" for prefix in prefixes]
    tail = r"(?![\w.-])" if remote_vv else ""
    if any(re.search(rf"(?<![\w]){re.escape(text)}{tail}", path) for text in wanted):
        return []
    return [f"{_label(pair)}: {end} {ENTITY_CLASS} {path} has no InstanceID {' or '.join(map(repr, wanted))}"]


def _probe_violations(probes: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    out: list[tuple[Mapping[str, Any], str]] = []
    for probe in probes:
        if probe.get("enumerate_found_entity"):
            out.append(
                (probe, f"EnumerateInstances returned a {ENTITY_CLASS}; it must be reachable only via Associators")
            )
        if probe.get("getinstance_found_entity"):
            out.append((probe, f"GetInstance returned a {ENTITY_CLASS}; it must be reachable only via Associators"))
        if not probe.get("associators_found_entity"):
            out.append((probe, f"Associators did not return the {ENTITY_CLASS} of the unresolvable end"))
    return out


# --------------------------------------------------------------------------- RULE-05 .. RULE-07

_REQUESTED_FOR = {"Broken": "Synchronized", "Skewed": "Synchronized", "Synchronized": "Not Applicable",
                  "Inactive": "Not Applicable", "FailedOver": "Not Applicable"}  # CopyState -> RequestedCopyState


def rule05(obs: Observation, derived: _Derived) -> list[str] | None:
    """RequestedCopyState is Synchronized while Broken/Skewed, Not Applicable once reached."""
    cim = _cim(obs)
    if cim is None:
        return None
    exercised = False
    out: list[str] = []
    for pair in cim.pairs:
        copy_state = pair_value(pair, "CopyState")
        wanted = next((r for c, r in _REQUESTED_FOR.items() if _is(copy_state, "CopyState", c)), None)
        if wanted is None:
            continue
        exercised = True
        requested = pair_value(pair, "RequestedCopyState")
        if not _is(requested, "RequestedCopyState", wanted):
            out.append(
                f"{_label(pair)}: CopyState {format_value('CopyState', copy_state)}, RequestedCopyState expected "
                f"{format_value('CopyState', _number('CopyState', wanted))}, observed "
                f"{format_value('CopyState', requested)}"
            )
    return out if exercised else None


def rule06(obs: Observation, derived: _Derived) -> list[str] | None:
    """WhenSynced is NULL in synchronous mode: the group's mode as showrcopy (or the context) gives it, else
    the pair's own Mode (a wrong Mode is RULE-07's finding, and must not hide or invent this one)."""
    cim = _cim(obs)
    if cim is None:
        return None
    group_mode = _mode_of(obs, derived.context)
    if group_mode is not None:
        sync_pairs = list(cim.pairs) if group_mode[0] == "sync" else []
    else:
        sync_pairs = [p for p in cim.pairs if _is(pair_value(p, "Mode"), "Mode", "Synchronous")]
    out: list[str] = []
    for pair in sync_pairs:
        when = pair_value(pair, "WhenSynced")
        if when is not None and when is not NOT_REPORTED:
            mode = f"{group_mode[1]} group" if group_mode else f"Mode {format_value('Mode', pair_value(pair, 'Mode'))}"
            out.append(f"{_label(pair)}: {mode} but WhenSynced is {when!s}, expected NULL")
    return out if sync_pairs else None


_MODE_VALUES = {"sync": {"Mode": "Synchronous", "CopyType": "Sync"},
                "async": {"Mode": "Asynchronous", "CopyType": "Async"}}  # CLI mode -> the pairs' values


def _mode_of(obs: Observation, context: RuleContext) -> tuple[str, str] | None:
    """("sync" | "async", mode as given) for the group on this array; None when unknown or not to be checked."""
    if obs.array in context.modes:
        text = context.modes[obs.array]
    else:
        cli = _cli(obs)
        if cli is None or cli.backup_targets:  # several targets (SLD primary): modes differ by pair
            return None
        text = cli.mode
    if not text:
        return None
    lowered = text.strip().lower()
    if lowered.startswith("sync"):
        return "sync", text
    if lowered.startswith(("periodic", "async")):
        return "async", text
    return None


def rule07(obs: Observation, derived: _Derived) -> list[str] | None:
    """SyncType Mirror, ReplicaType Full Copy; Mode / CopyType match the group's mode."""
    cim = _cim(obs)
    if cim is None or not cim.pairs:
        return None
    wanted = {"SyncType": "Mirror", "ReplicaType": "Full Copy"}
    mode = _mode_of(obs, derived.context)
    if mode is not None:
        wanted.update(_MODE_VALUES[mode[0]])
    mode_text = f" ({mode[1]} group)" if mode else ""
    out: list[str] = []
    for pair in cim.pairs:
        for prop, name in wanted.items():
            value = pair_value(pair, prop)
            if not _is(value, prop, name):
                note = mode_text if prop in ("Mode", "CopyType") else ""
                expected = format_value(prop, _number(prop, name))
                out.append(f"{_label(pair)}: {prop} expected {expected}{note}, observed {format_value(prop, value)}")
    return out


# --------------------------------------------------------------------------- RULE-08


def _overlaps(obs: Observation, windows: Iterable[tuple[float, float]]) -> bool:
    return any(obs.t_start <= end and obs.t_end >= start for start, end in windows)


def _normal(obs: Observation, cli: CliView, context: RuleContext) -> bool:
    return (
        cli.role == context.configured_roles.get(obs.array)
        and _ready(cli) is True
        and cli.status in NORMAL_GROUP_STATUSES
        and not _overlaps(obs, context.busy_windows)
    )


def _status_for(pair: CimPair, cli: CliView) -> str | None:
    if pair.local_volume is not None:
        for volume in cli.volumes:
            if volume.local_vv == pair.local_volume:
                return volume.sync_status
    statuses = {v.sync_status for v in cli.volumes}
    return statuses.pop() if len(statuses) == 1 else None


def rule08(obs: Observation, derived: _Derived) -> list[str] | None:
    """In normal operation each pair's values equal the Table 106 row of its volume's SyncStatus."""
    cim, cli = _cim(obs), _cli(obs)
    context = derived.context
    if cim is None or cli is None or not _normal(obs, cli, context):
        return None
    exercised = False
    out: list[str] = []
    for pair in cim.pairs:
        status = _status_for(pair, cli)
        row = context.table106.get(status) if status else None
        if row is None:
            continue
        exercised = True
        for prop in CIM_PROPERTIES:
            if prop not in row:
                continue
            value = pair_value(pair, prop)
            if not _is_number(value, row[prop]):
                out.append(
                    f"{_label(pair)} (showrcopy {status}): {prop} expected {format_value(prop, row[prop])}, "
                    f"observed {format_value(prop, value)}"
                )
    return out if exercised else None


# --------------------------------------------------------------------------- RULE-09


def rule09(obs: Observation, derived: _Derived) -> list[str] | None:
    """TPD_RemoteGroupSynchronized is reported for the group and keeps the configured source group as
    SystemElement."""
    cim = _cim(obs)
    source = derived.source_group
    if cim is None or source is None:
        return None
    cli = _cli(obs)
    if cli is not None and cli.status == "Backup":
        return None  # an SLD backup group has no GroupSynchronized of its own
    missing = _group_sync_missing(cim, cli.group if cli is not None else source)
    if missing:
        return [missing]
    on_primary = derived.context.configured_roles.get(obs.array) == "Primary"
    checked = [gs for gs in cim.group_syncs if gs.system_element_name is not None]
    if not checked:
        return None
    out: list[str] = []
    for group_sync in checked:
        problem = _group_sync_problem(group_sync, source, on_primary)
        if problem:
            out.append(problem)
    return out


def _group_sync_missing(cim: CimView, group: str) -> str | None:
    refusal = next((r for r in cim.refusals if r.volume is None and GROUP_SYNC_CLASS in r.operation), None)
    if refusal is not None:
        detail = f": {refusal.description}" if refusal.description else ""
        return f"{refusal.operation} from group {group} answered {refusal.status}{detail}"
    if not cim.group_syncs:
        return f"no {GROUP_SYNC_CLASS} reported for group {group}"
    return None


def _group_sync_problem(group_sync: CimGroupSync, source: str, on_primary: bool) -> str | None:
    name = group_sync.system_element_name or ""
    synced = group_sync.synced_element_name
    if on_primary:
        ok = name == source
    else:
        ok = base_group_name(name)[0] == base_group_name(source)[0]
        swapped = synced == source and base_group_name(name)[1] is not None
        ok = ok and not swapped
    if ok:
        return None
    return (
        f"TPD_RemoteGroupSynchronized SystemElement is group {name!r} (SyncedElement {synced!r}), "
        f"expected the configured source group {source!r}"
    )


def _source_group(observations: Sequence[Observation], context: RuleContext) -> str | None:
    if context.source_group:
        return context.source_group
    names = [(o.array, cli.group) for o in observations if (cli := _cli(o)) is not None]
    for array, name in names:
        if context.configured_roles.get(array) == "Primary":
            return name
    return base_group_name(names[0][1])[0] if names else None


def _failover_from(observations: Sequence[Observation], context: RuleContext) -> float | None:
    if context.failover_seen:
        return float("-inf")
    times = [o.t_start for o in observations if (cli := _cli(o)) is not None and cli.role in REVERSED_ROLES]
    return min(times) if times else None


# --------------------------------------------------------------------------- running the rules


CHECKS: dict[str, Check] = {
    "RULE-01": rule01,
    "RULE-02": rule02,
    "RULE-03": rule03,
    "RULE-04": rule04,
    "RULE-05": rule05,
    "RULE-06": rule06,
    "RULE-07": rule07,
    "RULE-08": rule08,
    "RULE-09": rule09,
}

NOT_EXERCISED = {
    "RULE-01": "no observation had both a CIM and a CLI view",
    "RULE-02": "no observation had CIM pairs and a CLI view",
    "RULE-03": "no observation had CIM pairs and a CLI role (backup groups are skipped)",
    "RULE-04": "no pair referenced a TPD_ReplicationEntity or set UndiscoveredElement, and no probe was made",
    "RULE-05": "no pair was seen in CopyState Synchronized, Broken, Skewed, Inactive or FailedOver",
    "RULE-06": (
        "no pair of a synchronous group (showrcopy Mode Sync; where unknown, Mode "
        f"{load_spec().number('Mode', 'Synchronous')}) was observed"
    ),
    "RULE-07": "no observation had CIM pairs",
    "RULE-08": (
        "no observation was in normal operation (configured role, target ready, group Started or Stopped, "
        "outside every DR command and stage transition)"
    ),
    "RULE-09": "no observation reported TPD_RemoteGroupSynchronized with a group name",  # see _explain_rule09
}


@dataclass
class _Tally:
    rule_id: str
    checked: int = 0  # observations that exercised the rule (RULE-09: after the failover)
    examined: int = 0  # observations the rule was evaluated on
    count: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)

    def add(self, seq: int | None, array: str | None, t: float | None, message: str) -> None:
        self.count += 1
        if len(self.violations) < MAX_STORED_VIOLATIONS:
            self.violations.append({"seq": seq, "array": array, "t": t, "message": message})

    def result(self, not_exercised: str) -> RuleResult:
        if self.count:
            first = self.violations[0]
            where = f"seq {first['seq']}, {first['array']}" if first["seq"] is not None else f"probe, {first['array']}"
            reason = (
                f"{_count(self.count, 'violation')} in {_count(self.examined, 'checked observation')}; "
                f"first ({where}): {first['message']}"
            )
            verdict = Verdict.FAIL
        elif self.checked:
            reason = f"held on all {_count(self.checked, 'observation')} that exercised it"
            verdict = Verdict.PASS
        else:
            reason = f"not exercised: {not_exercised}"
            verdict = Verdict.SKIPPED
        return RuleResult(self.rule_id, verdict, list(self.violations), self.count, self.checked, reason)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def check_rules(observations: Sequence[Observation], context: RuleContext) -> dict[str, RuleResult]:
    """RULE-01..RULE-09 over every observation (and RULE-04 probe) of a run."""
    # a sample whose CLI changed while the CIM side was read cannot tie the two interfaces together
    ordered = sorted((o for o in observations if o.consistent), key=lambda o: (o.t_start, o.seq))
    derived = _Derived(context, _source_group(ordered, context), _failover_from(ordered, context))
    tallies = {rule_id: _Tally(rule_id) for rule_id in RULE_IDS}
    for obs in ordered:
        for rule_id, check in CHECKS.items():
            messages = check(obs, derived)
            if messages is None:
                continue
            tallies[rule_id].examined += 1
            if rule_id != "RULE-09" or _after_failover(obs, derived):
                tallies[rule_id].checked += 1
            for message in messages:
                tallies[rule_id].add(obs.seq, obs.array, obs.t_start, message)
    for probe, message in _probe_violations(context.probes):
        tallies["RULE-04"].add(probe.get("seq"), probe.get("array"), probe.get("t"), f"probe: {message}")
    tallies["RULE-04"].checked += len(context.probes)
    tallies["RULE-04"].examined += len(context.probes)
    results = {rule_id: tally.result(NOT_EXERCISED[rule_id]) for rule_id, tally in tallies.items()}
    results["RULE-02"] = _explain_rule02(results["RULE-02"], ordered)
    results["RULE-04"] = _explain_rule04(results["RULE-04"], ordered, context.probes)
    results["RULE-09"] = _explain_rule09(results["RULE-09"], derived, tallies["RULE-09"], ordered)
    return results


def _after_failover(obs: Observation, derived: _Derived) -> bool:
    return derived.failover_from is not None and obs.t_start >= derived.failover_from


def _pairs(observations: Sequence[Observation]) -> Iterable[CimPair]:
    return (pair for o in observations if (cim := _cim(o)) is not None for pair in cim.pairs)


def _explain_rule02(result: RuleResult, observations: Sequence[Observation]) -> RuleResult:
    unreported = all(pair_value(p, "RoleReversed") is NOT_REPORTED for p in _pairs(observations))
    if result.verdict == Verdict.FAIL and unreported:
        result.reason = (
            f"{NOT_IMPLEMENTED}no TPD_RemoteStorageSynchronized instance carried the vendor property RoleReversed; "
            + result.reason
        )
    return result


def _explain_rule04(
    result: RuleResult, observations: Sequence[Observation], probes: Sequence[Mapping[str, Any]]
) -> RuleResult:
    if result.verdict == Verdict.FAIL:
        referenced = any(
            ENTITY_CLASS in (p.system_element_class, p.synced_element_class)
            or pair_value(p, "UndiscoveredElement") not in (None, NOT_REPORTED)
            for p in _pairs(observations)
        )
        if probes and not referenced and not any(p.get("associators_found_entity") for p in probes):
            result.reason = (
                f"{NOT_IMPLEMENTED}{ENTITY_CLASS}: while the link was down no pair referenced one or set "
                f"UndiscoveredElement, and Associators returned none ({_count(len(probes), 'probe')}); "
                + result.reason
            )
        return result
    if result.verdict != Verdict.SKIPPED:
        return result
    down = sum(1 for o in observations if (cli := _cli(o)) is not None and _ready(cli) is False)
    if down:
        result.reason = (
            f"not exercised: the link was down in {_count(down, 'observation')}, but no pair referenced a "
            f"{ENTITY_CLASS} or set UndiscoveredElement, and no probe was made"
        )
    else:
        result.reason = (
            "not exercised: no observation saw the link down (CLI target status not ready) and no probe was made"
        )
    return result


def _explain_rule09(
    result: RuleResult, derived: _Derived, tally: _Tally, observations: Sequence[Observation]
) -> RuleResult:
    if result.verdict == Verdict.FAIL:
        if not any(cim.group_syncs for o in observations if (cim := _cim(o)) is not None):
            result.reason = (
                f"{NOT_IMPLEMENTED}no observation reported a {GROUP_SYNC_CLASS} for the group "
                f"({_count(result.violation_count, 'observation')} without one); " + result.reason
            )
        return result
    if derived.source_group is None:
        result.verdict = Verdict.SKIPPED
        result.reason = "not exercised: the configured source group name is unknown (no CLI view, none configured)"
    elif derived.failover_from is None:
        result.verdict = Verdict.SKIPPED
        result.reason = (
            "not exercised: no failover was seen (no observation showed a reversed role); "
            f"SystemElement was the source group {derived.source_group!r} wherever it was reported"
        )
    elif tally.checked == 0:
        result.verdict = Verdict.SKIPPED
        result.reason = (
            "not exercised: no TPD_RemoteGroupSynchronized with a group name was reported after the failover"
        )
    else:
        result.reason = (
            f"SystemElement stayed the source group {derived.source_group!r} on all "
            f"{_count(tally.checked, 'observation')} after the failover"
        )
    return result
