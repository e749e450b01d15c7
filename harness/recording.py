"""The recording of a run: every CIM operation and every sample, appended as they happen to
`<run-dir>/recording/`, so that the run can be judged again offline (`smis-harness rejudge`).

- `cim.jsonl`: one line per CIM operation the harness performs, through pywbem's operation-recorder
  interface (`CimRecorder`, one per connection, the pooled connections of harness.cim_pool included: their
  operations belong to the sample whose read asked them): `ref` (`cim-N`), `array`, `op` (the WBEMConnection
  method), `args` (its arguments), `t` (run time when it started, the clock of the observations'
  `t_start`), `dt` (seconds it took), and `result` (instances and paths as CIM-XML, pywbem's
  `tocimxmlstr()`, so they are rebuilt exactly) or `error` (the exception: class, text, CIM status).
  An operation whose request and reply are byte for byte those of the previous operation of the same kind
  on the same array is written as `same_as: <ref>` (that line's arguments and result stand for it: a
  settled pair answers the same poll after poll); only digests of the CIM-XML bodies are kept to tell.
- `samples.jsonl`: one line per sample the poller took (`kind: sample`): the observation's `seq`, `array`,
  `t_start`, `t_end`, `wall`, `stage`, `group`, and the refs of what it read in order: `cli` (the first
  `showrcopy` read), `cim` (the CIM read), `cli_after` (the CLI read after it; null when not taken).
  CLI refs are transcript.jsonl's refs: the commands and what came back are only there (one source).
  A read that failed before the array answered (no SSH connection; finding the group) gives its error
  text (`cli_error`, `cli_after_error`, `cim_error`), which no transcript or CIM line holds; a sample the
  harness itself broke has `broken`. Before an array's first sample, and whenever the group handle its
  reads use changes, a `kind: probe` line says what the reads were about: group name, target, peer
  serial, CIM url and timeout, and the group handle (path as CIM-XML, members).

Every line passes through the run's redaction step (`ResultsWriter.write_recording`). HTTP requests and
responses are not recorded: their headers carry the CIM password (Basic authentication, base64), which
no redaction of the plain value would catch; of their bodies only a digest is kept, to tell a repeat.
"""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pywbem
from pywbem import (
    CIMClass,
    CIMClassName,
    CIMDateTime,
    CIMFloat,
    CIMInstance,
    CIMInstanceName,
    CIMInt,
    CIMQualifierDeclaration,
)

RECORDING_DIR = "recording"
CIM_FILE = "cim.jsonl"
SAMPLES_FILE = "samples.jsonl"
RECORDING_FILES = (CIM_FILE, SAMPLES_FILE)
FORMAT = 1
"""Bumped when a line changes meaning; `smis-harness rejudge` refuses a format it does not know."""

Writer = Callable[[str, dict[str, Any]], None]
"""(file name in recording/, record) -> one line appended, redacted."""

CIM_OBJECTS = (CIMInstanceName, CIMClass, CIMClassName, CIMQualifierDeclaration)


# --------------------------------------------------------------------------- pywbem objects as JSON


def encode(value: Any) -> Any:
    """A pywbem argument or result as JSON: CIM objects as their CIM-XML text (instances with their path),
    CIM-typed numbers and datetimes with their type, lists and mappings item by item."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, CIMInt):
        return {"cimtype": value.cimtype, "value": int(value)}
    if isinstance(value, CIMFloat):
        return {"cimtype": value.cimtype, "value": float(value)}
    if isinstance(value, CIMDateTime):
        return {"cimtype": "datetime", "value": str(value)}
    if isinstance(value, int | float):
        return value
    if isinstance(value, CIMInstance):
        return {"cimxml": value.tocimxmlstr(ignore_path=False)}
    if isinstance(value, CIM_OBJECTS):
        return {"cimxml": value.tocimxmlstr()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # pywbem's pull results
        return {"fields": {name: encode(getattr(value, name)) for name in value._fields}}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {"map": {str(k): encode(v) for k, v in value.items()}}
    return {"repr": repr(value)}


def decode(value: Any) -> Any:
    """`encode` undone: CIM objects parsed back from their CIM-XML by pywbem's own parser."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "cimxml" in value:
        return parse_cimxml(value["cimxml"])
    if "cimtype" in value:
        return pywbem.cimvalue(value["value"], value["cimtype"])
    if "fields" in value:
        return {k: decode(v) for k, v in value["fields"].items()}
    if "map" in value:
        return {k: decode(v) for k, v in value["map"].items()}
    return value.get("repr")


