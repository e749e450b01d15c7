"""Tests for harness.showrcopy: real Alletra MP 10.5 captures, synthetic layouts, CSV, errors."""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.mock.cli_sim import ArrayCLI
from harness.mock.clock import ManualClock
from harness.mock.topology import WorldSpec, build_world
from harness.showrcopy import (
    NOT_CONFIGURED,
    CliParseError,
    Group,
    GroupTarget,
    LinkRow,
    RemoteCopyReport,
    SystemInfo,
    Target,
    VolumePair,
    base_group_name,
    parse_showrcopy,
    parse_showsys,
    parse_showsys_detail,
)

CAPTURES = Path(__file__).resolve().parent.parent / "fixtures" / "captures" / "alletra-mp-10.5"
TGT = "AlletraMP_E18U31"


def capture(name: str) -> str:
    return (CAPTURES / name).read_text()


def vols(rows: list[tuple]) -> list[tuple]:
    return [(v.local_vv, v.local_id, v.remote_vv, v.remote_id, v.raw_sync_status, v.last_sync_time) for v in rows]


def summary(group: Group) -> tuple:
    return (group.name, group.target, group.status, group.role, group.mode, group.options)


# --------------------------------------------------------------------------- real captures

SYNC_FLAGS = ["auto_recover", "auto_synchronize"]
PERIODIC_FLAGS = ["auto_recover", "over_per_alert", "auto_synchronize"]


def test_d22u27_full_showrcopy_stopped_and_periodic() -> None:
    report = parse_showrcopy(capture("D22U27_showrcopy_stopped_and_periodic.txt"))
    assert report.configured and report.status == "Started, Normal"
    assert report.targets == [Target(TGT, 5, "IP", "ready", [], "mirror_config")]
    assert report.links == [
        LinkRow(TGT, "0:4:3", "10.54.154.192", "Up", []),
        LinkRow(TGT, "1:4:3", "10.54.154.193", "Up", []),
        LinkRow("receive", "0:4:3", "10.54.122.92", "Up", []),
        LinkRow("receive", "1:4:3", "10.54.122.93", "Up", []),
    ]
    assert [link.inbound for link in report.links] == [False, False, True, True]
    assert [summary(g) for g in report.groups] == [
        ("300gb", TGT, "Stopped", "Primary", "Sync", SYNC_FLAGS),
        ("APP_Test", TGT, "Stopped", "Primary", "Sync", [*SYNC_FLAGS, "active_active"]),
        ("Intern_Automation", TGT, "Stopped", "Primary", "Sync", []),
        ("Intern_Automation2", TGT, "Stopped", "Primary", "Sync", []),
        ("Test-RCG", TGT, "Stopped", "Primary", "Sync", []),
        ("Test-RCG2", TGT, "Stopped", "Primary", "Sync", []),
        ("zz_rc_test_rcg", TGT, "Started", "Primary", "Periodic", PERIODIC_FLAGS),
        ("zz_rc_vvs_rcg", TGT, "Started", "Primary", "Periodic", PERIODIC_FLAGS),
    ]
    ts = "2026-10-09 23:32:2{} IST".format
    assert vols(report.group("300gb").volumes) == [
        ("300gb", 269, "300gb", 1521, "Stopped", ts(0)),
        ("Test", 9342, "Test", 1522, "Stopped", ts(0)),
    ]
    assert vols(report.group("APP_Test").volumes) == [("APP.test.vv", 4754, "APP.test.vv", 531, "Stopped", ts(1))]
    assert vols(report.group("Intern_Automation").volumes) == [
        (f"Automation{i}", 6198 + i, f"Automation{i}", 686 + i, "Stopped", ts(1)) for i in range(1, 5)
    ]
    assert [v.local_id for v in report.group("Intern_Automation2").volumes] == [8288, 8290, 8291, 8292]
    assert [v.remote_id for v in report.group("Test-RCG").volumes] == [554, 555]
    assert vols(report.group("Test-RCG2").volumes)[1] == ("TestRC2_VV2", 6858, "TestRC2_VV2", 1001, "Stopped", ts(2))
    for group in report.groups[:6]:
        assert (group.last_sync, group.period) == (None, None)
        assert all(v.sync_status == "Stopped" and v.sync_percent is None for v in group.volumes)
    periodic = report.group("zz_rc_test_rcg")
    assert (periodic.last_sync, periodic.period) == ("2026-10-09 23:39:24 IST", "5m")
    assert periodic.volumes == [
        VolumePair(
            "zz_rc_test_v01", 12389, "zz_rc_test_v01", 1779, "Synced", None, "2026-10-09 23:39:24 IST", "Synced", TGT
        )
    ]
    assert report.group("zz_rc_vvs_rcg").last_sync == "2026-10-09 23:39:23 IST"
    assert vols(report.group("zz_rc_vvs_rcg").volumes) == [
        ("zz_rc_vol01", 12373, "zz_rc_vol01", 1778, "Synced", "2026-10-09 23:39:23 IST")
    ]
    assert periodic.targets == [
        GroupTarget(TGT, "Started", "Primary", "Periodic", PERIODIC_FLAGS, "2026-10-09 23:39:24 IST", "5m")
    ]


def test_e18u31_full_showrcopy_secondary_side() -> None:
    report = parse_showrcopy(capture("E18U31_showrcopy.txt"))
    assert report.configured and report.status == "Started, Normal"
    assert report.targets == [Target(TGT, 3, "IP", "ready", [], "mirror_config")]
    assert [(lk.target, lk.node, lk.address) for lk in report.links] == [
        (TGT, "0:4:3", "10.54.122.92"),
        (TGT, "1:4:3", "10.54.122.93"),
        ("receive", "0:4:3", "10.54.154.192"),
        ("receive", "1:4:3", "10.54.154.193"),
    ]
    assert [(g.name, g.status, g.role, g.mode) for g in report.groups] == [
        ("300gb.r188150", "Started", "Secondary", "Sync"),
        ("APP_Test.r188150", "Started", "Primary", "Sync"),
        ("Intern_Automation.r188150", "Started", "Secondary", "Sync"),
        ("Intern_Automation2.r188150", "Started", "Secondary", "Sync"),
        ("Test-RCG.r188150", "Started", "Secondary", "Sync"),
        ("Test-RCG2.r188150", "Started", "Secondary", "Sync"),
    ]
    assert vols(report.group("300gb.r188150").volumes) == [
        ("300gb", 1521, "300gb", 269, "Synced", None),
        ("Test", 1522, "Test", 9342, "Synced", None),
    ]
    assert vols(report.group("APP_Test.r188150").volumes) == [("APP.test.vv", 531, "APP.test.vv", 4754, "Synced", None)]
    assert [v.local_id for v in report.group("Intern_Automation.r188150").volumes] == [687, 688, 689, 690]
    assert [v.remote_id for v in report.group("Test-RCG.r188150").volumes] == [4838, 4839]
    assert report.group("APP_Test.r188150").options == [*SYNC_FLAGS, "active_active"]
    assert all(v.sync_status == "Synced" and v.last_sync_time is None for g in report.groups for v in g.volumes)
    with pytest.raises(KeyError, match=r"300gb\.r188150"):
        report.group("300gb")


