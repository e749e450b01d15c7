"""`smis-harness rejudge RUN_DIR... [--out DIR]`: a recorded run judged again, offline, by the current code.

1. The observations are rebuilt from the run's recording (harness.recording): each sample's CLI text
   (transcript.jsonl, by the refs of recording/samples.jsonl) through the harness's own `showrcopy`
   reading (`harness.poll.read_cli`), each CIM read's recorded answers (recording/cim.jsonl, CIM-XML
   parsed back by pywbem; References per member volume, or the one enumeration of the pair class the read
   path `enumeration` asks, `harness.cim_reads.enumerated_answers`) through the harness's own conversion
   (`harness.cim.cim_view`), put together by
   `harness.poll.observation_from`, as a live sample is.
2. Every row decided on observations is judged again (harness.judging) from its `judge` event (the stage
   visit, the window, the samples there were) and the `leg` and `entity_probe` events of results.json, with
   the run's configuration (settle samples). Rows not decided on observations (skipped, a stage not
   reached, a row whose test broke) keep their recorded result.
3. A settled row's samples are those of its stage: from the moment it was entered until the pair left it
   (the next leg) or its deadline. A row the run decided at its deadline sees what the run saw then. Where
   the current code needs more samples of a stage than the run took before it moved on, the row is ERROR
   ("cannot be decided from the recording").

The new results.json, observations.jsonl, report and rejudge.json (the rows that changed verdict, and
whether the rebuilt observations equal the recorded ones) go to `--out` (default `<run-dir>/rejudged/`).
Exit 0: every verdict as recorded; 1: some verdict changed; 2: not a run directory, no recording, an
unreadable file.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.array_cli import CliError, CliResult, session_broke
from harness.cim import (
    GROUP_SYNC_CLASS,
    PAIR_CLASS,
    Answer,
    CimEndpoint,
    CimError,
    GroupAnswers,
    GroupHandle,
    cim_view,
    path_text,
)
from harness.cim_reads import enumerated_answers, refs_by_member
from harness.judging import (
    JUDGE,
    LEG,
    RULE,
    SLD,
    Judging,
    disturbed,
    first_outside_change,
    judge_rule,
    judge_sld_row,
    judge_table_row,
    legs,
    probes,
    rule_context,
    sld_latest,
    upto,
)
from harness.observation import CimView, Observation
from harness.overall import UNDECIDED, judge_run
from harness.poll import CliRead, observation_from, read_cli
from harness.recording import (
    CIM_FILE,
    FORMAT,
    RECORDING_DIR,
    SAMPLES_FILE,
    decode,
    decode_error,
    parse_cimxml,
)
from harness.result_files import overall_fields
from harness.results import RowResult
from harness.spec import Spec, load_spec
from harness.verdicts import Expectation, error

REJUDGE_FILE = "rejudge.json"
OUT_DIR = "rejudged"
OUT_FILES = ("results.json", "observations.jsonl", "transcript.jsonl", "index.html", REJUDGE_FILE)
ELAPSED = re.compile(r"\d+(\.\d+)?\s?s\b")
"""Elapsed times in a reason ("3.2 s window", "within 60s"): the only part of a reason that may differ."""


class RejudgeError(Exception):
    """The run cannot be judged again (not a run directory, no recording, unreadable files): usage error."""


# --------------------------------------------------------------------------- the files of a run


@dataclass
class RunFiles:
    """A run's files by name (a run directory read, or a bundle's members): what re-judging reads."""

    name: str
    files: Mapping[str, bytes]

    @classmethod
    def from_dir(cls, path: Path) -> RunFiles:
        files: dict[str, bytes] = {}
        for entry in path.rglob("*"):
            relative = entry.relative_to(path)
            if entry.is_file() and relative.parts[0] != OUT_DIR and entry.suffix in (".json", ".jsonl"):
                files[relative.as_posix()] = entry.read_bytes()
        return cls(str(path), files)

    def sub(self, prefix: str) -> RunFiles:
        """The files of one group's run of a multi-group run."""
        cut = prefix.rstrip("/") + "/"
        return RunFiles(f"{self.name}/{prefix}", {k[len(cut):]: v for k, v in self.files.items() if k.startswith(cut)})

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.files[name])
        except KeyError:
            raise RejudgeError(f"{self.name}: no {name}") from None
        except ValueError as exc:
            raise RejudgeError(f"{self.name}/{name}: not readable JSON ({exc})") from None

    def jsonl(self, name: str) -> list[Any]:
        if name not in self.files:
            raise RejudgeError(f"{self.name}: no {name}")
        out = []
        for number, line in enumerate(self.files[name].decode(errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                if number == len(self.files[name].splitlines()):
                    continue  # a last line cut short by a killed run
                raise RejudgeError(f"{self.name}/{name} line {number}: not JSON") from None
        return out


# --------------------------------------------------------------------------- the recording played back


class ReplayCli:
    """The commands one CLI read of a sample sent, answered from the transcript in the order they went out
    (`harness.array_cli.ArrayCli.run`'s contract: a broken session is retried; a read whose array never
    answered raises CliError with the recorded text)."""

    def __init__(self, array: str, entries: Sequence[CliResult], failure: str | None) -> None:
        self.array = array
        self._entries = list(entries)
        self._failure = failure

    def run(self, command: str, stdin: str | None = None, timeout: float | None = None) -> CliResult:
        broken: CliResult | None = None
        while self._entries:
            entry = self._entries.pop(0)
            if entry.command != command:
                raise CliError(f"{self.array}: the recording answers `{entry.command}` where the harness now "
                               f"sends `{command}`")  # fmt: skip
            if session_broke(entry):
                broken = entry
                continue
            return entry
        if self._failure is not None:
            raise CliError(self._failure)
        if broken is not None:
            raise CliError(broken.stderr)
        raise CliError(f"{self.array}: the recording holds no answer to `{command}` (the run did not send it)")


@dataclass
class _Probe:
    array: str
    group_name: str
    peer: str
    peer_serial: str | None
    endpoint: CimEndpoint
    handle: GroupHandle | None


class Recording:
    """A run's recording read back: CIM answers by ref, CLI results by transcript ref, samples in order."""

    def __init__(self, run: RunFiles) -> None:
        names = [f"{RECORDING_DIR}/{SAMPLES_FILE}", f"{RECORDING_DIR}/{CIM_FILE}"]
        missing = [n for n in names if n not in run.files]
        if missing:
            raise RejudgeError(f"{run.name}: no recording ({', '.join(missing)} missing): the run was made before "
                               "runs recorded themselves, or its recording/ was removed; it cannot be judged "
                               "again")  # fmt: skip
        self.lines = run.jsonl(names[0])
        header = self.lines[0] if self.lines else {}
        if header.get("kind") != "recording" or header.get("format") != FORMAT:
            raise RejudgeError(f"{run.name}/{names[0]}: a recording of format {header.get('format')!r}; this "
                               f"harness reads format {FORMAT}")  # fmt: skip
        self.cim = {str(line.get("ref")): line for line in run.jsonl(names[1])}
        self.transcript = {
            str(e["ref"]): _cli_result(e) for e in run.jsonl("transcript.jsonl") if e.get("state") == "ended"
        }  # the later line of each command holds what came back
        self._answers: dict[str, Answer] = {}
        self._args: dict[str, dict[str, Any]] = {}

    def answer(self, ref: str) -> Answer:
        """What the provider answered operation `ref` (the earlier line it names when it was the same)."""
        if ref not in self._answers:
            line = self.cim.get(ref)
            if line is None or "unrecorded" in line:
                why = line["unrecorded"] if line else "no such line"
                raise CimError(f"CIM operation {ref} is not in the recording ({why})")
            if "same_as" in line:
                self._answers[ref] = self.answer(str(line["same_as"]))
            elif "error" in line:
                error_ = decode_error(line["error"])
                if not _is_pywbem(error_):  # the live sample broke on it (and says so): never read as an answer
                    raise CimError(f"CIM operation {ref} raised {line['error'].get('class')}: {error_}")
                self._answers[ref] = Answer(error=error_)
            else:
                self._answers[ref] = Answer(result=decode(line.get("result")))
        return self._answers[ref]

    def args(self, ref: str) -> dict[str, Any]:
        """The arguments of operation `ref` (those of the earlier line it repeats)."""
        if ref not in self._args:
            line = self.cim.get(ref) or {}
            if "args" not in line and "same_as" in line:
                self._args[ref] = self.args(str(line["same_as"]))
            else:
                decoded = decode(line.get("args") or {})
                self._args[ref] = decoded if isinstance(decoded, dict) else {}
        return self._args[ref]

    def observations(self) -> list[Observation]:
        """Every sample rebuilt, in seq order."""
        probes_: dict[str, _Probe] = {}
        out = []
        for line in self.lines:
            if line.get("kind") == "probe":
                probes_[line["array"]] = _probe(line)
            elif line.get("kind") == "sample":
                out.append(self._sample(line, probes_.get(line["array"])))
        return sorted(out, key=lambda o: o.seq)

    def _sample(self, line: Mapping[str, Any], probe: _Probe | None) -> Observation:
        array, t_start, t_end, wall = line["array"], line["t_start"], line["t_end"], line["wall"]
        if line.get("broken") is not None or probe is None:
            text = line.get("broken") or f"{array}: the recording says nothing of what this sample read"
            return Observation(array, line["seq"], t_start, t_end, wall, cim_error=text, cli_error=text,
                               stage=line.get("stage"), group=line.get("group"))  # fmt: skip
        first = self._cli(line, "cli", probe)
        cim = self._cim(line, probe)
        after = None
        if first.view is not None:
            after = self._cli(line, "cli_after", probe) if line.get("cli_after") is not None else \
                CliRead(None, f"{array}: the recording holds no second CLI read of this sample", [])
        obs = observation_from(array, t_start, t_end, wall, line.get("stage"), first, cim, after)
        return replace(obs, seq=line["seq"], group=line.get("group"))

    def _cli(self, line: Mapping[str, Any], phase: str, probe: _Probe) -> CliRead:
        entries = [self.transcript[r] for r in line.get(phase) or [] if r in self.transcript]
        cli = ReplayCli(probe.array, entries, line.get(f"{phase}_error"))
        return read_cli(cli, probe.group_name, probe.peer)

    def _cim(self, line: Mapping[str, Any], probe: _Probe) -> tuple[CimView | None, str | None]:
        if line.get("cim_error") is not None:  # finding the group failed: the run's own words
            return None, str(line["cim_error"])
        handle = probe.handle
        if handle is None:
            return None, f"{probe.endpoint.url}: the recording holds no group handle for {probe.array}"
        try:
            return cim_view(handle, self._group_answers(line, handle), probe.peer_serial, probe.endpoint), None
        except CimError as exc:
            return None, str(exc)

    def _group_answers(self, line: Mapping[str, Any], handle: GroupHandle) -> GroupAnswers:
        """The sample's CIM answers as the read that asked them gives them to `cim_view` (harness.cim_reads:
        References per member, serial or pooled; or one enumeration of the pair class)."""
        asked: dict[tuple[str, str], str] = {}
        enumeration: str | None = None
        for ref in line.get("cim") or []:
            args, op = self.args(ref), (self.cim.get(ref) or {}).get("op")
            target = args.get("ObjectName")
            if op == "References" and target is not None:
                asked[(path_text(target), str(args.get("ResultClass")))] = ref
            elif op == "EnumerateInstances" and str(args.get("ClassName")) == PAIR_CLASS:
                enumeration = ref
        sync_ref = asked.get((path_text(handle.path), GROUP_SYNC_CLASS))
        syncs = self.answer(sync_ref) if sync_ref else None
        members = {m: self.answer(r) for m in handle.members if (r := asked.get((m, PAIR_CLASS))) is not None}
        if enumeration is not None and not isinstance(self.answer(enumeration).error, _cim_error()):
            return enumerated_answers(handle, self.answer(enumeration), refs_by_member(members), lambda: syncs)
        pairs: list[tuple[str, Answer]] = []
        for member in handle.members:  # as asked in the group's order, up to the first not asked
            if member not in members:
                break
            pairs.append((member, members[member]))
        return GroupAnswers(tuple(pairs), syncs)


def _cim_error() -> type:
    import pywbem

    return pywbem.CIMError


def _is_pywbem(exc: BaseException) -> bool:
    import pywbem

    return isinstance(exc, pywbem.Error)


def _cli_result(entry: Mapping[str, Any]) -> CliResult:
    return CliResult(str(entry.get("array")), str(entry.get("command")), str(entry.get("stdout") or ""),
                     str(entry.get("stderr") or ""), int(entry.get("status", 0)), float(entry.get("t_start", 0.0)),
                     float(entry.get("t_end", 0.0)), str(entry.get("ref") or ""))  # fmt: skip


def _probe(line: Mapping[str, Any]) -> _Probe:
    handle = line.get("handle")
    group = None
    if handle:
        group = GroupHandle(name=handle["name"], path=parse_cimxml(handle["path"]), instance_id=handle["instance_id"],
                            members={str(p): str(n) for p, n in handle["members"]})  # fmt: skip
    endpoint = CimEndpoint(url=str(line.get("cim_url") or line["array"]), user="", password=lambda: "",
                           timeout=float(line.get("cim_timeout") or 30.0))  # fmt: skip
    return _Probe(line["array"], line["group_name"], line["peer"], line.get("peer_serial"), endpoint, group)


# --------------------------------------------------------------------------- judging again


@dataclass(frozen=True)
class Change:
    row: str
    was: str
    now: str
    reason: str
    was_reason: str

    def line(self) -> str:
        return f"{self.row}: {self.was} -> {self.now}: {self.reason}"


@dataclass
class Rejudged:
    """One run judged again."""

    name: str
    document: dict[str, Any]  # the new results.json
    observations: list[Observation]
    changes: list[Change]  # rows whose verdict is not the recorded one
    reasons: list[Change]  # rows with the recorded verdict and another reason (elapsed times aside)
    differing: list[int]  # seqs whose rebuilt observation is not the recorded one
    judged: list[str]  # rows judged again
    carried: list[str]  # rows whose recorded result stands (not decided on observations)
    groups: dict[str, Rejudged] = field(default_factory=dict)  # a multi-group run: each group's

    @property
    def changed(self) -> bool:
        return bool(self.changes) or any(g.changed for g in self.groups.values())

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.name,
            "verdict_changes": [c.__dict__ for c in self.changes],
            "reason_changes": [c.__dict__ for c in self.reasons],
            "observations": {"rebuilt": len(self.observations), "differ_from_recorded": self.differing},
            "judged_again": self.judged,
            "carried_over": self.carried,
            "groups": {g: r.summary() for g, r in self.groups.items()},
        }


def rejudge(run: RunFiles, spec: Spec | None = None) -> Rejudged:
    """The run's rows judged again from its recording (see the module's doc). Raises RejudgeError."""
    spec = spec or load_spec()
    document = run.json("results.json")
    if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
        raise RejudgeError(f"{run.name}/results.json: not a results document (no rows)")
    group_runs = (document.get("manifest") or {}).get("group_runs") or {}
    if group_runs:
        return _rejudge_groups(run, document, group_runs, spec)
    recording = Recording(run)
    observations = recording.observations()
    differing = _differing(observations, run)
    rejudged = judge_again(document, observations, spec)
    rows = []
    for recorded in document["rows"]:
        new = rejudged.get(recorded["id"])
        if new is None or recorded.get("recorded_verdict") is not None:
            rows.append(recorded)
            continue
        scope = {k: recorded[k] for k in ("table", "in_scope", "out_of_scope") if k in recorded}
        rows.append(RowResult.from_dict({**new.to_dict(), **scope}).to_dict())
    stated = document.get("overall") or {}
    overall = judge_run(rows, problems=stated.get("problems") or (), final_states=[document.get("final_state")],
                        interrupted_by=stated.get("interrupted_by"))  # fmt: skip
    new_document = {
        **overall_fields(overall),
        "manifest": {**(document.get("manifest") or {}), "rejudged": _provenance(run)},
        "final_state": document.get("final_state") or {},
        "rows": rows,
        "events": document.get("events") or [],
        "errata": document.get("errata") or spec.errata,
        "evidence": {**(document.get("evidence") or {}), "observations": "observations.jsonl",
                     "observation_count": len(observations)},
    }  # fmt: skip
    changes, reasons = compare_rows(document["rows"], rows)
    carried = [r["id"] for r in document["rows"] if r["id"] not in rejudged or r.get("recorded_verdict")]
    return Rejudged(run.name, new_document, observations, changes, reasons, differing, sorted(rejudged), carried)


def _rejudge_groups(run: RunFiles, document: dict[str, Any], group_runs: Mapping[str, str], spec: Spec) -> Rejudged:
    groups = {g: rejudge(run.sub(str(d)), spec) for g, d in group_runs.items()}
    changes = [replace(c, row=f"{g}: {c.row}") for g, r in groups.items() for c in r.changes]
    reasons = [replace(c, row=f"{g}: {c.row}") for g, r in groups.items() for c in r.reasons]
    return Rejudged(run.name, document, [], changes, reasons, [], [], [], groups)


def _provenance(run: RunFiles) -> dict[str, Any]:
    import pywbem

    from harness import __version__
    from harness.result_files import now_iso

    return {"from": run.name, "at": now_iso(), "harness_version": __version__, "pywbem_version": pywbem.__version__}


def judge_again(document: Mapping[str, Any], observations: Sequence[Observation], spec: Spec) -> dict[str, RowResult]:
    """Every row of `document` that has a `judge` event, judged again on `observations` (in seq order)."""
    events: list[Mapping[str, Any]] = list(document.get("events") or [])
    manifest = document.get("manifest") or {}
    settle = int(((manifest.get("config") or {}).get("polling") or {}).get("settle_samples", 3))
    group = str(manifest.get("group") or "")
    results: dict[str, RowResult] = {}
    interference: str | None = None
    for index, event in enumerate(events):
        if event.get("kind") != JUDGE:
            continue
        judging = Judging.from_event(event)
        before, after = events[:index], events[index + 1 :]
        if interference is not None:  # the run would have stopped judging at the earlier row
            results[judging.row] = error(judging.row, f"{UNDECIDED}: the run stopped: {interference}",
                                         judging.array)  # fmt: skip
            continue
        result = _judge(judging, observations, before, after, settle, group, spec)
        change = first_outside_change(upto(observations, judging.checked_seq), legs(before))
        if change is not None:
            interference = change.describe()
            result = disturbed(result, interference) if judging.kind != RULE else \
                error(judging.row, f"{UNDECIDED}: the run stopped: {interference}")
        results[judging.row] = result
    return results


def _judge(
    judging: Judging,
    observations: Sequence[Observation],
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
    settle: int,
    group: str,
    spec: Spec,
) -> RowResult:
    seen = upto(observations, judging.through_seq)
    if judging.kind == RULE:
        context = rule_context(judging.observed, legs(before), probes(before), group, spec)
        return judge_rule(judging.row, seen, context, spec)
    if judging.kind == SLD:
        return judge_sld_row(judging.row, judging.check or "", sld_latest(seen, judging.since or 0.0), spec)
    exp = Expectation.from_row(spec.rows[judging.row], spec, array=judging.array)
    settled = not (judging.error or judging.timeout or judging.in_progress)
    if not settled or judging.final:
        result = judge_table_row(exp, judging, seen, settle, final=judging.final)
        assert result is not None
        return result
    # a settled row decided before its deadline: every sample of the stage counts, until the pair left it
    deadline = judging.deadline if judging.deadline is not None else math.inf
    left = next((float(e["start"]) for e in after if e.get("kind") == LEG), math.inf)
    horizon = min(deadline, left)
    stage = [o for o in observations if o.seq <= judging.through_seq or o.t_start < horizon]
    result = judge_table_row(exp, judging, stage, settle, final=False)
    if result is not None:
        return result
    recorded_until = min(left, max((o.t_start for o in observations), default=-math.inf))
    if recorded_until >= deadline:  # the recording reaches the deadline: decided with what was there
        result = judge_table_row(exp, judging, [o for o in stage if o.t_start <= deadline], settle, final=True)
        assert result is not None
        return result
    since = judging.entered_at or 0.0
    counts = ", ".join(f"{len([o for o in stage if o.array == a and o.t_start >= since])} on {a}" for a in exp.arrays)
    why = "the run left it" if left < deadline else "the run ended"
    return error(exp.row_id, f"cannot be decided from the recording: its samples of stage {judging.stage} ({counts}) "
                 f"do not settle for this harness, and they end when {why} ({recorded_until:.1f}s into the run, "
                 f"before the row's deadline at {deadline:.1f}s)", exp.array)  # fmt: skip


def compare_rows(
    recorded: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]]
) -> tuple[list[Change], list[Change]]:
    """Rows whose verdict changed, and rows whose reason changed beyond the elapsed times it names."""
    before = {r["id"]: r for r in recorded}
    changes, reasons = [], []
    for row in new:
        old = before.get(row["id"])
        if old is None:
            continue
        change = Change(row["id"], str(old.get("verdict")), str(row.get("verdict")), str(row.get("reason", "")),
                        str(old.get("reason", "")))  # fmt: skip
        if change.was != change.now:
            changes.append(change)
        elif ELAPSED.sub("<t>", change.reason) != ELAPSED.sub("<t>", change.was_reason):
            reasons.append(change)
    return changes, reasons


