"""The simulated CLI's layouts against the real Alletra MP 10.5 captures (fixtures/captures).

Two kinds of proof: the renderer reproduces every captured `showrcopy` and `showsys`
byte for byte from the values in the capture (so its column rules are the real
ones), and the simulator's own output of each captured command has the same
sections, the same headers, the same alignment rules and the same field shapes,
in 3.1 and 10.5 mode. The captures are read here by a small reader of their own
(header positions, whitespace), not by the harness's parser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.mock.cli_format import (
    GroupInfo,
    LinkInfo,
    RemoteCopyView,
    SystemRow,
    TargetInfo,
    VolumeInfo,
    render_showrcopy,
    render_showsys,
    render_showsys_detail,
)
from harness.mock.cli_sim import ArrayCLI
from harness.mock.clock import ManualClock
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import World

CAPTURES = Path(__file__).resolve().parent.parent / "fixtures" / "captures" / "alletra-mp-10.5"
TITLES = ("Target Information", "Link Information", "Group Information")
NUMERIC = {"ID", "Version", "Socks", "Buffsz", "SysID", "RemoteID"}


def capture(name: str) -> tuple[str, str]:
    """(command, body): the `# <command>` first line, and exactly what the array sent."""
    first, body = (CAPTURES / name).read_text().split("\n", 1)
    return first.removeprefix("# "), body


def showrcopy_captures() -> list[str]:
    return sorted(p.name for p in CAPTURES.glob("*showrcopy*.txt"))


# --------------------------------------------------------------------------- a reader of the captures


def sections(text: str) -> dict[str, list[list[str]]]:
    """Section title -> its tables, each the lines between blank lines (a group block is one table)."""
    found: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for line in text.split("\n"):
        if line in TITLES:
            current = found.setdefault(line, [[]])
        elif current is not None and line == "":
            if current[-1]:
                current.append([])
        elif current is not None:
            current[-1].append(line)
    return {title: [t for t in tables if t] for title, tables in found.items()}


def start_of(header: str, title: str) -> int:
    match = re.search(rf"(?<!\S){re.escape(title)}(?!\S)", header)
    assert match, f"{title} not in {header!r}"
    return match.start()


def cells(header: str, row: str, positioned: tuple[str, ...] = ()) -> list[str]:
    """Cells of `row`: before the first `positioned` column split on spaces, those columns by header position."""
    starts = [start_of(header, title) for title in positioned]
    if not starts:
        return row.split()
    ends = [*starts[1:], None]
    return row[: starts[0]].split() + [row[a:b].strip() for a, b in zip(starts, ends, strict=True)]


def target_info(header: str, row: str) -> TargetInfo:
    c = cells(header, row)
    if "SysName" not in header:
        return TargetInfo(c[0], int(c[1]), c[2], c[3], c[4], c[5])
    return TargetInfo(c[0], int(c[1]), c[2], c[3], c[4], c[6], version=num(c[5]), socks=num(c[7]),
                      buffsz=num(c[8]), sys_name=c[9], sys_id=num(c[10]), remote_name=c[11],
                      remote_id=num(c[12]))  # fmt: skip


def num(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def link_info(header: str, row: str) -> LinkInfo:
    c = cells(header, row)
    if "IPC" not in header:
        return LinkInfo(*c)
    return LinkInfo(c[0], c[4], c[5], c[6], c[7], name=c[1], ipc=c[2], id=int(c[3]))


def volume_info(header: str, row: str) -> VolumeInfo:
    if "LocalSet" not in header:
        c = cells(header, row, ("LastSyncTime",))
        return VolumeInfo(c[0], int(c[1]), c[2], int(c[3]), c[4], c[5])
    c = cells(header, row, ("LastSyncTime", "LocalSet", "RemoteSet"))
    return VolumeInfo(c[0], int(c[1]), c[2], int(c[3]), c[4], c[10], resync_ss=c[5], sync_ss=c[6], vv_iter=c[7],
                      r_iter=c[8], s_iter=c[9], local_set=c[11], remote_set=c[12])  # fmt: skip


def group_info(block: list[str]) -> GroupInfo:
    header, row, vheader, *vrows = block
    volumes = [volume_info(vheader, v) for v in vrows]
    if "LocalUserCpg" not in header:
        c = cells(header, row, ("Options",))
        return GroupInfo(*c[:6], volumes=volumes)
    c = cells(header, row, ("LocalUserCpg", "RmUserCpg", "Options"))
    return GroupInfo(c[0], c[2], c[3], c[4], c[5], c[8], volumes, id=int(c[1]), local_user_cpg=c[6],
                     remote_user_cpg=c[7])  # fmt: skip


def view_of(text: str) -> tuple[RemoteCopyView, bool]:
    """The values a showrcopy text shows, and whether it is the -d form."""
    found = sections(text)
    status = text.split("\n")[2].removeprefix("Status: ")
    targets = links = groups = None
    if "Target Information" in found:
        [[header, *rows]] = found["Target Information"]
        targets = [target_info(header, r) for r in rows]
    if "Link Information" in found:
        [[header, *rows]] = found["Link Information"]
        links = [link_info(header, r) for r in rows]
    if "Group Information" in found:
        groups = [group_info(block) for block in found["Group Information"]]
    detailed = any("LocalUserCpg" in t[0] or "SysName" in t[0] or "IPC" in t[0] for ts in found.values() for t in ts)
    return RemoteCopyView(status=status, targets=targets, links=links, groups=groups), detailed


# --------------------------------------------------------------------------- layout rules, shapes


def tables(text: str) -> list[list[str]]:
    """Every table of a showrcopy text as lines: header + rows (a group block gives two tables)."""
    out = []
    for title, blocks in sections(text).items():
        for block in blocks:
            if title == "Group Information":
                out += [block[:2], block[2:]]
            else:
                out.append(block)
    return out


def layout_problems(table: list[str]) -> list[str]:
    """Breaks of the captured alignment rules: equal padded widths, text columns starting at their header,
    numeric columns ending just before the next text column."""
    header, *rows = table
    problems = [f"{row!r} is not as wide as its header" for row in rows if len(row) != len(header)]
    titles = [(m.start(), m.group()) for m in re.finditer(r"\S+", header)]
    for index, (start, title) in enumerate(titles):
        following = titles[index + 1][0] if index + 1 < len(titles) else None
        for row in rows:
            if title not in NUMERIC and start and row[start - 1] != " ":
                problems.append(f"{title}: a cell of {row!r} starts before its column")
            next_is_text = following is not None and titles[index + 1][1] not in NUMERIC
            if title in NUMERIC and next_is_text and (row[following - 2] == " " or row[following - 1] != " "):
                problems.append(f"{title}: {row!r} is not right-aligned to its column")
    return problems


SHAPES = {
    "ID": r"\d+",
    "Type": r"IP|FC",
    "Version": r"\d+",
    "Policy": r"(no_)?mirror_config",
    "Socks": r"\d+|-",
    "Buffsz": r"\d+|-",
    "SysID": r"\d+",
    "RemoteID": r"\d+",
    "IPC": r"RC[sr]\d{3,}",
    "Node": r"\d+:\d+:\d+",
    "Mode": r"Sync|Periodic",
    "Role": r"(Primary|Secondary)(-Rev)?",
    "SyncStatus": r"New|Syncing( \(\d+%\))?|Synced|NotSynced|Stale|Stopped",
    "Resync_ss": r"none|\S+",
    "Sync_ss": r"none|\S+",
    "VV_iter": r"NA|\d+/\d+",
    "R_iter": r"NA|\d+",
    "S_iter": r"NA|\d+",
    "LastSyncTime": r"NA|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+",
    "Options": r"(Last-Sync \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+, )?(Period \d+[smhd],?)?[a-z_,]*|-",
}


def shape_problems(text: str) -> list[str]:
    view, _ = view_of(text)
    values: list[tuple[str, object]] = []
    for t in view.targets or []:
        values += [("ID", t.id), ("Type", t.type), ("Policy", t.policy), ("Options", t.options)]
        if t.sys_name != "-":
            values += [("Version", t.version), ("Socks", t.socks), ("Buffsz", t.buffsz), ("SysID", t.sys_id),
                       ("RemoteID", t.remote_id)]  # fmt: skip
    for k in view.links or []:
        values += [("Node", k.node)] + ([("IPC", k.ipc), ("ID", k.id)] if k.ipc != "-" else [])
    for g in view.groups or []:
        values += [("Mode", g.mode), ("Role", g.role), ("Options", g.options)]
        for v in g.volumes:
            values += [("SyncStatus", v.sync_status), ("LastSyncTime", v.last_sync_time),
                       ("Resync_ss", v.resync_ss), ("Sync_ss", v.sync_ss), ("VV_iter", v.vv_iter),
                       ("R_iter", v.r_iter), ("S_iter", v.s_iter)]  # fmt: skip
    return [f"{name} {value!r}" for name, value in values if not re.fullmatch(SHAPES[name], str(value))]


# --------------------------------------------------------------------------- the renderer vs the captures


@pytest.mark.parametrize("name", showrcopy_captures())
def test_every_showrcopy_capture_rerenders_byte_for_byte(name: str) -> None:
    _, body = capture(name)
    view, detailed = view_of(body)
    assert render_showrcopy(view, detailed=detailed) == body


def test_showsys_capture_rerenders_byte_for_byte() -> None:
    _, body = capture("D22U27_showsys.txt")
    words = body.split("\n")[2].split()
    ident, name, *model, serial, nodes, master, total, alloc, free, failed = words
    row = SystemRow(ident, name, " ".join(model), serial, *map(int, (nodes, master, total, alloc, free, failed)))
    assert render_showsys(row) == body


def test_showsys_detail_layout_of_os_10_5() -> None:
    """The first blocks of a real OS 10.5 `showsys -d` (E18U31, public SaiHPE/Greenlake-Automation
    tests/fixtures/rc_pair): values right-aligned two spaces past the longest, titles centred in dashes."""
    general = [("System Name", "AlletraMP_E18U31"), ("System Model", "HPE Alletra Storage MP"),
               ("Serial Number", "CZ2D3209YV"), ("System ID", "0x2DEF2"),
               ("Minimum PW character classes", 1)]  # fmt: skip
    raw = [("Total Capacity", 29278208), ("Allocated Capacity", 5718406), ("Free Capacity", 20854394),
           ("Failed Capacity", 0)]  # fmt: skip
    usable = [("Total Capacity", 21131040), ("Allocated Capacity", 4956250), ("Free Capacity", 16174790)]
    text = render_showsys_detail(
        [("General", general), ("Raw System Capacity (MiB)", raw), ("Usable System Capacity (MiB)", usable)]
    )
    assert text.split("\n")[:21] == [
        "------------------------General------------------------",
        "System Name                  :         AlletraMP_E18U31",
        "System Model                 :   HPE Alletra Storage MP",
        "Serial Number                :               CZ2D3209YV",
        "System ID                    :                  0x2DEF2",
        "Minimum PW character classes :                        1",
        "",
        "---Raw System Capacity (MiB)---",
        "Total Capacity     :   29278208",
        "Allocated Capacity :    5718406",
        "Free Capacity      :   20854394",
        "Failed Capacity    :          0",
        "",
        "-Usable System Capacity (MiB)--",
        "Total Capacity     :   21131040",
        "Allocated Capacity :    4956250",
        "Free Capacity      :   16174790",
        "",
        "--------System Descriptors--------",
        "Location    : ",
        "Owner       : ",
    ]
    assert text.endswith("Comment     : \n\n")


@pytest.mark.parametrize("name", showrcopy_captures())
def test_the_layout_rules_and_shapes_hold_on_every_capture(name: str) -> None:
    """The checks applied to the simulator below, proven against the real arrays first."""
    _, body = capture(name)
    assert [p for t in tables(body) for p in layout_problems(t)] == []
    assert shape_problems(body) == []


# --------------------------------------------------------------------------- the simulator vs the captures

SAME_COMMAND = {  # a simulated command -> the capture of that command
    "showrcopy": "E18U31_showrcopy.txt",
    "showrcopy -d": "E18U31_showrcopy_d.txt",
    "showrcopy groups": "E18U31_showrcopy_groups.txt",
    "showrcopy -d groups": "E18U31_showrcopy_d_groups_periodic.txt",
    "showrcopy targets": "E18U31_showrcopy_targets.txt",
    "showrcopy links": "third_array_showrcopy_links_down.txt",
}


def simulated(behaviour: str, clock: ManualClock, **spec: object) -> World:
    return build_world(WorldSpec(behaviour=behaviour, **spec), clock=clock)  # type: ignore[arg-type]


def output(world: World, array: str, command: str) -> str:
    result = ArrayCLI(world, array).run(command)
    assert (result.status, result.stderr) == (0, ""), result
    return result.stdout


def headers(text: str) -> list[list[str]]:
    """The distinct header lines of a showrcopy text, as column titles, in order."""
    seen: list[list[str]] = []
    for table in tables(text):
        titles = table[0].split()
        if titles not in seen:
            seen.append(titles)
    return seen


@pytest.mark.parametrize("behaviour", ["3.1", "10.5"])
@pytest.mark.parametrize("command", SAME_COMMAND)
def test_simulated_forms_have_the_captured_layout(behaviour: str, command: str, clock: ManualClock) -> None:
    _, real = capture(SAME_COMMAND[command])
    world = simulated(behaviour, clock)
    clock.advance(world.durations.period / 2)  # periodic groups stamped, between syncs
    for array in world.arrays:
        text = output(world, array, command)
        assert text.split("\n")[:4] == real.split("\n")[:4]
        assert list(sections(text)) == list(sections(real))
        assert headers(text) == [h for h in headers(real) if h in headers(text)] and headers(text)
        assert {tuple(h) for h in headers(text)} <= {tuple(h) for h in headers(real)}
        assert [p for t in tables(text) for p in layout_problems(t)] == []
        assert shape_problems(text) == []
        assert text.endswith("\n\n") == real.endswith("\n\n")


def test_simulated_detail_headers_are_the_captured_ones(clock: ManualClock) -> None:
    """Every table header of the real `showrcopy -d` appears, word for word, in the simulator's."""
    _, real = capture("E18U31_showrcopy_d.txt")
    text = output(simulated("10.5", clock), "primary", "showrcopy -d")
    assert headers(text) == headers(real)


