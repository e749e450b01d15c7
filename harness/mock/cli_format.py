"""Render 3PAR CLI output (showrcopy, showsys, showversion) as plain text or CSV.

Pure functions over plain data: no world, no I/O. The plain-text layout follows
the real captures in fixtures/captures/alletra-mp-10.5 byte for byte (plain and
``-d``; tests/test_cli_captures.py re-renders every one of them):

* sections (Target, Link, Group Information) are separated by a blank line; a
  form with one table section (``showrcopy targets``) ends with its last row,
  every group block (group row and its volumes) is followed by a blank line;
* cells are joined by one space; every line is padded to its full width, so the
  last column carries trailing spaces (the header too, when values are wider);
* a column is as wide as its widest value, its header, and its minimum width
  (group Name 12, Target 16, Status 8, Role 10, Mode 8; volume LocalVV/RemoteVV
  12, ID 4, SyncStatus 13; ``-d``: group ID 4, RmUserCpg 10, volume Sync_ss 8,
  LastSyncTime 13);
* text columns are left-aligned; numeric columns right-aligned, with their
  header left-aligned in the column's minimum width and that block right-aligned
  (the volume ``ID`` header reads ``ID  `` in a 4-wide column, `` ID  `` in a
  5-wide one, as in the captures);
* ``showsys`` headers are centred in dashes (``------Name------``) and numeric
  ones right-aligned, under a ``---(MiB)---`` banner over the capacity columns;
* ``showsys -d`` prints sections, each a title centred in dashes as wide as its
  lines, then ``Key : value`` lines with keys padded to the longest and values
  right-aligned two columns past the longest value, a blank line after each
  section; System Descriptors come last, left-aligned (free text).

CSV (``-csvtable`` / ``setclienv csvtable 1``): section titles and the
``Status:`` line stay plain; each table row is one record with the same columns;
the Options field is always quoted; volume records start with an empty field.
``-nohdtot`` drops the header records (plain or CSV).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "NOT_CONFIGURED",
    "Column",
    "GroupInfo",
    "LinkInfo",
    "RemoteCopyView",
    "SystemRow",
    "TargetInfo",
    "VolumeInfo",
    "csv_record",
    "format_period",
    "format_table",
    "format_timestamp",
    "group_options",
    "render_showrcopy",
    "render_showsys",
    "render_showsys_detail",
    "render_showversion",
]

NOT_CONFIGURED = "Remote Copy is not configured on this system."


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False
    min_width: int = 0
    quoted: bool = False  # always quoted in CSV (Options)


def _widths(columns: Sequence[Column], rows: Sequence[Sequence[object]], dashed: bool) -> list[int]:
    widths = []
    for index, col in enumerate(columns):
        title = len(col.title) + (2 if dashed and not col.numeric else 0)
        values = [len(str(row[index])) for row in rows]
        widths.append(max(col.min_width, title, *values))
    return widths


def _header_cell(col: Column, width: int, dashed: bool) -> str:
    if col.numeric:
        return col.title.ljust(col.min_width).rjust(width)
    if dashed:
        dashes = width - len(col.title)
        left = dashes // 2
        return "-" * left + col.title + "-" * (dashes - left)
    return col.title.ljust(width)


def _cell(col: Column, value: object, width: int) -> str:
    text = str(value)
    return text.rjust(width) if col.numeric else text.ljust(width)


def format_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    *,
    indent: str = "",
    header: bool = True,
    dashed: bool = False,
) -> list[str]:
    """Lines of a plain-text table (header first unless `header` is False), padded as the array pads."""
    widths = _widths(columns, rows, dashed)
    lines = []
    if header:
        lines.append(indent + " ".join(_header_cell(c, w, dashed) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        lines.append(indent + " ".join(_cell(c, v, w) for c, v, w in zip(columns, row, widths, strict=True)))
    return lines


def csv_record(values: Sequence[object], quoted: Sequence[bool] | None = None) -> str:
    """One CSV record; fields flagged in `quoted` are always quoted, others only when they must be."""
    fields = []
    for index, value in enumerate(values):
        text = str(value)
        force = bool(quoted and quoted[index])
        if force or any(ch in text for ch in ',"\n\r'):
            text = '"' + text.replace('"', '""') + '"'
        fields.append(text)
    return ",".join(fields)


def _csv_table(
    columns: Sequence[Column], rows: Sequence[Sequence[object]], *, header: bool, lead: bool = False
) -> list[str]:
    prefix: list[object] = [""] if lead else []
    flags = [False] * len(prefix) + [c.quoted for c in columns]
    lines = []
    if header:
        lines.append(csv_record([*prefix, *(c.title for c in columns)]))
    lines.extend(csv_record([*prefix, *row], flags) for row in rows)
    return lines


# --------------------------------------------------------------------------- values


def format_timestamp(moment: datetime, timezone: str) -> str:
    """``2026-10-09 23:32:20 IST``: the array's local time and its zone abbreviation."""
    try:
        local = moment.astimezone(ZoneInfo(timezone))
        abbrev = local.tzname() or timezone
    except (ZoneInfoNotFoundError, ValueError):
        local, abbrev = moment, timezone
    return local.strftime("%Y-%m-%d %H:%M:%S ") + abbrev