def _differing(observations: Sequence[Observation], run: RunFiles) -> list[int]:
    """Seqs whose rebuilt observation is not the one observations.jsonl holds (or that it lacks)."""
    if "observations.jsonl" not in run.files:
        return [o.seq for o in observations]
    recorded = {int(o["seq"]): o for o in run.jsonl("observations.jsonl")}
    return [o.seq for o in observations if json.loads(json.dumps(o.to_dict())) != recorded.get(o.seq)]


# --------------------------------------------------------------------------- the command


def write_rejudged(result: Rejudged, run: RunFiles, out: Path) -> None:
    """results.json, observations.jsonl, transcript.jsonl (for the report's evidence), index.html and
    rejudge.json into `out` (one directory per group for a multi-group run, and the merged results)."""
    out.mkdir(parents=True, exist_ok=True)
    if result.groups:
        from harness.result_files import merge_group_runs

        group_runs = (result.document.get("manifest") or {}).get("group_runs") or {}
        for group, sub in result.groups.items():
            write_rejudged(sub, run.sub(str(group_runs[group])), out / str(group_runs[group]))
        result.document = merge_group_runs(out, {g: out / str(group_runs[g]) for g in result.groups})
    else:
        (out / "results.json").write_text(json.dumps(result.document, indent=2))
        with (out / "observations.jsonl").open("w") as sink:
            for obs in result.observations:
                sink.write(json.dumps(obs.to_dict()) + "\n")
        if "transcript.jsonl" in run.files:
            (out / "transcript.jsonl").write_bytes(run.files["transcript.jsonl"])
    (out / REJUDGE_FILE).write_text(json.dumps(result.summary(), indent=2))
    try:
        from harness.report.render import render_run

        render_run(out)
    except Exception as exc:  # the verdicts are written; a report failure does not change them
        print(f"smis-harness rejudge: the HTML report could not be written ({type(exc).__name__}: {exc})",
              file=sys.stderr)  # fmt: skip


