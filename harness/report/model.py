"""A run directory -> the view model the HTML report is rendered from.

Pure: reads the files a run wrote (results.json, or results.jsonl + observations.jsonl of an
interrupted run; transcript.jsonl when present) and nothing else: no environment, no network.
Every row keeps only the evidence that decided it plus a couple of observations around it.
Rows are read with `RowResult.from_dict` and their cells shown as the harness judged them: nothing
here judges a value again (the overall verdict is recomputed from the rows, to catch an edited file).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.overall import Overall, judge_run, scoped_rows, worst
from harness.results import Cell, Outcome, RowResult
from harness.showrcopy import CliParseError, parse_showsys
from harness.spec import CIM_PROPERTIES, load_spec, row_ids_in
from harness.verdicts import expected_cells, format_value

VERDICTS = ("pass", "fail", "error", "not_observed", "skipped", "out_of_scope")
VERDICT_LABELS = {
    "pass": "Pass",
    "fail": "Fail",
    "error": "Error",
    "not_observed": "Not observed",
    "skipped": "Skipped",
    "out_of_scope": "Out of scope",
}
TABLES = {
    "table107": "Table 107 — CopyState/SyncState/ProgressStatus transitions during disaster recovery",
    "table106": "Table 106 — normal operation",
    "sld": "Synchronous Long Distance (SLD) backup link",
    "rules": "Rules checked on every observation",
}
OVERALL_LABELS = {"conformant": "Conformant", "not_conformant": "Not conformant", "incomplete": "Incomplete",
                  "error": "Error"}  # fmt: skip
PAIR_PROPERTIES = (*CIM_PROPERTIES, "RequestedCopyState", "RoleReversed", "Mode", "UndiscoveredElement")
MAX_EVIDENCE = 8  # evidence observations shown per row (first and last halves when there are more)
MAX_ACTIONS = 6  # commands / events shown per row
MAX_VIOLATIONS = 10
INTERRUPTED = "the run was interrupted before this row was decided (results.json was never written)"


class ReportError(Exception):
    """The path is not a readable run directory; the message says why."""


# --------------------------------------------------------------------------- loading


@dataclass
class RunData:
    """The files of one run, as written (dicts), indexed for lookups."""

    path: Path
    complete: bool  # results.json was written (the run finished)
    manifest: dict[str, Any]
    rows: list[RowResult]
    events: list[dict[str, Any]]
    errata: dict[str, str]
    final_state: dict[str, Any]
    observations: list[dict[str, Any]]  # in seq order
    transcript: dict[str, dict[str, Any]]  # ref -> CliResult dict
    warnings: list[str] = field(default_factory=list)
    overall: Overall | None = None  # as results.json states it (None: judge the rows here)

    def __post_init__(self) -> None:
        self.by_seq = {int(o["seq"]): o for o in self.observations}
        self.by_array: dict[str, list[dict[str, Any]]] = {}
        for obs in self.observations:
            self.by_array.setdefault(obs["array"], []).append(obs)
        self.seqs_by_array = {a: [int(o["seq"]) for o in obs] for a, obs in self.by_array.items()}


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "results.json").is_file() or (path / "results.jsonl").is_file())


def load_run(path: Path | str) -> RunData:
    """Read a run directory; raises ReportError for a missing path, a non-run dir or unreadable results."""
    path = Path(path)
    if not path.exists():
        raise ReportError(f"{path}: no such directory")
    if not is_run_dir(path):
        raise ReportError(f"{path}: not a run directory (neither results.json nor results.jsonl is there)")
    warnings: list[str] = []
    observations = _jsonl(path / "observations.jsonl", warnings)
    observations.sort(key=lambda o: int(o.get("seq", 0)))
    transcript = {e["ref"]: e for e in _jsonl(path / "transcript.jsonl", warnings) if e.get("ref")}
    spec = load_spec()
    if (path / "results.json").is_file():
        try:
            doc = json.loads((path / "results.json").read_text())
        except (OSError, ValueError) as exc:
            raise ReportError(f"{path / 'results.json'}: not readable JSON ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
            raise ReportError(f"{path / 'results.json'}: not a results document (no rows list)")
        rows = _typed(path / "results.json", [r for r in doc["rows"] if isinstance(r, dict) and "id" in r])
        overall = _stated_overall(doc)
        for sub in (doc.get("manifest") or {}).get("group_runs", {}).values():  # multi-group run: identities
            if not transcript and "/" not in str(sub):
                transcript = {e["ref"]: e for e in _jsonl(path / str(sub) / "transcript.jsonl", warnings)
                              if e.get("ref") and e.get("command") == "showsys"}  # fmt: skip
        return RunData(path, True, doc.get("manifest") or {}, rows, doc.get("events") or [],
                       doc.get("errata") or spec.errata, doc.get("final_state") or {}, observations, transcript,
                       warnings, overall)  # fmt: skip
    decided = {r["id"]: r for r in _jsonl(path / "results.jsonl", warnings) if isinstance(r, dict) and "id" in r}
    topology = _topology_seen(observations)
    scoped = scoped_rows(decided, topology=topology, selected=None, undecided_why=INTERRUPTED)
    overall = judge_run(scoped, problems=["the run was interrupted: results.json was never written"])
    typed = _typed(path / "results.jsonl", scoped)
    return RunData(path, False, {}, typed, [], spec.errata, {}, observations, transcript, warnings, overall)


def _typed(source: Path, rows: list[dict[str, Any]]) -> list[RowResult]:
    try:
        return [RowResult.from_dict(row) for row in rows]
    except ValueError as exc:
        raise ReportError(f"{source}: {exc}") from None


def _stated_overall(doc: dict[str, Any]) -> Overall | None:
    stated = doc.get("overall")
    if not isinstance(stated, dict) or stated.get("verdict") not in OVERALL_LABELS:
        return None
    return Overall(str(stated["verdict"]), str(stated.get("headline", "")), dict(stated.get("counts") or {}),
                   dict(stated.get("out_of_scope") or {}), list(stated.get("problems") or []),
                   bool(stated.get("left_unnatural")))  # fmt: skip


def _topology_seen(observations: list[dict[str, Any]]) -> str | None:
    """An interrupted run wrote no manifest: its observations tell which arrays it had."""
    arrays = {o.get("array") for o in observations}
    if arrays & {"sync_secondary", "periodic_secondary"}:
        return "sld"
    return "pair" if arrays else None


def _jsonl(path: Path, warnings: list[str]) -> list[Any]:
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except ValueError:
            warnings.append(f"{path.name} line {number}: not JSON (cut short?), left out")
    return entries


# --------------------------------------------------------------------------- view model


@dataclass
class CellView:
    """One column of a row in the table's layout: the row's cells of that column on every array."""

    column: str  # "Role/SyncStatus", "SyncStatus", "CopyState", ...
    expected: str
    observed: str | None = None  # shown next to the expected value when the cell failed
    status: str = "na"  # pass | fail | na (not judged)


@dataclass
class CommandView:
    kind: str  # command | event | fault | read
    array: str | None
    label: str
    t_start: float | None
    t_end: float | None
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    detail: str = ""  # simulator action request, as JSON

    @property
    def duration(self) -> float | None:
        if self.t_start is None or self.t_end is None:
            return None
        return max(0.0, self.t_end - self.t_start)


@dataclass
class PairView:
    volume: str
    ends: str
    values: dict[str, str]
    omitted: list[str]


@dataclass
class ObsView:
    seq: int
    array: str
    t: float
    t_end: float
    wall: str
    stage: str | None
    decisive: bool  # cited by the row's verdict (else context)
    consistent: bool
    cli: dict[str, Any] | None
    cli_error: str | None
    pairs: list[PairView]
    group_syncs: list[str]
    cim_error: str | None
    reads: list[CommandView] = field(default_factory=list)


@dataclass
class Evidence:
    observations: list[ObsView]
    commands: list[CommandView]
    window: tuple[float, float] | None
    stage: str | None
    note: str | None = None


@dataclass
class RowView:
    id: str
    table: str
    verdict: str
    arrays: list[str]
    text: str
    reason: str
    cells: list[CellView]
    errata: list[tuple[str, str]]
    note: str | None
    evidence: Evidence | None
    rule: dict[str, Any] | None = None  # checked, violation_count, examples (rules)
    problems: list[str] = field(default_factory=list)  # SLD-02/03
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # multi-group run: group -> verdict, reason
    expected_role: str | None = None
    expected_sync: str | None = None
    expected_values: dict[str, str] = field(default_factory=dict)  # CIM property -> "Name (int)"

    @property
    def search(self) -> str:
        parts = [self.id, self.verdict, *self.arrays, self.text, self.reason]
        parts += [c.expected for c in self.cells] + [c.observed or "" for c in self.cells]
        return " ".join(parts).lower()

    @property
    def failed_cells(self) -> list[CellView]:
        return [c for c in self.cells if c.status == "fail"]


@dataclass
class ArrayInfo:
    key: str
    system_name: str | None
    model: str | None
    serial: str | None
    os_version: str | None
    provider: str | None
    provider_version: str | None
    profiles: dict[str, str]
    group: str | None
    endpoint: str | None


@dataclass
class RunView:
    path: Path
    name: str
    complete: bool
    overall: str
    overall_note: str
    counts: dict[str, int]
    manifest: dict[str, Any]
    arrays: list[ArrayInfo]
    rows: list[RowView]
    skipped: list[tuple[str, list[str]]]
    errata: list[tuple[str, str, list[str]]]
    final_state: dict[str, Any]
    warnings: list[str]
    data: RunData
    actions: list[CommandView]

    @property
    def title(self) -> str:
        names = [a.system_name or a.key for a in self.arrays] or sorted(self.data.by_array)
        return " ⇄ ".join(names) if names else self.name

    @property
    def overall_label(self) -> str:
        return OVERALL_LABELS[self.overall]

    def table(self, name: str) -> list[RowView]:
        return [r for r in self.rows if r.table == name]

    @property
    def array_keys(self) -> list[str]:
        keys = [a.key for a in self.arrays] or list(self.data.by_array)
        return keys


def build_view(data: RunData, *, evidence: bool = True) -> RunView:
    """The report's view of one run; `evidence=False` leaves per-row evidence out (combined matrix)."""
    errata_rows = _errata_rows(data)
    actions = run_actions(data)
    rows = [_row_view(row, data, errata_rows, actions, evidence) for row in data.rows]
    counts = Counter(r.verdict for r in rows)
    overall, note = _overall(data)
    skipped: dict[str, list[str]] = {}
    for row in rows:
        if row.verdict in ("skipped", "out_of_scope"):
            skipped.setdefault(row.reason, []).append(row.id)
    errata = [(eid, text, sorted(errata_rows.get(eid, ()))) for eid, text in data.errata.items()]
    return RunView(
        path=data.path,
        name=data.path.resolve().name,
        complete=data.complete,
        overall=overall,
        overall_note=note,
        counts={v: counts.get(v, 0) for v in VERDICTS if counts.get(v, 0) or v != "out_of_scope"},
        manifest=data.manifest,
        arrays=_arrays(data),
        rows=rows,
        skipped=list(skipped.items()),
        errata=errata,
        final_state=data.final_state,
        warnings=data.warnings,
        data=data,
        actions=actions,
    )


