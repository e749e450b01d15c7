"""The simulated CLI in process: DR commands, refusals, forms, CSV, deviations (layouts: test_cli_captures)."""

from __future__ import annotations

import threading

from harness.deviation_format import CliOverride, Deviation, When
from harness.mock.cli_format import (
    GroupInfo,
    RemoteCopyView,
    VolumeInfo,
    render_showrcopy,
)
from harness.mock.cli_sim import ArrayCLI, CommandResult, SessionEnv
from harness.mock.clock import ManualClock
from harness.mock.deviations import Deviations
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import Array, Operation, World
from harness.showrcopy import RemoteCopyReport, parse_showrcopy


def cli(world: World, array: str, deviations: Deviations | None = None) -> ArrayCLI:
    return ArrayCLI(world, array, deviations)


def run(world: World, array: str, line: str, **kwargs: object) -> CommandResult:
    return cli(world, array).run(line, **kwargs)  # type: ignore[arg-type]


def report(world: World, array: str, line: str = "showrcopy") -> RemoteCopyReport:
    result = run(world, array, line)
    assert result.status == 0, result.stderr
    assert result.stderr == ""
    return parse_showrcopy(result.stdout)


def state(world: World, array: str, group: str) -> tuple[str, str, list[str]]:
    g = report(world, array, f"showrcopy groups {group}").group(group)
    return g.role, g.status, [v.sync_status for v in g.volumes]


def sync_group(world: World, array: str) -> str:
    return world.groups_on(array)[0][0]


# --------------------------------------------------------------------------- layout


def test_wider_values_widen_their_columns_and_lines_are_padded() -> None:
    block = GroupInfo(
        "g",
        "t",
        "Started",
        "Secondary-Rev",
        "Sync",
        "",
        [VolumeInfo("v", 1, "a_rather_long_volume_name", 123456, "Syncing (42%)", "NA")],
    )
    lines = render_showrcopy(RemoteCopyView(groups=[block])).splitlines()
    header, row, vheader, vrow = lines[lines.index("Group Information") + 2 :][:4]
    assert header == "Name         Target           Status   Role          Mode     Options"
    assert row == "g            t                Started  Secondary-Rev Sync            "
    assert vheader == "  LocalVV      ID   RemoteVV" + " " * 18 + "  ID   SyncStatus    LastSyncTime"
    assert vrow == "  v               1 a_rather_long_volume_name 123456 Syncing (42%) NA          "


# --------------------------------------------------------------------------- simulator output


def test_simulated_showrcopy_parses_like_the_real_captures(world: World) -> None:
    primary = report(world, "primary")
    secondary = report(world, "secondary")
    creator = world.arrays["primary"].system_id
    name_a, name_b = (world.arrays[k].system_name for k in ("primary", "secondary"))
    assert primary.configured and primary.status == "Started, Normal"
    assert [(t.name, t.type, t.status, t.policy) for t in primary.targets] == [(name_b, "IP", "ready", "mirror_config")]
    assert [(k.target, k.status) for k in primary.links] == [(name_b, "Up")] * 2 + [("receive", "Up")] * 2
    # the peer's receive ports are the addresses the primary sends to
    assert {k.address for k in primary.links if k.target == name_b} == {k.address for k in secondary.links if k.inbound}
    assert [g.name for g in primary.groups] == ["rcg_sync_0", "rcg_periodic_1"]
    assert [g.name for g in secondary.groups] == [f"rcg_sync_0.r{creator}", f"rcg_periodic_1.r{creator}"]

    sync_p, periodic_p = primary.groups
    sync_s, periodic_s = secondary.groups
    assert (sync_p.target, sync_p.role, sync_p.status, sync_p.mode) == (name_b, "Primary", "Started", "Sync")
    assert (sync_s.target, sync_s.role) == (name_a, "Secondary")
    assert [v.last_sync_time for v in sync_p.volumes] == [None, None]  # NA: synchronous and in sync
    for vp, vs in zip(sync_p.volumes, sync_s.volumes, strict=True):
        assert (vp.local_vv, vp.local_id) == (vs.remote_vv, vs.remote_id)
        assert (vp.remote_vv, vp.remote_id) == (vs.local_vv, vs.local_id)
        assert vp.local_id == world.arrays["primary"].volumes[vp.local_vv].id
        assert vs.local_id == world.arrays["secondary"].volumes[vs.local_vv].id
    # periodic: Last-Sync only on the primary, Period on both, LastSyncTime stamped
    assert periodic_p.mode == "Periodic" and periodic_p.period == "5m" and periodic_p.last_sync
    assert periodic_s.period == "5m" and periodic_s.last_sync is None
    assert all(v.last_sync_time and v.last_sync_time.endswith(" UTC") for v in periodic_s.volumes)


