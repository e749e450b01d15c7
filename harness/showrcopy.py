"""Parse 3PAR / HPE Alletra ``showrcopy``, ``showsys`` and ``showsys -d`` CLI output.

Every form the real Alletra MP 10.5 captures in ``fixtures/captures`` show is read, plain
and ``-d`` (full, ``targets``, ``links``, ``groups``), as well as the 3PAR OS 3.1 layouts:
tables are read from their header lines (:mod:`harness.cli_table`), so the ``-d`` columns
(``Version``/``SysName``/``SysID``/``RemoteName``/``RemoteID`` for targets, ``Name``/``IPC``/
``ID`` for links, ``ID``/``LocalUserCpg``/``RmUserCpg`` for groups, ``Resync_ss``/``VV_iter``/
``LocalSet``... for volumes) and columns no capture shows are found by name wherever they
sit.  Columns the data model has no field for are kept, by header word, in ``extra``.

Sections (``Remote Copy System Information``, ``Target Information``, ``Link Information``,
``Group Information``) come in that order, each at most once.  Every group block repeats
its header; whitespace-only lines never end a block: a block ends only at the next group
header or at the end of its section.  A leading ``# <command>`` line (added by whoever
captured the output) is skipped.

CSV form (``-csvtable [-nohdtot]`` or after ``setclienv csvtable 1``).  No real capture of
it is available; the parser assumes what the CLI spec states plus the usual 3PAR
``-csvtable`` conventions: section titles and the ``Status:`` line stay plain lines; each
table row is one CSV record with the columns of the plain table (the Options field, which
contains commas, is quoted); volume records carry an empty first field in place of the
two-space indent; header records are printed without ``-nohdtot`` and name the columns;
without them the columns are those of the plain or the ``-d`` layout, told apart by the
number of fields.  A new group block starts at a group header record, or at a group row
whose name differs from the current block's or that follows volume rows; further target
rows of the same group repeat the name or leave it empty.

Anything that does not fit raises :class:`~harness.cli_table.CliParseError`, naming the
line, its section and what was expected there; no other exception escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.cli_table import (
    CliParseError,
    Column,
    Line,
    TableSpec,
    csv_fields,
    csv_header,
    csv_row,
    header_columns,
    numbered_lines,
    parse_int,
    plain_row,
)

__all__ = [
    "NOT_CONFIGURED",
    "CliParseError",
    "Group",
    "GroupTarget",
    "LinkRow",
    "RemoteCopyReport",
    "SystemDetail",
    "SystemInfo",
    "Target",
    "VolumePair",
    "base_group_name",
    "parse_showrcopy",
    "parse_showsys",
    "parse_showsys_detail",
]

NOT_CONFIGURED = "Remote Copy is not configured on this system."
SYSTEM_TITLE = "Remote Copy System Information"
TARGETS_TITLE = "Target Information"
LINKS_TITLE = "Link Information"
GROUPS_TITLE = "Group Information"
_TITLES = (SYSTEM_TITLE, TARGETS_TITLE, LINKS_TITLE, GROUPS_TITLE)


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class Target:
    """A remote-copy target: a name chosen by whoever created it; ``-d`` shows the array behind it."""

    name: str
    id: int
    type: str
    status: str
    options: list[str]
    policy: str | None
    version: int | None = None  # -d
    sys_name: str | None = None  # -d: the system this target leads to
    sys_id: int | None = None  # -d: that system's id (showsys ID)
    remote_name: str | None = None  # -d: the name of this array's target on that system
    remote_id: int | None = None  # -d: that target's id there
    extra: dict[str, str] = field(default_factory=dict)  # other columns, by header word


@dataclass(frozen=True)
class LinkRow:
    target: str
    node: str
    address: str
    status: str
    options: list[str]
    name: str | None = None  # -d
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def inbound(self) -> bool:
        """Rows whose Target is ``receive`` describe this array's own inbound ports."""
        return self.target == "receive"