def load_view(path: Path | str, *, evidence: bool = True) -> RunView:
    return build_view(load_run(path), evidence=evidence)


def _overall(data: RunData) -> tuple[str, str]:
    """The verdict the rows support, judged with the same function that judged the run. When results.json
    states another (edited by hand, or written by another harness version), the worse one is shown and
    the report says so."""
    stated = data.overall
    rows = [r.to_dict() for r in data.rows]
    judged = judge_run(rows, problems=stated.problems if stated else (), final_states=[data.final_state])
    if stated is None or stated.verdict == judged.verdict:
        return judged.verdict, stated.headline if stated else judged.headline
    shown = worst([stated.verdict, judged.verdict])
    data.warnings.append(f"results.json states {stated.verdict.upper()} but its rows give {judged.verdict.upper()} "
                         f"({judged.headline}): the worse is shown")  # fmt: skip
    return shown, (stated if shown == stated.verdict else judged).headline


def _arrays(data: RunData) -> list[ArrayInfo]:
    models: dict[str, str] = {}
    for entry in data.transcript.values():
        if entry.get("command") == "showsys" and entry.get("array") not in models and entry.get("status") == 0:
            try:
                models[entry["array"]] = parse_showsys(entry.get("stdout", "")).model
            except (CliParseError, ValueError):
                continue
    out = []
    for key, info in (data.manifest.get("arrays") or {}).items():
        url = str(info.get("cim_url") or "")
        scheme, _, rest = url.partition("://")
        rest = rest.rpartition("@")[2]  # never show user information of a URL
        out.append(ArrayInfo(key, info.get("system_name"), models.get(key), info.get("serial"), info.get("os_version"),
                             info.get("provider"), info.get("provider_version"), dict(info.get("profiles") or {}),
                             info.get("group"), f"{rest} ({scheme.upper()})" if rest else None))  # fmt: skip
    return out