def test_e18u31_showrcopy_groups_periodic_secondary() -> None:
    report = parse_showrcopy(capture("E18U31_showrcopy_groups_periodic_secondary.txt"))
    assert report.status == "Started, Normal" and report.targets == [] and report.links == []
    assert [summary(g) for g in report.groups] == [
        ("zz_rc_test_rcg.r188150", TGT, "Started", "Secondary", "Periodic", PERIODIC_FLAGS),
        ("zz_rc_vvs_rcg.r188150", TGT, "Started", "Secondary", "Periodic", PERIODIC_FLAGS),
    ]
    assert all((g.last_sync, g.period) == (None, "5m") for g in report.groups)
    assert vols(report.groups[0].volumes) == [
        ("zz_rc_test_v01", 1802, "zz_rc_test_v01", 12449, "Synced", "2026-10-10 15:42:48 IST")
    ]
    assert vols(report.groups[1].volumes) == [
        ("zz_rc_vol01", 1801, "zz_rc_vol01", 12447, "Synced", "2026-10-10 15:42:48 IST")
    ]


def test_showsys_capture_and_peer_group_suffix() -> None:
    info = parse_showsys(capture("D22U27_showsys.txt"))
    assert info == SystemInfo(
        0x2DEF6, "AlletraMP_D22U27", "HPE Alletra Storage MP", "CZ2D320BT1", 2, 1, 29278208, 920848, 24509168, 0
    )
    peer = parse_showrcopy(capture("E18U31_showrcopy.txt"))
    assert {base_group_name(g.name) for g in peer.groups[:1]} == {("300gb", info.id)}


def test_base_group_name() -> None:
    assert base_group_name("Test-RCG2.r188150") == ("Test-RCG2", 188150)
    assert base_group_name("zz_rc_test_rcg") == ("zz_rc_test_rcg", None)
    assert base_group_name("a.r1.r22") == ("a.r1", 22)
    assert base_group_name(".r5") == (".r5", None)
    assert base_group_name("grp.rx") == ("grp.rx", None)


# --------------------------------------------------------------------------- real captures: -d and other forms

LINK = "AlletraMP_E18U31_{}_4_3".format
CPG = {"LocalUserCpg": "SSD_r6", "RmUserCpg": "SSD_r6"}
NO_CPG = {"LocalUserCpg": "", "RmUserCpg": ""}


def d_extra(local_set: str, remote_set: str, vv_iter: str = "NA") -> dict[str, str]:
    """The -d volume columns the data model keeps by header word."""
    return {"Resync_ss": "none", "Sync_ss": "none", "VV_iter": vv_iter, "R_iter": "NA", "S_iter": "NA",
            "LocalSet": local_set, "RemoteSet": remote_set}  # fmt: skip


def test_e18u31_showrcopy_d_targets_show_the_peer_behind_the_target() -> None:
    report = parse_showrcopy(capture("E18U31_showrcopy_d.txt"))
    assert report.configured and report.status == "Started, Normal"
    # the target on E18U31 is named AlletraMP_E18U31 by whoever created it; it leads to D22U27 (id 188150),
    # where this pair's target is named AlletraMP_E18U31 too, with id 5
    assert report.targets == [
        Target(TGT, 3, "IP", "ready", [], "mirror_config", 57, "AlletraMP_D22U27", 188150, TGT, 5,
               {"Socks": "20", "Buffsz": "2097152"})
    ]  # fmt: skip
    assert report.links == [
        LinkRow(TGT, "0:4:3", "10.54.122.92", "Up", [], LINK(0), {"IPC": "RCs015", "ID": "15"}),
        LinkRow(TGT, "1:4:3", "10.54.122.93", "Up", [], LINK(1), {"IPC": "RCs116", "ID": "16"}),
        LinkRow("receive", "0:4:3", "10.54.154.192", "Up", [], "rcv_ip_043", {"IPC": "RCr017", "ID": "17"}),
        LinkRow("receive", "1:4:3", "10.54.154.193", "Up", [], "rcv_ip_143", {"IPC": "RCr118", "ID": "18"}),
    ]


def test_e18u31_showrcopy_d_groups_and_volumes() -> None:
    report = parse_showrcopy(capture("E18U31_showrcopy_d.txt"))
    assert [(g.name, g.id, g.target, g.status, g.role, g.mode, g.options, g.extra) for g in report.groups] == [
        ("300gb.r188150", 22, TGT, "Started", "Secondary", "Sync", SYNC_FLAGS, CPG),
        ("APP_Test.r188150", 13, TGT, "Started", "Secondary", "Sync", [*SYNC_FLAGS, "active_active"], CPG),
        ("Intern_Automation.r188150", 17, TGT, "Started", "Secondary", "Sync", [], CPG),
        ("Intern_Automation2.r188150", 21, TGT, "Started", "Secondary", "Sync", [], CPG),
        ("Test-RCG.r188150", 14, TGT, "Started", "Secondary", "Sync", [], NO_CPG),
        ("Test-RCG2.r188150", 18, TGT, "Started", "Secondary", "Sync", [], NO_CPG),
        ("zz_rc_test_rcg.r188150", 26, TGT, "Started", "Secondary", "Sync", SYNC_FLAGS, CPG),
        ("zz_rc_vvs_rcg.r188150", 25, TGT, "Started", "Secondary", "Sync", SYNC_FLAGS, CPG),
    ]
    assert all((g.last_sync, g.period, g.targets[0].id) == (None, None, g.id) for g in report.groups)
    assert vols(report.group("300gb.r188150").volumes) == [
        ("300gb", 1521, "300gb", 269, "Synced", None),
        ("Test", 1522, "Test", 9342, "Synced", None),
    ]
    assert [v.extra for v in report.group("300gb.r188150").volumes] == [d_extra("300gb", "300gb")] * 2
    assert report.group("APP_Test.r188150").volumes[0].extra == d_extra("APP_Test", "APP_Test")
    assert [v.local_id for v in report.group("Intern_Automation2.r188150").volumes] == [1313, 1314, 1315, 1316]
    assert [v.remote_id for v in report.group("Intern_Automation2.r188150").volumes] == [8288, 8290, 8291, 8292]
    assert report.group("Test-RCG2.r188150").volumes[1].extra == d_extra("NA", "NA")
    (test_v01,) = report.group("zz_rc_test_rcg.r188150").volumes
    assert vols([test_v01]) == [("zz_rc_test_v01", 1773, "zz_rc_test_v01", 12370, "Synced", None)]
    assert test_v01.extra == d_extra("zz_rc_test_rc", "zz_rc_test")
    (vol01,) = report.group("zz_rc_vvs_rcg.r188150").volumes
    assert vols([vol01]) == [("zz_rc_vol01", 1772, "zz_rc_vol01", 12367, "Synced", None)]
    assert vol01.extra == d_extra("zz_rc_vvs_rc", "zz_rc_vvs")
    assert all(v.sync_status == "Synced" and v.target == TGT for g in report.groups for v in g.volumes)


