"""The stages of the DR sequence: the graph and its planner, each stage's entry condition, and which stage
a set of CLI views describes (what teardown plans from).

Pure: no I/O. A plan is a list of Steps; `harness.driver` executes them. Stages:

    natural           configured roles, group started, volumes Synced (also Table 106 "Synced")
    normal:<status>   Table 106 states: New, Syncing, Stopped, NotSynced, Stale
    primary_down      the original primary (or its links) went away
    failover          setrcopygroup failover ran on the original secondary
    primary_up        the original primary is reachable again
    recover_failed    a recover that failed (link dropped while it ran)
    recover           setrcopygroup recover ran and completed
    restore_failed    a restore that failed (roles stay reversed)
    restore           setrcopygroup restore ran and completed: the pair is natural again

Stages marked pass-through (normal:Syncing, restore) end in `natural` once their step is done.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.observation import CliView, Observation

if TYPE_CHECKING:
    from harness.spec import Row

StepKind = Literal["command", "event", "fault"]

NATURAL = "natural"
TABLE106_STAGES = {
    "New": "normal:New",
    "Syncing": "normal:Syncing",
    "Synced": NATURAL,
    "Stopped": "normal:Stopped",
    "NotSynced": "normal:NotSynced",
    "Stale": "normal:Stale",
}
DR_STAGES = ("primary_down", "failover", "primary_up", "recover_failed", "recover", "restore_failed", "restore")
TOUR = (
    NATURAL,
    "normal:Stopped",
    "normal:New",
    "normal:Syncing",
    "normal:NotSynced",
    "normal:Stale",
    *DR_STAGES,
)
PASS_THROUGH = {"normal:Syncing": NATURAL, "restore": NATURAL}


@dataclass(frozen=True)
class Step:
    kind: StepKind
    name: str  # command: failover/recover/restore/stop/start; event: primary_down/up; fault: recover_fails/...
    array: str | None = None  # commands: the topology key of the array it is issued on
    window: bool = False  # this step's run time is the observation window of the stage it leads to
    expect_failure: bool = False  # a command the plan expects to fail (armed fault)

    @property
    def disruptive(self) -> bool:
        return True

    def describe(self, group_names: dict[str, str] | None = None) -> str:
        if self.kind == "command":
            text = command_text(self.name, (group_names or {}).get(self.array or "", "<group>"))
            suffix = " (expected to fail: fault armed)" if self.expect_failure else ""
            return f"on {self.array}: {text}{suffix}"
        return f"{self.kind} action {self.name}"


def command_text(name: str, group: str) -> str:
    """The CLI command a step sends; group names are explicit, never patterns."""
    return {
        "failover": f"setrcopygroup failover -f -waittask {group}",
        "recover": f"setrcopygroup recover -f -waittask {group}",
        "restore": f"setrcopygroup restore -f -waittask {group}",
        "stop": f"stoprcopygroup -f {group}",
        "start": f"startrcopygroup -wait {group}",
    }[name]


def _cmd(name: str, array: str, window: bool = False, expect_failure: bool = False) -> Step:
    return Step("command", name, array, window, expect_failure)


def _edges(primary: str, secondary: str) -> dict[str, list[tuple[str, tuple[Step, ...]]]]:
    stop, start = _cmd("stop", primary), _cmd("start", primary)
    up = Step("event", "primary_up")
    return {
        NATURAL: [
            ("normal:Stopped", (stop,)),
            ("normal:New", (Step("fault", "sync_status_new"),)),
            ("normal:Syncing", (stop, _cmd("start", primary, window=True))),
            ("normal:NotSynced", (Step("fault", "sync_status_notsynced"),)),
            ("normal:Stale", (Step("fault", "sync_status_stale"),)),
            ("primary_down", (Step("event", "primary_down"),)),
        ],
        # direct legs between Table 106 stages, so one pass through them drives no leg twice
        "normal:Stopped": [(NATURAL, (start,)), ("normal:New", (Step("fault", "sync_status_new"),))],
        "normal:New": [(NATURAL, (start,)), ("normal:Syncing", (_cmd("start", primary, window=True),))],
        "normal:NotSynced": [(NATURAL, (stop, start)), ("normal:Stale", (Step("fault", "sync_status_stale"),))],
        "normal:Stale": [(NATURAL, (stop, start))],
        "primary_down": [
            ("failover", (_cmd("failover", secondary, window=True),)),
            (NATURAL, (up, start)),
        ],
        "failover": [("primary_up", (up,))],
        "primary_up": [
            ("recover_failed", (Step("fault", "recover_fails"), _cmd("recover", secondary, expect_failure=True))),
            ("recover", (_cmd("recover", secondary, window=True),)),
        ],
        "recover_failed": [("primary_up", (up,))],
        "recover": [
            ("restore_failed", (Step("fault", "restore_fails"), _cmd("restore", secondary, expect_failure=True))),
            ("restore", (_cmd("restore", secondary, window=True),)),
        ],
        "restore_failed": [("restore", (_cmd("restore", secondary, window=True),))],
    }


@dataclass(frozen=True)
class Leg:
    """One edge of a plan: the steps that take the pair from `source` to `target`."""

    source: str
    target: str
    steps: tuple[Step, ...]


class NoPath(Exception):
    """The target stage cannot be reached with the available actions; the message says what is missing."""


class StageGraph:
    def __init__(self, primary: str = "primary", secondary: str = "secondary", available: set[str] | None = None):
        self.edges = _edges(primary, secondary)
        self.available = available  # event/fault names that have a configured action (None: all)

    def usable(self, steps: tuple[Step, ...]) -> bool:
        if self.available is None:
            return True
        return all(s.kind == "command" or s.name in self.available for s in steps)

    def plan(self, source: str, target: str) -> list[Leg]:
        """Fewest steps from `source` to `target` (pass-through stages continue from their end stage)."""
        source = PASS_THROUGH.get(source, source)
        if source == target:
            return []
        frontier: list[tuple[int, int, str, list[Leg]]] = [(0, 0, source, [])]
        seen: set[str] = set()
        tie = 0
        while frontier:
            cost, _, stage, legs = heapq.heappop(frontier)
            if stage == target or (legs and PASS_THROUGH.get(stage) == target):
                return legs
            if stage in seen:
                continue
            seen.add(stage)
            for nxt, steps in self.edges.get(PASS_THROUGH.get(stage, stage), []):
                if nxt == target or nxt not in seen:
                    if not self.usable(steps):
                        continue
                    tie += 1
                    heapq.heappush(frontier, (cost + len(steps), tie, nxt, [*legs, Leg(stage, nxt, steps)]))
        missing = self.missing_actions(target)
        hint = f"; configure: {', '.join(missing)}" if missing else ""
        raise NoPath(f"stage {target} cannot be reached from {source} with the configured actions{hint}")

    def missing_actions(self, target: str) -> list[str]:
        names: set[str] = set()
        for edges in self.edges.values():
            for nxt, steps in edges:
                if nxt == target:
                    names.update(s.name for s in steps if s.kind != "command" and not self.usable((s,)))
        return sorted(names)


def stage_for_row(table: str, *, stage: str | None, when: str | None, sync_status: str | None) -> str:
    """The stage a documented row is observed at."""
    if table == "table106":
        return TABLE106_STAGES[sync_status or ""]
    if table == "table107":
        if when == "failed":
            return f"{stage}_failed"
        return str(stage)
    return NATURAL


def window_command(stage: str) -> str | None:
    """The command whose run is `stage`'s in-progress window (start, failover, recover, restore), if any."""
    for edges in _edges("primary", "secondary").values():
        for target, steps in edges:
            for step in steps:
                if target == stage and step.window:
                    return step.name
    return None


