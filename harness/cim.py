"""The CIM side: connect with pywbem, discover profiles, read one group's pair states cheaply.

Reading is group-scoped: the group and its member volumes are found once
(`find_group`); each poll then asks References from each member volume with
ResultClass TPD_RemoteStorageSynchronized and only the properties the rows and
rules need, so a poll costs the size of the group, not of the array. Preflight may
install a cheaper way to ask the same answers (`ArrayCim.use_asker`: over a pool of
connections, or one enumeration on a small array; harness.cim_reads).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pywbem
from pywbem import CIMInstanceName, ValueMapping, WBEMConnection, WBEMServer

from harness.observation import CimGroupSync, CimPair, CimRefusal, CimView

PAIR_CLASS = "TPD_RemoteStorageSynchronized"
GROUP_CLASS = "TPD_RemoteReplicationGroup"
GROUP_SYNC_CLASS = "TPD_RemoteGroupSynchronized"
ENTITY_CLASS = "TPD_ReplicationEntity"
PAIR_PROPERTIES = [
    "CopyState",
    "SyncState",
    "ProgressStatus",
    "RequestedCopyState",
    "Mode",
    "CopyType",
    "SyncType",
    "ReplicaType",
    "SyncMaintained",
    "WhenSynced",
    "PercentSynced",
    "UndiscoveredElement",
    "RoleReversed",
]
GROUP_SYNC_PROPERTIES = ["CopyState", "SyncState", "ProgressStatus", "SyncMaintained", "RoleReversed"]
NAMED_PROPERTIES = ["CopyState", "SyncState", "ProgressStatus", "RequestedCopyState", "Mode", "CopyType",
                    "SyncType", "ReplicaType", "UndiscoveredElement"]  # fmt: skip
INSTANCE_ID_PREFIXES = ("3PAR", "HP_3PAR")


class CimError(Exception):
    """The CIM side could not be read; the message names the cause and what to do."""

SIMULATION_MARK = "simulated by smis-harness"
"""What smis-harness's simulated provider says of itself in CIM_SoftwareIdentity.Description."""


class _Refused(Exception):
    """The provider answered a read with a CIM error status that is evidence about it."""

    def __init__(self, exc: pywbem.CIMError) -> None:
        super().__init__(str(exc))
        self.status = str(exc.status_code_name)
        self.description = str(exc.status_description or "")

    def evidence(self, operation: str, subject: str, volume: str | None = None) -> CimRefusal:
        return CimRefusal(operation, subject, self.status, self.description, volume)


# statuses that say something about the objects asked for (the provider's answer), not about the transport
PAIR_REFUSALS = frozenset({pywbem.CIM_ERR_NOT_FOUND})
GROUP_SYNC_REFUSALS = frozenset({pywbem.CIM_ERR_NOT_FOUND, pywbem.CIM_ERR_INVALID_CLASS,
                                 pywbem.CIM_ERR_INVALID_PARAMETER, pywbem.CIM_ERR_NOT_SUPPORTED})  # fmt: skip


@dataclass(frozen=True)
class CimEndpoint:
    url: str
    user: str
    password: Callable[[], str]
    namespace: str = "root/tpd"
    interop_namespace: str | None = None
    ca_cert: str | None = None
    verify: bool = True
    timeout: float = 30.0


@dataclass(frozen=True)
class CimIdentity:
    system_name: str | None
    serial: str | None
    interop_namespace: str
    profiles: dict[str, str]  # registered name -> version (SNIA)
    provider: str | None
    provider_version: str | None
    value_names: dict[str, dict[int, str]]  # from the provider's own qualifiers
    provider_description: str | None = None

    @property
    def simulated(self) -> bool:
        """The provider says it is smis-harness's simulator (its SoftwareIdentity's Description)."""
        return SIMULATION_MARK in (self.provider_description or "")


@dataclass(frozen=True)
class GroupHandle:
    name: str
    path: CIMInstanceName
    instance_id: str
    members: dict[str, str]  # member volume path (no host) -> volume ElementName


def connect(endpoint: CimEndpoint) -> WBEMConnection:
    conn = WBEMConnection(
        endpoint.url,
        (endpoint.user, endpoint.password()),
        default_namespace=endpoint.namespace,
        ca_certs=endpoint.ca_cert,
        no_verification=not endpoint.verify,
        timeout=endpoint.timeout,
    )
    # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment would override the CA configured for this array.
    conn.session.trust_env = False
    return conn