def test_showrcopy_groups_and_d_agree_on_everything_but_the_d_columns() -> None:
    plain = parse_showrcopy(capture("E18U31_showrcopy_groups.txt"))
    detailed = parse_showrcopy(capture("E18U31_showrcopy_d.txt"))
    assert plain.targets == [] and plain.links == [] and plain.status == "Started, Normal"
    assert [g.role for g in plain.groups] == ["Secondary"] * 8
    assert [vols(g.volumes) for g in plain.groups] == [vols(g.volumes) for g in detailed.groups]
    assert [summary(g) for g in plain.groups] == [summary(g) for g in detailed.groups]
    assert all(g.id is None and g.extra == {} for g in plain.groups)


def test_e18u31_showrcopy_d_groups_periodic_secondary() -> None:
    report = parse_showrcopy(capture("E18U31_showrcopy_d_groups_periodic.txt"))
    assert report.status == "Started, Normal" and report.targets == [] and report.links == []
    assert [(*summary(g), g.id, g.last_sync, g.period, g.extra) for g in report.groups] == [
        ("zz_rc_test_rcg.r188150", TGT, "Started", "Secondary", "Periodic", PERIODIC_FLAGS, 30, None, "5m", CPG),
        ("zz_rc_vvs_rcg.r188150", TGT, "Started", "Secondary", "Periodic", PERIODIC_FLAGS, 29, None, "5m", CPG),
    ]
    stamp = "2026-10-10 15:42:48 IST"
    (test_v01,) = report.groups[0].volumes
    assert vols([test_v01]) == [("zz_rc_test_v01", 1802, "zz_rc_test_v01", 12449, "Synced", stamp)]
    assert test_v01.extra == d_extra("zz_rc_test_rc", "zz_rc_test", vv_iter="188150/2")
    (vol01,) = report.groups[1].volumes
    assert vols([vol01]) == [("zz_rc_vol01", 1801, "zz_rc_vol01", 12447, "Synced", stamp)]
    assert vol01.extra["VV_iter"] == "188150/2" and vol01.extra["LocalSet"] == "zz_rc_vvs_rc"


def test_e18u31_full_showrcopy_with_periodic_groups() -> None:
    report = parse_showrcopy(capture("E18U31_showrcopy_periodic.txt"))
    assert report.targets == [Target(TGT, 3, "IP", "ready", [], "mirror_config")]
    assert [(k.target, k.node, k.address, k.status) for k in report.links] == [
        (TGT, "0:4:3", "10.54.122.92", "Up"),
        (TGT, "1:4:3", "10.54.122.93", "Up"),
        ("receive", "0:4:3", "10.54.154.192", "Up"),
        ("receive", "1:4:3", "10.54.154.193", "Up"),
    ]
    assert report.groups == parse_showrcopy(capture("E18U31_showrcopy_groups_periodic_secondary.txt")).groups
    assert [(g.name, g.role, g.mode, g.period) for g in report.groups] == [
        ("zz_rc_test_rcg.r188150", "Secondary", "Periodic", "5m"),
        ("zz_rc_vvs_rcg.r188150", "Secondary", "Periodic", "5m"),
    ]


def test_e18u31_showrcopy_targets() -> None:
    report = parse_showrcopy(capture("E18U31_showrcopy_targets.txt"))
    assert (report.status, report.links, report.groups) == ("Started, Normal", [], [])
    assert report.targets == [Target(TGT, 3, "IP", "ready", [], "mirror_config")]


def test_third_array_failed_target_and_down_links() -> None:
    failed = parse_showrcopy(capture("third_array_showrcopy_targets_failed.txt"))
    assert failed.targets == [Target("MPB10K-E24U21-LZ", 1, "IP", "failed", [], "mirror_config")]
    links = parse_showrcopy(capture("third_array_showrcopy_links_down.txt"))
    assert links.targets == [] and links.groups == [] and links.status == "Started, Normal"
    nodes = ["0:4:3", "0:4:4", "1:4:3", "1:4:4"]
    assert links.links == [
        *(LinkRow("MPB10K-E24U21-LZ", n, f"10.222.1.{i}", "Down", []) for i, n in enumerate(nodes, start=1)),
        *(LinkRow("receive", n, f"10.222.1.{i}", "Up", []) for i, n in enumerate(nodes, start=5)),
    ]


CAPTURE_TESTS = {
    "D22U27_showrcopy_stopped_and_periodic.txt": test_d22u27_full_showrcopy_stopped_and_periodic,
    "D22U27_showsys.txt": test_showsys_capture_and_peer_group_suffix,
    "E18U31_showrcopy.txt": test_e18u31_full_showrcopy_secondary_side,
    "E18U31_showrcopy_d.txt": test_e18u31_showrcopy_d_groups_and_volumes,
    "E18U31_showrcopy_d_groups_periodic.txt": test_e18u31_showrcopy_d_groups_periodic_secondary,
    "E18U31_showrcopy_groups.txt": test_showrcopy_groups_and_d_agree_on_everything_but_the_d_columns,
    "E18U31_showrcopy_groups_periodic_secondary.txt": test_e18u31_showrcopy_groups_periodic_secondary,
    "E18U31_showrcopy_periodic.txt": test_e18u31_full_showrcopy_with_periodic_groups,
    "E18U31_showrcopy_targets.txt": test_e18u31_showrcopy_targets,
    "third_array_showrcopy_links_down.txt": test_third_array_failed_target_and_down_links,
    "third_array_showrcopy_targets_failed.txt": test_third_array_failed_target_and_down_links,
}


def test_every_capture_has_its_hand_read_test() -> None:
    assert sorted(p.name for p in CAPTURES.glob("*.txt")) == sorted(CAPTURE_TESTS)
    readme = (CAPTURES.parent / "README.md").read_text()
    assert all(name in readme for name in CAPTURE_TESTS)


def insert_column(text: str, before: str, title: str, value: str) -> str:
    """Add a column, aligned, in front of the header word `before` of every table that has it."""
    out, at = [], None
    for line in text.splitlines():
        words = line.split()
        if before in words and ("Name" in words[:1] or "LocalVV" in words[:1] or "Target" in words[:1]):
            at = line.index(f" {before}") + 1 if not line.startswith(before) else 0
            line = line[:at] + title.ljust(8) + line[at:]
        elif at is not None and line.strip() and line.split()[0] not in ("Name", "LocalVV"):
            line = line[:at] + value.ljust(8) + line[at:]
        else:
            at = None
        out.append(line)
    return "\n".join(out) + "\n"


