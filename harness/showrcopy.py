"""Parse 3PAR / HPE Alletra ``showrcopy`` and ``showsys`` CLI output.

Plain-text tables are read from the positions of the words in each header line:

* a text column is left-aligned, so its value starts exactly where its header word starts
  and runs up to the start of the next text column (values may contain spaces there,
  e.g. ``Syncing (42%)``; the last column runs to the end of the line);
* a numeric column (``ID``, ``Nodes``, capacities ...) is right-aligned and its value may
  start before, or end after, its header word.  Numeric columns are therefore read as the
  trailing whitespace-separated words of the text column to their left (or, for leading
  numeric columns such as the ``showsys`` ID, of the start of the line).

Widths are recomputed for every header line (every group block repeats its header), lines
may carry trailing padding, and whitespace-only lines never end a block: a group block ends
only at the next group header or at the end of its section.  A leading ``# <command>``
comment line (added by whoever captured the output) is skipped.

CSV form (``showrcopy -csvtable [-nohdtot]`` or after ``setclienv csvtable 1``).  No
real capture of it is available; the parser assumes what the CLI spec states plus the
usual 3PAR ``-csvtable`` conventions:

* section titles and the ``Status: ...`` line stay plain lines;
* each table row is one CSV record with the same columns as the plain table, quoted by
  standard CSV rules (the Options field, which contains commas, is quoted);
* volume rows carry an empty first field in place of the two-space indent
  (``,vv1,12,vv1,34,Synced,NA``), so they have seven fields, group rows six;
* header records (``Name,Target,...`` and ``,LocalVV,ID,...``) are printed without
  ``-nohdtot`` and omitted with it; both are accepted;
* a new group block starts at a group header record, or at a group row whose name
  differs from the current block's or that follows volume rows; further target rows of
  the same group repeat the name or leave it empty.

Anything that does not fit raises :class:`ShowrcopyParseError`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

__all__ = [
    "NOT_CONFIGURED",
    "Group",
    "GroupTarget",
    "Link",
    "RemoteCopyReport",
    "ShowrcopyParseError",
    "SystemInfo",
    "Target",
    "VolumePair",
    "base_group_name",
    "parse_showrcopy",
    "parse_showsys",
]

NOT_CONFIGURED = "Remote Copy is not configured on this system."
SYSTEM_TITLE = "Remote Copy System Information"
TARGETS_TITLE = "Target Information"
LINKS_TITLE = "Link Information"
GROUPS_TITLE = "Group Information"
_TITLES = (SYSTEM_TITLE, TARGETS_TITLE, LINKS_TITLE, GROUPS_TITLE)


class ShowrcopyParseError(ValueError):
    """Output that does not match the expected layout: says what was expected, and where."""

    def __init__(self, expected: str, lineno: int | None = None, line: str | None = None) -> None:
        self.expected, self.lineno, self.line = expected, lineno, line
        where = "" if lineno is None else f" at line {lineno}: {line!r}"
        super().__init__(f"expected {expected}{where}")


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class Target:
    name: str
    id: int
    type: str
    status: str
    options: list[str]
    policy: str


@dataclass(frozen=True)
class Link:
    target: str
    node: str
    address: str
    status: str
    options: list[str]

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


@dataclass(frozen=True)
class RemoteCopyReport:
    configured: bool
    status: str | None
    targets: list[Target] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
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
    nodes: int
    master: int
    total_cap_mib: int
    alloc_cap_mib: int
    free_cap_mib: int
    failed_cap_mib: int


def base_group_name(name: str) -> tuple[str, int | None]:
    """``"G.r188150"`` -> ``("G", 188150)`` (the peer's copy of G); ``"G"`` -> ``("G", None)``."""
    match = re.fullmatch(r"(.+)\.r([0-9]{1,20})", name)
    return (match[1], int(match[2])) if match else (name, None)


# --------------------------------------------------------------------------- lines and specs


@dataclass(frozen=True)
class _Line:
    no: int
    text: str

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    def error(self, expected: str) -> ShowrcopyParseError:
        return ShowrcopyParseError(expected, self.no, self.text)


@dataclass(frozen=True)
class _Spec:
    """A table: its header words, which are right-aligned numbers, may hold spaces, may be empty."""

    what: str
    names: tuple[str, ...]
    numeric: frozenset[str] = frozenset({"ID"})
    spaced: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()

    @property
    def header(self) -> str:
        return " ".join(self.names)

    def is_header(self, text: str) -> bool:
        return [word.strip("-") for word in text.split()] == list(self.names)


_TARGET = _Spec("a target row", ("Name", "ID", "Type", "Status", "Options", "Policy"))
_LINK = _Spec("a link row", ("Target", "Node", "Address", "Status", "Options"), optional=frozenset({"Options"}))
_GROUP = _Spec(
    "a group row",
    ("Name", "Target", "Status", "Role", "Mode", "Options"),
    optional=frozenset({"Name", "Options"}),
)
_VOLUME = _Spec(
    "a volume row",
    ("LocalVV", "ID", "RemoteVV", "ID", "SyncStatus", "LastSyncTime"),
    spaced=frozenset({"SyncStatus"}),
)
_SHOWSYS = _Spec(
    "a showsys row",
    ("ID", "Name", "Model", "Serial", "Nodes", "Master", "TotalCap", "AllocCap", "FreeCap", "FailedCap"),
    numeric=frozenset({"ID", "Nodes", "Master", "TotalCap", "AllocCap", "FreeCap", "FailedCap"}),
    spaced=frozenset({"Model"}),
)


def _lines(text: str) -> list[_Line]:
    """Numbered lines (1-based, as in the input), without a leading ``# <command>`` line."""
    lines = [_Line(no, line) for no, line in enumerate(text.splitlines(), start=1)]
    first = next((ln for ln in lines if not ln.blank), None)
    if first is not None and first.text.startswith("#"):
        lines.remove(first)
    return lines


# --------------------------------------------------------------------------- plain-text rows


@dataclass
class _Segment:
    """A text column (``anchor``) plus the right-aligned numeric columns that follow it."""

    start: int
    anchor: int | None
    numbers: list[int] = field(default_factory=list)


def _layout(header: _Line, spec: _Spec) -> list[_Segment]:
    segments: list[_Segment] = []
    for index, word in enumerate(re.finditer(r"\S+", header.text)):
        if spec.names[index] not in spec.numeric:
            segments.append(_Segment(word.start(), index))
        elif segments:
            segments[-1].numbers.append(index)
        else:
            segments.append(_Segment(0, None, [index]))
    return segments


def _split_plain(line: _Line, segments: list[_Segment], spec: _Spec) -> list[str]:
    text = line.text.rstrip()
    if text[: segments[0].start].strip():
        raise line.error(f"{spec.what} indented by {segments[0].start} like its header '{spec.header}'")
    values = [""] * len(spec.names)
    for segment, following in zip(segments, [*segments[1:], None], strict=True):
        end = following.start if following else len(text)
        if following and end <= len(text) and not text[end - 1].isspace():
            raise line.error(f"{spec.what} whose values fit the columns of its header '{spec.header}'")
        _fill(values, segment, text[segment.start : end], line, spec)
    _check(values, line, spec)
    return values


def _fill(values: list[str], segment: _Segment, chunk: str, line: _Line, spec: _Spec) -> None:
    count = len(segment.numbers)
    parts = chunk.rstrip().rsplit(None, count) if count else [chunk]
    if len(parts) < count:
        missing = ", ".join(spec.names[i] for i in segment.numbers)
        raise line.error(f"{spec.what} with a value in each of the columns {missing}")
    head = parts[0] if len(parts) > count else ""
    misaligned = head[:1].isspace() and head.strip()
    if misaligned or (segment.anchor is None and head.strip()):
        raise line.error(f"{spec.what} aligned with its header '{spec.header}'")
    if segment.anchor is not None:
        values[segment.anchor] = head.strip()
    for index, value in zip(segment.numbers, parts[len(parts) - count :], strict=True):
        values[index] = value


def _check(values: list[str], line: _Line, spec: _Spec) -> None:
    last = len(spec.names) - 1
    for index, (name, value) in enumerate(zip(spec.names, values, strict=True)):
        if not value and name not in spec.optional:
            raise line.error(f"{spec.what} with a value in column {name} ('{spec.header}')")
        if " " in value and name not in spec.spaced and index != last:
            raise line.error(f"{spec.what} with a single word in column {name} ('{spec.header}')")


# --------------------------------------------------------------------------- CSV rows


def _csv_fields(line: _Line) -> list[str]:
    try:
        return [value.strip() for value in next(csv.reader([line.text.strip()], strict=True))]
    except csv.Error as exc:
        raise line.error(f"a well-formed CSV record ({exc})") from exc


def _is_csv(line: _Line, spec: _Spec) -> bool:
    """Whether the first line of a section is a CSV record of the section's table."""
    return "," in line.text and len(_csv_fields(line)) == len(spec.names)


def _split_csv(fields: list[str], line: _Line, spec: _Spec) -> list[str]:
    if len(fields) != len(spec.names):
        raise line.error(f"{spec.what} with {len(spec.names)} CSV fields ({','.join(spec.names)})")
    _check(fields, line, spec)
    return fields


# --------------------------------------------------------------------------- values


def _int(value: str, line: _Line, column: str) -> int:
    if re.fullmatch(r"\d{1,20}", value):
        return int(value)
    if re.fullmatch(r"0[xX][0-9a-fA-F]{1,16}", value) and column == "ID":
        return int(value, 16)
    raise line.error(f"an integer in column {column}, not {value!r},")


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


def _sync_status(text: str, line: _Line) -> tuple[str, int | None]:
    match = re.fullmatch(r"([A-Za-z]+)(?:\s*\((\d{1,3})%\))?", text)
    if not match:
        raise line.error(f"a SyncStatus such as 'Synced' or 'Syncing (42%)', not {text!r},")
    return match[1], None if match[2] is None else int(match[2])


def _target(values: list[str], line: _Line) -> Target:
    name, ident, kind, status, options, policy = values
    return Target(name, _int(ident, line, "ID"), kind, status, _flags(options), policy)


def _link(values: list[str], line: _Line) -> Link:
    target, node, address, status, options = values
    return Link(target, node, address, status, _flags(options))


def _group_target(values: list[str]) -> GroupTarget:
    _, target, status, role, mode, options = values
    return GroupTarget(target, status, role, mode, *_group_options(options))


def _volume(values: list[str], line: _Line, target: str | None) -> VolumePair:
    local, local_id, remote, remote_id, raw_status, last = values
    status, percent = _sync_status(raw_status, line)
    return VolumePair(
        local,
        _int(local_id, line, "ID"),
        remote,
        _int(remote_id, line, "ID"),
        status,
        percent,
        None if last == "NA" else last,
        raw_status,
        target,
    )


# --------------------------------------------------------------------------- sections


def _sections(lines: list[_Line]) -> dict[str, list[_Line]]:
    sections: dict[str, list[_Line]] = {}
    current: str | None = None
    for line in lines:
        title = line.text.rstrip()
        if title in _TITLES:
            if any(_TITLES.index(seen) >= _TITLES.index(title) for seen in sections):
                raise line.error(f"sections in the order {list(_TITLES)}, each at most once,")
            current, sections[title] = title, [line]
        elif current is not None:
            sections[current].append(line)
        elif not line.blank:
            raise line.error(f"a section title {list(_TITLES)} or {NOT_CONFIGURED!r}")
    return sections


def _content(section: list[_Line]) -> list[_Line]:
    """The non-blank lines of a section after its title line (``section[0]``)."""
    return [line for line in section[1:] if not line.blank]


def _system_status(section: list[_Line]) -> str:
    content = _content(section)
    if not content:
        raise section[0].error(f"a 'Status: ...' line after {SYSTEM_TITLE!r}")
    match = re.fullmatch(r"Status:\s*(\S.*)", content[0].text.strip())
    if not match or len(content) > 1:
        raise (content[1] if match else content[0]).error(f"only a 'Status: ...' line in {SYSTEM_TITLE!r}")
    return match[1]


def _table(section: list[_Line], spec: _Spec) -> list[tuple[list[str], _Line]]:
    """Rows of a Target/Link table in plain form (header first) or CSV form."""
    content = _content(section)
    if not content:
        return []
    if spec.is_header(content[0].text):
        segments = _layout(content[0], spec)
        return [(_split_plain(line, segments, spec), line) for line in content[1:]]
    if not _is_csv(content[0], spec):
        raise content[0].error(f"the header '{spec.header}' (or a CSV record of {len(spec.names)} fields)")
    rows = [(_csv_fields(line), line) for line in content]
    return [(_split_csv(fields, line, spec), line) for fields, line in rows if fields != list(spec.names)]


# --------------------------------------------------------------------------- groups


@dataclass
class _Block:
    name: str
    rows: list[GroupTarget] = field(default_factory=list)
    volumes: list[tuple[list[str], _Line]] = field(default_factory=list)


def _group_blocks(section: list[_Line]) -> list[_Block]:
    content = _content(section)
    if not content:
        return []
    if _GROUP.is_header(content[0].text):
        return _plain_blocks(content)
    if not _is_csv(content[0], _GROUP):
        raise content[0].error(f"the group header '{_GROUP.header}' (or a CSV group record)")
    return _csv_blocks(content)


def _add_group_row(blocks: list[_Block], values: list[str], line: _Line, new_block: bool) -> None:
    name = values[0]
    if new_block and not name:
        raise line.error(f"a group name in the first row of a group block ('{_GROUP.header}')")
    if new_block:
        blocks.append(_Block(name))
    elif name and name != blocks[-1].name:
        raise line.error(f"another target row of group {blocks[-1].name!r} or a new group header")
    blocks[-1].rows.append(_group_target(values))


def _plain_blocks(content: list[_Line]) -> list[_Block]:
    """Blocks end only at the next group header (blank and whitespace-only lines are dropped)."""
    blocks: list[_Block] = []
    group_layout: list[_Segment] = []
    volume_layout: list[_Segment] | None = None
    awaiting_row = False
    for line in content:
        if _GROUP.is_header(line.text):
            if awaiting_row:
                raise line.error(f"a group row after the group header '{_GROUP.header}'")
            group_layout, volume_layout, awaiting_row = _layout(line, _GROUP), None, True
        elif _VOLUME.is_header(line.text):
            if awaiting_row or volume_layout is not None:
                raise line.error("a group row before the volume header")
            volume_layout = _layout(line, _VOLUME)
        elif volume_layout is not None:
            blocks[-1].volumes.append((_split_plain(line, volume_layout, _VOLUME), line))
        else:
            _add_group_row(blocks, _split_plain(line, group_layout, _GROUP), line, awaiting_row)
            awaiting_row = False
    if awaiting_row:
        raise content[-1].error(f"a group row after the group header '{_GROUP.header}'")
    return blocks


def _csv_blocks(content: list[_Line]) -> list[_Block]:
    blocks: list[_Block] = []
    header_seen = False
    for line in content:
        fields = _csv_fields(line)
        if fields == list(_GROUP.names):
            header_seen = True
        elif fields == ["", *_VOLUME.names]:
            continue
        elif len(fields) == len(_VOLUME.names) + 1 and fields[0] == "":
            if not blocks:
                raise line.error("a group row before the first volume row")
            blocks[-1].volumes.append((_split_csv(fields[1:], line, _VOLUME), line))
        else:
            values = _split_csv(fields, line, _GROUP)
            renamed = bool(blocks) and bool(values[0]) and values[0] != blocks[-1].name
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
    )