def format_period(seconds: float) -> str:
    """A sync period as the CLI prints it: 5m, 1h, 90s, 1d."""
    whole = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def group_options(flags: Sequence[str], *, last_sync: str | None = None, period: str | None = None) -> str:
    """The group Options cell: ``Last-Sync <ts>, Period 5m,flag,flag`` (periodic primary) etc."""
    head = []
    if last_sync is not None:
        head.append(f"Last-Sync {last_sync}")
    if period is not None:
        head.append(f"Period {period}")
    parts = [", ".join(head)] if head else []
    return ",".join([*parts, *flags])


# --------------------------------------------------------------------------- showrcopy


@dataclass(frozen=True)
class TargetInfo:
    name: str
    id: int
    type: str
    status: str
    options: str = "-"
    policy: str = "mirror_config"
    # -d only: the remote-copy protocol version, sockets and buffer size, the peer behind the target
    # (its system name and decimal id) and the peer's own target back (its name and id)
    version: object = "-"
    socks: object = "-"
    buffsz: object = "-"
    sys_name: str = "-"
    sys_id: object = "-"
    remote_name: str = "-"
    remote_id: object = "-"


@dataclass(frozen=True)
class LinkInfo:
    target: str
    node: str
    address: str
    status: str
    options: str = "-"
    # -d only: the link's name, its IPC channel and its id
    name: str = "-"
    ipc: str = "-"
    id: object = "-"


@dataclass(frozen=True)
class VolumeInfo:
    local_vv: str
    local_id: int
    remote_vv: str
    remote_id: int
    sync_status: str
    last_sync_time: str
    # -d only
    resync_ss: str = "none"
    sync_ss: str = "none"
    vv_iter: str = "NA"
    r_iter: str = "NA"
    s_iter: str = "NA"
    local_set: str = "NA"
    remote_set: str = "NA"


@dataclass(frozen=True)
class GroupInfo:
    """One group block: a group's row toward one target, and its volume pairs."""

    name: str
    target: str
    status: str
    role: str
    mode: str
    options: str
    volumes: list[VolumeInfo] = field(default_factory=list)
    # -d only
    id: object = "-"
    local_user_cpg: str = ""
    remote_user_cpg: str = ""


@dataclass(frozen=True)
class RemoteCopyView:
    """What one showrcopy invocation prints; a section left at None is not printed."""

    configured: bool = True
    status: str = "Started, Normal"
    targets: list[TargetInfo] | None = None
    links: list[LinkInfo] | None = None
    groups: list[GroupInfo] | None = None