def without_extra(report: RemoteCopyReport, key: str) -> RemoteCopyReport:
    def strip(obj: Any) -> Any:
        return replace(obj, extra={k: v for k, v in obj.extra.items() if k != key})

    groups = [replace(strip(g), volumes=[strip(v) for v in g.volumes], targets=[strip(t) for t in g.targets])
              for g in report.groups]  # fmt: skip
    return replace(report, targets=[strip(t) for t in report.targets], links=[strip(k) for k in report.links],
                   groups=groups)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "before"),
    [
        ("E18U31_showrcopy_d.txt", "SyncStatus"),
        ("E18U31_showrcopy_d.txt", "Status"),
        ("D22U27_showrcopy_stopped_and_periodic.txt", "Role"),
        ("D22U27_showrcopy_stopped_and_periodic.txt", "LastSyncTime"),
        ("E18U31_showrcopy_d_groups_periodic.txt", "Mode"),
        ("third_array_showrcopy_links_down.txt", "Address"),
    ],
)
def test_unknown_columns_anywhere_are_kept_and_shift_nothing(name: str, before: str) -> None:
    text = capture(name)
    widened = insert_column(text, before, "NewCol", "v-1")
    assert widened.count("NewCol") >= 1 and widened != text
    report = parse_showrcopy(widened)
    assert without_extra(report, "NewCol") == parse_showrcopy(text)
    rows = [*report.targets, *report.links, *report.groups, *(v for g in report.groups for v in g.volumes)]
    assert rows and any(row.extra.get("NewCol") == "v-1" for row in rows)


def test_unknown_trailing_column_after_options() -> None:
    text = capture("D22U27_showrcopy_stopped_and_periodic.txt")
    lines = text.splitlines()
    width = max(len(line) for line in lines) + 1
    def cell(line: str) -> str:
        return "Trailer" if line.startswith("Name ") else "t1" if line.startswith(("zz_", "300gb")) else ""

    widened = "\n".join(line.ljust(width) + cell(line) for line in lines)
    report = parse_showrcopy(widened)
    assert without_extra(report, "Trailer") == parse_showrcopy(text)
    assert report.group("zz_rc_test_rcg").extra == {"Trailer": "t1"}
    assert report.group("zz_rc_test_rcg").last_sync == "2026-10-09 23:39:24 IST"
    assert report.group("APP_Test").extra == {"Trailer": ""}


def test_errors_in_d_output_name_the_section_and_line() -> None:
    text = capture("E18U31_showrcopy_d.txt").replace("  300gb        1521 300gb ", "  300gb        15x1 300gb ")
    with pytest.raises(CliParseError) as caught:
        parse_showrcopy(text)
    error = caught.value
    assert error.section == "Group Information" and error.lineno == 24
    assert "integer in column ID" in str(error) and "in section 'Group Information' at line 24" in str(error)
    target = capture("E18U31_showrcopy_d.txt").replace("188150 AlletraMP_E18U31   ", "18815x AlletraMP_E18U31   ")
    with pytest.raises(CliParseError, match=r"integer in column SysID.* in section 'Target Information' at line 9"):
        parse_showrcopy(target)


# --------------------------------------------------------------------------- synthetic layouts

WIDE = """\
Group Information

Name                               Target                Status   Role          Mode     Options
a_really_long_group_name_for_width a_much_wider_target_1 Started  Secondary-Rev Periodic Period 15m,auto_recover
  LocalVV                       ID      RemoteVV  ID SyncStatus    LastSyncTime
  vv_with_a_very_long_name_here 1234567 short      7 Syncing (42%) Thu Dec 14 17:50:53 PST 2006
  vv2                                 8 short2   100 New           NA          \n"""


def test_wider_values_widen_columns_and_syncing_percent() -> None:
    report = parse_showrcopy(WIDE)
    assert report.status is None and report.targets == [] and report.links == []
    (group,) = report.groups
    assert summary(group) == (
        "a_really_long_group_name_for_width",
        "a_much_wider_target_1",
        "Started",
        "Secondary-Rev",
        "Periodic",
        ["auto_recover"],
    )
    assert (group.last_sync, group.period) == (None, "15m")
    syncing, new = group.volumes
    assert syncing == VolumePair(
        "vv_with_a_very_long_name_here",
        1234567,
        "short",
        7,
        "Syncing",
        42,
        "Thu Dec 14 17:50:53 PST 2006",
        "Syncing (42%)",
        "a_much_wider_target_1",
    )
    assert (new.local_id, new.remote_id, new.sync_status, new.sync_percent, new.last_sync_time) == (
        8,
        100,
        "New",
        None,
        None,
    )


SLD_ONE_BLOCK = """\
Group Information

Name         Target           Status   Role       Mode     Options
sld_group    tgt_sync         Started  Primary    Sync     auto_recover
             tgt_periodic     Started  Primary    Periodic Last-Sync 2026-10-09 23:39:24 IST, Period 5m,auto_recover
  LocalVV      ID   RemoteVV     ID   SyncStatus    LastSyncTime
  vv1            11 vv1            21 Synced        NA
  vv1            11 vv1            31 Syncing (7%)  2026-10-09 23:39:24 IST
"""

SLD_REPEATED_NAME = SLD_ONE_BLOCK.replace("             tgt_periodic", "sld_group    tgt_periodic")

SLD_TWO_BLOCKS = """\
Group Information

Name         Target           Status   Role       Mode     Options
sld_group    tgt_sync         Started  Primary    Sync     auto_recover
  LocalVV      ID   RemoteVV     ID   SyncStatus    LastSyncTime
  vv1            11 vv1            21 Synced        NA

Name         Target           Status   Role       Mode     Options
sld_group    tgt_periodic     Started  Primary    Periodic Last-Sync 2026-10-09 23:39:24 IST, Period 5m,auto_recover
  LocalVV      ID   RemoteVV     ID   SyncStatus    LastSyncTime
  vv1            11 vv1            31 Syncing (7%)  2026-10-09 23:39:24 IST

Name         Target           Status   Role       Mode     Options
backup_grp   tgt_periodic     Backup   Secondary  Periodic -
  LocalVV      ID   RemoteVV     ID   SyncStatus    LastSyncTime
  vv1            21 vv1            31 Stopped       NA
"""

SLD_TARGETS = [
    GroupTarget("tgt_sync", "Started", "Primary", "Sync", ["auto_recover"], None, None),
    GroupTarget("tgt_periodic", "Started", "Primary", "Periodic", ["auto_recover"], "2026-10-09 23:39:24 IST", "5m"),
]


@pytest.mark.parametrize("text", [SLD_ONE_BLOCK, SLD_REPEATED_NAME], ids=["blank-name", "repeated-name"])
def test_multiple_target_rows_in_one_block(text: str) -> None:
    (group,) = parse_showrcopy(text).groups
    assert group.targets == SLD_TARGETS
    assert summary(group) == ("sld_group", "tgt_sync", "Started", "Primary", "Sync", ["auto_recover"])
    assert [(v.remote_id, v.sync_status, v.sync_percent, v.target) for v in group.volumes] == [
        (21, "Synced", None, None),
        (31, "Syncing", 7, None),
    ]


