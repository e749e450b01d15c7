"""`smis-harness mock serve --replay RUN_DIR`: a recorded run served as a provider.

The servers are those of `mock serve`: per array a CIM-XML server (harness.mock.cimxml, HTTPS with a
certificate made at start) and an SSH server (harness.mock.sshd), plus the control interface
(harness.mock.control) the events and faults of the written configuration call. Only what stands behind
them differs: `ReplayBackend` (the CIM operations the dispatcher calls) and `ReplayCli` (the command lines
the SSH server runs) ask harness.mock.replay which recorded answer a request gets; `replay_step` is the
control interface's request (`mock ctl ... replay_step kind=event name=primary_down`).

Credentials are the replay's own, made at start; the recorded run's are never needed (its recording is
redacted anyway).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pywbem
from pywbem import CIM_ERR_FAILED, CIMError, CIMInstance, CIMInstanceName

from harness.cim import CimError
from harness.mock import cimxml_codec as codec
from harness.mock.cimxml import CIMXMLServer
from harness.mock.cimxml_dispatch import Hangup as HangupError
from harness.mock.cli_sim import CommandResult, Confirm, OutputSink, SessionEnv
from harness.mock.control import ControlError, ControlServer
from harness.mock.replay import Hangup, NotRecorded, Replay
from harness.mock.replay_tour import Step, Tour, cim_key
from harness.mock.service import CIM_USER, SSH_USER
from harness.mock.sshd import ArraySSHServer, Unreachable

REPLAY_ACTION = "replay_step"
"""The control request that performs an event or fault step: {"action": "replay_step", "kind", "name"}."""


# --------------------------------------------------------------------------- CIM


class ReplayBackend:
    """The CIM operations `CIMXMLDispatcher` calls (pywbem WBEMConnection names), answered from the tour."""

    def __init__(self, replay: Replay, array: str, namespace: str, hosts: Mapping[str, str]) -> None:
        self.replay = replay
        self.array = array
        self.namespace = namespace
        self.hosts = hosts  # recorded provider address -> the replay's (filled in once the servers listen)

    def GetClass(self, ClassName: str, namespace: str | None = None, **kw: Any) -> Any:
        return self._answer("GetClass", {"ClassName": ClassName, "namespace": namespace, **kw})

    def EnumerateClasses(self, namespace: str | None = None, **kw: Any) -> Any:
        return self._answer("EnumerateClasses", {"namespace": namespace, **kw})

    def EnumerateClassNames(self, namespace: str | None = None, **kw: Any) -> Any:
        return self._answer("EnumerateClassNames", {"namespace": namespace, **kw})

    def GetInstance(self, InstanceName: CIMInstanceName, **kw: Any) -> Any:
        return self._answer("GetInstance", {"InstanceName": InstanceName, **kw})

    def EnumerateInstances(self, ClassName: str, namespace: str | None = None, **kw: Any) -> Any:
        return self._answer("EnumerateInstances", {"ClassName": ClassName, "namespace": namespace, **kw})

    def EnumerateInstanceNames(self, ClassName: str, namespace: str | None = None, **kw: Any) -> Any:
        return self._answer("EnumerateInstanceNames", {"ClassName": ClassName, "namespace": namespace, **kw})

    def References(self, ObjectName: Any, **kw: Any) -> Any:
        return self._answer("References", {"ObjectName": ObjectName, **kw})

    def ReferenceNames(self, ObjectName: Any, **kw: Any) -> Any:
        return self._answer("ReferenceNames", {"ObjectName": ObjectName, **kw})

    def Associators(self, ObjectName: Any, **kw: Any) -> Any:
        return self._answer("Associators", {"ObjectName": ObjectName, **kw})

    def AssociatorNames(self, ObjectName: Any, **kw: Any) -> Any:
        return self._answer("AssociatorNames", {"ObjectName": ObjectName, **kw})

    def GetQualifier(self, QualifierName: str, namespace: str | None = None) -> Any:
        return self._answer("GetQualifier", {"QualifierName": QualifierName, "namespace": namespace})

    def EnumerateQualifiers(self, namespace: str | None = None) -> Any:
        return self._answer("EnumerateQualifiers", {"namespace": namespace})

    def InvokeMethod(self, MethodName: str, ObjectName: Any, Params: Any = None, **kw: Any) -> Any:
        return self._answer("InvokeMethod", {"MethodName": MethodName, "ObjectName": ObjectName, **kw})

    def _answer(self, op: str, args: dict[str, Any]) -> Any:
        key = cim_key(op, args, self.namespace)
        try:
            answer = self.replay.cim(self.array, key)
        except NotRecorded as exc:
            raise CIMError(CIM_ERR_FAILED, str(exc)) from None
        except CimError as exc:  # a recorded line that holds no answer
            raise CIMError(CIM_ERR_FAILED, f"replay: {exc}") from None
        if isinstance(answer, Hangup):
            raise HangupError(answer.text)
        if answer.error is not None:
            raise _as_reply(answer.error)
        return rehost(answer.result, self.hosts)


def _as_reply(error: BaseException) -> Exception:
    """The recorded error as this server raises it: a CIM error as itself, an HTTP error at the HTTP level."""
    if isinstance(error, pywbem.CIMError):
        return CIMError(error.status_code, error.status_description)
    if isinstance(error, pywbem.HTTPError):
        return codec.RequestError(int(error.status), error.cimerror or "request-not-valid", str(error.reason))
    return CIMError(CIM_ERR_FAILED, f"{type(error).__name__}: {error}")


def rehost(value: Any, hosts: Mapping[str, str]) -> Any:
    """`value` with every path's host that was a recorded provider's address given as the replay's (and an
    object the recording kept with its path, pywbem's parse of VALUE.OBJECTWITHLOCALPATH, as the object)."""
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], str) and value[0].startswith("VALUE."):
        return rehost(value[2], hosts)
    if isinstance(value, list):
        return [rehost(v, hosts) for v in value]
    if isinstance(value, CIMInstanceName):
        path = value.copy()
        path.host = hosts.get(str(path.host), path.host) if path.host else None
        for name, key in path.keybindings.items():
            if isinstance(key, CIMInstanceName):
                path.keybindings[name] = rehost(key, hosts)
        return path
    if isinstance(value, CIMInstance):
        instance = value.copy()
        if instance.path is not None:
            instance.path = rehost(instance.path, hosts)
        for prop in instance.properties.values():
            if prop.type == "reference" and prop.value is not None:
                prop.value = rehost(prop.value, hosts)
        return instance
    return value


