"""Every way a poll can read a group (harness.cim_reads: serial References, References over a pool of CIM
connections, one enumeration of the pair class) gives the same view and the same errors, on the simulated
arrays, conformant and with every deviation fixture, through a DR tour's states; the recorded reads rebuild
to those views (harness.rejudge); preflight's choice follows the measurement and the bound."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.cim import ArrayCim, CimEndpoint, CimError, GroupHandle
from harness.cim_pool import CimPool
from harness.cim_read_choice import ReadBudget, choose_read, pin_read
from harness.cim_reads import ENUMERATION, POOLED, SERIAL, enumeration_asker, pooled_asker
from harness.deviation_format import Deviation, DeviationSet, load_deviations, load_expect
from harness.mock.clock import ManualClock
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec, build_world
from harness.observation import CimView
from harness.recording import CIM_FILE, SAMPLES_FILE, Recording
from harness.rejudge import Recording as Recorded
from harness.rejudge import RunFiles, _probe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "deviations"
PEERS = {"pair": {"primary": "secondary", "secondary": "primary"},
         "sld": {"primary": "sync_secondary", "sync_secondary": "periodic_secondary",
                 "periodic_secondary": "sync_secondary"}}  # fmt: skip
Outcome = tuple[CimView | None, str | None]


class Paths:
    """One array's CIM reader with each read path at hand (the pool: two extra connections)."""

    def __init__(self, cim: ArrayCim) -> None:
        self.cim = cim
        self.pool = CimPool(cim.connect, 2, cim.conn)
        self.askers = {SERIAL: cim.ask_serial, POOLED: pooled_asker(self.pool), ENUMERATION: enumeration_asker(cim)}

    def read(self, path: str, group: GroupHandle, peer_serial: str | None) -> Outcome:
        self.cim.use_asker(self.askers[path])
        try:
            return self.cim.read(group, peer_serial), None
        except CimError as exc:
            return None, str(exc)

    def close(self) -> None:
        self.pool.close()
        self.cim.close()


def reader(info: dict[str, Any], key: str, recorder: Any = None) -> ArrayCim:
    a = info["arrays"][key]
    endpoint = CimEndpoint(a["cim_url"], a["user"], lambda: a["password"], a["namespace"], a["interop_namespace"],
                           ca_cert=a["ca_cert"], timeout=10)  # fmt: skip
    return ArrayCim(endpoint, recorder)


@pytest.fixture
def served() -> Iterator[Callable[..., SimulatedArrays]]:
    with_stack: list[SimulatedArrays] = []

    def start(topology: str = "pair", deviations: DeviationSet | None = None, volumes: int = 2,
              groups: int = 2) -> SimulatedArrays:  # fmt: skip
        world = build_world(WorldSpec(topology=topology, groups=groups, volumes_per_group=volumes),  # type: ignore[arg-type]
                            clock=ManualClock())  # fmt: skip
        sim = SimulatedArrays(world=world, spec=WorldSpec(topology=topology, groups=groups,  # type: ignore[arg-type]
                                                           volumes_per_group=volumes), deviations=deviations)
        with_stack.append(sim.start())
        return sim

    yield start
    for sim in with_stack:
        sim.stop()


def tour(sim: SimulatedArrays) -> Iterator[str]:
    """The states a DR tour passes through, the world's clock moved by hand: natural; primary down; failover
    running; failed over; primary back (link returning); recover running."""
    world, topology = sim.world, sim.spec.topology
    secondary = "secondary" if topology == "pair" else "sync_secondary"
    group = group_name(world, secondary)
    world.clock.advance(3.0)  # type: ignore[attr-defined]
    yield "natural"
    world.set_power("primary", False)
    world.clock.advance(world.durations.link_detect + 0.1)  # type: ignore[attr-defined]
    yield "primary down"
    world.failover(secondary, group)
    world.clock.advance(0.1)  # type: ignore[attr-defined]
    yield "failover running"
    world.clock.advance(world.durations.failover + 0.1)  # type: ignore[attr-defined]
    yield "failed over"
    world.set_power("primary", True)
    world.clock.advance(world.durations.link_detect + 0.1)  # type: ignore[attr-defined]
    yield "primary up"
    try:
        world.recover(secondary, group)
    except Exception:  # a deviation may leave the group where recover is refused: the states so far count
        return
    world.clock.advance(0.2)  # type: ignore[attr-defined]
    yield "recover running"