def test_multiple_blocks_with_same_name_are_one_group() -> None:
    report = parse_showrcopy(SLD_TWO_BLOCKS)
    assert [g.name for g in report.groups] == ["sld_group", "backup_grp"]
    sld = report.group("sld_group")
    assert sld.targets == SLD_TARGETS
    assert [(v.remote_id, v.target) for v in sld.volumes] == [(21, "tgt_sync"), (31, "tgt_periodic")]
    backup = report.group("backup_grp")
    assert (backup.status, backup.role, backup.options) == ("Backup", "Secondary", [])


def test_whitespace_only_lines_do_not_end_a_block() -> None:
    text = (
        SLD_TWO_BLOCKS.replace("\n\n", "\n   \n")  # padded separators between blocks
        .replace("auto_recover\n", "auto_recover\n      \n\n")  # between group row and volume header
        .replace("LastSyncTime\n", "LastSyncTime\n \t \n")  # between volume header and rows
        .replace(" NA\n", " NA\n        \n")  # after volume rows
    )
    assert text.count("\n") > SLD_TWO_BLOCKS.count("\n") + 6
    assert parse_showrcopy(text) == parse_showrcopy(SLD_TWO_BLOCKS)


def test_targets_and_links_forms_and_empty_group_section() -> None:
    targets = parse_showrcopy(
        "# showrcopy targets\n\nTarget Information\n\n"
        "Name ID Type Status  Options Policy          \n"
        "s2    2 FC   failing -       no_mirror_config\n"
        "s3   17 IP   failed  -       mirror_config   \n"
    )
    assert targets.targets == [
        Target("s2", 2, "FC", "failing", [], "no_mirror_config"),
        Target("s3", 17, "IP", "failed", [], "mirror_config"),
    ]
    assert targets.groups == [] and targets.status is None
    links = parse_showrcopy(
        "Link Information\n\nTarget  Node  Address   Status Options\ns2      0:2:1 10.0.0.1  Down   \n"
    )
    assert links.links == [LinkRow("s2", "0:2:1", "10.0.0.1", "Down", [])]
    empty = parse_showrcopy("Remote Copy System Information\nStatus: Stopped\n\nGroup Information\n\n")
    assert (empty.configured, empty.status, empty.groups) == (True, "Stopped", [])


@pytest.mark.parametrize("text", [NOT_CONFIGURED, f"# showrcopy\n{NOT_CONFIGURED}\n", f"\n{NOT_CONFIGURED}  \n\n"])
def test_not_configured(text: str) -> None:
    report = parse_showrcopy(text)
    assert (report.configured, report.status, report.targets, report.links, report.groups) == (
        False,
        None,
        [],
        [],
        [],
    )


# --------------------------------------------------------------------------- CSV form

CSV_NOHDTOT = """\
# showrcopy -csvtable -nohdtot
Remote Copy System Information
Status: Started, Normal

Target Information

AlletraMP_E18U31,5,IP,ready,-,mirror_config

Link Information

AlletraMP_E18U31,0:4:3,10.54.154.192,Up,-
receive,0:4:3,10.54.122.92,Up,-

Group Information

300gb,AlletraMP_E18U31,Stopped,Primary,Sync,"auto_recover,auto_synchronize"
,300gb,269,300gb,1521,Stopped,2026-10-09 23:32:20 IST
,Test,9342,Test,1522,Syncing (42%),NA
zz_rc_test_rcg,AlletraMP_E18U31,Started,Primary,Periodic,"Last-Sync 2026-10-09 23:39:24 IST, Period 5m,auto_recover"
,zz_rc_test_v01,12389,zz_rc_test_v01,1779,Synced,2026-10-09 23:39:24 IST
sld,tgt_sync,Started,Primary,Sync,
,tgt_periodic,Started,Primary,Periodic,"Period 5m,auto_recover"
,vv1,11,vv1,21,Synced,NA
"""

CSV_WITH_HEADERS = (
    CSV_NOHDTOT.replace("\nAlletraMP_E18U31,5", "\nName,ID,Type,Status,Options,Policy\nAlletraMP_E18U31,5")
    .replace("\nAlletraMP_E18U31,0:4:3", "\nTarget,Node,Address,Status,Options\nAlletraMP_E18U31,0:4:3")
    .replace("\n300gb,", "\nName,Target,Status,Role,Mode,Options\n300gb,")
    .replace("\nzz_rc_test_rcg,", "\n\nName,Target,Status,Role,Mode,Options\nzz_rc_test_rcg,")
    .replace("\n,300gb,", "\n,LocalVV,ID,RemoteVV,ID,SyncStatus,LastSyncTime\n,300gb,")
)


@pytest.mark.parametrize("text", [CSV_NOHDTOT, CSV_WITH_HEADERS], ids=["nohdtot", "headers"])
def test_csv_form(text: str) -> None:
    report = parse_showrcopy(text)
    assert report.status == "Started, Normal"
    assert report.targets == [Target(TGT, 5, "IP", "ready", [], "mirror_config")]
    assert report.links[1] == LinkRow("receive", "0:4:3", "10.54.122.92", "Up", [])
    assert [g.name for g in report.groups] == ["300gb", "zz_rc_test_rcg", "sld"]
    assert vols(report.group("300gb").volumes) == [
        ("300gb", 269, "300gb", 1521, "Stopped", "2026-10-09 23:32:20 IST"),
        ("Test", 9342, "Test", 1522, "Syncing (42%)", None),
    ]
    assert report.group("300gb").volumes[1].sync_percent == 42
    periodic = report.group("zz_rc_test_rcg")
    assert (periodic.options, periodic.last_sync, periodic.period) == (
        ["auto_recover"],
        "2026-10-09 23:39:24 IST",
        "5m",
    )
    sld = report.group("sld")
    assert [t.target for t in sld.targets] == ["tgt_sync", "tgt_periodic"]
    assert sld.targets[1].period == "5m" and sld.volumes[0].target is None


def test_csv_and_plain_forms_agree() -> None:
    plain = parse_showrcopy(capture("D22U27_showrcopy_stopped_and_periodic.txt"))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for group in plain.groups:
        options = ",".join(group.options)
        if group.period:
            options = f"Period {group.period},{options}"
        if group.last_sync:
            options = f"Last-Sync {group.last_sync}, {options}"
        writer.writerow([group.name, group.target, group.status, group.role, group.mode, options])
        for v in group.volumes:
            last = v.last_sync_time or "NA"
            writer.writerow(["", v.local_vv, v.local_id, v.remote_vv, v.remote_id, v.raw_sync_status, last])
    assert parse_showrcopy("Group Information\n\n" + out.getvalue()).groups == plain.groups


# --------------------------------------------------------------------------- malformed input

D22 = capture("D22U27_showrcopy_stopped_and_periodic.txt")
D22_LINES = D22.splitlines()


def lineno_of(prefix: str) -> int:
    return next(i for i, line in enumerate(D22_LINES, start=1) if line.startswith(prefix))