# --------------------------------------------------------------------------- CLI


class ReplayCli:
    """The command lines one array's SSH server runs, answered from the tour (`harness.mock.sshd.CliBackend`)."""

    def __init__(self, replay: Replay, array: str) -> None:
        self.replay = replay
        self.array = array

    def run(self, command_line: str, *, confirm: Confirm | None = None, session: SessionEnv | None = None,
            output: OutputSink | None = None, abort: threading.Event | None = None) -> CommandResult:  # fmt: skip
        try:
            got = self.replay.cli(self.array, command_line)
        except NotRecorded as exc:
            return _written(CommandResult("", f"Error: {exc}\n", 1), output)
        if isinstance(got, Hangup):
            raise Unreachable(got.text)
        if isinstance(got, Step):
            self.replay.finish_step(got, abort)
            got = self.replay.tour.recording.transcript[str(got.ref)]
        return _written(CommandResult(got.stdout, got.stderr, got.status), output)


def _written(result: CommandResult, output: OutputSink | None) -> CommandResult:
    if output is not None:
        output("stdout", result.stdout)
        output("stderr", result.stderr)
    return result


# --------------------------------------------------------------------------- control


def control_apply(replay: Replay) -> Callable[[Any], dict[str, Any]]:
    """The control interface's requests: `replay_step` (an event or fault step) and `state`."""

    def apply(payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict) or payload.get("action") not in (REPLAY_ACTION, "state"):
            raise ControlError(f"a replay's control interface takes {{\"action\": \"{REPLAY_ACTION}\", \"kind\": "
                               "\"event\" or \"fault\", \"name\": ...}} (or \"state\")")  # fmt: skip
        if payload["action"] == "state":
            return {"ok": True, "position": replay.position, "steps": len(replay.tour.steps)}
        kind, name = str(payload.get("kind")), str(payload.get("name"))
        try:
            step = replay.action(kind, name)
        except NotRecorded as exc:
            raise ControlError(str(exc)) from None
        replay.finish_step(step)
        if step.failed:
            raise ControlError(f"replay: {step.failed}")
        return {"ok": True, "replayed": step.describe(), "position": replay.position}

    return apply