def parse_cimxml(text: str) -> Any:
    """A CIM object from the CIM-XML `tocimxmlstr()` wrote (pywbem's own reply parser; private API, pinned by
    the project's pywbem range and tests/test_recording.py)."""
    from pywbem._tupleparse import TupleParser
    from pywbem._tupletree import xml_to_tupletree_sax

    parsed = TupleParser().parse_any(xml_to_tupletree_sax(text, "recorded CIM-XML"))
    # an instance whose path has no host (EnumerateInstances' answer) is written as VALUE.OBJECTWITHLOCALPATH,
    # which the parser gives as a tuple tree around the instance (its path set)
    if isinstance(parsed, tuple) and parsed[:1] == ("VALUE.OBJECTWITHLOCALPATH",) and len(parsed) == 3 \
            and isinstance(parsed[2], CIMInstance):  # fmt: skip
        return parsed[2]
    return parsed


def encode_error(exc: BaseException) -> dict[str, Any]:
    """An exception a CIM operation raised, with what rebuilds it (`decode_error`)."""
    out: dict[str, Any] = {"class": type(exc).__name__, "module": type(exc).__module__, "text": str(exc)}
    if isinstance(exc, pywbem.CIMError):
        out.update(status_code=int(exc.status_code), status_description=exc.status_description)
    elif isinstance(exc, pywbem.HTTPError):
        out.update(status=exc.status, reason=exc.reason, cimerror=exc.cimerror, cimdetails=dict(exc.cimdetails or {}))
    elif isinstance(exc, pywbem.ParseError):
        out.update(message=str(exc.args[0]) if exc.args else "", response_data=exc.response_data)
    else:
        out.update(args=[a if isinstance(a, str | int | float | bool) or a is None else str(a) for a in exc.args])
    return out


class RecordedError(Exception):
    """An exception that is not pywbem's, rebuilt from its recorded class name and text."""

    def __init__(self, class_name: str, text: str) -> None:
        super().__init__(text)
        self.class_name = class_name


def decode_error(data: Mapping[str, Any]) -> BaseException:
    """The recorded exception rebuilt: the same pywbem class with the same arguments, so its text and what
    the harness reads of it (status code, description) are those of the run."""
    name = str(data.get("class"))
    cls = getattr(pywbem, name, None) if str(data.get("module", "")).startswith("pywbem") else None
    if not (isinstance(cls, type) and issubclass(cls, pywbem.Error)):
        return RecordedError(name, str(data.get("text", "")))
    if issubclass(cls, pywbem.CIMError):
        return cls(int(data["status_code"]), data.get("status_description"))
    if issubclass(cls, pywbem.HTTPError):
        return cls(data.get("status"), data.get("reason"), data.get("cimerror"), data.get("cimdetails") or {})
    if issubclass(cls, pywbem.ParseError):
        return cls(data.get("message", ""), response_data=data.get("response_data"))
    return cls(*data.get("args", [data.get("text", "")]))


# --------------------------------------------------------------------------- what one sample read


@dataclass
class Capture:
    """The refs one sample produced, by phase (`cli`, `cim`, `cli_after`), and the errors no line holds."""

    phase: str = "cli"
    refs: dict[str, list[str]] = field(default_factory=lambda: {"cli": [], "cim": []})
    errors: dict[str, str] = field(default_factory=dict)
    broken: str | None = None

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.refs.setdefault(phase, [])


