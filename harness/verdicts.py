"""Row verdicts: does what an array reported match one documented row of the manual?

Pure functions of data (no I/O, no clocks): the caller hands over the observations of
one array taken in the right window and gets back a `RowResult` whose reason names the
expected and the observed values, names and integers, and whose evidence lists the
`Observation.seq` numbers that decided it.

* `compare` lists what differs between one observation and an `Expectation`;
* `judge_in_progress` judges a transient row from the samples taken while a command ran
  (PASS if any sample showed the whole state);
* `judge_settled` judges a row once the state stopped changing (the first run of
  `settle_samples` consecutive comparable samples with identical relevant values decides);
* `judge_each` applies either to every array of a multi-array row (Table 106);
* `stage_not_reached` fails a row whose stage never arrived within its time limit.

Each result also carries its cells (`harness.results.Cell`): one per expected value per array,
judged here from the sample that decided the row on that array (the one `observed` shows), so
nobody downstream judges again. A cell fails exactly when the value it shows differs from the
expected one there; with an in-progress row that failed, that sample is the one that came closest
(fewest failing cells, the latest of those).

Every sample a row is judged from also goes through the instance-set check
(`harness.instance_set`): a sample without exactly one TPD_RemoteStorageSynchronized per volume pair
that showrcopy lists FAILs the row, whatever the values ("<array>: instance set: ...").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.instance_set import instance_set_problems, summary
from harness.observation import CimPair, CliVolume, Observation
from harness.results import CIM, CLI, SEVERITY, Cell, Outcome, RowResult, Verdict
from harness.spec import Row, Spec, load_spec

__all__ = [
    "NOT_REPORTED",
    "Expectation",
    "Mismatch",
    "cells_of",
    "combine",
    "comparable",
    "compare",
    "error",
    "expected_cells",
    "expected_dict",
    "format_value",
    "judge_each",
    "judge_in_progress",
    "judge_settled",
    "observed_dict",
    "pair_value",
    "sample_errors",
    "skipped",
    "stage_not_reached",
]


class _NotReported:
    """Marks a CIM property the instance did not carry (distinct from a NULL value)."""

    _instance: _NotReported | None = None

    def __new__(cls) -> _NotReported:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "not reported"

    __str__ = __repr__


NOT_REPORTED: Any = _NotReported()

ROLE = "role"
SYNC_STATUS = "sync_status"
_FIELD_LABELS = {ROLE: "Role", SYNC_STATUS: "SyncStatus"}


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class Expectation:
    """What one row says an array (or each of several arrays) shows."""

    row_id: str
    array: str | tuple[str, ...]  # topology key, or each of these arrays (Table 106)
    role: str | None
    sync_status: str | None
    cim: dict[str, int]  # property -> expected integer
    names: dict[str, str] = field(default_factory=dict)  # property -> value name as the manual prints it
    erratum: str | None = None

    @classmethod
    def from_row(cls, row: Row, spec: Spec | None = None, array: str | tuple[str, ...] | None = None) -> Expectation:
        """The expectation of a spec row; `array` is required for rows that name no array (Table 106, SLD)."""
        spec = spec or load_spec()
        target = array if array is not None else row.array
        if target is None:
            raise ValueError(f"{row.id}: the row names no array; pass array=")
        return cls(
            row_id=row.id,
            array=target,
            role=row.role,
            sync_status=row.sync_status,
            cim=spec.expected_ints(row),
            names=dict(row.cim),
            erratum=row.erratum,
        )

    @property
    def arrays(self) -> tuple[str, ...]:
        return self.array if isinstance(self.array, tuple) else (self.array,)

    @property
    def needs_cli(self) -> bool:
        return self.role is not None or self.sync_status is not None

    @property
    def needs_cim(self) -> bool:
        return bool(self.cim)


@dataclass(frozen=True)
class Mismatch:
    """One field of one observation that differs from the expectation."""

    field: str  # "role", "sync_status", a CIM property name
    expected: Any
    observed: tuple[Any, ...]  # the distinct deviating values, first seen first (empty: nothing reported)
    elements: tuple[str, ...] = ()  # the volumes / pairs that deviate (empty for the role)
    total: int = 0  # how many volumes / pairs were compared

    @property
    def text(self) -> str:
        label = _FIELD_LABELS.get(self.field, self.field)
        expected = format_value(self.field, self.expected)
        if not self.observed:
            noun = "volumes" if self.field == SYNC_STATUS else "pairs"
            return f"{label} expected {expected}, observed no {noun}"
        observed = " / ".join(format_value(self.field, v) for v in self.observed)
        text = f"{label} expected {expected}, observed {observed}"
        if self.elements and len(self.elements) < self.total:
            noun = "volumes" if self.field == SYNC_STATUS else "pairs"
            text += f" on {', '.join(self.elements)} ({len(self.elements)} of {self.total} {noun})"
        return text


def skipped(row_id: str, reason: str, array: str | tuple[str, ...] | None = None) -> RowResult:
    return RowResult(id=row_id, verdict=Verdict.SKIPPED, array=array, reason=reason)


def error(row_id: str, reason: str, array: str | tuple[str, ...] | None = None) -> RowResult:
    return RowResult(id=row_id, verdict=Verdict.ERROR, array=array, reason=reason)


# --------------------------------------------------------------------------- values and names


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def format_value(prop: str, value: Any) -> str:
    """How a value is written in reasons, cells and the report: `Splitting (10)` for a CIM integer
    (`unknown (99)` outside its value map, the bare integer for a property without one), the text
    itself for CLI fields, `NULL`, `not reported`, `true` / `false`, anything else as Python writes
    it (so the text '4' does not pass for the integer 4)."""
    if value is NOT_REPORTED:
        return "not reported"
    if value is None:
        return "NULL"
    if prop in (ROLE, SYNC_STATUS):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_int(value):
        if load_spec().value_map(prop) is None:
            return str(int(value))
        name = load_spec().value_name(prop, int(value))
        if name.startswith("unknown("):
            name = "unknown"
        return f"{name} ({int(value)})"
    return repr(value)


def _value_entry(prop: str, value: Any) -> dict[str, Any]:
    if value is NOT_REPORTED:
        return {"name": "not reported", "value": None}
    if value is None:
        return {"name": "NULL", "value": None}
    if _is_int(value):
        return {"name": load_spec().value_name(prop, int(value)), "value": int(value)}
    return {"name": repr(value), "value": value}


def _pair_label(pair: CimPair) -> str:
    return pair.local_volume or pair.path


def pair_value(pair: CimPair, prop: str) -> Any:
    """The value of `prop` on `pair`; NOT_REPORTED when the instance did not carry it."""
    if prop in pair.omitted or prop not in pair.properties:
        return NOT_REPORTED
    return pair.properties[prop]


def _same(observed: Any, expected: Any) -> bool:
    return _is_int(observed) and int(observed) == expected


# --------------------------------------------------------------------------- comparing one observation


def sample_errors(obs: Observation, exp: Expectation) -> list[str]:
    """Why `obs` cannot be compared with `exp` (empty when it can)."""
    problems: list[str] = []
    if exp.needs_cim:
        if obs.cim_error is not None:
            problems.append(f"CIM: {obs.cim_error}")
        elif obs.cim is None:
            problems.append("CIM: not read")
    if exp.needs_cli:
        if obs.cli_error is not None:
            problems.append(f"CLI: {obs.cli_error}")
        elif obs.cli is None:
            problems.append("CLI: not read")
    if exp.needs_cim and exp.needs_cli and not obs.consistent:
        problems.append("the CLI changed while the CIM side was read (the sample straddles a transition)")
    return problems


def comparable(obs: Observation, exp: Expectation) -> bool:
    return not sample_errors(obs, exp)


def compare(obs: Observation, exp: Expectation) -> list[Mismatch]:
    """Every field of `obs` that differs from `exp`.

    The CLI role; the CLI sync status of every volume; each expected CIM property on every
    pair (a property the instance did not carry is a mismatch, "not reported"). An empty
    volume or pair list is a mismatch too. Raises ValueError for a sample that is not
    comparable (see `sample_errors`): errors are judged separately.
    """
    problems = sample_errors(obs, exp)
    if problems:
        raise ValueError(f"seq {obs.seq} is not comparable: {'; '.join(problems)}")
    return _mismatches(obs, exp)


def _mismatches(obs: Observation, exp: Expectation) -> list[Mismatch]:
    """`compare` on whatever interfaces `obs` has read (a cell shows what it has)."""
    mismatches: list[Mismatch] = []
    if exp.role is not None and obs.cli is not None and obs.cli.role != exp.role:
        mismatches.append(Mismatch(ROLE, exp.role, (obs.cli.role,)))
    if exp.sync_status is not None and obs.cli is not None:
        mismatch = _volumes_mismatch(obs.cli.volumes, exp.sync_status)
        if mismatch:
            mismatches.append(mismatch)
    if obs.cim is not None:
        for prop, expected in exp.cim.items():
            mismatch = _pairs_mismatch(obs.cim.pairs, prop, expected)
            if mismatch:
                mismatches.append(mismatch)
    return mismatches


def _volumes_mismatch(volumes: Sequence[CliVolume], expected: str) -> Mismatch | None:
    if not volumes:
        return Mismatch(SYNC_STATUS, expected, ())
    deviating = [v for v in volumes if v.sync_status != expected]
    if not deviating:
        return None
    values = tuple(dict.fromkeys(v.sync_status for v in deviating))
    return Mismatch(SYNC_STATUS, expected, values, tuple(v.local_vv for v in deviating), len(volumes))


def _pairs_mismatch(pairs: Sequence[CimPair], prop: str, expected: int) -> Mismatch | None:
    if not pairs:
        return Mismatch(prop, expected, ())
    deviating = [p for p in pairs if not _same(pair_value(p, prop), expected)]
    if not deviating:
        return None
    values = tuple(dict.fromkeys(pair_value(p, prop) for p in deviating))
    return Mismatch(prop, expected, values, tuple(_pair_label(p) for p in deviating), len(pairs))


# --------------------------------------------------------------------------- shapes for reports


def expected_dict(exp: Expectation) -> dict[str, Any]:
    out: dict[str, Any] = {ROLE: exp.role, SYNC_STATUS: exp.sync_status}
    for prop, value in exp.cim.items():
        out[prop] = {"name": exp.names.get(prop) or load_spec().value_name(prop, value), "value": value}
    return out


def observed_dict(obs: Observation, exp: Expectation) -> dict[str, Any]:
    """The fields of `exp` as `obs` showed them; several differing values are listed per volume / pair."""
    out: dict[str, Any] = {"seq": obs.seq}
    if exp.needs_cli and obs.cli is not None:
        out[ROLE] = obs.cli.role
        statuses = {v.local_vv: v.sync_status for v in obs.cli.volumes}
        distinct = sorted(set(statuses.values()))
        out[SYNC_STATUS] = distinct[0] if len(distinct) == 1 else ("mixed" if distinct else None)
        if len(distinct) > 1:
            out["sync_status_by_volume"] = statuses
    if obs.cim is not None:
        for prop in exp.cim:
            out[prop] = _observed_property(obs.cim.pairs, prop)
    return out


def _observed_property(pairs: Sequence[CimPair], prop: str) -> dict[str, Any]:
    if not pairs:
        return {"name": "no pairs reported", "value": None}
    entries = {_pair_label(p): _value_entry(prop, pair_value(p, prop)) for p in pairs}
    distinct = {(e["name"], e["value"]) for e in entries.values()}
    if len(distinct) == 1:
        return next(iter(entries.values()))
    return {"name": "mixed", "value": None, "by_pair": entries}


def _state_text(obs: Observation, exp: Expectation) -> str:
    """`Role Primary-Rev, SyncStatus Stopped, CopyState FailedOver (10), ...` as `obs` showed the fields."""
    parts: list[str] = []
    if exp.role is not None and obs.cli is not None:
        parts.append(f"Role {obs.cli.role}")
    if exp.sync_status is not None and obs.cli is not None:
        parts.append(f"SyncStatus {_statuses_text(obs.cli.volumes)}")
    if obs.cim is not None:
        parts.extend(f"{prop} {_cim_text(obs.cim.pairs, prop)}" for prop in exp.cim)
    return ", ".join(parts)


def _statuses_text(volumes: Sequence[CliVolume]) -> str:
    statuses = list(dict.fromkeys(v.sync_status for v in volumes))
    return " / ".join(statuses) if statuses else "no volumes"


def _cim_text(pairs: Sequence[CimPair], prop: str) -> str:
    values = list(dict.fromkeys(pair_value(p, prop) for p in pairs))
    return " / ".join(format_value(prop, v) for v in values) if values else "no pairs"


def _expected_text(exp: Expectation) -> str:
    parts: list[str] = []
    if exp.role is not None:
        parts.append(f"Role {exp.role}")
    if exp.sync_status is not None:
        parts.append(f"SyncStatus {exp.sync_status}")
    parts.extend(f"{prop} {format_value(prop, value)}" for prop, value in exp.cim.items())
    return ", ".join(parts)


# --------------------------------------------------------------------------- cells


def cells_of(
    exp: Expectation, array: str, obs: Observation | None, *, judged: bool = True, cim_shows: str | None = None
) -> list[Cell]:
    """The row's cells on `array` as `obs` shows them: a cell passes when its value is the expected
    one, fails when it differs, and is not judged when `judged` is false or `obs` did not read its
    interface. `cim_shows`: every CIM cell fails showing this instead (a wrong instance set)."""
    failing = {m.field for m in _mismatches(obs, exp)} if obs is not None else set()
    seq = obs.seq if obs is not None else None
    cells: list[Cell] = []
    if exp.needs_cli:
        shown = _cli_text(obs, exp) if obs is not None and obs.cli is not None else None
        outcome = _outcome(judged, shown, bool(failing & {ROLE, SYNC_STATUS}))
        cells.append(Cell(_cli_column(exp), CLI, array, _cli_expected(exp), shown, outcome, seq))
    for prop, value in exp.cim.items():
        shown = cim_shows or (_cim_text(obs.cim.pairs, prop) if obs is not None and obs.cim is not None else None)
        outcome = _outcome(judged, shown, cim_shows is not None or prop in failing)
        cells.append(Cell(prop, CIM, array, format_value(prop, value), shown, outcome, seq))
    return cells


def expected_cells(row: Row) -> list[Cell]:
    """The cells of a documented row nobody judged (skipped, never decided, or read from a results file
    written before cells existed): the expected values, not judged."""
    exp = Expectation.from_row(row, array=row.array or "")
    return cells_of(exp, row.array or "", None, judged=False)


def _outcome(judged: bool, shown: str | None, differs: bool) -> Outcome:
    if not judged or shown is None:
        return Outcome.NOT_JUDGED
    return Outcome.FAIL if differs else Outcome.PASS


def _cli_column(exp: Expectation) -> str:
    """The CLI cell's column: Role/SyncStatus (Table 107), SyncStatus (Table 106)."""
    return "/".join(label for key, label in _FIELD_LABELS.items() if getattr(exp, key) is not None)