def test_forms_targets_links_groups_and_patterns(world: World) -> None:
    targets = report(world, "primary", "showrcopy targets")
    assert targets.targets and not targets.links and not targets.groups
    links = report(world, "primary", "showrcopy links")
    assert links.links and not links.targets and not links.groups
    periodic = report(world, "primary", "showrcopy groups rcg_p*")
    assert [g.name for g in periodic.groups] == ["rcg_periodic_1"]
    both = report(world, "primary", "showrcopy groups rcg_periodic_1 rcg_sync_0")
    assert [g.name for g in both.groups] == ["rcg_sync_0", "rcg_periodic_1"]


def test_unknown_group_prints_an_empty_section_and_an_error(world: World) -> None:
    result = run(world, "primary", "showrcopy groups nosuchgroup")
    assert result.status != 0
    assert result.stderr == "Error: group matching nosuchgroup does not exist on the system\n"
    assert result.stdout.endswith("Group Information\n\n")
    assert parse_showrcopy(result.stdout).groups == []


def test_not_configured(clock: ManualClock) -> None:
    world = World(clock=clock)
    world.add_array(Array("lonely", "s3par-lonely", 91234, "1691234", "2FF70002AC016452"))
    result = run(world, "lonely", "showrcopy")
    assert (result.stdout, result.status) == ("Remote Copy is not configured on this system.\n", 0)
    assert not parse_showrcopy(result.stdout).configured


def test_sld_blocks_per_group_and_target(clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="sld", groups=1, volumes_per_group=1), clock=clock)
    names = {k: a.system_name for k, a in world.arrays.items()}
    primary = report(world, "primary").group("rcg_sld_0")
    assert [(t.target, t.mode) for t in primary.targets] == [
        (names["sync_secondary"], "Sync"),
        (names["periodic_secondary"], "Periodic"),
    ]
    for key, other in (("sync_secondary", "periodic_secondary"), ("periodic_secondary", "sync_secondary")):
        [group] = report(world, key).groups
        rows = {t.target: (t.role, t.status) for t in group.targets}
        assert rows[names["primary"]] == ("Secondary", "Started")
        assert rows[names[other]] == ("Secondary", "Backup")


def test_noise_groups_are_listed(clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="pair", groups=1, volumes_per_group=1, scale=150), clock=clock)
    groups = report(world, "primary", "showrcopy groups").groups
    assert [g.name for g in groups] == ["rcg_sync_0", "noise_0000", "noise_0001"]
    assert sum(len(g.volumes) for g in groups) == 151


# --------------------------------------------------------------------------- DR sequence (Table 107)


def test_dr_sequence_through_setrcopygroup(world: World, clock: ManualClock) -> None:
    d = world.durations
    p_group = sync_group(world, "primary")
    s_group = sync_group(world, "secondary")
    name_a = world.arrays["primary"].system_name

    world.set_power("primary", False)
    assert report(world, "secondary", "showrcopy targets").targets[0].status == "failing"
    assert {k.status for k in report(world, "secondary", "showrcopy links").links} == {"Down"}
    clock.advance(d.link_detect + 0.01)
    assert report(world, "secondary", "showrcopy targets").targets[0].status == "failed"
    assert state(world, "secondary", s_group) == ("Secondary", "Stopped", ["Stopped", "Stopped"])

    result = run(world, "secondary", f"setrcopygroup failover -f {s_group}")
    assert result.status == 0 and result.stderr == ""
    assert result.stdout.startswith(f"Failover started for group {s_group} (task ")
    assert state(world, "secondary", s_group) == ("Primary-Rev", "Stopped", ["Stopped", "Stopped"])
    clock.advance(d.failover + 0.01)

    world.set_power("primary", True)
    assert report(world, "secondary", "showrcopy targets").targets[0].status == "ready"
    assert state(world, "primary", p_group) == ("Secondary-Rev", "Stopped", ["Stopped", "Stopped"])

    result = run(world, "secondary", f"setrcopygroup recover -f {s_group}")
    assert result.status == 0, result.stderr
    clock.advance(d.recover / 2)
    s = report(world, "secondary", f"showrcopy groups {s_group}").group(s_group)
    assert (s.role, s.status) == ("Primary-Rev", "Started")
    assert [v.sync_status for v in s.volumes] == ["Syncing", "Syncing"]
    assert all(v.sync_percent is not None and 40 <= v.sync_percent <= 60 for v in s.volumes)
    assert all(v.raw_sync_status.startswith("Syncing (") for v in s.volumes)
    p = report(world, "primary", f"showrcopy groups {p_group}").group(p_group)
    assert (p.role, [v.raw_sync_status for v in p.volumes]) == ("Secondary-Rev", ["Syncing", "Syncing"])
    assert (p.target, s.target) == (world.arrays["secondary"].system_name, name_a)
    clock.advance(d.recover)
    assert state(world, "secondary", s_group) == ("Primary-Rev", "Started", ["Synced", "Synced"])
    assert state(world, "primary", p_group) == ("Secondary-Rev", "Started", ["Synced", "Synced"])

    result = run(world, "secondary", f"setrcopygroup restore -f {s_group}")
    assert result.status == 0, result.stderr
    clock.advance(d.restore + 0.01)
    assert state(world, "secondary", s_group) == ("Secondary", "Started", ["Synced", "Synced"])
    assert state(world, "primary", p_group) == ("Primary", "Started", ["Synced", "Synced"])