def group_name(world: Any, key: str) -> str:
    return next(n for n, _ in world.groups_on(key) if not n.startswith("rcg_periodic"))


@contextmanager
def group_reader(sim: SimulatedArrays, key: str = "secondary",
                 recorder: Any = None) -> Iterator[tuple[ArrayCim, GroupHandle]]:  # fmt: skip
    """A CIM reader of `key` and its group under test, closed when the block ends."""
    cim = reader(sim.describe(), key, recorder)
    try:
        yield cim, cim.find_group(group_name(sim.world, key))
    finally:
        cim.close()


def compare_paths(sim: SimulatedArrays) -> list[str]:
    """Every array's view by each path, with and without the peer filter, in every state of the tour: the
    differences found (none expected); each path's outcome must be the serial read's."""
    info = sim.describe()
    peers = PEERS[sim.spec.topology]
    readers = {key: Paths(reader(info, key)) for key in peers}
    groups = {key: readers[key].cim.find_group(group_name(sim.world, key)) for key in peers}
    serials = {key: a["serial"] for key, a in info["arrays"].items()}
    differences: list[str] = []
    try:
        for state in tour(sim):
            for key, paths in readers.items():
                for peer_serial in (None, serials[peers[key]]):
                    outcomes = {p: paths.read(p, groups[key], peer_serial) for p in (SERIAL, POOLED, ENUMERATION)}
                    differences += [f"{state}: {key}: {p} differs from serial: {o} != {outcomes[SERIAL]}"
                                    for p, o in outcomes.items() if not same(o, outcomes[SERIAL])]  # fmt: skip
    finally:
        for paths in readers.values():
            paths.close()
    return differences


def same(a: Outcome, b: Outcome) -> bool:
    """The same view, or both failed: transport failures name the array's URL (their detail may differ between
    connections: which socket saw the hang-up first)."""
    if a[0] is not None or b[0] is not None:
        return a == b
    return a[1] is not None and b[1] is not None and a[1].split(":")[:3] == b[1].split(":")[:3]


# --------------------------------------------------------------------------- the same view by every path


@pytest.mark.parametrize("topology", ["pair", "sld"])
def test_every_path_reads_the_same_view_on_conformant_arrays(served: Callable[..., SimulatedArrays],
                                                              topology: str) -> None:  # fmt: skip
    assert compare_paths(served(topology, volumes=3)) == []


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_path_reads_the_same_view_with_each_deviation(served: Callable[..., SimulatedArrays],
                                                            fixture: Path) -> None:  # fmt: skip
    expect = load_expect(fixture)
    topology = expect.target if expect is not None else "pair"
    assert compare_paths(served(topology, load_deviations(fixture))) == []


def test_a_refused_volume_and_missing_pairs_read_the_same_by_every_path(
    served: Callable[..., SimulatedArrays],
) -> None:
    rules = [
        Deviation(id="nf", array="secondary", pairs=1, instance="not_found"),
        Deviation(id="gone", array="primary", pairs=1, instance="omit"),
        Deviation(id="twice", array="any", pairs=1, instance="duplicate_swapped"),
    ]
    sim = served("pair", DeviationSet(rules), volumes=4)
    info = sim.describe()
    paths = Paths(reader(info, "secondary"))
    group = paths.cim.find_group(group_name(sim.world, "secondary"))
    sim.world.clock.advance(3.0)  # type: ignore[attr-defined]
    try:
        views = {p: paths.read(p, group, None) for p in (SERIAL, POOLED, ENUMERATION)}
    finally:
        paths.close()
    view = views[SERIAL][0]
    assert view is not None and [r.status for r in view.refusals] == ["CIM_ERR_NOT_FOUND"]
    assert all(v == views[SERIAL] for v in views.values())
    assert compare_paths(sim) == []