TARGET_COLUMNS = (
    Column("Name"),
    Column("ID", numeric=True, min_width=2),
    Column("Type"),
    Column("Status"),
    Column("Options", quoted=True),
    Column("Policy"),
)
TARGET_DETAIL_COLUMNS = (
    *TARGET_COLUMNS[:5],
    Column("Version", numeric=True),
    Column("Policy"),
    Column("Socks", numeric=True),
    Column("Buffsz", numeric=True),
    Column("SysName"),
    Column("SysID", numeric=True),
    Column("RemoteName"),
    Column("RemoteID", numeric=True),
)
LINK_COLUMNS = (
    Column("Target"),
    Column("Node"),
    Column("Address"),
    Column("Status"),
    Column("Options", quoted=True),
)
LINK_DETAIL_COLUMNS = (
    Column("Target"),
    Column("Name"),
    Column("IPC"),
    Column("ID", numeric=True),
    *LINK_COLUMNS[1:],
)
GROUP_COLUMNS = (
    Column("Name", min_width=12),
    Column("Target", min_width=16),
    Column("Status", min_width=8),
    Column("Role", min_width=10),
    Column("Mode", min_width=8),
    Column("Options", quoted=True),
)
GROUP_DETAIL_COLUMNS = (
    GROUP_COLUMNS[0],
    Column("ID", numeric=True, min_width=4),
    *GROUP_COLUMNS[1:5],
    Column("LocalUserCpg"),
    Column("RmUserCpg", min_width=10),
    GROUP_COLUMNS[5],
)
VOLUME_COLUMNS = (
    Column("LocalVV", min_width=12),
    Column("ID", numeric=True, min_width=4),
    Column("RemoteVV", min_width=12),
    Column("ID", numeric=True, min_width=4),
    Column("SyncStatus", min_width=13),
    Column("LastSyncTime"),
)
VOLUME_DETAIL_COLUMNS = (
    *VOLUME_COLUMNS[:5],
    Column("Resync_ss"),
    Column("Sync_ss", min_width=8),
    Column("VV_iter"),
    Column("R_iter"),
    Column("S_iter"),
    Column("LastSyncTime", min_width=13),
    Column("LocalSet"),
    Column("RemoteSet"),
)


def _target_row(t: TargetInfo, detailed: bool) -> list[object]:
    if detailed:
        return [t.name, t.id, t.type, t.status, t.options, t.version, t.policy, t.socks, t.buffsz,
                t.sys_name, t.sys_id, t.remote_name, t.remote_id]  # fmt: skip
    return [t.name, t.id, t.type, t.status, t.options, t.policy]


def _link_row(k: LinkInfo, detailed: bool) -> list[object]:
    if detailed:
        return [k.target, k.name, k.ipc, k.id, k.node, k.address, k.status, k.options]
    return [k.target, k.node, k.address, k.status, k.options]


def _group_row(g: GroupInfo, detailed: bool) -> list[object]:
    if detailed:
        return [g.name, g.id, g.target, g.status, g.role, g.mode, g.local_user_cpg, g.remote_user_cpg, g.options]
    return [g.name, g.target, g.status, g.role, g.mode, g.options]


def _volume_row(v: VolumeInfo, detailed: bool) -> list[object]:
    head = [v.local_vv, v.local_id, v.remote_vv, v.remote_id, v.sync_status]
    if detailed:
        return [*head, v.resync_ss, v.sync_ss, v.vv_iter, v.r_iter, v.s_iter, v.last_sync_time,
                v.local_set, v.remote_set]  # fmt: skip
    return [*head, v.last_sync_time]


def _table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    *,
    csv: bool,
    header: bool,
    indent: str = "",
) -> list[str]:
    if csv:
        return _csv_table(columns, rows, header=header, lead=bool(indent))
    return format_table(columns, rows, indent=indent, header=header)


def _group_blocks(groups: Sequence[GroupInfo], *, csv: bool, headers: bool, detailed: bool) -> list[str]:
    """Each group's row and its volumes, every block followed by a blank line."""
    group_columns = GROUP_DETAIL_COLUMNS if detailed else GROUP_COLUMNS
    volume_columns = VOLUME_DETAIL_COLUMNS if detailed else VOLUME_COLUMNS
    lines: list[str] = []
    for group in groups:
        lines += _table(group_columns, [_group_row(group, detailed)], csv=csv, header=headers)
        vols = [_volume_row(v, detailed) for v in group.volumes]
        if vols:
            lines += _table(volume_columns, vols, csv=csv, header=headers, indent="  ")
        lines.append("")
    return lines


def render_showrcopy(view: RemoteCopyView, *, csv: bool = False, headers: bool = True, detailed: bool = False) -> str:
    """The full text of a showrcopy reply (ends with a newline); `detailed` is ``-d``."""
    if not view.configured:
        return NOT_CONFIGURED + "\n"

    def table(title: str, columns: Sequence[Column], rows: list[list[object]]) -> list[str]:
        return [title, "", *(_table(columns, rows, csv=csv, header=headers) if rows else [])]

    sections: list[list[str]] = []
    if view.targets is not None:
        target_columns = TARGET_DETAIL_COLUMNS if detailed else TARGET_COLUMNS
        sections.append(table("Target Information", target_columns, [_target_row(t, detailed) for t in view.targets]))
    if view.links is not None:
        link_columns = LINK_DETAIL_COLUMNS if detailed else LINK_COLUMNS
        sections.append(table("Link Information", link_columns, [_link_row(k, detailed) for k in view.links]))
    if view.groups is not None:
        blocks = _group_blocks(view.groups, csv=csv, headers=headers, detailed=detailed)
        sections.append(["Group Information", "", *blocks])
    lines = ["", "Remote Copy System Information", f"Status: {view.status}"]
    for section in sections:
        lines += ["", *section]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- showsys / showversion