GROUP_HEAD = "Group Information\n\nName     Target Status  Role    Mode Options\n"
MALFORMED = {
    "random-text": ("hello world\nthis is not showrcopy\n", "section title", 1),
    "empty": ("", "empty text", None),
    "blank": ("   \n\n  \n", "empty text", None),
    "truncated-volume-row": (
        D22[: D22.index("  Automation1  6199 Automation1") + 25],
        "value in column RemoteVV ID",
        lineno_of("  Automation1"),
    ),
    "truncated-after-group-header": (
        D22[: D22.index("Test-RCG2    ")],
        "group row after the group header",
        lineno_of("Test-RCG2    ") - 1,
    ),
    "truncated-target-row": (
        "Target Information\n\nName   ID Type Status Options Policy\ns2      2 IP\n",
        "value in column Status",
        4,
    ),
    "shifted-value": (GROUP_HEAD + "g1       t1     Started Primary Sync  -\n", "aligned with its header", 4),
    "overflowing-value": (GROUP_HEAD + "g1       t1_long Started Primary Sync -\n", "aligned with its header", 4),
    "value-spanning-two-columns": (
        GROUP_HEAD + "g1       t1     Started Primary_and_more -\n",
        "'Primary_and_more' runs from column Role into Options",
        4,
    ),
    "non-integer-id": (
        GROUP_HEAD + "g1       t1     Started Primary Sync\n  LocalVV ID RemoteVV ID SyncStatus LastSyncTime\n"
        "  v1      1x v1        2 Synced     NA\n",
        "integer in column ID",
        6,
    ),
    "bad-sync-status": (
        GROUP_HEAD + "g1       t1     Started Primary Sync\n  LocalVV ID RemoteVV ID SyncStatus    LastSyncTime\n"
        "  v1       1 v1        2 Syncing (abc) NA\n",
        "SyncStatus such as",
        6,
    ),
    "volume-row-without-volume-header": (
        GROUP_HEAD + "g1       t1     Started Primary Sync\n  v1       1 v1        2 Synced     NA\n",
        "group row aligned",
        5,
    ),
    "group-row-after-volumes": (
        GROUP_HEAD + "g1       t1     Started Primary Sync\n  LocalVV ID RemoteVV ID SyncStatus LastSyncTime\n"
        "  v1       1 v1        2 Synced     NA\ng2       t1     Started Primary Sync\n",
        "volume row indented by 2",
        7,
    ),
    "continuation-row-first": (GROUP_HEAD + "         t1     Started Primary Sync\n", "group name in the first row", 4),
    "sections-out-of-order": (
        "Group Information\n\nTarget Information\n\n",
        "sections in the order",
        3,
    ),
    "no-status-line": ("Remote Copy System Information\n\nTarget Information\n", "'Status: ...' line", 1),
    "extra-system-line": ("Remote Copy System Information\nStatus: Started\nfoo\n", "only a 'Status", 3),
    "wrong-header": ("Target Information\n\nName ID Kind Status Options Policy\n", "the header 'Name ID Type", 3),
    "csv-field-count": (
        "Group Information\n\ng1,t1,Started,Primary,Sync,\n,v1,1,v1,2\n",
        "group row with 6 or 9 CSV fields",
        4,
    ),
    "csv-unterminated-quote": ('Group Information\n\ng1,t1,Started,Primary,Sync,"a,b\n', "well-formed CSV", 3),
    "not-configured-plus-junk": (f"{NOT_CONFIGURED}\nStatus: Started\n", "section title", 1),
}


@pytest.mark.parametrize(("text", "fragment", "lineno"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_showrcopy_raises_helpful_error(text: str, fragment: str, lineno: int | None) -> None:
    with pytest.raises(CliParseError) as caught:
        parse_showrcopy(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert fragment in str(error) and str(error).startswith("expected ")
    assert error.lineno == lineno
    if lineno is not None:
        line = text.splitlines()[lineno - 1]
        assert error.line == line and f"line {lineno}: {line!r}" in str(error)


SHOWSYS = capture("D22U27_showsys.txt")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty text"),
        ("nothing to see\n", "showsys header"),
        (SHOWSYS.rsplit("\n", 2)[0], "exactly one system row"),
        (SHOWSYS.replace("HPE Alletra", " HPE Alletr"), "aligned with its header"),
        (SHOWSYS.replace("29278208", "29278xx8"), "integer in column TotalCap"),
    ],
)
def test_malformed_showsys(text: str, fragment: str) -> None:
    with pytest.raises(CliParseError, match="expected") as caught:
        parse_showsys(text)
    assert fragment in str(caught.value)


def test_showsys_decimal_id_without_banner() -> None:
    text = "ID --Name--- ---Model---- -Serial- Nodes Master TotalCap AllocCap FreeCap FailedCap\n"
    text += "42 s42       InServ F200  1300042      2      0     1024      512     512         0\n"
    assert parse_showsys(text) == SystemInfo(42, "s42", "InServ F200", "1300042", 2, 0, 1024, 512, 512, 0)


# --------------------------------------------------------------------------- property tests

NAMES = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,24}", fullmatch=True)
IDS = st.integers(0, 10**7)
STAMPS = st.sampled_from(["2026-10-09 23:32:20 IST", "Thu Dec 14 17:50:53 PST 2006", "2026-10-10 15:42:48 IST"])
FLAGS = ["auto_recover", "auto_synchronize", "over_per_alert", "active_active", "path_management"]
GROUP_COLS = ["Name", "Target", "Status", "Role", "Mode", "Options"]
VOLUME_COLS = ["LocalVV", "ID", "RemoteVV", "ID", "SyncStatus", "LastSyncTime"]

@st.composite
def volume_pairs(draw: st.DrawFn, target: str) -> VolumePair:
    status = draw(st.sampled_from(["New", "Syncing", "Synced", "NotSynced", "Stale", "Stopped"]))
    percent = draw(st.integers(0, 100)) if status == "Syncing" and draw(st.booleans()) else None
    raw = status if percent is None else f"{status} ({percent}%)"
    last = draw(st.none() | STAMPS)
    return VolumePair(draw(NAMES), draw(IDS), draw(NAMES), draw(IDS), status, percent, last, raw, target)

@st.composite
def groups(draw: st.DrawFn) -> Group:
    target = draw(NAMES)
    row = GroupTarget(
        target,
        draw(st.sampled_from(["Started", "Stopped", "Backup", "Failsafe"])),
        draw(st.sampled_from(["Primary", "Secondary", "Primary-Rev", "Secondary-Rev"])),
        draw(st.sampled_from(["Sync", "Periodic", "Async"])),
        draw(st.lists(st.sampled_from(FLAGS), unique=True, max_size=4)),
        draw(st.none() | STAMPS),
        draw(st.none() | st.sampled_from(["5m", "30s", "1h"])),
    )
    volumes = draw(st.lists(volume_pairs(target), max_size=4))
    return Group(
        draw(NAMES),
        target,
        row.status,
        row.role,
        row.mode,
        row.options,
        row.last_sync,
        row.period,
        volumes,
        [row],
    )