def check_out(out: Path) -> None:
    """`--out` must be absent, empty, or hold only what rejudge writes (it is replaced)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise RejudgeError(f"--out {out}: is a file, not a directory")
    foreign = [p.name for p in out.iterdir() if not (p.name in OUT_FILES or (p.is_dir() and _ours(p)))]
    if foreign:
        raise RejudgeError(f"--out {out}: holds files rejudge does not write ({', '.join(sorted(foreign)[:5])}); "
                           "give another directory")  # fmt: skip


def _ours(path: Path) -> bool:
    return all(p.is_file() and p.name in OUT_FILES for p in path.iterdir())


def run_rejudge(paths: Sequence[str], out: str | None, print_: Callable[[str], None] = print) -> int:
    """The `rejudge` command: 0 nothing changed, 1 some verdict changed, 2 usage error."""
    from harness.overall import EXIT_USAGE

    if out is not None and not out.strip():
        print("smis-harness rejudge: --out: empty directory name", file=sys.stderr)
        return EXIT_USAGE
    jobs = []
    try:
        for given in paths:
            path = Path(given)
            if not path.is_dir():
                raise RejudgeError(f"{path}: no such directory" if not path.exists() else f"{path}: not a directory")
            if not (path / "results.json").is_file():
                raise RejudgeError(f"{path}: not a finished run directory (no results.json): rejudge needs its rows "
                                   "and events")  # fmt: skip
            target = Path(out) / path.resolve().name if out and len(paths) > 1 else Path(out) if out else path / OUT_DIR
            check_out(target)
            run = RunFiles.from_dir(path)
            jobs.append((run, target, rejudge(run)))
    except RejudgeError as exc:
        print(f"smis-harness rejudge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    changed = False
    for run, target, result in jobs:
        if target.exists():
            shutil.rmtree(target)
        write_rejudged(result, run, target)
        for line in report_lines(result):
            print_(line)
        print_(f"rejudged: {target / 'results.json'}")
        changed = changed or result.changed
    return 1 if changed else 0


def report_lines(result: Rejudged) -> list[str]:
    parts = [result] if not result.groups else list(result.groups.values())
    rebuilt = sum(len(r.observations) for r in parts)
    differing = sum(len(r.differing) for r in parts)
    judged = sum(len(r.judged) for r in parts)
    carried = sum(len(r.carried) for r in parts)
    same = "all as recorded" if not differing else f"{differing} differ from observations.jsonl"
    lines = [f"{result.name}: {rebuilt} observations rebuilt from the recording ({same}); {judged} rows judged "
             f"again, {carried} kept as recorded (not decided on observations)"]  # fmt: skip
    lines += [change.line() for change in result.changes]
    if result.reasons:
        lines.append(f"kept their verdict with another reason: {', '.join(c.row for c in result.reasons)}")
    headline = result.document.get("headline", "")
    count = len(result.changes)
    verdict_line = "every verdict as recorded" if not result.changed else \
        f"{count} {'row' if count == 1 else 'rows'} changed verdict"
    lines.append(f"{verdict_line}; {headline}")
    return lines