def _cli_expected(exp: Expectation) -> str:
    return "/".join(value for value in (exp.role, exp.sync_status) if value is not None)


def _cli_text(obs: Observation, exp: Expectation) -> str:
    assert obs.cli is not None
    shown = [obs.cli.role] if exp.role is not None else []
    if exp.sync_status is not None:
        shown.append(_statuses_text(obs.cli.volumes))
    return "/".join(shown)


def _failing_cells(mismatches: Sequence[Mismatch]) -> int:
    """How many cells these mismatches fail (role and sync status share the CLI's cell)."""
    return len({CLI if m.field in (ROLE, SYNC_STATUS) else m.field for m in mismatches})


# --------------------------------------------------------------------------- text helpers


def _seq_range(samples: Sequence[Observation]) -> str:
    first, last = samples[0].seq, samples[-1].seq
    return f"seq {first}" if first == last else f"seq {first}-{last}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _stage_of(samples: Sequence[Observation], stage: str | None) -> str | None:
    if stage is not None:
        return stage
    return next((s.stage for s in samples if s.stage), None)


def _after(stage: str | None) -> str:
    if stage is None:
        return ""
    return " in normal operation" if stage == "normal" else f" after {stage}"


def _array_of(exp: Expectation, samples: Sequence[Observation]) -> str:
    if isinstance(exp.array, str):
        return exp.array
    if samples:
        return samples[0].array
    return ", ".join(exp.array)