def test_a_failed_read_is_a_cim_error_by_every_path(served: Callable[..., SimulatedArrays]) -> None:
    sim = served("pair")
    info = sim.describe()
    paths = Paths(reader(info, "primary"))
    group = paths.cim.find_group("rcg_sync_0")
    sim.world.set_power("primary", False)
    try:
        outcomes = {p: paths.read(p, group, None) for p in (SERIAL, POOLED, ENUMERATION)}
    finally:
        paths.close()
    for path, (view, error) in outcomes.items():
        assert view is None and error is not None and error.startswith(info["arrays"]["primary"]["cim_url"]), path


# --------------------------------------------------------------------------- recorded, then rebuilt


@pytest.mark.parametrize("path", [SERIAL, POOLED, ENUMERATION])
def test_recorded_reads_rebuild_to_the_same_view(served: Callable[..., SimulatedArrays], path: str) -> None:
    sim = served("pair", DeviationSet([Deviation(id="nf", array="secondary", pairs=1, instance="not_found")]),
                 volumes=3)  # fmt: skip
    lines: dict[str, list[dict[str, Any]]] = {CIM_FILE: [], SAMPLES_FILE: []}
    recording = Recording(lambda name, line: lines[name].append(json.loads(json.dumps(line))), 0.0)
    paths = Paths(reader(sim.describe(), "secondary", recording.recorder("secondary")))
    group = paths.cim.find_group(group_name(sim.world, "secondary"))
    views, samples = [], []
    try:
        for _ in tour(sim):
            with recording.capture() as capture:
                capture.enter("cim")  # as the poller's sample does before its CIM read
                views.append(paths.read(path, group, None))
            samples.append({"cim": list(capture.refs["cim"])})
    finally:
        paths.close()
        recording.close()
    recorded = Recorded(RunFiles("run", {
        f"recording/{SAMPLES_FILE}": jsonl([{"kind": "recording", "format": 1}]),
        f"recording/{CIM_FILE}": jsonl(lines[CIM_FILE]), "transcript.jsonl": b""}))  # fmt: skip
    probe = _probe({"array": "secondary", "group_name": group.name, "peer": "primary", "peer_serial": None,
                    "cim_url": paths.cim.endpoint.url, "handle": handle_line(group)})  # fmt: skip
    rebuilt = [recorded._cim(sample, probe) for sample in samples]
    assert len(rebuilt) == len(views) and all(same(a, b) for a, b in zip(rebuilt, views, strict=True))
    ops = {line.get("op") for line in lines[CIM_FILE]}
    assert ("EnumerateInstances" in ops) == (path == ENUMERATION)


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def handle_line(group: GroupHandle) -> dict[str, Any]:
    return {"name": group.name, "path": group.path.tocimxmlstr(), "instance_id": group.instance_id,
            "members": [[p, n] for p, n in group.members.items()]}  # fmt: skip


# --------------------------------------------------------------------------- preflight's choice


def test_preflight_measures_within_the_bound_and_keeps_the_view(served: Callable[..., SimulatedArrays]) -> None:
    sim = served("pair", volumes=4)
    sim.world.clock.advance(3.0)  # type: ignore[attr-defined]
    with group_reader(sim) as (cim, group):
        before = cim.read(group)
        choice = choose_read(cim, group, 1, ReadBudget(reads=2, least=2))
        assert POOLED not in choice.medians_ms and "max_cim_connections is 1" in choice.not_candidates[POOLED]
        assert choice.path in (SERIAL, ENUMERATION) and choice.connections == 1
        choice = choose_read(cim, group, 3, ReadBudget(reads=2, least=2))
        assert set(choice.medians_ms) == {SERIAL, POOLED, ENUMERATION}  # a small array: every path was timed
        assert choice.connections == (3 if choice.path == POOLED else 1)
        assert cim.read(group) == before
        assert choice.path in choice.line("secondary") and choice.manifest()["path"] == choice.path