def _errata_rows(data: RunData) -> dict[str, set[str]]:
    """Erratum id -> row ids it concerns (the row's `erratum` field and table rows named in the erratum text;
    a rule the text cites as an argument is not a row the erratum corrects)."""
    known = {r.id for r in data.rows if r.table != "rules"}
    found = {eid: set(row_ids_in(text)) & known for eid, text in data.errata.items()}
    for row in data.rows:
        if row.erratum:
            found.setdefault(row.erratum, set()).add(row.id)
    return found


# --------------------------------------------------------------------------- one row


def _row_view(
    row: RowResult, data: RunData, errata_rows: dict[str, set[str]], actions: list[CommandView], evidence: bool
) -> RowView:
    spec_row = load_spec().rows.get(row.id)
    table = row.table or (spec_row.table if spec_row else "other")
    verdict = "out_of_scope" if row.in_scope is False else str(row.verdict)
    arrays = _arrays_of(row)
    text = spec_row.text if spec_row else ""
    errata = [(eid, data.errata.get(eid, "")) for eid, ids in sorted(errata_rows.items()) if row.id in ids]
    cells = row.cells or (expected_cells(spec_row) if spec_row else [])
    view = RowView(
        id=row.id,
        table=table,
        verdict=verdict,
        arrays=arrays,
        text=text,
        reason=(row.out_of_scope or row.reason) if verdict == "out_of_scope" else row.reason,
        cells=column_views(cells),
        errata=errata,
        note=spec_row.note if spec_row else None,
        evidence=_evidence(row, table, data, actions) if evidence else None,
    )
    if spec_row is not None:
        ints = load_spec().expected_ints(spec_row)
        view.expected_role, view.expected_sync = spec_row.role, spec_row.sync_status
        view.expected_values = {prop: f"{name} ({ints[prop]})" for prop, name in spec_row.cim.items()}
    view.groups = {g: v for g, v in row.groups.items() if isinstance(v, dict)}
    observed = row.observed
    if table == "rules":
        examples = observed.get("examples") or []
        view.rule = {"checked": observed.get("checked"), "violation_count": observed.get("violations"),
                     "examples": examples[:MAX_VIOLATIONS], "more": max(0, len(examples) - MAX_VIOLATIONS)}  # fmt: skip
        view.arrays = sorted({str(e["array"]) for e in examples if e.get("array")})
    if isinstance(observed.get("problems"), list):
        view.problems = [str(p) for p in observed["problems"]]
    return view