# --------------------------------------------------------------------------- the servers


class ReplayServers:
    """A replay's servers on loopback; `describe()` is `SimulatedArrays.describe()`'s shape (for
    `--write-config`)."""

    def __init__(self, tour: Tour, *, log: Callable[[str], None] = print, tls: bool = True,
                 certfile: str | None = None, keyfile: str | None = None,
                 authorized_keys: list[str] | None = None) -> None:  # fmt: skip
        self.tour = tour
        self.replay = Replay(tour, log=log)
        self.tls, self.certfile, self.keyfile = tls, certfile, keyfile
        self.authorized_keys = authorized_keys
        self.control_token = secrets.token_urlsafe(24)
        self.hosts: dict[str, str] = {}
        self.cim: dict[str, CIMXMLServer] = {}
        self.ssh: dict[str, ArraySSHServer] = {}
        self.passwords: dict[str, tuple[str, str]] = {}
        self.control: ControlServer | None = None
        self._stack = ExitStack()

    def start(self) -> ReplayServers:
        try:
            for key in self.tour.arrays:
                self._start_array(key)
            apply = control_apply(self.replay)
            self.control = self._stack.enter_context(ControlServer(None, self.control_token, apply=apply))
        except BaseException:
            self._stack.close()
            raise
        return self

    def _start_array(self, key: str) -> None:
        recorded = self._recorded(key)
        cim_password, ssh_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        namespace = str(recorded["cim"].get("namespace") or "root/tpd")
        backend = ReplayBackend(self.replay, key, namespace, self.hosts)
        cim = CIMXMLServer(backend, users={CIM_USER: cim_password}, tls=self.tls, certfile=self.certfile,
                           keyfile=self.keyfile, available=lambda: self.replay.available(key, "cim"))  # fmt: skip
        self.cim[key] = self._stack.enter_context(cim)
        recorded_url = str(recorded["cim"].get("url") or "")
        if recorded_url:
            self.hosts[urlsplit(recorded_url).netloc] = cim.netloc
        cli = ReplayCli(self.replay, key)
        ssh = ArraySSHServer(lambda: cli, users={SSH_USER: ssh_password}, authorized_keys=self.authorized_keys,
                             system_name=self._identity(key).get("system_name") or key,
                             available=lambda: self.replay.available(key, "cli"))  # fmt: skip
        self.ssh[key] = self._stack.enter_context(ssh)
        self.passwords[key] = (cim_password, ssh_password)

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> ReplayServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _recorded(self, key: str) -> dict[str, Any]:
        return dict((self.tour.config.get("arrays") or {}).get(key) or {"cim": {}})

    def _identity(self, key: str) -> dict[str, Any]:
        return dict(self._recorded(key).get("identity") or {})

    def describe(self) -> dict[str, Any]:
        """Everything a client needs to reach the replay (the `mock serve --replay` JSON line)."""
        assert self.control is not None, "start() first"
        return {
            "replay": self.tour.name,
            "topology": self.tour.config.get("topology"),
            "groups": [self.tour.group],
            "arrays": {key: self._describe_array(key) for key in self.cim},
            "control": {"url": self.control.url, "token": self.control_token},
        }

    def _describe_array(self, key: str) -> dict[str, Any]:
        recorded, identity = self._recorded(key), self._identity(key)
        cim, ssh = self.cim[key], self.ssh[key]
        ca = cim.ca_cert_path
        return {
            "system_name": identity.get("system_name"),
            "serial": identity.get("serial"),
            "cim_url": cim.url,
            "namespace": recorded["cim"].get("namespace") or "root/tpd",
            "interop_namespace": recorded["cim"].get("interop_namespace"),
            "user": CIM_USER,
            "password": self.passwords[key][0],
            "ca_cert": str(Path(ca)) if ca else None,
            "ssh_host": "127.0.0.1",
            "ssh_port": ssh.port,
            "ssh_user": SSH_USER,
            "ssh_password": self.passwords[key][1],
            "ssh_host_key": ssh.host_key_line,
        }