@dataclass(frozen=True)
class GroupTarget:
    """One target row of a group (SLD groups have several)."""

    target: str
    status: str
    role: str
    mode: str
    options: list[str]
    last_sync: str | None
    period: str | None
    id: int | None = None  # -d: the group's id
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VolumePair:
    local_vv: str
    local_id: int
    remote_vv: str
    remote_id: int
    sync_status: str
    sync_percent: int | None
    last_sync_time: str | None
    raw_sync_status: str
    target: str | None = None  # the block's target when its block has exactly one target row
    extra: dict[str, str] = field(default_factory=dict)  # -d: Resync_ss, VV_iter, LocalSet ...


@dataclass(frozen=True)
class Group:
    """A remote-copy group; the scalar fields come from its first target row."""

    name: str
    target: str
    status: str
    role: str
    mode: str
    options: list[str]
    last_sync: str | None
    period: str | None
    volumes: list[VolumePair] = field(default_factory=list)
    targets: list[GroupTarget] = field(default_factory=list)  # every target row, in order
    id: int | None = None  # -d
    extra: dict[str, str] = field(default_factory=dict)  # -d: LocalUserCpg, RmUserCpg ...


@dataclass(frozen=True)
class RemoteCopyReport:
    configured: bool
    status: str | None
    targets: list[Target] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def group(self, name: str) -> Group:
        """The group named exactly ``name``; KeyError naming the known groups otherwise."""
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(f"no group {name!r}; groups: {[g.name for g in self.groups]}")


@dataclass(frozen=True)
class SystemInfo:
    id: int
    name: str
    model: str
    serial: str
    nodes: int | None = None
    master: int | None = None
    total_cap_mib: int | None = None
    alloc_cap_mib: int | None = None
    free_cap_mib: int | None = None
    failed_cap_mib: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def base_group_name(name: str) -> tuple[str, int | None]:
    """``"G.r188150"`` -> ``("G", 188150)`` (the peer's copy of G); ``"G"`` -> ``("G", None)``."""
    match = re.fullmatch(r"(.+)\.r([0-9]{1,20})", name)
    return (match[1], int(match[2])) if match else (name, None)


# --------------------------------------------------------------------------- table specs

_TEXT_OPTIONS = frozenset({"Options"})
_TARGET = TableSpec(
    "a target row",
    ("Name", "ID", "Type", "Status"),
    values=frozenset({"Name", "ID", "Type", "Status"}),
    text=frozenset({"Name", "Type", "Status", "Options", "Policy", "SysName", "RemoteName"}),
    numbers=frozenset({"ID", "Version", "SysID", "RemoteID"}),
    spaced=_TEXT_OPTIONS,
    layouts=(
        ("Name", "ID", "Type", "Status", "Options", "Policy"),
        ("Name", "ID", "Type", "Status", "Options", "Version", "Policy", "Socks", "Buffsz", "SysName", "SysID",
         "RemoteName", "RemoteID"),
    ),
)  # fmt: skip
_LINK = TableSpec(
    "a link row",
    ("Target", "Node", "Address", "Status"),
    values=frozenset({"Target", "Node", "Address", "Status"}),
    text=frozenset({"Target", "Name", "Node", "Address", "Status", "Options"}),
    spaced=_TEXT_OPTIONS,
    layouts=(
        ("Target", "Node", "Address", "Status", "Options"),
        ("Target", "Name", "IPC", "ID", "Node", "Address", "Status", "Options"),
    ),
)
_GROUP = TableSpec(
    "a group row",
    ("Name", "Target", "Status", "Role", "Mode"),
    values=frozenset({"Target", "Status", "Role", "Mode"}),
    text=frozenset({"Name", "Target", "Status", "Role", "Mode", "Options"}),
    numbers=frozenset({"ID"}),
    spaced=_TEXT_OPTIONS,
    layouts=(
        ("Name", "Target", "Status", "Role", "Mode", "Options"),
        ("Name", "ID", "Target", "Status", "Role", "Mode", "LocalUserCpg", "RmUserCpg", "Options"),
    ),
)
_VOLUME = TableSpec(
    "a volume row",
    ("LocalVV", "LocalVV ID", "RemoteVV", "RemoteVV ID", "SyncStatus"),
    values=frozenset({"LocalVV", "LocalVV ID", "RemoteVV", "RemoteVV ID", "SyncStatus"}),
    text=frozenset({"LocalVV", "RemoteVV", "SyncStatus", "LastSyncTime"}),
    numbers=frozenset({"LocalVV ID", "RemoteVV ID"}),
    spaced=frozenset({"SyncStatus", "LastSyncTime"}),
    layouts=(
        ("LocalVV", "LocalVV ID", "RemoteVV", "RemoteVV ID", "SyncStatus", "LastSyncTime"),
        ("LocalVV", "LocalVV ID", "RemoteVV", "RemoteVV ID", "SyncStatus", "Resync_ss", "Sync_ss", "VV_iter",
         "R_iter", "S_iter", "LastSyncTime", "LocalSet", "RemoteSet"),
    ),
)  # fmt: skip
_SHOWSYS = TableSpec(
    "a showsys row",
    ("ID", "Name", "Model", "Serial"),
    values=frozenset({"ID", "Name", "Model", "Serial"}),
    text=frozenset({"Name", "Model", "Serial"}),
    numbers=frozenset({"ID", "Nodes", "Master", "TotalCap", "AllocCap", "FreeCap", "FailedCap"}),
    spaced=frozenset({"Model"}),
)