def _arrays_of(row: RowResult) -> list[str]:
    if isinstance(row.array, tuple):
        return list(row.array)
    return [row.array] if row.array else []


def column_views(cells: list[Cell]) -> list[CellView]:
    """The row's cells by column, in their order: a column fails when a cell of it failed (the observed
    values of the failed cells beside the expected one), passes when every cell of it passed."""
    by_column: dict[str, list[Cell]] = {}
    for cell in cells:
        by_column.setdefault(cell.column, []).append(cell)
    return [_column_view(column, same) for column, same in by_column.items()]


def _column_view(column: str, cells: list[Cell]) -> CellView:
    failed = [c for c in cells if c.outcome == Outcome.FAIL]
    if not failed:
        passed = all(c.outcome == Outcome.PASS for c in cells)
        return CellView(column, cells[0].expected, None, "pass" if passed else "na")
    texts = {str(c.observed) for c in failed}
    if len({c.array for c in cells}) == 1:
        observed = next(iter(texts))
    elif len(texts) == 1:
        observed = f"{next(iter(texts))} on {', '.join(c.array for c in failed)}"
    else:
        observed = "; ".join(f"{c.array}: {c.observed}" for c in failed)
    return CellView(column, cells[0].expected, observed, "fail")


# --------------------------------------------------------------------------- evidence


