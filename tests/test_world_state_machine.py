"""A hypothesis state machine over the simulated pair: whatever an operator and the environment do, an honest
simulator keeps RULE-01..09 and the Table 106 / Table 107 rows, as the harness observes it.

The world runs on a ManualClock; the machine uses no threads and no sockets. Steps are what happens to a
pair in a lab:

* DR commands as the CLI takes them, sent as text to the simulated CLI (`harness.mock.cli_sim.ArrayCLI`):
  `setrcopygroup failover|recover|restore -f <group>` on the secondary, `stoprcopygroup -f` and
  `startrcopygroup` on the primary; a command the state does not allow is refused as the array refuses it
  (and a powered-off primary does not answer at all);
* the control interface's actions (`harness.mock.control.apply_control`): primary power off/on, link cut and
  restore, fail_next recover/restore, forced NotSynced/Stale (every volume or one), reset to New;
* time: the manual clock moves by amounts shorter and longer than each mechanic, so in-progress states
  (a failover, recover or restore running, a loss not yet detected, a resync) are visited;
* an operator following the runbook: up to 12 steps of the documented DR sequence from where the pair is
  (harness/stages.py's graph; a recover or restore may be made to fail first, as the journey's recover_fails
  and restore_fails legs do), or of the way back to natural. Random steps alone seldom get past failover.

After every step each array is sampled the way the harness samples it: `harness.poll.Poller.sample` over
stand-ins for the two interfaces. The CLI stand-in carries the simulated CLI's text (`showrcopy targets`,
`showrcopy groups <group>`, as `harness.cli_read.read_group` asks) to the harness's own parser; the CIM
stand-in is `harness.cim.ArrayCim` itself (group discovery, References reads, conversion to CimView /
CimPair) with its connection replaced by the in-process backend (`harness.mock.cim_view.ArrayCIMBackend`).
`test_in_process_reads_equal_reads_over_cim_xml` holds that shortcut to what the same reads give over
CIM-XML. While the array is powered off both stand-ins fail as the real transports do, so the observation
carries errors and no views.

Invariants, after every step, over the history so far:

* `check_rules` (RuleContext as harness/checkpoints.py builds it; busy windows are the DR commands' windows:
  from the command until the operation it started ended) gives PASS or SKIPPED for every rule, never FAIL;
* Table 106, every row (T106-01..06): an observation in normal operation (the array's configured role,
  target ready, group Started or Stopped, no command window open) whose volumes all show one SyncStatus
  has that row's CopyState/SyncState/ProgressStatus. Keyed by the SyncStatus alone, as RULE-08 and the
  manual key it, so Syncing (T106-02) is checked after startrcopygroup and during periodic syncs alike;
* Table 107, every row (T107-01..16 and T107-03b): the rows are keyed by the DR stage, so the machine keeps
  the stage the documented sequence has reached (`Tour`): natural -> primary_down (the secondary's target
  failed: the journey's entry condition, target not ready and group Stopped) ->
  failover (in_progress while the command runs, then done) -> primary_up (the link back) -> recover
  (in_progress, then done or failed) -> restore (in_progress, then done or failed), with the edges of
  harness/stages.py (recover_failed -> primary_up; restore_failed -> restore; a link lost while recover runs
  is how a recover fails in a lab). Any other step that changes the group or the link takes the pair off
  the documented path: no Table 107 row is asserted until it is natural again. At a stage, a row is
  asserted on its array when the observation shows the row's Role and every volume the row's SyncStatus
  (the stage's entry condition in the harness: a recover that returned while the volumes still resync, or a
  periodic sync at a settled stage, is not the row's state). In-progress rows only while their command's
  operation runs, settled rows only once it ended. T107-03b is the spec's reading of erratum E2 and is
  held at primary_up as the harness holds it.

Left to the end-to-end tests (tests/test_conformance_e2e.py, test_mock_e2e.py, test_lab_rehearsal.py):
the SLD rows (SLD-01..03: another topology); whether real-time polling catches each in-progress state and
what the verdicts make of samples (settle_samples, NOT_OBSERVED, time limits, the instance-set check);
the 10.5 behaviour and deviations. States off the documented path (a failover with the link up, a reset
during a recover, ...) are held to the rules and Table 106 only: no table row describes them.

`test_a_runbook_tour_asserts_every_table107_row` drives the machine's own steps through a whole tour (with a
failing recover and a failing restore), so the invariant cannot quietly stop comparing rows;
`test_sequences_the_machine_found_keep_the_rules` pins the sequences that broke RULE-01 before the simulator
was fixed (a failover reported as FailedOver with the link up, or by the primary that could not know of it;
a reset to New that left a failover running).

Runtime: derandomized, no example database, a fixed number of examples and steps (`SETTINGS`): about 25 s
for the state machine on this 2-core machine, 35 s under load. `pytest --hypothesis-show-statistics` lists
how often each row was asserted and each rule's verdicts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pywbem
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from harness.array_cli import CliError, CliResult
from harness.cim import ArrayCim, CimEndpoint
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.cimxml import CIMXMLServer
from harness.mock.cli_sim import ArrayCLI
from harness.mock.clock import ManualClock
from harness.mock.control import apply_control
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import GroupStatus, Replication, Role, SyncStatus, World
from harness.observation import Observation, Timeline
from harness.poll import ArrayProbe, Poller
from harness.rules import RuleContext, check_rules, table106_from_spec
from harness.spec import Row, load_spec
from harness.stages import NATURAL_ROLES
from harness.verdicts import Expectation, Verdict, compare

ARRAYS = ("primary", "secondary")
PERIOD = 8.0  # seconds between a periodic group's syncs: short enough that some steps meet one
ADVANCES = (0.1, 0.3, 0.5, 0.65, 1.0, 1.3, 2.1, 4.0, 9.0)  # around link_detect 0.6, failover 1.2, recover 2.0 ...
SPEC = load_spec()
TABLE106 = {row.sync_status: row for row in SPEC.table("table106")}
TABLE107 = SPEC.table("table107")

# --------------------------------------------------------------------------- the harness's interfaces, in-process


class SimulatedSsh:
    """Stands for harness.array_cli.ArrayCli: the simulated CLI's text, as an exec channel carries it."""

    def __init__(self, world: World, array: str) -> None:
        self.array = array
        self.world = world
        self._cli = ArrayCLI(world, array)
        self._refs = itertools.count()

    def run(self, command: str, stdin: str | None = None, timeout: float | None = None) -> CliResult:
        if not self.world.arrays[self.array].powered:
            raise CliError(f"{self.array}: cannot connect over SSH (Connection refused); the array is powered off")
        now = self.world.clock.now()
        with self.world.lock:
            out = self._cli.run(command)
        ref = f"cli-{next(self._refs)}"
        return CliResult(self.array, command, out.stdout, out.stderr, out.status, now, now, ref=ref)