def test_refusals_go_to_stderr_with_nonzero_status(world: World, clock: ManualClock) -> None:
    s_group = sync_group(world, "secondary")
    cases = {
        f"setrcopygroup failover -f {s_group}": f"Error: Remote copy group {s_group} not stopped\n",
        f"setrcopygroup restore -f {s_group}": f"Error: the role of group {s_group} was not previously switched\n",
        "setrcopygroup recover -f nosuch": "Error: group matching nosuch does not exist on the system\n",
        f"setrcopygroup failover -bogus {s_group}": "Error: Invalid option -bogus\n",
        "showrcopy -bogus": "Error: Invalid option -bogus\n",
        "frobnicate now": 'Error: invalid command name "frobnicate"\n',
        f"setrcopygroup switchover -f {s_group}": "Error: switchover is not supported by this simulator\n",
    }
    for line, expected in cases.items():
        result = run(world, "secondary", line)
        assert (result.stderr, result.status) == (expected, 1), line
        assert "rror" not in result.stdout
    # recover on a started group: not stopped
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    assert run(world, "secondary", f"setrcopygroup failover -f {s_group}").status == 0
    clock.advance(world.durations.failover + 0.01)
    world.set_power("primary", True)
    assert run(world, "secondary", f"setrcopygroup recover -f {s_group}").status == 0
    clock.advance(world.durations.recover + 0.01)
    result = run(world, "secondary", f"setrcopygroup recover -f {s_group}")
    assert result.status == 1 and "not stopped" in result.stderr and result.stderr.startswith("Error: ")


def test_missing_group_prints_usage(world: World) -> None:
    result = run(world, "secondary", "setrcopygroup failover -f")
    assert result.status == 1
    assert result.stderr.startswith("Error: setrcopygroup requires a group name\nUsage: setrcopygroup ")


def test_confirmation_prompt(world: World, clock: ManualClock) -> None:
    s_group = sync_group(world, "secondary")
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    prompts: list[str] = []

    def answer(text: str) -> CommandResult:
        def confirm(prompt: str) -> str:
            prompts.append(prompt)
            return text

        return run(world, "secondary", f"setrcopygroup failover {s_group}", confirm=confirm)

    for declined in ("n", "q"):
        result = answer(declined)
        assert (result.status, result.stdout, result.stderr) == (0, "", "")
        assert state(world, "secondary", s_group)[0] == "Secondary"
    assert prompts[0] == f"Are you sure you want to failover group(s) {s_group}?\nselect q=quit y=yes n=no: "

    # no way to answer (stdin closed): the prompt is shown, nothing happens
    result = run(world, "secondary", f"setrcopygroup failover {s_group}")
    assert result.stdout.endswith("select q=quit y=yes n=no: \n") and result.status == 0
    assert state(world, "secondary", s_group)[0] == "Secondary"

    # an answer that is not y/n/q is asked again
    answers = iter(["maybe", "y"])
    result = run(world, "secondary", f"setrcopygroup failover {s_group}", confirm=lambda _p: next(answers))
    assert result.status == 0 and "Failover started" in result.stdout
    assert state(world, "secondary", s_group)[0] == "Primary-Rev"


def test_stop_asks_and_start_resyncs(world: World, clock: ManualClock) -> None:
    group = sync_group(world, "primary")
    run(world, "primary", f"stoprcopygroup {group}", confirm=lambda _p: "n")
    assert state(world, "primary", group)[1] == "Started"
    assert run(world, "primary", f"stoprcopygroup {group}", confirm=lambda _p: "y").status == 0
    assert state(world, "primary", group) == ("Primary", "Stopped", ["Stopped", "Stopped"])
    result = run(world, "primary", f"startrcopygroup {group}")
    assert (result.status, result.stdout, result.stderr) == (0, "", "")
    assert state(world, "primary", group)[2] == ["Syncing", "Syncing"]
    clock.advance(world.durations.resync + 0.01)
    assert state(world, "primary", group)[2] == ["Synced", "Synced"]
    refused = run(world, "secondary", f"startrcopygroup {sync_group(world, 'secondary')}")
    assert refused.status == 1 and refused.stderr.startswith("Error: ")