def _errors_text(samples: Sequence[Observation], exp: Expectation) -> str:
    counts = Counter(problem for s in samples for problem in sample_errors(s, exp))
    return ", ".join(f"{problem} ({_plural(n, 'sample')})" for problem, n in counts.most_common())


def _result(exp: Expectation, verdict: Verdict, array: str, **fields: Any) -> RowResult:
    return RowResult(
        id=exp.row_id, verdict=verdict, array=array, expected=expected_dict(exp), erratum=exp.erratum, **fields
    )


# --------------------------------------------------------------------------- in-progress rows


def judge_in_progress(
    exp: Expectation,
    samples: Sequence[Observation],
    *,
    window: tuple[float, float] | None = None,
    stage: str | None = None,
) -> RowResult:
    """Judge a transient row from the samples of one array taken while the command ran.

    FAIL if any sample fails the instance-set check; else PASS if any comparable sample shows
    the whole expected state; FAIL if there were comparable samples and none did (the reason
    gives the most frequent deviating values and in how many samples they were seen). If no
    sample in the window was comparable: ERROR when some could not be read (a connection
    broke), else NOT_OBSERVED. `window` (start, end) only serves those reasons.
    """
    array = _array_of(exp, samples)
    stage = _stage_of(samples, stage)
    during = f" during {stage}" if stage else " while the command ran"
    wrong_set = _instance_set_failure(exp, array, samples, during)
    if wrong_set is not None:
        return wrong_set
    usable = [s for s in samples if comparable(s, exp)]
    if not usable:
        return _not_observed(exp, array, samples, window, stage)
    outcomes = [(s, compare(s, exp)) for s in usable]
    for sample, mismatches in outcomes:
        if not mismatches:
            reason = f"{array}: {_expected_text(exp)} as expected in sample seq {sample.seq}{during}"
            return _result(exp, Verdict.PASS, array, observed=observed_dict(sample, exp), reason=reason,
                           evidence=[sample.seq], cells=cells_of(exp, array, sample))  # fmt: skip
    return _in_progress_failure(exp, array, outcomes, during)