def options_text(group: Group) -> str:
    text = f"Last-Sync {group.last_sync}, " if group.last_sync else ""
    text += f"Period {group.period}," if group.period else ""
    return (text + ",".join(group.options)).rstrip(", ")

def group_cells(group: Group) -> list[str]:
    return [group.name, group.target, group.status, group.role, group.mode, options_text(group)]

def volume_cells(v: VolumePair) -> list[str]:
    last = v.last_sync_time or "NA"
    return [v.local_vv, str(v.local_id), v.remote_vv, str(v.remote_id), v.raw_sync_status, last]

def render(cols: list[str], rows: list[list[str]], style: list[int], indent: int) -> list[str]:
    """Left-aligned text, right-aligned IDs (header word anywhere in its column), padded widths."""
    widths = [max([len(c), *(len(r[i]) for r in rows)]) + style[i] for i, c in enumerate(cols)]

    def cell(text: str, i: int, header: bool) -> str:
        if cols[i] != "ID":
            return text.ljust(widths[i])
        if not header:
            return text.rjust(widths[i])
        shift = style[-1] % (widths[i] - len(text) + 1)
        return (" " * shift + text).ljust(widths[i])

    def line(cells: list[str], header: bool) -> str:
        text = " " * indent + " ".join(cell(c, i, header) for i, c in enumerate(cells))
        return text if style[0] % 2 else text.rstrip()

    return [line(cols, True)] + [line(r, False) for r in rows]

def render_plain(groups_: list[Group], styles: list[list[int]]) -> str:
    lines = ["# showrcopy groups", "", "Remote Copy System Information", "Status: Started, Normal", ""]
    lines += ["Group Information", ""]
    for group, style in zip(groups_, styles, strict=True):
        lines += render(GROUP_COLS, [group_cells(group)], style, 0)
        volume_lines = render(VOLUME_COLS, [volume_cells(v) for v in group.volumes], style, 2)
        if style[1] % 3 == 0 and len(volume_lines) > 1:
            volume_lines.insert(1 + style[2] % (len(volume_lines) - 1), " " * style[3])
        lines += [*volume_lines, " " * style[4]]
    return "\n".join(lines) + "\n"

def render_csv(groups_: list[Group], headers: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for group in groups_:
        if headers:
            writer.writerows([GROUP_COLS])
        writer.writerow(group_cells(group))
        if headers:
            writer.writerow(["", *VOLUME_COLS])
        writer.writerows(["", *volume_cells(v)] for v in group.volumes)
    return "Remote Copy System Information\nStatus: Started, Normal\n\nGroup Information\n\n" + out.getvalue()

GROUP_LISTS = st.lists(groups(), min_size=1, max_size=4, unique_by=lambda g: g.name)
STYLES = st.lists(st.integers(0, 4), min_size=6, max_size=6)

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GROUP_LISTS, st.data())
def test_round_trip_plain_tables(groups_: list[Group], data: st.DataObject) -> None:
    styles = [data.draw(STYLES) for _ in groups_]
    report = parse_showrcopy(render_plain(groups_, styles))
    assert report.status == "Started, Normal"
    assert report.groups == groups_

@settings(max_examples=75, deadline=None)
@given(GROUP_LISTS, st.booleans())
def test_round_trip_csv(groups_: list[Group], headers: bool) -> None:
    assert parse_showrcopy(render_csv(groups_, headers)).groups == groups_

MUTATIONS = st.sampled_from(["truncate", "delete", "insert", "drop-line"])

@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CAPTURES.glob("*showrcopy*.txt"))), MUTATIONS, st.data())
def test_mutated_captures_parse_or_raise_parse_error(path: Path, how: str, data: st.DataObject) -> None:
    text = path.read_text()
    at = data.draw(st.integers(0, len(text) - 1))
    if how == "truncate":
        text = text[:at]
    elif how == "delete":
        text = text[:at] + text[at + 1 :]
    elif how == "insert":
        text = text[:at] + data.draw(st.sampled_from(list(' x,\n5"#-(%'))) + text[at:]
    else:
        lines = text.splitlines()
        del lines[data.draw(st.integers(0, len(lines) - 1))]
        text = "\n".join(lines)
    try:
        parse_showrcopy(text)
    except CliParseError as error:
        assert error.lineno is None or 1 <= error.lineno <= len(text.splitlines())

@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('Name Target ID,\n"-#:0129%()ab')), max_size=200))
def test_random_text_raises_only_parse_errors(text: str) -> None:
    for parse in (parse_showrcopy, parse_showsys):
        with contextlib.suppress(CliParseError):
            parse(text)


ALL_CAPTURES = sorted(CAPTURES.glob("*.txt"))
PARSERS = (parse_showrcopy, parse_showsys, parse_showsys_detail)


def parses_or_raises_parse_error(text: str) -> None:
    """Each parser gives its result or a CliParseError naming a line of `text`; never another exception."""
    line_count = len(text.splitlines())
    for parse in PARSERS:
        try:
            parse(text)
        except CliParseError as error:
            assert str(error).startswith("expected ")
            assert error.lineno is None or 1 <= error.lineno <= line_count


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_a_result_or_a_parse_error(text: str) -> None:
    parses_or_raises_parse_error(text)


VOCABULARY = [
    "Remote Copy System Information", "Status: Started, Normal", "Target Information", "Link Information",
    "Group Information", NOT_CONFIGURED, "Name", "ID", "Type", "Status", "Options", "Policy", "Target", "Node",
    "Address", "Role", "Mode", "LocalVV", "RemoteVV", "SyncStatus", "LastSyncTime", "SysName", "SysID", "VV_iter",
    "---Name---", "-----(MiB)-----", "System Name", ":", "---General---", "Syncing (42%)", "0x2DEF6", "188150/2",
    "NA", "-", ",", '"', "\n", "\n", " ", "  ", "      ", "#", "Started", "Primary", "Sync", "Periodic",
    "Last-Sync 2026-10-09 23:39:24 IST,", "Period 5m,", "receive", "0:4:3", "12", "abc",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=80))
def test_text_made_of_cli_words_gives_a_result_or_a_parse_error(words: list[str]) -> None:
    parses_or_raises_parse_error("".join(words))


LINE_OPS = st.lists(
    st.tuples(
        st.sampled_from(["drop", "duplicate", "swap", "indent", "dedent", "truncate", "splice", "blank"]),
        st.integers(0, 10**6),
        st.integers(0, 200),
    ),
    min_size=1,
    max_size=5,
)