@pytest.mark.parametrize("behaviour", ["3.1", "10.5"])
def test_detail_targets_name_the_peer_behind_each_target_truthfully(behaviour: str, clock: ManualClock) -> None:
    for topology in ("pair", "sld"):
        world = simulated(behaviour, clock, topology=topology, target_names="rc_{own_id}_to_{peer}")
        by_name = {a.system_name: a for a in world.arrays.values()}
        listed = {key: view_of(output(world, key, "showrcopy -d targets"))[0].targets or [] for key in world.arrays}
        for key, targets in listed.items():
            assert len(targets) == len(world.targets(key)) >= 1
            for t in targets:
                peer = by_name[t.sys_name]
                assert t.sys_id == peer.system_id
                assert t.name == f"rc_{world.arrays[key].system_id}_to_{peer.system_name}"
                [back] = [b for b in listed[peer.key] if b.sys_name == world.arrays[key].system_name]
                assert (t.remote_name, t.remote_id) == (back.name, back.id)


def test_the_group_rows_name_the_target_as_the_target_section_does(clock: ManualClock) -> None:
    world = simulated("10.5", clock, topology="sld")
    for key in world.arrays:
        view, _ = view_of(output(world, key, "showrcopy -d"))
        names = {t.name for t in view.targets or []}
        assert {g.target for g in view.groups or []} <= names
        assert {k.target for k in view.links or []} - {"receive"} == names