def _in_progress_failure(
    exp: Expectation, array: str, outcomes: list[tuple[Observation, list[Mismatch]]], during: str
) -> RowResult:
    total = len(outcomes)
    counts: Counter[tuple[str, str]] = Counter((m.field, m.text) for _, ms in outcomes for m in ms)
    top_by_field: dict[str, tuple[str, int]] = {}
    for (fld, text), n in counts.most_common():
        top_by_field.setdefault(fld, (text, n))
    ranked = sorted(top_by_field.values(), key=lambda item: -item[1])
    parts = [f"{text} in {_plural(n, 'sample') if n == total else f'{n} of {total} samples'}" for text, n in ranked]
    fewest = min(_failing_cells(ms) for _, ms in outcomes)
    closest = next(s for s, ms in reversed(outcomes) if _failing_cells(ms) == fewest)
    return _result(
        exp,
        Verdict.FAIL,
        array,
        observed=observed_dict(closest, exp),
        reason=f"{array}: {'; '.join(parts)}{during}",
        evidence=[s.seq for s, _ in outcomes],
        cells=cells_of(exp, array, closest),
    )


def _not_observed(
    exp: Expectation,
    array: str,
    samples: Sequence[Observation],
    window: tuple[float, float] | None,
    stage: str | None,
) -> RowResult:
    what = f"{stage} " if stage else ""
    if window is not None:
        span = f"the {window[1] - window[0]:.1f} s {what}window"
    elif samples:
        span = f"the {what}window ({samples[-1].t_end - samples[0].t_start:.1f} s sampled)"
    else:
        span = f"the {what}window"
    if any(_read_failed(s, exp) for s in samples):  # a connection broke: nothing says the state was not there
        reason = (
            f"{array}: no comparable sample during {span}: the array could not be read "
            f"({_plural(len(samples), 'sample')} taken: {_errors_text(samples, exp)})"
        )
        return _result(exp, Verdict.ERROR, array, reason=reason, evidence=[s.seq for s in samples],
                       cells=cells_of(exp, array, None, judged=False))  # fmt: skip
    reason = f"{array}: no comparable sample during {span}; the command finished before any sample showed the state"
    if samples:
        reason += f" ({_plural(len(samples), 'sample')} taken, none comparable: {_errors_text(samples, exp)})"
    return _result(exp, Verdict.NOT_OBSERVED, array, reason=reason, evidence=[s.seq for s in samples],
                   cells=cells_of(exp, array, None, judged=False))  # fmt: skip