# --------------------------------------------------------------------------- public entry points


def parse_showrcopy(text: str) -> RemoteCopyReport:
    """Parse ``showrcopy`` output (any of its forms: full, targets, links, groups; plain or CSV)."""
    lines = _lines(text)
    content = [line for line in lines if not line.blank]
    if not content:
        raise ShowrcopyParseError(f"showrcopy output (a section title or {NOT_CONFIGURED!r}), got empty text")
    if len(content) == 1 and content[0].text.strip() == NOT_CONFIGURED:
        return RemoteCopyReport(configured=False, status=None)
    sections = _sections(lines)
    status = _system_status(sections[SYSTEM_TITLE]) if SYSTEM_TITLE in sections else None
    empty: list[_Line] = []
    targets = [_target(v, ln) for v, ln in _table(sections.get(TARGETS_TITLE, empty), _TARGET)]
    links = [_link(v, ln) for v, ln in _table(sections.get(LINKS_TITLE, empty), _LINK)]
    groups = _merge(_group_blocks(sections.get(GROUPS_TITLE, empty)))
    return RemoteCopyReport(True, status, targets, links, groups)


def parse_showsys(text: str) -> SystemInfo:
    """Parse ``showsys`` output: optional ``---(MiB)---`` banner, dashed header, one system row."""
    content = [line for line in _lines(text) if not line.blank]
    if content and re.fullmatch(r"-+\(\w+\)-+", content[0].text.strip()):
        content = content[1:]
    if not content:
        raise ShowrcopyParseError(f"showsys output (header '{_SHOWSYS.header}'), got empty text")
    if not _SHOWSYS.is_header(content[0].text):
        raise content[0].error(f"the showsys header '{_SHOWSYS.header}'")
    if len(content) != 2:
        raise content[-1].error("exactly one system row after the showsys header")
    row = content[1]
    values = _split_plain(row, _layout(content[0], _SHOWSYS), _SHOWSYS)
    ident, name, model, serial, *numbers = values
    counts = [_int(value, row, column) for value, column in zip(numbers, _SHOWSYS.names[4:], strict=True)]
    return SystemInfo(_int(ident, row, "ID"), name, model, serial, *counts)