def run_actions(data: RunData) -> list[CommandView]:
    """Commands, events and faults the driver issued, paired with their `_done` marks and transcripts."""
    out: list[CommandView] = []
    open_: dict[tuple[str, Any, Any], CommandView] = {}
    for event in data.events:
        kind = str(event.get("kind", ""))
        base = kind.removesuffix("_done")
        if base not in ("command", "event", "fault", "action"):
            continue
        label = str(event.get("command") or event.get("name") or base)
        key = (base, event.get("array"), label)
        if not kind.endswith("_done"):
            view = CommandView(base, event.get("array"), label, _num(event.get("t")), None)
            open_[key] = view
            out.append(view)
            continue
        started = open_.pop(key, None)
        if started is None:
            started = CommandView(base, event.get("array"), label, _num(event.get("t")), None)
            out.append(started)
        view = started
        view.t_end = _num(event.get("t"))
        view.status = event.get("status")
        entry = data.transcript.get(str(event.get("transcript") or ""))
        if entry:
            view.stdout, view.stderr = entry.get("stdout", ""), entry.get("stderr", "")
        if event.get("evidence") is not None:
            view.detail = json.dumps(event["evidence"], sort_keys=True)
    return out


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _evidence(row: RowResult, table: str, data: RunData, actions: list[CommandView]) -> Evidence | None:
    seqs = [s for s in row.evidence if s in data.by_seq]
    if not seqs:
        return None
    note = None
    if len(seqs) > MAX_EVIDENCE:
        half = MAX_EVIDENCE // 2
        note = (f"{len(seqs) - MAX_EVIDENCE} more cited observations (seq {seqs[half]} to {seqs[-half - 1]}) are not "
                "shown here; they are in observations.jsonl")  # fmt: skip
        seqs = seqs[:half] + seqs[-half:]
    decisive = set(seqs)
    chosen = set(seqs)
    cited = [data.by_seq[s] for s in seqs]
    start = min(float(o["t_start"]) for o in cited)
    end = max(float(o["t_end"]) for o in cited)
    for array, seq_list in data.seqs_by_array.items():
        own = sorted(s for s in seqs if data.by_seq[s]["array"] == array)
        if own:
            chosen |= _neighbours(seq_list, own[0], own[-1])
        elif table != "rules":
            chosen |= _near_window(data.by_array[array], start, end)
    observations = [_obs_view(data.by_seq[s], s in decisive, data) for s in sorted(chosen)]
    stages = [o.get("stage") for o in cited if o.get("stage")]
    commands = [] if table == "rules" else _row_actions(data, actions, start, end)
    return Evidence(observations, commands, (start, end), stages[-1] if stages else None, note)


def _neighbours(seq_list: list[int], first: int, last: int) -> set[int]:
    out = set()
    i = bisect_left(seq_list, first)
    if i > 0:
        out.add(seq_list[i - 1])
    j = bisect_left(seq_list, last)
    if j + 1 < len(seq_list):
        out.add(seq_list[j + 1])
    return out


