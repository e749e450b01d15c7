"""A recorded run read as a tour, for `smis-harness mock serve --replay` (harness.mock.replay plays it).

The tour is cut into segments by its steps: the CLI commands that change the pair (everything but the
`show...` reads, in the transcript) and the event and fault actions (results.json `event`/`fault` events;
an action carried out as an array CLI command is that command's step). Every recorded answer is a read of
one array, keyed by its request (`cli_key`, `cim_key`: what a second run of the harness sends again, hosts
and defaults left out), in the segment it was recorded in. A poller sample's reads (CLI, CIM, CLI again,
`recording/samples.jsonl`) stay together, so a replayed sample answers as one recorded moment did.

The files are read by harness.rejudge (`RunFiles`, `Recording`): the recording, the transcript and the
results document, as `smis-harness rejudge` reads them. Times are the run's clock (the observations'
`t_start`); transcript times are moved onto it.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pywbem import CIMClassName, CIMInstanceName

from harness.array_cli import session_broke
from harness.recording import CIM_FILE, FORMAT, RECORDING_DIR, SAMPLES_FILE
from harness.rejudge import Recording, RejudgeError, RunFiles

CONNECTION_ERRORS = frozenset({"ConnectionError", "TimeoutError"})
"""Recorded pywbem errors that mean the provider did not answer at all (the replay hangs up)."""
NAMESPACED = frozenset({"GetClass", "EnumerateClasses", "EnumerateClassNames", "EnumerateInstances",
                        "EnumerateInstanceNames", "GetQualifier", "EnumerateQualifiers", "ExecQuery"})  # fmt: skip
_LOWER = frozenset({"ClassName", "ResultClass", "AssocClass", "Role", "ResultRole", "namespace"})
STEP_KINDS = ("command", "event", "fault")


class TourError(Exception):
    """The run directory cannot be replayed (no run, no recording, an unknown format, several groups)."""


# --------------------------------------------------------------------------- request keys


def cli_key(command: str) -> str:
    return f"cli {command.strip()}"


def is_read(command: str) -> bool:
    """A CLI command that only reads (answered from the timeline; every other command is a step)."""
    return command.strip().startswith("show")


def cim_key(op: str, args: Mapping[str, Any], namespace: str) -> str:
    """A CIM request as both sides see it: the recorded WBEMConnection arguments and the replay server's
    parsed request give the same key (no host, the default namespace filled in, no None, names in lower
    case where CIM ignores case)."""
    parts = {name: _norm(name, value, namespace) for name, value in args.items() if value is not None}
    if op in NAMESPACED:
        parts["namespace"] = str(args.get("namespace") or namespace).strip("/").lower()
    return json.dumps([op, parts], sort_keys=True)


def _norm(name: str, value: Any, namespace: str) -> Any:
    if isinstance(value, CIMInstanceName):
        local = value.copy()
        local.host = None
        local.namespace = (local.namespace or namespace).strip("/")
        return local.to_wbem_uri(format="canonical")
    if isinstance(value, CIMClassName):
        return value.classname.lower()
    if isinstance(value, str):
        return value.lower() if name in _LOWER else value
    if isinstance(value, list | tuple):
        return [_norm(name, v, namespace) for v in value]
    if isinstance(value, bool | int | float):
        return value
    return repr(value)


def describe_key(key: str, limit: int = 400) -> str:
    """A key as a person reads it: `showrcopy groups g` or `References(ObjectName=..., ResultClass=...)`."""
    if key.startswith("cli "):
        return f"`{key[4:]}`"
    op, parts = json.loads(key)
    text = f"{op}({', '.join(f'{k}={v}' for k, v in sorted(parts.items()))})"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- the tour


@dataclass(frozen=True)
class Read:
    """One recorded answer: `ref` is a transcript ref (cli-N) or a recording ref (cim-N)."""

    array: str
    key: str
    ref: str
    t: float
    sample: int | None = None  # index in Tour.samples when a poller sample took it
    hangup: bool = False  # the provider did not answer (a recorded connection error)


@dataclass
class Sample:
    index: int
    array: str
    t_start: float
    t_end: float  # when its last read was answered
    reads: list[Read]  # what the array answered, in the order the sample asked
    cli_up: bool  # the SSH side answered (no transport error before the array answered)
    cim_up: bool  # the CIM side answered (no connection error)


@dataclass(frozen=True)
class Step:
    """A step of the tour: a command on an array, or an event or fault action (by its name)."""

    index: int
    kind: str
    what: str  # the command text, or the action's name
    t_start: float
    t_end: float
    array: str | None = None
    ref: str | None = None  # the command's transcript ref
    failed: str | None = None  # an action the run could not carry out (no `_done` event): why

    def describe(self) -> str:
        if self.kind == "command":
            return f"`{self.what}` on {self.array}"
        return f"{self.kind} action {self.what}"


@dataclass
class Tour:
    """A run's recording as steps, samples and reads, by segment (`segment_of`)."""

    name: str
    group: str
    config: dict[str, Any]  # the recorded run's configuration (redacted, as results.json holds it)
    recording: Recording  # the recorded answers (harness.rejudge)
    steps: list[Step]
    samples: list[Sample]
    reads: list[Read]
    t_first: float  # when the recorded run sent its first request
    manifest_arrays: dict[str, Any] = field(default_factory=dict)  # results.json manifest.arrays
    _starts: list[float] = field(default_factory=list)
    _entries: dict[tuple[int, str, str], list[Read]] = field(default_factory=dict)
    _by_key: dict[tuple[int, str, str], list[Read]] = field(default_factory=dict)
    _array_samples: dict[str, list[Sample]] = field(default_factory=dict)
    _segment_samples: dict[tuple[int, str], list[Sample]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._starts = [s.t_start for s in self.steps]
        entries: dict[tuple[int, str, str], list[Read]] = defaultdict(list)
        by_key: dict[tuple[int, str, str], list[Read]] = defaultdict(list)
        first_reads = {s.reads[0].ref for s in self.samples if s.reads}
        for read in sorted(self.reads, key=lambda r: r.t):
            where = (self.segment_of(read.t), read.array, read.key)
            by_key[where].append(read)
            if read.sample is None or read.ref in first_reads:
                entries[where].append(read)
        self._entries, self._by_key = dict(entries), dict(by_key)
        grouped: dict[str, list[Sample]] = defaultdict(list)
        segments: dict[tuple[int, str], list[Sample]] = defaultdict(list)
        for sample in sorted(self.samples, key=lambda s: s.t_start):
            grouped[sample.array].append(sample)
            segments[(self.segment_of(sample.t_start), sample.array)].append(sample)
        self._array_samples, self._segment_samples = dict(grouped), dict(segments)

    @property
    def read_paths(self) -> dict[str, str]:
        """Each observed array's CIM read path in the recorded run (manifest `cim_reads`; serial when the
        run was made before reads had paths)."""
        return {key: str((info.get("cim_reads") or {}).get("path") or "serial")
                for key, info in self.manifest_arrays.items() if isinstance(info, dict)}  # fmt: skip

    @property
    def arrays(self) -> list[str]:
        return list((self.config.get("arrays") or {}).keys())

    def segment_of(self, t: float) -> int:
        """Steps started at or before `t`: the segment a moment of the recorded run is in."""
        return bisect.bisect_right(self._starts, t)

    def segment_start(self, segment: int) -> float:
        return self.t_first if segment == 0 else self.steps[segment - 1].t_start

    def entries(self, segment: int, array: str, key: str) -> list[Read]:
        """The reads of `key` a new request may start from: reads outside samples and samples' first reads."""
        return self._entries.get((segment, array, key), [])

    def by_key(self, segment: int, array: str, key: str) -> list[Read]:
        return self._by_key.get((segment, array, key), [])

    def knows(self, array: str, key: str) -> list[int]:
        """The segments in which the recording holds `key` on `array` (for a refusal's message)."""
        return sorted({seg for (seg, a, k) in self._by_key if a == array and k == key})

    def array_samples(self, array: str) -> list[Sample]:
        return self._array_samples.get(array, [])

    def segment_samples(self, segment: int, array: str) -> list[Sample]:
        return self._segment_samples.get((segment, array), [])

    def in_window(self, array: str, start: float, end: float) -> list[Sample]:
        """The samples of `array` with something answered, taken entirely within [start, end] (one that ended
        after `end` may hold what the step's end changed: it belongs after the step)."""
        return [s for s in self.array_samples(array) if start <= s.t_start and s.t_end <= end and s.reads]


# --------------------------------------------------------------------------- reading a run directory


def load_tour(run: RunFiles) -> Tour:
    """The tour of one group's run. Raises TourError with a one-line reason."""
    document = _results(run)
    manifest = document.get("manifest") or {}
    group_runs = manifest.get("group_runs") or {}
    if group_runs:
        dirs = ", ".join(f"{run.name.rstrip('/')}/{d}" for d in group_runs.values())
        raise TourError(f"{run.name}: a run of {len(group_runs)} groups ({', '.join(group_runs)}); a replay "
                        f"serves one group's run: give its directory ({dirs})")  # fmt: skip
    _check_recording(run)
    try:
        recording = Recording(run)
    except RejudgeError as exc:
        raise TourError(str(exc)) from None
    config = dict(manifest.get("config") or {})
    if not config.get("arrays"):
        raise TourError(f"{run.name}/results.json: the manifest names no arrays (the run never reached them)")
    try:
        return _build(run.name, str(manifest.get("group") or ""), config, recording, document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # JSON lines without the fields they need
        raise TourError(f"{run.name}: the recording cannot be read as a tour ({type(exc).__name__}: {exc})") from None


def _results(run: RunFiles) -> dict[str, Any]:
    if "results.json" not in run.files:
        raise TourError(f"{run.name}: not a finished run directory (no results.json)")
    try:
        document = run.json("results.json")
    except RejudgeError as exc:
        raise TourError(str(exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
        raise TourError(f"{run.name}/results.json: not a results document (no rows)")
    return document


def _check_recording(run: RunFiles) -> None:
    names = [f"{RECORDING_DIR}/{SAMPLES_FILE}", f"{RECORDING_DIR}/{CIM_FILE}", "transcript.jsonl"]
    missing = [n for n in names if n not in run.files]
    if missing:
        raise TourError(f"{run.name}: no recording ({', '.join(missing)} missing): the run was made before runs "
                        "recorded themselves, or its files were removed; it cannot be replayed")  # fmt: skip
    try:
        lines = run.jsonl(names[0])
    except RejudgeError as exc:
        raise TourError(str(exc)) from None
    header = lines[0] if lines else {}
    if header.get("kind") != "recording" or header.get("format") != FORMAT:
        raise TourError(f"{run.name}/{names[0]}: a recording of format {header.get('format')!r}; this harness "
                        f"replays format {FORMAT}")  # fmt: skip


def _build(name: str, group: str, config: dict[str, Any], recording: Recording, document: Mapping[str, Any]) -> Tour:
    transcript = _transcript(recording)
    offset = _clock_offset(recording.lines, transcript)
    namespaces = {k: str((a.get("cim") or {}).get("namespace") or "root/tpd") for k, a in config["arrays"].items()}
    reads: list[Read] = []
    samples: list[Sample] = []
    in_samples: set[str] = set()
    for line in recording.lines:
        if line.get("kind") == "sample":
            sample = _sample(len(samples), line, recording, transcript, offset, namespaces)
            samples.append(sample)
            reads += sample.reads
            in_samples.update(_refs(line))
    reads += _loose_cli(transcript, in_samples, offset)
    reads += _loose_cim(recording, in_samples, namespaces)
    steps = _steps(document, transcript, offset)
    times = [r.t for r in reads] + [s.t_start for s in steps]
    arrays = dict((document.get("manifest") or {}).get("arrays") or {})
    return Tour(name, group, config, recording, steps, samples, reads, min(times, default=0.0), arrays)


def _transcript(recording: Recording) -> dict[str, Any]:
    return {ref: result for ref, result in recording.transcript.items() if not session_broke(result)}


def _clock_offset(lines: Iterable[Mapping[str, Any]], transcript: Mapping[str, Any]) -> float:
    """Transcript time minus run time (the transcript keeps the monotonic clock; the recording the run's)."""
    gaps = [transcript[line["cli"][0]].t_start - float(line["t_start"]) for line in lines
            if line.get("kind") == "sample" and line.get("cli") and line["cli"][0] in transcript]  # fmt: skip
    return min(gaps, default=0.0)


def _refs(line: Mapping[str, Any]) -> list[str]:
    return [*(line.get("cli") or []), *(line.get("cim") or []), *(line.get("cli_after") or [])]


def _sample(index: int, line: Mapping[str, Any], recording: Recording, transcript: Mapping[str, Any], offset: float,
            namespaces: Mapping[str, str]) -> Sample:  # fmt: skip
    array = str(line["array"])
    reads: list[Read] = []
    cim_up = True
    for phase in ("cli", "cim", "cli_after"):
        for ref in line.get(phase) or []:
            if phase != "cim":
                if ref in transcript:
                    reads.append(Read(array, cli_key(transcript[ref].command), ref, transcript[ref].t_start - offset,
                                      index))  # fmt: skip
                continue
            read = _cim_read(recording, ref, namespaces, index)
            if read is None:
                continue
            cim_up = cim_up and not read.hangup
            if not read.hangup:
                reads.append(read)
    t_start = float(line["t_start"])
    return Sample(index, array, t_start, float(line.get("t_end", t_start)), reads, "cli_error" not in line, cim_up)


def _cim_read(recording: Recording, ref: str, namespaces: Mapping[str, str], sample: int | None) -> Read | None:
    line = recording.cim.get(ref)
    if line is None or "unrecorded" in line:
        return None
    array = str(line.get("array"))
    origin = recording.cim.get(str(line["same_as"])) or line if "same_as" in line else line
    hangup = str((origin.get("error") or {}).get("class")) in CONNECTION_ERRORS
    key = cim_key(str(line.get("op")), recording.args(ref), namespaces.get(array, "root/tpd"))
    return Read(array, key, ref, float(line.get("t", 0.0)), sample, hangup)


def _loose_cli(transcript: Mapping[str, Any], in_samples: set[str], offset: float) -> list[Read]:
    """CLI reads no sample took (preflight, the final state)."""
    return [Read(r.array, cli_key(r.command), ref, r.t_start - offset) for ref, r in transcript.items()
            if ref not in in_samples and is_read(r.command)]  # fmt: skip


def _loose_cim(recording: Recording, in_samples: set[str], namespaces: Mapping[str, str]) -> list[Read]:
    """CIM operations no sample took (discovery, finding the group, entity probes)."""
    out = []
    for ref in recording.cim:
        if ref not in in_samples:
            read = _cim_read(recording, ref, namespaces, None)
            if read is not None:
                out.append(read)
    return out


# --------------------------------------------------------------------------- steps


def _steps(document: Mapping[str, Any], transcript: Mapping[str, Any], offset: float) -> list[Step]:
    """Every step in the order the run took them: the driver's (results.json events, in their order) and
    any other command that changed the pair (teardown), by time."""
    events: Sequence[Mapping[str, Any]] = document.get("events") or []
    commands = {ref: r for ref, r in transcript.items() if not is_read(r.command)}
    used: set[str] = set()
    ordered: list[tuple[float, int, Step]] = []
    for index, event in enumerate(events):
        step = _event_step(event, events[index + 1 :], commands, used, offset)
        if step is not None:
            ordered.append((round(float(event.get("t", step.t_start)), 3), index, step))
    for ref, result in commands.items():
        if ref not in used:
            step = Step(0, "command", result.command, result.t_start - offset, result.t_end - offset, result.array, ref)
            ordered.append((round(step.t_start, 3), len(events), step))
    ordered.sort(key=lambda item: (item[0], item[1]))
    steps: list[Step] = []
    for _, _, step in ordered:
        start = max(step.t_start, steps[-1].t_start if steps else step.t_start)
        steps.append(Step(len(steps), step.kind, step.what, start, max(step.t_end, start), step.array, step.ref,
                          step.failed))  # fmt: skip
    return steps


def _event_step(event: Mapping[str, Any], later: Sequence[Mapping[str, Any]], commands: Mapping[str, Any],
                used: set[str], offset: float) -> Step | None:  # fmt: skip
    kind = event.get("kind")
    if kind == "command":
        what = ("command_done", event.get("command"), event.get("array"))
        finished = [e for e in later if (e.get("kind"), e.get("command"), e.get("array")) == what]
        ref = str(finished[0].get("transcript")) if finished else None
        result = commands.get(ref) if ref else None
        if result is None or ref in used:
            return None
        used.add(str(ref))
        return Step(0, "command", result.command, result.t_start - offset, result.t_end - offset, result.array, ref)
    if kind not in ("event", "fault"):
        return None
    name = str(event.get("name"))
    done = next((e for e in later if e.get("kind") == f"{kind}_done" and e.get("name") == name), None)
    if done is not None and (done.get("evidence") or {}).get("kind") == "cli":
        return None  # carried out as a CLI command: that command is the step
    t = float(event.get("t", 0.0))
    failed = None if done is not None else f"the recorded run could not carry out {kind} action {name}"
    return Step(0, str(kind), name, t, float(done.get("t", t)) if done else t, failed=failed)