def tour_position(stage: str) -> int:
    """Order in which a single pass visits stages: rows are run in this order so no path is replayed."""
    return TOUR.index(stage) if stage in TOUR else len(TOUR)


def row_stage(row: Row) -> str:
    """The stage a spec row is observed at."""
    return stage_for_row(row.table, stage=row.stage, when=row.when, sync_status=row.sync_status)


def tour_key(row: Row) -> tuple[int, int]:
    """Where a row comes in one pass through the DR sequence: by stage, in-progress rows first within a stage
    (their window closes with the command), then settled ones; rules after every table row."""
    if row.table == "rules":
        return (len(TOUR) + 1, int(row.id.split("-")[1]))
    return (tour_position(row_stage(row)), 0 if row.in_progress else 1)


def time_limit_name(stage: str) -> str:
    """The `time_limits` entry that governs a stage (`normal:New` -> normal, `recover_failed` -> recover)."""
    return stage.split(":")[0].removesuffix("_failed")


# --------------------------------------------------------------------------- natural state and entry conditions

NATURAL_ROLES = {"primary": "Primary", "secondary": "Secondary", "sync_secondary": "Secondary",
                 "periodic_secondary": "Secondary"}  # fmt: skip

Latest = Mapping[str, Observation | None]
EntryCheck = Callable[[Latest], list[str]]