def _extra(values: dict[str, str], spec: TableSpec) -> dict[str, str]:
    return {key: value for key, value in values.items() if key not in spec.known}


def _optional_int(values: dict[str, str], key: str, line: Line, hex_ok: bool = False) -> int | None:
    value = values.get(key, "")
    return None if value in ("", "-", "NA") else parse_int(value, line, key, hex_ok)


# --------------------------------------------------------------------------- values


def _flags(text: str) -> list[str]:
    return [] if text in ("", "-") else [item.strip() for item in text.split(",") if item.strip()]


def _group_options(text: str) -> tuple[list[str], str | None, str | None]:
    flags: list[str] = []
    last_sync = period = None
    for item in _flags(text):
        if item.startswith("Last-Sync "):
            last_sync = item.removeprefix("Last-Sync ").strip()
        elif item.startswith("Period "):
            period = item.removeprefix("Period ").strip()
        else:
            flags.append(item)
    return flags, last_sync, period


def _sync_status(text: str, line: Line) -> tuple[str, int | None]:
    match = re.fullmatch(r"([A-Za-z]+)(?:\s*\((\d{1,3})%\))?", text)
    if not match:
        raise line.error(f"a SyncStatus such as 'Synced' or 'Syncing (42%)', not {text!r},")
    return match[1], None if match[2] is None else int(match[2])


def _target(values: dict[str, str], line: Line) -> Target:
    return Target(
        values["Name"],
        parse_int(values["ID"], line, "ID"),
        values["Type"],
        values["Status"],
        _flags(values.get("Options", "")),
        values.get("Policy") or None,
        _optional_int(values, "Version", line),
        values.get("SysName") or None,
        _optional_int(values, "SysID", line, hex_ok=True),
        values.get("RemoteName") or None,
        _optional_int(values, "RemoteID", line),
        _extra(values, _TARGET),
    )


def _link(values: dict[str, str], line: Line) -> LinkRow:
    return LinkRow(
        values["Target"],
        values["Node"],
        values["Address"],
        values["Status"],
        _flags(values.get("Options", "")),
        values.get("Name") or None,
        _extra(values, _LINK),
    )


def _group_target(values: dict[str, str], line: Line) -> GroupTarget:
    return GroupTarget(
        values["Target"],
        values["Status"],
        values["Role"],
        values["Mode"],
        *_group_options(values.get("Options", "")),
        _optional_int(values, "ID", line),
        _extra(values, _GROUP),
    )