def _read_failed(obs: Observation, exp: Expectation) -> bool:
    """An interface the row needs could not be read (transport, authentication, unparsable reply)."""
    return (exp.needs_cim and obs.cim_error is not None) or (exp.needs_cli and obs.cli_error is not None)


# --------------------------------------------------------------------------- settled rows


def _snapshot(obs: Observation, exp: Expectation) -> tuple[Any, ...]:
    """The values `exp` is about, in a form two samples can be compared by."""
    role = obs.cli.role if exp.role is not None and obs.cli is not None else None
    sync: tuple[tuple[str, str], ...] = ()
    if exp.sync_status is not None and obs.cli is not None:
        sync = tuple(sorted((v.local_vv, v.sync_status) for v in obs.cli.volumes))
    cim: tuple[Any, ...] = ()
    if obs.cim is not None:
        pairs = sorted(obs.cim.pairs, key=lambda p: p.path)
        cim = tuple((p.path, tuple(_hashable(pair_value(p, prop)) for prop in exp.cim)) for p in pairs)
    return (role, sync, cim)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _first_settled_run(
    exp: Expectation, samples: Sequence[Observation], settle_samples: int
) -> list[Observation] | None:
    run: list[Observation] = []
    key: Any = None
    for sample in samples:
        snap = _snapshot(sample, exp)
        if run and snap == key:
            run.append(sample)
        else:
            run, key = [sample], snap
        if len(run) >= settle_samples:
            return run
    return None