def test_syncrcopy_periodic(world: World, clock: ManualClock) -> None:
    result = run(world, "primary", "syncrcopy rcg_periodic_1")
    assert (result.stdout, result.status) == ("Synchronization request issued for group rcg_periodic_1\n", 0)
    assert state(world, "primary", "rcg_periodic_1")[2] == ["Syncing", "Syncing"]
    refused = run(world, "primary", "syncrcopy rcg_sync_0")
    assert refused.status == 1 and "not a periodic group" in refused.stderr


def _run_in_thread(cli_: ArrayCLI, line: str) -> tuple[threading.Thread, list[CommandResult]]:
    results: list[CommandResult] = []
    thread = threading.Thread(target=lambda: results.append(cli_.run(line)))
    thread.start()
    return thread, results


def test_waittask_blocks_until_the_operation_ends(world: World, clock: ManualClock) -> None:
    s_group = sync_group(world, "secondary")
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    cli_ = ArrayCLI(world, "secondary", poll_interval=0.01)
    thread, results = _run_in_thread(cli_, f"setrcopygroup failover -f -waittask {s_group}")
    thread.join(0.2)
    assert thread.is_alive() and not results  # the manual clock has not moved: still failing over
    clock.advance(world.durations.failover + 0.01)
    thread.join(5)
    [result] = results
    assert result.status == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("Task ") and result.stdout.endswith(" done\n")


def test_waittask_reports_a_failed_operation(world: World, clock: ManualClock) -> None:
    s_group = sync_group(world, "secondary")
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    run(world, "secondary", f"setrcopygroup failover -f {s_group}")
    clock.advance(world.durations.failover + 0.01)
    world.set_power("primary", True)
    run(world, "secondary", f"setrcopygroup recover -f {s_group}")
    clock.advance(world.durations.recover + 0.01)
    world.arm_failure(Operation.RESTORE)
    cli_ = ArrayCLI(world, "secondary", poll_interval=0.01)
    thread, results = _run_in_thread(cli_, f"setrcopygroup restore -f -waittask {s_group}")
    thread.join(0.1)
    clock.advance(world.durations.restore + 0.01)
    thread.join(5)
    [result] = results
    assert result.status == 1
    assert result.stderr == "Error: restore failed: could not switch roles\n"
    assert "Restore started" in result.stdout and "done" not in result.stdout


# --------------------------------------------------------------------------- sessions, CSV, misc


def test_commands_joined_by_semicolons(world: World) -> None:
    result = run(world, "primary", "showsys ; frobnicate; showversion")
    assert result.status == 0  # the last command's
    assert "Release version 3.1.1 (MU1)" in result.stdout and "---Name" in result.stdout
    assert result.stderr == 'Error: invalid command name "frobnicate"\n'
    assert run(world, "primary", "showversion; frobnicate").status == 1
    assert run(world, "primary", "showversion; exit; frobnicate").exit_session


def test_csv_mode_parses_the_same(world: World) -> None:
    plain = report(world, "primary")
    env = SessionEnv()
    c = cli(world, "primary")
    assert c.run("setclienv csvtable 1", session=env).status == 0
    text = c.run("showrcopy", session=env).stdout
    assert "Group Information" in text and "Name,Target,Status,Role,Mode,Options" in text
    assert ",LocalVV,ID,RemoteVV,ID,SyncStatus,LastSyncTime" in text
    periodic_row = next(line for line in text.splitlines() if line.startswith("rcg_periodic_1,"))
    assert periodic_row.endswith('Period 5m"') and ',"Last-Sync ' in periodic_row
    assert parse_showrcopy(text) == plain
    # per-command options, without headers
    bare = c.run("showrcopy groups -csvtable -nohdtot").stdout
    assert "Name,Target" not in bare and ",LocalVV" not in bare
    assert parse_showrcopy(bare).groups == plain.groups
    assert c.run("setclienv csvtable 0", session=env).status == 0
    assert parse_showrcopy(c.run("showrcopy", session=env).stdout) == plain
    assert c.run("setclienv csvtable 2", session=env).status == 1


def test_deviation_changes_what_the_cli_prints(world: World) -> None:
    deviations = Deviations(
        [
            Deviation(
                id="secondary-claims-primary",
                array="secondary",
                when=When(role="Secondary", sync_status="Synced"),
                cli=CliOverride(role="Primary", sync_status="Stale"),
            )
        ]
    )
    text = cli(world, "secondary", deviations).run("showrcopy groups").stdout
    groups = parse_showrcopy(text).groups
    assert {g.role for g in groups} == {"Primary"}
    assert {v.sync_status for g in groups for v in g.volumes} == {"Stale"}
    # the world itself is untouched, and the primary is not affected
    assert state(world, "secondary", sync_group(world, "secondary"))[0] == "Secondary"
    assert cli(world, "primary", deviations).run("showrcopy groups rcg_sync_0").stdout.count("Primary ") == 1