def test_a_large_array_is_never_enumerated(served: Callable[..., SimulatedArrays]) -> None:
    sim = served("pair", volumes=2, groups=12)  # 24 pairs on each array, more than 4 per member volume of a group
    sim.world.clock.advance(3.0)  # type: ignore[attr-defined]
    with group_reader(sim) as (cim, group):
        choice = choose_read(cim, group, 2, ReadBudget(reads=2, least=2))
    assert ENUMERATION not in choice.medians_ms and choice.path != ENUMERATION
    assert "more than 8 TPD_RemoteStorageSynchronized" in choice.not_candidates[ENUMERATION]


def test_a_provider_that_fails_the_read_at_preflight_is_read_serially(served: Callable[..., SimulatedArrays]) -> None:
    sim = served("pair")
    cim = reader(sim.describe(), "primary")
    group = cim.find_group("rcg_sync_0")
    sim.world.set_power("primary", False)
    try:
        choice = choose_read(cim, group, 4, ReadBudget(reads=2, least=2))
    finally:
        cim.close()
    assert (choice.path, choice.connections, choice.medians_ms) == (SERIAL, 1, {})
    assert "the serial read failed" in choice.not_candidates[POOLED] and "none measured" in choice.line("primary")


def recorded_ops(sim: SimulatedArrays, key: str, act: Callable[[ArrayCim, GroupHandle], Any]) -> list[str]:
    """The CIM operations `act` sends through the array's recorder (pooled connections included); the group
    is found on another connection, so only what `act` sends is listed."""
    with group_reader(sim, key) as (_, group):
        pass
    lines: dict[str, list[dict[str, Any]]] = {CIM_FILE: [], SAMPLES_FILE: []}
    recording = Recording(lambda name, line: lines[name].append(line), 0.0)
    cim = reader(sim.describe(), key, recording.recorder(key))
    try:
        act(cim, group)
    finally:
        cim.close()
        recording.close()
    return [str(line.get("op")) for line in lines[CIM_FILE]]


@pytest.mark.parametrize("path", [SERIAL, POOLED, ENUMERATION])
def test_a_pinned_read_path_is_used_without_measuring(served: Callable[..., SimulatedArrays], path: str) -> None:
    sim = served("pair", volumes=3)
    sim.world.clock.advance(3.0)  # type: ignore[attr-defined]
    choices = []
    ops = recorded_ops(sim, "secondary", lambda cim, group: (choices.append(pin_read(cim, group, path, 4)),
                                                             cim.read(group)))  # fmt: skip
    choice = choices[0]
    assert (choice.path, choice.pinned, choice.medians_ms) == (path, True, {})
    assert choice.connections == (4 if path == POOLED else 1) and "not measured" in choice.line("secondary")
    # one read, by the named path: nothing sized the array, nothing was read twice to time it (References: one
    # per member volume and the group's, or the group's beside the enumeration)
    assert "OpenEnumerateInstancePaths" not in ops
    assert ops.count("EnumerateInstances") == (1 if path == ENUMERATION else 0)
    assert ops.count("References") == (1 if path == ENUMERATION else 3 + 1)


def test_a_pinned_pool_without_a_second_connection_reads_serially(served: Callable[..., SimulatedArrays]) -> None:
    sim = served("pair", volumes=3)
    sim.world.clock.advance(3.0)  # type: ignore[attr-defined]
    with group_reader(sim) as (cim, group):
        before = cim.read(group)
        choice = pin_read(cim, group, POOLED, 1)
        assert cim.read(group) == before
    assert (choice.path, choice.connections) == (SERIAL, 1)
    assert "max_cim_connections is 1" in choice.not_candidates[POOLED]