class _InProcessProvider:
    """The array's CIM backend called as pywbem's WBEMConnection is; a powered-off array does not answer."""

    def __init__(self, world: World, array: str) -> None:
        self._world = world
        self._array = array
        self._backend = ArrayCIMBackend(world, array)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        operation = getattr(self._backend, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if not self._world.arrays[self._array].powered:
                raise pywbem.ConnectionError(f"{self._array}: connection reset by peer (powered off)")
            with self._world.lock:
                return operation(*args, **kwargs)

        return call


class SimulatedCim(ArrayCim):
    """harness.cim.ArrayCim (discovery, reads, conversion) over the in-process provider instead of CIM-XML."""

    def __init__(self, world: World, array: str) -> None:  # nothing to connect to: no super().__init__
        self.endpoint = CimEndpoint(url=f"in-process:{array}", user="smisuser", password=str)
        self.conn = _InProcessProvider(world, array)  # type: ignore[assignment]


def group_names(rep: Replication) -> dict[str, str]:
    return {array: rep.side(array).group_name for array in ARRAYS}


def make_probe(world: World, rep: Replication, array: str) -> ArrayProbe:
    """What the poller needs of one array, as harness/journey.py builds it (the group found at the first read)."""
    cim, cli = SimulatedCim(world, array), SimulatedSsh(world, array)
    target = world.target_name(array, rep.peer(array).array)
    return ArrayProbe(array, cim, cli, None, rep.side(array).group_name, target)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the documented DR sequence

Stage = tuple[str, str | None]  # (stage, when) as Table 107 names them
NATURAL: Stage = ("natural", None)
OFF_PATH: Stage = ("off the documented path", None)
LINK_LOST: Stage = ("primary_down", "loss not detected yet")
PRIMARY_DOWN: Stage = ("primary_down", "after")
PRIMARY_UP: Stage = ("primary_up", "after")
RUNNING: dict[str, Stage] = {op: (op, "in_progress") for op in ("failover", "recover", "restore")}
DONE: dict[str, Stage] = {op: (op, "done") for op in ("failover", "recover", "restore")}
FAILED: dict[str, Stage] = {op: (op, "failed") for op in ("recover", "restore")}

# (stage, what a step did) -> the next stage; anything else that changes the group or the link leaves the path
DOCUMENTED: dict[tuple[Stage, str], Stage] = {
    (NATURAL, "link lost"): LINK_LOST,
    (DONE["restore"], "link lost"): LINK_LOST,
    (PRIMARY_DOWN, "failover"): RUNNING["failover"],
    (DONE["failover"], "link back"): PRIMARY_UP,
    (PRIMARY_UP, "recover"): RUNNING["recover"],
    (RUNNING["recover"], "link lost"): RUNNING["recover"],  # how a recover fails in a lab (a fault during it)
    (FAILED["recover"], "link back"): PRIMARY_UP,
    (DONE["recover"], "restore"): RUNNING["restore"],
    (FAILED["restore"], "restore"): RUNNING["restore"],
}


def fingerprint(world: World, rep: Replication) -> tuple[object, ...]:
    """What of the group and its link a step can change (the world caught up with the clock first)."""
    world.now()
    sides = tuple((s.role, s.status) for s in rep.sides())
    pairs = tuple(p.sync_status for p in rep.pairs)
    return sides, pairs, id(rep.operation) if rep.operation else None, world.link_usable("primary", "secondary")


def is_natural(world: World, rep: Replication) -> bool:
    world.now()
    return (
        all(s.role is s.configured_role and s.status is GroupStatus.STARTED for s in rep.sides())
        and all(p.sync_status is SyncStatus.SYNCED for p in rep.pairs)
        and rep.operation is None
        and world.link_usable("primary", "secondary")
    )


@dataclass
class Tour:
    """Where the documented DR sequence has got to, from what the steps did and how their commands ended."""

    world: World
    rep: Replication
    stage: Stage = NATURAL

    def after_step(self, before: tuple[object, ...], accepted: str | None) -> None:
        after = fingerprint(self.world, self.rep)
        if after == before:
            return  # refused, or nothing to do: the pair is where it was
        link_before, link_after = before[-1], after[-1]
        if accepted is not None:
            what = accepted
        elif link_before != link_after:
            what = "link back" if link_after else "link lost"
        else:
            what = "changed"
        self.stage = DOCUMENTED.get((self.stage, what), OFF_PATH)
        self.settle()

    def settle(self) -> None:
        """Stages that end by themselves: a loss detected, an operation ended, the pair natural again."""
        self.world.now()  # the world catches up with the clock: timers due by now fire
        operation = self.stage[0]
        if self.stage == LINK_LOST and self.world.target_status("secondary", "primary") == "failed":
            self.stage = PRIMARY_DOWN
        elif self.stage in RUNNING.values() and self.rep.operation is None:
            result = self.rep.last_result
            ok = result is not None and result.ok
            self.stage = DONE[operation] if ok else FAILED.get(operation, OFF_PATH)
        elif self.stage == OFF_PATH and is_natural(self.world, self.rep):
            self.stage = NATURAL

    def running(self) -> str | None:
        return self.stage[0] if self.stage in RUNNING.values() else None


# --------------------------------------------------------------------------- the machine


@dataclass
class Windows:
    """The DR commands' busy windows: from the command until the operation it started ended."""

    closed: list[tuple[float, float]] = field(default_factory=list)
    open_since: float | None = None

    def command(self, t: float) -> None:
        """A command started an operation (a refused command, or one done when it returns, has no window)."""
        self.open_since = t

    def close_if_ended(self, rep: Replication) -> None:
        if self.open_since is not None and rep.operation is None:
            ended = rep.last_result.finished if rep.last_result else self.open_since
            self.closed.append((self.open_since, ended))
            self.open_since = None

    def all(self) -> list[tuple[float, float]]:
        return self.closed + ([(self.open_since, float("inf"))] if self.open_since is not None else [])


def overlaps(obs: Observation, windows: list[tuple[float, float]]) -> bool:
    return any(obs.t_start <= end and obs.t_end >= start for start, end in windows)


class DisasterRecoveryMachine(RuleBasedStateMachine):
    """One pair, one group under test (synchronous or periodic), observed after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        spec = WorldSpec(topology="pair", groups=2, volumes_per_group=2, period=PERIOD)
        self.world = build_world(spec, clock=self.clock)
        self.windows = Windows()
        self.timeline = Timeline()
        self.probes_done: list[dict[str, Any]] = []  # RULE-04 probe results
        self.log: list[str] = []  # what was done, for failure messages (a runbook rule does several things)
        self.asserted: set[str] = set()  # table rows the invariant compared at least once
        self.rule_verdicts: dict[str, Verdict] = {}  # after the last step

    @initialize(mode=st.sampled_from(["sync", "periodic"]))
    def choose_group(self, mode: str) -> None:
        self.rep = next(r for r in self.world.replications if r.mode == mode)
        self.tour = Tour(self.world, self.rep)
        self.names = group_names(self.rep)
        self.probes = {array: make_probe(self.world, self.rep, array) for array in ARRAYS}
        self.poller = Poller(list(self.probes.values()), self.timeline, interval=1.0, t0=0.0, clock=self.clock.now)

    # ------------------------------------------------------------------ steps
    def _step(self, what: str, action: Callable[[], str], command: str | None = None) -> None:
        """Do one thing to the pair; `action` answers how it went ("ok" for an accepted command)."""
        before = fingerprint(self.world, self.rep)
        was_running = self.rep.operation is not None
        outcome = action()
        accepted = outcome == "ok" and command is not None
        if accepted and not was_running and self.rep.operation is not None:
            self.windows.command(self.clock.now())
        self.tour.after_step(before, command if accepted else None)
        self.log.append(f"t={self.clock.now():.2f} {what}: {outcome} -> stage {self.tour.stage}")

    def _cli(self, array: str, text: str, command: str) -> None:
        def send() -> str:
            try:
                result = self.probes[array].cli.run(text)
            except CliError:
                return "unreachable"  # a powered-off array: nothing was sent
            return "ok" if result.ok else f"refused ({result.error_text()})"

        self._step(f"{array}: {text}", send, command)

    def _control(self, **payload: Any) -> None:
        def act() -> str:
            apply_control(self.world, payload)
            return "done"

        self._step(f"control {payload}", act)

    @rule(command=st.sampled_from(["failover", "recover", "restore"]))
    def dr_command(self, command: str) -> None:
        self._cli("secondary", f"setrcopygroup {command} -f {self.names['secondary']}", command)

    @rule()
    def stop_group(self) -> None:
        self._cli("primary", f"stoprcopygroup -f {self.names['primary']}", "stop")

    @rule()
    def start_group(self) -> None:
        self._cli("primary", f"startrcopygroup {self.names['primary']}", "start")

    @rule(on=st.booleans())
    def primary_power(self, on: bool) -> None:
        self._control(action="array_up" if on else "array_down", array="primary")

    @rule(up=st.booleans())
    def link(self, up: bool) -> None:
        self._control(action="link", a="primary", b="secondary", up=up)

    @rule(operation=st.sampled_from(["recover", "restore"]))
    def fail_next(self, operation: str) -> None:
        self._control(action="fail_next", operation=operation)

    @rule(status=st.sampled_from(["NotSynced", "Stale"]), one_volume=st.booleans())
    def force_sync_status(self, status: str, one_volume: bool) -> None:
        volume = {"volume": self.rep.pairs[0].source_volume} if one_volume else {}
        self._control(action="force_sync_status", array="primary", group=self.names["primary"], status=status, **volume)

    @rule()
    def reset_to_new(self) -> None:
        self._control(action="reset_to_new", array="primary", group=self.names["primary"])

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.tour.settle()
        self.log.append(f"t={self.clock.now():.2f} clock +{seconds}s -> stage {self.tour.stage}")

    @rule(steps=st.integers(1, 12), faults=st.sets(st.sampled_from(["recover", "restore"])))
    def follow_the_runbook(self, steps: int, faults: set[str]) -> None:
        """`steps` steps of the documented DR sequence from here, each observed and judged; the first recover
        or restore named in `faults` is made to fail first (the journey's recover_fails / restore_fails legs)."""
        pending = set(faults)
        for step in range(steps):
            if step:
                self.observed_as_documented()
            self._runbook_step(pending)

    def _runbook_step(self, faults: set[str]) -> None:
        """The next step of the documented DR sequence, or of the way back to natural."""
        stage = self.tour.stage
        if stage in (NATURAL, DONE["restore"]):
            self.primary_power(on=False)
        elif stage == PRIMARY_DOWN:
            self.dr_command("failover")
        elif stage in (PRIMARY_UP, DONE["recover"], FAILED["restore"]):
            command = "recover" if stage == PRIMARY_UP else "restore"
            if command in faults:
                faults.discard(command)
                self.fail_next(command)
            self.dr_command(command)
        elif stage in (DONE["failover"], FAILED["recover"]):
            self.primary_power(on=True)
        elif stage == OFF_PATH:
            self._back_to_natural()
        else:  # a loss not detected yet, an operation running
            self._wait()

    def _wait(self, step: float = 0.25, longest: float = 10.0) -> None:
        """Let time pass until the stage changes, or until nothing is running or resyncing (off the path)."""
        stage, waited = self.tour.stage, 0.0
        while waited < longest and self.tour.stage == stage and (stage != OFF_PATH or self._busy()):
            self.clock.advance(step)
            self.tour.settle()
            waited += step
        self.log.append(f"t={self.clock.now():.2f} waited {waited:g}s -> stage {self.tour.stage}")

    def _busy(self) -> bool:
        return self.rep.operation is not None or any(p.sync_status is SyncStatus.SYNCING for p in self.rep.pairs)

    def _back_to_natural(self) -> None:
        secondary = self.rep.side("secondary")
        if not self.world.link_usable("primary", "secondary"):
            self.primary_power(on=True)
        elif self._busy():
            self._wait()
        elif secondary.role is Role.PRIMARY_REV:
            self.dr_command("restore" if secondary.status is GroupStatus.STARTED else "recover")
        elif any(p.sync_status in (SyncStatus.NOT_SYNCED, SyncStatus.STALE) for p in self.rep.pairs):
            self.stop_group()
        else:
            self.start_group()

    # ------------------------------------------------------------------ observing and judging
    @invariant()
    def observed_as_documented(self) -> None:
        self.tour.settle()
        self.windows.close_if_ended(self.rep)
        self.poller.stage = f"{self.tour.stage[0]}:{self.tour.stage[1]}"
        for probe in self.probes.values():
            obs = self.poller.record(self.poller.sample(probe))
            self._probe_entities(obs, probe)
            self._check_table106(obs)
            self._check_table107(obs)
        self._check_rules()

    def _probe_entities(self, obs: Observation, probe: ArrayProbe) -> None:
        """RULE-04's probe, as the journey makes it at the link-down stages: once the loss is noticed."""
        if obs.cli is None or obs.cli.target_status != "failed" or probe.group is None:
            return
        found = probe.cim.probe_entities(probe.group)
        self.probes_done.append({"seq": obs.seq, "array": obs.array, "t": obs.t_start, **found})

    def _check_table106(self, obs: Observation) -> None:
        cli = obs.cli
        if obs.cim is None or cli is None or overlaps(obs, self.windows.all()):
            return
        statuses = {v.sync_status for v in cli.volumes}
        normal = cli.role == NATURAL_ROLES[obs.array] and cli.target_status == "ready"
        if not normal or cli.status not in ("Started", "Stopped") or len(statuses) != 1:
            return
        self._assert_row(TABLE106[statuses.pop()], obs, array=obs.array)

    def _check_table107(self, obs: Observation) -> None:
        cli = obs.cli
        if obs.cim is None or cli is None:
            return
        if self.tour.stage != OFF_PATH:  # the model itself: in-progress stages exactly while the command runs
            assert (self.tour.running() is not None) == (self.rep.operation is not None), self._history()
        for row in TABLE107:
            if (row.stage, row.when) != self.tour.stage or row.array != obs.array or cli.role != row.role:
                continue
            if cli.volumes and all(v.sync_status == row.sync_status for v in cli.volumes):
                self._assert_row(row, obs)

    def _assert_row(self, row: Row, obs: Observation, array: str | None = None) -> None:
        mismatches = compare(obs, Expectation.from_row(row, SPEC, array=array))
        self.asserted.add(row.id)
        if currently_in_test_context():
            event(f"row {row.id} asserted")
        assert not mismatches, (
            f"{row.id} on {obs.array} at stage {self.tour.stage} (seq {obs.seq}, t={obs.t_start:.2f}): "
            + "; ".join(m.text for m in mismatches)
            + self._history()
        )

    def _history(self) -> str:
        return "\nsteps:\n  " + "\n  ".join(self.log)

    def _check_rules(self) -> None:
        context = RuleContext(
            configured_roles={k: NATURAL_ROLES[k] for k in ARRAYS},
            busy_windows=self.windows.all(),
            table106=table106_from_spec(SPEC),
            source_group=self.names["primary"],
            probes=list(self.probes_done),
        )
        results = check_rules(self.timeline.observations, context)
        failed = {rid: r.reason for rid, r in results.items() if r.verdict not in (Verdict.PASS, Verdict.SKIPPED)}
        assert not failed, f"rules broken by an honest simulator: {failed}{self._history()}"
        for rule_id, result in results.items():
            self.rule_verdicts[rule_id] = result.verdict
            if currently_in_test_context():
                event(f"{rule_id} {result.verdict}")


SETTINGS = settings(
    max_examples=80,
    stateful_step_count=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
DisasterRecoveryMachine.TestCase.settings = SETTINGS
TestDisasterRecovery = DisasterRecoveryMachine.TestCase


# --------------------------------------------------------------------------- the in-process shortcut is faithful


def over_cim_xml(world: World, array: str, group: str) -> tuple[Any, ...]:
    """The harness's reads of one array through pywbem over CIM-XML (loopback HTTP to the same backend)."""
    with CIMXMLServer(ArrayCIMBackend(world, array), users={"smisuser": "pw"}, backend_lock=world.lock) as server:
        cim = ArrayCim(CimEndpoint(url=f"http://127.0.0.1:{server.port}", user="smisuser", password=lambda: "pw"))
        try:
            handle = cim.find_group(group)
            return handle.members, cim.read(handle), cim.probe_entities(handle)
        finally:
            cim.close()


def in_process(world: World, array: str, group: str) -> tuple[Any, ...]:
    cim = SimulatedCim(world, array)
    handle = cim.find_group(group)
    return handle.members, cim.read(handle), cim.probe_entities(handle)


@pytest.mark.parametrize("mode", ["sync", "periodic"])
def test_in_process_reads_equal_reads_over_cim_xml(mode: str, clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="pair", groups=2, volumes_per_group=2, period=PERIOD), clock=clock)
    rep = next(r for r in world.replications if r.mode == mode)
    names = group_names(rep)
    steps: list[Callable[[], None]] = [
        lambda: None,
        lambda: apply_control(world, {"action": "link", "a": "primary", "b": "secondary", "up": False}),
        lambda: clock.advance(1.0),
        lambda: world.failover("secondary", names["secondary"]),
        lambda: clock.advance(2.0),
        lambda: apply_control(world, {"action": "link", "a": "primary", "b": "secondary", "up": True}),
        lambda: world.recover("secondary", names["secondary"]),
    ]
    for step in steps:
        step()
        for array in ARRAYS:
            assert in_process(world, array, names[array]) == over_cim_xml(world, array, names[array])


# --------------------------------------------------------------------------- the invariant reaches every row


@pytest.mark.parametrize("mode", ["sync", "periodic"])
def test_a_runbook_tour_asserts_every_table107_row(mode: str) -> None:
    """The machine's own steps, without hypothesis: a whole DR tour with a failing recover and a failing restore
    makes the invariant compare every Table 107 row (and so it cannot silently compare none) and every rule run."""
    machine = DisasterRecoveryMachine()
    machine.choose_group(mode)
    machine.observed_as_documented()
    machine.follow_the_runbook(steps=14, faults={"recover", "restore"})
    machine.observed_as_documented()
    assert machine.tour.stage in (NATURAL, DONE["restore"])
    assert machine.asserted >= {row.id for row in TABLE107} | {"T106-03"}
    assert set(machine.rule_verdicts.values()) == {Verdict.PASS} | ({Verdict.SKIPPED} if mode == "periodic" else set())
    machine.teardown()


# --------------------------------------------------------------------------- what the machine found, pinned

Steps = list[Callable[[DisasterRecoveryMachine], None]]
FOUND: dict[str, Steps] = {  # sequences that broke RULE-01 before the simulator was fixed (see git log)
    "failover with the link up": [lambda m: m.stop_group(), lambda m: m.dr_command("failover")],
    "failover after a reset to New, link up": [lambda m: m.reset_to_new(), lambda m: m.dr_command("failover")],
    "failover with the link cut and the primary up": [
        lambda m: m.link(up=False),
        lambda m: m.advance_clock(0.65),
        lambda m: m.dr_command("failover"),
    ],
    "reset to New while a failover runs": [
        lambda m: m.primary_power(on=False),
        lambda m: m.advance_clock(0.65),
        lambda m: m.dr_command("failover"),
        lambda m: m.reset_to_new(),
    ],
    "the primary back while a failover runs": [
        lambda m: m.primary_power(on=False),
        lambda m: m.dr_command("failover"),
        lambda m: m.primary_power(on=True),
    ],
}


@pytest.mark.parametrize("steps", list(FOUND.values()), ids=list(FOUND))
def test_sequences_the_machine_found_keep_the_rules(steps: Steps) -> None:
    machine = DisasterRecoveryMachine()
    machine.choose_group("sync")
    machine.observed_as_documented()
    for step in steps:
        step(machine)
        machine.observed_as_documented()
    assert Verdict.FAIL not in machine.rule_verdicts.values()
    machine.teardown()