def _volume(values: dict[str, str], line: Line, target: str | None) -> VolumePair:
    raw_status = values["SyncStatus"]
    status, percent = _sync_status(raw_status, line)
    last = values.get("LastSyncTime", "")
    return VolumePair(
        values["LocalVV"],
        parse_int(values["LocalVV ID"], line, "ID"),
        values["RemoteVV"],
        parse_int(values["RemoteVV ID"], line, "ID"),
        status,
        percent,
        None if last in ("", "NA") else last,
        raw_status,
        target,
        _extra(values, _VOLUME),
    )


# --------------------------------------------------------------------------- sections


def _sections(lines: list[Line]) -> dict[str, list[Line]]:
    sections: dict[str, list[Line]] = {}
    current: str | None = None
    for line in lines:
        title = line.text.rstrip()
        if title in _TITLES:
            if any(_TITLES.index(seen) >= _TITLES.index(title) for seen in sections):
                raise line.error(f"sections in the order {list(_TITLES)}, each at most once,")
            current, sections[title] = title, [line.within(title)]
        elif current is not None:
            sections[current].append(line.within(current))
        elif not line.blank:
            raise line.error(f"a section title {list(_TITLES)} or {NOT_CONFIGURED!r}")
    return sections


def _content(section: list[Line]) -> list[Line]:
    """The non-blank lines of a section after its title line (``section[0]``)."""
    return [line for line in section[1:] if not line.blank]


def _system_status(section: list[Line]) -> str:
    content = _content(section)
    if not content:
        raise section[0].error(f"a 'Status: ...' line after {SYSTEM_TITLE!r}")
    match = re.fullmatch(r"Status:\s*(\S.*)", content[0].text.strip())
    if not match or len(content) > 1:
        raise (content[1] if match else content[0]).error(f"only a 'Status: ...' line in {SYSTEM_TITLE!r}")
    return match[1]


def _is_csv(line: Line) -> bool:
    """Whether the first line of a table is a CSV record (a plain header holds no comma)."""
    return "," in line.text


def _table(section: list[Line], spec: TableSpec) -> list[tuple[dict[str, str], Line]]:
    """Rows of a Target/Link table in plain form (header first) or CSV form."""
    content = _content(section)
    if not content:
        return []
    columns = header_columns(content[0], spec)
    if columns is not None:
        return [(plain_row(line, columns, spec), line) for line in content[1:]]
    if not _is_csv(content[0]):
        raise content[0].error(f"the header '{spec.header} ...' (or a CSV record)")
    rows = []
    keys: tuple[str, ...] | None = None
    for line in content:
        fields = csv_fields(line)
        header = csv_header(fields, spec)
        if header is not None:
            keys = header
        else:
            rows.append((csv_row(fields, keys, line, spec), line))
    return rows


# --------------------------------------------------------------------------- groups


@dataclass
class _Block:
    name: str
    rows: list[GroupTarget] = field(default_factory=list)
    volumes: list[tuple[dict[str, str], Line]] = field(default_factory=list)


def _group_blocks(section: list[Line]) -> list[_Block]:
    content = _content(section)
    if not content:
        return []
    if header_columns(content[0], _GROUP) is not None:
        return _plain_blocks(content)
    if not _is_csv(content[0]):
        raise content[0].error(f"the group header '{_GROUP.header} ...' (or a CSV group record)")
    return _csv_blocks(content)


def _add_group_row(blocks: list[_Block], values: dict[str, str], line: Line, new_block: bool) -> None:
    name = values["Name"]
    if new_block and not name:
        raise line.error(f"a group name in the first row of a group block ('{_GROUP.header}')")
    if new_block:
        blocks.append(_Block(name))
    elif name and name != blocks[-1].name:
        raise line.error(f"another target row of group {blocks[-1].name!r} or a new group header")
    blocks[-1].rows.append(_group_target(values, line))