def judge_settled(
    exp: Expectation,
    samples: Sequence[Observation],
    settle_samples: int,
    final: bool,
    *,
    stage: str | None = None,
) -> RowResult | None:
    """Judge a row from the samples of one array taken, in order, after its stage was reached.

    The first run of `settle_samples` consecutive comparable samples (samples that are not
    comparable are left out of the sequence) with identical relevant values decides: PASS
    if it equals the expectation, FAIL otherwise. A sample up to that decision that fails the
    instance-set check FAILs the row at once. Without such a run: None while not `final`;
    when final, FAIL "never settled" with the last observed values, or ERROR if no sample
    was comparable.
    """
    if settle_samples < 1:
        raise ValueError("settle_samples must be at least 1")
    array = _array_of(exp, samples)
    stage = _stage_of(samples, stage)
    after = _after(stage)
    usable = [s for s in samples if comparable(s, exp)]
    run = _first_settled_run(exp, usable, settle_samples)
    considered = samples if run is None else [s for s in samples if s.seq <= run[-1].seq]
    wrong_set = _instance_set_failure(exp, array, considered, after)
    if wrong_set is not None:
        return wrong_set
    if run is not None:
        return _settled_verdict(exp, array, run, after)
    if not final:
        return None
    if not usable:
        return _no_comparable(exp, array, samples, after)
    return _never_settled(exp, array, usable, settle_samples, after)


def _settled_verdict(exp: Expectation, array: str, run: list[Observation], after: str) -> RowResult:
    last = run[-1]
    mismatches = compare(last, exp)
    settled = f"settled over {_plural(len(run), 'sample')} ({_seq_range(run)}){after}"
    if mismatches:
        reason = f"{array} {settled}: {'; '.join(m.text for m in mismatches)}"
        verdict = Verdict.FAIL
    else:
        reason = f"{array}: {_expected_text(exp)} as expected, {settled}"
        verdict = Verdict.PASS
    return _result(exp, verdict, array, observed=observed_dict(last, exp), reason=reason, evidence=[s.seq for s in run],
                   cells=cells_of(exp, array, last))  # fmt: skip


def _no_comparable(exp: Expectation, array: str, samples: Sequence[Observation], after: str) -> RowResult:
    if not samples:
        reason = f"{array}: no sample was taken{after}"
    else:
        reason = (
            f"{array}: no comparable sample{after} ({_plural(len(samples), 'sample')}): {_errors_text(samples, exp)}"
        )
    return _result(exp, Verdict.ERROR, array, reason=reason, evidence=[s.seq for s in samples],
                   cells=cells_of(exp, array, None, judged=False))  # fmt: skip


def _never_settled(
    exp: Expectation, array: str, usable: Sequence[Observation], settle_samples: int, after: str
) -> RowResult:
    last = usable[-1]
    reason = (
        f"{array}: the state never settled{after} (no {settle_samples} consecutive samples agreed among "
        f"{_plural(len(usable), 'comparable sample')}); last observed (seq {last.seq}): {_state_text(last, exp)}; "
        f"expected {_expected_text(exp)}"
    )
    return _result(exp, Verdict.FAIL, array, observed=observed_dict(last, exp), reason=reason,
                   evidence=[s.seq for s in usable], cells=cells_of(exp, array, last))  # fmt: skip