@dataclass(frozen=True)
class SystemRow:
    id: str  # as printed: decimal, or hexadecimal (0x2DEF6) on OS 10.5
    name: str
    model: str
    serial: str
    nodes: int
    master: int
    total_cap: int
    alloc_cap: int
    free_cap: int
    failed_cap: int


SHOWSYS_COLUMNS = (
    Column("ID", numeric=True),
    Column("Name"),
    Column("Model"),
    Column("Serial"),
    Column("Nodes", numeric=True),
    Column("Master", numeric=True),
    Column("TotalCap", numeric=True),
    Column("AllocCap", numeric=True),
    Column("FreeCap", numeric=True),
    Column("FailedCap", numeric=True),
)
_CAPACITY_COLUMNS = 4


def render_showsys(row: SystemRow, *, csv: bool = False, headers: bool = True) -> str:
    """``showsys``: a ``(MiB)`` banner over the capacity columns, a dashed header, one row."""
    values: list[object] = [
        row.id,
        row.name,
        row.model,
        row.serial,
        row.nodes,
        row.master,
        row.total_cap,
        row.alloc_cap,
        row.free_cap,
        row.failed_cap,
    ]
    if csv:
        return "\n".join(_csv_table(SHOWSYS_COLUMNS, [values], header=headers)) + "\n"
    table = format_table(SHOWSYS_COLUMNS, [values], header=headers, dashed=True)
    if not headers:
        return "\n".join(table) + "\n"
    widths = _widths(SHOWSYS_COLUMNS, [values], dashed=True)
    lead = sum(w + 1 for w in widths[:-_CAPACITY_COLUMNS])
    span = sum(widths[-_CAPACITY_COLUMNS:]) + _CAPACITY_COLUMNS - 1
    dashes = span - len("(MiB)")
    banner = " " * lead + "-" * (dashes // 2) + "(MiB)" + "-" * (dashes - dashes // 2)
    return "\n".join([banner, *table]) + "\n"


Section = tuple[str, Sequence[tuple[str, object]]]
DESCRIPTORS = ("Location", "Owner", "Contact", "Comment")


def _detail_section(title: str, items: Sequence[tuple[str, object]]) -> list[str]:
    """A dashed, centred title over ``Key : value`` lines, keys padded, values right-aligned."""
    key_width = max(len(key) for key, _ in items)
    value_width = max(len(str(value)) for _, value in items) + 2
    lines = [f"{key.ljust(key_width)} : {str(value).rjust(value_width)}" for key, value in items]
    return [_centred(title, max(key_width + 3 + value_width, len(title))), *lines]


def _centred(title: str, width: int) -> str:
    dashes = width - len(title)
    return "-" * (dashes // 2) + title + "-" * (dashes - dashes // 2)


def render_showsys_detail(sections: Sequence[Section], descriptors: dict[str, str] | None = None) -> str:
    """``showsys -d``: sections (General, capacity blocks, ...) then System Descriptors, each followed by a
    blank line. Descriptor values are left-aligned after ``Key         : `` (they are free text)."""
    lines: list[str] = []
    for title, items in sections:
        lines += [*_detail_section(title, items), ""]
    lines.append(_centred("System Descriptors", 34))
    lines += [f"{key:<11} : {(descriptors or {}).get(key, '')}" for key in DESCRIPTORS]
    return "\n".join([*lines, ""]) + "\n"


VERSION_COMPONENTS = ("CLI Server", "CLI Client", "System Manager", "Kernel", "TPD Kernel Code")


def render_showversion(release: str, *, release_type: str | None = None, patches: str = "None") -> str:
    """``showversion``: release (and release type, OS 10.5), patches, then a Component Name / Version table."""
    columns = (Column("Component Name", min_width=32), Column("Version"))
    rows = [[name, release] for name in VERSION_COMPONENTS]
    table = [line.rstrip() for line in format_table(columns, rows)]
    head = [f"Release version {release}", *([f"Release Type: {release_type}"] if release_type else [])]
    return "\n".join([*head, f"Patches:  {patches}", "", *table]) + "\n"