def _near_window(observations: list[dict[str, Any]], start: float, end: float) -> set[int]:
    """The other array around the checkpoint: the sample before it, up to 3 within it, the sample after it."""
    before = [o for o in observations if float(o["t_start"]) < start]
    inside = [o for o in observations if start <= float(o["t_start"]) <= end]
    after = [o for o in observations if float(o["t_start"]) > end]
    if len(inside) > 3:
        inside = [inside[0], inside[len(inside) // 2], inside[-1]]
    picked = before[-1:] + inside + after[:1]
    return {int(o["seq"]) for o in picked}


def _row_actions(data: RunData, actions: list[CommandView], start: float, end: float) -> list[CommandView]:
    """What the driver did to bring the pair into this row's state: from the stage before the one the
    checkpoint starts in, up to the end of the checkpoint."""
    arrivals = [float(e["t"]) for e in data.events if e.get("kind") == "stage" and isinstance(e.get("t"), int | float)]
    i = max((n for n, t in enumerate(arrivals) if t <= start), default=-1)
    lower = arrivals[i - 1] if i >= 1 else float("-inf")
    chosen = [a for a in actions if a.t_start is not None and lower < a.t_start <= end]
    return chosen[-MAX_ACTIONS:]


def _obs_view(obs: dict[str, Any], decisive: bool, data: RunData) -> ObsView:
    cim = obs.get("cim") or None
    pairs = []
    syncs = []
    if cim:
        for pair in cim.get("pairs") or []:
            props = pair.get("properties") or {}
            values = {p: format_value(p, props[p]) for p in PAIR_PROPERTIES if p in props}
            ends = f"{_end(pair, 'system_element')} → {_end(pair, 'synced_element')}"
            pairs.append(PairView(pair.get("local_volume") or "?", ends, values, list(pair.get("omitted") or [])))
        for sync in cim.get("group_syncs") or []:
            syncs.append(f"{sync.get('system_element_name') or '?'} → {sync.get('synced_element_name') or '?'}")
    reads: list[CommandView] = []
    if decisive:
        for ref in str(obs.get("transcript_ref") or "").split(","):
            entry = data.transcript.get(ref.strip())
            if entry:
                duration = float(entry["t_end"]) - float(entry["t_start"])
                reads.append(CommandView("read", entry.get("array"), entry.get("command", ""), None, None,
                                         entry.get("status"), entry.get("stdout", ""), entry.get("stderr", ""),
                                         f"{duration:.3f} s"))  # fmt: skip
    return ObsView(
        seq=int(obs["seq"]),
        array=str(obs.get("array")),
        t=float(obs.get("t_start", 0.0)),
        t_end=float(obs.get("t_end", 0.0)),
        wall=str(obs.get("wall", "")),
        stage=obs.get("stage"),
        decisive=decisive,
        consistent=bool(obs.get("consistent", True)),
        cli=obs.get("cli"),
        cli_error=obs.get("cli_error"),
        pairs=pairs,
        group_syncs=syncs,
        cim_error=obs.get("cim_error"),
        reads=reads,
    )


def _end(pair: dict[str, Any], end: str) -> str:
    name = str(pair.get(f"{end}_class"))
    short = {"TPD_StorageVolume": "volume", "TPD_ReplicationEntity": "entity"}.get(name, name)
    return f"local {short}" if pair.get(f"{end}_local") else f"remote {short}"


# --------------------------------------------------------------------------- several runs


@dataclass
class CombinedCell:
    verdict: str
    detail: str  # failed cells (observed vs expected), else empty
    reason: str


@dataclass
class CombinedRow:
    id: str
    table: str
    text: str
    cells: list[CombinedCell]


@dataclass
class CombinedView:
    runs: list[RunView]
    rows: list[CombinedRow]
    stated: str | None = None  # the combined verdict of a run of several targets (its results.json)
    headline: str = ""
    missing: list[str] = field(default_factory=list)  # targets that left no run directory to show

    @property
    def overall(self) -> str:
        """The worst of the runs' verdicts and the stated one: a run missing from the matrix can only lower it."""
        found = [r.overall for r in self.runs] + ([self.stated] if self.stated else [])
        return worst(found) if not self.missing else worst([*found, "error"])


def build_combined(
    runs: list[RunView], stated: tuple[str, str] | None = None, missing: list[str] | None = None
) -> CombinedView:
    ids: list[str] = list(load_spec().rows)
    for run in runs:
        ids += [r.id for r in run.rows if r.id not in ids]
    rows = []
    for row_id in ids:
        spec_row = load_spec().rows.get(row_id)
        cells = []
        table = spec_row.table if spec_row else "other"
        for run in runs:
            found = next((r for r in run.rows if r.id == row_id), None)
            if found is None:
                cells.append(CombinedCell("out_of_scope", "", "not in this run"))
                continue
            table = found.table
            detail = "; ".join(f"{c.column} {c.expected} — observed {c.observed}" for c in found.failed_cells)
            cells.append(CombinedCell(found.verdict, detail, found.reason))
        rows.append(CombinedRow(row_id, table, spec_row.text if spec_row else "", cells))
    verdict, headline = stated or (None, "")
    return CombinedView(runs, rows, verdict, headline, list(missing or []))

