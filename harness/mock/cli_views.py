"""What the simulated CLI's show commands print, read from the world (no command parsing, no I/O).

Callers hold the world lock. Values the simulator does not model are printed as
the captured arrays print them when unset: ``Resync_ss``/``Sync_ss`` ``none``,
``R_iter``/``S_iter``/``LocalSet``/``RemoteSet`` ``NA`` (no volume sets), empty
user CPG columns. Chosen where no capture shows the value: a target's ``Socks``
and ``Buffsz`` are ``-`` for FC targets; FC receive links are named
``rcv_fc_<n><s><p>``; link ids count from 1 in the order listed.
"""

from __future__ import annotations

import fnmatch

from harness.mock.cli_format import (
    GroupInfo,
    LinkInfo,
    Section,
    SystemRow,
    TargetInfo,
    VolumeInfo,
    format_period,
    format_timestamp,
    group_options,
)
from harness.mock.deviations import Deviations, facts_for
from harness.mock.world import Replication, Role, SyncStatus, VolumePair, World

__all__ = ["group_blocks", "link_rows", "release_type", "system_detail", "system_id_text", "system_row", "target_rows"]

RC_PROTOCOL_VERSION = 57
IP_SOCKETS = 20
IP_BUFFER_BYTES = 2097152
TOTAL_CAP_MIB = 33554432  # 32 TiB of raw capacity per simulated array
NODES = 2
RELEASE_TYPE_10_5 = "Standard Support Release"


# --------------------------------------------------------------------------- targets and links


def target_rows(world: World, array: str) -> list[TargetInfo]:
    """``showrcopy targets`` rows; the ``-d`` columns name the peer behind each target truthfully."""
    rows = []
    for target in world.targets(array):
        peer = world.arrays[target.peer]
        back = world.target(target.peer, array)
        ip = target.kind == "IP"
        rows.append(
            TargetInfo(
                target.name,
                target.id,
                target.kind,
                world.target_status(array, target.peer),
                version=RC_PROTOCOL_VERSION,
                socks=IP_SOCKETS if ip else "-",
                buffsz=IP_BUFFER_BYTES if ip else "-",
                sys_name=peer.system_name,
                sys_id=peer.system_id,
                remote_name=back.name if back else "-",
                remote_id=back.id if back else "-",
            )
        )
    return rows


def link_rows(world: World, array: str) -> list[LinkInfo]:
    """Two ports per target (nodes 0 and 1), then this array's receiving ports per link type."""
    rows: list[LinkInfo] = []
    kinds_up: dict[str, bool] = {}
    for target in world.targets(array):
        up = world.link_up_for(array, target.peer)
        kinds_up[target.kind] = kinds_up.get(target.kind, False) or up
        for node in (0, 1):
            port = _port(target.kind, node)
            address = _address(world, target.peer, target.kind, node)
            name = f"{target.name}_{port.replace(':', '_')}"
            rows.append(_link(len(rows) + 1, target.name, name, "s", node, port, address, up))
    for kind, up in kinds_up.items():
        for node in (0, 1):
            port = _port(kind, node)
            name = f"rcv_{kind.lower()}_{port.replace(':', '')}"
            rows.append(_link(len(rows) + 1, "receive", name, "r", node, port, _address(world, array, kind, node), up))
    return rows


def _link(
    link_id: int, target: str, name: str, direction: str, node: int, port: str, address: str, up: bool
) -> LinkInfo:
    ipc = f"RC{direction}{node}{link_id:02d}"
    return LinkInfo(target, port, address, "Up" if up else "Down", name=name, ipc=ipc, id=link_id)


def _port(kind: str, node: int) -> str:
    return f"{node}:3:1" if kind == "FC" else f"{node}:4:3"


def _address(world: World, key: str, kind: str, node: int) -> str:
    array = world.arrays[key]
    if kind == "FC":
        return f"2{node}310002AC{array.wwn[-6:]}"
    index = list(world.arrays).index(key)
    return f"10.54.{100 + 10 * index}.{92 + node}"


# --------------------------------------------------------------------------- groups


def group_blocks(
    world: World, array: str, names: list[str], deviations: Deviations
) -> tuple[list[GroupInfo], list[str]]:
    """The group blocks `showrcopy groups [names]` prints (array order), and the names matching nothing."""
    selected = world.groups_on(array)
    missing: list[str] = []
    if names:  # in the array's order, whatever the order of the arguments
        missing = [p for p in names if not any(fnmatch.fnmatchcase(n, p) for n, _ in selected)]
        selected = [(n, reps) for n, reps in selected if any(fnmatch.fnmatchcase(n, p) for p in names)]
    block = _GroupBlock(world, array, deviations)
    return [block.build(name, rep) for name, reps in selected for rep in reps], missing