def test_periodic_detail_rows_count_iterations(clock: ManualClock) -> None:
    world = simulated("10.5", clock, period=10.0)
    creator = world.arrays["primary"].system_id
    iterations = []
    for _ in range(3):
        view, _ = view_of(output(world, "secondary", f"showrcopy -d groups rcg_periodic_1.r{creator}"))
        [group] = view.groups or []
        iterations.append({v.vv_iter for v in group.volumes})
        clock.advance(10.0 + world.durations.periodic_sync + 0.01)
    assert iterations == [{f"{creator}/1"}, {f"{creator}/2"}, {f"{creator}/3"}]


# --------------------------------------------------------------------------- showsys, showversion


def detail_lines(text: str) -> dict[str, list[str]]:
    """showsys -d: section title -> its `Key : value` lines."""
    out: dict[str, list[str]] = {}
    for block in text.strip("\n").split("\n\n"):
        title, *items = block.split("\n")
        out[title.strip("-")] = items
    return out


@pytest.mark.parametrize(
    ("behaviour", "titles", "system_id"),
    [
        ("3.1", ["General", "System Capacity (MiB)", "Remote_Syslog_Status", "System Descriptors"], "{id}"),
        (
            "10.5",
            [
                "General",
                "Raw System Capacity (MiB)",
                "Usable System Capacity (MiB)",
                "Remote_Syslog_Status",
                "System Descriptors",
            ],
            "0x{id:X}",
        ),
    ],
)
def test_showsys_and_showsys_detail_agree(
    behaviour: str, titles: list[str], system_id: str, clock: ManualClock
) -> None:
    world = simulated(behaviour, clock)
    for key, arr in world.arrays.items():
        plain = output(world, key, "showsys").split("\n")
        detail = output(world, key, "showsys -d")
        blocks = detail_lines(detail)
        assert list(blocks) == titles and detail.endswith("\n\n")
        values = {line.split(" : ")[0].strip(): line.split(" : ")[1].strip() for b in blocks.values() for line in b}
        ident = system_id.format(id=arr.system_id)
        assert plain[2].split()[0] == values["System ID"] == ident  # one system id text in both
        assert (values["System Name"], values["Serial Number"], values["System Model"]) == (
            arr.system_name, arr.serial, arr.model,
        )  # fmt: skip
        total, alloc, free, failed = plain[2].split()[-4:]
        capacity = dict(line.split(" : ") for line in blocks[titles[1]])
        assert [v.strip() for v in capacity.values()] == [total, alloc, free, failed]
        for title, items in blocks.items():
            if title == "System Descriptors":
                continue
            widths = {len(line) for line in items}
            colons = {line.index(" : ") for line in items}
            assert len(widths) == len(colons) == 1, items  # keys padded, values right-aligned
            header = next(line for line in detail.split("\n") if line.strip("-") == title)
            left, right = len(header) - len(header.lstrip("-")), len(header) - len(header.rstrip("-"))
            assert len(header) == widths.pop() and right - left in (0, 1)
            value_width = len(items[0]) - colons.pop() - 3
            assert value_width == 2 + max(len(line.split(" : ")[1].strip()) for line in items)


def test_showversion_names_the_release_as_each_generation_prints_it(clock: ManualClock) -> None:
    old = output(simulated("3.1", clock), "primary", "showversion").split("\n")
    assert old[:3] == ["Release version 3.1.1 (MU1)", "Patches:  None", ""]
    new = output(simulated("10.5", clock), "primary", "showversion").split("\n")
    assert new[:2] == ["Release version 10.5.0", "Release Type: Standard Support Release"]
    assert output(simulated("10.5", clock), "primary", "showversion -s") == "10.5.0\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", new[0].removeprefix("Release version "))