def mutate_lines(lines: list[str], ops: list[tuple[str, int, int]], donor: list[str]) -> list[str]:
    lines = list(lines)
    for op, where, k in ops:
        if not lines:
            break
        i = where % len(lines)
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * (k % 5 + 1) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][k % 5 + 1 :]
        elif op == "truncate":
            lines[i] = lines[i][:k]
        elif op == "splice":
            lines[i] = lines[i][:k] + donor[where % len(donor)][k:]
        else:
            lines.insert(i, " " * (k % 4))
    return lines


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ALL_CAPTURES), st.sampled_from(ALL_CAPTURES), LINE_OPS)
def test_line_mutations_of_real_captures_give_a_result_or_a_parse_error(
    path: Path, donor: Path, ops: list[tuple[str, int, int]]
) -> None:
    lines = mutate_lines(path.read_text().splitlines(), ops, donor.read_text().splitlines())
    parses_or_raises_parse_error("\n".join(lines))


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=lambda p: p.name)
def test_dropping_or_duplicating_any_single_line_of_a_capture(path: Path) -> None:
    """Exhaustively: every capture with each line dropped, and each line duplicated."""
    lines = path.read_text().splitlines()
    for i in range(len(lines)):
        parses_or_raises_parse_error("\n".join(lines[:i] + lines[i + 1 :]))
        parses_or_raises_parse_error("\n".join(lines[: i + 1] + lines[i:]))


def test_duplicated_volume_row_is_read_twice_not_misread() -> None:
    """A duplicated data row is still a well-formed row: the parser reads it as such (it does not guess)."""
    text = capture("E18U31_showrcopy_groups.txt")
    row = "  TestRC_VV1    554 TestRC_VV1   4838 Synced        NA          "
    report = parse_showrcopy(text.replace(row, f"{row}\n{row}"))
    assert [v.local_id for v in report.group("Test-RCG.r188150").volumes] == [554, 554, 555]


# --------------------------------------------------------------------------- the simulator's layouts


SIM_FORMS = [
    "showrcopy", "showrcopy -d", "showrcopy targets", "showrcopy -d targets", "showrcopy links",
    "showrcopy -d links", "showrcopy groups", "showrcopy -d groups", "showrcopy -csvtable",
    "showrcopy -csvtable -nohdtot", "showrcopy -d -csvtable",
]  # fmt: skip


@pytest.mark.parametrize("topology", ["pair", "sld"])
@pytest.mark.parametrize("behaviour", ["3.1", "10.5"])
def test_every_form_the_simulator_prints_parses_consistently(topology: str, behaviour: str) -> None:
    world = build_world(WorldSpec(topology=topology, behaviour=behaviour), clock=ManualClock())  # type: ignore[arg-type]
    for key in world.arrays:
        cli = ArrayCLI(world, key)
        reports = {}
        for form in SIM_FORMS:
            result = cli.run(form)
            assert result.status == 0, (form, result.stderr)
            reports[form] = parse_showrcopy(result.stdout)
        full, detailed = reports["showrcopy"], reports["showrcopy -d"]
        peers = {world.arrays[k].system_name for k in world.arrays if k != key}
        assert [(t.name, t.status) for t in detailed.targets] == [(t.name, t.status) for t in full.targets]
        shown = {t.sys_name for t in detailed.targets}
        assert shown == peers or (shown == {None} and {t.name for t in full.targets} == peers)
        assert [(k.target, k.node, k.address, k.status) for k in detailed.links] == [
            (k.target, k.node, k.address, k.status) for k in full.links
        ]
        assert [summary(g) for g in detailed.groups] == [summary(g) for g in full.groups]
        assert [vols(g.volumes) for g in detailed.groups] == [vols(g.volumes) for g in full.groups]
        for form in ("showrcopy -csvtable", "showrcopy -csvtable -nohdtot"):
            assert reports[form] == full, form
        assert [summary(g) for g in reports["showrcopy -d -csvtable"].groups] == [summary(g) for g in full.groups]
        assert reports["showrcopy groups"].groups == full.groups
        assert reports["showrcopy targets"].targets == full.targets
        assert reports["showrcopy links"].links == full.links
        system = parse_showsys(cli.run("showsys").stdout)
        detail = parse_showsys_detail(cli.run("showsys -d").stdout)
        assert (detail.name, detail.serial) == (system.name, system.serial) == (
            world.arrays[key].system_name,
            world.arrays[key].serial,
        )
        assert system.id == world.arrays[key].system_id


# --------------------------------------------------------------------------- showsys -d

# No real `showsys -d` capture exists; this is the layout the 3PAR CLI reference describes (a dashed
# section title, `Key : value` lines with right-aligned values, indented capacity breakdowns), filled
# with the values D22U27's own `showsys` capture shows.
SHOWSYS_DETAIL = """\
# showsys -d
--------------------------------General---------------------------------
System Name                            :               AlletraMP_D22U27
System Model                           :         HPE Alletra Storage MP
Serial Number                          :                     CZ2D320BT1
System ID                              :                         188150
Number of Nodes                        :                              2
Master Node                            :                              1
Nodes Online                           :                            0,1
Nodes in Cluster                       :                            0,1
Location                               :
Owner                                  :

------------------------System Capacity (MiB)--------------------------
Total Capacity                         :                       29278208
  Allocated Capacity                   :                         920848
    Volumes                            :                         800000
  Free Capacity                        :                       24509168
  Failed Capacity                      :                              0
"""


def test_showsys_detail_right_aligned_values_and_capacity_blocks() -> None:
    detail = parse_showsys_detail(SHOWSYS_DETAIL)
    system = parse_showsys(capture("D22U27_showsys.txt"))
    assert (detail.name, detail.model, detail.serial) == (system.name, system.model, system.serial)
    assert detail.id == system.id == 188150
    assert list(detail.sections) == ["General", "System Capacity (MiB)"]
    assert detail.sections["General"]["Nodes Online"] == "0,1"
    assert detail.sections["General"]["Location"] == "" and detail.sections["General"]["Owner"] == ""
    capacity = detail.sections["System Capacity (MiB)"]
    assert capacity == {"Total Capacity": "29278208", "Allocated Capacity": "920848", "Volumes": "800000",
                        "Free Capacity": "24509168", "Failed Capacity": "0"}  # fmt: skip


def test_showsys_detail_hex_id() -> None:
    assert parse_showsys_detail(SHOWSYS_DETAIL.replace("   188150", "  0x2DEF6")).id == 188150


@pytest.mark.parametrize(
    ("text", "fragment", "lineno"),
    [
        ("", "showsys -d output", None),
        ("System Name : x\n", "a '----Title----' line", 1),
        (SHOWSYS_DETAIL.replace("Owner  ", "Owner\n stray text"), "a 'Key : value' line", 12),
        (SHOWSYS_DETAIL.replace("System Name ", "Systen Name "), "'System Name : <name>' line", 19),
        (SHOWSYS_DETAIL.replace("   188150", "  1881x50"), "integer in column System ID", 6),
    ],
)
def test_malformed_showsys_detail(text: str, fragment: str, lineno: int | None) -> None:
    with pytest.raises(CliParseError) as caught:
        parse_showsys_detail(text)
    assert fragment in str(caught.value) and caught.value.lineno == lineno