# --------------------------------------------------------------------------- instance set and stages


def _instance_set_failure(
    exp: Expectation, array: str, samples: Sequence[Observation], where: str
) -> RowResult | None:
    """FAIL when some sample does not hold one TPD_RemoteStorageSynchronized per listed volume pair."""
    found = [(s, problems) for s in samples if (problems := instance_set_problems(s))]
    if not found:
        return None
    first, problems = found[0]
    others = f", and in {_plural(len(found) - 1, 'more sample')}" if len(found) > 1 else ""
    reason = f"{array}: instance set: {summary(problems)} (seq {first.seq}{others}){where}"
    observed = {**observed_dict(first, exp), "instance_set": problems}
    cells = cells_of(exp, array, first, cim_shows=f"instance set: {summary(problems)}")
    return _result(exp, Verdict.FAIL, array, observed=observed, reason=reason, evidence=[s.seq for s, _ in found],
                   cells=cells)  # fmt: skip


def stage_not_reached(exp: Expectation, latest: Mapping[str, Observation | None], why: str) -> RowResult:
    """FAIL: the row's stage never arrived within its time limit; the reason gives the state last observed
    on each of the row's arrays ("<array>: <why>; last observed (seq N): ...; expected ...")."""
    results = []
    for array in exp.arrays:
        obs = latest.get(array)
        one = replace(exp, array=array)
        if obs is None:
            seen, observed, evidence = "nothing observed", {}, []
        else:
            seen = f"last observed (seq {obs.seq}): {_state_text(obs, one) or _observation_errors(obs)}"
            observed, evidence = observed_dict(obs, one), [obs.seq]
        reason = f"{array}: {why}; {seen}; expected {_expected_text(one)}"
        results.append(_result(one, Verdict.FAIL, array, observed=observed, reason=reason, evidence=evidence,
                               cells=cells_of(one, array, obs)))  # fmt: skip
    return results[0] if len(results) == 1 else combine(exp, results)


def _observation_errors(obs: Observation) -> str:
    return "; ".join(e for e in (obs.cli_error, obs.cim_error) if e) or "no values"


# --------------------------------------------------------------------------- several arrays


def judge_each(
    exp: Expectation,
    samples_by_array: Mapping[str, Sequence[Observation]],
    *,
    in_progress: bool = False,
    settle_samples: int = 3,
    final: bool = True,
    stage: str | None = None,
    window: tuple[float, float] | None = None,
) -> RowResult | None:
    """Judge a row that holds for each of `exp.arrays` (Table 106) and combine the results.

    FAIL if any array fails (the reason lists every failing array), else ERROR, else
    NOT_OBSERVED if any array is so, else PASS. None while some array has not settled
    and the judgement is not `final`.
    """
    results: list[RowResult] = []
    for array in exp.arrays:
        one = replace(exp, array=array)
        samples = list(samples_by_array.get(array, ()))
        if in_progress:
            result: RowResult | None = judge_in_progress(one, samples, window=window, stage=stage)
        else:
            result = judge_settled(one, samples, settle_samples, final, stage=stage)
        if result is None:
            return None
        results.append(result)
    return combine(exp, results)


def combine(exp: Expectation, results: Iterable[RowResult]) -> RowResult:
    """One result for a multi-array row from the results of its arrays."""
    results = list(results)
    verdict = next(v for v in SEVERITY if any(r.verdict == v for r in results))
    deciding = [r for r in results if r.verdict == verdict]
    if verdict == Verdict.PASS:
        reason = "; ".join(r.reason for r in results)
    else:
        names = ", ".join(str(r.array) for r in deciding)
        label = {Verdict.FAIL: "fail", Verdict.ERROR: "in error", Verdict.NOT_OBSERVED: "not observed"}.get(
            verdict, str(verdict)
        )
        reason = f"{len(deciding)} of {len(results)} arrays {label} ({names}): " + "; ".join(r.reason for r in deciding)
    return RowResult(
        id=exp.row_id,
        verdict=verdict,
        array=exp.array,
        expected=expected_dict(exp),
        observed={str(r.array): r.observed for r in results},
        reason=reason,
        evidence=sorted({seq for r in results for seq in r.evidence}),
        erratum=exp.erratum,
        cells=[cell for r in results for cell in r.cells],
    )