def describe_failure(endpoint: CimEndpoint, exc: Exception) -> str:
    """One sentence: what went wrong talking to this provider, and what to check."""
    where = endpoint.url
    if isinstance(exc, pywbem.AuthError):
        return f"{where}: the provider rejected the credentials (HTTP 401); check the user and password for this array"
    if isinstance(exc, pywbem.TimeoutError):
        return f"{where}: no answer within {endpoint.timeout:g}s; check the provider is running, or raise cim.timeout"
    if isinstance(exc, pywbem.ConnectionError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return f"{where}: the certificate is not trusted ({_short(text)}); check cim.ca_cert"
        if "SSL" in text:
            return f"{where}: the TLS connection failed ({_short(text)}); the provider may be down or not TLS"
        return f"{where}: cannot connect ({_short(text)}); check the URL and port and that the CIMOM is up"
    if isinstance(exc, pywbem.CIMError):
        return f"{where}: the provider answered {exc.status_code_name}: {exc.status_description}"
    if isinstance(exc, pywbem.HTTPError):
        return f"{where}: HTTP error {exc.status} {exc.reason}; check the URL path and the provider"
    if isinstance(exc, pywbem.ParseError | pywbem.CIMXMLParseError | pywbem.XMLParseError):
        return f"{where}: the provider's reply is not valid CIM-XML ({_short(str(exc))})"
    return f"{where}: {type(exc).__name__}: {_short(str(exc))}"


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ArrayCim:
    """One array's provider, read through pywbem."""

    recorder: pywbem.BaseOperationRecorder | None = None
    asker: Callable[[GroupHandle], GroupAnswers] | None = None
    """How one poll asks the provider (None: `ask_serial`); preflight installs the path it chose (`use_asker`,
    harness.cim_read_choice)."""
    _close_asker: Callable[[], None] | None = None

    def __init__(self, endpoint: CimEndpoint, recorder: pywbem.BaseOperationRecorder | None = None) -> None:
        self.endpoint = endpoint
        self.recorder = recorder
        self.conn = self._connection(recorder)

    def connect(self) -> WBEMConnection:
        """Another connection to this array (a pool's), with its own copy of the array's operation recorder."""
        return self._connection(self.recorder.copy() if self.recorder is not None else None)

    def _connection(self, recorder: pywbem.BaseOperationRecorder | None) -> WBEMConnection:
        conn = connect(self.endpoint)
        if recorder is not None:
            conn.add_operation_recorder(recorder)
        return conn

    def use_asker(self, asker: Callable[[GroupHandle], GroupAnswers], close: Callable[[], None] | None = None) -> None:
        """Polls ask the provider with `asker` from now on; `close` (a pool's) runs when this array closes or
        another asker replaces this one."""
        self._close_extras()
        self.asker, self._close_asker = asker, close

    def _close_extras(self) -> None:
        close, self._close_asker = self._close_asker, None
        if close is not None:
            close()

    def close(self) -> None:
        self._close_extras()
        self.conn.close()

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except pywbem.Error as exc:
            raise CimError(describe_failure(self.endpoint, exc)) from None

    # ------------------------------------------------------------------ discovery
    def discover(self) -> CimIdentity:
        server = WBEMServer(self.conn)
        interop = self.endpoint.interop_namespace or self._call(lambda: server.interop_ns)
        profiles = {
            str(p["RegisteredName"]): str(p["RegisteredVersion"])
            for p in self._call(server.get_selected_profiles, registered_org="SNIA")
        }
        systems = self._call(
            self.conn.EnumerateInstances, "CIM_ComputerSystem", PropertyList=["ElementName", "Name"]
        )
        system = systems[0] if systems else None
        provider, version, description = self._provider_identity(interop)
        return CimIdentity(
            system_name=_str(system, "ElementName"),
            serial=_str(system, "Name"),
            interop_namespace=interop,
            profiles=profiles,
            provider=provider,
            provider_version=version,
            value_names=self._value_names(),
            provider_description=description,
        )

    def _provider_identity(self, interop: str) -> tuple[str | None, str | None, str | None]:
        for namespace in (interop, self.endpoint.namespace):
            try:
                found = self.conn.EnumerateInstances(
                    "CIM_SoftwareIdentity", namespace=namespace,
                    PropertyList=["ElementName", "VersionString", "Description"],
                )  # fmt: skip
            except pywbem.CIMError:
                continue
            except pywbem.Error as exc:
                raise CimError(describe_failure(self.endpoint, exc)) from None
            if found:
                return _str(found[0], "ElementName"), _str(found[0], "VersionString"), _str(found[0], "Description")
        return None, None, None

    def _value_names(self) -> dict[str, dict[int, str]]:
        names: dict[str, dict[int, str]] = {}
        for prop in NAMED_PROPERTIES:
            try:
                mapping = ValueMapping.for_property(self.conn, self.endpoint.namespace, PAIR_CLASS, prop)
            except (pywbem.Error, ValueError, TypeError, KeyError):
                continue
            names[prop] = {int(value): str(name) for value, name in mapping.items() if isinstance(value, int)}
        return names

    def find_group(self, group_name: str) -> GroupHandle:
        """The group by name, and its member volumes (read once: membership does not change during DR)."""
        path = self._group_path(group_name)
        members = self._call(
            self.conn.Associators, path, ResultClass="CIM_StorageVolume", PropertyList=["ElementName"]
        )
        return group_handle(group_name, path, members)

    def _group_path(self, group_name: str) -> CIMInstanceName:
        for prefix in INSTANCE_ID_PREFIXES:
            candidate = CIMInstanceName(
                GROUP_CLASS, {"InstanceID": f"{prefix}:{group_name}"}, namespace=self.endpoint.namespace
            )
            try:
                return self.conn.GetInstance(candidate, PropertyList=["ElementName"]).path
            except pywbem.CIMError as exc:
                if exc.status_code != pywbem.CIM_ERR_NOT_FOUND:
                    raise CimError(describe_failure(self.endpoint, exc)) from None
            except pywbem.Error as exc:
                raise CimError(describe_failure(self.endpoint, exc)) from None
        names = self._call(self.conn.EnumerateInstances, GROUP_CLASS, PropertyList=["ElementName"])
        for group in names:
            if group.get("ElementName") == group_name:
                return group.path
        known = ", ".join(sorted(str(g.get("ElementName")) for g in names)) or "none"
        raise CimError(f"{self.endpoint.url}: no {GROUP_CLASS} named {group_name!r} (groups: {known})")

    # ------------------------------------------------------------------ one poll
    def read(self, group: GroupHandle, peer_serial: str | None = None) -> CimView:
        """The group's pairs now; with `peer_serial`, only pairs whose remote end is a volume of that array.

        A read the provider answers with a CIM error status that speaks about the objects (a member volume's
        References refused with CIM_ERR_NOT_FOUND; the GroupSynchronized class unknown or unsupported) is
        evidence about the provider and lands in `CimView.refusals`; transport failures and other statuses
        raise CimError (the observation has no CIM view). The answers are turned into the view by
        `cim_view`, which re-judging a recorded run calls on the recorded answers.
        """
        with gc_paused():
            return cim_view(group, self.ask(group), peer_serial, self.endpoint)

    def ask(self, group: GroupHandle) -> GroupAnswers:
        """The provider's answers for one poll of `group`, as pywbem gave them (nothing converted yet), asked
        the way preflight chose (`asker`: one References per member volume by default)."""
        return (self.asker or self.ask_serial)(group)

    def ask_serial(self, group: GroupHandle) -> GroupAnswers:
        """One References per member volume, in the group's order, then the group's References."""
        pairs: list[tuple[str, Answer]] = []
        for member_text in group.members:
            answer = ask_member(self.conn, member_text)
            pairs.append((member_text, answer))
            if failed(answer):
                return GroupAnswers(tuple(pairs), None)  # the read failed: nothing more is asked
        return GroupAnswers(tuple(pairs), ask_group_syncs(self.conn, group))

    def probe_entities(self, group: GroupHandle) -> dict[str, bool]:
        """RULE-04: a TPD_ReplicationEntity must be reachable through Associators only."""
        entities: list[CIMInstanceName] = []
        for member_text in group.members:
            member = CIMInstanceName.from_wbem_uri(member_text)
            entities += self._call(self.conn.AssociatorNames, member, ResultClass=ENTITY_CLASS)
        return {
            "associators_found_entity": bool(entities),
            "enumerate_found_entity": self._entity_enumerable(),
            "getinstance_found_entity": any(self._entity_gettable(path) for path in entities),
        }

    def _entity_enumerable(self) -> bool:
        try:
            return bool(self.conn.EnumerateInstanceNames(ENTITY_CLASS))
        except pywbem.CIMError:
            return False
        except pywbem.Error as exc:
            raise CimError(describe_failure(self.endpoint, exc)) from None

    def _entity_gettable(self, path: CIMInstanceName) -> bool:
        try:
            self.conn.GetInstance(path)
        except pywbem.CIMError:
            return False
        except pywbem.Error as exc:
            raise CimError(describe_failure(self.endpoint, exc)) from None
        return True


@dataclass(frozen=True)
class Answer:
    """What the provider answered one request: pywbem's result, or the pywbem error it raised."""

    result: Any = None
    error: pywbem.Error | None = None


@dataclass(frozen=True)
class GroupAnswers:
    """The answers of one poll of a group: the References of each member volume asked, in the group's order
    (asking stops at the first failure that is not a refusal), then the group's References to
    TPD_RemoteGroupSynchronized (None: not asked)."""

    pairs: tuple[tuple[str, Answer], ...]  # (member volume path text, its answer)
    group_syncs: Answer | None


def ask_member(conn: WBEMConnection, member_text: str) -> Answer:
    """A member volume's References to its pairs (ResultClass, PropertyList), as one poll asks them."""
    member = member_path(member_text)
    return _ask(conn.References, member, ResultClass=PAIR_CLASS, PropertyList=PAIR_PROPERTIES)


def ask_group_syncs(conn: WBEMConnection, group: GroupHandle) -> Answer:
    """The group's References to its GroupSynchronized instances, as one poll asks them."""
    return _ask(conn.References, group.path, ResultClass=GROUP_SYNC_CLASS, PropertyList=GROUP_SYNC_PROPERTIES)


def failed(answer: Answer) -> bool:
    """A member's answer that ends the read: an error that is not a refusal about the volume."""
    return answer.error is not None and not _refused(answer.error, PAIR_REFUSALS)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector held off while a read builds its answers: pywbem's parser makes many small
    objects, and the collections they trigger (scanning the whole heap, world and all, in a simulated run) cost
    about a fifth of a large read. What the read leaves behind is collected afterwards, as usual."""
    if not gc.isenabled():  # held off already (another read): leave it to that one
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@lru_cache(maxsize=65536)
def member_path(member_text: str) -> CIMInstanceName:
    """A member volume's path from its text (parsed once: the same object each poll, never changed)."""
    return CIMInstanceName.from_wbem_uri(member_text)


def _ask(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Answer:
    try:
        return Answer(result=fn(*args, **kwargs))
    except pywbem.Error as exc:
        return Answer(error=exc)


def _refused(exc: pywbem.Error, statuses: frozenset[int]) -> bool:
    return isinstance(exc, pywbem.CIMError) and exc.status_code in statuses


def _answered(answer: Answer, statuses: frozenset[int], endpoint: CimEndpoint) -> Any:
    """The answer's result; a CIMError with one of `statuses` raises _Refused, any other failure CimError."""
    if answer.error is None:
        return answer.result
    if _refused(answer.error, statuses):
        assert isinstance(answer.error, pywbem.CIMError)
        raise _Refused(answer.error)
    raise CimError(describe_failure(endpoint, answer.error))


def cim_view(group: GroupHandle, answers: GroupAnswers, peer_serial: str | None, endpoint: CimEndpoint) -> CimView:
    """The CIM view of one poll from the provider's answers (`ArrayCim.read`; re-judging a recorded run calls
    it on the recorded answers). Raises CimError for a read that failed (see `ArrayCim.read`)."""
    pairs: list[CimPair] = []
    refusals: list[CimRefusal] = []
    operation = f"References {PAIR_CLASS}"
    for member_text, answer in answers.pairs:
        volume_name = group.members.get(member_text, "")
        try:
            refs = _answered(answer, PAIR_REFUSALS, endpoint)
        except _Refused as refused:
            refusals.append(refused.evidence(operation, volume_name, volume_name))
            continue
        pairs.extend(_pair(ref, group, volume_name) for ref in refs if _with_peer(ref, peer_serial))
    if answers.group_syncs is None:
        raise CimError(f"{endpoint.url}: References {GROUP_SYNC_CLASS} of group {group.name} was not asked")
    try:
        syncs = _answered(answers.group_syncs, GROUP_SYNC_REFUSALS, endpoint)
    except _Refused as refused:
        refusals.append(refused.evidence(f"References {GROUP_SYNC_CLASS}", f"group {group.name}"))
        syncs = []
    return CimView(
        group_instance_id=group.instance_id,
        pairs=tuple(sorted(pairs, key=lambda p: p.local_volume or "")),
        group_syncs=tuple(_group_sync(s) for s in syncs),
        refusals=tuple(refusals),
    )


def group_handle(group_name: str, path: CIMInstanceName, members: list[pywbem.CIMInstance]) -> GroupHandle:
    """The group found by `ArrayCim.find_group`: its path and its member volumes (Associators)."""
    return GroupHandle(
        name=group_name,
        path=path,
        instance_id=str(path.keybindings["InstanceID"]),
        members={_path_text(m.path): str(m.get("ElementName") or "") for m in members},
    )


def _pair(inst: pywbem.CIMInstance, group: GroupHandle, volume_name: str) -> CimPair:
    system = inst.path.keybindings.get("SystemElement")
    synced = inst.path.keybindings.get("SyncedElement")
    system_text, synced_text = _ref_text(system), _ref_text(synced)
    return CimPair(
        path=_path_text(inst.path),
        system_element=system_text,
        synced_element=synced_text,
        system_element_local=_local_text(system, system_text, group),
        synced_element_local=_local_text(synced, synced_text, group),
        system_element_class=getattr(system, "classname", ""),
        synced_element_class=getattr(synced, "classname", ""),
        local_volume=volume_name,
        properties={p: _plain(inst.get(p)) for p in PAIR_PROPERTIES if p in inst.properties},
        omitted=tuple(p for p in PAIR_PROPERTIES if p not in inst.properties),
    )


def _group_sync(inst: pywbem.CIMInstance) -> CimGroupSync:
    system = inst.path.keybindings.get("SystemElement")
    synced = inst.path.keybindings.get("SyncedElement")
    return CimGroupSync(
        system_element=_ref_text(system),
        synced_element=_ref_text(synced),
        system_element_name=_group_name(system),
        synced_element_name=_group_name(synced),
        properties={p: _plain(inst.get(p)) for p in GROUP_SYNC_PROPERTIES if p in inst.properties},
    )


def _with_peer(inst: pywbem.CIMInstance, peer_serial: str | None) -> bool:
    if peer_serial is None:
        return True
    ends = [inst.path.keybindings.get("SystemElement"), inst.path.keybindings.get("SyncedElement")]
    return any(isinstance(e, CIMInstanceName) and str(e.keybindings.get("SystemName")) == peer_serial for e in ends)


def _str(inst: pywbem.CIMInstance | None, prop: str) -> str | None:
    if inst is None or inst.get(prop) is None:
        return None
    return str(inst.get(prop))


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    return str(value)


def path_text(path: CIMInstanceName) -> str:
    """A path as the group's members are keyed: canonical WBEM URI without the host."""
    return _path_text(path)


def _path_text(path: CIMInstanceName) -> str:
    if not path.host:
        return path.to_wbem_uri(format="canonical")
    local = path.copy()
    local.host = None
    return local.to_wbem_uri(format="canonical")


def _ref_text(ref: Any) -> str:
    return ref.to_wbem_uri(format="canonical") if isinstance(ref, CIMInstanceName) else str(ref)


def _local_text(ref: Any, text: str, group: GroupHandle) -> bool:
    """The reference names a member volume of the group (no host: this array's), given `_ref_text(ref)` (for a
    reference without host, the text the members are keyed by)."""
    return isinstance(ref, CIMInstanceName) and not ref.host and text in group.members


def _group_name(ref: Any) -> str | None:
    if not isinstance(ref, CIMInstanceName):
        return None
    instance_id = str(ref.keybindings.get("InstanceID", ""))
    return instance_id.split(":", 1)[1] if ":" in instance_id else None