class Recording:
    """One run's recording; `write` appends a redacted line to a file of recording/ (`ResultsWriter`).

    The sampling threads only take a ref and hand the operation on: one writer thread encodes, compares
    with the previous answer and writes, so recording costs a sample next to nothing. `close()` writes
    what is still queued (the run's end, before the result files close).
    """

    def __init__(self, write: Writer, t0: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self.t0 = t0
        self.clock = clock
        # per thread, and carried into the CIM connection pool's threads (harness.cim_pool copies the context)
        self._capture: contextvars.ContextVar[Capture | None] = contextvars.ContextVar(f"capture-{id(self)}",
                                                                                      default=None)  # fmt: skip
        self._lock = threading.Lock()
        self._refs = itertools.count()
        self._last: dict[tuple[str, str], tuple[str, Any, str]] = {}  # (array, request) -> (ref, result, text)
        self._repeats: dict[tuple[str, str, bytes], tuple[str, bytes]] = {}  # request digest -> (ref, reply digest)
        self._handles: dict[str, Any] = {}  # array -> the group handle its last probe line gave
        self.operations = 0
        self._queue: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._drain, name="recording", daemon=True)
        self._closed = False
        self._put(SAMPLES_FILE, {"kind": "recording", "format": FORMAT})
        self._writer.start()

    def now(self) -> float:
        return self.clock() - self.t0

    def recorder(self, array: str) -> CimRecorder:
        """A pywbem operation recorder for one array's connection (`WBEMConnection.add_operation_recorder`)."""
        return CimRecorder(self, array)

    def close(self) -> None:
        """Write every line still queued; later operations are not recorded."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._writer.join(timeout=60)

    # ------------------------------------------------------------------ captures (the poller's samples)
    @contextmanager
    def capture(self) -> Iterator[Capture]:
        """While the block runs, the CIM operations and CLI commands of this thread (and of the CIM pool's threads
        working for it) are the sample's."""
        capture = Capture()
        token = self._capture.set(capture)
        try:
            yield capture
        finally:
            self._capture.reset(token)

    def current(self) -> Capture | None:
        return self._capture.get()

    def note(self, ref: str) -> None:
        """A CLI command (its transcript ref) or CIM operation of this thread, for the sample being taken."""
        capture = self.current()
        if capture is not None:
            capture.refs.setdefault(capture.phase, []).append(ref)

    # ------------------------------------------------------------------ lines
    def operation(self, array: str, method: str, args: Mapping[str, Any], t: float, dt: float, result: Any,
                  exc: BaseException | None, exchange: tuple[bytes, bytes] | None = None) -> str:  # fmt: skip
        """One CIM operation (in the thread that performed it); returns its ref. Encoded and written later.
        `exchange`: digests of the request and reply bodies (None: no reply came, or no HTTP was involved)."""
        with self._lock:
            ref = f"cim-{next(self._refs)}"
            self.operations += 1
        self._put(CIM_FILE, (ref, array, method, dict(args), t, dt, result, exc, exchange))
        self.note(ref)
        return ref

    def sample(self, observation: Any, capture: Capture, probe: Any) -> None:
        """One sample the poller took (after its seq was given), preceded by a probe line when the group
        handle its reads used is not the one last written for its array."""
        if probe is not None and (probe.array not in self._handles or self._handles[probe.array] is not probe.group):
            self._handles[probe.array] = probe.group
            self._put(SAMPLES_FILE, probe_line(probe))
        line = {
            "kind": "sample",
            "seq": observation.seq,
            "array": observation.array,
            "group": observation.group,
            "t_start": observation.t_start,
            "t_end": observation.t_end,
            "wall": observation.wall,
            "stage": observation.stage,
            "cli": list(capture.refs.get("cli", [])),
            "cim": list(capture.refs.get("cim", [])),
            "cli_after": capture.refs.get("cli_after"),
        }
        line.update({f"{phase}_error": text for phase, text in capture.errors.items()})
        if capture.broken is not None:
            line["broken"] = capture.broken
        self._put(SAMPLES_FILE, line)

    def _put(self, name: str, item: Any) -> None:
        if not self._closed:
            self._queue.put((name, item))

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            name, payload = item
            try:
                self._write(name, self._operation_line(*payload) if name == CIM_FILE else payload)
            except Exception as exc:  # the recording never takes the run down; the gap says why
                ref = payload[0] if name == CIM_FILE else None
                self._write(name, {"ref": ref, "unrecorded": f"{type(exc).__name__}: {exc}"})
            time.sleep(0)  # let a sampling thread that waits for the interpreter go first

    def _operation_line(self, ref: str, array: str, method: str, args: dict[str, Any], t: float, dt: float,
                        result: Any, exc: BaseException | None,
                        exchange: tuple[bytes, bytes] | None) -> dict[str, Any]:  # fmt: skip
        line: dict[str, Any] = {"ref": ref, "array": array, "op": method, "t": round(t, 6), "dt": round(dt, 6)}
        if exc is None and exchange is not None:  # the same request answered with the same bytes: a repeat
            key = (array, method, exchange[0])
            earlier = self._repeats.get(key)
            if earlier is not None and earlier[1] == exchange[1]:
                line["same_as"] = earlier[0]
                return line
            self._repeats[key] = (ref, exchange[1])
        encoded_args = encode(args)
        line["args"] = encoded_args
        request = json.dumps([method, encoded_args], sort_keys=True, default=str)
        key_ = (array, request)
        if exc is not None:
            line["error"] = encode_error(exc)
            self._last.pop(key_, None)
            return line
        earlier_ = self._last.get(key_)
        if exchange is None and earlier_ is not None and _same(earlier_[1], result):  # no HTTP: compare objects
            line["same_as"] = earlier_[0]
            return line
        line["result"] = encode(result)
        self._last[key_] = (ref, result, "")
        return line