def _plain_blocks(content: list[Line]) -> list[_Block]:
    """Blocks end only at the next group header (blank and whitespace-only lines are dropped)."""
    blocks: list[_Block] = []
    group_layout: list[Column] = []
    volume_layout: list[Column] | None = None
    awaiting_row = False
    for line in content:
        if (columns := header_columns(line, _GROUP)) is not None:
            if awaiting_row:
                raise line.error(f"a group row after the group header '{_GROUP.header} ...'")
            group_layout, volume_layout, awaiting_row = columns, None, True
        elif (columns := header_columns(line, _VOLUME)) is not None:
            if awaiting_row or volume_layout is not None:
                raise line.error("a group row before the volume header")
            volume_layout = columns
        elif volume_layout is not None:
            blocks[-1].volumes.append((plain_row(line, volume_layout, _VOLUME), line))
        else:
            _add_group_row(blocks, plain_row(line, group_layout, _GROUP), line, awaiting_row)
            awaiting_row = False
    if awaiting_row:
        raise content[-1].error(f"a group row after the group header '{_GROUP.header} ...'")
    return blocks


def _csv_volume_keys(fields: list[str], header: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The volume columns if `fields` (an empty first field, then values) is a volume record."""
    if not fields or fields[0] != "":
        return None
    layouts = (header,) if header is not None else _VOLUME.layouts
    return next((keys for keys in layouts if len(keys) == len(fields) - 1), None)


def _csv_blocks(content: list[Line]) -> list[_Block]:
    blocks: list[_Block] = []
    group_keys: tuple[str, ...] | None = None
    volume_keys: tuple[str, ...] | None = None
    header_seen = False
    for line in content:
        fields = csv_fields(line)
        if (keys := csv_header(fields, _GROUP)) is not None:
            group_keys, header_seen = keys, True
        elif fields[:1] == [""] and (keys := csv_header(fields[1:], _VOLUME)) is not None:
            volume_keys = keys
        elif (keys := _csv_volume_keys(fields, volume_keys)) is not None:
            if not blocks:
                raise line.error("a group row before the first volume row")
            blocks[-1].volumes.append((csv_row(fields[1:], keys, line, _VOLUME), line))
        else:
            values = csv_row(fields, group_keys, line, _GROUP)
            renamed = bool(blocks) and bool(values["Name"]) and values["Name"] != blocks[-1].name
            new = header_seen or not blocks or bool(blocks[-1].volumes) or renamed
            _add_group_row(blocks, values, line, new_block=new)
            header_seen = False
    return blocks


def _merge(blocks: list[_Block]) -> list[Group]:
    """One Group per name, in order of first appearance; SLD blocks of one name are combined."""
    rows: dict[str, list[GroupTarget]] = {}
    volumes: dict[str, list[VolumePair]] = {}
    for block in blocks:
        target = block.rows[0].target if len(block.rows) == 1 else None
        rows.setdefault(block.name, []).extend(block.rows)
        pairs = [_volume(values, line, target) for values, line in block.volumes]
        volumes.setdefault(block.name, []).extend(pairs)
    return [_group(name, rows[name], volumes[name]) for name in rows]


def _group(name: str, rows: list[GroupTarget], volumes: list[VolumePair]) -> Group:
    first = rows[0]
    return Group(
        name,
        first.target,
        first.status,
        first.role,
        first.mode,
        first.options,
        first.last_sync,
        first.period,
        volumes,
        rows,
        first.id,
        first.extra,
    )


# --------------------------------------------------------------------------- showrcopy


def parse_showrcopy(text: str) -> RemoteCopyReport:
    """Parse ``showrcopy`` output (any of its forms: full, targets, links, groups; plain, -d or CSV)."""
    lines = numbered_lines(text)
    content = [line for line in lines if not line.blank]
    if not content:
        raise CliParseError(f"showrcopy output (a section title or {NOT_CONFIGURED!r}), got empty text")
    if len(content) == 1 and content[0].text.strip() == NOT_CONFIGURED:
        return RemoteCopyReport(configured=False, status=None)
    sections = _sections(lines)
    status = _system_status(sections[SYSTEM_TITLE]) if SYSTEM_TITLE in sections else None
    empty: list[Line] = []
    targets = [_target(v, ln) for v, ln in _table(sections.get(TARGETS_TITLE, empty), _TARGET)]
    links = [_link(v, ln) for v, ln in _table(sections.get(LINKS_TITLE, empty), _LINK)]
    groups = _merge(_group_blocks(sections.get(GROUPS_TITLE, empty)))
    return RemoteCopyReport(True, status, targets, links, groups)


# --------------------------------------------------------------------------- showsys


def parse_showsys(text: str) -> SystemInfo:
    """Parse ``showsys`` output: optional ``---(MiB)---`` banner, dashed header, one system row."""
    content = [line for line in numbered_lines(text) if not line.blank]
    if content and re.fullmatch(r"-+\(\w+\)-+", content[0].text.strip()):
        content = content[1:]
    if not content:
        raise CliParseError(f"showsys output (header '{_SHOWSYS.header} ...'), got empty text")
    columns = header_columns(content[0], _SHOWSYS)
    if columns is None:
        raise content[0].error(f"the showsys header '{_SHOWSYS.header} ...'")
    if len(content) != 2:
        raise content[-1].error("exactly one system row after the showsys header")
    row = content[1]
    values = plain_row(row, columns, _SHOWSYS)
    fields = {"nodes": "Nodes", "master": "Master", "total_cap_mib": "TotalCap", "alloc_cap_mib": "AllocCap",
              "free_cap_mib": "FreeCap", "failed_cap_mib": "FailedCap"}  # fmt: skip
    numbers = {name: _optional_int(values, key, row) for name, key in fields.items()}
    ident = parse_int(values["ID"], row, "ID", hex_ok=True)
    return SystemInfo(ident, values["Name"], values["Model"], values["Serial"], **numbers,
                      extra=_extra(values, _SHOWSYS))  # fmt: skip


@dataclass(frozen=True)
class SystemDetail:
    """``showsys -d``: every ``Key : value`` line, by section title, and the identity read from them."""

    name: str
    serial: str | None
    id: int | None
    model: str | None
    sections: dict[str, dict[str, str]]


_DETAIL_TITLE = re.compile(r"-+([^:]*?)-+")
_DETAIL_ITEM = re.compile(r"\s*([^:\s](?:[^:]*[^:\s])?)\s*:(.*)")


def parse_showsys_detail(text: str) -> SystemDetail:
    """Parse ``showsys -d``: ``---Title---`` lines (dashes both sides), each followed by ``Key : value`` lines.

    Values may be left- or right-aligned, keys indented (capacity breakdowns); a key seen
    twice in one section keeps its first value.  ``System Name`` is required.
    """
    sections: dict[str, dict[str, str]] = {}
    where: dict[str, Line] = {}
    current: dict[str, str] | None = None
    lines = [line for line in numbered_lines(text) if not line.blank]
    if not lines:
        raise CliParseError("showsys -d output ('----General----' and 'Key : value' lines), got empty text")
    for line in lines:
        title = _DETAIL_TITLE.fullmatch(line.text.strip())
        item = _DETAIL_ITEM.fullmatch(line.text)
        if title and title[1].strip():
            current = sections.setdefault(title[1].strip(), {})
        elif item and current is not None:
            current.setdefault(item[1], item[2].strip())
            where.setdefault(item[1], line)
        else:
            what = "a 'Key : value' line" if current is not None else "a '----Title----' line"
            raise line.error(f"{what} of showsys -d")
    items = {key: value for section in sections.values() for key, value in section.items()}
    if not items.get("System Name"):
        raise lines[-1].error("a 'System Name : <name>' line in showsys -d (the output ends here)")
    ident = None
    if items.get("System ID"):
        ident = parse_int(items["System ID"], where["System ID"], "System ID", hex_ok=True)
    model = items.get("System Model") or items.get("Model") or None
    return SystemDetail(items["System Name"], items.get("Serial Number") or None, ident, model, sections)