class _GroupBlock:
    def __init__(self, world: World, array: str, deviations: Deviations) -> None:
        self.world = world
        self.array = array
        self.deviations = deviations
        self.tz = world.arrays[array].timezone

    def build(self, name: str, rep: Replication) -> GroupInfo:
        side, peer = rep.side(self.array), rep.peer(self.array)
        changes = self._cli_changes(rep, rep.pairs[0]) if rep.pairs else {}
        role = changes.get("role", side.role.value)
        source = Role(role).is_source
        volumes = [
            self._volume(rep, pair, changes if index == 0 else self._cli_changes(rep, pair), source)
            for index, pair in enumerate(rep.pairs)
        ]
        return GroupInfo(
            name=name,
            target=self.world.target_name(self.array, peer.array),
            status=changes.get("group_status", side.status.value),
            role=role,
            mode="Sync" if rep.mode == "sync" else "Periodic",
            options=self._options(rep, source),
            volumes=volumes,
            id=rep.id,
        )

    def _cli_changes(self, rep: Replication, pair: VolumePair) -> dict[str, str]:
        if not self.deviations.rules:
            return {}
        return self.deviations.cli_changes(self.array, facts_for(self.world, rep, pair, self.array))

    def _volume(self, rep: Replication, pair: VolumePair, changes: dict[str, str], source: bool) -> VolumeInfo:
        world = self.world
        sync = changes.get("sync_status", pair.sync_status.value)
        if sync == SyncStatus.SYNCING.value and source:
            percent = world.sync_percent(pair)
            if percent is not None:
                sync = f"Syncing ({percent}%)"
        if pair.last_sync is None or (rep.mode == "sync" and sync == SyncStatus.SYNCED.value):
            last = "NA"
        else:
            last = format_timestamp(world.wall_time(pair.last_sync), self.tz)
        local, remote = (
            (pair.source_volume, pair.target_volume)
            if rep.source.array == self.array
            else (pair.target_volume, pair.source_volume)
        )
        local_id = world.arrays[self.array].volumes[local].id
        remote_id = world.arrays[rep.peer(self.array).array].volumes[remote].id
        creator = world.arrays[rep.source.array].system_id
        vv_iter = f"{creator}/{pair.iterations}" if rep.mode == "periodic" and pair.iterations else "NA"
        return VolumeInfo(local, local_id, remote, remote_id, sync, last, vv_iter=vv_iter)

    def _options(self, rep: Replication, source: bool) -> str:
        """Periodic groups: ``Last-Sync <ts>, Period 5m,`` on the source side, ``Period 5m,`` on the other."""
        if rep.mode != "periodic":
            return group_options(rep.options)
        last_sync = None
        times = [p.last_sync for p in rep.pairs if p.last_sync is not None]
        if source and times:
            last_sync = format_timestamp(self.world.wall_time(min(times)), self.tz)
        return group_options(rep.options, last_sync=last_sync, period=format_period(self.world.durations.period))


# --------------------------------------------------------------------------- showsys


def system_row(world: World, array: str) -> SystemRow:
    arr = world.arrays[array]
    allocated = min(sum(v.size_mib for v in arr.volumes.values()) // 8 + 262144, TOTAL_CAP_MIB)
    return SystemRow(
        id=system_id_text(world, array),
        name=arr.system_name,
        model=arr.model,
        serial=arr.serial,
        nodes=NODES,
        master=0,
        total_cap=TOTAL_CAP_MIB,
        alloc_cap=allocated,
        free_cap=TOTAL_CAP_MIB - allocated,
        failed_cap=0,
    )


def system_id_text(world: World, array: str) -> str:
    """The system id as `showsys` and `showsys -d` print it: hexadecimal on OS 10.5, decimal before."""
    system_id = world.arrays[array].system_id
    return f"0x{system_id:X}" if world.behaviour == "10.5" else str(system_id)


def system_detail(world: World, array: str) -> list[Section]:
    """``showsys -d`` sections: General, the capacity block(s), the remote syslog status."""
    row = system_row(world, array)
    nodes = ",".join(str(n) for n in range(row.nodes))
    general: list[tuple[str, object]] = [
        ("System Name", row.name),
        ("System Model", row.model),
        ("Serial Number", row.serial),
        ("System ID", row.id),
        ("Number of Nodes", row.nodes),
        ("Master Node", row.master),
        ("Nodes Online", nodes),
        ("Nodes in Cluster", nodes),
        ("Chunklet Size (MiB)", 1024),
    ]
    raw: list[tuple[str, object]] = [
        ("Total Capacity", row.total_cap),
        ("Allocated Capacity", row.alloc_cap),
        ("Free Capacity", row.free_cap),
        ("Failed Capacity", row.failed_cap),
    ]
    syslog: list[tuple[str, object]] = [
        ("Active", 0),
        ("General Server", "0.0.0.0"),
        ("General Connection", "None"),
        ("Security Server", "0.0.0.0"),
        ("Security Connection", "None"),
    ]
    if world.behaviour != "10.5":
        return [("General", [*general, ("Minimum PW length", 6)]), ("System Capacity (MiB)", raw),
                ("Remote_Syslog_Status", syslog)]  # fmt: skip
    usable_total = row.total_cap * 72 // 100
    usable_alloc = row.alloc_cap * 87 // 100
    usable = [
        ("Total Capacity", usable_total),
        ("Allocated Capacity", usable_alloc),
        ("Free Capacity", usable_total - usable_alloc),
    ]
    general += [("Minimum PW length", 8), ("Minimum PW character classes", 1)]
    syslog.insert(3, ("RemoteSyslogProfile", "None"))
    return [("General", general), ("Raw System Capacity (MiB)", raw), ("Usable System Capacity (MiB)", usable),
            ("Remote_Syslog_Status", syslog)]  # fmt: skip


def release_type(world: World) -> str | None:
    """The ``Release Type`` line OS 10.5 prints under the release (None: not printed)."""
    return RELEASE_TYPE_10_5 if world.behaviour == "10.5" else None