def _same(earlier: Any, now: Any) -> bool:
    """The same answer: equal pywbem objects of the same types, element by element (names compared exactly,
    as the CIM-XML writes them)."""
    if type(earlier) is not type(now):
        return False
    if isinstance(now, list | tuple):
        return len(earlier) == len(now) and all(_same(a, b) for a, b in zip(earlier, now, strict=True))
    if isinstance(now, CIMInstance):
        return (
            earlier == now
            and list(earlier.properties) == list(now.properties)
            and _same(earlier.path, now.path)
        )
    if isinstance(now, CIMInstanceName):
        return earlier == now and repr(earlier) == repr(now)
    return bool(earlier == now) and repr(earlier) == repr(now)


def probe_line(probe: Any) -> dict[str, Any]:
    """What an array's reads are about (harness.poll.ArrayProbe): names, the CIM endpoint, the group handle."""
    endpoint = getattr(probe.cim, "endpoint", None)
    group = probe.group
    handle = None
    if group is not None:
        handle = {"name": group.name, "path": group.path.tocimxmlstr(), "instance_id": group.instance_id,
                  "members": [[path, name] for path, name in group.members.items()]}  # fmt: skip
    return {
        "kind": "probe",
        "array": probe.array,
        "group_name": probe.group_name,
        "peer": probe.peer,
        "peer_serial": probe.peer_serial,
        "cim_url": getattr(endpoint, "url", None),
        "cim_timeout": getattr(endpoint, "timeout", None),
        "handle": handle,
    }


# --------------------------------------------------------------------------- the pywbem side


class CimRecorder(pywbem.BaseOperationRecorder):  # type: ignore[misc]
    """pywbem's operation-recorder interface, for one array's connection.

    pywbem 1.9 calls, for every WBEMConnection operation: `reset()`, `stage_pywbem_args(method, **kwargs)`,
    the HTTP stages (`stage_http_request`, `stage_http_response1`, `stage_http_response2`) when a request
    goes out, `stage_pywbem_result(ret, exc)`, then `record_staged()`, which calls `record(...)` when the
    recorder is enabled. The staged values are kept per thread (the poller's and the driver's threads share
    a connection); the HTTP stages are ignored (the request headers hold the credentials).
    """

    def __init__(self, recording: Recording, array: str) -> None:
        self._recording = recording
        self.array = array
        self._staged = threading.local()
        super().__init__()

    def copy(self) -> CimRecorder:
        return CimRecorder(self._recording, self.array)

    def reset(self, pull_op: Any = None) -> None:
        super().reset(pull_op)
        staged = getattr(self, "_staged", None)
        if staged is not None:
            staged.__dict__.clear()

    def stage_pywbem_args(self, method: str, **kwargs: Any) -> None:
        self._staged.method, self._staged.args, self._staged.t = method, kwargs, self._recording.now()

    def stage_pywbem_result(self, ret: Any, exc: BaseException | None) -> None:
        self._staged.ret, self._staged.exc, self._staged.t_end = ret, exc, self._recording.now()

    def stage_http_request(self, conn_id: Any, version: Any, url: Any, target: Any, method: Any, headers: Any,
                           payload: Any) -> None:  # fmt: skip
        self._staged.request = _digest(payload)  # the headers hold the credentials: never kept

    def stage_http_response1(self, *args: Any, **kwargs: Any) -> None:
        pass

    def stage_http_response2(self, payload: Any) -> None:
        self._staged.reply = _digest(payload)

    def record_staged(self) -> None:
        if not self.enabled:
            return
        staged = self._staged
        args = pywbem.OpArgs(getattr(staged, "method", None), getattr(staged, "args", {}))
        try:
            self.record(args, pywbem.OpResult(getattr(staged, "ret", None), getattr(staged, "exc", None)), None, None)
        except Exception:  # called inside pywbem's operation: recording never breaks a read
            logging.getLogger(__name__).exception("a CIM operation could not be recorded")

    def record(self, pywbem_args: Any, pywbem_result: Any, http_request: Any, http_response: Any) -> None:
        staged = self._staged
        t = getattr(staged, "t", self._recording.now())
        t_end = getattr(staged, "t_end", t)
        request, reply = getattr(staged, "request", None), getattr(staged, "reply", None)
        exchange = (request, reply) if request is not None and reply is not None else None
        self._recording.operation(self.array, str(pywbem_args.method), pywbem_args.args or {}, t, t_end - t,
                                  pywbem_result.ret, pywbem_result.exc, exchange)  # fmt: skip


def _digest(payload: Any) -> bytes | None:
    if payload is None:
        return None
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    return hashlib.blake2b(data, digest_size=16).digest()