def natural_problems(key: str, view: CliView, topology: str) -> list[str]:
    """What keeps `view` from the group's natural synced state on array `key` (empty: natural)."""
    backup = topology == "sld" and key != "primary"
    want_status = "Backup" if backup else "Started"
    problems = []
    if view.role != NATURAL_ROLES[key]:
        problems.append(f"role {view.role} (natural: {NATURAL_ROLES[key]})")
    if view.status != want_status:
        problems.append(f"status {view.status} (natural: {want_status})")
    if not backup:
        if view.target_status != "ready":
            problems.append(f"target {view.target} {view.target_status} (natural: ready)")
        bad = sorted({v.sync_status for v in view.volumes if v.sync_status != "Synced"})
        if bad or not view.volumes:
            problems.append(f"volumes {', '.join(bad) or 'none'} (natural: Synced)")
    return [f"{key}: group {view.group} is not in its natural state: {', '.join(problems)}"] if problems else []


def entry_check(stage: str, topology: str) -> EntryCheck:
    """What every observed array's CLI must show for `stage` to have begun: problems (empty: begun), given the
    latest fresh observation of each array."""
    if stage.startswith("normal:"):
        status = stage.split(":", 1)[1]
        return (lambda latest: _natural(latest, topology)) if status == "Syncing" else _volumes(status)
    checks: dict[str, EntryCheck] = {
        NATURAL: lambda latest: _natural(latest, topology),
        "restore": lambda latest: _natural(latest, topology),
        "primary_down": _primary_down,
        "primary_up": _primary_up,
        "recover": _started_synced,
        "recover_failed": _recover_failed,
    }
    return checks.get(stage, _nothing)


def _cli(latest: Latest, key: str) -> CliView | None:
    obs = latest.get(key)
    return obs.cli if obs else None


def _natural(latest: Latest, topology: str) -> list[str]:
    problems = []
    for key in latest:
        view = _cli(latest, key)
        problems += natural_problems(key, view, topology) if view else [f"{key}: CLI not readable"]
    return problems


def _primary_down(latest: Latest) -> list[str]:
    view = _cli(latest, "secondary")
    if view is None or view.target_status == "ready" or view.status != "Stopped":
        return ["secondary: target not ready and group Stopped"]
    return []


def _primary_up(latest: Latest) -> list[str]:
    problems = []
    for key in latest:
        view = _cli(latest, key)
        if view is None or view.target_status != "ready":
            problems.append(f"{key}: reachable with target ready")
    return problems


def _volumes(status: str) -> EntryCheck:
    def check(latest: Latest) -> list[str]:
        view = _cli(latest, "primary")
        if view is None or not view.volumes or any(v.sync_status != status for v in view.volumes):
            return [f"primary: volumes {status}"]
        return []

    return check


def _started_synced(latest: Latest) -> list[str]:
    """The command returned; the stage begins when every array shows the group Started and Synced."""
    problems = []
    for key in latest:
        view = _cli(latest, key)
        if view is None:
            problems.append(f"{key}: CLI not readable")
            continue
        statuses = sorted({v.sync_status for v in view.volumes})
        if view.status != "Started" or statuses != ["Synced"]:
            shown = ", ".join(statuses) or "none"
            problems.append(f"{key}: group Started with volumes Synced (now {view.status}, volumes {shown})")
    return problems


def _recover_failed(latest: Latest) -> list[str]:
    view = _cli(latest, "secondary")
    return [] if view is not None and view.status == "Stopped" else ["secondary: group Stopped"]


def _nothing(latest: Latest) -> list[str]:
    return []


def infer_stage(views: Mapping[str, CliView], topology: str) -> str | None:
    """The stage the CLI views describe, or None when they fit no stage of the graph."""
    secondary = views.get("secondary")
    natural = bool(views) and all(not natural_problems(k, v, topology) for k, v in views.items())
    if topology != "pair" or secondary is None:
        return NATURAL if natural else None
    statuses = {v.sync_status for v in secondary.volumes}
    link_up = secondary.target_status == "ready"
    if secondary.role == "Secondary":
        if natural and len(views) == 2:
            return NATURAL
        if not link_up:
            return "primary_down"
        single = next(iter(statuses)) if len(statuses) == 1 else None
        return {"Stopped": "normal:Stopped", "New": "normal:New", "NotSynced": "normal:NotSynced",
                "Stale": "normal:Stale", "Synced": "normal:Stopped"}.get(single or "")  # fmt: skip
    if secondary.role == "Primary-Rev":
        if not link_up:
            return "failover"
        if secondary.status == "Started":  # recovered, or still resyncing after recover returned
            return "recover"
        return "primary_up"
    return None
